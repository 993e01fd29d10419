import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { MANAGED_BY, PART_OF } from '../../core/labels';
import { IMesh } from '../../core/mesh';
import { PlatformNamespace } from '../../core/namespace';
import { allowTraffic, labelSelector, NetworkPeer } from '../../core/network';
import {
  AMBIENT_PROBE_SOURCES, GATEWAY_API_GROUP, GATEWAY_API_MIN_VERSION, HBONE_PORT, ISTIOD_XDS_PORT, meshPolicy, namespaceNamed, namespacesLabelled,
} from './shared';

/** A namespace created outside this construct tree (by the admins, a controller): only its name is known. */
export interface MeshNamespaceRef {
  /** Namespace name. */
  readonly name: string;
}

/** A namespace to enrol: a {@link PlatformNamespace} (its labels are set) or a reference (its owner sets them). */
export type MeshNamespace = PlatformNamespace | MeshNamespaceRef;

/** Label that enrols a namespace in the ambient dataplane. */
export const AMBIENT_LABEL = 'istio.io/dataplane-mode';
/** Label that enrols a namespace in sidecar injection. */
export const INJECTION_LABEL = 'istio-injection';
/** Namespace label naming the waypoint the namespace's traffic goes through. */
export const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function checkedName(ns: MeshNamespace, what: string): string {
  if (!DNS_LABEL.test(ns.name) || ns.name.length > 63) throw new Error(`${what}: "${ns.name}" is not a namespace name (a DNS label)`);
  return ns.name;
}

/**
 * Client-side access of `client` to istiod's xDS/CA port 15012. With a managed mesh kfkit owns istiod's namespace and
 * writes both ends ({@link allowTraffic}); with an external one it writes only the client's egress rule, never a policy
 * in the admins' namespace (an ingress policy there would isolate their istiod).
 */
export function allowIstiod(scope: Construct, mesh: IMesh, client: NetworkPeer): void {
  if (mesh.mode === 'managed') {
    allowTraffic(scope, client, mesh.istiod, [{ port: ISTIOD_XDS_PORT }]);
    return;
  }
  meshPolicy(scope, `Egress-${client.peerName}-istiod`, {
    name: `${client.peerName}-to-${mesh.istiod.peerName}`, namespace: client.namespace, podLabels: client.podLabels, direction: 'Egress',
    peers: [{ ...namespaceNamed(mesh.istiod.namespace), podSelector: labelSelector(mesh.istiod.podLabels) }],
    ports: [ISTIOD_XDS_PORT],
  });
}

/**
 * Enrols a namespace in the mesh. Called by the namespace's owner (the component that creates it); the objects are created
 * under `scope` and install in the `isolation` wave, before any pod of the namespace starts.
 *
 * - Labels: a {@link PlatformNamespace} gets {@link IMesh.enrollmentLabels} (`istio-injection: enabled`, or
 *   `istio.io/dataplane-mode: ambient`); a {@link MeshNamespaceRef}'s owner must set them.
 * - Sidecar: every pod's proxy reaches istiod on 15012 (xDS and certificates); see {@link allowIstiod}. Traffic between
 *   workloads keeps its ports, so the policies written with `allowTraffic` still apply.
 * - Ambient: ztunnel tunnels traffic between ambient pods over HBONE (port 15008) from inside the pods' network
 *   namespaces, so every pod accepts and opens 15008 from/to the pods of ambient namespaces and of the mesh's namespace
 *   (gateways); which workload may call which is then up to Istio AuthorizationPolicies (the original port is inside
 *   the tunnel). The kubelet's probes arrive SNATed from 169.254.7.127, which is allowed on every port. App pods do not
 *   talk to istiod (ztunnel does); waypoints do ({@link addWaypoint}).
 */
export function enrolInMesh(scope: Construct, mesh: IMesh, namespace: MeshNamespace): Construct {
  const name = checkedName(namespace, 'enrolInMesh');
  const plumbing = new Construct(scope, `MeshEnrolment-${name}`);
  const plan = KfkitContext.of(scope).plan;
  plan.assign(plumbing, PlatformNamespace.isolationWave(plumbing));
  if (namespace instanceof PlatformNamespace) {
    for (const [key, value] of Object.entries(mesh.enrollmentLabels)) namespace.resource.metadata.addLabel(key, value);
  }
  if (mesh.dataplane === 'sidecar') {
    allowIstiod(plumbing, mesh, { peerName: name, namespace: name, podLabels: {} });
    return plumbing;
  }
  const hbonePeers = [namespacesLabelled(AMBIENT_LABEL, 'ambient'), namespaceNamed(mesh.namespace)];
  meshPolicy(plumbing, 'HboneIngress', { name: 'mesh-hbone-ingress', namespace: name, podLabels: {}, direction: 'Ingress', peers: hbonePeers, ports: [HBONE_PORT] });
  meshPolicy(plumbing, 'HboneEgress', { name: 'mesh-hbone-egress', namespace: name, podLabels: {}, direction: 'Egress', peers: hbonePeers, ports: [HBONE_PORT] });
  meshPolicy(plumbing, 'Probes', {
    name: 'mesh-kubelet-probes', namespace: name, podLabels: {}, direction: 'Ingress',
    peers: AMBIENT_PROBE_SOURCES.map((cidr) => ({ ipBlock: { cidr } })),
    ports: [],
  });
  return plumbing;
}

/** Options of {@link addWaypoint}. */
export interface WaypointOptions {
  /**
   * Name of the waypoint (its Gateway, Deployment and Service).
   * @default 'waypoint'
   */
  readonly name?: string;
  /**
   * Traffic the waypoint handles (`istio.io/waypoint-for`): addressed to services, to workloads, or both.
   * @default 'service'
   */
  readonly for?: 'service' | 'workload' | 'all';
  /**
   * Label a {@link PlatformNamespace} with `istio.io/use-waypoint: <name>` so all its traffic goes through the waypoint
   * (otherwise label the services or pods that need it).
   * @default true
   */
  readonly useForNamespace?: boolean;
}

/**
 * Adds an ambient waypoint to a namespace: an L7 proxy (a Gateway API Gateway of class `istio-waypoint`, which istiod
 * deploys) for namespaces that need L7 AuthorizationPolicies, header-based routing or L7 telemetry in ambient mode —
 * ztunnel alone enforces L4 only. Optional: upstream's ambient setup runs without waypoints.
 *
 * The Gateway is a custom resource of the Kubernetes Gateway API, whose CRDs neither Istio chart ships: they are declared
 * external (installed by the cluster admins, at least {@link GATEWAY_API_MIN_VERSION}, standard channel). The waypoint's
 * pods reach istiod on 15012; HBONE to and from them is open through the namespace's enrolment. Returns the Gateway.
 */
export function addWaypoint(scope: Construct, mesh: IMesh, namespace: MeshNamespace, options: WaypointOptions = {}): ApiObject {
  const ns = checkedName(namespace, 'addWaypoint');
  if (mesh.dataplane !== 'ambient') {
    throw new Error(`addWaypoint(${ns}): waypoints are part of the ambient dataplane; this mesh uses ${mesh.dataplane} (sidecars already enforce L7 policies)`);
  }
  const name = options.name ?? 'waypoint';
  if (!DNS_LABEL.test(name) || name.length > 63) throw new Error(`addWaypoint(${ns}): name "${name}" must be a DNS label`);
  const ctx = KfkitContext.of(scope);
  ctx.addExternalApi({
    group: GATEWAY_API_GROUP, kind: 'Gateway', versions: ['v1'],
    providedBy: `Kubernetes Gateway API >= ${GATEWAY_API_MIN_VERSION}, standard channel CRDs (installed by the cluster admins; the Istio charts do not ship them)`,
  });
  const gateway = new ApiObject(scope, `Waypoint-${ns}-${name}`, {
    apiVersion: `${GATEWAY_API_GROUP}/v1`,
    kind: 'Gateway',
    metadata: {
      name, namespace: ns,
      labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': PART_OF, 'istio.io/waypoint-for': options.for ?? 'service' },
    },
    spec: { gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: HBONE_PORT, protocol: 'HBONE' }] },
  });
  const policies = new Construct(scope, `WaypointNetwork-${ns}-${name}`);
  ctx.plan.assign(policies, PlatformNamespace.isolationWave(policies));
  // istiod labels the pods of the Deployment it creates for a Gateway with the Gateway's name.
  allowIstiod(policies, mesh, { peerName: `${ns}-${name}`, namespace: ns, podLabels: { 'gateway.networking.k8s.io/gateway-name': name } });
  if ((options.useForNamespace ?? true) && namespace instanceof PlatformNamespace) {
    namespace.resource.metadata.addLabel(USE_WAYPOINT_LABEL, name);
  }
  return gateway;
}
