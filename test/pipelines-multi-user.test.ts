import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ExternalArtifactStore } from '../lib/components/external-artifact-store';
import { KubeflowGateway } from '../lib/components/gateway';
import { IstioMesh, IstioMeshProps } from '../lib/components/istio';
import { MysqlDatabase } from '../lib/components/mysql';
import {
  KubeflowPipelines, KubeflowPipelinesProps, PipelinesMultiUserAccess, PipelinesProfileResources, PROFILE_ARTIFACT_SECRET,
} from '../lib/components/pipelines';
import { PostgresDatabase } from '../lib/components/postgresql';
import { SeaweedfsArtifactStore } from '../lib/components/seaweedfs';
import { IArtifactStore } from '../lib/core/artifact-store';
import { declareExternalCertManager } from '../lib/core/cert-manager';
import { KfkitContext } from '../lib/core/context';
import { UserHeaders } from '../lib/core/mesh';
import { PlatformNamespace } from '../lib/core/namespace';
import { IProfile } from '../lib/core/tenancy';
import { ProfileNetwork } from '../lib/components/profile/network';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject } from '../lib/validate/types';
import { configIssuePaths, localConfig } from './helpers';

const NS = 'kubeflow';
const HEADERS: UserHeaders = { userId: 'kubeflow-userid', userIdPrefix: '', groups: 'kubeflow-groups' };
const ROLE = 'arn:aws:iam::123456789012:role/kfp';

type StoreVariant = 'seaweedfs' | 's3-irsa';

interface BuildOptions {
  readonly mode?: 'standalone' | 'multi-user';
  readonly engine?: 'mysql' | 'postgresql';
  readonly store?: StoreVariant;
  readonly mesh?: IstioMeshProps;
  readonly userHeaders?: UserHeaders | null;
  readonly gateway?: boolean;
  /** Profiles to add: namespace → profile options. */
  readonly profiles?: readonly { readonly name: string; readonly awsRoleArn?: string; readonly artifactPrefix?: string }[];
  readonly pipelines?: Partial<KubeflowPipelinesProps>;
  /** cert-manager on the cluster (the cache then needs no deployer). */
  readonly certManager?: boolean;
}

interface Built {
  readonly s: Synthesized;
  readonly pipelines: KubeflowPipelines;
  readonly chart: Chart;
}

/**
 * A profile as the profile construct hands it to extensions (a stub): its namespace (kfkit's PlatformNamespace,
 * enrolled in the mesh, in the `namespaces` wave), a scope in the `tenants` wave, and the per-profile artifact Secret
 * declared as an object the profile construct provides.
 */
function stubProfile(chart: Chart, mesh: IstioMesh, name: string, options: { awsRoleArn?: string; artifactPrefix?: string } = {}): IProfile {
  const ctx = KfkitContext.of(chart);
  mesh.enrol(new PlatformNamespace(chart, `Ns-${name}`, { name, podSecurity: 'baseline' }));
  const scope = new Construct(chart, `Profile-${name}`);
  ctx.plan.assign(scope, ctx.plan.tenants);
  if (options.awsRoleArn === undefined) {
    ctx.addExternalObject({ apiVersion: 'v1', kind: 'Secret', namespace: name, name: PROFILE_ARTIFACT_SECRET.name, reason: 'written by the profile construct (stubbed here)' });
  }
  return {
    name, namespace: name, owner: { kind: 'User', name: `${name}@example.com` }, scope,
    pods: { peerName: `profile-${name}`, namespace: name, podLabels: {} },
    network: new ProfileNetwork(scope, 'Network', name),
    artifactPrefix: options.artifactPrefix ?? `private-artifacts/${name}/`,
    awsRoleArn: options.awsRoleArn,
  };
}

function storeOf(chart: Chart, variant: StoreVariant): IArtifactStore {
  return variant === 'seaweedfs'
    ? new SeaweedfsArtifactStore(chart, 'Store', { namespace: NS })
    : new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'], namespace: NS, provider: 's3', region: 'eu-west-1', bucket: 'kfp-artifacts', credentials: { type: 'irsa', roleArn: ROLE } });
}

function build(options: BuildOptions = {}): Built {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  declareExternalCertManager(ctx, '1.19');
  const mesh = new IstioMesh(chart, 'Mesh', options.mesh ?? { mode: 'external' });
  const kubeflow = new PlatformNamespace(chart, 'Kubeflow', { name: NS, podSecurity: 'baseline' });
  mesh.enrol(kubeflow);
  const userHeaders = options.userHeaders === null ? undefined : options.userHeaders ?? HEADERS;
  const gateway = new KubeflowGateway(chart, 'Gateway', { mesh, host: 'kubeflow.example.com', tls: { type: 'self-signed' }, certManager: {}, userHeaders });
  const database = options.engine === 'postgresql' ? new PostgresDatabase(chart, 'Db', { namespace: NS }) : new MysqlDatabase(chart, 'Db', { namespace: NS });
  const pipelines = new KubeflowPipelines(chart, 'Pipelines', {
    namespace: NS, database, store: storeOf(chart, options.store ?? 'seaweedfs'), mode: options.mode ?? 'multi-user',
    certManager: options.certManager === true ? {} : undefined,
    gateway: options.gateway === false ? undefined : gateway,
    ...options.pipelines,
  });
  for (const p of options.profiles ?? []) pipelines.profileExtension?.addToProfile(stubProfile(chart, mesh, p.name, p));
  return { s: collect(chart), pipelines, chart };
}

const harness = (s: Synthesized) => validate({ objects: s.objects, externalApis: s.externalApis, externalObjects: s.externalObjects });

function find(s: Synthesized, kind: string, name: string, namespace?: string): PlacedObject | undefined {
  return s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name
    && (namespace === undefined || o.manifest.metadata.namespace === namespace));
}
function get(s: Synthesized, kind: string, name: string, namespace?: string): PlacedObject {
  const found = find(s, kind, name, namespace);
  if (!found) throw new Error(`no ${kind} ${namespace ?? '*'}/${name}`);
  return found;
}

type EnvVar = { name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> };
type Container = { name: string; args?: string[]; env?: EnvVar[]; envFrom?: { configMapRef?: { name: string } }[] };
type Workload = K8sObject & { spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } } };
const container = (s: Synthesized, deployment: string): Container => (get(s, 'Deployment', deployment, NS).manifest as Workload).spec.template.spec.containers[0];
const env = (c: Container, name: string): EnvVar | undefined => c.env?.find((e) => e.name === name);
type Rules = { rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] };
const rulesOf = (p: PlacedObject): Rules['rules'] => (p.manifest as K8sObject & Rules).rules;
type Spec = Record<string, unknown>;
const spec = (p: PlacedObject): Spec => (p.manifest as K8sObject & { spec: Spec }).spec;
const data = (p: PlacedObject): Record<string, string> => (p.manifest as K8sObject & { data: Record<string, string> }).data;

const ids = (list: readonly PlacedObject[]): string[] => list.map((o) => `${o.manifest.kind}/${o.manifest.metadata.namespace ?? ''}/${o.manifest.metadata.name}`).sort();
const ofKind = (s: Synthesized, kind: string, namespace?: string): PlacedObject[] =>
  s.objects.filter((o) => o.manifest.kind === kind && (namespace === undefined || o.manifest.metadata.namespace === namespace));
/** The ClusterRoleBinding binding ServiceAccount `sa` of `kubeflow` to ClusterRole `role`, if any. */
const bound = (s: Synthesized, role: string, sa: string): boolean => ofKind(s, 'ClusterRoleBinding').some((o) => {
  const b = o.manifest as K8sObject & { roleRef: { name: string }; subjects: { kind: string; name: string; namespace: string }[] };
  return b.roleRef.name === role && b.subjects.some((x) => x.kind === 'ServiceAccount' && x.name === sa && x.namespace === NS);
});

/** kfkit's deviations for the multi-user source (facts/deviations.json). */
const MULTI_USER_DEVIATIONS = 5;

describe('KubeflowPipelines multi-user: platform side', () => {
  const { s } = build({ profiles: [{ name: 'team-a' }] });

  test('synthesizes and validates clean with a mesh, the gateway and one profile', () => {
    expect(harness(s)).toEqual([]);
  });

  test('fidelity: [] against kfp-multi-user 2.17.0, and each multi-user deviation is needed', () => {
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kfp-multi-user'] })).toEqual([]);
    const without = deviations.filter((d) => d.source !== 'kfp-multi-user');
    expect(deviations.length - without.length).toBe(MULTI_USER_DEVIATIONS);
    const open = checkFidelity(s.objects, facts, without, { sources: ['kfp-multi-user'] }).map((f) => f.message);
    expect(open).toHaveLength(MULTI_USER_DEVIATIONS);
    expect(open.join('\n')).toMatch(/kubeflow-pipelines-profile-controller is not installed/);
    expect(open.join('\n')).toMatch(/metacontroller is not installed/);
  });

  test('standalone is still [] against kfp (and unchanged without a gateway)', () => {
    const standalone = build({ mode: 'standalone', gateway: false }).s;
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(standalone.objects, facts, deviations, { sources: ['kfp'] })).toEqual([]);
    expect(ofKind(standalone, 'AuthorizationPolicy', NS)).toEqual([]);
    expect(container(standalone, 'ml-pipeline').envFrom).toBeUndefined();
    expect(find(standalone, 'ClusterRole', 'ml-pipeline')).toBeUndefined();
  });

  test('API server: user-id header and prefix from the install config, MULTIUSER settings, cluster-wide role', () => {
    const api = container(s, 'ml-pipeline');
    expect(env(api, 'KUBEFLOW_USERID_HEADER')?.valueFrom).toEqual({ configMapKeyRef: { name: 'pipeline-install-config', key: 'USERID_HEADER', optional: true } });
    expect(env(api, 'KUBEFLOW_USERID_PREFIX')?.valueFrom).toEqual({ configMapKeyRef: { name: 'pipeline-install-config', key: 'USERID_PREFIX', optional: true } });
    expect(api.envFrom).toEqual([{ configMapRef: { name: 'pipeline-api-server-config' } }]);
    expect(data(get(s, 'ConfigMap', 'pipeline-api-server-config', NS))).toEqual({
      MULTIUSER: 'true', DEFAULTPIPELINERUNNERSERVICEACCOUNT: 'default-editor',
      VISUALIZATIONSERVICE_NAME: 'ml-pipeline-visualizationserver', VISUALIZATIONSERVICE_PORT: '8888',
    });
    const install = data(get(s, 'ConfigMap', 'pipeline-install-config', NS));
    expect([install.USERID_HEADER, install.USERID_PREFIX]).toEqual(['kubeflow-userid', '']);
    const cluster = rulesOf(get(s, 'ClusterRole', 'ml-pipeline'));
    expect(cluster).toContainEqual({ apiGroups: [''], resources: ['configmaps'], resourceNames: ['kfp-launcher'], verbs: ['get'] });
    expect(cluster.some((r) => r.apiGroups.includes('mlflow.kubeflow.org'))).toBe(false);
    expect(bound(s, 'ml-pipeline', 'ml-pipeline')).toBe(true);
    // The namespaced Role keeps MLflow (upstream keeps both).
    expect(rulesOf(get(s, 'Role', 'ml-pipeline', NS)).some((r) => r.apiGroups.includes('mlflow.kubeflow.org'))).toBe(true);
  });

  test('controllers watch every namespace with their permissions granted cluster-wide', () => {
    const watched: [string, string, string, string][] = [
      ['ml-pipeline-persistenceagent', 'NAMESPACE', 'ml-pipeline-persistenceagent-role', 'ml-pipeline-persistenceagent'],
      ['ml-pipeline-scheduledworkflow', 'NAMESPACE', 'ml-pipeline-scheduledworkflow-role', 'ml-pipeline-scheduledworkflow'],
      ['ml-pipeline-viewer-crd', 'NAMESPACE', 'ml-pipeline-viewer-controller-role', 'ml-pipeline-viewer-crd-service-account'],
      ['metadata-writer', 'NAMESPACE_TO_WATCH', 'kubeflow-pipelines-metadata-writer-role', 'kubeflow-pipelines-metadata-writer'],
      ['cache-server', 'NAMESPACE_TO_WATCH', 'kubeflow-pipelines-cache-role', 'kubeflow-pipelines-cache'],
    ];
    for (const [workload, variable, role, sa] of watched) {
      expect([workload, env(container(s, workload), variable)]).toEqual([workload, { name: variable, value: '' }]);
      expect([workload, bound(s, role, sa)]).toEqual([workload, true]);
      // Same rules as the namespaced Role.
      expect(rulesOf(get(s, 'ClusterRole', role))).toEqual(rulesOf(get(s, 'Role', role, NS)));
    }
    const swf = container(s, 'ml-pipeline-scheduledworkflow');
    const names = (swf.env ?? []).map((e) => e.name);
    expect(env(swf, 'USER_IDENTITY_VALUE')?.value).toBe('system:serviceaccount:$(NAMESPACE_SELF):$(SERVICE_ACCOUNT_NAME)');
    // Dependent variables come after the ones they expand.
    expect(names.indexOf('USER_IDENTITY_VALUE')).toBeGreaterThan(Math.max(names.indexOf('NAMESPACE_SELF'), names.indexOf('SERVICE_ACCOUNT_NAME')));
    expect(env(swf, 'SERVICE_ACCOUNT_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.serviceAccountName' } });
  });

  test('UI: Kubeflow deployment, authorization on, viewers as the profile\'s default-editor', () => {
    const ui = container(s, 'ml-pipeline-ui');
    expect(env(ui, 'DEPLOYMENT')?.value).toBe('KUBEFLOW');
    expect(env(ui, 'ENABLE_AUTHZ')?.value).toBe('true');
    expect(env(ui, 'ARTIFACTS_SERVICE_PROXY_NAME')?.value).toBe('ml-pipeline-ui-artifact');
    expect(env(ui, 'KUBEFLOW_USERID_HEADER')?.valueFrom).toEqual({ configMapKeyRef: { name: 'pipeline-install-config', key: 'USERID_HEADER', optional: true } });
    // The proxy to per-namespace artifact servers stays off (kfkit writes no ml-pipeline-ui-artifact anywhere).
    expect(data(get(s, 'ConfigMap', 'pipeline-install-config', NS)).ARTIFACTS_PROXY_ENABLED).toBe('false');
    expect(find(s, 'Deployment', 'ml-pipeline-ui-artifact')).toBeUndefined();
    const template = JSON.parse(data(get(s, 'ConfigMap', 'ml-pipeline-ui-configmap', NS))['viewer-pod-template.json']) as { spec: { serviceAccountName: string } };
    expect(template.spec.serviceAccountName).toBe('default-editor');
    expect(bound(s, 'ml-pipeline-ui', 'ml-pipeline-ui')).toBe(true);
    expect(rulesOf(get(s, 'ClusterRole', 'ml-pipeline-ui')).some((r) => r.resources.includes('secrets'))).toBe(false);
    // Viewers live in the profiles: no UI → viewer path in kubeflow.
    expect(find(s, 'NetworkPolicy', 'ml-pipeline-ui-to-kubeflow-pipelines-viewer', NS)).toBeUndefined();
  });

  test('Argo runs cluster-wide: no --namespaced, argo-cluster-role, reduced argo-role, aggregated roles', () => {
    expect(container(s, 'workflow-controller').args).not.toContain('--namespaced');
    expect(bound(s, 'argo-cluster-role', 'argo')).toBe(true);
    expect(rulesOf(get(s, 'Role', 'argo-role', NS))).toEqual([
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
    ]);
    expect(rulesOf(get(s, 'ClusterRole', 'argo-cluster-role'))).toContainEqual({ apiGroups: [''], resources: ['configmaps', 'namespaces'], verbs: ['get', 'watch', 'list'] });
    for (const role of ['admin', 'edit', 'view']) {
      expect(get(s, 'ClusterRole', `argo-aggregate-to-${role}`).manifest.metadata.labels).toMatchObject({ [`rbac.authorization.k8s.io/aggregate-to-${role}`]: 'true' });
    }
  });

  test('roles of profile members aggregate into kubeflow-edit and kubeflow-view', () => {
    const labels = (name: string) => get(s, 'ClusterRole', name).manifest.metadata.labels;
    expect(labels('kubeflow-pipelines-edit')).toMatchObject({ 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit': 'true' });
    expect(labels('kubeflow-pipelines-view')).toMatchObject({
      'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view': 'true', 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-pipelines-edit': 'true',
    });
    expect(labels('aggregate-to-kubeflow-pipelines-edit')).toMatchObject({ 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-pipelines-edit': 'true' });
    expect(rulesOf(get(s, 'ClusterRole', 'aggregate-to-kubeflow-pipelines-edit'))).toContainEqual({
      apiGroups: ['pipelines.kubeflow.org'], resources: ['runs'], verbs: ['archive', 'create', 'delete', 'retry', 'terminate', 'unarchive', 'reportMetrics', 'readArtifact'],
    });
    expect(rulesOf(get(s, 'ClusterRole', 'aggregate-to-kubeflow-pipelines-view'))).toContainEqual({ apiGroups: ['pipelines.kubeflow.org'], resources: ['visualizations'], verbs: ['create'] });
  });

  test('mesh: only the gateway and the backend may send the user-id header to the API server', () => {
    const api = spec(get(s, 'AuthorizationPolicy', 'ml-pipeline', NS));
    const backend = ['ml-pipeline', 'ml-pipeline-ui', 'ml-pipeline-persistenceagent', 'ml-pipeline-scheduledworkflow',
      'ml-pipeline-viewer-crd-service-account', 'kubeflow-pipelines-cache'].map((sa) => `cluster.local/ns/kubeflow/sa/${sa}`);
    expect(api.rules).toEqual([
      { from: [{ source: { principals: backend } }] },
      { when: [{ key: 'request.headers[kubeflow-userid]', notValues: ['*'] }] },
    ]);
    expect((api.selector as { matchLabels: Record<string, string> }).matchLabels).toEqual(
      (get(s, 'Deployment', 'ml-pipeline', NS).manifest as K8sObject & { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels);
    expect(spec(get(s, 'AuthorizationPolicy', 'ml-pipeline-visualizationserver', NS)).rules).toEqual([{ from: [{ source: { principals: backend } }] }]);
    expect(spec(get(s, 'AuthorizationPolicy', 'ml-pipeline-ui-in-mesh', NS)).rules).toEqual([{
      when: [{ key: 'request.headers[authorization]', values: ['*'] }, { key: 'request.headers[kubeflow-userid]', notValues: ['*'] }],
    }]);
    expect(spec(get(s, 'AuthorizationPolicy', 'metadata-grpc-service', NS)).rules).toEqual([{}]);
    expect(spec(get(s, 'AuthorizationPolicy', 'service-cache-server', NS)).rules).toEqual([{}]);
    // The gateway's routes: the UI and ML Metadata's gRPC-web proxy (which also admits the UI server).
    const routes = ofKind(s, 'VirtualService', NS).map((o) => [o.manifest.metadata.name, (spec(o).http as { match: { uri: { prefix: string } }[] }[])[0].match[0].uri.prefix]);
    expect(routes.sort()).toEqual([['metadata-grpc', '/ml_metadata'], ['ml-pipeline-ui', '/pipeline']]);
    expect(spec(get(s, 'AuthorizationPolicy', 'metadata-envoy-from-ui', NS)).rules).toEqual([{ from: [{ source: { principals: ['cluster.local/ns/kubeflow/sa/ml-pipeline-ui'] } }] }]);
  });

  test('the header and prefix come from the gateway\'s identity headers (or the props)', () => {
    const headers = { userId: 'x-auth-user', userIdPrefix: 'oidc:', groups: 'x-auth-groups' };
    const custom = build({ userHeaders: null, pipelines: { userHeaders: headers } }).s;
    const install = data(get(custom, 'ConfigMap', 'pipeline-install-config', NS));
    expect([install.USERID_HEADER, install.USERID_PREFIX]).toEqual(['x-auth-user', 'oidc:']);
    expect(JSON.stringify(spec(get(custom, 'AuthorizationPolicy', 'ml-pipeline', NS)))).toContain('request.headers[x-auth-user]');
  });

  test('PostgreSQL: no cache, still clean', () => {
    const pg = build({ engine: 'postgresql', profiles: [{ name: 'team-a' }] }).s;
    expect(harness(pg)).toEqual([]);
    expect(find(pg, 'AuthorizationPolicy', 'service-cache-server', NS)).toBeUndefined();
    expect(JSON.stringify(spec(get(pg, 'AuthorizationPolicy', 'ml-pipeline', NS)))).not.toContain('kubeflow-pipelines-cache');
  });
});

describe('PipelinesProfileResources: one profile namespace', () => {
  const { s } = build({ profiles: [{ name: 'team-a' }] });
  const inProfile = s.objects.filter((o) => o.manifest.metadata.namespace === 'team-a' && o.manifest.kind !== 'Namespace');

  test('kfp-launcher: the profile\'s pipeline root and its Secret', () => {
    const launcher = data(get(s, 'ConfigMap', 'kfp-launcher', 'team-a'));
    expect(launcher.defaultPipelineRoot).toBe('minio://mlpipeline/private-artifacts/team-a/v2/artifacts');
    expect(JSON.parse(launcher.providers)).toEqual({
      minio: {
        default: {
          endpoint: 'seaweedfs.kubeflow:9000', region: 'us-east-1', disableSSL: true, forcePathStyle: true,
          credentials: { fromEnv: false, secretRef: { secretName: 'mlpipeline-minio-artifact', accessKeyKey: 'accesskey', secretKeyKey: 'secretkey' } },
        },
      },
    });
  });

  test('metadata-grpc-configmap: ML Metadata in the Pipelines namespace', () => {
    expect(data(get(s, 'ConfigMap', 'metadata-grpc-configmap', 'team-a'))).toEqual({
      METADATA_GRPC_SERVICE_HOST: 'metadata-grpc-service.kubeflow', METADATA_GRPC_SERVICE_PORT: '8080',
    });
  });

  test('artifact-repositories: Argo\'s default repository below the profile\'s prefix', () => {
    const cm = get(s, 'ConfigMap', 'artifact-repositories', 'team-a');
    expect(cm.manifest.metadata.annotations).toMatchObject({ 'workflows.argoproj.io/default-artifact-repository': 'default-namespaced' });
    expect(JSON.parse(data(cm)['default-namespaced'])).toEqual({
      archiveLogs: true,
      s3: {
        endpoint: 'seaweedfs.kubeflow:9000', bucket: 'mlpipeline', region: 'us-east-1', insecure: true,
        keyFormat: 'private-artifacts/team-a/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{pod.name}}',
        accessKeySecret: { name: 'mlpipeline-minio-artifact', key: 'accesskey' },
        secretKeySecret: { name: 'mlpipeline-minio-artifact', key: 'secretkey' },
      },
    });
  });

  test('every object in the profile namespace installs with the profile (tenants wave), after its namespace', () => {
    expect(inProfile.length).toBeGreaterThan(0);
    const waves = new Set(inProfile.filter((o) => o.manifest.kind !== 'NetworkPolicy' || !['default-deny', 'allow-dns'].includes(o.manifest.metadata.name))
      .filter((o) => !o.manifest.metadata.name.startsWith('team-a-to-istiod') && !o.manifest.metadata.name.startsWith('mesh-'))
      .map((o) => o.waveName));
    expect(waves).toEqual(new Set(['tenants']));
  });

  test('network: profile pods → API server and UI, runs → ML Metadata, store, Kubernetes API; UI → viewers; viewers → store', () => {
    type Rule = { to?: { podSelector?: { matchLabels?: Record<string, string> }; ipBlock?: { cidr: string } }[];
      from?: { podSelector?: { matchLabels?: Record<string, string> } }[]; ports?: { port: number }[] };
    type Policy = { spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[]; egress?: Rule[]; ingress?: Rule[] } };
    // The profile side: one policy per set of pods and direction, whatever the number of paths.
    const policies = ids(inProfile.filter((o) => o.manifest.kind === 'NetworkPolicy' && o.waveName === 'tenants'));
    expect(policies).toEqual([
      'NetworkPolicy/team-a/pipeline-runs-allow',
      'NetworkPolicy/team-a/profile-allow',
      'NetworkPolicy/team-a/tensorboard-viewers-allow',
    ]);
    const policy = (name: string) => get(s, 'NetworkPolicy', name, 'team-a').manifest as K8sObject & Policy;
    const target = (r: Rule) => `${r.to?.[0].podSelector?.matchLabels?.['app.kubernetes.io/name'] ?? r.to?.[0].ipBlock?.cidr}:${(r.ports ?? []).map((p) => p.port).join('+')}`;
    expect(policy('profile-allow').spec.podSelector).toEqual({});
    expect(policy('profile-allow').spec.egress?.map(target)).toEqual(['ml-pipeline:8888+8887', 'ml-pipeline-ui:3000']);
    expect(policy('profile-allow').spec.ingress).toBeUndefined();
    expect(policy('pipeline-runs-allow').spec.podSelector).toEqual({ matchLabels: { 'pipelines.kubeflow.org/v2_component': 'true' } });
    expect(policy('pipeline-runs-allow').spec.egress?.map(target)).toEqual(['metadata-grpc-deployment:8080', '192.0.2.0/24:443+6443', 'seaweedfs:8333']);
    expect(policy('tensorboard-viewers-allow').spec.egress?.map(target)).toEqual(['seaweedfs:8333']);
    expect(policy('tensorboard-viewers-allow').spec.ingress?.map((r) => r.from?.[0].podSelector?.matchLabels?.['app.kubernetes.io/name'])).toEqual(['ml-pipeline-ui']);
    // The platform side admits every profile namespace once (by the namespaces' label), not one policy per profile.
    const serverSide = ids(ofKind(s, 'NetworkPolicy', NS).filter((o) => o.manifest.metadata.name.includes('profiles')));
    expect(serverSide).toEqual([
      'NetworkPolicy/kubeflow/metadata-grpc-deployment-from-profiles-pipeline-runs',
      'NetworkPolicy/kubeflow/ml-pipeline-from-profiles',
      'NetworkPolicy/kubeflow/ml-pipeline-ui-from-profiles',
      'NetworkPolicy/kubeflow/ml-pipeline-ui-to-profiles-tensorboard-viewers',
      'NetworkPolicy/kubeflow/seaweedfs-from-profiles-pipeline-runs',
      'NetworkPolicy/kubeflow/seaweedfs-from-profiles-tensorboard-viewers',
    ]);
    expect(JSON.stringify(ofKind(s, 'NetworkPolicy', NS).map((o) => o.manifest))).not.toContain('team-a');
  });

  test('mesh: TensorBoard viewers admit the UI server', () => {
    const policy = get(s, 'AuthorizationPolicy', 'ml-pipeline-ui-to-tensorboard', 'team-a');
    expect(spec(policy).rules).toEqual([{ from: [{ source: { principals: ['cluster.local/ns/kubeflow/sa/ml-pipeline-ui'] } }] }]);
    expect(policy.waveName).toBe('tenants');
  });

  test('IRSA: the profile\'s role through the SDK chain, no Secret; the store\'s egress to S3 and STS', () => {
    const irsa = build({ store: 's3-irsa', profiles: [{ name: 'team-b', awsRoleArn: 'arn:aws:iam::123456789012:role/team-b' }] }).s;
    expect(harness(irsa)).toEqual([]);
    const launcher = data(get(irsa, 'ConfigMap', 'kfp-launcher', 'team-b'));
    expect(launcher.defaultPipelineRoot).toBe('s3://kfp-artifacts/private-artifacts/team-b/v2/artifacts');
    expect(JSON.parse(launcher.providers)).toEqual({ s3: { default: expect.objectContaining({ credentials: { fromEnv: true }, region: 'eu-west-1' }) as unknown } });
    const repo = JSON.parse(data(get(irsa, 'ConfigMap', 'artifact-repositories', 'team-b'))['default-namespaced']) as { s3: Record<string, unknown> };
    expect(repo.s3.useSDKCreds).toBe(true);
    expect(repo.s3.accessKeySecret).toBeUndefined();
    expect(JSON.stringify(irsa.objects.filter((o) => o.manifest.metadata.namespace === 'team-b'))).not.toContain('mlpipeline-minio-artifact');
    const egress = get(irsa, 'NetworkPolicy', 'pipeline-runs-allow', 'team-b');
    expect(egress.waveName).toBe('tenants');
    // The store's blocks only (S3 and STS at the VPC's interface endpoints), never every address.
    expect((egress.manifest as unknown as { spec: { egress: unknown[] } }).spec.egress).toContainEqual({ ports: [{ port: 443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.10.0.0/16' } }] });
    expect(JSON.stringify(egress.manifest)).not.toContain('0.0.0.0/0');
  });

  test('a custom artifact prefix is used as given', () => {
    const custom = build({ profiles: [{ name: 'team-c', artifactPrefix: 'tenants/team-c/' }] }).s;
    expect(data(get(custom, 'ConfigMap', 'kfp-launcher', 'team-c')).defaultPipelineRoot).toBe('minio://mlpipeline/tenants/team-c/v2/artifacts');
  });
});

describe('guards', () => {
  test('multi-user needs the gateway', () => {
    expect(() => build({ gateway: false })).toThrow(/multi-user mode needs the Kubeflow gateway \(gateway\)/);
  });

  test('multi-user needs the identity headers (authentication)', () => {
    expect(() => build({ userHeaders: null })).toThrow(/needs the identity headers .*\(auth\.mode dex or oidc\)/);
  });

  test('multi-user refuses the ambient dataplane (header rules need an L7 proxy)', () => {
    expect(() => build({ mesh: { mode: 'external', dataplane: 'ambient' } })).toThrow(/ambient dataplane .* use the sidecar dataplane/);
  });

  test('PipelinesMultiUserAccess refuses ambient and an empty backend list when used directly', () => {
    const { chart, pipelines } = build();
    const ambient = new IstioMesh(chart, 'Ambient', { mode: 'external', dataplane: 'ambient', namespace: 'istio-ambient' });
    const props = {
      namespace: NS, userHeaders: HEADERS, apiServer: pipelines.apiServer.peer, ui: pipelines.ui.endpoint.peer, metadataGrpc: pipelines.metadata.grpc,
      visualization: pipelines.ui.endpoint.peer, backendServiceAccounts: ['ml-pipeline'],
    };
    const gateway = {
      gatewayRef: 'kubeflow/kubeflow-gateway', host: 'h.example.com', url: 'https://h.example.com', ingress: pipelines.ui.endpoint.peer,
      ingressPrincipal: 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account', userHeaders: HEADERS,
    };
    expect(() => new PipelinesMultiUserAccess(chart, 'A', { ...props, gateway: { ...gateway, mesh: ambient } })).toThrow(/enforces no header rules without waypoints/);
    const sidecar = new IstioMesh(chart, 'Sidecar', { mode: 'external', namespace: 'istio-sidecar' });
    expect(() => new PipelinesMultiUserAccess(chart, 'B', { ...props, gateway: { ...gateway, mesh: sidecar }, backendServiceAccounts: [] }))
      .toThrow(/backendServiceAccounts must name/);
  });

  test.each([
    ['the Pipelines namespace', { name: NS }, /cannot live in the Pipelines namespace kubeflow/],
    ['a prefix with a leading slash', { name: 'team-a', artifactPrefix: '/private-artifacts/team-a/' }, /artifactPrefix .* must be a key prefix ending in \//],
    ['a prefix without the trailing slash', { name: 'team-a', artifactPrefix: 'private-artifacts/team-a' }, /must be a key prefix ending in \//],
  ] as const)('a profile in %s is refused', (_what, profile, message) => {
    const { chart, pipelines } = build();
    const scope = new Construct(chart, 'P');
    const stub: IProfile = {
      name: profile.name, namespace: profile.name, owner: { kind: 'User', name: 'u@example.com' }, scope,
      pods: { peerName: 'p', namespace: profile.name, podLabels: {} }, network: new ProfileNetwork(scope, 'Network', profile.name),
      artifactPrefix: 'artifactPrefix' in profile ? profile.artifactPrefix : `private-artifacts/${profile.name}/`,
    };
    expect(() => pipelines.profileExtension?.addToProfile(stub)).toThrow(message);
  });

  test('a profile added twice is refused', () => {
    const { chart, pipelines } = build({ profiles: [{ name: 'team-a' }] });
    const scope = new Construct(chart, 'Again');
    const again: IProfile = {
      name: 'team-a', namespace: 'team-a', owner: { kind: 'User', name: 'u@example.com' }, scope,
      pods: { peerName: 'p', namespace: 'team-a', podLabels: {} }, network: new ProfileNetwork(scope, 'Network', 'team-a'), artifactPrefix: 'private-artifacts/team-a/',
    };
    expect(() => pipelines.profileExtension?.addToProfile(again)).toThrow(/namespace team-a already has Pipelines' objects; add each profile once/);
  });

  test('with an IRSA store, a profile without a role is refused', () => {
    expect(() => build({ store: 's3-irsa', profiles: [{ name: 'team-b' }] })).toThrow(/the artifact store uses IRSA, so the profile needs awsRoleArn/);
  });

  test('PipelinesProfileResources refuses GKE Workload Identity', () => {
    const chart = new Chart(new App(), 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const store = new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'],
      namespace: NS, provider: 'gcs', bucket: 'kfp-artifacts', credentials: { type: 'workload-identity', gcpServiceAccount: 'kfp@p.iam.gserviceaccount.com' },
    });
    const endpoint = { serviceName: 'x', servicePort: 1, podPort: 1, peer: { peerName: 'x', namespace: NS, podLabels: { a: 'b' } } };
    expect(() => new PipelinesProfileResources(chart, 'P', {
      namespace: NS, store, apiServer: { http: endpoint, grpc: endpoint }, ui: endpoint, uiServiceAccount: 'ml-pipeline-ui', metadataGrpc: endpoint,
    })).toThrow(/not GKE Workload Identity/);
  });
});

describe('configuration', () => {
  const MESH = { certManager: { mode: 'managed' }, istio: { mode: 'managed' }, gateway: { host: 'kubeflow.localtest.me', tls: { type: 'self-signed' } } };
  const DEX = { mode: 'dex', dex: { staticUsers: [{ email: 'user@example.com', hashSecret: { name: 'dex-users', key: 'user-hash' } }] } };

  test('multi-user with the gateway and authentication is accepted', () => {
    expect(localConfig({ ...MESH, auth: DEX, pipelines: { mode: 'multi-user' } }).pipelines.mode).toBe('multi-user');
  });

  test('multi-user without authentication is rejected at pipelines.mode, naming auth.mode', () => {
    expect(configIssuePaths(() => localConfig({ ...MESH, pipelines: { mode: 'multi-user' } }))).toEqual(['pipelines.mode']);
    expect(() => localConfig({ ...MESH, pipelines: { mode: 'multi-user' } })).toThrow(/multi-user needs authentication.*set auth\.mode to dex or oidc/);
  });

  test('multi-user without Istio is rejected, naming istio.mode', () => {
    expect(() => localConfig({ pipelines: { mode: 'multi-user' } })).toThrow(/multi-user needs the Istio gateway: set istio\.mode/);
  });

  test('multi-user with the ambient dataplane is rejected, naming istio.dataplane', () => {
    const ambient = { ...MESH, istio: { mode: 'managed', dataplane: 'ambient' } };
    expect(configIssuePaths(() => localConfig({ ...ambient, auth: DEX, pipelines: { mode: 'multi-user' } }))).toEqual(['pipelines.mode']);
    expect(() => localConfig({ ...ambient, auth: DEX, pipelines: { mode: 'multi-user' } })).toThrow(/istio\.dataplane sidecar/);
  });
});
