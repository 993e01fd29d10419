import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { IArtifactStore } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { IDatabase } from '../../core/database';
import { DatabaseConsumer, databaseConsumerIssues } from '../../core/database-consumers';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { allowKubeApi, allowTraffic, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ContainerProps, deployment } from '../../core/workload';

/** The Kubeflow Pipelines release kfkit follows (images, facts). */
export const PIPELINES_VERSION = '2.17.0';

/** `app.kubernetes.io/component` of every Kubeflow Pipelines object. */
export const PIPELINES_COMPONENT = 'pipelines';

/** Single-user (no auth, one namespace) or multi-user (profiles, user header, namespaced runs). */
export type PipelinesMode = 'standalone' | 'multi-user';

/**
 * The ServiceAccount pipeline runs (and TensorBoard viewers) use in a profile namespace in multi-user mode
 * (upstream's `DEFAULTPIPELINERUNNERSERVICEACCOUNT`). The profile construct creates it, binds it to `kubeflow-edit`
 * and, with IRSA, annotates it with the profile's role; Pipelines only names it.
 */
export const PROFILE_RUNNER_SERVICE_ACCOUNT = 'default-editor';

/**
 * The env var through which a controller learns which namespace to watch: its own (standalone, `metadata.namespace`)
 * or every namespace (multi-user: upstream sets the variable to the empty string).
 */
export function watchedNamespace(variable: string, mode: PipelinesMode): k8s.EnvVar {
  return mode === 'standalone'
    ? { name: variable, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }
    : { name: variable, value: '' };
}

/** Props every part of Kubeflow Pipelines receives from {@link KubeflowPipelines}. */
export interface PipelinesPartProps {
  /** Namespace of the Pipelines backend (the platform namespace). */
  readonly namespace: string;
  /** Metadata database (KFP, ML Metadata, cache). */
  readonly database: IDatabase;
  /** Artifact store. */
  readonly store: IArtifactStore;
  /** Deployment mode. */
  readonly mode: PipelinesMode;
}

/** Identity (labels) of a Pipelines workload, by its upstream name. */
export function pipelinesIdentity(name: string): ComponentIdentity {
  return { name, component: PIPELINES_COMPONENT, version: PIPELINES_VERSION };
}

/**
 * The pods of the Pipelines workload `name` (its upstream Deployment name, e.g. `ml-pipeline`), as a network
 * peer. Parts use these to open the connections they make: the client side writes `allowTraffic(client, server)`.
 */
export function pipelinesPeer(namespace: string, name: string): NetworkPeer {
  return { peerName: name, namespace, podLabels: selectorLabels(pipelinesIdentity(name)) };
}

/**
 * Where clients reach a server of another Pipelines part: its Service (name and port, in the part's namespace) and
 * its pods (network peer and pod port, for the network policy the client writes with `allowTraffic`).
 */
export interface PipelinesEndpoint {
  /** Service name, e.g. `metadata-grpc-service`. */
  readonly serviceName: string;
  /** Service port, e.g. `8080`. */
  readonly servicePort: number;
  /** The server's pods. */
  readonly peer: NetworkPeer;
  /** The port the pods listen on (what a network policy opens). */
  readonly podPort: number;
}

/** Host name of an endpoint's Service, namespace-qualified (resolves through the pod's DNS search path). */
export function endpointHost(endpoint: PipelinesEndpoint): string {
  return `${endpoint.serviceName}.${endpoint.peer.namespace}`;
}

/** UID upstream runs every Kubeflow Pipelines container as (`runAsUser: 1000`); most of their images default to root. */
export const PIPELINES_UID = 1000;

/**
 * The user and group upstream runs the backend containers as (`runAsUser: 1000`, `runAsGroup: 0`): the API server
 * image defaults to root, the agent's and controller's to the named user `appuser`, which the kubelet cannot verify
 * as non-root.
 */
export const BACKEND_POD_SECURITY = { user: PIPELINES_UID, group: 0 } as const;

/** Upstream's pod annotation on the backend pods: the cluster autoscaler may evict them to scale a node down. */
export const SAFE_TO_EVICT: Readonly<Record<string, string>> = { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true' };

/**
 * The loops of kfkit's `wait-for-*` init containers (POSIX sh, busybox `nc`), kfkit's own text with the contract of
 * upstream's init containers: poll `$WAIT_HOST:$WAIT_PORT` until it accepts a TCP connection, then exit non-zero after
 * about 10 minutes, so the pod restarts with back-off and the failure shows in its status and logs naming the address.
 */
const WAIT_LOOPS = {
  /** ML Metadata's pods: every 5 seconds until a deadline 10 minutes after the start. */
  deadline: 'limit=$(( $(date +%s) + 600 )); until nc -z -w 2 "$WAIT_HOST" "$WAIT_PORT"; do '
    + '[ "$(date +%s)" -lt "$limit" ] || { echo "gave up: $WAIT_HOST:$WAIT_PORT unreachable for 10 minutes" >&2; exit 1; }; '
    + 'echo "waiting for $WAIT_HOST:$WAIT_PORT"; sleep 5; done',
  /** The backend's pods (API server, persistence agent, ScheduledWorkflow controller): at most 120 attempts about 5 s apart. */
  attempts: `
: "\${WAIT_HOST:?WAIT_HOST is empty}"
: "\${WAIT_PORT:?WAIT_PORT is empty}"
attempt=1
until nc -z -w 2 "$WAIT_HOST" "$WAIT_PORT"; do
  if [ "$attempt" -ge 120 ]; then
    echo "$WAIT_HOST:$WAIT_PORT refused connections $attempt times; giving up (the kubelet retries)" >&2
    exit 1
  fi
  echo "waiting for $WAIT_HOST:$WAIT_PORT ($attempt)"
  attempt=$((attempt + 1))
  sleep 5
done
echo "$WAIT_HOST:$WAIT_PORT accepts connections"
`.trim(),
} as const;

/** Which wait loop a `wait-for-*` container runs (see {@link waitForContainer}). */
export type WaitLoop = keyof typeof WAIT_LOOPS;

/**
 * A `wait-for-*` init container as upstream's Pipelines pods have them (same name, image and command): alpine,
 * `/bin/sh -ec`, the address in `WAIT_HOST`/`WAIT_PORT` — each a literal value or read from a ConfigMap or Secret
 * key — upstream's small budget, kfkit's own `loop`. Runs as the pod's user (the image's default is root).
 */
export function waitForContainer(
  scope: Construct, name: string, loop: WaitLoop, host: string | k8s.EnvVarSource, port: number | k8s.EnvVarSource,
): ContainerProps {
  const env = (variable: string, v: string | number | k8s.EnvVarSource): k8s.EnvVar =>
    typeof v === 'object' ? { name: variable, valueFrom: v } : { name: variable, value: String(v) };
  return {
    name,
    image: KfkitContext.of(scope).images.image('alpine'),
    command: ['/bin/sh', '-ec'],
    args: [WAIT_LOOPS[loop]],
    env: [env('WAIT_HOST', host), env('WAIT_PORT', port)],
    resources: { cpu: { request: '10m', limit: '100m' }, memory: { request: '16Mi', limit: '64Mi' } },
  };
}

/** Audience of the token the backend components present to the API server (2.17.0: the server's token review expects it). */
export const PIPELINES_TOKEN_AUDIENCE = 'pipelines.kubeflow.org';
/** Where the 2.17.0 backend components read their API-server tokens from (a projected volume per component). */
export const PIPELINES_TOKEN_DIR = '/var/run/secrets/kubeflow/tokens';

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

/** Props of {@link backendAgent}. */
export interface BackendAgentProps {
  /** Upstream's name of the Deployment, container and ServiceAccount; the Role and RoleBinding are `<name>-role`, `<name>-binding`. */
  readonly name: string;
  /** Namespace of the agent (the API server's). */
  readonly namespace: string;
  /** The API server the agent calls: its REST and gRPC endpoints (`PipelinesApiServer.http`, `.grpc`). */
  readonly apiServer: { readonly http: PipelinesEndpoint; readonly grpc: PipelinesEndpoint };
  /** The agent's namespaced permissions (upstream's Role). */
  readonly rules: readonly k8s.PolicyRule[];
  /**
   * Grant the same permissions cluster-wide too (multi-user: upstream adds a ClusterRole `<name>-role` and a
   * ClusterRoleBinding `<name>-binding` beside the Role, so the agent watches every profile namespace).
   */
  readonly clusterWide: boolean;
  /** Name of the projected API-server token volume, also its file below {@link PIPELINES_TOKEN_DIR}. */
  readonly tokenVolume: string;
  /** The agent's container, but its name and the token mount. */
  readonly container: Omit<ContainerProps, 'name' | 'volumeMounts'>;
}

/**
 * A backend agent of the API server as upstream's persistence agent and ScheduledWorkflow controller are built: the
 * ServiceAccount and its Role, a Deployment (upstream's safe-to-evict pod annotation, UID 1000 / GID 0, the
 * ServiceAccount token mounted: agents watch the Kubernetes API) whose pods wait for the API server
 * (`wait-for-ml-pipeline`) and present a projected token to it, and network paths to the Kubernetes API and the API
 * server's HTTP and gRPC ports.
 */
export function backendAgent(scope: Construct, props: BackendAgentProps): { peer: NetworkPeer; resource: k8s.KubeDeployment } {
  const { name, namespace, apiServer } = props;
  const identity = pipelinesIdentity(name);
  const peer = pipelinesPeer(namespace, name);
  serviceAccountWithRole(scope, {
    name,
    namespace,
    labels: standardLabels(identity),
    automountServiceAccountToken: false,
    rules: props.rules,
    roleName: `${name}-role`,
    roleBindingName: `${name}-binding`,
    ...(props.clusterWide ? { clusterRules: props.rules, clusterRoleName: `${name}-role`, clusterRoleBindingName: `${name}-binding` } : {}),
  });
  const resource = deployment(scope, {
    namespace,
    identity,
    pod: {
      annotations: SAFE_TO_EVICT,
      serviceAccountName: name,
      automountServiceAccountToken: true,
      security: BACKEND_POD_SECURITY,
      initContainers: [waitForContainer(scope, 'wait-for-ml-pipeline', 'attempts', apiServer.http.serviceName, apiServer.http.servicePort)],
      containers: [{ ...props.container, name, volumeMounts: [{ name: props.tokenVolume, mountPath: PIPELINES_TOKEN_DIR }] }],
      volumes: [pipelinesTokenVolume(props.tokenVolume, props.tokenVolume)],
    },
  });
  allowKubeApi(scope, peer);
  // HTTP (the init container's wait, REST reports) and gRPC.
  allowTraffic(scope, peer, apiServer.http.peer, [{ port: apiServer.http.podPort }, { port: apiServer.grpc.podPort }]);
  return { peer, resource };
}

/**
 * Throws when `db` has settings a consumer cannot use (the configuration is checked against the same table before
 * anything is built; this guards direct use of the constructs), naming the first problem.
 */
export function checkDatabaseConsumer(part: string, db: IDatabase, consumer: DatabaseConsumer): void {
  const issue = databaseConsumerIssues({ type: db.inCluster ? 'in-cluster' : 'external', engine: db.engine, tls: db.tls }, [consumer]).at(0);
  if (issue) throw new Error(`${part}: database.${issue.path.join('.')}: ${issue.message}`);
}
