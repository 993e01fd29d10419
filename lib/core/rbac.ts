import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';

const RBAC_API_GROUP = 'rbac.authorization.k8s.io';

/** Props of {@link serviceAccountWithRole}. */
export interface ServiceAccountWithRoleProps {
  /** Name of the ServiceAccount (and, unless named otherwise, of its Role, ClusterRole and bindings). */
  readonly name: string;
  /** Namespace of the ServiceAccount, the Role and the RoleBinding. */
  readonly namespace: string;
  /** Labels of every object. */
  readonly labels: Record<string, string>;
  /**
   * Annotations of the ServiceAccount (a cloud identity: IRSA role, Workload Identity binding). An empty record writes
   * no `annotations` at all.
   * @default - none
   */
  readonly annotations?: Readonly<Record<string, string>>;
  /**
   * `automountServiceAccountToken` of the ServiceAccount: the default of pods that do not say (kfkit's pod templates
   * always say).
   * @default - not written (Kubernetes' default: mount)
   */
  readonly automountServiceAccountToken?: boolean;
  /**
   * Namespaced permissions: a Role bound to the ServiceAccount by a RoleBinding.
   * @default - no Role
   */
  readonly rules?: readonly k8s.PolicyRule[];
  /** Name of the Role. @default - {@link name} */
  readonly roleName?: string;
  /** Name of the RoleBinding. @default - {@link name} */
  readonly roleBindingName?: string;
  /**
   * Cluster-wide permissions: a ClusterRole bound to the ServiceAccount by a ClusterRoleBinding.
   * @default - no ClusterRole
   */
  readonly clusterRules?: readonly k8s.PolicyRule[];
  /** Name of the ClusterRole. @default - {@link name} */
  readonly clusterRoleName?: string;
  /** Name of the ClusterRoleBinding. @default - {@link name} */
  readonly clusterRoleBindingName?: string;
  /**
   * Prefix of the construct ids, for a second identity under the same scope (`Viewer` → `ViewerServiceAccount`).
   * @default - none
   */
  readonly idPrefix?: string;
}

/** The objects {@link serviceAccountWithRole} created. */
export interface ServiceAccountWithRole {
  readonly serviceAccount: k8s.KubeServiceAccount;
  readonly role?: k8s.KubeRole;
  readonly roleBinding?: k8s.KubeRoleBinding;
  readonly clusterRole?: k8s.KubeClusterRole;
  readonly clusterRoleBinding?: k8s.KubeClusterRoleBinding;
}

/**
 * A ServiceAccount and, when given rules, the Role (and ClusterRole) that grants them, bound to it. The objects are
 * created under `scope` with the construct ids `ServiceAccount`, `ClusterRole`, `ClusterRoleBinding`, `Role` and
 * `RoleBinding` (after {@link ServiceAccountWithRoleProps.idPrefix}).
 */
export function serviceAccountWithRole(scope: Construct, props: ServiceAccountWithRoleProps): ServiceAccountWithRole {
  const { name, namespace, labels } = props;
  const id = (kind: string): string => `${props.idPrefix ?? ''}${kind}`;
  const annotations = props.annotations !== undefined && Object.keys(props.annotations).length > 0 ? { ...props.annotations } : undefined;
  const serviceAccount = new k8s.KubeServiceAccount(scope, id('ServiceAccount'), {
    metadata: { name, namespace, labels, annotations },
    automountServiceAccountToken: props.automountServiceAccountToken,
  });
  const subjects = (): k8s.Subject[] => [{ kind: 'ServiceAccount', name, namespace }];
  let clusterRole: k8s.KubeClusterRole | undefined;
  let clusterRoleBinding: k8s.KubeClusterRoleBinding | undefined;
  if (props.clusterRules !== undefined) {
    const clusterRoleName = props.clusterRoleName ?? name;
    clusterRole = new k8s.KubeClusterRole(scope, id('ClusterRole'), { metadata: { name: clusterRoleName, labels }, rules: [...props.clusterRules] });
    clusterRoleBinding = new k8s.KubeClusterRoleBinding(scope, id('ClusterRoleBinding'), {
      metadata: { name: props.clusterRoleBindingName ?? name, labels },
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'ClusterRole', name: clusterRoleName },
      subjects: subjects(),
    });
  }
  let role: k8s.KubeRole | undefined;
  let roleBinding: k8s.KubeRoleBinding | undefined;
  if (props.rules !== undefined) {
    const roleName = props.roleName ?? name;
    role = new k8s.KubeRole(scope, id('Role'), { metadata: { name: roleName, namespace, labels }, rules: [...props.rules] });
    roleBinding = new k8s.KubeRoleBinding(scope, id('RoleBinding'), {
      metadata: { name: props.roleBindingName ?? name, namespace, labels },
      roleRef: { apiGroup: RBAC_API_GROUP, kind: 'Role', name: roleName },
      subjects: subjects(),
    });
  }
  return { serviceAccount, role, roleBinding, clusterRole, clusterRoleBinding };
}
