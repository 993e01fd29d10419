import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { APPLYSET_GROUP_KINDS, APPLYSET_ID, APPLYSET_NAMESPACES, APPLYSET_PART_OF, APPLYSET_TOOLING, applySetId } from '../lib/core/applyset';
import { groupKind } from '../lib/synth/collect';
import { synthesize } from '../lib/synth/index';
import { deletionRank, ObjectRef, prunePlan, refId, refOf, uninstallPlan } from '../lib/synth/lifecycle';
import { K8sObject, PlacedObject } from '../lib/validate/types';
import { loadOverlay } from '../lib/config/load';
import { STACKS } from '../stacks';
import { cli, ROOT, tmpdir } from './helpers';

// Multi-user with two teams (team-a, team-b): profile namespaces, generated Secrets in them, CRDs, charts.
const s = synthesize(loadOverlay(path.join(ROOT, 'overlays'), 'local-auth', STACKS));
const id = applySetId('kubeflow');

describe('the platform is one ApplySet (KEP-3659)', () => {
  test('the id is derived from the parent ConfigMap as the specification says', () => {
    // applyset-<base64url(sha256("<name>.<namespace>.<kind>.<group>"))>-v1, here name kfkit-applyset, core group.
    const digest = createHash('sha256').update('kfkit-applyset.kubeflow.ConfigMap.').digest('base64');
    expect(id).toBe(`applyset-${digest.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}-v1`);
    expect(applySetId('other')).not.toBe(id);
  });

  test('every object but the parent is labelled a member; the parent lists their group-kinds and namespaces', () => {
    const parent = s.objects.find((o) => o.manifest.kind === 'ConfigMap' && o.manifest.metadata.name === 'kfkit-applyset');
    expect(parent).toBeDefined();
    const members = s.objects.filter((o) => o !== parent).map((o) => o.manifest);
    expect(members.filter((m) => m.metadata.labels?.[APPLYSET_PART_OF] !== id).map((m) => `${m.kind}/${m.metadata.name}`)).toEqual([]);
    const p = parent!.manifest;
    expect(p.metadata.namespace).toBe('kubeflow');
    expect(p.metadata.labels?.[APPLYSET_ID]).toBe(id);
    expect(p.metadata.labels?.[APPLYSET_PART_OF]).toBeUndefined();
    expect(p.metadata.annotations?.[APPLYSET_TOOLING]).toMatch(/^kfkit\/\d+\.\d+\.\d+/);
    expect(p.metadata.annotations?.[APPLYSET_GROUP_KINDS]?.split(',')).toEqual([...new Set(members.map(groupKind))].sort());
    expect(p.metadata.annotations?.[APPLYSET_GROUP_KINDS]).toContain('Deployment.apps');
    expect(p.metadata.annotations?.[APPLYSET_NAMESPACES]?.split(',')).toContain('team-a');
    expect(p.metadata.annotations?.[APPLYSET_NAMESPACES]?.split(',')).not.toContain('kubeflow');
    expect(s.applySet).toEqual({ id, parent: { namespace: 'kubeflow', name: 'kfkit-applyset' } });
  });

  test('pod templates are not labelled (a Deployment\'s pods are not members)', () => {
    const deployment = s.objects.find((o) => o.manifest.kind === 'Deployment')!.manifest as K8sObject & { spec: { template: { metadata: { labels: Record<string, string> } } } };
    expect(deployment.spec.template.metadata.labels[APPLYSET_PART_OF]).toBeUndefined();
  });
});

const ref = (groupKind: string, name: string, namespace?: string, protectedBecause?: string): ObjectRef =>
  ({ groupKind, name, ...(namespace ? { namespace } : {}), ...(protectedBecause ? { protectedBecause } : {}) });

describe('prune', () => {
  const tree = s.objects.map((o) => o.manifest);
  const live = [
    ...tree.map(refOf),
    ref('CronJob.batch', 'from-an-old-version', 'kubeflow'),
    ref('PersistentVolumeClaim', 'old-data', 'kubeflow', 'old volume'),
    ref('Namespace', 'team-gone', undefined, 'team volumes'),
    ref('RoleBinding.rbac.authorization.k8s.io', 'user-x', 'team-gone'),
  ];

  test('deletes what the tree no longer renders and keeps protected data', () => {
    const plan = prunePlan(tree, live, false);
    expect(plan.delete.map(refId)).toEqual([
      'CronJob.batch/kubeflow/from-an-old-version', 'RoleBinding.rbac.authorization.k8s.io/team-gone/user-x',
    ]);
    expect(plan.kept.map((k) => refId(k.ref))).toEqual(['PersistentVolumeClaim/kubeflow/old-data', 'Namespace//team-gone']);
    expect(plan.kept[0].reason).toMatch(/--prune-data/);
  });

  test('--prune-data deletes protected data too, namespaces after what is in them', () => {
    const plan = prunePlan(tree, live, true);
    expect(plan.kept).toEqual([]);
    expect(plan.delete.map(refId)).toEqual([
      'CronJob.batch/kubeflow/from-an-old-version', 'PersistentVolumeClaim/kubeflow/old-data',
      'RoleBinding.rbac.authorization.k8s.io/team-gone/user-x', 'Namespace//team-gone',
    ]);
  });

  test('deletion ranks: webhooks first, workloads, custom resources, the rest, cluster RBAC, namespaces, CRDs last', () => {
    const kinds = ['CustomResourceDefinition.apiextensions.k8s.io', 'Namespace', 'ClusterRole.rbac.authorization.k8s.io', 'Service',
      'Profile.kubeflow.org', 'Deployment.apps', 'MutatingWebhookConfiguration.admissionregistration.k8s.io'];
    expect([...kinds].sort((a, b) => deletionRank(a) - deletionRank(b))).toEqual([
      'MutatingWebhookConfiguration.admissionregistration.k8s.io', 'Deployment.apps', 'Profile.kubeflow.org', 'Service',
      'ClusterRole.rbac.authorization.k8s.io', 'Namespace', 'CustomResourceDefinition.apiextensions.k8s.io',
    ]);
  });
});

describe('uninstall plan', () => {
  const placed: readonly PlacedObject[] = s.objects;
  const leftover = ref('CronJob.batch', 'from-an-old-version', 'kubeflow');

  test('earlier versions\' leftovers first, then waves in reverse, the ApplySet parent last; protected data kept', () => {
    const plan = uninstallPlan(placed, s.applySet, [leftover], false);
    expect(plan.steps[0].delete.map(refId)).toEqual(['CronJob.batch/kubeflow/from-an-old-version']);
    const waves = plan.steps.slice(1, -1).map((st) => Number(/^wave (\d+)/.exec(st.description)?.[1]));
    expect(waves).toEqual([...waves].sort((a, b) => b - a));
    expect(plan.steps[plan.steps.length - 1].delete.map(refId)).toEqual(['ConfigMap/kubeflow/kfkit-applyset']);
    const kept = plan.kept.map((k) => refId(k.ref));
    expect(kept).toEqual(expect.arrayContaining(['Namespace//kubeflow', 'PersistentVolumeClaim/kubeflow/mysql-pv-claim',
      'PersistentVolumeClaim/kubeflow/seaweedfs-pvc', 'Secret/kubeflow/mysql-secret']));
    const deleted = plan.steps.flatMap((st) => [...st.delete, ...(st.crds ?? []).map((c) => c.ref)]).map(refId);
    for (const k of kept) expect(deleted).not.toContain(k);
    // The team's namespace holds no protected data of kfkit's: it goes, and its built-in objects (and the Secret the
    // key Job made in it) with it, removed by the API server; its custom resources go in their wave.
    expect(deleted).toContain('Namespace//team-a');
    expect(deleted).not.toContain('Secret/team-a/mlpipeline-minio-artifact');
    expect(deleted).not.toContain('LimitRange/team-a/kfkit-limits');
    expect(deleted).toContain('AuthorizationPolicy.security.istio.io/team-a/user-bob-example-com-clusterrole-edit');
    // In the kept namespace, objects are deleted one by one.
    expect(deleted).toContain('Deployment.apps/kubeflow/ml-pipeline');
    // CRDs are deleted only when no custom resource of theirs remains.
    expect(plan.steps.flatMap((st) => st.crds ?? []).map((c) => c.resource)).toContain('workflows.argoproj.io');
  });

  test('--include-data deletes everything, the platform namespace among the last', () => {
    const plan = uninstallPlan(placed, s.applySet, [], true);
    expect(plan.kept).toEqual([]);
    const deleted = plan.steps.flatMap((st) => [...st.delete, ...(st.crds ?? []).map((c) => c.ref)]).map(refId);
    const deletedNamespaces = deleted.filter((r) => r.startsWith('Namespace//')).map((r) => r.slice('Namespace//'.length));
    // Everything is deleted: itself, or with its namespace.
    const all = placed.map((o) => refOf(o.manifest));
    expect(all.filter((r) => !deleted.includes(refId(r)) && !(r.namespace !== undefined && deletedNamespaces.includes(r.namespace))).map(refId)).toEqual([]);
    expect(deletedNamespaces).toContain('kubeflow');
    expect(deleted.indexOf('Namespace//kubeflow')).toBeGreaterThan(deleted.indexOf('Profile.kubeflow.org//team-a'));
  });
});

describe('kfkit uninstall through the CLI', () => {
  /** A fake kubectl: records its argv, answers `get` with `objects` (one per line) and succeeds at everything else. */
  function fakeKubectl(dir: string, live: readonly string[]): string {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const log = path.join(dir, 'calls.log');
    fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/sh
echo "$*" >> ${JSON.stringify(log)}
case "$*" in
  get*"configmap kfkit-applyset"*) printf 'CronJob.batch' ;;
  get*"applyset.kubernetes.io/part-of="*) printf '${live.join('\\n')}\\n' ;;
esac
exit 0
`, { mode: 0o755 });
    return log;
  }

  test('deletes the tree in reverse wave order with waits, and prints what it keeps', () => {
    const dir = tmpdir();
    expect(cli(['synth', '--env', 'local', '--out', path.join(dir, 'dist')]).code).toBe(0);
    const log = fakeKubectl(dir, ['batch/v1\tCronJob\tkubeflow\tfrom-an-old-version\t']);
    {
      const r = cli(['uninstall', '--env', 'local', '--out', 'dist', '--timeout', '30', '--kubectl', path.join(dir, 'bin', 'kubectl')], dir);
      expect(r.err).toMatch(/kfkit uninstall: kept \d+ object\(s\)/);
      expect(r.code).toBe(0);
      const all = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
      const calls = all.filter((l) => l.startsWith('delete'));
      expect(calls[0]).toContain('CronJob.batch/from-an-old-version');
      expect(calls.every((c) => c.includes('--wait=false') && c.includes('--ignore-not-found'))).toBe(true);
      // Each delete is followed by a list of the same kinds until none of the objects is left (the fake answers: none).
      for (const c of calls) {
        const kinds = [...new Set(c.split(' ').filter((w) => w.includes('/') && !w.startsWith('--')).map((w) => w.split('/')[0]))];
        const ns = / -n (\S+)/.exec(c)?.[1];
        expect(all[all.indexOf(c) + 1]).toBe(`get ${kinds.join(',')}${ns ? ` -n ${ns}` : ''} -o name`);
      }
      expect(calls[calls.length - 1]).toContain('ConfigMap/kfkit-applyset');
      expect(calls.join('\n')).not.toContain('PersistentVolumeClaim/mysql-pv-claim');
      expect(r.out).toContain('kept: PersistentVolumeClaim kubeflow/mysql-pv-claim');
      expect(r.out).toContain('kept: Namespace kubeflow');
    }
  });

  test('a kubectl failure is exit 3 with the objects named', () => {
    const dir = tmpdir();
    expect(cli(['synth', '--env', 'local', '--out', path.join(dir, 'dist')]).code).toBe(0);
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'kubectl'), '#!/bin/sh\ncase "$*" in *" delete "*|delete*) echo "forbidden" >&2; exit 1 ;; esac\nexit 0\n', { mode: 0o755 });
    const r = cli(['uninstall', '--env', 'local', '--out', 'dist', '--kubectl', path.join(bin, 'kubectl')], dir);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/kfkit uninstall: delete of .* failed: forbidden/);
  });
});
