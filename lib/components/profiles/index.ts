import { createHash } from 'node:crypto';
import { ApiObject, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { AdmissionFence, fenceLabel } from '../../core/admission-fence';
import { GKE_SERVICE_ACCOUNT_ANNOTATION, IRSA_ROLE_ANNOTATION } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { IMesh, ISTIO_SECURITY_API, UserHeaders } from '../../core/mesh';
import { PodSecurityLevel } from '../../core/namespace';
import { addressRulesFor, allowEgressToAddresses, allowKubeApi, cidrsProblem, labelSelector, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { PROFILE_NAMESPACES } from '../../core/tenancy';
import { AWS_IAM_PLUGIN, GCP_SERVICE_ACCOUNT, IAM_ROLE_ARN, ProfileCrd, ProfilePluginKind, WORKLOAD_IDENTITY_PLUGIN } from './crd';
import { KUBEFLOW_ROLE_NAMES, KubeflowRoles } from './roles';
import { PROFILES_COMPONENT } from './shared';

export { AWS_IAM_PLUGIN, ProfileCrd, QUOTA_SCOPES, resourceQuotaSpecSchema, WORKLOAD_IDENTITY_PLUGIN } from './crd';
export type { ProfileBody, ProfileCrdProps, ProfilePlugin, ProfilePluginKind, ProfileResourceQuota, ProfileSpec } from './crd';
export { KUBEFLOW_ROLE_AGGREGATION, KUBEFLOW_ROLE_NAMES, kubeflowRoleLabels, KubeflowRoles } from './roles';
export type { KubeflowRole } from './roles';

/** Where clients reach KFAM (the Kubeflow Access Management API): its Service and the pods behind it. */
export interface KfamEndpoint {
  /** Name of the Service (`profiles-kfam`), in the namespace of {@link peer}. */
  readonly serviceName: string;
  /** Port of the Service (8081). */
  readonly servicePort: number;
  /** KFAM's pods (the profile controller's pods), for the NetworkPolicies a client writes with `allowTraffic`. */
  readonly peer: NetworkPeer;
  /** Port KFAM listens on (8081). */
  readonly podPort: number;
}

/** AWS IAM roles for profiles (plugin `AwsIamForServiceAccount`). */
export interface AwsIamPluginProps {
  /**
   * IAM role (IRSA) of the controller's ServiceAccount, allowed `iam:GetRole` and `iam:UpdateAssumeRolePolicy` on the
   * profiles' roles: the controller then adds each profile's `default-editor` to its role's trust policy (and removes it
   * when the profile goes), reaching AWS's API over HTTPS.
   * @default - annotate only: Profiles must set `annotateOnly: true`, and the admins write the roles' trust policies
   */
  readonly controllerRoleArn?: string;
  /**
   * IPv4 blocks where the controller reaches AWS IAM and STS on 443 (with interface VPC endpoints: the VPC's CIDR):
   * the only destinations of its egress there. `0.0.0.0/0` opens every address: give it only on purpose.
   * @default - none; required with controllerRoleArn
   */
  readonly iamCidrs?: readonly string[];
}

/** GKE Workload Identity for profiles (plugin `WorkloadIdentity`). */
export interface WorkloadIdentityPluginProps {
  /**
   * GCP service account the controller acts as (Workload Identity on its ServiceAccount). It needs
   * `iam.serviceAccounts.getIamPolicy`/`setIamPolicy` on the profiles' GCP service accounts, to grant each profile's
   * `default-editor` `roles/iam.workloadIdentityUser`.
   */
  readonly controllerServiceAccount: string;
  /**
   * GCP service account given to every profile that lists no WorkloadIdentity plugin (upstream `WORKLOAD_IDENTITY`; the
   * controller adds the plugin to such Profiles).
   * @default - none: only Profiles that list the plugin get an identity
   */
  readonly defaultServiceAccount?: string;
  /**
   * IPv4 blocks where the controller reaches Google's IAM API on 443 (with Private Google Access:
   * `private.googleapis.com`, 199.36.153.8/30): the only destinations of its egress there besides the GKE metadata
   * server. `0.0.0.0/0` opens every address: give it only on purpose.
   */
  readonly iamCidrs: readonly string[];
}

/** Cloud identity plugins the profile controller applies to profiles' `default-editor` ServiceAccounts. */
export interface ProfilePluginsProps {
  /** AWS IRSA (EKS). @default - disabled: Profiles listing it are rejected */
  readonly aws?: AwsIamPluginProps;
  /** GKE Workload Identity. @default - disabled: Profiles listing it are rejected */
  readonly gcp?: WorkloadIdentityPluginProps;
}

/** Compute budgets of the two containers. */
export interface ProfilesResources {
  /** The profile controller (`manager`); its cache holds every namespace, ServiceAccount, RoleBinding and quota. @default 20m CPU, 64Mi-512Mi memory */
  readonly controller?: ResourceBudget;
  /** KFAM (`kfam`); its cache holds every RoleBinding. @default 10m CPU, 32Mi-256Mi memory */
  readonly kfam?: ResourceBudget;
}

/** Props of {@link ProfilesController}. */
export interface ProfilesControllerProps {
  /**
   * Namespace of the controller and KFAM: the platform namespace (created elsewhere, enrolled in the mesh).
   * @default 'kubeflow'
   */
  readonly namespace?: string;
  /** The identity headers the gateway writes after authentication: the controller and KFAM trust `userId` (after `userIdPrefix`). */
  readonly userHeaders: UserHeaders;
  /**
   * The mesh. Profile namespaces get its enrolment labels; KFAM admits only the principals given to {@link ProfilesController.admitToKfam}.
   * @default - no mesh in the tree: Istio's AuthorizationPolicy API must still exist (the controller writes them), and
   * profile namespaces are not enrolled
   */
  readonly mesh?: IMesh;
  /**
   * Principal of the ingress gateway, which the owner's AuthorizationPolicy in each profile namespace admits (with the owner's
   * user-id header). Pass the gateway's `ingressPrincipal`.
   * @default - `<trust domain>/ns/<mesh namespace>/sa/istio-ingressgateway-service-account` (upstream's)
   */
  readonly gatewayPrincipal?: string;
  /**
   * Principal of the Pipelines UI, admitted into profile namespaces with the user's header (artifacts, TensorBoards).
   * @default - `<trust domain>/ns/<namespace>/sa/ml-pipeline-ui` (upstream's)
   */
  readonly pipelinesUiPrincipal?: string;
  /**
   * Principal of the notebook controller, admitted to the notebooks' `/api/kernels`.
   * @default - `<trust domain>/ns/<namespace>/sa/notebook-controller-service-account` (upstream's)
   */
  readonly notebookControllerPrincipal?: string;
  /**
   * The user id KFAM treats as cluster admin (may manage the contributors of every profile; upstream `ADMIN`).
   * @default - none
   */
  readonly clusterAdmin?: string;
  /** Cloud identity plugins. @default - none */
  readonly plugins?: ProfilePluginsProps;
  /**
   * Pod Security Standards level enforced in profile namespaces (where users' notebooks and pipeline steps run).
   * @default 'baseline' (kubeflow/manifests 26.03's `applications/profiles/pss`)
   */
  readonly profilePodSecurity?: PodSecurityLevel;
  /**
   * More labels for every profile namespace (e.g. `istio.io/use-waypoint`); an empty value removes the label. The
   * controller never changes the value of a label a namespace already has.
   * @default - none
   */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Compute budgets. @default - see {@link ProfilesResources} */
  readonly resources?: ProfilesResources;
}

/** Name of the Deployment (upstream's): the profile controller and KFAM in one pod. */
export const PROFILES_DEPLOYMENT = 'profiles-deployment';
/** ServiceAccount of the pod (upstream's). */
export const PROFILES_SERVICE_ACCOUNT = 'profiles-controller-service-account';
/** KFAM's Service (upstream's). */
export const KFAM_SERVICE = 'profiles-kfam';
/** KFAM's port (Service and container, upstream's). */
export const KFAM_PORT = 8081;
/** The controller's health port (upstream's `-health-probe-bind-address` default). */
const HEALTH_PORT = 9876;
/** ConfigMap read as environment by both containers (upstream's keys; upstream's name carries kustomize's hash suffix). */
export const PROFILES_CONFIG = 'profiles-config';
/** ConfigMap of the labels the controller puts on every profile namespace (upstream's name without the hash suffix). */
export const NAMESPACE_LABELS_CONFIG = 'namespace-labels-data';
const NAMESPACE_LABELS_KEY = 'namespace-labels.yaml';
/** Where the controller reads the labels (its `-namespace-labels-path` default, a directory mount so edits are seen). */
const NAMESPACE_LABELS_DIR = '/etc/profile-controller';
/** UID and GID of both images (distroless `nonroot`). */
const NONROOT = 65532;
/** Pod annotation with a digest of the configuration read as environment, so a change rolls the pods. */
const CONFIG_DIGEST_ANNOTATION = 'kfkit.dev/config-sha256';

/** Labels kubeflow/manifests 26.03 puts on every profile namespace (applications/profiles/pss), besides Pod Security. */
const UPSTREAM_NAMESPACE_LABELS: Readonly<Record<string, string>> = {
  'katib.kubeflow.org/metrics-collector-injection': 'enabled',
  'serving.kubeflow.org/inferenceservice': 'enabled',
  'pipelines.kubeflow.org/enabled': 'true',
  'app.kubernetes.io/part-of': 'kubeflow-profile',
};
/** The label the controller puts on every new namespace itself (profile_controller.go), removed through the labels file. */
const SIDECAR_INJECTION = 'istio-injection';
const POD_SECURITY_ENFORCE = 'pod-security.kubernetes.io/enforce';

const CONTROLLER_BUDGET: ResourceBudget = { cpu: { request: '20m' }, memory: { request: '64Mi', limit: '512Mi' } };
const KFAM_BUDGET: ResourceBudget = { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '256Mi' } };

/** GKE metadata server: 169.254.169.254:80 with Dataplane V2, 169.254.169.252:988 with Calico. */
const GKE_METADATA = [{ cidr: '169.254.169.254/32', port: 80 }, { cidr: '169.254.169.252/32', port: 988 }] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HEADER = /^[A-Za-z0-9][-A-Za-z0-9]*$/;
const PRINCIPAL = /^[a-z0-9.-]+\/ns\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/sa\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const PRINTABLE = /^[\x21-\x7e]*$/;

/** Whether `key` is a valid label key (`[prefix/]name`). */
function isLabelKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  return LABEL_NAME.test(name) && (prefix === undefined || (prefix.length <= 253 && LABEL_PREFIX.test(prefix)));
}

/** Sorted copy of a label map. */
function sorted(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The Kubeflow profile controller and KFAM (kubeflow/kubeflow v1.10.0), as kubeflow/manifests 26.03 installs them
 * (`applications/profiles/pss`, `common/kubeflow-roles`): Deployment `profiles-deployment` with containers `manager` and
 * `kfam`, ServiceAccount `profiles-controller-service-account`, Service `profiles-kfam` (8081), ConfigMaps
 * `profiles-config` and `namespace-labels-data`, the `profiles.kubeflow.org` CRD ({@link crd}) and the aggregated
 * Kubeflow roles ({@link roles}).
 *
 * For every Profile the controller creates the namespace (labelled with {@link namespaceLabels}), the owner's RoleBinding
 * to `kubeflow-admin`, ServiceAccounts `default-editor`/`default-viewer` bound to `kubeflow-edit`/`kubeflow-view`, the
 * owner's AuthorizationPolicy (the gateway and the Pipelines UI with the owner's user-id header), the quota and the cloud
 * identity plugins. KFAM serves the dashboard's contributor management: RoleBindings and AuthorizationPolicies per
 * contributor.
 *
 * Differences from upstream, each for a reason (facts/deviations.json lists those the fidelity check sees):
 * - RBAC: upstream binds `cluster-admin`. kfkit grants what the two programs call (namespaces, ServiceAccounts,
 *   RoleBindings, AuthorizationPolicies, ResourceQuotas, Profiles) and `bind` on the three Kubeflow roles only, so the
 *   pod can hand out those roles but no other; no leader-election Role (the controller runs without `-leader-elect`).
 * - Namespace labels follow the mesh: with the ambient dataplane profile namespaces join ambient (and lose the
 *   controller's hard-coded `istio-injection`), where upstream leaves them on sidecars. The owner's and contributors'
 *   policies match the user-id header, an L7 attribute: ambient profile namespaces need a waypoint (label
 *   `istio.io/use-waypoint` through {@link ProfilesControllerProps.namespaceLabels}) or ztunnel denies those requests.
 * - KFAM is not routed at the gateway: upstream's `/kfam/` route ends at KFAM's AuthorizationPolicy, which admits the
 *   dashboard only. kfkit's policy admits exactly the principals given to {@link admitToKfam}.
 * - ConfigMaps without kustomize's hash suffix; a digest annotation rolls the pods when the configuration changes.
 *
 * Network: the pod reaches the Kubernetes API (and the cloud's IAM API when a plugin needs it); clients of KFAM open
 * their side with `allowTraffic(client, kfam.peer, …)`. The controller's metrics port is not opened.
 */
export class ProfilesController extends Construct {
  /** Namespace of the controller and KFAM. */
  public readonly namespace: string;
  /** The Profile CRD (write Profiles with `crd.profile(…)`). */
  public readonly crd: ProfileCrd;
  /** The aggregated Kubeflow roles. */
  public readonly roles: KubeflowRoles;
  /** The admission fence confining the controller's ServiceAccount to profile namespaces and Kubeflow's roles. */
  public readonly fence: AdmissionFence;
  /** KFAM's Service and pods, for the dashboard. */
  public readonly kfam: KfamEndpoint;
  /** The controller's (and KFAM's) pods. */
  public readonly peer: NetworkPeer;
  /** The identity headers the controller and KFAM read. */
  public readonly userHeaders: UserHeaders;
  /** The labels the controller sets on every profile namespace (an empty value: removed), as written to `namespace-labels-data`. */
  public readonly namespaceLabels: Readonly<Record<string, string>>;
  /** The Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** KFAM's AuthorizationPolicy `profiles-kfam`, when there is a mesh. */
  public readonly kfamPolicy?: ApiObject;
  /** The mesh profile namespaces are enrolled in, if any. */
  public readonly mesh?: IMesh;
  /**
   * Who may forward a user's request into a profile namespace (the owner's and contributors' AuthorizationPolicies
   * admit them with the user's header): the ingress gateway and the Pipelines UI, as upstream.
   */
  public readonly userRequestPrincipals: readonly string[];
  /** The cloud identity plugins Profiles may use. */
  public readonly plugins: readonly ProfilePluginKind[];
  private readonly kfamCallers: string[] = [];

  public constructor(scope: Construct, id: string, props: ProfilesControllerProps) {
    super(scope, id);
    const where = `ProfilesController ${this.node.path}`;
    const bad: (message: string) => never = (message) => {
      throw new Error(`${where}: ${message}`);
    };
    const ns = props.namespace ?? 'kubeflow';
    if (!DNS_LABEL.test(ns)) bad(`namespace "${ns}" must be a DNS label`);
    const headers = props.userHeaders;
    if (!HEADER.test(headers.userId)) bad(`userHeaders.userId "${headers.userId}" must be an HTTP header name, e.g. kubeflow-userid`);
    if (!PRINTABLE.test(headers.userIdPrefix)) bad(`userHeaders.userIdPrefix "${headers.userIdPrefix}" must be printable characters without spaces (or empty)`);
    const mesh = props.mesh;
    const trustDomain = mesh?.trustDomain ?? 'cluster.local';
    const principal = (given: string | undefined, what: string, fallback: string): string => {
      const value = given ?? fallback;
      if (!PRINCIPAL.test(value)) bad(`${what} "${value}" must be a mesh principal <trust domain>/ns/<namespace>/sa/<serviceaccount>`);
      return value;
    };
    const gatewayPrincipal = principal(props.gatewayPrincipal, 'gatewayPrincipal',
      `${trustDomain}/ns/${mesh?.namespace ?? 'istio-system'}/sa/istio-ingressgateway-service-account`);
    const uiPrincipal = principal(props.pipelinesUiPrincipal, 'pipelinesUiPrincipal', `${trustDomain}/ns/${ns}/sa/ml-pipeline-ui`);
    const notebookPrincipal = principal(props.notebookControllerPrincipal, 'notebookControllerPrincipal',
      `${trustDomain}/ns/${ns}/sa/notebook-controller-service-account`);
    const admin = props.clusterAdmin ?? '';
    if (!PRINTABLE.test(admin)) bad(`clusterAdmin "${admin}" must be a user id without spaces`);
    const plugins = checkPlugins(bad, props.plugins ?? {});
    this.namespaceLabels = profileNamespaceLabels(bad, mesh, props.profilePodSecurity ?? 'baseline', props.namespaceLabels ?? {});
    this.namespace = ns;
    this.userHeaders = headers;
    this.mesh = mesh;
    this.userRequestPrincipals = [gatewayPrincipal, uiPrincipal];
    this.plugins = plugins.kinds;

    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { name: PROFILES_DEPLOYMENT, component: PROFILES_COMPONENT, version: ctx.images.entry('profile-controller').tag };
    const labels = standardLabels(identity);
    this.peer = { peerName: 'profiles', namespace: ns, podLabels: selectorLabels(identity) };
    this.kfam = { serviceName: KFAM_SERVICE, servicePort: KFAM_PORT, peer: this.peer, podPort: KFAM_PORT };

    this.crd = new ProfileCrd(this, 'Crd', { plugins: plugins.kinds, awsAnnotateOnly: props.plugins?.aws !== undefined && plugins.awsRole === undefined });
    this.roles = new KubeflowRoles(this, 'Roles');

    serviceAccountWithRole(this, {
      name: PROFILES_SERVICE_ACCOUNT, namespace: ns, labels, automountServiceAccountToken: false,
      annotations: {
        ...(plugins.awsRole !== undefined ? { [IRSA_ROLE_ANNOTATION]: plugins.awsRole } : {}),
        ...(plugins.gcpAccount !== undefined ? { [GKE_SERVICE_ACCOUNT_ANNOTATION]: plugins.gcpAccount } : {}),
      },
      clusterRules: controllerRules(), clusterRoleName: 'profiles-controller', clusterRoleBindingName: 'profiles-controller',
    });
    // RBAC lets the controller and KFAM write RoleBindings, ServiceAccounts, quotas and policies in any namespace and
    // bind Kubeflow's roles: the fence keeps all of it to profile namespaces (no admin of kube-system).
    this.fence = new AdmissionFence(this, 'Fence', {
      name: 'kfkit-profiles-controller',
      serviceAccount: { namespace: ns, name: PROFILES_SERVICE_ACCOUNT },
      namespaced: [
        { group: '', resources: ['serviceaccounts', 'resourcequotas'] },
        { group: 'rbac.authorization.k8s.io', resources: ['rolebindings'] },
        { group: 'security.istio.io', resources: ['authorizationpolicies'] },
      ],
      namespaceLabel: fenceLabel(PROFILE_NAMESPACES),
      roleRefs: { kind: 'ClusterRole', names: Object.values(KUBEFLOW_ROLE_NAMES) },
      namespaces: 'labelled',
      reason: 'The profile controller and KFAM may, by RBAC, write RoleBindings in any namespace and bind kubeflow-admin (secrets, pods/exec, '
        + 'rolebindings): confined to profile namespaces, to Kubeflow\'s roles, and to namespaces that were profiles before',
    });

    const config: Record<string, string> = {
      ADMIN: admin,
      ISTIO_INGRESS_GATEWAY_PRINCIPAL: gatewayPrincipal,
      KFP_UI_PRINCIPAL: uiPrincipal,
      NOTEBOOK_CONTROLLER_PRINCIPAL: notebookPrincipal,
      USERID_HEADER: headers.userId,
      USERID_PREFIX: headers.userIdPrefix,
      WORKLOAD_IDENTITY: props.plugins?.gcp?.defaultServiceAccount ?? '',
    };
    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: PROFILES_CONFIG, namespace: ns, labels }, data: config });
    new k8s.KubeConfigMap(this, 'NamespaceLabels', {
      metadata: { name: NAMESPACE_LABELS_CONFIG, namespace: ns, labels },
      data: { [NAMESPACE_LABELS_KEY]: namespaceLabelsFile(this.namespaceLabels) },
    });

    clusterIpService(this, { name: KFAM_SERVICE, namespace: ns, identity, ports: [servicePort('http', KFAM_PORT)] });
    const fromConfig: k8s.EnvFromSource[] = [{ configMapRef: { name: PROFILES_CONFIG } }];
    const probe = (path: string, port: number, initialDelaySeconds: number, periodSeconds: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromNumber(port) }, initialDelaySeconds, periodSeconds,
    });
    this.deployment = deployment(this, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: PROFILES_SERVICE_ACCOUNT,
        automountServiceAccountToken: true,
        security: { user: NONROOT, group: NONROOT },
        annotations: { [CONFIG_DIGEST_ANNOTATION]: createHash('sha256').update(JSON.stringify(sorted(config))).digest('hex') },
        containers: [
          {
            name: 'manager',
            image: ctx.images.image('profile-controller'),
            command: ['/manager', '-userid-header', '$(USERID_HEADER)', '-userid-prefix', '$(USERID_PREFIX)', '-workload-identity', '$(WORKLOAD_IDENTITY)'],
            envFrom: fromConfig,
            ports: [{ containerPort: HEALTH_PORT, protocol: 'TCP' }],
            resources: props.resources?.controller ?? CONTROLLER_BUDGET,
            volumeMounts: [{ name: 'namespace-labels', mountPath: NAMESPACE_LABELS_DIR, readOnly: true }],
            livenessProbe: probe('/healthz', HEALTH_PORT, 15, 20),
            readinessProbe: probe('/readyz', HEALTH_PORT, 5, 10),
          },
          {
            name: 'kfam',
            image: ctx.images.image('kfam'),
            command: ['/access-management', '-cluster-admin', '$(ADMIN)', '-userid-header', '$(USERID_HEADER)', '-userid-prefix', '$(USERID_PREFIX)'],
            envFrom: fromConfig,
            ports: [{ name: 'kfam-http', containerPort: KFAM_PORT, protocol: 'TCP' }],
            resources: props.resources?.kfam ?? KFAM_BUDGET,
            livenessProbe: probe('/metrics', KFAM_PORT, 30, 30),
            // KFAM listens once its RoleBinding cache has synced.
            readinessProbe: probe('/metrics', KFAM_PORT, 5, 10),
          },
        ],
        volumes: [{ name: 'namespace-labels', configMap: { name: NAMESPACE_LABELS_CONFIG } }],
      },
    });

    allowKubeApi(this, this.peer);
    if (plugins.awsRole !== undefined || plugins.gcpAccount !== undefined) {
      // IAM of the cloud (iam.amazonaws.com and STS, or iam.googleapis.com) where the admins say it is reached.
      allowEgressToAddresses(this, 'CloudIam', this.peer, 'cloud-iam', [
        ...addressRulesFor(plugins.iamCidrs, [{ port: 443 }]),
        ...(plugins.gcpAccount !== undefined ? GKE_METADATA.map((m) => ({ cidr: m.cidr, ports: [{ port: m.port }] })) : []),
      ]);
    }

    if (mesh) {
      // ALLOW with the callers' principals; without any caller, a policy without rules: nobody reaches KFAM.
      this.kfamPolicy = new ApiObject(this, 'KfamPolicy', {
        apiVersion: ISTIO_SECURITY_API,
        kind: 'AuthorizationPolicy',
        metadata: { name: KFAM_SERVICE, namespace: ns, labels: { ...labels } },
        spec: {
          action: 'ALLOW',
          selector: labelSelector(this.peer.podLabels),
          rules: Lazy.any({
            produce: () => (this.kfamCallers.length > 0 ? [{ from: [{ source: { principals: [...this.kfamCallers].sort() } }] }] : []),
          }) as unknown[],
        },
      });
    } else {
      ctx.addRequirements(() => [
        'Istio\'s security.istio.io/v1beta1 AuthorizationPolicy API: the profile controller watches and writes AuthorizationPolicies in profile namespaces',
      ]);
    }
  }

  /**
   * Lets the workload with mesh principal `principal` (e.g. the central dashboard's) call KFAM: adds it to KFAM's
   * AuthorizationPolicy. The caller opens its NetworkPolicies itself (`allowTraffic(caller, kfam.peer, …)`). Without a
   * mesh there is no policy to add to, and only NetworkPolicies limit KFAM's callers.
   */
  public admitToKfam(principal: string): void {
    if (!PRINCIPAL.test(principal)) throw new Error(`${this.node.path}: admitToKfam: "${principal}" must be a mesh principal <trust domain>/ns/<namespace>/sa/<serviceaccount>`);
    if (!this.kfamCallers.includes(principal)) this.kfamCallers.push(principal);
  }
}

type Bad = (message: string) => never;

/** The checked plugin settings. */
interface CheckedPlugins {
  readonly kinds: ProfilePluginKind[];
  readonly awsRole?: string;
  readonly gcpAccount?: string;
  /** Where the cloud's IAM is reached, when the controller calls it. */
  readonly iamCidrs: readonly string[];
}

function checkPlugins(bad: Bad, plugins: ProfilePluginsProps): CheckedPlugins {
  const kinds: ProfilePluginKind[] = [];
  const { aws, gcp } = plugins;
  if (aws) {
    if (aws.controllerRoleArn !== undefined && !IAM_ROLE_ARN.test(aws.controllerRoleArn)) {
      bad(`plugins.aws.controllerRoleArn "${aws.controllerRoleArn}" must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
    }
    kinds.push(AWS_IAM_PLUGIN);
  }
  if (gcp) {
    if (aws) bad('plugins: aws and gcp are both enabled; a cluster\'s ServiceAccounts take their cloud identity from one cloud (EKS or GKE)');
    if (!GCP_SERVICE_ACCOUNT.test(gcp.controllerServiceAccount)) {
      bad(`plugins.gcp.controllerServiceAccount "${gcp.controllerServiceAccount}" must be a GCP service account e-mail (<name>@<project>.iam.gserviceaccount.com)`);
    }
    if (gcp.defaultServiceAccount !== undefined && !GCP_SERVICE_ACCOUNT.test(gcp.defaultServiceAccount)) {
      bad(`plugins.gcp.defaultServiceAccount "${gcp.defaultServiceAccount}" must be a GCP service account e-mail`);
    }
    kinds.push(WORKLOAD_IDENTITY_PLUGIN);
  }
  const iam = aws?.controllerRoleArn !== undefined ? { at: 'plugins.aws.iamCidrs', cidrs: aws.iamCidrs }
    : gcp ? { at: 'plugins.gcp.iamCidrs', cidrs: gcp.iamCidrs } : undefined;
  const problem = iam === undefined ? undefined : cidrsProblem(iam.cidrs);
  if (iam !== undefined && problem !== undefined) bad(`${iam.at} ${problem} (the controller calls the cloud's IAM API)`);
  if (aws?.controllerRoleArn === undefined && aws?.iamCidrs !== undefined) bad('plugins.aws.iamCidrs applies only with controllerRoleArn (annotate-only calls no AWS API)');
  return { kinds, awsRole: aws?.controllerRoleArn, gcpAccount: gcp?.controllerServiceAccount, iamCidrs: iam?.cidrs ?? [] };
}

/** The labels file: upstream's labels, Pod Security, the mesh's enrolment, the admins' extras. */
function profileNamespaceLabels(
  bad: Bad, mesh: IMesh | undefined, podSecurity: PodSecurityLevel, extra: Readonly<Record<string, string>>,
): Record<string, string> {
  const level: string = podSecurity;
  if (!['restricted', 'baseline', 'privileged'].includes(level)) bad(`profilePodSecurity "${level}" must be restricted, baseline or privileged`);
  const enrolment: Record<string, string> = { ...(mesh?.enrollmentLabels ?? {}) };
  // The controller labels every new namespace istio-injection: enabled; an empty value removes it.
  if (!(SIDECAR_INJECTION in enrolment)) enrolment[SIDECAR_INJECTION] = '';
  for (const [key, value] of Object.entries(extra)) {
    if (!isLabelKey(key)) bad(`namespaceLabels: "${key}" is not a label key`);
    if (!LABEL_VALUE.test(value)) bad(`namespaceLabels.${key}: "${value}" is not a label value`);
    if (key.startsWith('pod-security.kubernetes.io/')) bad(`namespaceLabels.${key}: set the Pod Security level with profilePodSecurity`);
    if (key in enrolment) bad(`namespaceLabels.${key}: the mesh's enrolment sets this label (${JSON.stringify(enrolment[key])})`);
  }
  return sorted({ ...UPSTREAM_NAMESPACE_LABELS, [POD_SECURITY_ENFORCE]: podSecurity, ...enrolment, ...extra });
}

/** The labels file the controller reads (a YAML map; an empty value removes the label). */
function namespaceLabelsFile(labels: Readonly<Record<string, string>>): string {
  return [
    '# Labels the profile controller puts on every profile namespace (kfkit).',
    '# An empty value removes a label; values already set are never changed.',
    stringify(labels, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }).trimEnd(),
    '',
  ].join('\n');
}

/**
 * What the profile controller and KFAM call (kubeflow/kubeflow v1.10.0): the controller creates and updates each profile's
 * namespace, ServiceAccounts, RoleBindings, AuthorizationPolicy and ResourceQuota (and deletes the quota), watching them
 * cluster-wide through its cache, updates Profiles (finalizer, default plugins) and sets them as owner of what it creates
 * (`update profiles/finalizers`); KFAM creates and deletes Profiles and contributors' RoleBindings and AuthorizationPolicies
 * and lists RoleBindings cluster-wide. RoleBindings to the Kubeflow roles need `bind` on them.
 */
function controllerRules(): k8s.PolicyRule[] {
  const read = ['get', 'list', 'watch'];
  return [
    { apiGroups: [''], resources: ['namespaces', 'serviceaccounts'], verbs: [...read, 'create', 'update'] },
    { apiGroups: [''], resources: ['resourcequotas'], verbs: [...read, 'create', 'update', 'delete'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: [...read, 'create', 'update', 'delete'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: Object.values(KUBEFLOW_ROLE_NAMES) },
    { apiGroups: ['security.istio.io'], resources: ['authorizationpolicies'], verbs: [...read, 'create', 'update', 'delete'] },
    { apiGroups: ['kubeflow.org'], resources: ['profiles'], verbs: [...read, 'create', 'update', 'delete'] },
    { apiGroups: ['kubeflow.org'], resources: ['profiles/finalizers'], verbs: ['update'] },
  ];
}

