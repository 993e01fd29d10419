import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { selectorLabels, standardLabels } from '../../core/labels';
import { allowKubeApi, allowTraffic, NetworkPeer } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { podTemplate } from '../../core/workload';
import { PipelinesApiServer, BACKEND_POD_SECURITY, waitForContainer, withSafeToEvict } from './api-server';
import { pipelinesIdentity, pipelinesPeer, PipelinesPartProps } from './shared';

/** Upstream's name of the Deployment, container and ServiceAccount. */
const NAME = 'ml-pipeline-persistenceagent';
/** Audience of the token the agent presents to the API server (2.17.0: the server's token review expects it). */
export const PIPELINES_TOKEN_AUDIENCE = 'pipelines.kubeflow.org';
/** Where the 2.17.0 backend components read their API-server tokens from (a projected volume per component). */
export const PIPELINES_TOKEN_DIR = '/var/run/secrets/kubeflow/tokens';

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

/**
 * A projected ServiceAccount token for the API server (audience `pipelines.kubeflow.org`, one hour), as upstream
 * mounts it at `/var/run/secrets/kubeflow/tokens/<path>`. The kubelet rotates it; it is owned by the pod's user.
 */
export function pipelinesTokenVolume(volumeName: string, path: string): k8s.Volume {
  return {
    name: volumeName,
    projected: { sources: [{ serviceAccountToken: { path, expirationSeconds: 3600, audience: PIPELINES_TOKEN_AUDIENCE } }] },
  };
}

function positiveInteger(what: string, n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new Error(`PersistenceAgent: ${what} ${n} must be a positive whole number`);
}

/**
 * The Kubeflow Pipelines persistence agent (`ml-pipeline-persistenceagent`, KFP 2.17.0, standalone mode) as
 * upstream's platform-agnostic install ships it: Deployment, container and ServiceAccount names, image,
 * environment, its namespaced Role (10 permissions), the `wait-for-ml-pipeline` init container, and the projected
 * token (audience `pipelines.kubeflow.org`) it authenticates to the API server with. It watches Argo Workflows and
 * ScheduledWorkflows through the Kubernetes API (so it mounts the ServiceAccount token) and reports them to the API
 * server over HTTP (8888) and gRPC (8887).
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
    if (props.mode !== 'standalone') throw new Error(`PersistenceAgent: mode ${props.mode} is not implemented yet; only standalone`);
    if (apiServer.namespace !== namespace) {
      throw new Error(`PersistenceAgent: the API server runs in ${apiServer.namespace}; the agent (namespace ${namespace}) reaches it by its short name in its own namespace`);
    }
    positiveInteger('ttlSecondsAfterWorkflowFinish', props.ttlSecondsAfterWorkflowFinish);
    positiveInteger('workers', props.workers);
    const ctx = KfkitContext.of(this);
    const identity = pipelinesIdentity(NAME);
    const labels = standardLabels(identity);
    this.peer = pipelinesPeer(namespace, NAME);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: NAME, namespace, labels }, automountServiceAccountToken: false });
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: { name: `${NAME}-role`, namespace, labels },
      rules: [
        { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['kubeflow.org'], resources: ['scheduledworkflows'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['pipelines.kubeflow.org'], resources: ['scheduledworkflows', 'workflows'], verbs: ['report'] },
        { apiGroups: ['pipelines.kubeflow.org'], resources: ['runs'], verbs: ['reportMetrics', 'readArtifact'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: `${NAME}-binding`, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name ?? '' },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    });

    const tokenVolume = 'persistenceagent-sa-token';
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
        image: ctx.images.image('kfp-persistence-agent'),
        env: [
          { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'TTL_SECONDS_AFTER_WORKFLOW_FINISH', value: String(props.ttlSecondsAfterWorkflowFinish ?? 86400) },
          { name: 'NUM_WORKERS', value: String(props.workers ?? 2) },
          { name: 'LOG_LEVEL', value: props.logLevel ?? 'info' },
        ],
        resources: props.resources ?? { cpu: { request: '120m' }, memory: { request: '500Mi', limit: '1Gi' } },
        volumeMounts: [{ name: tokenVolume, mountPath: PIPELINES_TOKEN_DIR }],
      }],
      volumes: [pipelinesTokenVolume(tokenVolume, 'persistenceagent-sa-token')],
    });
    this.resource = new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: NAME, namespace, labels },
      spec: { selector: { matchLabels: selectorLabels(identity) }, template: withSafeToEvict(template) },
    });

    allowKubeApi(this, this.peer);
    allowTraffic(this, this.peer, apiServer.peer, [{ port: apiServer.httpPort }, { port: apiServer.grpcPort }]);
  }
}
