import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { MANAGED_BY } from './labels';

/**
 * Network isolation as a mechanism.
 *
 * Every namespace kfkit creates starts default-deny (ingress and egress) with DNS allowed. Traffic is then opened
 * per typed relationship: a component that depends on another calls {@link allowTraffic} with both ends as
 * {@link NetworkPeer}s, which writes the ingress rule on the server's side and the egress rule on the client's
 * side, with stable names.
 */

/** One end of a connection: a set of pods in a namespace. */
export interface NetworkPeer {
  /** Short stable name, used in policy names (e.g. `mysql`). */
  readonly peerName: string;
  /** Namespace of the pods. */
  readonly namespace: string;
  /** Labels selecting the pods. */
  readonly podLabels: Readonly<Record<string, string>>;
}

/** A port opened by a rule. */
export interface NetworkPort {
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

const ALL_PODS = {};

/** Writes the default-deny policy and the DNS egress allowance of one namespace. */
export class NamespaceIsolation extends Construct {
  public constructor(scope: Construct, id: string, props: { readonly namespace: string }) {
    super(scope, id);
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: 'default-deny', namespace: props.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
      spec: { podSelector: ALL_PODS, policyTypes: ['Ingress', 'Egress'] },
    });
    new k8s.KubeNetworkPolicy(this, 'AllowDns', {
      metadata: { name: 'allow-dns', namespace: props.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
      spec: {
        podSelector: ALL_PODS,
        policyTypes: ['Egress'],
        egress: [{
          to: [{
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          }],
          ports: [{ port: k8s.IntOrString.fromNumber(53), protocol: 'UDP' }, { port: k8s.IntOrString.fromNumber(53), protocol: 'TCP' }],
        }],
      },
    });
  }
}

function ports(list: readonly NetworkPort[]): k8s.NetworkPolicyPort[] {
  return list.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' }));
}

function peerSelector(peer: NetworkPeer, other: NetworkPeer): k8s.NetworkPolicyPeer {
  return {
    podSelector: { matchLabels: { ...peer.podLabels } },
    namespaceSelector: peer.namespace === other.namespace ? undefined : { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
  };
}

/**
 * Allows `from` to open connections to `to` on `onPorts`: an ingress policy `<to>-from-<from>` in `to`'s
 * namespace and an egress policy `<from>-to-<to>` in `from`'s namespace. Both are created under `scope`,
 * so they install with the component that owns the relationship.
 */
export function allowTraffic(scope: Construct, from: NetworkPeer, to: NetworkPeer, onPorts: readonly NetworkPort[]): void {
  if (onPorts.length === 0) throw new Error(`allowTraffic(${from.peerName} → ${to.peerName}) needs at least one port`);
  const labels = { 'app.kubernetes.io/managed-by': MANAGED_BY };
  new k8s.KubeNetworkPolicy(scope, `Ingress-${from.peerName}-${to.peerName}`, {
    metadata: { name: `${to.peerName}-from-${from.peerName}`, namespace: to.namespace, labels },
    spec: {
      podSelector: { matchLabels: { ...to.podLabels } },
      policyTypes: ['Ingress'],
      ingress: [{ from: [peerSelector(from, to)], ports: ports(onPorts) }],
    },
  });
  new k8s.KubeNetworkPolicy(scope, `Egress-${from.peerName}-${to.peerName}`, {
    metadata: { name: `${from.peerName}-to-${to.peerName}`, namespace: from.namespace, labels },
    spec: {
      podSelector: { matchLabels: { ...from.podLabels } },
      policyTypes: ['Egress'],
      egress: [{ to: [peerSelector(to, from)], ports: ports(onPorts) }],
    },
  });
}

/**
 * Allows `from` to reach the Kubernetes API server. The API server is not a pod, and its endpoint address differs
 * per cluster, so the rule opens egress on the API server ports (443, 6443) to any address.
 */
export function allowKubeApi(scope: Construct, from: NetworkPeer): void {
  new k8s.KubeNetworkPolicy(scope, `KubeApi-${from.peerName}`, {
    metadata: { name: `${from.peerName}-to-kube-apiserver`, namespace: from.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: {
      podSelector: { matchLabels: { ...from.podLabels } },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: ports([{ port: 443 }, { port: 6443 }]) }],
    },
  });
}
