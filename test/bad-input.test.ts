import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { ConfigError, MAX_OVERLAY_BYTES } from '../lib/config/load';
import { cli, listFiles, ROOT, tmpdir } from './helpers';

/**
 * Every bad input a user can give kfkit synth — a value, a key, a file — is refused the same way: exit 2, a message
 * that names the field path and what is allowed, no stack trace, bounded output, nothing written. The cases come
 * from the configuration's JSON Schema (every enum, every object's keys, every string field) and from a security
 * review (values the API server would refuse, settings that cannot take effect, namespace clashes, hostile files).
 */

interface Case {
  readonly name: string;
  /** The overlay file's text, or a function that makes `overlays/x.yaml` (a link, a FIFO, …) in `dir`. */
  readonly overlay: string | ((file: string) => void);
  /** The field path an error line must name (`- <path>: …`). */
  readonly path: string;
  /** What that line must say. */
  readonly message: RegExp;
}

const MAX_OUTPUT = 16 * 1024;

/** Runs `kfkit synth --env x` on the case's overlay in a fresh directory. */
function synth(c: Case): { code: number; err: string; out: string; wrote: string[] } {
  const dir = tmpdir('kfkit-bad-');
  fs.mkdirSync(path.join(dir, 'overlays'));
  const file = path.join(dir, 'overlays', 'x.yaml');
  if (typeof c.overlay === 'string') fs.writeFileSync(file, c.overlay);
  else c.overlay(file);
  const r = cli(['synth', '--env', 'x', '--overlays', 'overlays', '--out', 'dist'], dir);
  return { ...r, wrote: fs.existsSync(path.join(dir, 'dist')) ? fs.readdirSync(path.join(dir, 'dist')) : [] };
}

function expectRefused(c: Case, r: { code: number; err: string; out: string; wrote: string[] }): void {
  expect({ code: r.code, wrote: r.wrote }).toEqual({ code: 2, wrote: [] });
  expect(r.err).not.toMatch(/\n\s+at /);
  expect(r.err.length + r.out.length).toBeLessThan(MAX_OUTPUT);
  const lines = r.err.split('\n').filter((l) => l.startsWith(`  - ${c.path}:`));
  // On a miss, the message shows what was printed instead.
  expect(lines.some((l) => c.message.test(l)) ? c.path : `${c.path} not reported as ${String(c.message)}; got:\n${r.err.slice(0, 1500)}`).toBe(c.path);
}

/** An overlay over the local stack with `value` set at `fieldPath`. */
function at(fieldPath: readonly string[], value: unknown, extra: Record<string, unknown> = {}): string {
  const doc: Record<string, unknown> = { stack: 'local', ...extra };
  let node = doc;
  fieldPath.forEach((k, i) => {
    if (i === fieldPath.length - 1) node[k] = value;
    else {
      node[k] = { ...(node[k] as Record<string, unknown> | undefined) };
      node = node[k] as Record<string, unknown>;
    }
  });
  return stringify(doc);
}

// ---- Cases from the JSON Schema: every enum, every object's keys, every string field ----

interface SchemaNode {
  readonly type?: string;
  readonly enum?: readonly unknown[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly anyOf?: readonly SchemaNode[];
  readonly oneOf?: readonly SchemaNode[];
}

const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema', 'platform-config.schema.json'), 'utf8')) as SchemaNode;
const enums = new Map<string, readonly unknown[]>();
const objects = new Map<string, readonly string[]>();
const strings = new Set<string>();
function walk(node: SchemaNode, p: readonly string[]): void {
  if (node.enum) enums.set(p.join('.'), node.enum);
  if (node.properties) {
    objects.set(p.join('.'), Object.keys(node.properties));
    for (const [k, v] of Object.entries(node.properties)) walk(v, [...p, k]);
  }
  if (node.type === 'string' && !node.enum && p.length > 0) strings.add(p.join('.'));
  for (const alt of [...(node.anyOf ?? []), ...(node.oneOf ?? [])]) walk(alt, p);
}
walk(schema, []);

/** The fields a discriminated union keys on: a bad value elsewhere in such a section is reported at its discriminator. */
const UNION_SECTIONS = new Set(['database', 'objectStore', 'objectStore.credentials', 'backup.location', 'gateway.tls']);
const unionOf = (p: string): string | undefined => [...UNION_SECTIONS].filter((u) => p.startsWith(`${u}.`)).sort((a, b) => b.length - a.length)[0];

const enumCases: Case[] = [...enums.entries()].filter(([p]) => p !== 'stack' && p !== '' && unionOf(p) === undefined).map(([p, allowed]) => ({
  name: `enum ${p}`,
  overlay: at(p.split('.'), 'not-a-choice'),
  path: p,
  message: new RegExp(`must be one of: ${allowed.map((v) => JSON.stringify(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join(', ')}`),
}));

const keyCases: Case[] = [...objects.entries()].filter(([p]) => unionOf(`${p}.x`) === undefined && !UNION_SECTIONS.has(p)).map(([p, keys]) => ({
  name: `unknown key in ${p || '(root)'}`,
  overlay: at([...(p ? p.split('.') : []), 'notAKey'], 1),
  path: p ? `${p}.notAKey` : 'notAKey',
  message: new RegExp(`unknown key; allowed keys here: ${[...keys].sort().join(', ')}`),
}));

const typeCases: Case[] = [...strings].filter((p) => p !== 'stack' && unionOf(p) === undefined).map((p) => ({
  name: `a list where ${p} is text`,
  overlay: at(p.split('.'), ['a', 'list']),
  path: p,
  message: /must be a string/,
}));

// ---- Cases from the security review ----

const big = 'x'.repeat(300_000);
const reviewCases: Case[] = [
  // What the API server would refuse.
  { name: 'backup schedule 99 99 * * *', overlay: at(['backup', 'schedule'], '99 99 * * *'), path: 'backup.schedule', message: /minute|0-59/ },
  { name: 'backup schedule of four fields', overlay: at(['backup', 'schedule'], '0 2 * *'), path: 'backup.schedule', message: /five fields/ },
  { name: 'profile egress CIDR 999.1.1.1/33', overlay: multiUser({ egress: [{ cidr: '999.1.1.1/33', ports: [443] }] }), path: 'tenancy.profiles[0].egress[0].cidr', message: /0-255/ },
  { name: 'profile egress CIDR prefix 33', overlay: multiUser({ egress: [{ cidr: '10.0.0.0/33', ports: [443] }] }), path: 'tenancy.profiles[0].egress[0].cidr', message: /0-32/ },
  { name: 'an owner of 300,000 characters', overlay: multiUser({ owner: `${big}@example.com` }), path: 'tenancy.profiles[0].owner', message: /at most 230/ },
  { name: "annotation key 'bad key'", overlay: meshed(at(['gateway', 'service', 'annotations'], { 'bad key': 'v' })), path: 'gateway.service.annotations.bad key', message: /annotation key name/ },
  { name: 'annotation key prefix not a DNS subdomain', overlay: meshed(at(['gateway', 'service', 'annotations'], { 'Bad_Prefix/x': 'v' })), path: 'gateway.service.annotations.Bad_Prefix/x', message: /prefix must be a DNS subdomain/ },
  { name: 'annotations over 256 KiB', overlay: meshed(at(['gateway', 'service', 'annotations'], { a: big, b: big })), path: 'gateway.service.annotations', message: /256 KiB/ },
  // Registry mirrors and host names.
  { name: 'registry mirror -', overlay: at(['images', 'registryMirror'], '-'), path: 'images.registryMirror', message: /label "-"/ },
  { name: 'registry mirror a..b', overlay: at(['images', 'registryMirror'], 'a..b'), path: 'images.registryMirror', message: /empty label/ },
  { name: 'registry mirror with a scheme', overlay: at(['images', 'registryMirror'], 'https://registry.example'), path: 'images.registryMirror', message: /without a scheme|host\[:port\]/ },
  { name: 'registry mirror port 99999', overlay: at(['images', 'registryMirror'], 'registry.example:99999/kf'), path: 'images.registryMirror', message: /port 99999 must be 1-65535/ },
  { name: 'registry mirror path ..', overlay: at(['images', 'registryMirror'], 'registry.example/a/../b'), path: 'images.registryMirror', message: /no '\.\.'/ },
  { name: 'registry mirror empty path segment', overlay: at(['images', 'registryMirror'], 'registry.example//kf'), path: 'images.registryMirror', message: /no empty segment/ },
  { name: 'gateway host with an empty label', overlay: meshed(at(['gateway', 'host'], 'kubeflow..example.com')), path: 'gateway.host', message: /empty label/ },
  { name: 'gateway host ending in a dot', overlay: meshed(at(['gateway', 'host'], 'kubeflow.example.com.')), path: 'gateway.host', message: /empty label/ },
  { name: 'gateway host label of 64 characters', overlay: meshed(at(['gateway', 'host'], `${'a'.repeat(64)}.example.com`)), path: 'gateway.host', message: /at most 63/ },
  { name: 'gateway host of 254 characters', overlay: meshed(at(['gateway', 'host'], Array.from({ length: 5 }, () => 'a'.repeat(50)).join('.'))), path: 'gateway.host', message: /at most 253/ },
  { name: 'gateway host with upper case', overlay: meshed(at(['gateway', 'host'], 'Kubeflow.example.com')), path: 'gateway.host', message: /lowercase/ },
  { name: 'gateway host with a port', overlay: meshed(at(['gateway', 'host'], 'kubeflow.example.com:443')), path: 'gateway.host', message: /label/ },
  { name: 'external store endpoint with an empty label', overlay: externalStore({ endpoint: 's3..example.com' }), path: 'objectStore.endpoint', message: /empty label/ },
  { name: 'external store endpoint port 0', overlay: externalStore({ endpoint: 's3.example.com:0' }), path: 'objectStore.endpoint', message: /port 0 must be 1-65535/ },
  { name: 'external database host with an empty label', overlay: externalDb('db..example.com'), path: 'database.host', message: /empty label/ },
  { name: 'storageClass with an empty label', overlay: at(['database', 'storage', 'storageClass'], 'gp3..x'), path: 'database.storage.storageClass', message: /empty label/ },
  // Quota and LimitRange.
  { name: 'quota cpu below the default request', overlay: multiUser({ quota: { cpu: '50m' } }), path: 'tenancy.profiles[0].quota.cpu', message: /below the LimitRange default request 100m/ },
  { name: 'quota memory below the default request', overlay: multiUser({ quota: { memory: '128Mi' } }), path: 'tenancy.profiles[0].quota.memory', message: /below the LimitRange default request 256Mi/ },
  // Settings that cannot take effect.
  { name: 'gateway Service type with istio.mode none', overlay: at(['gateway', 'service', 'type'], 'LoadBalancer'), path: 'gateway.service.type', message: /istio.mode none there is none/ },
  { name: 'gateway Service annotations with istio.mode none', overlay: at(['gateway', 'service', 'annotations'], { 'a.example/b': 'c' }), path: 'gateway.service.annotations', message: /istio.mode none/ },
  { name: 'gateway TLS secret with istio.mode none', overlay: at(['gateway', 'tls'], { type: 'secret', secretName: 'tls' }), path: 'gateway.tls.type', message: /istio.mode none/ },
  { name: 'an internet-facing NLB with no gateway', overlay: at(['addons', 'awsLoadBalancerController', 'gatewayLoadBalancer', 'scheme'], 'internet-facing'), path: 'addons.awsLoadBalancerController.gatewayLoadBalancer.scheme', message: /no gateway/ },
  { name: 'NLB source ranges with no gateway', overlay: at(['addons', 'awsLoadBalancerController', 'gatewayLoadBalancer', 'sourceRanges'], ['203.0.113.0/24']), path: 'addons.awsLoadBalancerController.gatewayLoadBalancer.sourceRanges', message: /no gateway/ },
  { name: 'NLB settings for a ClusterIP gateway', overlay: meshed(at(['addons', 'awsLoadBalancerController', 'gatewayLoadBalancer', 'scheme'], 'internet-facing')), path: 'addons.awsLoadBalancerController.gatewayLoadBalancer.scheme', message: /set gateway.service.type to LoadBalancer/ },
  // The API server's addresses: required, never every address by accident.
  { name: 'onprem without the API server\'s addresses', overlay: 'stack: onprem\n', path: 'cluster.apiServer.cidrs', message: /required: the IPv4 blocks of the API server's addresses/ },
  { name: 'API server block 0.0.0.0/0', overlay: at(['cluster', 'apiServer', 'cidrs'], ['0.0.0.0/0']), path: 'cluster.apiServer.cidrs[0]', message: /every address: set cluster.apiServer.anyAddress: true/ },
  { name: 'API server block 10.0.0.0/33', overlay: at(['cluster', 'apiServer', 'cidrs'], ['10.0.0.0/33']), path: 'cluster.apiServer.cidrs[0]', message: /prefix length/ },
  { name: 'API server blocks and anyAddress', overlay: at(['cluster', 'apiServer'], { cidrs: ['10.0.0.1/32'], anyAddress: true }), path: 'cluster.apiServer.anyAddress', message: /not both/ },
  { name: 'an external database without its addresses', overlay: stringify({ stack: 'local', database: { type: 'external', engine: 'mysql', host: 'db.example.com', credentialsSecret: { name: 'db' }, tls: { mode: 'required' } } }), path: 'database.cidrs', message: /required: the IPv4 blocks of the database server's addresses/ },
  { name: 'an external database at 0.0.0.0/0', overlay: stringify({ stack: 'local', database: { type: 'external', engine: 'mysql', host: 'db.example.com', cidrs: ['0.0.0.0/0'], credentialsSecret: { name: 'db' }, tls: { mode: 'required' } } }), path: 'database.cidrs[0]', message: /database.anyAddress: true/ },
  // Names that clash with the platform's namespaces.
  { name: 'namespace istio-system', overlay: at(['namespace'], 'istio-system'), path: 'namespace', message: /namespace of a platform part/ },
  { name: 'namespace cert-manager', overlay: at(['namespace'], 'cert-manager'), path: 'namespace', message: /namespace of a platform part/ },
  { name: 'namespace kube-system', overlay: at(['namespace'], 'kube-system'), path: 'namespace', message: /reserved namespace/ },
  { name: 'namespace flux-system (the chart delivery)', overlay: at(['namespace'], 'flux-system'), path: 'namespace', message: /chart delivery/ },
  { name: 'gpu.namespace auth', overlay: at(['gpu', 'namespace'], 'auth'), path: 'gpu.namespace', message: /namespace of a platform part/ },
  { name: 'gpu.namespace = namespace', overlay: at(['gpu', 'namespace'], 'kubeflow'), path: 'gpu.namespace', message: /the platform namespace/ },
  { name: 'a profile named istio-cni', overlay: multiUser({ name: 'istio-cni' }), path: 'tenancy.profiles[0].name', message: /namespace the platform or Kubernetes uses/ },
  { name: 'a profile named kube-flannel', overlay: multiUser({ name: 'kube-flannel' }), path: 'tenancy.profiles[0].name', message: /kube-\*/ },
  // The document itself.
  { name: 'no stack', overlay: 'namespace: kubeflow\n', path: 'stack', message: /required: the stack/ },
  { name: 'an unknown stack', overlay: 'stack: moon\n', path: 'stack', message: /unknown stack "moon"; allowed: / },
  { name: 'an empty document', overlay: '', path: '(root)', message: /empty document/ },
  { name: 'a list document', overlay: '- stack: local\n', path: '(root)', message: /a list/ },
  { name: 'a duplicate key', overlay: 'stack: local\nnamespace: a\nnamespace: b\n', path: 'namespace', message: /given twice/ },
  { name: 'a duplicate nested key', overlay: 'stack: local\nistio:\n  mode: managed\n  mode: none\n', path: 'istio.mode', message: /given twice/ },
  { name: 'broken YAML', overlay: 'stack: local\nnamespace: [unclosed\n', path: '(yaml)', message: /.+/ },
  {
    name: 'a YAML alias bomb',
    overlay: ['stack: local', 'a: &a [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n'),
    path: '(yaml)', message: /at most 100 aliases/,
  },
  // The file itself.
  { name: 'the overlay is a directory', overlay: (f) => { fs.mkdirSync(f); }, path: '--env', message: /is a directory/ },
  { name: 'the overlay is a dangling link', overlay: (f) => { fs.symlinkSync(path.join(path.dirname(f), 'gone.yaml'), f); }, path: '--env', message: /does not exist \(a dangling link\?\)/ },
  { name: 'the overlay links to /dev/zero', overlay: (f) => { fs.symlinkSync('/dev/zero', f); }, path: '--env', message: /not a regular file/ },
  {
    name: 'the overlay is a FIFO',
    overlay: (f) => { expect(spawnSync('mkfifo', [f]).status).toBe(0); },
    path: '--env', message: /not a regular file/,
  },
  { name: 'the overlay is larger than the cap', overlay: (f) => { fs.writeFileSync(f, `stack: local\n# ${'x'.repeat(MAX_OVERLAY_BYTES)}\n`); }, path: '--env', message: /at most 4194304 \(4 MiB\)/ },
  ...(process.getuid?.() === 0 ? [] : [{
    name: 'the overlay cannot be read', overlay: (f: string) => { fs.writeFileSync(f, 'stack: local\n', { mode: 0 }); }, path: '--env', message: /permission denied/,
  }]),
];

function multiUser(profile: Record<string, unknown>): string {
  return stringify({
    stack: 'local', pipelines: { mode: 'multi-user' }, istio: { mode: 'managed' }, certManager: { mode: 'managed' }, auth: { mode: 'dex' },
    tenancy: { profiles: [{ name: 'team-a', owner: 'alice@example.com', ...profile }] },
  });
}
function meshed(overlay: string): string {
  return `${overlay}istio:\n  mode: managed\ncertManager:\n  mode: managed\n`;
}
function externalStore(extra: Record<string, unknown>): string {
  return stringify({ stack: 'local', objectStore: { type: 'external', provider: 's3-compatible', bucket: 'kf', region: 'eu-west-1', credentials: { type: 'secret', secretName: 's3' }, ...extra } });
}
function externalDb(host: string): string {
  return stringify({ stack: 'local', database: { type: 'external', engine: 'mysql', cidrs: ['198.51.100.0/24'], host, credentialsSecret: { name: 'db' }, tls: { mode: 'required' } } });
}

const ALL: Case[] = [...enumCases, ...keyCases, ...typeCases, ...reviewCases];

describe('every bad input: exit 2, the field path and what is allowed, bounded output, nothing written', () => {
  test('the corpus has at least 150 cases, each named once', () => {
    expect(ALL.length).toBeGreaterThanOrEqual(150);
    expect(new Set(ALL.map((c) => c.name)).size).toBe(ALL.length);
  });

  test.each(ALL.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expectRefused(c, synth(c));
  });

  test('300,000 unknown keys: refused fast, the first 50 listed then how many more', () => {
    const keys = Array.from({ length: 300_000 }, (_, i) => `k${i}: 1`).join('\n');
    const t0 = Date.now();
    const r = synth({ name: 'keys', overlay: `stack: local\n${keys}\n`, path: 'k0', message: /unknown key/ });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.code).toBe(2);
    expect(r.err.split('\n').filter((l) => l.startsWith('  - ')).length).toBe(ConfigError.SHOWN);
    expect(r.err).toMatch(/… and 299950 more$/);
    expect(r.err.length).toBeLessThan(MAX_OUTPUT);
  });

  test('valid inputs the rules must not refuse: a dotted StorageClass, wildcard and upper-case hosts where allowed, a registry with port and path', () => {
    const ok = (overlay: string) => {
      const dir = tmpdir('kfkit-ok-');
      fs.mkdirSync(path.join(dir, 'overlays'));
      fs.writeFileSync(path.join(dir, 'overlays', 'x.yaml'), overlay);
      const r = cli(['synth', '--env', 'x', '--overlays', 'overlays', '--out', 'dist'], dir);
      return { code: r.code, err: r.code === 0 ? '' : r.err };
    };
    expect(ok(at(['database', 'storage', 'storageClass'], 'gp3.encrypted'))).toEqual({ code: 0, err: '' });
    expect(ok(at(['images', 'registryMirror'], 'registry.corp.example:5000/kubeflow/mirror_1'))).toEqual({ code: 0, err: '' });
    expect(ok(meshed(at(['gateway', 'host'], '*.kubeflow.example.com')))).toEqual({ code: 0, err: '' });
    expect(ok(externalDb('DB-1.Corp.Example'))).toEqual({ code: 0, err: '' });
  });

  test('every address for the API server only on purpose: accepted with a warning, and the policies say 0.0.0.0/0', () => {
    const dir = tmpdir('kfkit-any-');
    fs.mkdirSync(path.join(dir, 'overlays'));
    fs.writeFileSync(path.join(dir, 'overlays', 'x.yaml'), at(['cluster', 'apiServer'], { cidrs: [], anyAddress: true }));
    const r = cli(['synth', '--env', 'x', '--overlays', 'overlays', '--out', 'dist'], dir);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/WARNING: cluster.apiServer.anyAddress is true: the egress meant for the API server's addresses goes to any host/);
    const file = listFiles(path.join(dir, 'dist', 'x')).find((f) => f.endsWith('/networkpolicy_kubeflow_ml-pipeline-to-kube-apiserver.yaml'));
    expect(fs.readFileSync(path.join(dir, 'dist', 'x', file ?? 'missing'), 'utf8')).toContain('0.0.0.0/0');
  });

  test('a few as real processes: the same exit code and message, no stack trace', () => {
    for (const c of [reviewCases[0], reviewCases.find((x) => x.name === 'the overlay is a FIFO') as Case, keyCases[0]]) {
      const dir = tmpdir('kfkit-proc-');
      fs.mkdirSync(path.join(dir, 'overlays'));
      const file = path.join(dir, 'overlays', 'x.yaml');
      if (typeof c.overlay === 'string') fs.writeFileSync(file, c.overlay);
      else c.overlay(file);
      const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kfkit.js'), 'synth', '--env', 'x', '--overlays', 'overlays', '--out', 'dist'],
        { cwd: dir, encoding: 'utf8', timeout: 30_000 });
      expectRefused(c, { code: r.status ?? -1, err: r.stderr, out: r.stdout, wrote: fs.existsSync(path.join(dir, 'dist')) ? fs.readdirSync(path.join(dir, 'dist')) : [] });
    }
  });
});
