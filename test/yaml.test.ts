import * as path from 'path';
import { parse, parseAllDocuments } from 'yaml';
import { listOverlays, loadOverlay } from '../lib/config/load';
import { synthesize } from '../lib/synth/index';
import { objectFile, renderTree, tenantNamespaces } from '../lib/synth/write';
import { toYaml } from '../lib/synth/yaml';
import { STACKS } from '../stacks';
import { ROOT } from './helpers';

/** Reads `text` as YAML 1.1 (what kubectl and Flux read) and as YAML 1.2, and expects both to give `value`. */
function expectRoundTrip(value: unknown, text: string = toYaml(value)): void {
  expect(parse(text, { version: '1.1' })).toEqual(value);
  expect(parse(text, { version: '1.2' })).toEqual(value);
  expect(parseAllDocuments(text)).toHaveLength(1);
}

describe('the manifest YAML writer', () => {
  test.each(listOverlays(path.join(ROOT, 'overlays')))('every file of %s reads back as the object it was written from', (env) => {
    const config = loadOverlay(path.join(ROOT, 'overlays'), env, STACKS);
    const s = synthesize(config);
    const files = renderTree(s, { env, stack: config.stack, flux: { sourceRef: config.gitops.flux.sourceRef, path: `./dist/${env}`, interval: '10m', timeoutSeconds: 600 } });
    const tenants = tenantNamespaces(s);
    const read = new Map<string, unknown[]>();
    for (const o of s.objects) {
      const file = `${s.waves[o.wave].dir}/${objectFile(o.manifest, tenants)}`;
      const text = files.get(file);
      expect(text).toBeDefined();
      if (!read.has(file)) {
        read.set(file, parseAllDocuments(text ?? '', { version: '1.1' }).map((d) => d.toJS() as unknown));
        expect(parseAllDocuments(text ?? '', { version: '1.2' }).map((d) => d.toJS() as unknown)).toEqual(read.get(file));
      }
      expect(read.get(file)).toContainEqual(o.manifest);
    }
    // Each file holds exactly the objects that name it.
    expect([...read.values()].reduce((n, docs) => n + docs.length, 0)).toBe(s.objects.length);
  });

  test.each([
    ['YAML 1.1 booleans and null', ['yes', 'No', 'ON', 'off', 'y', 'N', 'true', 'False', 'null', 'Null', '~', '']],
    ['numbers and things that look like them', ['8080', '0x1F', '1e3', '.5', '.inf', '-.Inf', '.NaN', '1:30', '0o17', '+1', '1_000', '2026-11-23', '012']],
    ['indicators and comments', ['- a', '? a', ': a', '&anchor', '*alias', '!tag', '%directive', '@at', '`tick', '#x', 'a #b', 'a: b', 'ends:', '|', '>', '<<', '=', '{}', '[]', '"', '\'']],
    ['spaces and control characters', [' lead', 'trail ', 'a\tb', '\t', 'bell\u0007', 'nul\u0000x', 'crlf\r\nx', 'nbsp\u00a0x', '\u2028', 'emoji 🎉']],
    ['line breaks', ['a\nb', 'a\nb\n', 'a\nb\n\n', '\n', '\n\n', '\na', ' a\nb', 'a\n b', '\n  x', 'a \nb', 'a\n\nb', 'x\n...\ny', 'x\n---\ny', '#!/bin/sh\nset -e\n']],
    ['plain words', ['kubeflow', 'app.kubernetes.io/name', 'ghcr.io/kubeflow/kfam:v1.10.0', 'alice@example.com', '/etc/kfkit', 'a=b', 'x+y', '_x']],
  ])('%s stay strings, exactly', (_what, strings) => {
    for (const s of strings) {
      expectRoundTrip({ key: s, list: [s, { nested: s }], [s || 'empty']: s });
    }
  });

  test('other values and shapes', () => {
    expectRoundTrip({
      n: 0, f: 0.25, neg: -3, big: 1e21, t: true, f2: false, nil: null, emptyMap: {}, emptyList: [],
      nested: [[1, [2, []]], [{ a: {} }], { b: [{ c: [{}] }] }],
    });
    expect(toYaml({ a: undefined, b: 1 })).toBe('b: 1\n');
    expect(toYaml({ s: 'a\nb\n' })).toBe('s: |\n  a\n  b\n');
    expect(() => toYaml({ x: Number.NaN })).toThrow(/finite numbers only/);
  });
});
