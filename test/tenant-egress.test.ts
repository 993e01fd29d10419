import * as path from 'path';
import { loadOverlay } from '../lib/config/load';
import { egressDestinations, PlatformConfig } from '../lib/config/schema';
import { synthesize } from '../lib/synth/index';
import { Synthesized } from '../lib/synth/collect';
import { STACKS } from '../stacks';
import { cli, configIssuePaths, localConfig, ROOT, withOverlays } from './helpers';

/**
 * Nothing on the e2e control plane enforces NetworkPolicy, so what a tenant's pod may reach is evaluated here, from
 * the synthesized policies: the addresses outside the cluster a pod in a profile namespace may reach, given its
 * labels. Labels a tenant sets on its own pods (a pipeline step's, a Katib suggestion's) must not open more than the
 * platform needs those pods to reach — the API server's addresses — and never every address.
 */

interface Selector { readonly matchLabels?: Readonly<Record<string, string>>; readonly matchExpressions?: readonly unknown[] }
interface Peer { readonly ipBlock?: { readonly cidr: string }; readonly podSelector?: Selector; readonly namespaceSelector?: Selector }
interface Policy {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: { readonly podSelector: Selector; readonly policyTypes?: readonly string[]; readonly egress?: readonly { readonly to?: readonly Peer[] }[] };
}

function selects(selector: Selector, labels: Readonly<Record<string, string>>): boolean {
  if (selector.matchExpressions && selector.matchExpressions.length > 0) throw new Error('this evaluator handles matchLabels only');
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** The IPv4 blocks a pod with `labels` in `namespace` may send to (an egress rule without `to` is every address). */
function reachableBlocks(s: Synthesized, namespace: string, labels: Readonly<Record<string, string>>): string[] {
  const policies = s.objects.map((o) => o.manifest as unknown as Policy & { kind: string })
    .filter((p) => p.kind === 'NetworkPolicy' && p.metadata.namespace === namespace && (p.spec.policyTypes ?? []).includes('Egress'))
    .filter((p) => selects(p.spec.podSelector, labels));
  const blocks = new Set<string>();
  for (const p of policies) {
    for (const rule of p.spec.egress ?? []) {
      if (rule.to === undefined) blocks.add('0.0.0.0/0');
      for (const peer of rule.to ?? []) if (peer.ipBlock) blocks.add(peer.ipBlock.cidr);
    }
  }
  return [...blocks].sort();
}

function ipv4(cidr: string): [number, number] {
  const [addr, bits] = cidr.split('/');
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return [n, Number(bits)];
}

/** Whether block `inner` lies within block `outer`. */
function within(inner: string, outer: string): boolean {
  const [a, abits] = ipv4(inner);
  const [b, bbits] = ipv4(outer);
  if (abits < bbits) return false;
  const size = 2 ** (32 - bbits);
  return Math.floor(a / size) === Math.floor(b / size);
}

describe('a tenant\'s labels gain its pods nothing outside the cluster but the API server', () => {
  const overlays = path.join(ROOT, 'overlays');
  const full = loadOverlay(overlays, 'full', STACKS);
  const s = synthesize(full);
  const apiServer = full.cluster.apiServer.cidrs;
  const team = full.tenancy.profiles[0].name;
  const PIPELINE_STEP = { 'pipelines.kubeflow.org/v2_component': 'true' };
  const KATIB_SUGGESTION = { 'sidecar.istio.io/inject': 'false' };

  test('the environment names the API server\'s addresses, and nothing in any environment allows every address to reach it', () => {
    expect(apiServer.length).toBeGreaterThan(0);
    for (const env of ['local', 'local-auth', 'full', 'onprem', 'aws-dev', 'aws-prod']) {
      const out = synthesize(loadOverlay(overlays, env, STACKS));
      const open = out.objects.filter((o) => o.manifest.kind === 'NetworkPolicy' && /kube-apiserver|pipeline-runs-allow|katib-suggestions-allow/.test(o.manifest.metadata.name)
        && JSON.stringify(o.manifest).includes('0.0.0.0/0'));
      expect({ env, open: open.map((o) => o.manifest.metadata.name) }).toEqual({ env, open: [] });
    }
  });

  test.each([
    ['a pod labelled like a pipeline step', PIPELINE_STEP],
    ['a pod labelled like a Katib suggestion', KATIB_SUGGESTION],
    ['a pod with both labels', { ...PIPELINE_STEP, ...KATIB_SUGGESTION }],
  ])('%s gains, outside the cluster, only the API server', (_name, labels) => {
    const unlabelled = new Set(reachableBlocks(s, team, {}));
    const gained = reachableBlocks(s, team, labels).filter((b) => !unlabelled.has(b));
    expect(gained.length).toBeGreaterThan(0); // the labels do open the API server: the evaluation sees the policies
    for (const b of gained) expect({ block: b, inApiServer: apiServer.some((a) => within(b, a)) }).toEqual({ block: b, inApiServer: true });
  });

  test('an unlabelled pod reaches, outside the cluster, only what the admins listed for the team (tenancy egress)', () => {
    const listed = [...full.tenancy.defaults.egress, ...(full.tenancy.profiles[0].egress ?? [])].map((e) => e.cidr).sort();
    expect(listed.length).toBeGreaterThan(0);
    expect(reachableBlocks(s, team, {})).toEqual([...new Set(listed)]);
  });

  test('the evaluator sees an open rule: a policy allowing every address is reported', () => {
    const open = {
      ...s,
      objects: [...s.objects, {
        ...s.objects[0],
        manifest: {
          apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'open', namespace: team },
          spec: { podSelector: { matchLabels: PIPELINE_STEP }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] },
        },
      }],
    } as Synthesized;
    expect(reachableBlocks(open, team, PIPELINE_STEP)).toContain('0.0.0.0/0');
    expect(within('0.0.0.0/0', apiServer[0])).toBe(false);
    expect(within('10.20.0.11/32', '10.20.0.0/16')).toBe(true);
  });
});

/** The policy that lets users reach the ingress gateway: the one place every address may come from. */
const USERS_TO_GATEWAY = 'istio-ingressgateway-from-anywhere';

/**
 * Every address block the NetworkPolicies of `s` name, egress and ingress; a rule without peers is every address
 * (but the ingress gateway's, whose users come from anywhere).
 */
function allBlocks(s: Synthesized): string[] {
  const blocks = new Set<string>();
  for (const o of s.objects) {
    if (o.manifest.kind !== 'NetworkPolicy' || o.manifest.metadata.name === USERS_TO_GATEWAY) continue;
    const spec = (o.manifest as unknown as { spec: { egress?: { to?: Peer[] }[]; ingress?: { from?: Peer[] }[] } }).spec;
    for (const peers of [...(spec.egress ?? []).map((r) => r.to), ...(spec.ingress ?? []).map((r) => r.from)]) {
      if (peers === undefined) blocks.add('0.0.0.0/0');
      for (const peer of peers ?? []) if (peer.ipBlock) blocks.add(peer.ipBlock.cidr);
    }
  }
  return [...blocks].sort();
}

/** The blocks `config` names: its destinations outside the cluster and the admins' tenant egress. */
function namedBlocks(config: PlatformConfig): string[] {
  return [
    ...egressDestinations(config).filter((d) => d.unused === undefined).flatMap((d) => d.cidrs),
    ...config.tenancy.defaults.egress.map((e) => e.cidr),
    ...config.tenancy.profiles.flatMap((p) => (p.egress ?? []).map((e) => e.cidr)),
  ];
}

describe('no environment opens anything to every address', () => {
  const overlays = path.join(ROOT, 'overlays');

  test.each(['local', 'local-auth', 'full', 'onprem', 'aws-dev', 'aws-prod'])('%s: every block a policy names is one its config names, none is /0', (env) => {
    const config = loadOverlay(overlays, env, STACKS);
    const blocks = allBlocks(synthesize(config));
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.filter((b) => b.endsWith('/0'))).toEqual([]);
    const named = namedBlocks(config);
    expect(blocks.filter((b) => !named.some((n) => within(b, n)))).toEqual([]);
    // The one policy left out above opens only the gateway's own ports, to ingress.
    const users = synthesize(config).objects.find((o) => o.manifest.metadata.name === USERS_TO_GATEWAY)?.manifest as unknown as Policy | undefined;
    if (users) expect({ types: users.spec.policyTypes, selects: users.spec.podSelector }).toEqual({ types: ['Ingress'], selects: { matchLabels: expect.objectContaining({ istio: 'ingressgateway' }) } });
  });
});

describe('the config names every destination outside the cluster, or opts in to every address out loud', () => {
  const STORE = { type: 'external', provider: 's3-compatible', endpoint: 'minio.example:9000', region: 'us-east-1', bucket: 'kfp', credentials: { type: 'secret', secretName: 'keys' } };
  const MESH = { istio: { mode: 'managed' }, certManager: { mode: 'managed' }, gateway: { host: 'kf.example.com' } };
  const DEX = { mode: 'dex', dex: { staticUsers: [{ email: 'a@example.com', hashSecret: { name: 'u', key: 'h' } }] } };
  const CONNECTOR = { type: 'ldap', id: 'corp', name: 'Corp', configSecret: { name: 'dex-ldap', key: 'config.yaml' } };
  const OIDC = { issuerUrl: 'https://login.example.com', clientId: 'kubeflow', clientSecret: { name: 'oidc', key: 'secret' } };
  const ACME = { type: 'acme', email: 'ops@example.com' };
  const EKS_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC';

  test.each<[string, Record<string, unknown>, string[]]>([
    ['an external store without addresses', { objectStore: STORE }, ['objectStore.cidrs']],
    ['an external store at every address by a /0 block', { objectStore: { ...STORE, cidrs: ['0.0.0.0/0'] } }, ['objectStore.cidrs[0]']],
    ['an external store at every address by two /1 blocks', { objectStore: { ...STORE, cidrs: ['0.0.0.0/1', '128.0.0.0/1'] } }, ['objectStore.cidrs[0]', 'objectStore.cidrs[1]']],
    ['an external store with both', { objectStore: { ...STORE, cidrs: ['10.1.0.0/16'], anyAddress: true } }, ['objectStore.anyAddress']],
    ['an ACME server without addresses', { ...MESH, gateway: { host: 'kf.example.com', tls: ACME } }, ['gateway.tls.cidrs']],
    ['ACME addresses the cluster\'s own cert-manager would ignore', { ...MESH, certManager: { mode: 'external' }, gateway: { host: 'kf.example.com', tls: { ...ACME, cidrs: ['10.1.0.1/32'] } } },
      ['gateway.tls.cidrs']],
    ['a Dex connector without addresses', { ...MESH, auth: { mode: 'dex', dex: { connectors: [CONNECTOR] } } }, ['auth.dex.connectors[0].cidrs']],
    ['an OIDC provider without addresses', { ...MESH, auth: { mode: 'oidc', oidc: OIDC } }, ['auth.oidc.cidrs']],
    ['signing keys outside the cluster without addresses', { ...MESH, auth: { ...DEX, machineTokens: { issuer: EKS_ISSUER } } }, ['auth.machineTokens.cidrs']],
    ['addresses for keys kfkit serves itself', { ...MESH, auth: { ...DEX, machineTokens: { cidrs: ['10.1.0.1/32'] } } }, ['auth.machineTokens.cidrs']],
  ])('%s is refused at the field', (_name, overrides, paths) => {
    expect(configIssuePaths(() => localConfig(overrides))).toEqual(paths);
  });

  test('each accepted with its addresses, which become the only destinations', () => {
    const config = localConfig({
      ...MESH, objectStore: { ...STORE, cidrs: ['10.1.0.0/16'] }, gateway: { host: 'kf.example.com', tls: { ...ACME, cidrs: ['10.2.0.1/32'] } },
      auth: { mode: 'dex', dex: { connectors: [{ ...CONNECTOR, cidrs: ['10.3.0.1/32'] }] }, machineTokens: { issuer: EKS_ISSUER, cidrs: ['10.4.0.0/24'] } },
    });
    const blocks = allBlocks(synthesize(config));
    for (const b of ['10.1.0.0/16', '10.2.0.1/32', '10.3.0.1/32', '10.4.0.0/24']) expect(blocks).toContain(b);
    expect(blocks.filter((b) => !namedBlocks(config).some((n) => within(b, n)))).toEqual([]);
  });

  test('anyAddress opens every address only where set, and synth says so each time', () => {
    const dir = withOverlays({ open: 'stack: local\nobjectStore:\n  type: external\n  provider: s3-compatible\n  endpoint: minio.example:9000\n'
      + '  region: us-east-1\n  bucket: kfp\n  credentials: { type: secret, secretName: keys }\n  anyAddress: true\n' });
    const r = cli(['synth', '--env', 'open'], dir);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/WARNING: objectStore\.anyAddress is true: the egress meant for the store's endpoint goes to any host on its ports; set objectStore\.cidrs instead/);
    expect(r.err.match(/WARNING/g)).toHaveLength(1);
  });
});
