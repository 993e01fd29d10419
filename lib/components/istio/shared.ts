import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ChartApi } from '../../core/helm';
import { MANAGED_BY } from '../../core/labels';
import { ISTIO_NETWORKING_API, ISTIO_SECURITY_API } from '../../core/mesh';
import { labelSelector } from '../../core/network';

/** istiod's xDS and CA port (mTLS): proxies, waypoints, gateways and ztunnel fetch configuration and certificates there. */
export const ISTIOD_XDS_PORT = 15012;
/** istiod's admission webhook port (sidecar injection, config validation), called by the Kubernetes API server. */
export const ISTIOD_WEBHOOK_PORT = 15017;
/** HBONE: the mTLS tunnel port between ambient workloads, waypoints and gateways. */
export const HBONE_PORT = 15008;
/**
 * Source addresses of the kubelet's health probes to ambient pods: istio-cni SNATs them to these link-local addresses so
 * ztunnel can tell them from mesh traffic (istio/istio `cni/pkg/iptables`, Istio docs "Ambient and Kubernetes NetworkPolicy").
 */
export const AMBIENT_PROBE_SOURCES = ['169.254.7.127/32', 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128'] as const;

/** Labels of istiod's pods (every istiod chart and istioctl install sets `app: istiod`). */
export const ISTIOD_POD_LABELS: Readonly<Record<string, string>> = { app: 'istiod' };

/** The Istio API groups and kinds kfkit emits or lets components emit, at the version kfkit writes (v1). */
export const ISTIO_APIS: readonly ChartApi[] = [
  {
    group: ISTIO_NETWORKING_API.split('/')[0],
    kinds: ['DestinationRule', 'Gateway', 'ServiceEntry', 'Sidecar', 'VirtualService', 'WorkloadEntry', 'WorkloadGroup'],
    versions: [ISTIO_NETWORKING_API.split('/')[1]],
  },
  {
    group: ISTIO_SECURITY_API.split('/')[0],
    kinds: ['AuthorizationPolicy', 'PeerAuthentication', 'RequestAuthentication'],
    versions: [ISTIO_SECURITY_API.split('/')[1]],
  },
  { group: 'telemetry.istio.io', kinds: ['Telemetry'], versions: ['v1'] },
];

/** Kubernetes Gateway API: waypoints are `gateway.networking.k8s.io/v1` Gateways (istio-base does not ship these CRDs). */
export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';
/** The Gateway API release Istio 1.29 is built against (istio/istio 1.29.6 go.mod: sigs.k8s.io/gateway-api v1.4.1). */
export const GATEWAY_API_MIN_VERSION = 'v1.4';

/** One end of a policy rule that a pod selector cannot express with {@link NetworkPeer} (namespaces by label, addresses). */
export type PolicyPeer = k8s.NetworkPolicyPeer;

/** Options of {@link meshPolicy}. */
export interface MeshPolicyOptions {
  /** Policy name. */
  readonly name: string;
  /** Namespace of the policy and of the pods it selects. */
  readonly namespace: string;
  /** Labels of the selected pods; empty selects every pod of the namespace. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** Direction of the connections allowed. */
  readonly direction: 'Ingress' | 'Egress';
  /** Whom the selected pods accept connections from (ingress) or open connections to (egress). */
  readonly peers: readonly PolicyPeer[];
  /** TCP ports; empty allows every port (used only for the kubelet's SNATed probes, whose ports differ per pod). */
  readonly ports: readonly number[];
}

/**
 * A NetworkPolicy for mesh plumbing the typed helpers of `core/network` do not cover: peers selected by namespace
 * labels or addresses, or a client-side rule only (when the server's namespace belongs to the cluster admins).
 */
export function meshPolicy(scope: Construct, id: string, o: MeshPolicyOptions): k8s.KubeNetworkPolicy {
  const ports: k8s.NetworkPolicyPort[] | undefined = o.ports.length > 0
    ? o.ports.map((port) => ({ port: k8s.IntOrString.fromNumber(port), protocol: 'TCP' }))
    : undefined;
  return new k8s.KubeNetworkPolicy(scope, id, {
    metadata: { name: o.name, namespace: o.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: {
      podSelector: Object.keys(o.podLabels).length > 0 ? labelSelector(o.podLabels) : {},
      policyTypes: [o.direction],
      ingress: o.direction === 'Ingress' ? [{ from: [...o.peers], ports }] : undefined,
      egress: o.direction === 'Egress' ? [{ to: [...o.peers], ports }] : undefined,
    },
  });
}

/** A peer selecting every pod of the namespaces with label `key=value`. */
export function namespacesLabelled(key: string, value: string): PolicyPeer {
  return { namespaceSelector: { matchLabels: { [key]: value } } };
}

/** A peer selecting every pod of the namespace `name`. */
export function namespaceNamed(name: string): PolicyPeer {
  return { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } } };
}
