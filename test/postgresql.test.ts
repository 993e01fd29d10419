import { spawnSync } from 'child_process';
import { App, Chart } from 'cdk8s';
import { PostgresDatabase } from '../lib/components/postgresql';
import { PlatformConfig } from '../lib/config/schema';
import { KfkitContext } from '../lib/core/context';
import { GeneratedSecret } from '../lib/core/generated-secret';
import { IMAGES } from '../lib/core/images';
import { collect } from '../lib/synth/collect';
import { checkPlatform, synthesize, upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject } from '../lib/validate/types';
import { localConfig } from './helpers';

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: { exec?: { command: string[] } };
  readinessProbe?: { exec?: { command: string[] } };
  livenessProbe?: unknown;
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: { name: string; emptyDir?: unknown; persistentVolumeClaim?: { claimName: string } }[];
}
type Workload = K8sObject & { spec: { serviceName?: string; template: { spec: PodSpec } } };

const find = (objects: readonly PlacedObject[], kind: string, name: string | RegExp): PlacedObject => {
  const found = objects.find((o) => o.manifest.kind === kind && (typeof name === 'string' ? o.manifest.metadata.name === name : name.test(o.manifest.metadata.name)));
  if (!found) throw new Error(`${kind}/${String(name)} not synthesized`);
  return found;
};
/** The credentials Jobs: named after their spec (see lib/core/job-name.ts); ServiceAccount and Role keep the base name. */
const GENERATOR = /^postgres-secret-extended-generator-[0-9a-f]{8}$/;
const MYSQL_GENERATOR = /^mysql-secret-generator-[0-9a-f]{8}$/;

/** The local platform with the in-cluster PostgreSQL. */
function postgresConfig(): PlatformConfig {
  return localConfig({ database: { type: 'in-cluster', engine: 'postgresql', storage: { size: '30Gi', storageClass: 'fast' } } });
}

describe('in-cluster PostgreSQL', () => {
  const config = postgresConfig();
  const s = synthesize(config);
  const sts = find(s.objects, 'StatefulSet', 'postgres').manifest as Workload;
  const pod = sts.spec.template.spec;
  const container = pod.containers[0];
  const upstream = upstreamFacts().facts;
  const upstreamPostgres = upstream.workloads.find((w) => w.source === 'kfp-postgresql' && w.name === 'postgres');

  test('the config accepts it: without cache-server (MySQL only in 2.17.0), every consumer speaks PostgreSQL', () => {
    expect(config.database).toMatchObject({ type: 'in-cluster', engine: 'postgresql' });
  });

  test('upstream names: postgres workload and container, postgresql ServiceAccount, postgres-service, postgres-pvc', () => {
    expect(sts.metadata.namespace).toBe('kubeflow');
    expect(sts.spec.serviceName).toBe('postgres-service');
    expect(pod.serviceAccountName).toBe('postgresql');
    expect(find(s.objects, 'ServiceAccount', 'postgresql')).toBeDefined();
    const svc = find(s.objects, 'Service', 'postgres-service').manifest as K8sObject & { spec: { ports: unknown[] } };
    const upstreamSvc = upstream.services.find((x) => x.source === 'kfp-postgresql' && x.name === 'postgres-service');
    expect(svc.spec.ports).toEqual(upstreamSvc?.ports);
    const pvc = find(s.objects, 'PersistentVolumeClaim', 'postgres-pvc').manifest as K8sObject & { spec: { storageClassName: string; resources: { requests: { storage: string } } } };
    expect(pvc.spec.storageClassName).toBe('fast');
    expect(pvc.spec.resources.requests.storage).toBe('30Gi');
    expect(pod.containers.map((c) => c.name)).toEqual(upstreamPostgres?.containers.map((c) => c.name));
  });

  test('image, port and environment as the facts have them; the password from postgres-secret root_password', () => {
    expect(container.image).toBe(`${IMAGES.postgres.repository}:${IMAGES.postgres.tag}`);
    expect(container.image).toBe('docker.io/library/postgres:14.7-alpine3.17');
    const facts = upstreamPostgres?.containers[0];
    expect(container.ports).toEqual(facts?.ports);
    const env = [...(container.env ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    expect(env.map((e) => e.name)).toEqual(facts?.env.map((e) => e.name));
    expect(env.map((e) => (e.valueFrom?.secretKeyRef ? ['secretKeyRef', e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key] : ['value'])))
      .toEqual(facts?.env.map((e) => (e.from === 'secretKeyRef' ? [e.from, e.ref, e.key] : [e.from])));
    const value = (name: string) => container.env?.find((e) => e.name === name)?.value;
    expect(value('POSTGRES_USER')).toBe('user');
    expect(value('POSTGRES_DB')).toBe('postgres');
    const data = container.volumeMounts?.find((m) => m.name === 'postgres-stateful-data');
    expect(pod.volumes?.find((v) => v.name === 'postgres-stateful-data')?.persistentVolumeClaim?.claimName).toBe('postgres-pvc');
    expect(value('PGDATA')?.startsWith(`${data?.mountPath}/`)).toBe(true);
  });

  test('the typed reference consumers get', () => {
    const chart = new Chart(new App(), 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const db = new PostgresDatabase(chart, 'Db', { namespace: 'kubeflow' });
    expect(db.engine).toBe('postgresql');
    expect(db.host).toBe('postgres-service.kubeflow.svc.cluster.local');
    expect(db.port).toBe(5432);
    expect(db.adminCredentials).toEqual({ secretName: 'postgres-secret-extended', usernameKey: 'username', passwordKey: 'password' });
    expect(db.credentialsFor('metadata')).toEqual({ secretName: 'metadata-db-metadata', usernameKey: 'username', passwordKey: 'password' });
    expect(db.tls).toEqual({ mode: 'disabled' });
    expect(db.inCluster).toBe(true);
    expect(db.databaseNames).toEqual({ pipelines: 'mlpipeline', metadata: 'metadb', cache: 'cachedb', katib: 'katib' });
  });

  test('no Secret and no credential value in the output: one Job generates both upstream Secrets', () => {
    expect(s.objects.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
    const job = find(s.objects, 'Job', GENERATOR);
    expect(job.waveName).toBe('credentials');
    expect(job.wave).toBeLessThan(find(s.objects, 'StatefulSet', 'postgres').wave);
    expect(job.manifest.metadata.annotations?.['kfkit.dev/provides']).toBe('Secret/kubeflow/postgres-secret-extended,Secret/kubeflow/postgres-secret');
    const args = (job.manifest as Workload).spec.template.spec.containers[0].args ?? [];
    expect(JSON.parse(args[2])).toMatchObject({
      keys: { username: { literal: 'user' }, password: { randomBytes: 24 } },
      also: [{ name: 'postgres-secret', keys: { root_password: 'password' } }],
    });
    // The Secrets carry upstream's key names (consumers read them), never upstream's values.
    const upstreamKeys = (name: string) => upstream.secrets.find((x) => x.source === 'kfp-postgresql' && x.name === name)?.keys;
    expect(upstreamKeys('postgres-secret-extended')).toEqual(['password', 'username']);
    expect(upstreamKeys('postgres-secret')).toEqual(['root_password']);
    for (const o of s.objects.filter((x) => ['StatefulSet', 'Job'].includes(x.manifest.kind))) {
      for (const e of (o.manifest as Workload).spec.template.spec.containers.flatMap((c) => c.env ?? [])) {
        if (/PASSWORD/.test(e.name)) expect(e.value).toBeUndefined();
      }
    }
  });

  test('the generator may create Secrets and read only its own two', () => {
    const role = find(s.objects, 'Role', 'postgres-secret-extended-generator').manifest as K8sObject & { rules: unknown };
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['postgres-secret-extended', 'postgres-secret'] },
    ]);
  });

  test('restricted, read-only pod running as the image\'s postgres user, with probes and a budget', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 70, runAsGroup: 70, fsGroup: 70, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
    });
    const emptyDirs = new Set((pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name));
    const writable = (container.volumeMounts ?? []).filter((m) => emptyDirs.has(m.name)).map((m) => m.mountPath).sort();
    expect(writable).toEqual(['/tmp', '/var/run/postgresql']);
    expect(container.startupProbe?.exec?.command[0]).toBe('pg_isready');
    expect(container.readinessProbe?.exec?.command[0]).toBe('pg_isready');
    expect(container.livenessProbe).toBeDefined();
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '512Mi' }, limits: { memory: '1Gi' } });
  });

  test('allowFrom opens exactly the client → postgres:5432 path, both directions of policy', () => {
    const chart = new Chart(new App(), 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const db = new PostgresDatabase(chart, 'Db', { namespace: 'kubeflow' });
    db.allowFrom({ peerName: 'ml-pipeline', namespace: 'kubeflow', podLabels: { 'app.kubernetes.io/name': 'ml-pipeline' } });
    const objects = collect(chart).objects;
    const policy = (name: string) => find(objects, 'NetworkPolicy', name).manifest as K8sObject & { spec: Record<string, unknown> };
    const server = { 'app.kubernetes.io/component': 'metadata-db', 'app.kubernetes.io/name': 'postgres' };
    expect(policy('postgres-from-ml-pipeline').spec).toEqual({
      podSelector: { matchLabels: server },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ml-pipeline' } } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    });
    expect(policy('ml-pipeline-to-postgres').spec).toEqual({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ml-pipeline' } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: server } }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    });
    const stsLabels = (find(objects, 'StatefulSet', 'postgres').manifest as Workload & { spec: { selector: { matchLabels: unknown } } }).spec.selector.matchLabels;
    expect(stsLabels).toEqual(server);
  });

  test('the harness and the fidelity check find nothing', () => {
    expect(validate(s)).toEqual([]);
    expect(checkPlatform(s, config)).toEqual([]);
  });

  test('a fidelity difference is caught once its deviation is removed', () => {
    const { facts, deviations } = upstreamFacts();
    const without = deviations.filter((d) => !(d.workload === 'kubeflow/postgres' && d.field === 'kind'));
    expect(without.length).toBe(deviations.length - 1);
    expect(checkFidelity(s.objects, facts, without).map((f) => f.message)).toEqual(['kind: StatefulSet, upstream kfp-postgresql 2.17.0 has Deployment']);
  });

  test('a changed environment is caught: nothing else is waived', () => {
    const { facts, deviations } = upstreamFacts();
    const objects = s.objects.map((o) => {
      if (o.manifest !== sts) return o;
      const copy = JSON.parse(JSON.stringify(o.manifest)) as Workload;
      const c = copy.spec.template.spec.containers[0];
      c.env = c.env?.filter((e) => e.name !== 'POSTGRES_USER');
      return { ...o, manifest: copy };
    });
    expect(checkFidelity(objects, facts, deviations).map((f) => f.message)).toEqual(['env: container postgres lacks POSTGRES_USER (upstream kfp-postgresql 2.17.0 has it)']);
  });
});

/**
 * Runs the generator Job's program against a fake Kubernetes API holding `existing` Secrets (name → key → value).
 * Returns the Secrets afterwards, the ones created and the HTTP methods used.
 */
function runGenerator(job: PlacedObject, existing: Record<string, Record<string, string>>): {
  store: Record<string, Record<string, string>>; created: string[]; methods: string[];
} {
  const c = (job.manifest as Workload).spec.template.spec.containers[0];
  const harness = `
import base64, builtins, io, json, os, ssl, sys, urllib.error, urllib.request
program, store, argv = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
created, methods = [], []
class Response:
    def __init__(self, body): self.body = body
    def read(self): return json.dumps(self.body).encode()
def urlopen(req, context=None, timeout=None):
    methods.append(req.get_method())
    if req.get_method() == 'GET':
        name = req.full_url.rsplit('/', 1)[1]
        if name not in store: raise urllib.error.HTTPError(req.full_url, 404, 'not found', {}, io.BytesIO(b'{}'))
        return Response({'data': {k: base64.b64encode(v.encode()).decode() for k, v in store[name].items()}})
    body = json.loads(req.data)
    name = body['metadata']['name']
    if name in store: raise urllib.error.HTTPError(req.full_url, 409, 'exists', {}, io.BytesIO(b'{}'))
    store[name] = body['stringData']
    created.append(name)
    return Response(body)
urllib.request.urlopen = urlopen
ssl.create_default_context = lambda cafile=None: None
real_open = builtins.open
builtins.open = lambda path, *a, **k: io.StringIO('token') if str(path).endswith('/token') else real_open(path, *a, **k)
os.environ.update(KUBERNETES_SERVICE_HOST='api', KUBERNETES_SERVICE_PORT='443')
sys.argv = ['generate'] + argv
try:
    exec(program, {'__name__': '__main__'})
except SystemExit as e:
    if e.code: raise
print(json.dumps({'store': store, 'created': created, 'methods': methods}))
`;
  const result = spawnSync('python3', ['-c', harness, c.command?.[2] ?? '', JSON.stringify(existing), JSON.stringify(c.args ?? [])], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`generator failed: ${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as { store: Record<string, Record<string, string>>; created: string[]; methods: string[] };
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

(hasPython ? describe : describe.skip)('the generator keeps both PostgreSQL Secrets on one password (needs python3)', () => {
  const job = find(synthesize(postgresConfig()).objects, 'Job', GENERATOR);
  const EXT = 'postgres-secret-extended';
  const ROOT = 'postgres-secret';

  test('first install: both created from one random password', () => {
    const r = runGenerator(job, {});
    expect(r.created).toEqual([EXT, ROOT]);
    expect(r.store[EXT].username).toBe('user');
    expect(r.store[EXT].password.length).toBeGreaterThanOrEqual(32);
    expect(r.store[ROOT]).toEqual({ root_password: r.store[EXT].password });
  });

  test('clients\' Secret left from an earlier run: the server\'s is made from its password', () => {
    const r = runGenerator(job, { [EXT]: { username: 'user', password: 'kept-1' } });
    expect(r.created).toEqual([ROOT]);
    expect(r.store[ROOT]).toEqual({ root_password: 'kept-1' });
  });

  test('server\'s Secret left (the data directory was initialised with it): the clients\' gets the same password', () => {
    const r = runGenerator(job, { [ROOT]: { root_password: 'kept-2' } });
    expect(r.created).toEqual([EXT]);
    expect(r.store[EXT]).toEqual({ username: 'user', password: 'kept-2' });
  });

  test('both present: nothing changes', () => {
    const existing = { [EXT]: { username: 'user', password: 'a' }, [ROOT]: { root_password: 'a' } };
    const r = runGenerator(job, existing);
    expect(r.created).toEqual([]);
    expect(r.store).toEqual(existing);
  });

  test('a single generated Secret (MySQL) still only POSTs: no read permission needed', () => {
    const mysqlJob = find(synthesize(localConfig()).objects, 'Job', MYSQL_GENERATOR);
    const r = runGenerator(mysqlJob, {});
    expect(r.methods).toEqual(['POST']);
    expect(r.created).toEqual(['mysql-secret']);
    expect(runGenerator(mysqlJob, { 'mysql-secret': { username: 'root', password: 'x' } }).created).toEqual([]);
  });
});

describe('GeneratedSecret sharedWith', () => {
  const make = (sharedWith: { name: string; keys: Record<string, string> }[]) => () => {
    const chart = new Chart(new App(), 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    new GeneratedSecret(chart, 'S', { name: 'a', namespace: 'kf', identity: { name: 'a', component: 'db' }, keys: { password: { randomBytes: 16 } }, sharedWith });
  };

  test('refuses a key that names no generated key, a Secret named twice and a shared Secret without keys', () => {
    expect(make([{ name: 'b', keys: { root: 'pasword' } }])).toThrow(/key "root" of shared Secret "b" names "pasword", which is not a generated key/);
    expect(make([{ name: 'a', keys: { root: 'password' } }])).toThrow(/Secret "a" is named twice/);
    expect(make([{ name: 'b', keys: { x: 'password' } }, { name: 'b', keys: { y: 'password' } }])).toThrow(/Secret "b" is named twice/);
    expect(make([{ name: 'b', keys: {} }])).toThrow(/shared Secret "b" has no keys/);
    expect(make([{ name: 'b', keys: { root: 'password' } }])).not.toThrow();
  });
});
