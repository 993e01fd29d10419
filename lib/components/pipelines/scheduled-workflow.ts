import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { NetworkPeer } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { PipelinesApiServer } from './api-server';
import { PipelineInstallConfig } from './install-config';
import { backendAgent, PipelinesPartProps, watchedNamespace } from './shared';

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
 * Multi-user: the identity the controller asserts when it creates runs for a recurring run (upstream's multi-user
 * patch): its ServiceAccount as `system:serviceaccount:<namespace>:<name>` in the user-id header named by
 * `pipeline-install-config`.
 */
function userIdentity(installConfig: PipelineInstallConfig): k8s.EnvVar[] {
  return [
    { name: 'NAMESPACE_SELF', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'SERVICE_ACCOUNT_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
    {
      name: 'USER_IDENTITY_HEADER',
      valueFrom: { configMapKeyRef: { name: installConfig.name, key: installConfig.keys.userIdHeader, optional: true } },
    },
    // Dependent variables: after NAMESPACE_SELF and SERVICE_ACCOUNT_NAME, which it expands.
    { name: 'USER_IDENTITY_VALUE', value: 'system:serviceaccount:$(NAMESPACE_SELF):$(SERVICE_ACCOUNT_NAME)' },
  ];
}

/**
 * The Kubeflow Pipelines ScheduledWorkflow controller (`ml-pipeline-scheduledworkflow`, KFP 2.17.0) as
 * upstream's platform-agnostic install ships it: Deployment, container and ServiceAccount names, image,
 * environment (the cron time zone from `pipeline-install-config`), metrics port 9090, its namespaced Role
 * (24 permissions), the `wait-for-ml-pipeline` init container and the projected token (audience
 * `pipelines.kubeflow.org`) it presents to the API server when it creates runs over gRPC (8887). It reconciles
 * ScheduledWorkflow resources (CRD `scheduledworkflows.kubeflow.org`, installed by the CRD part) and Argo Workflows
 * through the Kubernetes API, so it mounts the ServiceAccount token. Multi-user (upstream's multi-user install):
 * `NAMESPACE` empty (every namespace), the same permissions cluster-wide (`ml-pipeline-scheduledworkflow-role`
 * ClusterRole and `-binding`), and the identity it creates runs as (`USER_IDENTITY_HEADER`/`_VALUE`: its own
 * ServiceAccount, which the API server authorizes with a SubjectAccessReview).
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
    if (apiServer.namespace !== namespace) {
      throw new Error(`ScheduledWorkflowController: the API server runs in ${apiServer.namespace}; the controller (namespace ${namespace}) reaches it by its short name in its own namespace`);
    }
    positive('clientQps', props.clientQps);
    positive('clientBurst', props.clientBurst);
    positive('resyncIntervalSeconds', props.resyncIntervalSeconds);
    const all = ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'];
    const agent = backendAgent(this, {
      name: NAME,
      namespace,
      apiServer,
      rules: [
        { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: all },
        { apiGroups: ['kubeflow.org'], resources: ['scheduledworkflows', 'scheduledworkflows/finalizers'], verbs: all },
        { apiGroups: ['pipelines.kubeflow.org'], resources: ['runs'], verbs: ['create'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      ],
      clusterWide: props.mode === 'multi-user',
      tokenVolume: 'scheduledworkflow-sa-token',
      container: {
        image: KfkitContext.of(this).images.image('kfp-scheduled-workflow-controller'),
        ports: [{ name: 'http', containerPort: METRICS_PORT, protocol: 'TCP' }],
        env: [
          { name: 'METRICS_PORT', value: String(METRICS_PORT) },
          { name: 'CLIENT_QPS', value: String(props.clientQps ?? 10) },
          { name: 'RESYNC_INTERVAL_SECONDS', value: String(props.resyncIntervalSeconds ?? 30) },
          { name: 'CLIENT_BURST', value: String(props.clientBurst ?? 20) },
          { name: 'LOG_LEVEL', value: props.logLevel ?? 'info' },
          watchedNamespace('NAMESPACE', props.mode),
          ...(props.mode === 'multi-user' ? userIdentity(installConfig) : []),
          {
            name: 'CRON_SCHEDULE_TIMEZONE',
            valueFrom: { configMapKeyRef: { name: installConfig.name, key: installConfig.keys.cronScheduleTimezone } },
          },
        ],
        resources: props.resources ?? { cpu: { request: '50m' }, memory: { request: '128Mi', limit: '256Mi' } },
      },
    });
    this.peer = agent.peer;
    this.resource = agent.resource;
  }
}
