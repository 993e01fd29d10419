import { NetworkPeer } from './network';

/**
 * The contract between the mesh (Istio and the Kubeflow gateway), authentication and the web apps behind them.
 * Components receive these typed references; none of them reads the configuration.
 */

/** Istio API groups and the versions kfkit emits. */
export const ISTIO_NETWORKING_API = 'networking.istio.io/v1';
export const ISTIO_SECURITY_API = 'security.istio.io/v1';

/** The identity headers the gateway sets after authentication, which Kubeflow apps trust. */
export interface UserHeaders {
  /** Header with the user id (upstream: `kubeflow-userid`). */
  readonly userId: string;
  /** Prefix in front of the user id in that header (upstream: empty). */
  readonly userIdPrefix: string;
  /** Header with the user's groups (upstream: `kubeflow-groups`). */
  readonly groups: string;
}

/** An Istio extension provider the mesh config must define (e.g. oauth2-proxy as `envoyExtAuthzHttp`). */
export interface ExtensionProvider {
  /** Provider name, referenced by CUSTOM AuthorizationPolicies (`provider.name`). */
  readonly name: string;
  /** `envoyExtAuthzHttp` settings, as Istio's MeshConfig spells them. */
  readonly envoyExtAuthzHttp: {
    readonly service: string;
    readonly port: number;
    readonly headersToDownstreamOnDeny?: readonly string[];
    readonly headersToUpstreamOnAllow?: readonly string[];
    readonly includeRequestHeadersInCheck?: readonly string[];
  };
}

/** The mesh as other components see it. */
export interface IMesh {
  /** Namespace of istiod and the ingress gateway (upstream: `istio-system`). */
  readonly namespace: string;
  /** sidecar or ambient. */
  readonly dataplane: 'sidecar' | 'ambient';
  /** Who provides Istio: kfkit (managed) or the cluster admins (external). */
  readonly mode: 'external' | 'managed';
  /** Trust domain of workload identities (principals are `<trustDomain>/ns/<namespace>/sa/<serviceAccount>`). */
  readonly trustDomain: string;
  /** Labels that enrol a namespace in the mesh (`istio-injection: enabled`, or `istio.io/dataplane-mode: ambient`). */
  readonly enrollmentLabels: Readonly<Record<string, string>>;
  /** istiod pods, which enrolled workloads reach for configuration and certificates. */
  readonly istiod: NetworkPeer;
}

/** The Kubeflow gateway: where web apps attach their routes and where users authenticate. */
export interface IKubeflowGateway {
  /** `<namespace>/<name>` of the Istio Gateway, as VirtualServices list it in `spec.gateways`. */
  readonly gatewayRef: string;
  /** Host users reach Kubeflow at. */
  readonly host: string;
  /** `https://<host>`. */
  readonly url: string;
  /** The ingress gateway pods (for NetworkPolicies towards the apps). */
  readonly ingress: NetworkPeer;
  /** SPIFFE principal of the ingress gateway's ServiceAccount, for AuthorizationPolicies of the apps. */
  readonly ingressPrincipal: string;
  /** The mesh the gateway belongs to. */
  readonly mesh: IMesh;
  /** Identity headers apps receive once a user is authenticated, when authentication is configured. */
  readonly userHeaders?: UserHeaders;
}

/** Hosts of token issuers inside the cluster, whose keys istiod cannot fetch directly. */
const IN_CLUSTER_ISSUER = /^https:\/\/(kubernetes\.default(\.[^/:]+)?|[^/:]+\.svc|[^/:]+\.cluster\.local)(:\d+)?(\/|$)/;

/**
 * Whether `issuer` is a host inside the cluster (`kubernetes.default.svc…`, `*.svc`, `*.cluster.local`): its keys are
 * then served to istiod by kfkit's `cluster-jwks-proxy`, not fetched from outside.
 */
export function issuerInCluster(issuer: string): boolean {
  return IN_CLUSTER_ISSUER.test(issuer);
}
