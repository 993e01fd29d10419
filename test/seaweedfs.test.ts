import { App, Chart } from 'cdk8s';
import { SeaweedfsArtifactStore, SeaweedfsArtifactStoreProps } from '../lib/components/seaweedfs';
import { KfkitContext } from '../lib/core/context';
import { ImageCatalog } from '../lib/core/images';
import { PlatformNamespace } from '../lib/core/namespace';
import { applyPlan } from '../lib/synth/apply';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkFidelity, ContainerFacts } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject } from '../lib/validate/types';

type Container = {
  name: string; image: string; args?: string[]; command?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: unknown[]; ports?: { containerPort: number; name?: string }[]; securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[]; startupProbe?: unknown; readinessProbe?: unknown; livenessProbe?: unknown;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
};
type PodSpec = Record<string, unknown> & { containers: Container[]; securityContext?: Record<string, unknown>; volumes?: Record<string, unknown>[] };
type Workload = K8sObject & { spec: Record<string, unknown> & { template: { spec: PodSpec } } };
type NetworkPolicy = K8sObject & { spec: { podSelector: unknown; policyTypes: string[]; ingress?: unknown[]; egress?: unknown[] } };

const CLIENT = { peerName: 'ml-pipeline', namespace: 'kubeflow', podLabels: { 'app.kubernetes.io/name': 'ml-pipeline' } };

/** The store alone in a platform-like tree: context, restricted namespace, the store and one client. */
function build(props: Partial<SeaweedfsArtifactStoreProps> = {}, images?: ImageCatalog): { store: SeaweedfsArtifactStore; s: Synthesized } {
  const app = new App();
  const chart = new Chart(app, 'kfkit', { disableResourceNameHashes: true });
  KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'], images });
  new PlatformNamespace(chart, 'Namespace', { name: 'kubeflow' });
  const store = new SeaweedfsArtifactStore(chart, 'ArtifactStore', { namespace: 'kubeflow', ...props });
  store.allowFrom(CLIENT);
  return { store, s: collect(chart) };
}

const find = (objects: readonly PlacedObject[], kind: string, name: string | RegExp): PlacedObject => {
  const found = objects.find((o) => o.manifest.kind === kind && (typeof name === 'string' ? o.manifest.metadata.name === name : name.test(o.manifest.metadata.name)));
  if (!found) throw new Error(`no ${kind} ${String(name)}`);
  return found;
};
const workload = (objects: readonly PlacedObject[], kind: string, name: string | RegExp) => find(objects, kind, name).manifest as Workload;
/** The credentials Job: named after its spec (see lib/core/job-name.ts). */
const GENERATOR = /^mlpipeline-minio-artifact-generator-[0-9a-f]{8}$/;

describe('in-cluster SeaweedFS artifact store', () => {
  const { store, s } = build();
  const { facts, deviations } = upstreamFacts();
  const upstream = facts.workloads.find((w) => w.source === 'kfp' && w.namespace === 'kubeflow' && w.name === 'seaweedfs');
  const upContainer = upstream?.containers[0] as ContainerFacts;
  const sts = workload(s.objects, 'StatefulSet', 'seaweedfs');
  const container = sts.spec.template.spec.containers[0];

  test('upstream names, image, args and ports (facts: kfp 2.17.0)', () => {
    expect(upstream?.kind).toBe('Deployment');
    expect(sts.metadata.namespace).toBe('kubeflow');
    expect(sts.spec.template.spec.serviceAccountName).toBe(upstream?.serviceAccount);
    expect(find(s.objects, 'ServiceAccount', 'seaweedfs')).toBeDefined();
    expect(container.name).toBe(upContainer.name);
    expect(container.image).toBe(upContainer.image);
    expect(container.image).toBe('ghcr.io/chrislusf/seaweedfs:4.34');
    expect(container.args).toEqual(upContainer.args);
    expect(container.command).toBeUndefined();
    expect((container.ports ?? []).map((p) => p.containerPort).sort()).toEqual(upContainer.ports.map((p) => p.containerPort).sort());
    expect((container.ports ?? []).every((p) => p.name === undefined)).toBe(true);
  });

  test('Service: upstream name and ports, 9000 mapped to the S3 port', () => {
    const up = facts.services.find((x) => x.source === 'kfp' && x.name === 'seaweedfs');
    const svc = find(s.objects, 'Service', 'seaweedfs').manifest as K8sObject & { spec: { ports: { name: string; port: number; targetPort: number; protocol: string }[] } };
    const key = (p: { name?: string; port: number; targetPort?: number | string; protocol: string }) => `${p.name}:${p.port}->${String(p.targetPort)}/${p.protocol}`;
    expect(svc.spec.ports.map(key).sort()).toEqual((up?.ports ?? []).map(key).sort());
    expect(svc.spec.ports.find((p) => p.port === 9000)?.targetPort).toBe(8333);
  });

  test('interface values: what upstream consumers use', () => {
    expect(store.provider).toBe('seaweedfs');
    expect(store.endpoint).toBe('seaweedfs.kubeflow:9000');
    expect(store.secure).toBe(false);
    expect(store.region).toBe('us-east-1');
    expect(store.bucket).toBe('mlpipeline');
    expect(store.pathStyle).toBe(true);
    expect(store.inCluster).toBe(true);
    expect(store.credentials).toEqual({ type: 'secret', secretName: 'mlpipeline-minio-artifact', accessKeyKey: 'accesskey', secretKeyKey: 'secretkey' });
    expect(store.serviceAccountAnnotations()).toEqual({});
    expect(store.iamEndpoint).toBe('http://seaweedfs.kubeflow:8111');
    const upSecret = facts.secrets.find((x) => x.source === 'kfp' && x.name === 'mlpipeline-minio-artifact');
    expect(upSecret?.keys).toEqual([store.credentials.type === 'secret' ? store.credentials.accessKeyKey : '', 'secretkey']);
  });

  test('no key values anywhere: no Secret objects, the keys are generated in the cluster', () => {
    expect(s.objects.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
    const text = JSON.stringify(s.objects.map((o) => o.manifest));
    for (const literal of ['minio123', '"minio"', 'kubeflow-admin', 's3.configure']) expect(text).not.toContain(literal);
    const generator = find(s.objects, 'Job', GENERATOR);
    expect(generator.manifest.metadata.annotations?.['kfkit.dev/provides']).toBe('Secret/kubeflow/mlpipeline-minio-artifact');
    expect(generator.waveName).toBe('credentials');
    const spec = JSON.parse((generator.manifest as Workload).spec.template.spec.containers[0].args?.[2] ?? '{}') as { keys: Record<string, unknown> };
    expect(spec.keys).toEqual({ accesskey: { randomBytes: 16 }, secretkey: { randomBytes: 32 } });
  });

  test('SeaweedFS gets the generated keys as its admin identity (AWS_* env), not through envFrom', () => {
    expect(container.envFrom).toBeUndefined();
    expect(container.env).toEqual([
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'mlpipeline-minio-artifact', key: 'accesskey' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'mlpipeline-minio-artifact', key: 'secretkey' } } },
    ]);
  });

  test('data on a protected PVC, a StatefulSet so two servers never share it', () => {
    const pvc = find(s.objects, 'PersistentVolumeClaim', 'seaweedfs-pvc').manifest as K8sObject & { spec: { resources: { requests: { storage: string } } } };
    expect(pvc.spec.resources.requests.storage).toBe('20Gi');
    expect(pvc.metadata.annotations?.['kfkit.dev/protected']).toBe('artifact store volume');
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.template.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'seaweedfs-pvc' } });
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    const custom = build({ storageSize: '50Gi', storageClass: 'fast', bucket: 'artifacts' });
    const pvc2 = find(custom.s.objects, 'PersistentVolumeClaim', 'seaweedfs-pvc').manifest as K8sObject & { spec: Record<string, unknown> };
    expect(pvc2.spec).toMatchObject({ storageClassName: 'fast', resources: { requests: { storage: '50Gi' } } });
    expect(custom.store.bucket).toBe('artifacts');
  });

  test('restricted security everywhere: non-root, read-only root, writable paths are volumes', () => {
    for (const o of s.objects.filter((x) => ['StatefulSet', 'Job'].includes(x.manifest.kind))) {
      const pod = (o.manifest as Workload).spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, readOnlyRootFilesystem: true, privileged: false,
        });
        expect(c.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String) as unknown, memory: expect.any(String) as unknown }));
        expect(c.resources?.limits?.memory).toBeDefined();
      }
    }
    // SeaweedFS runs as the image's seaweed user (the image defaults to root), owning the volume through fsGroup.
    expect(sts.spec.template.spec.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 });
    expect(sts.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    const job = workload(s.objects, 'Job', store.bucketJobName);
    expect(job.spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(job.spec.template.spec.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
  });

  test('probes on the S3 status endpoint', () => {
    const status = { httpGet: { path: '/status', port: 8333, scheme: 'HTTP' } };
    expect(container.startupProbe).toMatchObject(status);
    expect(container.readinessProbe).toMatchObject(status);
    expect(container.livenessProbe).toMatchObject(status);
  });

  test('the bucket Job: aws-cli from the catalog, S3 API with the generated keys, idempotent', () => {
    expect(store.bucketJobName).toMatch(/^seaweedfs-create-bucket-[0-9a-f]{8}$/);
    const job = workload(s.objects, 'Job', store.bucketJobName);
    // Only the Job's name carries the spec hash: its ServiceAccount and pod labels keep the stable name.
    expect(job.spec.template.spec.serviceAccountName).toBe('seaweedfs-create-bucket');
    expect(find(s.objects, 'ServiceAccount', 'seaweedfs-create-bucket')).toBeDefined();
    const c = job.spec.template.spec.containers[0];
    expect(c.image).toBe('docker.io/amazon/aws-cli:2.27.50');
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({
      BUCKET: 'mlpipeline',
      AWS_ENDPOINT_URL: 'http://seaweedfs.kubeflow:9000',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: { secretKeyRef: { name: 'mlpipeline-minio-artifact', key: 'accesskey' } },
      AWS_SECRET_ACCESS_KEY: { secretKeyRef: { name: 'mlpipeline-minio-artifact', key: 'secretkey' } },
    });
    const script = c.command?.[2] ?? '';
    expect(c.command?.slice(0, 2)).toEqual(['/bin/sh', '-ec']);
    expect(script).toMatch(/head-bucket/);
    expect(script).toMatch(/BucketAlreadyOwnedByYou/);
    expect(script).toMatch(/addressing_style = path/);
    expect(job.spec.template.spec.restartPolicy).toBe('OnFailure');
  });

  test('the bucket Job runs after the store is ready and kfkit apply waits for it', () => {
    const waveOf = (kind: string, name: string | RegExp) => find(s.objects, kind, name).wave;
    const wave = (name: string) => s.waves.find((w) => w.name === name);
    const bucketJob = store.bucketJobName;
    expect(find(s.objects, 'Job', bucketJob).waveName).toBe('storage-init');
    expect(find(s.objects, 'StatefulSet', 'seaweedfs').waveName).toBe('controllers');
    expect(waveOf('Job', GENERATOR)).toBeLessThan(waveOf('StatefulSet', 'seaweedfs'));
    expect(waveOf('StatefulSet', 'seaweedfs')).toBeLessThan(waveOf('Job', bucketJob));
    // The network path of the Job exists before it starts.
    expect(find(s.objects, 'NetworkPolicy', 'seaweedfs-from-seaweedfs-create-bucket').wave).toBeLessThan(waveOf('Job', bucketJob));
    expect(wave('storage-init')?.waits).toEqual([
      { kind: 'Job', namespace: 'kubeflow', name: bucketJob, readiness: { type: 'condition', condition: 'Complete' } },
    ]);
    const steps = applyPlan(s.waves, { dir: 'dist/local', timeoutSeconds: 600 }).map((st) => st.argv.join(' '));
    const rollout = steps.findIndex((x) => x.includes('rollout status -n kubeflow statefulset/seaweedfs'));
    const bucket = steps.findIndex((x) => x.endsWith(`--for=condition=Complete job/${bucketJob} --timeout=600s`));
    const credentials = steps.findIndex((x) => /--for=condition=Complete job\/mlpipeline-minio-artifact-generator-[0-9a-f]{8} /.test(x));
    expect(credentials).toBeGreaterThanOrEqual(0);
    expect(rollout).toBeGreaterThan(credentials);
    expect(bucket).toBeGreaterThan(rollout);
  });

  test('allowFrom opens client → pod port 8333 (the Service port 9000 maps to it); the IAM API separately', () => {
    const policy = (name: string) => find(s.objects, 'NetworkPolicy', name).manifest as NetworkPolicy;
    const seaweedfs = { 'app.kubernetes.io/component': 'artifact-store', 'app.kubernetes.io/name': 'seaweedfs' };
    expect(policy('seaweedfs-from-ml-pipeline').spec).toEqual({
      podSelector: { matchLabels: seaweedfs },
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: { matchLabels: CLIENT.podLabels } }], ports: [{ port: 8333, protocol: 'TCP' }] }],
    });
    expect(policy('ml-pipeline-to-seaweedfs').spec.egress).toEqual([{ to: [{ podSelector: { matchLabels: seaweedfs } }], ports: [{ port: 8333, protocol: 'TCP' }] }]);
    expect(policy('seaweedfs-create-bucket-to-seaweedfs').spec.egress).toEqual([{ to: [{ podSelector: { matchLabels: seaweedfs } }], ports: [{ port: 8333, protocol: 'TCP' }] }]);

    const app = new App();
    const chart = new Chart(app, 't', { disableResourceNameHashes: true });
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const other = new SeaweedfsArtifactStore(chart, 'Store', { namespace: 'kubeflow' });
    const controller = { peerName: 'kubeflow-pipelines-profile-controller', namespace: 'kubeflow', podLabels: { app: 'profile-controller' } };
    other.allowFrom(controller);
    other.allowIamFrom(controller);
    const objects = collect(chart).objects;
    const iam = objects.find((o) => o.manifest.metadata.name === 'seaweedfs-iam-from-kubeflow-pipelines-profile-controller')?.manifest as NetworkPolicy;
    expect(JSON.stringify(iam.spec.ingress)).toContain('"port":8111');
    expect(objects.some((o) => o.manifest.metadata.name === 'seaweedfs-from-kubeflow-pipelines-profile-controller')).toBe(true);
  });

  test('the validation harness finds nothing', () => {
    expect(validate(s)).toEqual([]);
  });

  test('with a registry mirror, images still validate and match upstream', () => {
    const mirrored = build({}, new ImageCatalog({ registryMirror: 'registry.corp.example/kf' })).s;
    expect(validate(mirrored)).toEqual([]);
    expect(workload(mirrored.objects, 'StatefulSet', 'seaweedfs').spec.template.spec.containers[0].image).toBe('registry.corp.example/kf/chrislusf/seaweedfs:4.34');
    expect(checkFidelity(mirrored.objects, facts, deviations, { mirror: 'registry.corp.example/kf' })).toEqual([]);
  });

  test('fidelity to upstream with the documented deviations; each deviation is needed', () => {
    expect(checkFidelity(s.objects, facts, deviations)).toEqual([]);
    const mine = deviations.filter((d) => d.workload === 'kubeflow/seaweedfs');
    expect(mine.map((d) => `${d.field}:${d.value ?? '*'}`).sort()).toEqual([
      'env:AWS_ACCESS_KEY_ID', 'env:AWS_SECRET_ACCESS_KEY', 'env:envFrom:secretRef/mlpipeline-minio-artifact', 'kind:*',
    ]);
    for (const d of mine) {
      const findings = checkFidelity(s.objects, facts, deviations.filter((x) => x !== d));
      expect(findings).toEqual([expect.objectContaining({ rule: 'fidelity', object: 'StatefulSet/kubeflow/seaweedfs' })]);
    }
    const withoutKind = deviations.filter((d) => !(d.workload === 'kubeflow/seaweedfs' && d.field === 'kind'));
    expect(checkFidelity(s.objects, facts, withoutKind)[0].message).toMatch(/kind: StatefulSet, upstream .* has Deployment/);
  });

  test('rejects a bucket name S3 clients cannot address', () => {
    expect(() => build({ bucket: 'My_Bucket' })).toThrow(/bucket "My_Bucket" must be an S3 bucket name/);
  });
});
