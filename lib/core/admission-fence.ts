import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { KfkitContext } from './context';
import { NamespaceGroup } from './network';
import { MANAGED_BY, PART_OF } from './labels';

/**
 * Admission fences: ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1) that confine what a controller's
 * ServiceAccount may do with the rights RBAC gives it cluster-wide. RBAC cannot say "create RoleBindings, but only in
 * the namespaces of Kubeflow profiles, and only to Kubeflow's roles": a controller that may create RoleBindings anywhere
 * and bind `kubeflow-admin` could make itself (or anyone) admin of `kube-system`. A fence says it, and the API server
 * enforces it for every request of that ServiceAccount, whatever its RBAC.
 */

/** The annotation on a fence naming the user it confines (read by the e2e, which acts as that user). */
export const FENCED_USER_ANNOTATION = 'kfkit.dev/fenced-user';

/** Resources of one API group, as admission rules name them. */
export interface FencedResources {
  /** API group ('' for the core group). */
  readonly group: string;
  /** Plural resource names. */
  readonly resources: readonly string[];
}

/** Props of {@link AdmissionFence}. */
export interface AdmissionFenceProps {
  /** Name of the policy and its binding (a DNS subdomain, kfkit- prefixed by convention). */
  readonly name: string;
  /** The ServiceAccount confined. */
  readonly serviceAccount: { readonly namespace: string; readonly name: string };
  /**
   * Namespaced resources it may create, update and delete only in namespaces carrying `namespaceLabel`.
   * @default - none
   */
  readonly namespaced?: readonly FencedResources[];
  /**
   * The label (key and value) of the namespaces it may write in, and may create or update as namespaces.
   * @default - required with `namespaced` or `namespaces: 'labelled'`
   */
  readonly namespaceLabel?: { readonly key: string; readonly value: string };
  /**
   * Roles its RoleBindings may refer to: ClusterRoles by name, or `Role` (a Role of the binding's own namespace, which
   * RBAC's escalation check already bounds by the creator's rights).
   * @default - RoleBindings are not among the namespaced resources
   */
  readonly roleRefs?: { readonly kind: 'ClusterRole'; readonly names: readonly string[] } | { readonly kind: 'Role' };
  /**
   * What it may do with Namespaces: `labelled` (create and update only namespaces that carry the label, and had it
   * before an update: no relabelling of an existing namespace), `none` (no create, update or delete at all).
   * @default - Namespaces are not fenced
   */
  readonly namespaces?: 'labelled' | 'none';
  /** Why the ServiceAccount is fenced this way (a sentence, on the policy). */
  readonly reason: string;
}

const cel = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * A ValidatingAdmissionPolicy and its binding (deny) confining one ServiceAccount to the namespaces of a label, and
 * its RoleBindings to given roles. Installed in the `cluster` wave, before the controller runs.
 */
export class AdmissionFence extends Construct {
  /** The policy. */
  public readonly policy: ApiObject;
  /** The binding (validationActions Deny). */
  public readonly binding: ApiObject;

  public constructor(scope: Construct, id: string, props: AdmissionFenceProps) {
    super(scope, id);
    if (props.reason.trim().length < 10) throw new Error(`AdmissionFence ${props.name}: give the reason (a sentence)`);
    const user = `system:serviceaccount:${props.serviceAccount.namespace}:${props.serviceAccount.name}`;
    const needsLabel = (props.namespaced ?? []).length > 0 || props.namespaces === 'labelled';
    if (needsLabel && !props.namespaceLabel) throw new Error(`AdmissionFence ${props.name}: namespaceLabel is required to fence namespaced writes`);
    const { key, value } = props.namespaceLabel ?? { key: '', value: '' };
    const labelled = (o: string) => `has(${o}.metadata.labels) && ${cel(key)} in ${o}.metadata.labels && ${o}.metadata.labels[${cel(key)}] == ${cel(value)}`;
    const rules: Record<string, unknown>[] = [];
    const validations: Record<string, unknown>[] = [];
    const namespaced = props.namespaced ?? [];
    for (const r of namespaced) {
      rules.push({ apiGroups: [r.group], apiVersions: ['*'], resources: [...r.resources], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: 'Namespaced' });
    }
    if (namespaced.length > 0) {
      validations.push({
        expression: `request.resource.resource == 'namespaces' || (namespaceObject != null && ${labelled('namespaceObject')})`,
        messageExpression: `${cel(`${user} may write `)} + request.resource.resource + ${cel(` only in namespaces labelled ${key}=${value}, not in `)} + request.namespace`,
        reason: 'Forbidden',
      });
    }
    const roles = props.roleRefs;
    if (roles) {
      const allowed = roles.kind === 'Role' ? "object.roleRef.kind == 'Role'"
        : `object.roleRef.kind == 'ClusterRole' && object.roleRef.name in [${roles.names.map(cel).join(', ')}]`;
      validations.push({
        expression: `request.resource.resource != 'rolebindings' || request.operation == 'DELETE' || (${allowed})`,
        messageExpression: cel(`${user} may bind only ${roles.kind === 'Role' ? 'Roles of the namespace' : `the ClusterRoles ${roles.names.join(', ')}`}, not `)
          + ' + object.roleRef.kind + \' \' + object.roleRef.name',
        reason: 'Forbidden',
      });
    }
    if (props.namespaces === 'labelled') {
      rules.push({ apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['CREATE', 'UPDATE'], scope: 'Cluster' });
      validations.push({
        expression: `request.resource.resource != 'namespaces' || ((${labelled('object')}) && (request.operation != 'UPDATE' || (${labelled('oldObject')})))`,
        messageExpression: `${cel(`${user} may create or update only namespaces labelled ${key}=${value} that had the label before, not `)} + object.metadata.name`,
        reason: 'Forbidden',
      });
    } else if (props.namespaces === 'none') {
      rules.push({ apiGroups: [''], apiVersions: ['v1'], resources: ['namespaces'], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: 'Cluster' });
      validations.push({
        expression: "request.resource.resource != 'namespaces'",
        messageExpression: `${cel(`${user} may not create, update or delete namespaces: `)} + request.name`,
        reason: 'Forbidden',
      });
    }
    if (rules.length === 0) throw new Error(`AdmissionFence ${props.name}: fences nothing (give namespaced resources or namespaces)`);
    const metadata = {
      name: props.name,
      labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': PART_OF },
      annotations: { [FENCED_USER_ANNOTATION]: user, 'kfkit.dev/reason': props.reason.trim() },
    };
    this.policy = new ApiObject(this, 'Policy', {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata,
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: rules },
        matchConditions: [{ name: 'fenced-service-account', expression: `request.userInfo.username == ${cel(user)}` }],
        validations,
      },
    });
    this.binding = new ApiObject(this, 'Binding', {
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: props.name, labels: metadata.labels },
      spec: { policyName: props.name, validationActions: ['Deny'] },
    });
    const plan = KfkitContext.of(this).plan;
    plan.assign(this, plan.cluster);
  }
}

/** The one label selecting a group's namespaces, as a fence's {@link AdmissionFenceProps.namespaceLabel}. */
export function fenceLabel(group: NamespaceGroup): { readonly key: string; readonly value: string } {
  const labels = Object.entries(group.namespaceLabels);
  if (labels.length !== 1) throw new Error(`a fence needs the ${group.groupName} namespaces selected by exactly one label, not ${labels.length}`);
  const [[key, value]] = labels;
  return { key, value };
}

/**
 * The fence of a controller that creates ServiceAccounts, Roles and RoleBindings where users' jobs run (Katib's
 * suggestions, the training operator's MPI launchers): only in the namespaces of `jobs` (one label), RoleBindings only to
 * Roles of the namespace (which RBAC's escalation check bounds by the controller's own rights).
 */
export function fenceJobRbac(
  scope: Construct, name: string, serviceAccount: { readonly namespace: string; readonly name: string }, jobs: NamespaceGroup,
): AdmissionFence {
  return new AdmissionFence(scope, 'JobRbacFence', {
    name, serviceAccount,
    namespaced: [{ group: '', resources: ['serviceaccounts'] }, { group: 'rbac.authorization.k8s.io', resources: ['roles', 'rolebindings'] }],
    namespaceLabel: fenceLabel(jobs),
    roleRefs: { kind: 'Role' },
    reason: `By RBAC it may create ServiceAccounts, Roles and RoleBindings in every namespace; it needs them only where jobs run (${jobs.groupName})`,
  });
}
