import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { parse } from 'yaml';
import { ExternalArtifactStore } from '../lib/components/external-artifact-store';
import { ExternalDatabase } from '../lib/components/external-database';
import { MysqlDatabase } from '../lib/components/mysql';
import { PipelinesCache } from '../lib/components/pipelines/cache';
import { PipelineInstallConfig } from '../lib/components/pipelines/install-config';
import { MetadataService } from '../lib/components/pipelines/metadata';
import { PipelinesPartProps } from '../lib/components/pipelines/shared';
import { PipelinesUi } from '../lib/components/pipelines/ui';
import { ViewerController } from '../lib/components/pipelines/viewer';
import { VisualizationServer } from '../lib/components/pipelines/visualization';
import { PostgresDatabase } from '../lib/components/postgresql';
import { SeaweedfsArtifactStore } from '../lib/components/seaweedfs';
import { IArtifactStore } from '../lib/core/artifact-store';
import { KfkitContext } from '../lib/core/context';
import { IDatabase } from '../lib/core/database';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkStaticCloudKeys } from '../lib/validate/cloud-identity';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { isCredentialName } from '../lib/validate/secrets';
import { K8sObject, PlacedObject, PROVIDES_ANNOTATION } from '../lib/validate/types';

type EnvVar = { name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> };
type Container = {
  name: string; image: string; args?: string[]; command?: string[]; env?: EnvVar[]; envFrom?: Record<string, { name: string }>[];
  ports?: { containerPort: number; name?: string }[]; securityContext: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[]; startupProbe?: { exec: { command: string[] } };
  readinessProbe?: unknown; livenessProbe?: unknown;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
};
type PodSpec = {
  serviceAccountName: string; automountServiceAccountToken: boolean; securityContext: Record<string, unknown>;
  containers: Container[]; initContainers?: Container[]; volumes?: Record<string, Record<string, unknown> | string>[];
};
type Workload = K8sObject & { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec }; strategy?: { type: string } } };
type Policy = K8sObject & { spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[]; ingress?: unknown[]; egress?: unknown[] } };

const NS = 'kubeflow';

/** Upstream Deployments these parts install. */
const WORKLOADS = [
  'metadata-grpc-deployment', 'metadata-envoy-deployment', 'metadata-writer', 'ml-pipeline-ui', 'ml-pipeline-visualizationserver',
  'ml-pipeline-viewer-crd', 'cache-server', 'cache-deployer-deployment',
];

type DatabaseVariant = 'mysql' | 'postgresql' | 'external-mysql-tls' | 'external-mysql-verify-ca';
type StoreVariant = 'seaweedfs' | 's3-irsa' | 's3-secret';
const ROLE = 'arn:aws:iam::123456789012:role/kfp';

function database(chart: Chart, variant: DatabaseVariant): IDatabase {
  switch (variant) {
    case 'mysql': return new MysqlDatabase(chart, 'Db', { namespace: NS });
    case 'postgresql': return new PostgresDatabase(chart, 'Db', { namespace: NS });
    case 'external-mysql-tls':
      return new ExternalDatabase(chart, 'Db', {
        cidrs: ['198.51.100.0/24'],
        namespace: NS, engine: 'mysql', host: 'kfp.abc.eu-west-1.rds.amazonaws.com',
        credentials: { secretName: 'rds', usernameKey: 'user', passwordKey: 'pass' }, tls: { mode: 'required' },
      });
    case 'external-mysql-verify-ca':
      return new ExternalDatabase(chart, 'Db', {
        cidrs: ['198.51.100.0/24'],
        namespace: NS, engine: 'mysql', host: 'db.example.com', credentials: { secretName: 'db', usernameKey: 'username', passwordKey: 'password' },
        tls: { mode: 'verify-ca', caSecret: { name: 'db-ca', key: 'ca.pem' } },
      });
  }
}

function store(chart: Chart, variant: StoreVariant): IArtifactStore {
  switch (variant) {
    case 'seaweedfs': return new SeaweedfsArtifactStore(chart, 'Store', { namespace: NS });
    case 's3-irsa':
      return new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'],
        namespace: NS, provider: 's3', region: 'eu-west-1', bucket: 'kf-artifacts', credentials: { type: 'irsa', roleArn: ROLE },
      });
    case 's3-secret':
      return new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'],
        namespace: NS, provider: 's3', region: 'eu-west-1', bucket: 'kf-artifacts',
        credentials: { type: 'secret', secretName: 's3-keys', accessKeyKey: 'id', secretKeyKey: 'key' },
      });
  }
}

interface Built {
  readonly s: Synthesized;
  readonly metadata: MetadataService;
  readonly ui: PipelinesUi;
  readonly cache?: PipelinesCache;
}

/**
 * The five parts in one chart, with the platform namespace, the data layer of the variant and PipelineInstallConfig
 * (the other engineer's part, constructed for real: it writes pipeline-install-config and metadata-grpc-configmap,
 * which these parts reference). The API server (ml-pipeline) is not built: only network policies name its pods.
 * The cache is left out with PostgreSQL, as the platform does.
 */
function build(db: DatabaseVariant = 'mysql', st: StoreVariant = 'seaweedfs', certManager = false): Built {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  new PlatformNamespace(chart, 'Ns', { name: NS });
  const props: PipelinesPartProps = { namespace: NS, database: database(chart, db), store: store(chart, st), mode: 'standalone' };
  new PipelineInstallConfig(chart, 'InstallConfig', props);
  const metadata = new MetadataService(chart, 'Metadata', props);
  const ui = new PipelinesUi(chart, 'Ui', { ...props, metadataEnvoy: metadata.envoy });
  new VisualizationServer(chart, 'Visualization', props);
  new ViewerController(chart, 'Viewer', props);
  const cache = props.database.engine === 'mysql' && db !== 'external-mysql-verify-ca' ? new PipelinesCache(chart, 'Cache', { ...props, certManager: certManager ? {} : undefined }) : undefined;
  return { s: collect(chart), metadata, ui, cache };
}

const find = (s: Synthesized, kind: string, name: string): PlacedObject => {
  const found = s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const workload = (s: Synthesized, name: string): Workload => find(s, 'Deployment', name).manifest as Workload;
const container = (s: Synthesized, name: string, c?: string): Container => {
  const spec = workload(s, name).spec.template.spec;
  return [...spec.containers, ...(spec.initContainers ?? [])].find((x) => c === undefined || x.name === c) as Container;
};
const env = (c: Container): Record<string, EnvVar> => Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));
const policies = (s: Synthesized): Map<string, Policy> => new Map(
  s.objects.filter((o) => o.manifest.kind === 'NetworkPolicy').map((o) => [o.manifest.metadata.name, o.manifest as Policy]),
);

const { facts, deviations } = upstreamFacts();
const mine = deviations.filter((d) => WORKLOADS.some((w) => d.workload === `${NS}/${w}`));

describe('Pipelines services (ML Metadata, UI, visualization, viewer controller, cache): default data layer', () => {
  const { s, metadata } = build();

  test('the validation harness finds nothing', () => {
    expect(validate(s)).toEqual([]);
  });

  test('every upstream workload of these parts is installed, with upstream names, ServiceAccounts and images', () => {
    for (const name of WORKLOADS) {
      const up = facts.workloads.find((w) => w.source === 'kfp' && w.namespace === NS && w.name === name);
      const mineWorkload = workload(s, name);
      expect(mineWorkload.spec.template.spec.serviceAccountName).toBe(up?.serviceAccount);
      expect(mineWorkload.spec.template.spec.containers.map((c) => [c.name, c.image])).toEqual(up?.containers.map((c) => [c.name, c.image]));
    }
  });

  test('upstream Services: names, ports, and selectors that pick the workloads pods', () => {
    const services: [string, string, { name?: string; port: number; targetPort?: number | string }][] = [
      ['metadata-grpc-service', 'metadata-grpc-deployment', { name: 'grpc-api', port: 8080 }],
      ['metadata-envoy-service', 'metadata-envoy-deployment', { name: 'md-envoy', port: 9090 }],
      ['ml-pipeline-ui', 'ml-pipeline-ui', { name: 'http', port: 80, targetPort: 3000 }],
      ['ml-pipeline-visualizationserver', 'ml-pipeline-visualizationserver', { name: 'http', port: 8888, targetPort: 8888 }],
      ['cache-server', 'cache-server', { port: 443, targetPort: 'webhook-api' }],
    ];
    for (const [service, deployment, port] of services) {
      const svc = find(s, 'Service', service).manifest as K8sObject & { spec: { selector: Record<string, string>; ports: Record<string, unknown>[] } };
      const up = facts.services.find((x) => x.source === 'kfp' && x.name === service);
      expect(svc.spec.ports).toEqual([expect.objectContaining({ ...port, protocol: 'TCP' })]);
      expect(up?.ports).toEqual([expect.objectContaining({ port: port.port })]);
      const labels = workload(s, deployment).spec.template.metadata.labels;
      expect(Object.entries(svc.spec.selector).every(([k, v]) => labels[k] === v)).toBe(true);
    }
    expect(metadata.grpc).toMatchObject({ serviceName: 'metadata-grpc-service', servicePort: 8080, podPort: 8080 });
    expect(metadata.envoy).toMatchObject({ serviceName: 'metadata-envoy-service', servicePort: 9090, podPort: 9090 });
  });

  test('ConfigMaps with upstream names and keys: metadata-envoy-configmap, ml-pipeline-ui-configmap', () => {
    for (const name of ['metadata-envoy-configmap', 'ml-pipeline-ui-configmap']) {
      const cm = find(s, 'ConfigMap', name).manifest as K8sObject & { data: Record<string, string> };
      expect(Object.keys(cm.data)).toEqual(facts.configMaps.find((c) => c.source === 'kfp' && c.name === name)?.keys);
    }
  });

  test('kfkit\'s Envoy configuration: gRPC-web on 9090 to the gRPC Service over HTTP/2, admin on 9901, no CORS', () => {
    const cm = find(s, 'ConfigMap', 'metadata-envoy-configmap').manifest as K8sObject & { data: Record<string, string> };
    const text = cm.data['envoy-config.yaml'];
    const config = parse(text) as {
      admin: { address: { socket_address: { port_value: number } } };
      static_resources: {
        listeners: {
          address: { socket_address: { port_value: number } };
          filter_chains: { filters: { typed_config: { http_filters: { name: string }[] } }[] }[];
        }[];
        clusters: { typed_extension_protocol_options: Record<string, { explicit_http_config: unknown }>; load_assignment: unknown }[];
      };
    };
    expect(config.admin.address.socket_address.port_value).toBe(9901);
    const listener = config.static_resources.listeners[0];
    expect(listener.address.socket_address.port_value).toBe(9090);
    expect(listener.filter_chains[0].filters[0].typed_config.http_filters.map((f) => f.name))
      .toEqual(['envoy.filters.http.grpc_web', 'envoy.filters.http.router']);
    expect(text).not.toMatch(/cors/i);
    const cluster = config.static_resources.clusters[0];
    expect(cluster.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config)
      .toEqual({ http2_protocol_options: {} });
    expect(JSON.stringify(cluster.load_assignment)).toContain('{"address":"metadata-grpc-service.kubeflow","port_value":8080}');
    expect(container(s, 'metadata-envoy-deployment').args).toEqual(['/etc/envoy/envoy-config.yaml']);
  });

  test('RBAC as upstream: namespaced Roles, the deployer\'s ClusterRole, permission counts of the facts', () => {
    const roles = s.objects.filter((o) => o.manifest.kind === 'Role').map((o) => o.manifest.metadata.name).sort();
    expect(roles).toEqual(expect.arrayContaining([
      'kubeflow-pipelines-cache-deployer-role', 'kubeflow-pipelines-cache-role', 'kubeflow-pipelines-metadata-writer-role',
      'ml-pipeline-ui', 'ml-pipeline-viewer-controller-role',
    ]));
    const clusterRoles = s.objects.filter((o) => o.manifest.kind === 'ClusterRole').map((o) => o.manifest.metadata.name);
    expect(clusterRoles).toEqual(['kubeflow-pipelines-cache-deployer-clusterrole']);
    const counts = Object.fromEntries(WORKLOADS.map((w) => [w, facts.workloads.find((x) => x.source === 'kfp' && x.name === w)?.rbac.length]));
    expect(counts).toEqual({
      'metadata-grpc-deployment': 0, 'metadata-envoy-deployment': 0, 'metadata-writer': 11, 'ml-pipeline-ui': 14, 'ml-pipeline-visualizationserver': 0,
      'ml-pipeline-viewer-crd': 28, 'cache-server': 11, 'cache-deployer-deployment': 19,
    });
  });

  test('fidelity: nothing but the documented deviations; the configuration-dependent ones are the only stale ones here', () => {
    const findings = checkFidelity(s.objects, facts, deviations);
    expect(findings.filter((f) => !f.message.startsWith('stale deviation'))).toEqual([]);
    // Configuration-dependent deviations carry `when` and are never stale in a single check.
    expect(findings).toEqual([]);
  });

  test('restricted pods: non-root (UID 1000, the images default to root), no escalation, no capabilities, RuntimeDefault seccomp', () => {
    for (const name of WORKLOADS) {
      const spec = workload(s, name).spec.template.spec;
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
        expect(c.resources.limits.memory).toEqual(expect.any(String));
      }
    }
  });

  test('read-only root filesystems, except the visualization server and the cache deployer (documented why)', () => {
    const writable = WORKLOADS.filter((w) => workload(s, w).spec.template.spec.containers.some((c) => c.securityContext.readOnlyRootFilesystem !== true));
    expect(writable).toEqual(['ml-pipeline-visualizationserver', 'cache-deployer-deployment']);
  });

  test('a ServiceAccount token only in pods that call the Kubernetes API', () => {
    const withToken = WORKLOADS.filter((w) => workload(s, w).spec.template.spec.automountServiceAccountToken);
    expect(withToken).toEqual(['metadata-writer', 'ml-pipeline-ui', 'ml-pipeline-viewer-crd', 'cache-server', 'cache-deployer-deployment']);
  });

  test('no secret values: credentials only through secretKeyRef, no Secret objects, no well-known keys', () => {
    expect(s.objects.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
    for (const name of WORKLOADS) {
      const spec = workload(s, name).spec.template.spec;
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        for (const e of c.env ?? []) {
          if (isCredentialName(e.name)) expect(e.valueFrom?.secretKeyRef).toBeDefined();
        }
      }
    }
    const text = JSON.stringify(s.objects.map((o) => o.manifest));
    expect(text).not.toMatch(/minio123/);
    expect(env(container(s, 'ml-pipeline-ui')).TENSORBOARD_PROXY_SIGNING_SECRET.valueFrom)
      .toEqual({ secretKeyRef: { name: 'ml-pipeline-ui-proxy-signing', key: 'key' } });
    expect(find(s, 'Job', s.objects.find((o) => /^ml-pipeline-ui-proxy-signing-generator-/.test(o.manifest.metadata.name))?.manifest.metadata.name ?? '')
      .manifest.metadata.annotations?.[PROVIDES_ANNOTATION]).toBe('Secret/kubeflow/ml-pipeline-ui-proxy-signing');
  });

  test('the database through the typed reference: host, port, names and the credentials Secret', () => {
    const grpc = env(container(s, 'metadata-grpc-deployment', 'container'));
    expect(grpc.MYSQL_HOST.value).toBe('mysql.kubeflow.svc.cluster.local');
    expect(grpc.MYSQL_PORT.value).toBe('3306');
    expect(grpc.MYSQL_DATABASE.value).toBe('metadb');
    expect(grpc.DBCONFIG_PASSWORD.valueFrom).toEqual({ secretKeyRef: { name: 'metadata-db-metadata', key: 'password' } });
    expect(env(container(s, 'metadata-grpc-deployment', 'wait-for-database'))).toMatchObject({
      WAIT_HOST: { value: 'mysql.kubeflow.svc.cluster.local' }, WAIT_PORT: { value: '3306' },
    });
    const cache = env(container(s, 'cache-server'));
    expect([cache.DBCONFIG_HOST_NAME.value, cache.DBCONFIG_PORT.value, cache.DBCONFIG_DB_NAME.value]).toEqual(['mysql.kubeflow.svc.cluster.local', '3306', 'cachedb']);
    expect(cache.DBCONFIG_USER.valueFrom).toEqual({ secretKeyRef: { name: 'metadata-db-cache', key: 'username' } });
    expect(container(s, 'cache-server').args?.at(-1)).toBe('--db_extra_params={"tls":"false"}');
  });

  test('the UI is wired to the store, the API server and the ML Metadata proxy from typed references', () => {
    const ui = env(container(s, 'ml-pipeline-ui'));
    const value = (name: string) => ui[name].value;
    expect(['MINIO_HOST', 'MINIO_PORT', 'MINIO_SSL', 'MINIO_NAMESPACE'].map(value)).toEqual(['seaweedfs.kubeflow', '9000', 'false', '']);
    expect(['AWS_S3_ENDPOINT', 'AWS_REGION', 'AWS_SSL'].map(value)).toEqual(['seaweedfs.kubeflow', 'us-east-1', 'false']);
    expect(['ARGO_ARCHIVE_LOGS', 'ARGO_ARCHIVE_ARTIFACTORY', 'ARGO_ARCHIVE_BUCKETNAME'].map(value)).toEqual(['true', 'minio', 'mlpipeline']);
    expect(['ML_PIPELINE_SERVICE_HOST', 'ML_PIPELINE_SERVICE_PORT'].map(value)).toEqual(['ml-pipeline.kubeflow', '8888']);
    expect(['METADATA_ENVOY_SERVICE_SERVICE_HOST', 'METADATA_ENVOY_SERVICE_SERVICE_PORT'].map(value)).toEqual(['metadata-envoy-service.kubeflow', '9090']);
    expect(ui.MINIO_ACCESS_KEY.valueFrom).toEqual({ secretKeyRef: { name: 'mlpipeline-minio-artifact', key: 'accesskey' } });
    expect(ui.MINIO_SECRET_KEY.valueFrom).toEqual({ secretKeyRef: { name: 'mlpipeline-minio-artifact', key: 'secretkey' } });
    expect(ui.CLUSTER_DOMAIN.valueFrom).toEqual({ configMapKeyRef: { name: 'pipeline-install-config', key: 'CLUSTER_DOMAIN', optional: true } });
    expect(find(s, 'ServiceAccount', 'ml-pipeline-ui').manifest.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();
  });

  test('TensorBoard viewer pods: kfkit\'s restricted template, the viewer ServiceAccount, labels the network policies select', () => {
    const cm = find(s, 'ConfigMap', 'ml-pipeline-ui-configmap').manifest as K8sObject & { data: Record<string, string> };
    const template = JSON.parse(cm.data['viewer-pod-template.json']) as { metadata: { labels: Record<string, string> }; spec: PodSpec };
    expect(template.spec).toMatchObject({
      serviceAccountName: 'kubeflow-pipelines-viewer',
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
    });
    expect(template.spec.containers[0].securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true });
    expect(template.spec.containers[0].resources).toEqual({ requests: { cpu: '50m', memory: '256Mi' }, limits: { memory: '2Gi' } });
    expect(find(s, 'ServiceAccount', 'kubeflow-pipelines-viewer')).toBeDefined();
    const fromUi = policies(s).get('kubeflow-pipelines-viewer-from-ml-pipeline-ui');
    expect(Object.entries(fromUi?.spec.podSelector.matchLabels ?? {}).every(([k, v]) => template.metadata.labels[k] === v)).toBe(true);
    expect(container(s, 'ml-pipeline-ui').volumeMounts).toContainEqual({ name: 'config-volume', mountPath: '/etc/config', readOnly: true });
    expect(env(container(s, 'ml-pipeline-ui')).VIEWER_TENSORBOARD_POD_TEMPLATE_SPEC_PATH.value).toBe('/etc/config/viewer-pod-template.json');
  });

  test('network policies for exactly the connections these parts make, with pod ports', () => {
    const all = policies(s);
    const port = (name: string, direction: 'ingress' | 'egress'): string => JSON.stringify(all.get(name)?.spec[direction]);
    const expected: [string, string, number][] = [
      // client, server, pod port
      ['metadata-grpc-deployment', 'mysql', 3306],
      ['metadata-envoy-deployment', 'metadata-grpc-deployment', 8080],
      ['metadata-writer', 'metadata-grpc-deployment', 8080],
      ['ml-pipeline-ui', 'ml-pipeline', 8888],
      ['ml-pipeline-ui', 'metadata-envoy-deployment', 9090],
      ['ml-pipeline-ui', 'kubeflow-pipelines-viewer', 6006],
      ['ml-pipeline-ui', 'seaweedfs', 8333],
      ['kubeflow-pipelines-viewer', 'seaweedfs', 8333],
      ['cache-server', 'mysql', 3306],
    ];
    for (const [client, server, p] of expected) {
      expect(port(`${server}-from-${client}`, 'ingress')).toContain(`"port":${p}`);
      expect(port(`${client}-to-${server}`, 'egress')).toContain(`"port":${p}`);
    }
    for (const client of ['metadata-writer', 'ml-pipeline-ui', 'ml-pipeline-viewer-crd', 'cache-server', 'cache-deployer-deployment']) {
      expect(all.has(`${client}-to-kube-apiserver`)).toBe(true);
    }
    const webhook = all.get('cache-server-from-kube-apiserver');
    expect(webhook?.spec).toMatchObject({ policyTypes: ['Ingress'], podSelector: { matchLabels: { 'app.kubernetes.io/name': 'cache-server' } } });
    expect(JSON.stringify(webhook?.spec.ingress)).toBe('[{"from":[{"ipBlock":{"cidr":"192.0.2.0/24"}}],"ports":[{"port":8443,"protocol":"TCP"}]}]');
    // Nothing else: no policy names a peer these parts do not talk to (the visualization server opens none itself).
    const mineNames = [...all.keys()].filter((n) => !['default-deny', 'allow-dns'].includes(n) && !/generator|create-bucket|mysql-users/.test(n));
    expect(mineNames.filter((n) => n.startsWith('ml-pipeline-visualizationserver'))).toEqual([]);
    expect(mineNames.length).toBe(expected.length * 2 + 5 + 1);
  });

  test('cache: the deployer provides the TLS Secret and the webhook, installs in the certificates wave before cache-server', () => {
    const deployer = find(s, 'Deployment', 'cache-deployer-deployment');
    const server = find(s, 'Deployment', 'cache-server');
    expect(deployer.manifest.metadata.annotations?.[PROVIDES_ANNOTATION])
      .toBe('Secret/kubeflow/webhook-server-tls,MutatingWebhookConfiguration/cache-webhook-kubeflow');
    expect(deployer.waveName).toBe('certificates');
    expect(server.waveName).toBe('controllers');
    expect(deployer.wave).toBeLessThan(server.wave);
    for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount']) {
      expect(s.objects.filter((o) => o.manifest.kind === kind && /cache-deployer/.test(o.manifest.metadata.name)).map((o) => o.waveName)).toEqual(['certificates']);
    }
    expect(find(s, 'NetworkPolicy', 'cache-deployer-deployment-to-kube-apiserver').waveName).toBe('certificates');
    const spec = (deployer.manifest as Workload).spec;
    expect(spec.strategy).toEqual({ type: 'Recreate' });
    expect(spec.template.spec.containers[0].startupProbe?.exec.command).toEqual([
      '/bin/sh', '-c', 'kubectl get secret webhook-server-tls --namespace kubeflow && kubectl get mutatingwebhookconfiguration cache-webhook-kubeflow',
    ]);
    expect((server.manifest as Workload).spec.template.spec.volumes).toContainEqual({ name: 'webhook-tls-certs', secret: { secretName: 'webhook-server-tls' } });
    const approve = (find(s, 'ClusterRole', 'kubeflow-pipelines-cache-deployer-clusterrole').manifest as K8sObject & { rules: Record<string, unknown>[] }).rules
      .filter((r) => (r.verbs as string[]).includes('approve'));
    expect(approve).toEqual([{ apiGroups: ['certificates.k8s.io'], resources: ['signers'], resourceNames: ['kubernetes.io/kubelet-serving'], verbs: ['approve'] }]);
  });

  test('negative: cache-server in the deployer\'s wave, or without the provider, is a harness finding', () => {
    const deployer = find(s, 'Deployment', 'cache-deployer-deployment');
    const server = find(s, 'Deployment', 'cache-server');
    const sameWave = s.objects.map((o) => (o === deployer ? { ...o, wave: server.wave, waveName: server.waveName } : o));
    expect(validate({ ...s, objects: sameWave })).toEqual([expect.objectContaining({
      rule: 'provider-order', object: 'Deployment/kubeflow/cache-server', message: expect.stringMatching(/Secret kubeflow\/webhook-server-tls is provided by/) as unknown,
    })]);
    const rest = Object.fromEntries(Object.entries(deployer.manifest.metadata.annotations ?? {}).filter(([k]) => k !== PROVIDES_ANNOTATION));
    const unannotated = s.objects.map((o) => (o === deployer
      ? { ...o, manifest: { ...o.manifest, metadata: { ...o.manifest.metadata, annotations: rest } } }
      : o));
    expect(validate({ ...s, objects: unannotated })).toEqual([expect.objectContaining({ rule: 'dangling-reference', object: 'Deployment/kubeflow/cache-server' })]);
  });

  test('kfkit\'s programs are valid POSIX sh', () => {
    const wait = container(s, 'metadata-writer', 'wait-for-metadata-grpc');
    expect(wait.command).toEqual(['/bin/sh', '-ec']);
    execFileSync('/bin/sh', ['-n', '-c', wait.args?.[0] ?? 'exit 1']);
  });

  test('the wait program returns as soon as the address answers (nc stubbed)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kfkit-wait-'));
    fs.writeFileSync(path.join(dir, 'nc'), '#!/bin/sh\necho "$@" > "$NC_LOG"\n', { mode: 0o755 });
    const log = path.join(dir, 'log');
    const wait = container(s, 'metadata-writer', 'wait-for-metadata-grpc');
    const out = execFileSync('/bin/sh', ['-ec', wait.args?.[0] ?? 'exit 1'], {
      env: { PATH: `${dir}:${process.env.PATH ?? ''}`, NC_LOG: log, WAIT_HOST: env(wait).WAIT_HOST.value, WAIT_PORT: env(wait).WAIT_PORT.value },
    });
    expect(out.toString()).toBe('');
    expect(fs.readFileSync(log, 'utf8').trim()).toBe('-z -w 2 metadata-grpc-service.kubeflow 8080');
  });
});

describe('data-layer variants', () => {
  test('external MySQL with TLS required: the gRPC server reads a rendered configuration file; cache-server uses skip-verify', () => {
    const { s } = build('external-mysql-tls');
    expect(validate(s)).toEqual([]);
    const findings = checkFidelity(s.objects, facts, deviations);
    expect(findings.filter((f) => !f.message.startsWith('stale deviation'))).toEqual([]);
    // Configuration-dependent deviations carry `when` and are never stale in a single check.
    expect(findings).toEqual([]);
    const spec = workload(s, 'metadata-grpc-deployment').spec.template.spec;
    expect(spec.initContainers?.map((c) => c.name)).toEqual(['wait-for-database', 'render-tls-config']);
    expect(spec.containers[0].args?.at(-1)).toBe('--metadata_store_server_config_file=/etc/mlmd/server_config.pbtxt');
    expect(spec.volumes).toContainEqual({ name: 'server-config', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
    expect(spec.volumes?.some((v) => v.name === 'database-ca')).toBe(false);
    expect(env(spec.initContainers?.[1] as Container).SSL_OPTIONS.value).toBe('');
    expect(env(spec.initContainers?.[1] as Container).DBCONFIG_PASSWORD.valueFrom).toEqual({ secretKeyRef: { name: 'rds', key: 'pass' } });
    expect(container(s, 'cache-server').args?.at(-1)).toBe('--db_extra_params={"tls":"skip-verify"}');
  });

  test('the rendered ML Metadata configuration: connection, ssl_options and migration, with quotes and backslashes escaped', () => {
    const { s } = build('external-mysql-verify-ca');
    expect(validate(s)).toEqual([]);
    const spec = workload(s, 'metadata-grpc-deployment').spec.template.spec;
    const render = spec.initContainers?.find((c) => c.name === 'render-tls-config') as Container;
    expect(spec.volumes).toContainEqual({ name: 'database-ca', secret: { secretName: 'db-ca', items: [{ key: 'ca.pem', path: 'ca.crt' }] } });
    expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'database-ca', mountPath: '/etc/mlmd-ca', readOnly: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kfkit-mlmd-'));
    const file = path.join(dir, 'server_config.pbtxt');
    const values = Object.fromEntries((render.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
    execFileSync('/bin/sh', [render.command?.[1] ?? '', render.command?.[2] ?? ''], {
      env: { PATH: process.env.PATH ?? '', ...values, CONFIG_FILE: file, DBCONFIG_USER: 'kfp', DBCONFIG_PASSWORD: 'p"w\\d$x' },
    });
    expect(fs.readFileSync(file, 'utf8')).toBe([
      'connection_config {', '  mysql {', '    host: "db.example.com"', '    port: 3306', '    database: "metadb"', '    user: "kfp"',
      '    password: "p\\"w\\\\d$x"', '    ssl_options { ca: "/etc/mlmd-ca/ca.crt" }', '  }', '}', 'migration_options {', '  enable_upgrade_migration: true', '}', '',
    ].join('\n'));
    expect(fs.statSync(file).mode & 0o077).toBe(0);
  });

  test('PostgreSQL: ML Metadata follows upstream\'s PostgreSQL variant on kfkit\'s one database; no cache', () => {
    const { s } = build('postgresql');
    expect(validate(s)).toEqual([]);
    const findings = checkFidelity(s.objects, facts, deviations);
    expect(findings.filter((f) => !f.message.startsWith('stale deviation'))).toEqual([]);
    // Configuration-dependent deviations carry `when` and are never stale in a single check.
    expect(findings).toEqual([]);
    const grpc = container(s, 'metadata-grpc-deployment', 'container');
    expect(grpc.args).toContain('--postgres_config_host=postgres-service.kubeflow.svc.cluster.local');
    expect(grpc.envFrom).toEqual([{ configMapRef: { name: 'metadata-grpc-configmap' } }]);
    expect(env(grpc).POSTGRES_PASSWORD.valueFrom).toEqual({ secretKeyRef: { name: 'metadata-db-metadata', key: 'password' } });
    expect(env(grpc).POSTGRES_DBNAME.value).toBe('metadb');
    expect(s.objects.some((o) => /cache/.test(o.manifest.metadata.name) && o.manifest.kind === 'Deployment')).toBe(false);
    expect(policies(s).get('postgres-from-metadata-grpc-deployment')).toBeDefined();
  });

  test('S3 with IRSA: no key variables, the role on the UI\'s and the viewers\' ServiceAccounts, archived logs through the role', () => {
    const { s } = build('mysql', 's3-irsa');
    expect(validate(s)).toEqual([]);
    expect(checkStaticCloudKeys(s)).toEqual([]);
    const findings = checkFidelity(s.objects, facts, deviations);
    expect(findings.filter((f) => !f.message.startsWith('stale deviation'))).toEqual([]);
    // Configuration-dependent deviations carry `when` and are never stale in a single check.
    expect(findings).toEqual([]);
    const ui = env(container(s, 'ml-pipeline-ui'));
    expect(Object.keys(ui).filter((n) => /ACCESS_KEY|SECRET_KEY|AWS_SECRET|AWS_ACCESS/.test(n))).toEqual([]);
    expect([ui.MINIO_HOST.value, ui.MINIO_PORT.value, ui.MINIO_SSL.value]).toEqual(['s3.eu-west-1.amazonaws.com', '443', 'true']);
    expect([ui.AWS_S3_ENDPOINT.value, ui.AWS_REGION.value, ui.ARGO_ARCHIVE_ARTIFACTORY.value, ui.ARGO_ARCHIVE_BUCKETNAME.value])
      .toEqual(['s3.eu-west-1.amazonaws.com', 'eu-west-1', 's3', 'kf-artifacts']);
    for (const sa of ['ml-pipeline-ui', 'kubeflow-pipelines-viewer']) {
      expect(find(s, 'ServiceAccount', sa).manifest.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe(ROLE);
    }
    expect(policies(s).get('ml-pipeline-ui-to-artifact-store')).toBeDefined();
    expect(policies(s).get('kubeflow-pipelines-viewer-to-artifact-store')).toBeDefined();
    expect(JSON.stringify(s.objects.map((o) => o.manifest))).not.toMatch(/minio123/);
  });

  test('S3 with a Secret: the UI reads the keys from that Secret', () => {
    const { s } = build('mysql', 's3-secret');
    expect(validate(s)).toEqual([]);
    const findings = checkFidelity(s.objects, facts, deviations);
    expect(findings.filter((f) => !f.message.startsWith('stale deviation'))).toEqual([]);
    const ui = env(container(s, 'ml-pipeline-ui'));
    expect(ui.MINIO_ACCESS_KEY.valueFrom).toEqual({ secretKeyRef: { name: 's3-keys', key: 'id' } });
    expect(ui.MINIO_SECRET_KEY.valueFrom).toEqual({ secretKeyRef: { name: 's3-keys', key: 'key' } });
    expect(ui.ARGO_ARCHIVE_ARTIFACTORY.value).toBe('minio');
  });

  test('every documented deviation of these workloads is needed in at least one variant', () => {
    const variants: [DatabaseVariant, StoreVariant][] = [['mysql', 'seaweedfs'], ['postgresql', 'seaweedfs'], ['external-mysql-tls', 's3-irsa']];
    // With cert-manager external the cache deployer is not installed (a `workload` deviation, checked with the source
    // whose workloads must all be installed, counting only the finding about that workload).
    const built = [...variants.map(([db, st]) => build(db, st).s), build('mysql', 'seaweedfs', true).s];
    for (const d of mine) {
      const needed = built.some((s) => {
        const options = d.field === 'workload' ? { sources: [d.source ?? 'kfp'] } : {};
        const without = checkFidelity(s.objects, facts, deviations.filter((x) => x !== d), options);
        return without.some((f) => !f.message.startsWith('stale deviation') && (d.field !== 'workload' || f.object.endsWith(`/${d.workload}`)));
      });
      expect([d.workload, d.field, d.value, needed]).toEqual([d.workload, d.field, d.value, true]);
    }
  });
});

describe('guards', () => {
  const parts = (db: DatabaseVariant = 'mysql') => {
    const app = new App();
    const chart = new Chart(app, 't', { disableResourceNameHashes: true });
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const props: PipelinesPartProps = { namespace: NS, database: database(chart, db), store: store(chart, 'seaweedfs'), mode: 'standalone' };
    return { chart, props };
  };

  test('the cache refuses PostgreSQL (cache-server 2.17.0 speaks MySQL only)', () => {
    const { chart, props } = parts('postgresql');
    expect(() => new PipelinesCache(chart, 'Cache', props)).toThrow(/^PipelinesCache: database\.engine: cache-server .* cannot use postgresql/);
  });

  test('the cache refuses a TLS mode its driver setting cannot express (verify-ca)', () => {
    const { chart, props } = parts('external-mysql-verify-ca');
    expect(() => new PipelinesCache(chart, 'Cache', props)).toThrow(/^PipelinesCache: database\.tls\.mode: cache-server .* verify-ca/);
  });

  test('ML Metadata refuses TLS with PostgreSQL, and certificate verification without a CA file', () => {
    const app = new App();
    const chart = new Chart(app, 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const s3 = store(chart, 'seaweedfs');
    const pg = new ExternalDatabase(chart, 'Pg', {
      cidrs: ['198.51.100.0/24'],
      namespace: NS, engine: 'postgresql', host: 'pg.example.com', credentials: { secretName: 'pg', usernameKey: 'u', passwordKey: 'p' }, tls: { mode: 'required' },
    });
    expect(() => new MetadataService(chart, 'A', { namespace: NS, database: pg, store: s3, mode: 'standalone' }))
      .toThrow(/^MetadataService: database\.tls\.mode: metadata-grpc-deployment .* postgresql with TLS mode required/);
    const my = new ExternalDatabase(chart, 'My', {
      cidrs: ['198.51.100.0/24'],
      namespace: NS, engine: 'mysql', host: 'my.example.com', credentials: { secretName: 'my', usernameKey: 'u', passwordKey: 'p' }, tls: { mode: 'verify-full' },
    });
    expect(() => new MetadataService(chart, 'B', { namespace: NS, database: my, store: s3, mode: 'standalone' }))
      .toThrow(/^MetadataService: database\.tls\.caSecret: .*set tls\.caSecret/);
  });

  test('the viewer controller refuses fewer than one viewer', () => {
    const { chart, props } = parts();
    expect(() => new ViewerController(chart, 'V', { ...props, maxViewers: 0 })).toThrow(/maxViewers must be a whole number >= 1/);
    expect(() => new ViewerController(chart, 'W', { ...props, maxViewers: 2.5 })).toThrow(/maxViewers/);
  });
});
