import * as path from 'path';
import { loadOverlay } from '../lib/config/load';
import { synthesize } from '../lib/synth/index';
import { Synthesized } from '../lib/synth/collect';
import { STACKS } from '../stacks';
import { ROOT } from './helpers';

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
