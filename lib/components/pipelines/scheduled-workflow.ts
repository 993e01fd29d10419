import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { selectorLabels, standardLabels } from '../../core/labels';
import { allowKubeApi, allowTraffic, NetworkPeer } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { podTemplate } from '../../core/workload';
import { PipelinesApiServer, BACKEND_POD_SECURITY, waitForContainer, withSafeToEvict } from './api-server';
import { PipelineInstallConfig } from './install-config';
import { pipelinesTokenVolume, PIPELINES_TOKEN_DIR } from './persistence-agent';
import { pipelinesIdentity, pipelinesPeer, PipelinesPartProps } from './shared';

/** Upstream's name of the Deployment, container and ServiceAccount. */
const NAME = 'ml-pipeline-scheduledworkflow';
/** Port of the Prometheus metrics endpoint (`/metrics`), upstream's container port `http`. */
const METRICS_PORT = 9090;

/** Props of {@link ScheduledWorkflowController}. */
export interface ScheduledWorkflowControllerProps extends PipelinesPartProps {
  /** The API server the controller creates runs through. */
  readonly apiServer: PipelinesApiServer;
  /** The install configuration (time zone of cron schedules). */
  readonly installConfig: PipelineInstallConfig;
  /**
   * Queries per second the controller may send to the Kubernetes API.
   * @default 10
   */
  readonly clientQps?: number;
  /**
   * Burst above {@link clientQps}.
   * @default 20
   */
  readonly clientBurst?: number;
  /**
   * Seconds between full resyncs of recurring runs.
   * @default 30
   */
  readonly resyncIntervalSeconds?: number;
  /**
   * Log level.
   * @default 'info'
   */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Compute budget of the controller container (upstream sets none).
   * @default - 50m CPU; 128Mi memory request, 256Mi limit
   */
  readonly resources?: ResourceBudget;
}

function positive(what: string, n: number | undefined): void {
  if (n !== undefined && !(Number.isFinite(n) && n > 0)) throw new Error(`ScheduledWorkflowController: ${what} ${n} must be a positive number`);
}

/**
 * The Kubeflow Pipelines ScheduledWorkflow controller (`ml-pipeline-scheduledworkflow`, KFP 2.17.0, standalone
 * mode) as upstream's platform-agnostic install ships it: Deployment, container and ServiceAccount names, image,
 * environment (the cron time zone from `pipeline-install-config`), metrics port 9090, its namespaced Role
 * (24 permissions), the `wait-for-ml-pipeline` init container and the projected token (audience
 * `pipelines.kubeflow.org`) it presents to the API server when it creates runs over gRPC (8887). It reconciles
 * ScheduledWorkflow resources (CRD `scheduledworkflows.kubeflow.org`, installed by the CRD part) and Argo Workflows
 * through the Kubernetes API, so it mounts the ServiceAccount token.
 *
 * Differences from upstream, on purpose: the init container runs kfkit's own wait loop (same image, command and
 * variables); requests and a memory limit (upstream sets none); a read-only root filesystem. Runs as UID 1000,
 * GID 0 like upstream: the image's user `appuser` is a name, which the kubelet cannot verify as non-root.
 */
export class ScheduledWorkflowController extends Construct {
  /** `ml-pipeline-scheduledworkflow`. */
  public readonly serviceAccountName = NAME;
  /** Port of the metrics endpoint on the pods. */
  public readonly metricsPort = METRICS_PORT;
  /** The controller pods, as a network peer (e.g. for a metrics scraper). */
  public readonly peer: NetworkPeer;
  /** The Deployment. */
  public readonly resource: k8s.KubeDeployment;

  public constructor(scope: Construct, id: string, props: ScheduledWorkflowControllerProps) {
    super(scope, id);
    const { namespace, apiServer, installConfig } = props;
    if (props.mode !== 'standalone') throw new Error(`ScheduledWorkflowController: mode ${props.mode} is not implemented yet; only standalone`);
    if (apiServer.namespace !== namespace) {
      throw new Error(`ScheduledWorkflowController: the API server runs in ${apiServer.namespace}; the controller (namespace ${namespace}) reaches it by its short name in its own namespace`);
    }
    positive('clientQps', props.clientQps);
    positive('clientBurst', props.clientBurst);
    positive('resyncIntervalSeconds', props.resyncIntervalSeconds);
    const ctx = KfkitContext.of(this);
    const identity = pipelinesIdentity(NAME);
    const labels = standardLabels(identity);
    this.peer = pipelinesPeer(namespace, NAME);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: NAME, namespace, labels }, automountServiceAccountToken: false });
    const all = ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'];
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: { name: `${NAME}-role`, namespace, labels },
      rules: [
        { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: all },
        { apiGroups: ['kubeflow.org'], resources: ['scheduledworkflows', 'scheduledworkflows/finalizers'], verbs: all },
        { apiGroups: ['pipelines.kubeflow.org'], resources: ['runs'], verbs: ['create'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: `${NAME}-binding`, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name ?? '' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    });

    const tokenVolume = 'scheduledworkflow-sa-token';
    const template = podTemplate(this, {
      identity,
      serviceAccountName: NAME,
      automountServiceAccountToken: true,
      security: BACKEND_POD_SECURITY,
      initContainers: [
        waitForContainer(this, 'wait-for-ml-pipeline', { name: 'WAIT_HOST', value: apiServer.serviceName },
          { name: 'WAIT_PORT', value: String(apiServer.httpPort) }),
      ],
      containers: [{
        name: NAME,
        image: ctx.images.image('kfp-scheduled-workflow-controller'),
        ports: [{ name: 'http', containerPort: METRICS_PORT, protocol: 'TCP' }],
        env: [
          { name: 'METRICS_PORT', value: String(METRICS_PORT) },
          { name: 'CLIENT_QPS', value: String(props.clientQps ?? 10) },
          { name: 'RESYNC_INTERVAL_SECONDS', value: String(props.resyncIntervalSeconds ?? 30) },
          { name: 'CLIENT_BURST', value: String(props.clientBurst ?? 20) },
          { name: 'LOG_LEVEL', value: props.logLevel ?? 'info' },
          { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          {
            name: 'CRON_SCHEDULE_TIMEZONE',
            valueFrom: { configMapKeyRef: { name: installConfig.name, key: installConfig.keys.cronScheduleTimezone } },
          },
        ],
        resources: props.resources ?? { cpu: { request: '50m' }, memory: { request: '128Mi', limit: '256Mi' } },
        volumeMounts: [{ name: tokenVolume, mountPath: PIPELINES_TOKEN_DIR }],
      }],
      volumes: [pipelinesTokenVolume(tokenVolume, 'scheduledworkflow-sa-token')],
    });
    this.resource = new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: NAME, namespace, labels },
      spec: { selector: { matchLabels: selectorLabels(identity) }, template: withSafeToEvict(template) },
    });

    allowKubeApi(this, this.peer);
    // gRPC for CreateRun; HTTP for the init container's wait.
    allowTraffic(this, this.peer, apiServer.peer, [{ port: apiServer.httpPort }, { port: apiServer.grpcPort }]);
  }
}
