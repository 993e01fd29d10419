import { App, Chart } from 'cdk8s';
import { ExternalArtifactStore } from '../lib/components/external-artifact-store';
import { ExternalDatabase } from '../lib/components/external-database';
import { MysqlDatabase } from '../lib/components/mysql';
import { PipelinesApiServer, PipelinesApiServerProps } from '../lib/components/pipelines/api-server';
import { PipelineInstallConfig, PipelineInstallConfigProps } from '../lib/components/pipelines/install-config';
import { PersistenceAgent, PersistenceAgentProps } from '../lib/components/pipelines/persistence-agent';
import { ScheduledWorkflowController, ScheduledWorkflowControllerProps } from '../lib/components/pipelines/scheduled-workflow';
import { PipelinesPartProps } from '../lib/components/pipelines/shared';
import { PostgresDatabase } from '../lib/components/postgresql';
import { SeaweedfsArtifactStore } from '../lib/components/seaweedfs';
import { IArtifactStore } from '../lib/core/artifact-store';
import { KfkitContext } from '../lib/core/context';
import { IDatabase } from '../lib/core/database';
import { IMAGES, ImageKey } from '../lib/core/images';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { serviceAccountPermissions } from '../lib/validate/rbac';
import { K8sObject, PlacedObject } from '../lib/validate/types';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readinessProbe?: { httpGet?: { path: string; port: number } };
  livenessProbe?: { httpGet?: { path: string; port: number } };
  startupProbe?: { httpGet?: { path: string; port: number }; failureThreshold?: number };
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  securityContext?: Record<string, unknown>;
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; emptyDir?: unknown; configMap?: { name: string; optional?: boolean }; projected?: { sources: Record<string, unknown>[] } }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}
type Workload = K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; template: PodTemplate } };
type ConfigMap = K8sObject & { data: Record<string, string> };
type NetworkPolicy = K8sObject & {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    ingress?: { from: { podSelector: { matchLabels: Record<string, string> } }[]; ports: { port: number }[] }[];
    egress?: { to: { podSelector?: { matchLabels: Record<string, string> }; ipBlock?: unknown }[]; ports: { port: number }[] }[];
  };
};

const NS = 'kubeflow';
const WORKLOADS = ['ml-pipeline', 'ml-pipeline-persistenceagent', 'ml-pipeline-scheduledworkflow'] as const;
const IRSA = { type: 'irsa', roleArn: 'arn:aws:iam::123456789012:role/kubeflow-pipelines' } as const;

interface Built {
  readonly s: Synthesized;
  readonly database: IDatabase;
  readonly store: IArtifactStore;
  readonly config: PipelineInstallConfig;
  readonly apiServer: PipelinesApiServer;
}

/** The test chart of the brief, then the four parts. Nothing else is needed: the parts reference no object of another part. */
function build(options: {
  database?: (chart: Chart) => IDatabase;
  store?: (chart: Chart) => IArtifactStore;
  config?: Partial<PipelineInstallConfigProps>;
  api?: Partial<PipelinesApiServerProps>;
} = {}): Built {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  new PlatformNamespace(chart, 'Ns', { name: NS });
  const database = options.database?.(chart) ?? new MysqlDatabase(chart, 'Db', { namespace: NS });
  const store = options.store?.(chart) ?? new SeaweedfsArtifactStore(chart, 'Store', { namespace: NS });
  const base: PipelinesPartProps = { namespace: NS, database, store, mode: 'standalone' };
  const config = new PipelineInstallConfig(chart, 'InstallConfig', { ...base, ...options.config });
  const apiServer = new PipelinesApiServer(chart, 'ApiServer', { ...base, installConfig: config, ...options.api });
  new PersistenceAgent(chart, 'PersistenceAgent', { ...base, apiServer });
  new ScheduledWorkflowController(chart, 'ScheduledWorkflow', { ...base, apiServer, installConfig: config });
  return { s: collect(chart), database, store, config, apiServer };
}

const find = (objects: readonly PlacedObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not synthesized`);
  return found.manifest;
};
const deployment = (s: Synthesized, name: string): Workload => find(s.objects, 'Deployment', name) as Workload;
const configMap = (s: Synthesized, name: string): ConfigMap => find(s.objects, 'ConfigMap', name) as ConfigMap;
const policy = (s: Synthesized, name: string): NetworkPolicy => find(s.objects, 'NetworkPolicy', name) as NetworkPolicy;
const apiContainer = (s: Synthesized): Container => deployment(s, 'ml-pipeline').spec.template.spec.containers[0];
const envOf = (c: Container, name: string): EnvVar | undefined => c.env?.find((e) => e.name === name);
const allContainers = (s: Synthesized): Container[] => s.objects.flatMap((o) => {
  const spec = (o.manifest as { spec?: { template?: Partial<PodTemplate> } }).spec?.template?.spec;
  return spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
});
const image = (key: ImageKey): string => `${IMAGES[key].repository}:${IMAGES[key].tag}`;

describe('Kubeflow Pipelines backend core (MySQL, in-cluster SeaweedFS)', () => {
  const { s, database, store, config, apiServer } = build();
  const { facts, deviations } = upstreamFacts();
  const upstream = (name: string) => facts.workloads.find((w) => w.source === 'kfp' && w.namespace === NS && w.name === name);

  test('the harness finds nothing (references resolve, budgets, no secret values, restricted pods)', () => {
    expect(validate(s)).toEqual([]);
  });

  test('fidelity: names, images, ports, env names, command/args and RBAC match kfp 2.17.0 except the documented deviations', () => {
    expect(checkFidelity(s.objects, facts, deviations)).toEqual([]);
    for (const name of WORKLOADS) expect(s.objects.some((o) => o.manifest.kind === 'Deployment' && o.manifest.metadata.name === name)).toBe(true);
  });

  test('an undocumented difference is found: without the deviations the kfkit additions show', () => {
    const mine = new Set(['kubeflow/ml-pipeline', 'kubeflow/ml-pipeline-persistenceagent', 'kubeflow/ml-pipeline-scheduledworkflow']);
    const messages = checkFidelity(s.objects, facts, deviations.filter((d) => !mine.has(d.workload))).map((f) => f.message);
    expect(messages).toEqual(expect.arrayContaining([
      expect.stringMatching(/extra OBJECTSTORECONFIG_REGION/),
      expect.stringMatching(/extra DBCONFIG_MYSQLCONFIG_EXTRAPARAMS/),
      expect.stringMatching(/^args: init container wait-for-database/),
      expect.stringMatching(/^image: init container wait-for-database runs docker\.io\/library\/alpine:3\.23\.5, upstream kfp 2\.17\.0 has docker\.io\/alpine:3\.23$/),
    ]));
    // Per workload: its env additions, and each wait-for init container's script and patch-pinned image.
    expect(messages).toHaveLength(10);
  });

  test('RBAC: namespaced Roles with upstream\'s 31, 10 and 24 permissions; no cluster-wide grant', () => {
    const manifests = s.objects.map((o) => o.manifest);
    const counts = WORKLOADS.map((name) => {
      const sa = deployment(s, name).spec.template.spec.serviceAccountName;
      const granted = serviceAccountPermissions(manifests, { namespace: NS, name: sa });
      expect(granted).toEqual(upstream(name)?.rbac);
      return granted.length;
    });
    expect(counts).toEqual([31, 10, 24]);
    expect(manifests.filter((m) => m.kind === 'ClusterRole' || m.kind === 'ClusterRoleBinding')).toEqual([]);
    expect(['ml-pipeline', 'ml-pipeline-persistenceagent-role', 'ml-pipeline-scheduledworkflow-role'].map((n) => find(s.objects, 'Role', n).metadata.namespace))
      .toEqual([NS, NS, NS]);
  });

  test('Service ml-pipeline: upstream\'s ports, selecting the API server pods', () => {
    const svc = find(s.objects, 'Service', 'ml-pipeline') as K8sObject & { spec: { selector: Record<string, string>; ports: unknown[] } };
    const up = facts.services.find((x) => x.source === 'kfp' && x.name === 'ml-pipeline');
    const key = (p: { name?: string; port: number; targetPort?: number | string; protocol: string }) => `${p.name}:${p.port}->${String(p.targetPort)}/${p.protocol}`;
    expect((svc.spec.ports as Parameters<typeof key>[0][]).map(key).sort()).toEqual((up?.ports ?? []).map(key).sort());
    expect(svc.spec.selector).toEqual(deployment(s, 'ml-pipeline').spec.selector.matchLabels);
    expect(deployment(s, 'ml-pipeline').spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    expect([apiServer.serviceName, apiServer.httpPort, apiServer.grpcPort]).toEqual(['ml-pipeline', 8888, 8887]);
    expect(apiServer.http).toEqual({ serviceName: 'ml-pipeline', servicePort: 8888, peer: apiServer.peer, podPort: 8888 });
    expect(apiServer.grpc).toEqual({ serviceName: 'ml-pipeline', servicePort: 8887, peer: apiServer.peer, podPort: 8887 });
  });

  test('restricted pods: non-root (UID 1000 as upstream, the images default to root or a named user), no escalation, read-only root', () => {
    for (const name of WORKLOADS) {
      const pod = deployment(s, name).spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 0, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
        });
      }
      expect(deployment(s, name).spec.template.metadata.annotations).toEqual({ 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' });
    }
    expect(apiContainer(s).volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  test('requests and a memory limit on every container; upstream\'s requests where it sets them', () => {
    expect(allContainers(s).map((c) => c.name)).toEqual(expect.arrayContaining(['ml-pipeline-api-server', 'wait-for-metadata-grpc', 'ml-pipeline-scheduledworkflow']));
    for (const c of allContainers(s)) {
      expect(c.resources?.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
      expect(c.resources?.limits?.memory).toEqual(expect.any(String));
    }
    expect(apiContainer(s).resources?.requests).toEqual({ cpu: '250m', memory: '500Mi' });
    expect(deployment(s, 'ml-pipeline-persistenceagent').spec.template.spec.containers[0].resources?.requests).toEqual({ cpu: '120m', memory: '500Mi' });
    expect(deployment(s, 'ml-pipeline').spec.template.spec.initContainers?.[0].resources).toEqual({ requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '100m', memory: '64Mi' } });
  });

  test('ServiceAccount tokens: all three call the Kubernetes API; the agent and the controller also get the pipelines.kubeflow.org token', () => {
    for (const name of WORKLOADS) {
      expect(deployment(s, name).spec.template.spec.automountServiceAccountToken).toBe(true);
      expect((find(s.objects, 'ServiceAccount', name) as K8sObject & { automountServiceAccountToken?: boolean }).automountServiceAccountToken).toBe(false);
      expect(policy(s, `${name}-to-kube-apiserver`).spec.egress?.[0].ports.map((p) => p.port)).toEqual([443, 6443]);
    }
    for (const [name, token] of [['ml-pipeline-persistenceagent', 'persistenceagent-sa-token'], ['ml-pipeline-scheduledworkflow', 'scheduledworkflow-sa-token']]) {
      const pod = deployment(s, name).spec.template.spec;
      expect(pod.volumes).toContainEqual({
        name: token, projected: { sources: [{ serviceAccountToken: { path: token, expirationSeconds: 3600, audience: 'pipelines.kubeflow.org' } }] },
      });
      expect(pod.containers[0].volumeMounts).toEqual([{ name: token, mountPath: '/var/run/secrets/kubeflow/tokens' }]);
    }
  });

  test('probes as upstream: the API server\'s healthz, none on the agent and the controller', () => {
    const c = apiContainer(s);
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) expect(probe?.httpGet).toEqual({ path: '/apis/v1beta1/healthz', port: 8888 });
    expect(c.startupProbe?.failureThreshold).toBe(12);
    for (const name of WORKLOADS.slice(1)) {
      const agent = deployment(s, name).spec.template.spec.containers[0];
      expect([agent.readinessProbe, agent.livenessProbe, agent.startupProbe]).toEqual([undefined, undefined, undefined]);
    }
  });

  test('no secret values: credentials only from the database and store Secrets', () => {
    expect(s.objects.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
    const c = apiContainer(s);
    const secretRefs = (c.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => `${e.name}=${e.valueFrom?.secretKeyRef?.name}/${e.valueFrom?.secretKeyRef?.key}`);
    expect(secretRefs.sort()).toEqual([
      'DBCONFIG_MYSQLCONFIG_PASSWORD=metadata-db-pipelines/password', 'DBCONFIG_MYSQLCONFIG_USER=metadata-db-pipelines/username',
      'DBCONFIG_PASSWORD=metadata-db-pipelines/password', 'DBCONFIG_USER=metadata-db-pipelines/username',
      'OBJECTSTORECONFIG_ACCESSKEY=mlpipeline-minio-artifact/accesskey', 'OBJECTSTORECONFIG_SECRETACCESSKEY=mlpipeline-minio-artifact/secretkey',
    ]);
    // The API server connects as its own user, never as root.
    expect(database.credentialsFor('pipelines').secretName).toBe('metadata-db-pipelines');
    expect(database.adminCredentials?.secretName).toBe('mysql-secret');
    const text = JSON.stringify(s.objects.map((o) => o.manifest));
    for (const literal of ['minio123', '"minio"']) expect(text).not.toContain(literal);
  });

  test('wiring through the references: store address, region and TLS; database address via pipeline-install-config', () => {
    const c = apiContainer(s);
    const values = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    expect(values).toMatchObject({
      OBJECTSTORECONFIG_HOST: 'seaweedfs.kubeflow', OBJECTSTORECONFIG_PORT: '9000', OBJECTSTORECONFIG_SECURE: 'false', OBJECTSTORECONFIG_REGION: 'us-east-1',
      DBCONFIG_MYSQLCONFIG_EXTRAPARAMS: '{"tls":"false"}', CLUSTER_DOMAIN: 'cluster.local', PUBLISH_LOGS: 'true', COMPILED_PIPELINE_SPEC_PATCH: '{}',
      V2_DRIVER_IMAGE: image('kfp-driver'), V2_LAUNCHER_IMAGE: image('kfp-launcher'),
    });
    expect(store.endpoint).toBe('seaweedfs.kubeflow:9000');
    expect(envOf(c, 'DBCONFIG_MYSQLCONFIG_HOST')?.valueFrom?.configMapKeyRef).toEqual({ name: 'pipeline-install-config', key: 'mysqlHost' });
    expect(envOf(c, 'DB_DRIVER_NAME')?.valueFrom?.configMapKeyRef).toEqual({ name: 'pipeline-install-config', key: 'dbType' });
    expect(envOf(c, 'DBDRIVERNAME')).toBeUndefined();
    expect(s.runtimeImages).toEqual([image('busybox'), image('kfp-driver'), image('kfp-launcher')]);
    expect(c.image).toBe(image('kfp-api-server'));
    const init = deployment(s, 'ml-pipeline').spec.template.spec.initContainers ?? [];
    expect(init.map((i) => [i.name, i.image, i.command])).toEqual([
      ['wait-for-database', image('alpine'), ['/bin/sh', '-ec']], ['wait-for-metadata-grpc', image('alpine'), ['/bin/sh', '-ec']],
    ]);
    expect(init[0].env).toEqual([
      { name: 'WAIT_HOST', valueFrom: { configMapKeyRef: { name: 'pipeline-install-config', key: 'mysqlHost' } } },
      { name: 'WAIT_PORT', valueFrom: { configMapKeyRef: { name: 'pipeline-install-config', key: 'mysqlPort' } } },
    ]);
    expect(init[1].env).toEqual([{ name: 'WAIT_HOST', value: 'metadata-grpc-service' }, { name: 'WAIT_PORT', value: '8080' }]);
    for (const name of WORKLOADS.slice(1)) {
      expect(deployment(s, name).spec.template.spec.initContainers?.[0].env).toEqual([{ name: 'WAIT_HOST', value: 'ml-pipeline' }, { name: 'WAIT_PORT', value: '8888' }]);
    }
    expect(envOf(deployment(s, 'ml-pipeline-scheduledworkflow').spec.template.spec.containers[0], 'CRON_SCHEDULE_TIMEZONE')?.valueFrom?.configMapKeyRef)
      .toEqual({ name: 'pipeline-install-config', key: 'cronScheduleTimezone' });
  });

  test('pipeline-install-config: exactly upstream\'s keys; values from the database and the store, upstream defaults for the rest', () => {
    const cm = configMap(s, 'pipeline-install-config');
    const up = facts.configMaps.find((x) => x.source === 'kfp' && x.name === 'pipeline-install-config');
    expect(Object.keys(cm.data).sort()).toEqual(up?.keys);
    expect(cm.data).toMatchObject({
      appName: 'pipeline', appVersion: '2.17.0', dbType: 'mysql', mysqlHost: 'mysql.kubeflow.svc.cluster.local', mysqlPort: '3306',
      pipelineDb: 'mlpipeline', mlmdDb: 'metadb', cacheDb: 'cachedb', bucketName: 'mlpipeline', defaultPipelineRoot: 'minio://mlpipeline/v2/artifacts',
      cronScheduleTimezone: 'UTC', ConMaxLifeTime: '120s', ARTIFACTS_PROXY_ENABLED: 'false', ARTIFACT_RETENTION_DAYS: '-1', BLOCK_V1_PIPELINES: 'false',
      USERID_HEADER: 'kubeflow-userid', cacheImage: 'docker.io/library/busybox:1.37.0', defaultSecurityContextRunAsUser: '',
    });
    expect(cm.data.mysqlHost).toBe(database.host);
    expect([config.databaseHostKey, config.databasePortKey, config.dbType]).toEqual(['mysqlHost', 'mysqlPort', 'mysql']);
  });

  test('kfp-launcher: the default pipeline root and the store access of the v2 driver and launcher; metadata-grpc-configmap', () => {
    const launcher = configMap(s, 'kfp-launcher');
    const up = facts.configMaps.find((x) => x.source === 'kfp' && x.name === 'kfp-launcher');
    expect(up?.keys).toEqual(['defaultPipelineRoot']);
    expect(Object.keys(launcher.data).sort()).toEqual(['defaultPipelineRoot', 'providers']);
    expect(launcher.data.defaultPipelineRoot).toBe('minio://mlpipeline/v2/artifacts');
    expect(JSON.parse(launcher.data.providers)).toEqual({
      minio: {
        default: {
          endpoint: 'seaweedfs.kubeflow:9000', region: 'us-east-1', disableSSL: true, forcePathStyle: true,
          credentials: { fromEnv: false, secretRef: { secretName: 'mlpipeline-minio-artifact', accessKeyKey: 'accesskey', secretKeyKey: 'secretkey' } },
        },
      },
    });
    const grpc = configMap(s, 'metadata-grpc-configmap');
    expect(Object.keys(grpc.data).sort()).toEqual(facts.configMaps.find((x) => x.source === 'kfp' && x.name === 'metadata-grpc-configmap')?.keys);
    expect(grpc.data).toEqual({ METADATA_GRPC_SERVICE_HOST: 'metadata-grpc-service', METADATA_GRPC_SERVICE_PORT: '8080' });
  });

  test('network: every connection the parts open, on pod ports, both sides', () => {
    const labels = (name: string) => ({ 'app.kubernetes.io/component': 'pipelines', 'app.kubernetes.io/name': name });
    const egress = (name: string) => policy(s, name).spec.egress?.[0];
    const ingress = (name: string) => policy(s, name).spec.ingress?.[0];
    expect(egress('ml-pipeline-to-mysql')?.ports.map((p) => p.port)).toEqual([3306]);
    expect(ingress('mysql-from-ml-pipeline')?.from[0].podSelector.matchLabels).toEqual(labels('ml-pipeline'));
    expect(egress('ml-pipeline-to-seaweedfs')?.ports.map((p) => p.port)).toEqual([8333]);
    expect(egress('ml-pipeline-to-metadata-grpc-deployment')?.ports.map((p) => p.port)).toEqual([8080]);
    expect(egress('ml-pipeline-to-metadata-grpc-deployment')?.to[0].podSelector?.matchLabels).toEqual(labels('metadata-grpc-deployment'));
    expect(policy(s, 'metadata-grpc-deployment-from-ml-pipeline').spec.podSelector.matchLabels).toEqual(labels('metadata-grpc-deployment'));
    expect(egress('ml-pipeline-to-ml-pipeline-visualizationserver')?.ports.map((p) => p.port)).toEqual([8888]);
    for (const client of WORKLOADS.slice(1)) {
      expect(egress(`${client}-to-ml-pipeline`)?.ports.map((p) => p.port)).toEqual([8888, 8887]);
      expect(ingress(`ml-pipeline-from-${client}`)?.from[0].podSelector.matchLabels).toEqual(labels(client));
      expect(policy(s, `ml-pipeline-from-${client}`).spec.podSelector.matchLabels).toEqual(labels('ml-pipeline'));
      expect(s.objects.some((o) => o.manifest.metadata.name === `${client}-to-seaweedfs` || o.manifest.metadata.name === `${client}-to-mysql`)).toBe(false);
    }
  });
});

describe('variants', () => {
  const { facts, deviations } = upstreamFacts();

  test('S3 with IRSA: the role on ml-pipeline\'s ServiceAccount, no key from any Secret, no AWS key variables; the keys stated empty', () => {
    const { s } = build({
      store: (chart) => new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'], namespace: NS, provider: 's3', region: 'eu-west-1', bucket: 'kf-artifacts', credentials: IRSA }),
    });
    expect(validate(s)).toEqual([]);
    expect(checkFidelity(s.objects, facts, deviations)).toEqual([]);
    const roleOf = (sa: string) => find(s.objects, 'ServiceAccount', sa).metadata.annotations?.['eks.amazonaws.com/role-arn'];
    expect(WORKLOADS.map(roleOf)).toEqual([IRSA.roleArn, undefined, undefined]);
    for (const c of allContainers(s)) {
      expect((c.env ?? []).filter((e) => e.name.startsWith('AWS_') || e.valueFrom?.secretKeyRef?.name === 'mlpipeline-minio-artifact')).toEqual([]);
    }
    // The image's config.json holds minio/minio123 for these two: they must be present and empty (both empty = the AWS credential chain).
    const c = apiContainer(s);
    const empty = configMap(s, 'ml-pipeline-empty-object-store-keys');
    expect(empty.data).toEqual({ accesskey: '', secretkey: '' });
    expect(envOf(c, 'OBJECTSTORECONFIG_ACCESSKEY')).toEqual({ name: 'OBJECTSTORECONFIG_ACCESSKEY', valueFrom: { configMapKeyRef: { name: empty.metadata.name, key: 'accesskey' } } });
    expect(envOf(c, 'OBJECTSTORECONFIG_SECRETACCESSKEY')?.valueFrom?.configMapKeyRef).toEqual({ name: empty.metadata.name, key: 'secretkey' });
    const values = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    expect(values).toMatchObject({ OBJECTSTORECONFIG_HOST: 's3.eu-west-1.amazonaws.com', OBJECTSTORECONFIG_PORT: '443', OBJECTSTORECONFIG_SECURE: 'true', OBJECTSTORECONFIG_REGION: 'eu-west-1' });
    expect(configMap(s, 'pipeline-install-config').data).toMatchObject({ bucketName: 'kf-artifacts', defaultPipelineRoot: 's3://kf-artifacts/v2/artifacts' });
    const launcher = configMap(s, 'kfp-launcher');
    expect(launcher.data.defaultPipelineRoot).toBe('s3://kf-artifacts/v2/artifacts');
    expect(JSON.parse(launcher.data.providers)).toEqual({
      s3: { default: { endpoint: 's3.eu-west-1.amazonaws.com', region: 'eu-west-1', disableSSL: false, forcePathStyle: false, credentials: { fromEnv: true } } },
    });
    expect(policy(s, 'ml-pipeline-to-artifact-store').spec.egress?.[0].ports.map((p) => p.port)).toEqual([443]);
  });

  test('external MySQL with TLS and an external S3-compatible store with its own Secret: TLS parameter, addresses, Secrets', () => {
    const { s } = build({
      database: (chart) => new ExternalDatabase(chart, 'Db', {
        cidrs: ['198.51.100.0/24'],
        namespace: NS, engine: 'mysql', host: 'db.example.internal', port: 3307,
        credentials: { secretName: 'kfp-db', usernameKey: 'user', passwordKey: 'pass' }, tls: { mode: 'verify-full' },
      }),
      store: (chart) => new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'],
        namespace: NS, provider: 's3-compatible', endpoint: 'minio.storage.example:9443', region: 'us-east-1', bucket: 'kfp',
        credentials: { type: 'secret', secretName: 'kfp-store', accessKeyKey: 'id', secretKeyKey: 'key' },
      }),
    });
    expect(validate(s)).toEqual([]);
    expect(checkFidelity(s.objects, facts, deviations)).toEqual([]);
    const c = apiContainer(s);
    expect(envOf(c, 'DBCONFIG_MYSQLCONFIG_EXTRAPARAMS')?.value).toBe('{"tls":"true"}');
    expect(envOf(c, 'DBCONFIG_MYSQLCONFIG_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'kfp-db', key: 'pass' });
    expect(envOf(c, 'OBJECTSTORECONFIG_SECRETACCESSKEY')?.valueFrom?.secretKeyRef).toEqual({ name: 'kfp-store', key: 'key' });
    expect([envOf(c, 'OBJECTSTORECONFIG_HOST')?.value, envOf(c, 'OBJECTSTORECONFIG_PORT')?.value]).toEqual(['minio.storage.example', '9443']);
    expect(configMap(s, 'pipeline-install-config').data).toMatchObject({ mysqlHost: 'db.example.internal', mysqlPort: '3307' });
    expect(JSON.parse(configMap(s, 'kfp-launcher').data.providers)).toEqual({
      s3: {
        default: {
          endpoint: 'minio.storage.example:9443', region: 'us-east-1', disableSSL: false, forcePathStyle: true,
          credentials: { fromEnv: false, secretRef: { secretName: 'kfp-store', accessKeyKey: 'id', secretKeyKey: 'key' } },
        },
      },
    });
    expect(policy(s, 'ml-pipeline-to-external-database').spec.egress?.[0].ports.map((p) => p.port)).toEqual([3307]);
    const required = build({
      database: (chart) => new ExternalDatabase(chart, 'Db', {
        cidrs: ['198.51.100.0/24'],
        namespace: NS, engine: 'mysql', host: 'db.example.internal', credentials: { secretName: 'kfp-db', usernameKey: 'u', passwordKey: 'p' }, tls: { mode: 'required' },
      }),
    });
    expect(envOf(apiContainer(required.s), 'DBCONFIG_MYSQLCONFIG_EXTRAPARAMS')?.value).toBe('{"tls":"skip-verify"}');
  });

  test('PostgreSQL: the pgx driver through DBDRIVERNAME, upstream\'s PostgreSQL variables, keys and Secret, the database address', () => {
    const { s, database } = build({ database: (chart) => new PostgresDatabase(chart, 'Db', { namespace: NS }) });
    expect(validate(s)).toEqual([]);
    const cm = configMap(s, 'pipeline-install-config');
    const up = facts.configMaps.find((x) => x.source === 'kfp-postgresql' && x.name === 'pipeline-install-config');
    // Upstream's PostgreSQL config lacks ARTIFACT_RETENTION_DAYS (the multi-user profile controller reads it); kfkit keeps it.
    expect(Object.keys(cm.data).sort()).toEqual([...(up?.keys ?? []), 'ARTIFACT_RETENTION_DAYS'].sort());
    expect(cm.data).toMatchObject({ dbType: 'pgx', postgresHost: 'postgres-service.kubeflow.svc.cluster.local', postgresPort: '5432' });
    expect(cm.data.postgresHost).toBe(database.host);
    expect(cm.data.mysqlHost).toBeUndefined();
    const c = apiContainer(s);
    expect(envOf(c, 'DBDRIVERNAME')?.valueFrom?.configMapKeyRef).toEqual({ name: 'pipeline-install-config', key: 'dbType' });
    expect(envOf(c, 'DBCONFIG_POSTGRESQLCONFIG_HOST')?.valueFrom?.configMapKeyRef).toEqual({ name: 'pipeline-install-config', key: 'postgresHost' });
    expect(envOf(c, 'DBCONFIG_POSTGRESQLCONFIG_PORT')?.valueFrom?.configMapKeyRef).toEqual({ name: 'pipeline-install-config', key: 'postgresPort' });
    expect(envOf(c, 'DBCONFIG_POSTGRESQLCONFIG_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'metadata-db-pipelines', key: 'password' });
    expect((c.env ?? []).filter((e) => e.name.startsWith('DBCONFIG_MYSQLCONFIG') || ['DBCONFIG_USER', 'DBCONFIG_HOST'].includes(e.name))).toEqual([]);
    expect(deployment(s, 'ml-pipeline').spec.template.spec.initContainers?.[0].env?.map((e) => e.valueFrom?.configMapKeyRef?.key)).toEqual(['postgresHost', 'postgresPort']);
    expect(policy(s, 'ml-pipeline-to-postgres').spec.egress?.[0].ports.map((p) => p.port)).toEqual([5432]);
    // Compared with kfp-postgresql: faithful with the committed deviations (source-limited entries apply per variant).
    expect(checkFidelity(s.objects, facts, deviations)).toEqual([]);
    const withoutPostgresOnes = deviations.filter((d) => d.source !== 'kfp-postgresql' || d.workload !== 'kubeflow/ml-pipeline');
    const open = checkFidelity(s.objects, facts, withoutPostgresOnes).map((f) => f.message);
    expect(open.length).toBeGreaterThan(0);
    expect(open.every((m) => m.includes('upstream kfp-postgresql 2.17.0'))).toBe(true);
  });

  test('install-config options reach the ConfigMap', () => {
    const { s } = build({
      config: {
        defaultPipelineRoot: 's3://other-bucket/runs', cronScheduleTimezone: 'Europe/Berlin', defaultCacheStaleness: 'P7D', maximumCacheStaleness: 'P30D',
        connectionMaxLifetime: '5m', blockV1Pipelines: true, v1AllowedNamespaces: ['legacy', 'team-a'], workloadSecurity: { runAsNonRoot: true, runAsUser: 1000 },
      },
    });
    expect(validate(s)).toEqual([]);
    expect(configMap(s, 'pipeline-install-config').data).toMatchObject({
      defaultPipelineRoot: 's3://other-bucket/runs', cronScheduleTimezone: 'Europe/Berlin', DEFAULT_CACHE_STALENESS: 'P7D', MAXIMUM_CACHE_STALENESS: 'P30D',
      ConMaxLifeTime: '5m', BLOCK_V1_PIPELINES: 'true', V1_ALLOWED_NAMESPACES: 'legacy,team-a', defaultSecurityContextRunAsNonRoot: 'true',
      defaultSecurityContextRunAsUser: '1000', defaultSecurityContextRunAsGroup: '', defaultSecurityContextHostUsers: '',
    });
    expect(configMap(s, 'kfp-launcher').data.defaultPipelineRoot).toBe('s3://other-bucket/runs');
  });
});

describe('guards', () => {
  /** The props of the parts over a MySQL + SeaweedFS tree, for constructing one part directly. */
  function parts(store?: (chart: Chart) => IArtifactStore, database?: (chart: Chart) => IDatabase) {
    const app = new App();
    const chart = new Chart(app, 't', { disableResourceNameHashes: true });
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const base: PipelinesPartProps = {
      namespace: NS,
      database: database?.(chart) ?? new MysqlDatabase(chart, 'Db', { namespace: NS }),
      store: store?.(chart) ?? new SeaweedfsArtifactStore(chart, 'Store', { namespace: NS }),
      mode: 'standalone',
    };
    const config = new PipelineInstallConfig(chart, 'InstallConfig', base);
    return { chart, base, config };
  }

  test.each([
    [{ cronScheduleTimezone: 'Mars/Olympus' }, /cronScheduleTimezone "Mars\/Olympus" is not a time zone/],
    [{ defaultCacheStaleness: '7 days' }, /defaultCacheStaleness "7 days" must be an ISO 8601 duration/],
    [{ maximumCacheStaleness: 'P' }, /maximumCacheStaleness "P" must be an ISO 8601 duration/],
    [{ connectionMaxLifetime: '120' }, /connectionMaxLifetime "120" must be a Go duration/],
    [{ defaultPipelineRoot: 'https://bucket/v2' }, /defaultPipelineRoot "https:\/\/bucket\/v2" must be a minio:\/\/, s3:\/\/ or gs:\/\/ URL/],
    [{ artifactRetentionDays: 1.5 }, /artifactRetentionDays 1.5 must be a whole number/],
  ] as [Partial<PipelineInstallConfigProps>, RegExp][])('PipelineInstallConfig rejects %j', (props, message) => {
    const { chart, base } = parts();
    expect(() => new PipelineInstallConfig(chart, 'Bad', { ...base, ...props })).toThrow(message);
  });

  test('PipelineInstallConfig accepts UTC, Local and IANA zones', () => {
    const { chart, base } = parts();
    for (const [i, zone] of ['UTC', 'Local', 'America/New_York'].entries()) {
      expect(() => new PipelineInstallConfig(chart, `Zone${i}`, { ...base, cronScheduleTimezone: zone })).not.toThrow();
    }
  });

  test('PipelinesApiServer: the install config must be made for the same database engine', () => {
    const { chart, base, config } = parts();
    const postgres = new PostgresDatabase(chart, 'Pg', { namespace: NS });
    expect(() => new PipelinesApiServer(chart, 'Api', { ...base, database: postgres, installConfig: config })).toThrow(/installConfig was made for database driver mysql, but the database is postgresql/);
  });

  test.each([
    ['mysql', { mode: 'verify-ca' }, /cannot connect to mysql with TLS mode verify-ca/],
    ['postgresql', { mode: 'required' }, /cannot connect to postgresql with TLS mode required/],
    ['mysql', { mode: 'verify-full', caSecret: { name: 'db-ca', key: 'ca.crt' } }, /cannot load a custom CA for mysql/],
  ] as const)('PipelinesApiServer refuses %s with TLS %j', (engine, tls, message) => {
    const { chart, base } = parts(undefined, (c) => new ExternalDatabase(c, 'Db', {
      cidrs: ['198.51.100.0/24'],
      namespace: NS, engine, host: 'db.example.internal', credentials: { secretName: 'db', usernameKey: 'u', passwordKey: 'p' }, tls,
    }));
    const config = new PipelineInstallConfig(chart, 'Config2', base);
    expect(() => new PipelinesApiServer(chart, 'Api', { ...base, installConfig: config })).toThrow(message);
  });

  test('PipelinesApiServer refuses GKE Workload Identity (the 2.17.0 server reaches the store through the S3 API only)', () => {
    const { chart, base, config } = parts((c) => new ExternalArtifactStore(c, 'Store', { cidrs: ['10.10.0.0/16'],
      namespace: NS, provider: 'gcs', bucket: 'kfp-artifacts', credentials: { type: 'workload-identity', gcpServiceAccount: 'kfp@proj.iam.gserviceaccount.com' },
    }));
    expect(configMap(collect(chart), 'kfp-launcher').data.defaultPipelineRoot).toBe('gs://kfp-artifacts/v2/artifacts');
    expect(() => new PipelinesApiServer(chart, 'Api', { ...base, installConfig: config })).toThrow(/cannot use GKE Workload Identity/);
  });

  test('PersistenceAgent and ScheduledWorkflowController: same namespace as the API server, sane numbers', () => {
    const { chart, base, config } = parts();
    const apiServer = new PipelinesApiServer(chart, 'Api', { ...base, installConfig: config });
    const agent = (props: Partial<PersistenceAgentProps>) => () => new PersistenceAgent(chart, `A${Math.random()}`, { ...base, apiServer, ...props });
    const swf = (props: Partial<ScheduledWorkflowControllerProps>) => () => new ScheduledWorkflowController(chart, `S${Math.random()}`, {
      ...base, apiServer, installConfig: config, ...props,
    });
    expect(agent({ namespace: 'other' })).toThrow(/PersistenceAgent: the API server runs in kubeflow/);
    expect(agent({ workers: 0 })).toThrow(/workers 0 must be a positive whole number/);
    expect(agent({ ttlSecondsAfterWorkflowFinish: 1.5 })).toThrow(/ttlSecondsAfterWorkflowFinish 1.5 must be a positive whole number/);
    expect(swf({ namespace: 'other' })).toThrow(/ScheduledWorkflowController: the API server runs in kubeflow/);
    expect(swf({ clientQps: 0 })).toThrow(/clientQps 0 must be a positive number/);
    expect(swf({ resyncIntervalSeconds: -30 })).toThrow(/resyncIntervalSeconds -30 must be a positive number/);
  });
});
