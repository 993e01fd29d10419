import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { MANAGED_BY, PART_OF } from '../../core/labels';
import { IKubeflowGateway, ISTIO_NETWORKING_API, ISTIO_SECURITY_API } from '../../core/mesh';
import { allowTraffic, labelSelector, NetworkPeer, NetworkPort } from '../../core/network';
import { HBONE_PORT } from '../istio';

/** Where the gateway sends a web app's requests: its Service and the pods behind it (same shape as a Pipelines endpoint). */
export interface WebAppBackend {
  /** Name of the app's Service, in the namespace of {@link peer}. */
  readonly serviceName: string;
  /** Port of the Service the route targets. */
  readonly servicePort: number;
  /** The app's pods: their namespace and labels (the AuthorizationPolicy's selector, the NetworkPolicy's target). */
  readonly peer: NetworkPeer;
  /** Port the pods listen on behind {@link servicePort} (what the NetworkPolicy opens). */
  readonly podPort: number;
}

/** Props of {@link exposeWebApp}. */
export interface ExposeWebAppProps {
  /** Name of the VirtualService and the AuthorizationPolicy (upstream's, e.g. `ml-pipeline-ui`). */
  readonly name: string;
  /** URL path prefix the app is served under, e.g. `/pipeline` (matched as a prefix). */
  readonly prefix: string;
  /** The app. */
  readonly backend: WebAppBackend;
  /**
   * Path prefix that replaces {@link prefix} before the request reaches the app.
   * @default - the path is passed unchanged
   */
  readonly rewrite?: string;
  /**
   * Request timeout of the route (Istio duration, e.g. `300s`).
   * @default - Istio's default (no timeout)
   */
  readonly timeout?: string;
}

/** The objects {@link exposeWebApp} wrote. */
export interface WebAppExposure {
  /** The route (`networking.istio.io/v1` VirtualService, in the app's namespace). */
  readonly virtualService: ApiObject;
  /** The ALLOW policy for the ingress gateway's principal (`security.istio.io/v1`, in the app's namespace). */
  readonly authorizationPolicy: ApiObject;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PREFIX = /^\/[A-Za-z0-9._~%/-]*$/;
const DURATION = /^\d+(\.\d+)?(ms|s|m|h)$/;
const PORT_MAX = 65535;

function checkPort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > PORT_MAX) throw new Error(`${what} ${port} must be a port number (1-${PORT_MAX})`);
}

/**
 * The app's side only of ingress gateway → app (`<app>-from-<gateway>`, as {@link allowTraffic} names it): the gateway of
 * an external mesh runs in the admins' namespace, where kfkit writes no policy.
 */
function admitGateway(scope: Construct, gateway: NetworkPeer, app: NetworkPeer, ports: readonly NetworkPort[]): void {
  new k8s.KubeNetworkPolicy(scope, `Ingress-${gateway.peerName}-${app.peerName}`, {
    metadata: { name: `${app.peerName}-from-${gateway.peerName}`, namespace: app.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: {
      podSelector: labelSelector(app.podLabels),
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': gateway.namespace } }, podSelector: labelSelector(gateway.podLabels) }],
        ports: ports.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' })),
      }],
    },
  });
}

/**
 * Exposes one web app through the Kubeflow gateway, under `scope` (construct id `id`), with everything the route needs:
 *
 * - a VirtualService `<name>` in the app's namespace, bound to the gateway (`spec.gateways: [<gatewayRef>]`), hosts `*`
 *   as upstream's, matching the path prefix and routing to `<service>.<namespace>.svc.cluster.local:<port>` (with the
 *   optional rewrite and timeout). Hosts stay `*` rather than the gateway's host: a VirtualService naming the host would
 *   put the HTTP→HTTPS redirect on the host's virtual host, where cert-manager's ACME HTTP-01 route must not be redirected;
 * - an AuthorizationPolicy `<name>` (ALLOW) selecting the app's pods and admitting the ingress gateway's principal
 *   ({@link IKubeflowGateway.ingressPrincipal}), so no other workload of the mesh reaches the app around the gateway's
 *   authentication (harness rule `gateway-authz`). Apps with more callers add their own policy;
 * - the NetworkPolicies ingress gateway → app pods on the pod port (plus HBONE, 15008, with the ambient dataplane, whose
 *   gateway reaches ambient pods through their ztunnel tunnel): both ends with a managed mesh, the app's end only with an
 *   external one (the gateway's namespace is the admins').
 */
export function exposeWebApp(scope: Construct, id: string, gateway: IKubeflowGateway, props: ExposeWebAppProps): WebAppExposure {
  const where = `exposeWebApp(${props.name})`;
  const { backend } = props;
  if (!NAME.test(props.name) || props.name.length > 63) throw new Error(`${where}: name must be a DNS label (lowercase letters, digits, -)`);
  if (!PREFIX.test(props.prefix)) throw new Error(`${where}: prefix "${props.prefix}" must be a URL path starting with /, e.g. /pipeline`);
  if (props.rewrite !== undefined && !PREFIX.test(props.rewrite)) throw new Error(`${where}: rewrite "${props.rewrite}" must be a URL path starting with /`);
  if (props.timeout !== undefined && !DURATION.test(props.timeout)) throw new Error(`${where}: timeout "${props.timeout}" must be a duration such as 300s`);
  if (!NAME.test(backend.serviceName)) throw new Error(`${where}: backend.serviceName "${backend.serviceName}" must be a Service name`);
  if (Object.keys(backend.peer.podLabels).length === 0) {
    throw new Error(`${where}: backend.peer has no pod labels; the AuthorizationPolicy would apply to every pod of ${backend.peer.namespace}`);
  }
  checkPort(`${where}: backend.servicePort`, backend.servicePort);
  checkPort(`${where}: backend.podPort`, backend.podPort);

  const route = new Construct(scope, id);
  const namespace = backend.peer.namespace;
  const labels = { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/name': props.name, 'app.kubernetes.io/part-of': PART_OF };
  const virtualService = new ApiObject(route, 'VirtualService', {
    apiVersion: ISTIO_NETWORKING_API,
    kind: 'VirtualService',
    metadata: { name: props.name, namespace, labels },
    spec: {
      gateways: [gateway.gatewayRef],
      hosts: ['*'],
      http: [{
        name: props.name,
        match: [{ uri: { prefix: props.prefix } }],
        ...(props.rewrite !== undefined ? { rewrite: { uri: props.rewrite } } : {}),
        route: [{ destination: { host: `${backend.serviceName}.${namespace}.svc.cluster.local`, port: { number: backend.servicePort } } }],
        ...(props.timeout !== undefined ? { timeout: props.timeout } : {}),
      }],
    },
  });
  const authorizationPolicy = new ApiObject(route, 'AuthorizationPolicy', {
    apiVersion: ISTIO_SECURITY_API,
    kind: 'AuthorizationPolicy',
    metadata: { name: props.name, namespace, labels },
    spec: {
      action: 'ALLOW',
      selector: labelSelector(backend.peer.podLabels),
      rules: [{ from: [{ source: { principals: [gateway.ingressPrincipal] } }] }],
    },
  });
  const ports: NetworkPort[] = [{ port: backend.podPort }];
  if (gateway.mesh.dataplane === 'ambient') ports.push({ port: HBONE_PORT });
  const network = new Construct(route, 'Network');
  if (gateway.mesh.mode === 'managed') allowTraffic(network, gateway.ingress, backend.peer, ports);
  else admitGateway(network, gateway.ingress, backend.peer, ports);
  return { virtualService, authorizationPolicy };
}
