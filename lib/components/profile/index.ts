import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { IArtifactStore } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { MANAGED_BY } from '../../core/labels';
import { IKubeflowGateway, ISTIO_SECURITY_API } from '../../core/mesh';
import { PlatformNamespace } from '../../core/namespace';
import { AddressRule, allowEgressToGroup, allowIngressFromGroup, KUBE_DNS, NetworkPeer } from '../../core/network';
import {
  ContainerLimits, DEFAULT_LIMITS, DEFAULT_QUOTA, limitRangeItems, ProfileQuota, quotaHard, tenantLimitIssues,
} from '../../core/tenant-limits';
import { IProfile, IProfileExtension, PROFILE_NAMESPACES, ProfileSubject } from '../../core/tenancy';
import { enrolInMesh, ISTIOD_XDS_PORT } from '../istio';
import { AWS_IAM_PLUGIN, KUBEFLOW_ROLE_NAMES, KubeflowRole, ProfilePlugin, ProfilesController } from '../profiles';
import { ProfileNetwork } from './network';

export { ProfileArtifactKeys, PROFILE_KEYS_POLICY, profileKeyPolicy } from './artifact-keys';
export type { ProfileArtifactKeysProps, StorePolicy } from './artifact-keys';
export { ProfileNetwork } from './network';

/** Pod Security Standards level of a profile namespace. */
export type ProfilePodSecurity = 'baseline' | 'restricted';

/** A user who works in a profile besides its owner. */
export interface ProfileContributor {
  /** User id, as the gateway's user-id header carries it (without the prefix), e.g. `bob@example.com`. */
  readonly user: string;
  /** `admin` (manages contributors too), `edit` (creates notebooks, runs, …) or `view`. */
  readonly role: KubeflowRole;
}

/** Props of {@link Profile}. */
export interface ProfileProps {
  /** Name of the profile, which is also its namespace (a DNS label). */
  readonly name: string;
  /** User id of the owner, as the gateway's user-id header carries it (without the prefix), e.g. `alice@example.com`. */
  readonly owner: string;
  /** The profile controller, which adopts the namespace and keeps the owner's bindings and the quota. */
  readonly controller: ProfilesController;
  /**
   * Pod Security Standards level enforced in the namespace. `baseline` as upstream: the pods that controllers create in
   * profile namespaces at run time (pipeline steps, notebooks, Katib trials, KServe predictors) run users' images and
   * settings, and many do not meet `restricted` (root users, no seccomp profile). `restricted` suits teams whose images
   * run as non-root; violating pods are then rejected at admission.
   * @default 'baseline'
   */
  readonly podSecurity?: ProfilePodSecurity;
  /** The namespace's quota (the controller writes it as ResourceQuota `kf-resource-quota`). @default DEFAULT_QUOTA */
  readonly quota?: ProfileQuota;
  /** The namespace's LimitRange. @default DEFAULT_LIMITS, with maxima from the quota */
  readonly limits?: ContainerLimits;
  /** Contributors, written as KFAM writes them so the dashboard lists them. @default - none */
  readonly contributors?: readonly ProfileContributor[];
  /** The Kubeflow gateway: its pods may open any port of the profile's pods (Istio policies decide who). @default - none */
  readonly gateway?: IKubeflowGateway;
  /** The artifact store: every pod of the profile may reach it (what each may read is its credential's business). @default - none */
  readonly store?: IArtifactStore;
  /**
   * Key prefix of the profile's private artifacts in the bucket, ending in `/`.
   * @default 'private-artifacts/<name>/' (upstream's)
   */
  readonly artifactPrefix?: string;
  /**
   * IAM role of the profile's workloads (IRSA): the Profile lists the controller's `AwsIamForServiceAccount` plugin with
   * `annotateOnly`, so the controller annotates `default-editor` with it; the role's trust policy (for
   * `system:serviceaccount:<name>:default-editor`) and its prefix-scoped S3 policy are the cloud stack's
   * (`ProfileArtifactRole`).
   * @default - none
   */
  readonly awsRoleArn?: string;
  /** Components that add objects to the namespace (multi-user Pipelines, …). @default - none */
  readonly extensions?: readonly IProfileExtension[];
  /**
   * Addresses outside the cluster the profile's pods may reach (package mirrors, an API); default-deny otherwise.
   * @default - none
   */
  readonly egress?: readonly AddressRule[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PRINTABLE = /^[\x21-\x7e]+$/;
const KEY_PREFIX = /^([A-Za-z0-9!_.*'()-]+\/)+$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const RESERVED = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
const ROLES: readonly KubeflowRole[] = ['admin', 'edit', 'view'];
/** Annotations KFAM and the dashboard read on contributors' RoleBindings and AuthorizationPolicies (kfam/bindings.go). */
const KFAM_USER = 'user';
const KFAM_ROLE = 'role';

/**
 * KFAM's name for a contributor's RoleBinding and AuthorizationPolicy (kubeflow/kubeflow v1.10.0
 * `kfam/bindings.go` `getBindingName`): `user-<id with every run of other characters than letters and digits as
 * '-'>-clusterrole-<role>`, lowercased. The dashboard removes a contributor by this name.
 */
export function contributorBindingName(user: string, role: KubeflowRole): string {
  return `User-${user.replace(/[^a-zA-Z0-9]+/g, '-')}-ClusterRole-${role}`.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/**
 * One tenant: a profile namespace a team owns, with everything it needs to be safe to share a cluster.
 *
 * - **Namespace**, created by kfkit with the `owner` annotation the profile controller checks before adopting an existing
 *   namespace (`profile_controller.go`: adopted only when `owner` equals the Profile's owner), the labels the
 *   controller would set ({@link ProfilesController.namespaceLabels}: Kubeflow's, the mesh's), and Pod Security
 *   {@link ProfileProps.podSecurity} (enforce, audit and warn; the controller never overwrites a label the namespace
 *   has, so `restricted` stays). Enrolled in the mesh.
 * - **Profile** custom resource: the owner, `resourceQuotaSpec` from {@link ProfileProps.quota} (the controller writes the
 *   ResourceQuota; kfkit does not write a second one) and the IRSA plugin when {@link ProfileProps.awsRoleArn} is set.
 * - **LimitRange** `kfkit-limits`: defaults and default requests for CPU and memory (the quota counts them, so every
 *   container must state them), maxima up to the quota, GPUs capped (no default: it would give every container a GPU),
 *   the largest volume.
 * - **Contributors**: a RoleBinding to `kubeflow-<role>` and an AuthorizationPolicy per contributor, named and annotated
 *   as KFAM names them ({@link contributorBindingName}, annotations `user` and `role`), so the dashboard lists them and
 *   can remove them.
 * - **Network**: default-deny (DNS allowed in the profile's own policy); pods of the namespace talk to each other; the gateway may open any port (Istio's
 *   policies decide which user); every pod may reach the artifact store and {@link ProfileProps.egress}; istiod for the
 *   sidecars; nothing else. Extensions add their own paths through {@link IProfile.network}. No path to the metadata
 *   database exists, and none can be added from here: the database admits only the platform's servers.
 *
 * Everything installs in the `tenants` wave except the Namespace (`namespaces`) and its default-deny policies
 * (`isolation`), so no pod ever starts in the namespace unisolated.
 */
export class Profile extends Construct implements IProfile {
  public readonly name: string;
  public readonly namespace: string;
  public readonly owner: ProfileSubject;
  public readonly scope: Construct;
  public readonly pods: NetworkPeer;
  public readonly network: ProfileNetwork;
  public readonly artifactPrefix: string;
  public readonly awsRoleArn?: string;
  /** The Namespace. */
  public readonly namespaceResource: PlatformNamespace;
  /** The Profile custom resource. */
  public readonly resource: ApiObject;
  /** The quota the controller writes. */
  public readonly quota: ProfileQuota;
  /** The ResourceQuota's `hard` map. */
  public readonly quotaHard: Readonly<Record<string, string>>;

  public constructor(scope: Construct, id: string, props: ProfileProps) {
    super(scope, id);
    const name = props.name;
    const where = `Profile ${name}`;
    const bad: (message: string) => never = (message) => {
      throw new Error(`${where}: ${message}`);
    };
    const controller = props.controller;
    if (!DNS_LABEL.test(name)) bad('name must be a DNS label (lowercase letters, digits and \'-\', at most 63 characters), since it is the namespace');
    if (RESERVED.has(name) || name.startsWith('kube-')) bad(`name "${name}" is a Kubernetes system namespace`);
    if (name === controller.namespace) bad(`name "${name}" is the platform namespace`);
    if (!PRINTABLE.test(props.owner)) bad(`owner "${props.owner}" must be a user id without spaces, e.g. alice@example.com`);
    const podSecurity = props.podSecurity ?? 'baseline';
    const level: string = podSecurity;
    if (level !== 'baseline' && level !== 'restricted') bad(`podSecurity "${level}" must be baseline or restricted`);
    const quota = props.quota ?? DEFAULT_QUOTA;
    const limits = props.limits ?? DEFAULT_LIMITS;
    const limitIssue = tenantLimitIssues(quota, limits).at(0);
    if (limitIssue !== undefined) bad(`${limitIssue.path.join('.')}: ${limitIssue.message}`);
    const prefix = props.artifactPrefix ?? `private-artifacts/${name}/`;
    if (!KEY_PREFIX.test(prefix)) bad(`artifactPrefix "${prefix}" must be a key prefix ending in / without a leading /`);
    const contributors = props.contributors ?? [];
    const seen = new Set<string>();
    contributors.forEach((c, i) => {
      if (!PRINTABLE.test(c.user)) bad(`contributors[${i}].user "${c.user}" must be a user id without spaces`);
      const role: string = c.role;
      if (!(ROLES as readonly string[]).includes(role)) bad(`contributors[${i}].role "${role}" must be admin, edit or view`);
      if (c.user === props.owner) bad(`contributors[${i}]: ${c.user} owns the profile (the owner is admin already)`);
      if (seen.has(c.user)) bad(`contributors[${i}]: ${c.user} is listed twice; give each user one role`);
      seen.add(c.user);
    });
    for (const [i, rule] of (props.egress ?? []).entries()) {
      if (!CIDR.test(rule.cidr)) bad(`egress[${i}].cidr "${rule.cidr}" must be an IPv4 CIDR block such as 203.0.113.0/24`);
      if (rule.ports.length === 0) bad(`egress[${i}].ports must list at least one port`);
    }
    if (props.awsRoleArn !== undefined && !controller.plugins.includes(AWS_IAM_PLUGIN)) {
      bad(`awsRoleArn needs the profile controller's ${AWS_IAM_PLUGIN} plugin (ProfilesController plugins.aws)`);
    }

    this.name = name;
    this.namespace = name;
    this.owner = { kind: 'User', name: props.owner };
    this.scope = this;
    this.pods = { peerName: name, namespace: name, podLabels: {} };
    this.artifactPrefix = prefix;
    this.awsRoleArn = props.awsRoleArn;
    this.quota = quota;
    this.quotaHard = quotaHard(quota);

    const ctx = KfkitContext.of(this);
    const plan = ctx.plan;
    plan.assign(this, plan.tenants);

    // The namespace, labelled as the controller would label it; the controller's empty values mean "remove".
    const labels = Object.fromEntries(Object.entries(controller.namespaceLabels)
      .filter(([key, value]) => value !== '' && !key.startsWith('pod-security.kubernetes.io/')));
    this.namespaceResource = new PlatformNamespace(this, 'Namespace', {
      name, podSecurity, labels: { ...labels, ...PROFILE_NAMESPACES.namespaceLabels }, declarePullSecrets: false, allowDns: false,
      ...(podSecurity === 'baseline' ? {
        podSecurityReason: 'the team\'s pipeline steps, notebooks and trials run images kfkit does not control (often root): baseline as '
          + 'kubeflow/manifests enforces in profile namespaces; set the profile\'s podSecurity to restricted for non-root images only',
      } : {}),
    });
    this.namespaceResource.resource.metadata.addAnnotation('owner', props.owner);
    const mesh = controller.mesh;
    // Sidecars fetch their configuration and certificates from istiod: through the profile's policy and, once for every
    // profile, istiod's side (a managed mesh only: kfkit writes nothing in the admins' namespace). Other dataplanes:
    // the mesh's own enrolment.
    if (mesh && mesh.dataplane !== 'sidecar') enrolInMesh(this, mesh, this.namespaceResource);

    const plugins: ProfilePlugin[] = props.awsRoleArn !== undefined
      ? [{ kind: AWS_IAM_PLUGIN, spec: { awsIamRole: props.awsRoleArn, annotateOnly: true } }]
      : [];
    this.resource = controller.crd.profile(this, 'Resource', name, {
      owner: { kind: 'User', name: props.owner, apiGroup: 'rbac.authorization.k8s.io' },
      resourceQuotaSpec: { hard: this.quotaHard },
      ...(plugins.length > 0 ? { plugins } : {}),
    });

    const managed = { 'app.kubernetes.io/managed-by': MANAGED_BY };
    new k8s.KubeLimitRange(this, 'LimitRange', {
      metadata: { name: 'kfkit-limits', namespace: name, labels: managed },
      spec: { limits: limitRangeItems(limits, quota).map((item) => toLimitRangeItem(item)) },
    });

    for (const c of contributors) {
      const bindingName = contributorBindingName(c.user, c.role);
      const annotations = { [KFAM_USER]: c.user, [KFAM_ROLE]: c.role };
      new k8s.KubeRoleBinding(this, `Contributor-${bindingName}`, {
        metadata: { name: bindingName, namespace: name, annotations, labels: managed },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: KUBEFLOW_ROLE_NAMES[c.role] },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: c.user }],
      });
      if (mesh) {
        new ApiObject(this, `ContributorPolicy-${bindingName}`, {
          apiVersion: ISTIO_SECURITY_API,
          kind: 'AuthorizationPolicy',
          metadata: { name: bindingName, namespace: name, annotations, labels: managed },
          spec: {
            rules: [{
              from: [{ source: { principals: [...controller.userRequestPrincipals] } }],
              when: [{ key: `request.headers[${controller.userHeaders.userId}]`, values: [`${controller.userHeaders.userIdPrefix}${c.user}`] }],
            }],
          },
        });
      }
    }

    // Network: the namespace's own pods, the gateway, the store, istiod (enrolment), the admins' addresses.
    this.network = new ProfileNetwork(this, 'Network', name);
    this.network.allowEgress(KUBE_DNS);
    this.network.allowEgress({ peer: this.pods, ports: [] });
    this.network.allowIngress(this.pods, []);
    const gateway = props.gateway;
    if (gateway) {
      this.network.allowIngress(gateway.ingress, []);
      ctx.once(`profile-gateway-egress:${gateway.ingress.namespace}`, () => {
        allowEgressToGroup(controller, 'GatewayToProfiles', gateway.ingress, { group: PROFILE_NAMESPACES }, []);
      });
    }
    if (mesh && mesh.dataplane === 'sidecar') {
      this.network.allowEgress({ peer: mesh.istiod, ports: [{ port: ISTIOD_XDS_PORT }] });
      if (mesh.mode === 'managed') {
        ctx.once(`profile-istiod:${mesh.istiod.namespace}`, () => {
          allowIngressFromGroup(controller, 'IstiodFromProfiles', mesh.istiod, { group: PROFILE_NAMESPACES }, [{ port: ISTIOD_XDS_PORT }]);
        });
      }
    }
    if (props.store) this.network.allowEgress(props.store.admitGroup({ group: PROFILE_NAMESPACES }));
    if (props.egress && props.egress.length > 0) this.network.allowEgress({ addresses: props.egress });

    for (const extension of props.extensions ?? []) extension.addToProfile(this);
  }
}

function toLimitRangeItem(item: ReturnType<typeof limitRangeItems>[number]): k8s.LimitRangeItem {
  const q = (r: Record<string, string> | undefined): Record<string, k8s.Quantity> | undefined =>
    r === undefined ? undefined : Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k8s.Quantity.fromString(v)]));
  return { type: item.type, default: q(item.default), defaultRequest: q(item.defaultRequest), max: q(item.max) };
}
