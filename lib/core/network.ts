import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { MANAGED_BY } from './labels';
import { KfkitContext } from './context';

export { ANY_ADDRESS, checkedCidrs, cidrsProblem, ipv4CidrProblem } from './addresses';

/**
 * A label selector matching `labels`, as the API server stores it: with no labels, `{}` (selects everything) — an empty
 * `matchLabels` would be dropped by the server and written back by every apply (harness rule `apply-stable`).
 */
export function labelSelector(labels: Readonly<Record<string, string>>): { matchLabels?: Record<string, string> } {
  return Object.keys(labels).length === 0 ? {} : { matchLabels: { ...labels } };
}

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

/**
 * Every namespace carrying `namespaceLabels` (e.g. every tenant profile), for the server side of a relationship with
 * many client namespaces: one policy admits them all, instead of one per namespace.
 */
export interface NamespaceGroup {
  /** Short stable name, used in policy names (e.g. `profiles`). */
  readonly groupName: string;
  /** Labels every namespace of the group carries (only cluster admins and controllers can label namespaces). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
}

/**
 * Where a client is allowed to connect, as data: pods (of another namespace) on ports, or addresses outside the pod
 * network. A server hands it to clients that write their own egress rules (tenant namespaces).
 */
export type EgressTarget =
  | { readonly peer: NetworkPeer; readonly ports: readonly NetworkPort[] }
  | { readonly addresses: readonly AddressRule[] };

/** A port opened by a rule. */
export interface NetworkPort {
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

const ALL_PODS = {};

/** One {@link AddressRule} per block of `cidrs`, each opening `ports`. */
export function addressRulesFor(cidrs: readonly string[], ports: readonly NetworkPort[]): AddressRule[] {
  return cidrs.map((cidr) => ({ cidr, ports: [...ports] }));
}

/** Name, namespace and labels of a policy kfkit writes. */
function policyMetadata(name: string, namespace: string): k8s.ObjectMeta {
  return { name, namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } };
}

/** The cluster DNS (kube-system's kube-dns pods, port 53 over UDP and TCP), as an egress target. */
export const KUBE_DNS: EgressTarget = {
  peer: { peerName: 'kube-dns', namespace: 'kube-system', podLabels: { 'k8s-app': 'kube-dns' } },
  ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
};

/**
 * Writes the default-deny policy and the DNS egress allowance of one namespace. With `allowDns: false` the owner puts
 * {@link KUBE_DNS} into a policy of its own (a tenant namespace's consolidated one), one object less per namespace.
 */
export class NamespaceIsolation extends Construct {
  public constructor(scope: Construct, id: string, props: { readonly namespace: string; readonly allowDns?: boolean }) {
    super(scope, id);
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: policyMetadata('default-deny', props.namespace),
      spec: { podSelector: ALL_PODS, policyTypes: ['Ingress', 'Egress'] },
    });
    if (props.allowDns === false) return;
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

/** The ports of a rule; none means every port, written as no `ports` at all (the API server drops an empty list). */
function ports(list: readonly NetworkPort[]): k8s.NetworkPolicyPort[] | undefined {
  return list.length === 0 ? undefined : list.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' }));
}

function peerSelector(peer: NetworkPeer, other: NetworkPeer): k8s.NetworkPolicyPeer {
  return {
    podSelector: labelSelector(peer.podLabels),
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
      podSelector: labelSelector(pods.podLabels),
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
 * Allows `from` to reach the Kubernetes API server. The API server is not a pod: the rule opens egress on the API
 * server ports (443, 6443) to the API server's addresses ({@link KfkitContext.apiServerCidrs}).
 */
export function allowKubeApi(scope: Construct, from: NetworkPeer): void {
  allowEgressToAddresses(scope, `KubeApi-${from.peerName}`, from, 'kube-apiserver', kubeApiRules(scope));
}

/** The API server's ports (443 through the `kubernetes` Service, 6443 on its endpoints). */
const KUBE_API_PORTS: NetworkPort[] = [{ port: 443 }, { port: 6443 }];

function kubeApiRules(scope: Construct): AddressRule[] {
  return KfkitContext.of(scope).apiServerCidrs.map((cidr) => ({ cidr, ports: KUBE_API_PORTS }));
}

/**
 * Lets the API server call `to` on `ports` (admission and conversion webhooks): `<peer>-from-kube-apiserver`, from
 * the API server's addresses only (the context's {@link KfkitContext.apiServerCidrs}).
 */
export function allowFromKubeApi(scope: Construct, id: string, to: NetworkPeer, ports: readonly NetworkPort[]): void {
  allowIngressFromAddresses(scope, id, to, 'kube-apiserver', KfkitContext.of(scope).apiServerCidrs.map((cidr) => ({ cidr, ports: [...ports] })));
}

function groupSelector(group: NamespaceGroup, podLabels: Readonly<Record<string, string>>): k8s.NetworkPolicyPeer {
  return { namespaceSelector: labelSelector(group.namespaceLabels), podSelector: labelSelector(podLabels) };
}

/** Pods of the namespaces of a {@link NamespaceGroup}: `podLabels` (every pod when empty) and a name for policy names. */
export interface GroupPods {
  readonly group: NamespaceGroup;
  /** Short name of the pods, used in policy names (e.g. `pipeline-runs`). @default - the group's name */
  readonly podsName?: string;
  readonly podLabels?: Readonly<Record<string, string>>;
}

function groupPodsName(pods: GroupPods): string {
  return pods.podsName === undefined ? pods.group.groupName : `${pods.group.groupName}-${pods.podsName}`;
}

/**
 * The server side of connections from the pods of every namespace of a group: an ingress policy
 * `<to>-from-<group>[-<pods>]` in `to`'s namespace. The clients' egress rules are the group members' own.
 */
export function allowIngressFromGroup(scope: Construct, id: string, to: NetworkPeer, from: GroupPods, onPorts: readonly NetworkPort[]): void {
  if (onPorts.length === 0) throw new Error(`allowIngressFromGroup(${groupPodsName(from)} → ${to.peerName}) needs at least one port`);
  allowPolicy(scope, id, `${to.peerName}-from-${groupPodsName(from)}`, to, 'Ingress', [{ peers: [groupSelector(from.group, from.podLabels ?? {})], ports: onPorts }]);
}

/**
 * The client side of connections to the pods of every namespace of a group: an egress policy
 * `<from>-to-<group>[-<pods>]` in `from`'s namespace; an empty port list opens every port.
 */
export function allowEgressToGroup(scope: Construct, id: string, from: NetworkPeer, to: GroupPods, onPorts: readonly NetworkPort[]): void {
  allowPolicy(scope, id, `${from.peerName}-to-${groupPodsName(to)}`, from, 'Egress', [{ peers: [groupSelector(to.group, to.podLabels ?? {})], ports: onPorts }]);
}

/** The egress rule (wire form) that lets a client reach `target`. */
export function egressRules(target: EgressTarget, clientNamespace: string): k8s.NetworkPolicyEgressRule[] {
  if ('addresses' in target) {
    return target.addresses.map((r) => ({ to: [{ ipBlock: { cidr: r.cidr } }], ports: ports(r.ports) }));
  }
  const { peer } = target;
  return [{
    to: [{
      podSelector: labelSelector(peer.podLabels),
      namespaceSelector: peer.namespace === clientNamespace ? undefined : { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
    }],
    ports: ports(target.ports),
  }];
}

/** The ingress rule (wire form) that admits `from` (pods of another namespace) on `onPorts`; no ports: every port. */
export function ingressRule(from: NetworkPeer, onPorts: readonly NetworkPort[], serverNamespace: string): k8s.NetworkPolicyIngressRule {
  return {
    from: [{
      podSelector: labelSelector(from.podLabels),
      namespaceSelector: from.namespace === serverNamespace ? undefined : { matchLabels: { 'kubernetes.io/metadata.name': from.namespace } },
    }],
    ports: ports(onPorts),
  };
}

/** The Kubernetes API server, as an egress target: ports 443 and 6443 of the context's API server addresses (see {@link allowKubeApi}). */
export function kubeApi(scope: Construct): EgressTarget {
  return { addresses: kubeApiRules(scope) };
}
