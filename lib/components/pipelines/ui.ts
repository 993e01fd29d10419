import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { endpointHostPort } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { GeneratedSecret } from '../../core/generated-secret';
import { selectorLabels, standardLabels } from '../../core/labels';
import { allowKubeApi, allowTraffic, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget, restrictedContainer, restrictedPod } from '../../core/security';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { INSTALL_CONFIG_KEYS, PIPELINE_INSTALL_CONFIG } from './install-config';
import {
  endpointHost, PIPELINES_UID, PipelinesEndpoint, pipelinesIdentity, PipelinesPartProps, pipelinesPeer, PROFILE_RUNNER_SERVICE_ACCOUNT,
} from './shared';

/** Props of {@link PipelinesUi}. */
export interface PipelinesUiProps extends PipelinesPartProps {
  /**
   * The Pipelines API server the UI server forwards API calls to.
   * @default - upstream's: Service `ml-pipeline` port 8888, pods of `ml-pipeline` (port 8888)
   */
  readonly apiServer?: PipelinesEndpoint;
  /**
   * The ML Metadata gRPC-web proxy the UI server forwards `/ml_metadata` calls to ({@link MetadataService.envoy}).
   * @default - upstream's: Service `metadata-envoy-service` port 9090, pods of `metadata-envoy-deployment` (port 9090)
   */
  readonly metadataEnvoy?: PipelinesEndpoint;
  /**
   * Whether users may run their own Python code as visualizations (upstream `ALLOW_CUSTOM_VISUALIZATIONS`; the code
   * runs in the visualization server).
   * @default true (upstream's setting)
   */
  readonly allowCustomVisualizations?: boolean;
  /**
   * Compute budget of the UI server.
   * @default - 10m CPU; 70Mi memory request (upstream's), 512Mi limit
   */
  readonly resources?: ResourceBudget;
  /**
   * Compute budget of each TensorBoard viewer pod the UI starts (through the viewer controller).
   * @default - 50m CPU; 256Mi memory request, 2Gi limit
   */
  readonly viewerResources?: ResourceBudget;
}

const NAME = 'ml-pipeline-ui';
const PORT = 3000;
const CONFIGMAP = 'ml-pipeline-ui-configmap';
const VIEWER_TEMPLATE_KEY = 'viewer-pod-template.json';
/** The ServiceAccount of TensorBoard viewer pods (upstream's, named in the viewer pod template). */
export const VIEWER_SERVICE_ACCOUNT = 'kubeflow-pipelines-viewer';
/** Port TensorBoard listens on in viewer pods (the viewer controller's `viewerTargetPort`). */
export const VIEWER_PORT = 6006;
/** Labels of the TensorBoard viewer pods (kfkit's template labels, kept by the viewer controller), in any namespace. */
export const VIEWER_POD_LABELS: Readonly<Record<string, string>> = selectorLabels(pipelinesIdentity(VIEWER_SERVICE_ACCOUNT));
/** Name and port of the per-namespace artifact server the multi-user UI would proxy to (upstream's; kfkit keeps the proxy off). */
const ARTIFACTS_PROXY = { name: 'ml-pipeline-ui-artifact', port: 80 } as const;
/** kfkit's Secret with the key the UI signs TensorBoard proxy paths with (HMAC). */
export const UI_SIGNING_SECRET = 'ml-pipeline-ui-proxy-signing';

/**
 * The Kubeflow Pipelines UI 2.17.0 (`ml-pipeline-ui`: the frontend server, Service `ml-pipeline-ui` port 80 → 3000),
 * as upstream's platform-agnostic install has it: names, image, port, env var names, the namespaced Role (pods and
 * logs, events, Secrets and ConfigMaps, Viewers, Argo Workflows), and `ml-pipeline-ui-configmap` with the pod
 * template of TensorBoard viewers (`viewer-pod-template.json`, ServiceAccount `kubeflow-pipelines-viewer`).
 *
 * Wiring from typed references instead of defaults and Service links: the artifact store's host, port, TLS, region
 * and bucket (`MINIO_*`, `AWS_*`, `ARGO_ARCHIVE_*`), and the API server and ML Metadata proxy addresses
 * (`ML_PIPELINE_SERVICE_*`, `METADATA_ENVOY_SERVICE_SERVICE_*`, which upstream takes from the env Kubernetes
 * injects for Services that exist before the pod). Store keys come from the store's Secret; with IRSA or Workload
 * Identity there are no key variables at all and the ServiceAccount carries the identity (`ARGO_ARCHIVE_ARTIFACTORY`
 * `s3` with IRSA, so archived logs are read with the role). TensorBoard proxy paths are signed with a key generated
 * in the cluster (`ml-pipeline-ui-proxy-signing`) instead of the store's secret key — upstream's fallback without
 * store keys is the well-known `minio123`.
 *
 * Viewer pods (created by the viewer controller from the template) are restricted too: the template carries the
 * restricted security context, requests and limits, no token, a writable `/tmp` and kfkit's labels, which the
 * controller keeps; their ServiceAccount carries the store identity and they may reach the store.
 *
 * Network: UI → API server (8888), → ML Metadata proxy (9090), → store, → Kubernetes API, → viewer pods (6006);
 * viewer pods → store.
 *
 * Multi-user (upstream's multi-user install): `DEPLOYMENT=KUBEFLOW`, `ENABLE_AUTHZ=true` (every request is authorized
 * for the user in the gateway's header, artifacts included: the UI reads them itself after a SubjectAccessReview, as
 * the artifact proxy stays off), the user-id header and prefix from `pipeline-install-config`, the artifact proxy's
 * name and port; a ClusterRole/ClusterRoleBinding `ml-pipeline-ui` beside the Role; viewers run in the profile
 * namespaces as their `default-editor`, so the paths to them are written per profile (PipelinesProfileResources).
 */
export class PipelinesUi extends Construct {
  /** The UI's Service (`ml-pipeline-ui`, port 80 → 3000). */
  public readonly endpoint: PipelinesEndpoint;
  /** The TensorBoard viewer pods the UI starts (standalone: in its namespace; multi-user: see {@link VIEWER_POD_LABELS}). */
  public readonly viewerPeer: NetworkPeer;
  /** The UI server's ServiceAccount (`ml-pipeline-ui`), e.g. for Istio principals. */
  public readonly serviceAccountName = NAME;

  public constructor(scope: Construct, id: string, props: PipelinesUiProps) {
    super(scope, id);
    const multiUser = props.mode === 'multi-user';
    const ns = props.namespace;
    const store = props.store;
    const ctx = KfkitContext.of(this);
    const identity = pipelinesIdentity(NAME);
    const labels = standardLabels(identity);
    const peer = pipelinesPeer(ns, NAME);
    this.endpoint = { serviceName: NAME, servicePort: 80, peer, podPort: PORT };
    const apiServer = props.apiServer ?? { serviceName: 'ml-pipeline', servicePort: 8888, peer: pipelinesPeer(ns, 'ml-pipeline'), podPort: 8888 };
    const envoy = props.metadataEnvoy ?? {
      serviceName: 'metadata-envoy-service', servicePort: 9090, peer: pipelinesPeer(ns, 'metadata-envoy-deployment'), podPort: 9090,
    };
    const viewerIdentity = pipelinesIdentity(VIEWER_SERVICE_ACCOUNT);
    this.viewerPeer = pipelinesPeer(ns, VIEWER_SERVICE_ACCOUNT);

    const clusterRules: k8s.PolicyRule[] = [
      { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list'] },
      { apiGroups: ['kubeflow.org'], resources: ['viewers'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
      { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['get', 'list'] },
    ];
    serviceAccountWithRole(this, {
      name: NAME,
      namespace: ns,
      labels,
      annotations: store.serviceAccountAnnotations(),
      rules: [
        ...clusterRules.slice(0, 2),
        { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['get', 'list'] },
        ...clusterRules.slice(2),
      ],
      // Multi-user: pods, logs, events, Viewers and Workflows of every profile namespace (upstream's ClusterRole
      // ml-pipeline-ui); Secrets and ConfigMaps stay namespaced.
      ...(multiUser ? { clusterRules } : {}),
    });
    clusterIpService(this, { name: NAME, namespace: ns, identity, ports: [servicePort('http', 80, PORT)] });

    // TensorBoard viewers: their ServiceAccount and the pod template the UI puts into each Viewer.
    serviceAccountWithRole(this, {
      idPrefix: 'Viewer',
      name: VIEWER_SERVICE_ACCOUNT,
      namespace: ns,
      labels: standardLabels(viewerIdentity),
      annotations: store.serviceAccountAnnotations(),
      automountServiceAccountToken: false,
    });
    const viewer = props.viewerResources ?? { cpu: { request: '50m' }, memory: { request: '256Mi', limit: '2Gi' } };
    const pullSecrets = ctx.images.pullSecrets;
    const viewerTemplate = {
      metadata: { labels: { ...standardLabels(viewerIdentity), ...selectorLabels(viewerIdentity) } },
      spec: {
        // Multi-user: viewers run in the user's profile namespace, as its default-editor (upstream's template).
        serviceAccountName: multiUser ? PROFILE_RUNNER_SERVICE_ACCOUNT : VIEWER_SERVICE_ACCOUNT,
        automountServiceAccountToken: false,
        securityContext: restrictedPod({ user: PIPELINES_UID }),
        imagePullSecrets: pullSecrets.length > 0 ? pullSecrets.map((name) => ({ name })) : undefined,
        // The controller sets name, image, args and ports of the first container and keeps the rest.
        containers: [{
          name: 'tensorboard',
          resources: {
            requests: { cpu: viewer.cpu.request, memory: viewer.memory.request },
            limits: { memory: viewer.memory.limit, ...(viewer.cpu.limit !== undefined ? { cpu: viewer.cpu.limit } : {}) },
          },
          securityContext: restrictedContainer(),
          // TensorBoard records its instances in the temp directory.
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        }],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    };
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: CONFIGMAP, namespace: ns, labels },
      data: { [VIEWER_TEMPLATE_KEY]: `${JSON.stringify(viewerTemplate, undefined, 2)}\n` },
    });

    const signing = new GeneratedSecret(this, 'ProxySigningKey', {
      name: UI_SIGNING_SECRET,
      namespace: ns,
      identity,
      keys: { key: { randomBytes: 32 } },
    });

    const { host, port } = endpointHostPort(store);
    const creds = store.credentials;
    const fieldRef = (name: string, fieldPath: string): k8s.EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    const installConfig = (name: string, key: string): k8s.EnvVar => (
      { name, valueFrom: { configMapKeyRef: { name: PIPELINE_INSTALL_CONFIG, key, optional: true } } }
    );
    // Multi-user (upstream's patch): Kubeflow's dashboard around the UI, authorization of every request by the user
    // in the gateway's header, and the name of the per-namespace artifact server (used only with the proxy on).
    const multiUserEnv: k8s.EnvVar[] = multiUser
      ? [
        { name: 'DEPLOYMENT', value: 'KUBEFLOW' },
        { name: 'ARTIFACTS_SERVICE_PROXY_NAME', value: ARTIFACTS_PROXY.name },
        { name: 'ARTIFACTS_SERVICE_PROXY_PORT', value: String(ARTIFACTS_PROXY.port) },
        { name: 'ENABLE_AUTHZ', value: 'true' },
        installConfig('KUBEFLOW_USERID_HEADER', INSTALL_CONFIG_KEYS.userIdHeader),
        installConfig('KUBEFLOW_USERID_PREFIX', INSTALL_CONFIG_KEYS.userIdPrefix),
      ]
      : [];
    const env: k8s.EnvVar[] = [
      { name: 'VIEWER_TENSORBOARD_POD_TEMPLATE_SPEC_PATH', value: `/etc/config/${VIEWER_TEMPLATE_KEY}` },
      ...multiUserEnv,
      // The store: MINIO_* for minio:// artifacts and archived logs, AWS_* for s3:// artifacts (IRSA: the SDK's chain).
      { name: 'MINIO_HOST', value: host },
      { name: 'MINIO_PORT', value: String(port) },
      { name: 'MINIO_SSL', value: String(store.secure) },
      // Empty: MINIO_HOST is already qualified (the server appends `.<MINIO_NAMESPACE>` to it otherwise).
      { name: 'MINIO_NAMESPACE', value: '' },
      ...(creds.type === 'secret' ? [
        { name: 'MINIO_ACCESS_KEY', valueFrom: { secretKeyRef: { name: creds.secretName, key: creds.accessKeyKey } } },
        { name: 'MINIO_SECRET_KEY', valueFrom: { secretKeyRef: { name: creds.secretName, key: creds.secretKeyKey } } },
      ] : []),
      { name: 'AWS_S3_ENDPOINT', value: host },
      { name: 'AWS_REGION', value: store.region },
      { name: 'AWS_SSL', value: String(store.secure) },
      { name: 'ARGO_ARCHIVE_LOGS', value: 'true' },
      { name: 'ARGO_ARCHIVE_ARTIFACTORY', value: creds.type === 'irsa' ? 's3' : 'minio' },
      { name: 'ARGO_ARCHIVE_BUCKETNAME', value: store.bucket },
      { name: 'ML_PIPELINE_SERVICE_HOST', value: endpointHost(apiServer) },
      { name: 'ML_PIPELINE_SERVICE_PORT', value: String(apiServer.servicePort) },
      { name: 'METADATA_ENVOY_SERVICE_SERVICE_HOST', value: endpointHost(envoy) },
      { name: 'METADATA_ENVOY_SERVICE_SERVICE_PORT', value: String(envoy.servicePort) },
      { name: 'TENSORBOARD_PROXY_SIGNING_SECRET', valueFrom: { secretKeyRef: { name: signing.secretName, key: 'key' } } },
      { name: 'ALLOW_CUSTOM_VISUALIZATIONS', value: String(props.allowCustomVisualizations ?? true) },
      fieldRef('FRONTEND_SERVER_NAMESPACE', 'metadata.namespace'),
      { name: 'DISABLE_GKE_METADATA', value: 'true' },
      installConfig('ARTIFACT_NAMESPACE_OWNERSHIP_MODE', 'ARTIFACT_NAMESPACE_OWNERSHIP_MODE'),
      installConfig('ARTIFACT_NAMESPACE_KEY_PREFIX', 'ARTIFACT_NAMESPACE_KEY_PREFIX'),
      installConfig('CLUSTER_DOMAIN', 'CLUSTER_DOMAIN'),
      installConfig('ARTIFACTS_SERVICE_PROXY_ENABLED', 'ARTIFACTS_PROXY_ENABLED'),
    ];
    const healthz = {
      httpGet: { path: '/apis/v1beta1/healthz', port: k8s.IntOrString.fromNumber(PORT) }, initialDelaySeconds: 3, periodSeconds: 5, timeoutSeconds: 2,
    };
    deployment(this, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: NAME,
        // The UI server reads pods, logs, Workflows and Secrets, and creates Viewers.
        automountServiceAccountToken: true,
        security: { user: PIPELINES_UID },
        containers: [{
          name: NAME,
          image: ctx.images.image('kfp-frontend'),
          ports: [{ containerPort: PORT, protocol: 'TCP' }],
          env,
          resources: props.resources ?? { cpu: { request: '10m' }, memory: { request: '70Mi', limit: '512Mi' } },
          volumeMounts: [{ name: 'config-volume', mountPath: '/etc/config', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
          readinessProbe: healthz,
          livenessProbe: healthz,
        }],
        volumes: [{ name: 'config-volume', configMap: { name: CONFIGMAP } }, { name: 'tmp', emptyDir: {} }],
      },
    });

    allowTraffic(this, peer, apiServer.peer, [{ port: apiServer.podPort }]);
    allowTraffic(this, peer, envoy.peer, [{ port: envoy.podPort }]);
    allowKubeApi(this, peer);
    store.allowFrom(peer);
    // Standalone viewers run here; multi-user ones in the profile namespaces (PipelinesProfileResources opens those).
    if (!multiUser) {
      allowTraffic(this, peer, this.viewerPeer, [{ port: VIEWER_PORT }]);
      store.allowFrom(this.viewerPeer);
    }
  }
}
