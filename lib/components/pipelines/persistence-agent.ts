import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { NetworkPeer } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { PipelinesApiServer } from './api-server';
import { backendAgent, PipelinesPartProps, watchedNamespace } from './shared';

/** Upstream's name of the Deployment, container and ServiceAccount. */
const NAME = 'ml-pipeline-persistenceagent';

/** Props of {@link PersistenceAgent}. */
export interface PersistenceAgentProps extends PipelinesPartProps {
  /** The API server the agent reports workflows to. */
  readonly apiServer: PipelinesApiServer;
  /**
   * Seconds a finished Argo Workflow is kept (after the agent recorded it) before it is garbage-collected.
   * @default 86400
   */
  readonly ttlSecondsAfterWorkflowFinish?: number;
  /**
   * Number of concurrent sync workers.
   * @default 2
   */
  readonly workers?: number;
  /**
   * Log level.
   * @default 'info'
   */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Compute budget of the agent container.
   * @default - upstream's requests (120m CPU, 500Mi memory) and a 1Gi memory limit
   */
  readonly resources?: ResourceBudget;
}

function positiveInteger(what: string, n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new Error(`PersistenceAgent: ${what} ${n} must be a positive whole number`);
}

/**
 * The Kubeflow Pipelines persistence agent (`ml-pipeline-persistenceagent`, KFP 2.17.0) as upstream's
 * platform-agnostic install ships it: Deployment, container and ServiceAccount names, image, environment, its
 * namespaced Role (10 permissions), the `wait-for-ml-pipeline` init container, and the projected token (audience
 * `pipelines.kubeflow.org`) it authenticates to the API server with. It watches Argo Workflows and
 * ScheduledWorkflows through the Kubernetes API (so it mounts the ServiceAccount token) and reports them to the API
 * server over HTTP (8888) and gRPC (8887). Multi-user (upstream's multi-user install): `NAMESPACE` empty, so it
 * watches every namespace, and the same permissions cluster-wide (ClusterRole and ClusterRoleBinding
 * `ml-pipeline-persistenceagent-role`/`-binding`).
 *
 * Differences from upstream, on purpose: the init container runs kfkit's own wait loop (same image, command and
 * variables); a memory limit; a read-only root filesystem (the agent writes nothing). Runs as UID 1000, GID 0 like
 * upstream: the image's user `appuser` is a name, which the kubelet cannot verify as non-root.
 */
export class PersistenceAgent extends Construct {
  /** `ml-pipeline-persistenceagent`. */
  public readonly serviceAccountName = NAME;
  /** The agent pods, as a network peer. */
  public readonly peer: NetworkPeer;
  /** The Deployment. */
  public readonly resource: k8s.KubeDeployment;

  public constructor(scope: Construct, id: string, props: PersistenceAgentProps) {
    super(scope, id);
    const { namespace, apiServer } = props;
    if (apiServer.namespace !== namespace) {
      throw new Error(`PersistenceAgent: the API server runs in ${apiServer.namespace}; the agent (namespace ${namespace}) reaches it by its short name in its own namespace`);
    }
    positiveInteger('ttlSecondsAfterWorkflowFinish', props.ttlSecondsAfterWorkflowFinish);
    positiveInteger('workers', props.workers);
    const agent = backendAgent(this, {
      name: NAME,
      namespace,
      apiServer,
      rules: [
        { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['kubeflow.org'], resources: ['scheduledworkflows'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['pipelines.kubeflow.org'], resources: ['scheduledworkflows', 'workflows'], verbs: ['report'] },
        { apiGroups: ['pipelines.kubeflow.org'], resources: ['runs'], verbs: ['reportMetrics', 'readArtifact'] },
      ],
      clusterWide: props.mode === 'multi-user',
      tokenVolume: 'persistenceagent-sa-token',
      container: {
        image: KfkitContext.of(this).images.image('kfp-persistence-agent'),
        env: [
          watchedNamespace('NAMESPACE', props.mode),
          { name: 'TTL_SECONDS_AFTER_WORKFLOW_FINISH', value: String(props.ttlSecondsAfterWorkflowFinish ?? 86400) },
          { name: 'NUM_WORKERS', value: String(props.workers ?? 2) },
          { name: 'LOG_LEVEL', value: props.logLevel ?? 'info' },
        ],
        resources: props.resources ?? { cpu: { request: '120m' }, memory: { request: '500Mi', limit: '1Gi' } },
      },
    });
    this.peer = agent.peer;
    this.resource = agent.resource;
  }
}
