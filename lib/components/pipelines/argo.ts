import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as YAML from 'yaml';
import { ArtifactCredentials } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { standardLabels } from '../../core/labels';
import { allowKubeApi, allowTraffic, NetworkPeer, NetworkPort } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { deployment } from '../../core/workload';
import { PipelinesPartProps, pipelinesIdentity, pipelinesPeer } from './shared';

/** Props of {@link ArgoWorkflowController}. */
export interface ArgoWorkflowControllerProps extends PipelinesPartProps {
  /**
   * Compute budget of the workflow-controller container.
   * @default - upstream's requests (100m CPU, 500Mi memory), 1Gi memory limit
   */
  readonly resources?: ResourceBudget;
  /**
   * Compute budget of the executor containers Argo adds to every workflow pod (`init`, `wait`), written to the
   * controller's `executor` configuration.
   * @default - 10m CPU, 64Mi memory request, 512Mi limit
   */
  readonly executorResources?: ResourceBudget;
}

/** A key of a Secret, as Argo's artifact repository refers to it. */
export interface ArgoSecretKeyRef {
  readonly name: string;
  readonly key: string;
}

/** The fields of Argo Workflows v4.0.5 `S3ArtifactRepository` kfkit sets. */
export interface ArgoS3ArtifactRepository {
  /** S3 API host[:port], without scheme. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  /** Plain HTTP. */
  readonly insecure: boolean;
  /** Where artifacts and archived logs go in the bucket (Argo template variables allowed). */
  readonly keyFormat: string;
  /** Static keys (a Secret in the workflows' namespace). */
  readonly accessKeySecret?: ArgoSecretKeyRef;
  readonly secretKeySecret?: ArgoSecretKeyRef;
  /** Credentials from the SDK's default chain (IRSA web identity). */
  readonly useSDKCreds?: boolean;
}

/** Argo Workflows `ArtifactRepository`: the default repository of the controller. */
export interface ArgoArtifactRepository {
  /** Archive the logs of every step to the repository (the KFP UI shows them after the pod is gone). */
  readonly archiveLogs: boolean;
  readonly s3: ArgoS3ArtifactRepository;
}

/** The parts of a Kubernetes container Argo's `executor` configuration carries (applied to init and wait containers). */
export interface ArgoExecutor {
  readonly imagePullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  readonly resources: { readonly requests: Readonly<Record<string, string>>; readonly limits: Readonly<Record<string, string>> };
  readonly securityContext: {
    readonly runAsNonRoot: boolean;
    readonly runAsUser: number;
    readonly allowPrivilegeEscalation: boolean;
    readonly capabilities: { readonly drop: readonly string[] };
    readonly seccompProfile: { readonly type: 'RuntimeDefault' };
  };
}

/** Argo Workflows `workflowDefaults`: a Workflow whose spec is merged into every workflow. */
export interface ArgoWorkflowDefaults {
  readonly spec: {
    readonly ttlStrategy: {
      readonly secondsAfterCompletion: number;
      readonly secondsAfterSuccess: number;
      readonly secondsAfterFailure: number;
    };
    readonly templateDefaults: {
      readonly retryStrategy: { readonly limit: string | number; readonly retryPolicy: 'Always' | 'OnFailure' | 'OnError' | 'OnTransientError' };
    };
  };
}

/** The controller configuration kfkit writes (`workflow-controller-configmap`, one YAML document per key). */
export interface ArgoControllerConfig {
  readonly artifactRepository: ArgoArtifactRepository;
  readonly executor: ArgoExecutor;
  readonly workflowDefaults: ArgoWorkflowDefaults;
}

const NAME = 'workflow-controller';
const SERVICE_ACCOUNT = 'argo';
const CONFIG_MAP = 'workflow-controller-configmap';
const RUNNER = 'pipeline-runner';
const METRICS_PORT = 9090;
const HEALTH_PORT = 6060;
/**
 * Key format of upstream KFP's artifact repository: per namespace and workflow, dated, so pod names never collide
 * across the cluster's lifetime; `private-artifacts/<namespace>/` is also the prefix multi-user tenancy scopes.
 */
const KEY_FORMAT = 'private-artifacts/{{workflow.namespace}}/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/'
  + '{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{pod.name}}';
/** The part of the key format after a namespace's prefix (upstream's per-namespace repositories write the prefix literally). */
export const KEY_FORMAT_AFTER_PREFIX = '{{workflow.name}}/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/'
  + '{{workflow.creationTimestamp.d}}/{{pod.name}}';
/** Label KFP's v2 compiler puts on every pod of a pipeline run (`spec.podMetadata`). */
export const RUN_POD_LABEL = 'pipelines.kubeflow.org/v2_component';
/** Port of the KFP API server's gRPC API, which the v2 driver and launcher call (pod port of `ml-pipeline`). */
export const ML_PIPELINE_GRPC_PORT = 8887;
/** Port of ML Metadata's gRPC server (pod port of `metadata-grpc-deployment`). */
export const METADATA_GRPC_PORT = 8080;
/** Upstream KFP's TRANSIENT_ERROR_PATTERN: pod failures Argo retries as transient (node shutdown, preemption, eviction). */
const TRANSIENT_ERROR_PATTERN = '(?i)(imminent node shutdown|node is shutting down|preempt|evict|spot|pod deleted)';
/** UID upstream KFP runs the executor containers as (argoexec's image default user is root). */
const EXECUTOR_UID = 65532;

/** The workflow-controller's permissions in its namespace (upstream: `argo-role`, Argo's namespace install). */
const ARGO_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
  { apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'watch', 'list'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims', 'persistentvolumeclaims/finalizers'], verbs: ['create', 'update', 'delete', 'get'] },
  {
    apiGroups: ['argoproj.io'],
    resources: ['workflows', 'workflows/finalizers', 'workflowtasksets', 'workflowtasksets/finalizers', 'workflowartifactgctasks'],
    verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete', 'create'],
  },
  { apiGroups: ['argoproj.io'], resources: ['workflowtemplates', 'workflowtemplates/finalizers'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['list', 'watch', 'deletecollection'] },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  {
    apiGroups: ['argoproj.io'], resources: ['cronworkflows', 'cronworkflows/finalizers'],
    verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'],
  },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['create', 'get', 'delete'] },
];

/**
 * Multi-user (Argo's cluster install, as KFP's `third-party/argo/installs/cluster` pins it): what the controller keeps in
 * its namespace (Role `argo-role`: leader election, Secrets) and what it gets in every namespace (ClusterRole
 * `argo-cluster-role`: the namespaced rules but those two, plus namespaces, ClusterWorkflowTemplates and the agent's CA
 * Secret).
 */
const ARGO_NAMESPACED_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'update'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
];
const ARGO_CLUSTER_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['pods', 'pods/exec'], verbs: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['configmaps', 'namespaces'], verbs: ['get', 'watch', 'list'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims', 'persistentvolumeclaims/finalizers'], verbs: ['create', 'update', 'delete', 'get'] },
  {
    apiGroups: ['argoproj.io'],
    resources: ['workflows', 'workflows/finalizers', 'workflowtasksets', 'workflowtasksets/finalizers', 'workflowartifactgctasks'],
    verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete', 'create'],
  },
  {
    apiGroups: ['argoproj.io'],
    resources: ['workflowtemplates', 'workflowtemplates/finalizers', 'clusterworkflowtemplates', 'clusterworkflowtemplates/finalizers'],
    verbs: ['get', 'list', 'watch'],
  },
  { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['list', 'watch', 'deletecollection'] },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list'] },
  {
    apiGroups: ['argoproj.io'], resources: ['cronworkflows', 'cronworkflows/finalizers'],
    verbs: ['get', 'list', 'watch', 'update', 'patch', 'delete'],
  },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ['create', 'get', 'delete'] },
  { apiGroups: [''], resources: ['secrets'], resourceNames: ['argo-workflows-agent-ca-certificates'], verbs: ['get'] },
];

/** Argo's resources, as its cluster install aggregates them into Kubernetes' `admin`, `edit` and `view` roles. */
const ARGO_RESOURCES = [
  'workflows', 'workflows/finalizers', 'workfloweventbindings', 'workfloweventbindings/finalizers', 'workflowtemplates',
  'workflowtemplates/finalizers', 'cronworkflows', 'cronworkflows/finalizers', 'clusterworkflowtemplates', 'clusterworkflowtemplates/finalizers',
] as const;
const ARGO_AGGREGATES: readonly { readonly role: 'admin' | 'edit' | 'view'; readonly resources: readonly string[]; readonly verbs: readonly string[] }[] = [
  {
    role: 'admin',
    resources: [...ARGO_RESOURCES, 'workflowtasksets', 'workflowtasksets/finalizers', 'workflowtaskresults', 'workflowtaskresults/finalizers'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  },
  {
    role: 'edit',
    resources: [...ARGO_RESOURCES, 'workflowtaskresults', 'workflowtaskresults/finalizers'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  },
  { role: 'view', resources: [...ARGO_RESOURCES, 'workflowtaskresults', 'workflowtaskresults/finalizers'], verbs: ['get', 'list', 'watch'] },
];

/**
 * The permissions of pipeline run pods (upstream: Role `pipeline-runner`, kubeflow/pipelines base/pipeline), with
 * `secrets` `get` narrowed by {@link runnerRules} to the artifact store's key Secret: upstream's Role reads every Secret
 * of the namespace (the database administrator's among them).
 */
const RUNNER_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'watch', 'list'] },
  { apiGroups: [''], resources: ['persistentvolumes', 'persistentvolumeclaims'], verbs: ['*'] },
  { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshots'], verbs: ['create', 'delete', 'get'] },
  { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
  { apiGroups: [''], resources: ['pods', 'pods/exec', 'pods/log', 'services'], verbs: ['*'] },
  { apiGroups: ['', 'apps', 'extensions'], resources: ['deployments', 'replicasets'], verbs: ['*'] },
  { apiGroups: ['kubeflow.org'], resources: ['*'], verbs: ['*'] },
  { apiGroups: ['batch'], resources: ['jobs'], verbs: ['*'] },
  { apiGroups: ['machinelearning.seldon.io'], resources: ['seldondeployments'], verbs: ['*'] },
  { apiGroups: ['argoproj.io'], resources: ['workflowtaskresults'], verbs: ['create', 'patch'] },
  { apiGroups: ['mlflow.kubeflow.org'], resources: ['experiments'], verbs: ['get', 'list', 'create', 'update'] },
];

/**
 * {@link RUNNER_RULES} with the one Secret runs read (the launcher's and Argo's artifact keys), by name; none with a
 * cloud identity (IRSA, Workload Identity), where the SDK needs no Secret.
 */
function runnerRules(credentials: ArtifactCredentials): k8s.PolicyRule[] {
  return [
    ...(credentials.type === 'secret' ? [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: [credentials.secretName] }] : []),
    ...RUNNER_RULES,
  ];
}

function plainResources(budget: ResourceBudget): ArgoExecutor['resources'] {
  return {
    requests: { cpu: budget.cpu.request, memory: budget.memory.request },
    limits: { ...(budget.cpu.limit !== undefined ? { cpu: budget.cpu.limit } : {}), memory: budget.memory.limit },
  };
}

/** Argo's S3 credentials for a store: key references for `secret`, the SDK chain (IRSA) for `irsa`. */
export function s3Credentials(credentials: ArtifactCredentials): Pick<ArgoS3ArtifactRepository, 'accessKeySecret' | 'secretKeySecret' | 'useSDKCreds'> {
  switch (credentials.type) {
    case 'secret':
      return {
        accessKeySecret: { name: credentials.secretName, key: credentials.accessKeyKey },
        secretKeySecret: { name: credentials.secretName, key: credentials.secretKeyKey },
      };
    case 'irsa':
      return { useSDKCreds: true };
    case 'workload-identity':
      throw new Error(
        'ArgoWorkflowController: Argo\'s S3 artifact repository cannot use GKE Workload Identity (the S3 interoperability API of '
        + 'Cloud Storage needs HMAC keys); give the store HMAC keys in a Secret (credentials type secret)',
      );
  }
}

/**
 * Argo Workflows v4.0.5, the workflow engine of Kubeflow Pipelines 2.17.0, as KFP's standalone install runs it
 * (`third-party/argo/installs/namespace`): Deployment `workflow-controller` started with `--namespaced`, so it only
 * watches its own namespace, ServiceAccount `argo` with Role `argo-role` (upstream's namespaced permissions),
 * PriorityClass `workflow-controller`, and ConfigMap `workflow-controller-configmap` with keys `artifactRepository`,
 * `executor` and `workflowDefaults`, written from typed objects ({@link ArgoWorkflowController.config}):
 *
 * - `artifactRepository`: the artifact store (`IArtifactStore`: endpoint, bucket, region, `insecure` = not TLS), upstream
 *   KFP's key format and log archiving; static keys as references to the store's Secret, or `useSDKCreds` and no keys
 *   with IRSA (pods then get the role from the `pipeline-runner` ServiceAccount's annotation). Argo has no
 *   path-style switch (its S3 client picks the style from the endpoint).
 * - `executor`: the restricted security context upstream KFP sets (argoexec runs as 65532), plus requests and a
 *   memory limit for the init and wait containers (upstream sets none).
 * - `workflowDefaults`: upstream KFP's — finished workflows deleted after an hour, steps retried twice on errors.
 *
 * Also the ServiceAccount `pipeline-runner` (Role and RoleBinding `pipeline-runner`/`pipeline-runner-binding`) that
 * KFP's compiled workflows run as, with exactly upstream's permissions.
 *
 * Network: the controller reaches the Kubernetes API only. Pipeline run pods (created by Argo, labelled
 * `pipelines.kubeflow.org/v2_component: "true"` by KFP's v2 compiler — see {@link ArgoWorkflowController.runsPeer})
 * reach the artifact store, the Kubernetes API, the KFP API server's gRPC port and ML Metadata; more with
 * {@link ArgoWorkflowController.allowRunsTo}.
 *
 * Multi-user mode installs Argo cluster-wide, as KFP's multi-user install (`third-party/argo/installs/cluster`): no
 * `--namespaced`, Role `argo-role` reduced to leader election and Secrets, ClusterRole `argo-cluster-role` bound by
 * ClusterRoleBinding `argo-binding`, and Argo's `argo-aggregate-to-{admin,edit,view}` ClusterRoles. Workflows in a
 * profile namespace use that namespace's artifact repository (ConfigMap `artifact-repositories`, written by
 * PipelinesProfileResources), which Argo prefers to the controller's default.
 */
export class ArgoWorkflowController extends Construct {
  /** ServiceAccount of the controller. */
  public readonly serviceAccountName = SERVICE_ACCOUNT;
  /** The controller's ConfigMap. */
  public readonly configMapName = CONFIG_MAP;
  /** ServiceAccount KFP's workflows run as (`DefaultPipelineRunnerServiceAccount`). */
  public readonly runnerServiceAccountName = RUNNER;
  /** Metrics port of the controller pods (Prometheus, TLS with a self-signed certificate by Argo's default). */
  public readonly metricsPort = METRICS_PORT;
  /** The controller pods. */
  public readonly peer: NetworkPeer;
  /** The pods of pipeline runs (v2 pipelines): KFP's driver, launcher and the user's steps, with Argo's executor. */
  public readonly runsPeer: NetworkPeer;
  /** The configuration written to the ConfigMap. */
  public readonly config: ArgoControllerConfig;
  /** The Deployment. */
  public readonly resource: k8s.KubeDeployment;

  public constructor(scope: Construct, id: string, props: ArgoWorkflowControllerProps) {
    super(scope, id);
    const multiUser = props.mode === 'multi-user';
    const ctx = KfkitContext.of(this);
    const ns = props.namespace;
    const identity = pipelinesIdentity(NAME);
    const labels = standardLabels(identity);
    this.peer = pipelinesPeer(ns, NAME);
    this.runsPeer = { peerName: 'pipeline-runs', namespace: ns, podLabels: { [RUN_POD_LABEL]: 'true' } };

    const executorImage = ctx.runtimeImage('argo-exec');
    this.config = {
      artifactRepository: {
        archiveLogs: true,
        s3: {
          endpoint: props.store.endpoint,
          bucket: props.store.bucket,
          region: props.store.region,
          insecure: !props.store.secure,
          keyFormat: KEY_FORMAT,
          ...s3Credentials(props.store.credentials),
        },
      },
      executor: {
        imagePullPolicy: 'IfNotPresent',
        resources: plainResources(props.executorResources ?? { cpu: { request: '10m' }, memory: { request: '64Mi', limit: '512Mi' } }),
        securityContext: {
          runAsNonRoot: true,
          runAsUser: EXECUTOR_UID,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
      },
      workflowDefaults: {
        spec: {
          ttlStrategy: { secondsAfterCompletion: 3600, secondsAfterSuccess: 3600, secondsAfterFailure: 3600 },
          templateDefaults: { retryStrategy: { limit: '2', retryPolicy: 'OnError' } },
        },
      },
    };
    const yaml = (value: unknown): string => YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: CONFIG_MAP, namespace: ns, labels },
      data: {
        artifactRepository: yaml(this.config.artifactRepository),
        executor: yaml(this.config.executor),
        workflowDefaults: yaml(this.config.workflowDefaults),
      },
    });

    // The controller: ServiceAccount, namespaced RBAC (the --namespaced install) or cluster-wide RBAC (multi-user),
    // priority class.
    serviceAccountWithRole(this, {
      name: SERVICE_ACCOUNT,
      namespace: ns,
      labels,
      automountServiceAccountToken: false,
      rules: multiUser ? ARGO_NAMESPACED_RULES : ARGO_RULES,
      roleName: 'argo-role',
      roleBindingName: 'argo-binding',
      ...(multiUser ? { clusterRules: ARGO_CLUSTER_RULES, clusterRoleName: 'argo-cluster-role', clusterRoleBindingName: 'argo-binding' } : {}),
    });
    if (multiUser) {
      // Argo's cluster install: users who may edit (view) a namespace may edit (view) its workflows.
      for (const { role, resources, verbs } of ARGO_AGGREGATES) {
        new k8s.KubeClusterRole(this, `AggregateTo-${role}`, {
          metadata: { name: `argo-aggregate-to-${role}`, labels: { ...labels, [`rbac.authorization.k8s.io/aggregate-to-${role}`]: 'true' } },
          rules: [{ apiGroups: ['argoproj.io'], resources: [...resources], verbs: [...verbs] }],
        });
      }
    }
    // Upstream's priority class (value 1000000): workflow pods never preempt the controller that manages them.
    new k8s.KubePriorityClass(this, 'PriorityClass', { metadata: { name: NAME, labels }, value: 1000000 });

    this.resource = deployment(this, {
      namespace: ns,
      identity,
      replicas: 1,
      pod: {
        serviceAccountName: SERVICE_ACCOUNT,
        // Watches and updates workflows, pods and leases.
        automountServiceAccountToken: true,
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        containers: [{
          name: NAME,
          image: ctx.images.image('argo-workflow-controller'),
          command: ['workflow-controller'],
          // Multi-user: every namespace (no --namespaced), as Argo's cluster install.
          args: ['--configmap', CONFIG_MAP, '--executor-image', executorImage, ...(multiUser ? [] : ['--namespaced'])],
          env: [
            { name: 'LEADER_ELECTION_IDENTITY', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
            { name: 'TRANSIENT_ERROR_PATTERN', value: TRANSIENT_ERROR_PATTERN },
          ],
          ports: [
            { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
            { containerPort: HEALTH_PORT, protocol: 'TCP' },
          ],
          resources: props.resources ?? { cpu: { request: '100m' }, memory: { request: '500Mi', limit: '1Gi' } },
          // Upstream's probe: three failures a minute apart tolerate transient API server errors.
          livenessProbe: {
            httpGet: { path: '/healthz', port: k8s.IntOrString.fromNumber(HEALTH_PORT) },
            failureThreshold: 3,
            initialDelaySeconds: 90,
            periodSeconds: 60,
            timeoutSeconds: 30,
          },
        }],
        priorityClassName: NAME,
      },
    });
    allowKubeApi(this, this.peer);

    // Pipeline runs: the ServiceAccount their pods run as, and their connections.
    const runner = new Construct(this, 'Runner');
    serviceAccountWithRole(runner, {
      name: RUNNER,
      namespace: ns,
      labels: standardLabels(pipelinesIdentity(RUNNER)),
      annotations: props.store.serviceAccountAnnotations(),
      // Run pods call the Kubernetes API (Argo's executor writes task results; KFP's driver and launcher read and create objects).
      automountServiceAccountToken: true,
      rules: runnerRules(props.store.credentials),
      roleBindingName: `${RUNNER}-binding`,
    });
    props.store.allowFrom(this.runsPeer);
    allowKubeApi(runner, this.runsPeer);
    this.allowRunsTo(pipelinesPeer(ns, 'ml-pipeline'), [{ port: ML_PIPELINE_GRPC_PORT }]);
    this.allowRunsTo(pipelinesPeer(ns, 'metadata-grpc-deployment'), [{ port: METADATA_GRPC_PORT }]);
  }

  /** Opens connections from pipeline run pods to `server` on `ports` (pod ports). */
  public allowRunsTo(server: NetworkPeer, ports: readonly NetworkPort[]): void {
    allowTraffic(this, this.runsPeer, server, ports);
  }
}
