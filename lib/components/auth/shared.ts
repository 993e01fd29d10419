import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { MANAGED_BY } from '../../core/labels';
import { IMesh } from '../../core/mesh';
import { allowTraffic, labelSelector, NetworkPeer, NetworkPort } from '../../core/network';

/** Value of `app.kubernetes.io/component` on every object of the auth component. */
export const AUTH_COMPONENT = 'auth';

/** Dex's HTTP port (web and API, upstream's). */
export const DEX_PORT = 5556;
/** Path prefix Dex serves under: the issuer is `<gateway url>/dex`. */
export const DEX_PATH = '/dex';
/** oauth2-proxy's HTTP port (upstream's `--http-address`). */
export const OAUTH2_PROXY_PORT = 4180;
/** oauth2-proxy's metrics port (upstream declares it). */
export const OAUTH2_PROXY_METRICS_PORT = 44180;
/** Port of the oauth2-proxy Service (upstream's), which the extension provider and the VirtualService name. */
export const OAUTH2_PROXY_SERVICE_PORT = 80;
/** Path prefix oauth2-proxy serves under at the gateway (sign-in, callback, sign-out). */
export const OAUTH2_PATH = '/oauth2';
/** The TCP port of an http(s) URL. */
export function urlPort(url: string): number {
  const u = new URL(url);
  return u.port !== '' ? Number(u.port) : u.protocol === 'http:' ? 80 : 443;
}

/** The client id oauth2-proxy has at Dex (upstream's). */
export const DEX_CLIENT_ID = 'kubeflow-oidc-authservice';

/** The in-cluster DNS name of a Service. */
export function serviceHost(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}

/**
 * Allows istiod to reach `server` on `ports` (istiod fetches the signing keys of the issuers the gateway trusts). With a
 * managed mesh kfkit owns istiod's namespace and writes both ends ({@link allowTraffic}); with an Istio the cluster
 * admins installed, only the server's ingress rule: an egress policy there would isolate their istiod.
 */
export function allowFromIstiod(scope: Construct, mesh: IMesh, server: NetworkPeer, ports: readonly NetworkPort[]): void {
  const client = mesh.istiod;
  if (mesh.mode === 'managed') {
    allowTraffic(scope, client, server, ports);
    return;
  }
  new k8s.KubeNetworkPolicy(scope, `Ingress-${client.peerName}-${server.peerName}`, {
    metadata: { name: `${server.peerName}-from-${client.peerName}`, namespace: server.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: {
      podSelector: labelSelector(server.podLabels),
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{
          podSelector: labelSelector(client.podLabels),
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': client.namespace } },
        }],
        ports: ports.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' })),
      }],
    },
  });
}
