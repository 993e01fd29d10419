import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { standardLabels } from '../../core/labels';
import { IKubeflowGateway, ISTIO_SECURITY_API, UserHeaders } from '../../core/mesh';
import { labelSelector, NetworkPeer } from '../../core/network';
import { pipelinesIdentity, PipelinesEndpoint } from './shared';

/** Props of {@link PipelinesMultiUserAccess}. */
export interface PipelinesMultiUserAccessProps {
  /** Namespace of the Pipelines backend. */
  readonly namespace: string;
  /** The Kubeflow gateway users reach the UI through (its mesh's trust domain names the workload principals). */
  readonly gateway: IKubeflowGateway;
  /** The identity headers the gateway writes after authentication, which the API server trusts. */
  readonly userHeaders: UserHeaders;
  /** The API server's pods. */
  readonly apiServer: NetworkPeer;
  /** The UI server's pods (the Service's and the in-mesh clients' target). */
  readonly ui: NetworkPeer;
  /** ML Metadata's gRPC server. */
  readonly metadataGrpc: PipelinesEndpoint;
  /** The visualization server's pods. */
  readonly visualization: NetworkPeer;
  /** The cache webhook server's pods, when the v1 cache is installed. */
  readonly cache?: NetworkPeer;
  /**
   * ServiceAccounts (in {@link namespace}) of the backend parts that call the API server and the visualization server
   * with a user-id header of their own making (upstream's list: API server, UI, persistence agent, ScheduledWorkflow
   * controller, viewer controller, cache).
   */
  readonly backendServiceAccounts: readonly string[];
}

/** Upstream's aggregated roles of Kubeflow Pipelines (`base/installs/multi-user/view-edit-cluster-roles.yaml`). */
const KUBEFLOW_AGGREGATE = 'rbac.authorization.kubeflow.org';
const PIPELINES_ROLES = {
  edit: { name: 'kubeflow-pipelines-edit', aggregate: 'aggregate-to-kubeflow-pipelines-edit' },
  view: { name: 'kubeflow-pipelines-view', aggregate: 'aggregate-to-kubeflow-pipelines-view' },
} as const;

/** What profile editors may do with Pipelines objects (upstream's `aggregate-to-kubeflow-pipelines-edit`). */
const EDIT_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['pipelines.kubeflow.org'], resources: ['pipelines', 'pipelineversions'], verbs: ['create', 'delete', 'update'] },
  { apiGroups: ['pipelines.kubeflow.org'], resources: ['experiments'], verbs: ['archive', 'create', 'delete', 'unarchive'] },
  {
    apiGroups: ['pipelines.kubeflow.org'], resources: ['runs'],
    verbs: ['archive', 'create', 'delete', 'retry', 'terminate', 'unarchive', 'reportMetrics', 'readArtifact'],
  },
  { apiGroups: ['pipelines.kubeflow.org'], resources: ['jobs'], verbs: ['create', 'delete', 'disable', 'enable'] },
  { apiGroups: ['kubeflow.org'], resources: ['scheduledworkflows'], verbs: ['*'] },
  {
    apiGroups: ['argoproj.io'],
    resources: ['cronworkflows', 'cronworkflows/finalizers', 'workflows', 'workflows/finalizers', 'workfloweventbindings', 'workflowtemplates',
      'workflowtaskresults'],
    verbs: ['*'],
  },
];

/** What profile viewers may do (upstream's `aggregate-to-kubeflow-pipelines-view`). */
const VIEW_RULES: readonly k8s.PolicyRule[] = [
  { apiGroups: ['pipelines.kubeflow.org'], resources: ['pipelines', 'pipelineversions', 'experiments', 'jobs'], verbs: ['get', 'list'] },
  { apiGroups: ['pipelines.kubeflow.org'], resources: ['runs'], verbs: ['get', 'list', 'readArtifact'] },
  { apiGroups: ['kubeflow.org'], resources: ['viewers'], verbs: ['create', 'get', 'delete'] },
  { apiGroups: ['pipelines.kubeflow.org'], resources: ['visualizations'], verbs: ['create'] },
];

/**
 * The cluster-wide part of Kubeflow Pipelines' multi-user mode besides its workloads (which KubeflowPipelines builds
 * in multi-user mode), after upstream's `base/installs/multi-user` and `base/metadata/options/istio`:
 *
 * **Roles of profile members.** The API server authorizes every request with a SubjectAccessReview for the user in
 * the gateway's header, on `pipelines.kubeflow.org` verbs in the run's namespace. ClusterRole `kubeflow-pipelines-edit`
 * aggregates `aggregate-to-kubeflow-pipelines-edit` and is itself aggregated into `kubeflow-edit`;
 * `kubeflow-pipelines-view` aggregates `aggregate-to-kubeflow-pipelines-view` into `kubeflow-view` and
 * `kubeflow-pipelines-edit` — upstream's names, labels and rules. Profiles bind `kubeflow-edit`/`kubeflow-view`
 * (common/kubeflow-roles, owned by the profiles part) to their members and to `default-editor`.
 *
 * **Istio AuthorizationPolicies** (upstream's `istio-authorization-config.yaml`, `security.istio.io/v1`). The API
 * server believes the user-id header, so only the gateway (which strips and sets it) and the backend itself may send
 * one:
 * - `ml-pipeline` (API server pods): the backend's ServiceAccounts, or any request without the user-id header —
 *   pipeline pods and SDK clients in profile namespaces, which authenticate with their ServiceAccount token
 *   (TokenReview) instead;
 * - `ml-pipeline-visualizationserver`: the backend's ServiceAccounts only;
 * - `ml-pipeline-ui-in-mesh` (UI pods): in-mesh clients with an `Authorization` header and no user-id header (the KFP
 *   SDK in a notebook); upstream puts this rule into its `ml-pipeline-ui` policy, whose other rule (the ingress
 *   gateway's principal) the UI's route writes (see KubeflowPipelines' `gateway`);
 * - `metadata-grpc-service` and `service-cache-server`: every caller (`rules: [{}]`, upstream's; pipeline pods of
 *   every profile call ML Metadata, the Kubernetes API server the cache webhook), so a mesh-wide deny-all the cluster
 *   admins may run does not cut them off.
 *
 * Not built (facts/deviations.json): upstream's DestinationRules (`ISTIO_MUTUAL` for the Pipelines Services — Istio's
 * automatic mTLS already does it) and its `mysql`/`seaweedfs-service` policies, which belong to the data layer.
 */
export class PipelinesMultiUserAccess extends Construct {
  /** `kubeflow-pipelines-edit`: what profile editors get (through `kubeflow-edit`). */
  public readonly editRoleName = PIPELINES_ROLES.edit.name;
  /** `kubeflow-pipelines-view`: what profile viewers get (through `kubeflow-view`). */
  public readonly viewRoleName = PIPELINES_ROLES.view.name;

  public constructor(scope: Construct, id: string, props: PipelinesMultiUserAccessProps) {
    super(scope, id);
    const { namespace, gateway, userHeaders } = props;
    if (gateway.mesh.dataplane !== 'sidecar') {
      throw new Error(
        'PipelinesMultiUserAccess: multi-user Pipelines trusts the user-id header only from the gateway, through AuthorizationPolicies that '
        + `match request headers; the ${gateway.mesh.dataplane} dataplane enforces no header rules without waypoints. Use the sidecar dataplane`,
      );
    }
    if (props.backendServiceAccounts.length === 0) throw new Error('PipelinesMultiUserAccess: backendServiceAccounts must name the backend\'s ServiceAccounts');
    const labels = standardLabels(pipelinesIdentity('ml-pipeline'));
    const principal = (sa: string): string => `${gateway.mesh.trustDomain}/ns/${namespace}/sa/${sa}`;
    const backend = props.backendServiceAccounts.map(principal);

    // Roles of profile members.
    const aggregated = (role: 'edit' | 'view', extraLabels: Record<string, string>): void => {
      const { name, aggregate } = PIPELINES_ROLES[role];
      new k8s.KubeClusterRole(this, `${role}Role`, {
        metadata: { name, labels: { ...labels, ...extraLabels } },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`${KUBEFLOW_AGGREGATE}/${aggregate}`]: 'true' } }] },
      });
    };
    aggregated('edit', { [`${KUBEFLOW_AGGREGATE}/aggregate-to-kubeflow-edit`]: 'true' });
    aggregated('view', { [`${KUBEFLOW_AGGREGATE}/aggregate-to-kubeflow-pipelines-edit`]: 'true', [`${KUBEFLOW_AGGREGATE}/aggregate-to-kubeflow-view`]: 'true' });
    new k8s.KubeClusterRole(this, 'EditRules', {
      metadata: { name: PIPELINES_ROLES.edit.aggregate, labels: { ...labels, [`${KUBEFLOW_AGGREGATE}/${PIPELINES_ROLES.edit.aggregate}`]: 'true' } },
      rules: [...EDIT_RULES],
    });
    new k8s.KubeClusterRole(this, 'ViewRules', {
      metadata: { name: PIPELINES_ROLES.view.aggregate, labels: { ...labels, [`${KUBEFLOW_AGGREGATE}/${PIPELINES_ROLES.view.aggregate}`]: 'true' } },
      rules: [...VIEW_RULES],
    });

    // Who may call what inside the mesh.
    const userHeader = `request.headers[${userHeaders.userId}]`;
    const policy = (id: string, name: string, pods: NetworkPeer, rules: readonly Record<string, unknown>[]): void => {
      new ApiObject(this, id, {
        apiVersion: ISTIO_SECURITY_API,
        kind: 'AuthorizationPolicy',
        metadata: { name, namespace, labels },
        spec: { action: 'ALLOW', selector: labelSelector(pods.podLabels), rules },
      });
    };
    policy('ApiServerPolicy', 'ml-pipeline', props.apiServer, [
      { from: [{ source: { principals: backend } }] },
      { when: [{ key: userHeader, notValues: ['*'] }] },
    ]);
    policy('VisualizationPolicy', 'ml-pipeline-visualizationserver', props.visualization, [{ from: [{ source: { principals: backend } }] }]);
    policy('UiInMeshPolicy', 'ml-pipeline-ui-in-mesh', props.ui, [{
      when: [{ key: 'request.headers[authorization]', values: ['*'] }, { key: userHeader, notValues: ['*'] }],
    }]);
    policy('MetadataGrpcPolicy', 'metadata-grpc-service', props.metadataGrpc.peer, [{}]);
    if (props.cache) policy('CachePolicy', 'service-cache-server', props.cache, [{}]);

  }
}
