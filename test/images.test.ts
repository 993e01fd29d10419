import { IMAGES, ImageCatalog, ImageKey } from '../lib/core/images';
import { listImages } from '../lib/synth/footprint';
import { checkPlatform, upstreamFacts } from '../lib/synth/index';
import { imagesMatch, parseImageRef } from '../lib/validate/fidelity';
import { synthesize } from '../lib/synth/index';
import { localConfig } from './helpers';

describe('image catalog', () => {
  test('every entry is pinned: a tag that is not latest, and a fully qualified repository', () => {
    for (const [key, entry] of Object.entries(IMAGES)) {
      expect([key, entry.tag]).not.toEqual([key, 'latest']);
      expect(entry.tag).toMatch(/^[\w][\w.-]{0,127}$/);
      expect(entry.repository.split('/')[0]).toMatch(/\./); // registry host, never a Docker Hub shortname
    }
  });

  test('the registry mirror keeps each image path below the mirror', () => {
    const catalog = new ImageCatalog({ registryMirror: 'registry.corp.example/kubeflow/' });
    expect(catalog.image('kfp-api-server')).toBe('registry.corp.example/kubeflow/kubeflow/kfp-api-server:2.17.0');
    expect(catalog.image('mysql')).toBe('registry.corp.example/kubeflow/library/mysql:8.4.11');
    expect(new ImageCatalog().image('mysql')).toBe('docker.io/library/mysql:8.4.11');
  });

  test('an unknown key is an error', () => {
    expect(() => new ImageCatalog().image('nope' as ImageKey)).toThrow(/no entry "nope"/);
  });

  test('mirror and pull secrets apply to every pod of a stack', () => {
    const s = synthesize(localConfig({ images: { registryMirror: 'mirror.local:5000', pullSecrets: ['regcred'] } }));
    const images = listImages(s.objects, s.runtimeImages);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image.startsWith('mirror.local:5000/')).toBe(true);
    const pods = s.objects.filter((o) => ['StatefulSet', 'Job', 'Deployment'].includes(o.manifest.kind));
    expect(pods.length).toBeGreaterThan(0);
    for (const p of pods) expect((p.manifest.spec as { template: { spec: { imagePullSecrets: unknown } } }).template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
  });
});

describe('catalog against the upstream facts', () => {
  test('every image of the upstream KFP release is in the catalog at the same tag, or at the patch release of a floating tag', () => {
    const { facts, deviations } = upstreamFacts();
    const catalog = new ImageCatalog();
    const entries = (Object.keys(IMAGES) as ImageKey[]).map((k) => catalog.image(k));
    const workloads = facts.workloads.filter((w) => w.source === 'kfp');
    const upstream = new Set(workloads.flatMap((w) => [...w.containers, ...w.initContainers].map((c) => c.image)));
    const floating = [...upstream].filter((image) => !entries.some((e) => imagesMatch(e, image))).sort();
    expect(floating).toEqual(['docker.io/alpine:3.23', 'mysql:8.4']);
    for (const image of floating) {
      // The catalog pins a patch release of the same line: same repository, the upstream tag plus `.<patch>`.
      const { repository, tag = 'latest' } = parseImageRef(image);
      expect(entries.filter((e) => parseImageRef(e).repository === repository && new RegExp(`^${tag.replace('.', '\\.')}\\.\\d+$`).test(parseImageRef(e).tag ?? '')))
        .toHaveLength(1);
      // …and every container of upstream's that runs it carries a recorded deviation.
      for (const w of workloads) {
        for (const c of [...w.containers, ...w.initContainers].filter((x) => x.image === image)) {
          expect(deviations.some((d) => d.workload === `${w.namespace}/${w.name}` && d.field === 'image' && d.value === c.name)).toBe(true);
        }
      }
    }
  });
});

describe('pull Secrets', () => {
  test('a stack with pull Secrets validates: they are declared external in every namespace kfkit creates', () => {
    const config = localConfig({ images: { pullSecrets: ['regcred'] } });
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    expect(s.externalObjects.filter((o) => o.name === 'regcred').map((o) => o.namespace)).toEqual(['kubeflow']);
  });
});
