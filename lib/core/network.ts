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
/** Every IPv4 address. */
export const ANY_ADDRESS = '0.0.0.0/0';

/** Name, namespace and labels of a policy kfkit writes. */
function policyMetadata(name: string, namespace: string): k8s.ObjectMeta {
  return { name, namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } };
}

/** Writes the default-deny policy and the DNS egress allowance of one namespace. */
export class NamespaceIsolation extends Construct {
  public constructor(scope: Construct, id: string, props: { readonly namespace: string }) {
    super(scope, id);
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: policyMetadata('default-deny', props.namespace),
      spec: { podSelector: ALL_PODS, policyTypes: ['Ingress', 'Egress'] },
    });
    new k8s.KubeNetworkPolicy(this, 'AllowDns', {
      metadata: policyMetadata('allow-dns', props.namespace),
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

/** Rules of one policy: whom the selected pods talk to (ingress: from, egress: to), on which ports. */
interface PolicyRule {
  readonly peers: readonly k8s.NetworkPolicyPeer[];
  readonly ports: readonly NetworkPort[];
}

/** A policy allowing `pods` to accept (`Ingress`) or open (`Egress`) the connections of `rules`. */
function allowPolicy(scope: Construct, id: string, name: string, pods: NetworkPeer, direction: 'Ingress' | 'Egress', rules: readonly PolicyRule[]): void {
  new k8s.KubeNetworkPolicy(scope, id, {
    metadata: policyMetadata(name, pods.namespace),
    spec: {
      podSelector: { matchLabels: { ...pods.podLabels } },
      policyTypes: [direction],
      ingress: direction === 'Ingress' ? rules.map((r) => ({ from: [...r.peers], ports: ports(r.ports) })) : undefined,
      egress: direction === 'Egress' ? rules.map((r) => ({ to: [...r.peers], ports: ports(r.ports) })) : undefined,
    },
  });
}

/**
 * Allows `from` to open connections to `to` on `onPorts`: an ingress policy `<to>-from-<from>` in `to`'s
 * namespace and an egress policy `<from>-to-<to>` in `from`'s namespace. Both are created under `scope`,
 * so they install with the component that owns the relationship.
 */
export function allowTraffic(scope: Construct, from: NetworkPeer, to: NetworkPeer, onPorts: readonly NetworkPort[]): void {
  if (onPorts.length === 0) throw new Error(`allowTraffic(${from.peerName} → ${to.peerName}) needs at least one port`);
  const pair = `${from.peerName}-${to.peerName}`;
  allowPolicy(scope, `Ingress-${pair}`, `${to.peerName}-from-${from.peerName}`, to, 'Ingress', [{ peers: [peerSelector(from, to)], ports: onPorts }]);
  allowPolicy(scope, `Egress-${pair}`, `${from.peerName}-to-${to.peerName}`, from, 'Egress', [{ peers: [peerSelector(to, from)], ports: onPorts }]);
}

/** Addresses outside the pod network (a CIDR block) and the ports opened to them. */
export interface AddressRule {
  /** CIDR block, e.g. `0.0.0.0/0` (any address) or `169.254.169.254/32`. */
  readonly cidr: string;
  readonly ports: readonly NetworkPort[];
}

function addressRules(rules: readonly AddressRule[]): PolicyRule[] {
  return rules.map((r) => ({ peers: [{ ipBlock: { cidr: r.cidr } }], ports: r.ports }));
}

/**
 * Allows `from` to open connections to addresses outside the pod network (a managed service, the Kubernetes API
 * server), which no pod selector can name: an egress policy `<from>-to-<target>` in `from`'s namespace, one egress
 * rule per {@link AddressRule}, created under `scope` with construct id `id`.
 */
export function allowEgressToAddresses(scope: Construct, id: string, from: NetworkPeer, target: string, rules: readonly AddressRule[]): void {
  allowPolicy(scope, id, `${from.peerName}-to-${target}`, from, 'Egress', addressRules(rules));
}

/**
 * Allows connections to `to` from addresses outside the pod network (the Kubernetes API server calling a webhook):
 * an ingress policy `<to>-from-<source>` in `to`'s namespace, one ingress rule per {@link AddressRule}, created under
 * `scope` with construct id `id`.
 */
export function allowIngressFromAddresses(scope: Construct, id: string, to: NetworkPeer, source: string, rules: readonly AddressRule[]): void {
  allowPolicy(scope, id, `${to.peerName}-from-${source}`, to, 'Ingress', addressRules(rules));
}

/**
 * Allows `from` to reach the Kubernetes API server. The API server is not a pod, and its endpoint address differs
 * per cluster, so the rule opens egress on the API server ports (443, 6443) to any address.
 */
export function allowKubeApi(scope: Construct, from: NetworkPeer): void {
  allowEgressToAddresses(scope, `KubeApi-${from.peerName}`, from, 'kube-apiserver', [{ cidr: ANY_ADDRESS, ports: [{ port: 443 }, { port: 6443 }] }]);
}
