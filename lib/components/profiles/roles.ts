import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { standardLabels } from '../../core/labels';
import { PROFILES_COMPONENT } from './shared';

/** The three Kubeflow roles a profile hands out: owner (admin), contributor (edit), reader (view). */
export type KubeflowRole = 'admin' | 'edit' | 'view';

/** Names of the aggregated Kubeflow ClusterRoles (upstream's), which the profile controller and KFAM bind in profile namespaces. */
export const KUBEFLOW_ROLE_NAMES: Readonly<Record<KubeflowRole, string>> = {
  admin: 'kubeflow-admin',
  edit: 'kubeflow-edit',
  view: 'kubeflow-view',
};

/**
 * The label (value `"true"`) that aggregates a ClusterRole's rules into a Kubeflow role (upstream's keys). Components
 * give their users rights in profile namespaces by labelling their own ClusterRoles with it (see {@link kubeflowRoleLabels}).
 */
export const KUBEFLOW_ROLE_AGGREGATION: Readonly<Record<KubeflowRole, string>> = {
  admin: 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-admin',
  edit: 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit',
  view: 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-view',
};

/** The labels that aggregate a ClusterRole into `role` (e.g. `{ 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit': 'true' }`). */
export function kubeflowRoleLabels(role: KubeflowRole): Record<string, string> {
  return { [KUBEFLOW_ROLE_AGGREGATION[role]]: 'true' };
}

const CORE = '';
const ALL_WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];
const READ = ['get', 'list', 'watch'];

/**
 * Kubernetes rights of the Kubeflow roles (upstream's `kubeflow-kubernetes-*` ClusterRoles, kubeflow/manifests 26.03
 * common/kubeflow-roles): about Kubernetes' `admin`/`edit`/`view` within a namespace, without rights on ResourceQuotas
 * or LimitRanges (the quota is the profile's) and without impersonation.
 */
const KUBERNETES_RULES: Readonly<Record<KubeflowRole, readonly k8s.PolicyRule[]>> = {
  admin: [
    { apiGroups: ['authorization.k8s.io'], resources: ['localsubjectaccessreviews'], verbs: ['create'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: [...ALL_WRITE, ...READ] },
  ],
  edit: [
    { apiGroups: [CORE], resources: ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'], verbs: READ },
    { apiGroups: [CORE], resources: ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], verbs: ALL_WRITE },
    {
      apiGroups: [CORE],
      resources: [
        'configmaps', 'endpoints', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts',
        'services', 'services/proxy',
      ],
      verbs: ALL_WRITE,
    },
    {
      apiGroups: ['apps'],
      resources: [
        'daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale',
      ],
      verbs: ALL_WRITE,
    },
    { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ALL_WRITE },
    { apiGroups: ['batch'], resources: ['cronjobs', 'jobs'], verbs: ALL_WRITE },
    {
      apiGroups: ['extensions'],
      resources: [
        'daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'ingresses', 'networkpolicies', 'replicasets', 'replicasets/scale',
        'replicationcontrollers/scale',
      ],
      verbs: ALL_WRITE,
    },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets'], verbs: ALL_WRITE },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'], verbs: ALL_WRITE },
  ],
  view: [
    {
      apiGroups: [CORE],
      resources: [
        'configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers',
        'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status',
      ],
      verbs: READ,
    },
    {
      apiGroups: [CORE],
      resources: [
        'bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas',
        'resourcequotas/status',
      ],
      verbs: READ,
    },
    { apiGroups: [CORE], resources: ['namespaces'], verbs: READ },
    {
      apiGroups: ['apps'],
      resources: [
        'controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets',
        'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status',
      ],
      verbs: READ,
    },
    { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'], verbs: READ },
    { apiGroups: ['batch'], resources: ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'], verbs: READ },
    {
      apiGroups: ['extensions'],
      resources: [
        'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'networkpolicies',
        'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale',
      ],
      verbs: READ,
    },
    { apiGroups: ['policy'], resources: ['poddisruptionbudgets', 'poddisruptionbudgets/status'], verbs: READ },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingresses/status', 'networkpolicies'], verbs: READ },
  ],
};

/** The role each Kubeflow role is aggregated into (view → edit → admin), as upstream chains them. */
const AGGREGATED_INTO: Readonly<Record<KubeflowRole, KubeflowRole | undefined>> = { admin: undefined, edit: 'admin', view: 'edit' };

const ROLES: readonly KubeflowRole[] = ['admin', 'edit', 'view'];

/**
 * The Kubeflow roles of kubeflow/manifests 26.03 (`common/kubeflow-roles`): the aggregated ClusterRoles `kubeflow-admin`,
 * `kubeflow-edit` and `kubeflow-view`, each collecting the rules of every ClusterRole labelled
 * `rbac.authorization.kubeflow.org/aggregate-to-kubeflow-<role>: "true"` ({@link kubeflowRoleLabels}), chained so that
 * view ⊂ edit ⊂ admin; and their Kubernetes rights, `kubeflow-kubernetes-admin/edit/view`. The profile controller binds
 * `kubeflow-admin` to a profile's owner and `kubeflow-edit`/`kubeflow-view` to its `default-editor`/`default-viewer`
 * ServiceAccounts; KFAM binds contributors to `kubeflow-edit` or `kubeflow-view`. Each component aggregates the rights
 * on its own kinds (Pipelines' runs, notebooks) with its own labelled ClusterRoles.
 *
 * The aggregated roles are written without `rules`: the API server's aggregation controller owns that field, and a GitOps
 * tool applying `rules: []` would fight it. ClusterRoles install in the `cluster` wave.
 */
export class KubeflowRoles extends Construct {
  /** The aggregated ClusterRoles, by role. */
  public readonly aggregated: Readonly<Record<KubeflowRole, k8s.KubeClusterRole>>;
  /** The `kubeflow-kubernetes-*` ClusterRoles, by role. */
  public readonly kubernetes: Readonly<Record<KubeflowRole, k8s.KubeClusterRole>>;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    const labels = standardLabels({ name: 'kubeflow-roles', component: PROFILES_COMPONENT });
    const into = (role: KubeflowRole): Record<string, string> => {
      const target = AGGREGATED_INTO[role];
      return target ? kubeflowRoleLabels(target) : {};
    };
    const pascal = (role: KubeflowRole): string => role.charAt(0).toUpperCase() + role.slice(1);
    const aggregated = {} as Record<KubeflowRole, k8s.KubeClusterRole>;
    const kubernetes = {} as Record<KubeflowRole, k8s.KubeClusterRole>;
    for (const role of ROLES) {
      aggregated[role] = new k8s.KubeClusterRole(this, pascal(role), {
        metadata: { name: KUBEFLOW_ROLE_NAMES[role], labels: { ...labels, ...into(role) } },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: kubeflowRoleLabels(role) }] },
      });
      kubernetes[role] = new k8s.KubeClusterRole(this, `Kubernetes${pascal(role)}`, {
        metadata: { name: `kubeflow-kubernetes-${role}`, labels: { ...labels, ...kubeflowRoleLabels(role) } },
        rules: KUBERNETES_RULES[role].map((r) => ({ ...r, apiGroups: r.apiGroups ? [...r.apiGroups] : undefined, verbs: [...r.verbs] })),
      });
    }
    this.aggregated = aggregated;
    this.kubernetes = kubernetes;
  }
}
