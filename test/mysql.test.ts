import { App, Chart } from 'cdk8s';
import { MysqlDatabase } from '../lib/components/mysql';
import { KfkitContext } from '../lib/core/context';
import { collect } from '../lib/synth/collect';
import { synthesize } from '../lib/synth/index';
import { K8sObject } from '../lib/validate/types';
import { localConfig } from './helpers';

type Pod = { spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } } };

const find = (objects: readonly { manifest: K8sObject }[], kind: string, name: string | RegExp) =>
  objects.find((o) => o.manifest.kind === kind && (typeof name === 'string' ? o.manifest.metadata.name === name : name.test(o.manifest.metadata.name)))?.manifest;
/** The credentials Job: named after its spec (see lib/core/job-name.ts); its ServiceAccount and Role keep the base name. */
const GENERATOR = /^mysql-secret-generator-[0-9a-f]{8}$/;

describe('in-cluster MySQL', () => {
  const s = synthesize(localConfig({ database: { type: 'in-cluster', storage: { size: '30Gi', storageClass: 'fast' } } }));

  test('upstream names: mysql StatefulSet/Service/ServiceAccount, mysql-pv-claim, mysql-secret', () => {
    const sts = find(s.objects, 'StatefulSet', 'mysql') as unknown as Pod & K8sObject;
    expect(sts.metadata.namespace).toBe('kubeflow');
    expect(find(s.objects, 'Service', 'mysql')).toBeDefined();
    expect(find(s.objects, 'ServiceAccount', 'mysql')).toBeDefined();
    const pvc = find(s.objects, 'PersistentVolumeClaim', 'mysql-pv-claim') as K8sObject & { spec: { storageClassName: string; resources: { requests: { storage: string } } } };
    expect(pvc.spec.storageClassName).toBe('fast');
    expect(pvc.spec.resources.requests.storage).toBe('30Gi');
    const env = sts.spec.template.spec.containers[0].env;
    expect(env).toEqual([{ name: 'MYSQL_ROOT_PASSWORD', valueFrom: { secretKeyRef: { name: 'mysql-secret', key: 'password' } } }]);
  });

  test('no password anywhere in the output: the Secret is generated in the cluster', () => {
    expect(s.objects.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
    const job = find(s.objects, 'Job', GENERATOR);
    expect(job?.metadata.annotations?.['kfkit.dev/provides']).toBe('Secret/kubeflow/mysql-secret');
    const text = JSON.stringify(s.objects);
    expect(text).not.toMatch(/MYSQL_ALLOW_EMPTY_PASSWORD/);
  });

  test('the generator may only create Secrets', () => {
    const role = find(s.objects, 'Role', 'mysql-secret-generator') as K8sObject & { rules: unknown };
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['create'] }]);
  });

  test('pods meet the restricted profile and only the generator mounts a token', () => {
    const mysqlPods = s.objects.filter((x) => ['StatefulSet', 'Job'].includes(x.manifest.kind) && x.manifest.metadata.labels?.['app.kubernetes.io/component'] === 'metadata-db');
    expect(mysqlPods.map((o) => o.manifest.metadata.name).sort()).toEqual([
      ...['backup', 'cache', 'metadata', 'pipelines'].map((c): unknown => expect.stringMatching(new RegExp(`^metadata-db-${c}-generator-[0-9a-f]{8}$`))),
      'mysql', expect.stringMatching(GENERATOR), expect.stringMatching(/^mysql-users-[0-9a-f]{8}$/),
    ]);
    for (const o of mysqlPods) {
      const pod = (o.manifest as unknown as Pod).spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true });
      }
      // Only the generators call the API; the users Job talks to the database alone.
      expect(pod.automountServiceAccountToken).toBe(o.manifest.kind === 'Job' && !o.manifest.metadata.name.startsWith('mysql-users-'));
    }
  });

  test('allowFrom opens exactly the client → mysql:3306 path, both directions of policy', () => {
    const app = new App();
    const chart = new Chart(app, 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const db = new MysqlDatabase(chart, 'Db', { namespace: 'kubeflow' });
    db.allowFrom({ peerName: 'ml-pipeline', namespace: 'kubeflow', podLabels: { 'app.kubernetes.io/name': 'ml-pipeline' } });
    const objects = collect(chart).objects;
    const policy = (name: string) => objects.find((o) => o.manifest.metadata.name === name)?.manifest as K8sObject & { spec: Record<string, unknown> };
    const ingress = policy('mysql-from-ml-pipeline');
    expect(ingress.spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/component': 'metadata-db', 'app.kubernetes.io/name': 'mysql' } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ml-pipeline' } } }], ports: [{ port: 3306, protocol: 'TCP' }] }],
    });
    expect(policy('ml-pipeline-to-mysql').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ml-pipeline' } },
      policyTypes: ['Egress'],
      egress: [{
        to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'metadata-db', 'app.kubernetes.io/name': 'mysql' } } }],
        ports: [{ port: 3306, protocol: 'TCP' }],
      }],
    });
  });

  test('a cross-namespace client is matched by namespace too', () => {
    const app = new App();
    const chart = new Chart(app, 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const db = new MysqlDatabase(chart, 'Db', { namespace: 'kubeflow' });
    db.allowFrom({ peerName: 'katib-db-manager', namespace: 'katib', podLabels: { app: 'katib' } });
    const ingress = collect(chart).objects.find((o) => o.manifest.metadata.name === 'mysql-from-katib-db-manager' && o.manifest.metadata.namespace === 'kubeflow');
    expect(JSON.stringify(ingress?.manifest)).toContain('"kubernetes.io/metadata.name":"katib"');
  });
});

describe('namespaces kfkit creates', () => {
  const s = synthesize(localConfig());
  test('start default-deny with DNS allowed (Pod Security levels: test/platform-security.test.ts)', () => {
    const ns = find(s.objects, 'Namespace', 'kubeflow');
    expect(ns?.metadata.labels?.['pod-security.kubernetes.io/warn']).toBe('restricted');
    const deny = find(s.objects, 'NetworkPolicy', 'default-deny') as K8sObject & { spec: unknown };
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(find(s.objects, 'NetworkPolicy', 'allow-dns')).toBeDefined();
  });
});
