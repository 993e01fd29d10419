import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { IKubeflowGateway, ISTIO_SECURITY_API, UserHeaders } from '../../core/mesh';
import { addressRulesFor, allowEgressToAddresses, allowKubeApi, checkedCidrs, labelSelector, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { allowFromIstiod, AUTH_COMPONENT, serviceHost, urlPort } from './shared';

/** One issuer whose JWTs the gateway accepts, and the claims copied into the identity headers. */
export interface TokenIssuer {
  /** `iss` of the tokens. */
  readonly issuer: string;
  /** Where istiod fetches the signing keys. @default - discovered from the issuer */
  readonly jwksUri?: string;
  /** Accepted `aud` values. @default - any audience */
  readonly audiences?: readonly string[];
  /** Claim copied into the user-id header. */
  readonly userIdClaim: string;
  /** Claim copied into the groups header. */
  readonly groupsClaim: string;
  /** Whether the keys are served by kfkit's own pods (Dex, cluster-jwks-proxy), which admit istiod themselves. @default false */
  readonly keysInCluster?: boolean;
  /** IPv4 blocks where the keys are, when they are outside the cluster: istiod's egress to them. */
  readonly cidrs?: readonly string[];
}

/** Props of {@link GatewayAuthPolicies}. */
export interface GatewayAuthPoliciesProps {
  /** The gateway whose ingress pods the policies select (in their namespace). */
  readonly gateway: IKubeflowGateway;
  /** Identity headers written from the verified tokens. */
  readonly headers: UserHeaders;
  /** Issuer of users' tokens (Dex or the OIDC provider): the ID tokens oauth2-proxy hands to the gateway. */
  readonly users: TokenIssuer & { readonly name: string };
  /** Issuer of Kubernetes ServiceAccount tokens, when machine-to-machine access is on. */
  readonly machines?: TokenIssuer;
  /** Name of the extension provider (oauth2-proxy). */
  readonly provider: string;
  /** Paths served without authentication. */
  readonly publicPaths: readonly string[];
  /** Labels of the policies. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The gateway's authentication chain, upstream's `istio-external-auth` and `istio-m2m` components, in the namespace of
 * the ingress gateway and selecting its pods:
 * - AuthorizationPolicy `istio-ingressgateway-oauth2-proxy` (CUSTOM, provider oauth2-proxy): a request without an
 *   `Authorization` header, outside the public paths, is checked by oauth2-proxy, which answers with the user's ID token
 *   as `Authorization: Bearer` (or sends the browser to log in);
 * - RequestAuthentications `<users.name>` and `m2m-token-issuer`: the token is verified and its claims written into the
 *   identity headers. Envoy reserves those headers for the claims: a value the client sent is removed, also when the
 *   claim is absent (Kubernetes tokens carry no groups) — so they cannot be forged;
 * - AuthorizationPolicy `istio-ingressgateway-require-jwt` (DENY): anything outside the public paths without a verified
 *   token is refused.
 *
 * istiod fetches the issuers' keys. Those outside the cluster (an OIDC provider, a public ServiceAccount issuer) need
 * istiod → any address on their ports, written when kfkit manages the mesh (an external mesh's istiod is the admins').
 */
export class GatewayAuthPolicies extends Construct {
  public constructor(scope: Construct, id: string, props: GatewayAuthPoliciesProps) {
    super(scope, id);
    const ns = props.gateway.ingress.namespace;
    const selector = labelSelector(props.gateway.ingress.podLabels);
    const labels = { ...props.labels };
    const rule = (t: TokenIssuer): Record<string, unknown> => ({
      issuer: t.issuer,
      ...(t.jwksUri !== undefined ? { jwksUri: t.jwksUri } : {}),
      ...(t.audiences !== undefined ? { audiences: [...t.audiences] } : {}),
      // Apps (KFP's API server) may verify the token again.
      forwardOriginalToken: true,
      outputClaimToHeaders: [{ header: props.headers.userId, claim: t.userIdClaim }, { header: props.headers.groups, claim: t.groupsClaim }],
      // Only from the header oauth2-proxy sets and the CUSTOM policy keys on.
      fromHeaders: [{ name: 'Authorization', prefix: 'Bearer ' }],
    });
    const requestAuthentication = (cid: string, name: string, t: TokenIssuer): ApiObject => new ApiObject(this, cid, {
      apiVersion: ISTIO_SECURITY_API,
      kind: 'RequestAuthentication',
      metadata: { name, namespace: ns, labels },
      spec: { selector, jwtRules: [rule(t)] },
    });
    requestAuthentication('UserTokens', props.users.name, props.users);
    if (props.machines) requestAuthentication('MachineTokens', 'm2m-token-issuer', props.machines);

    const notPaths = [...props.publicPaths];
    new ApiObject(this, 'ExternalAuthorization', {
      apiVersion: ISTIO_SECURITY_API,
      kind: 'AuthorizationPolicy',
      metadata: { name: 'istio-ingressgateway-oauth2-proxy', namespace: ns, labels },
      spec: {
        selector,
        action: 'CUSTOM',
        provider: { name: props.provider },
        rules: [{ to: [{ operation: { notPaths } }], when: [{ key: 'request.headers[authorization]', notValues: ['*'] }] }],
      },
    });
    const mesh = props.gateway.mesh;
    const outside = [props.users, props.machines].filter((t): t is TokenIssuer => t !== undefined && t.keysInCluster !== true);
    if (mesh.mode === 'managed' && outside.length > 0) {
      allowEgressToAddresses(this, 'IstiodToIssuers', mesh.istiod, 'token-issuers', outside.flatMap((t) =>
        addressRulesFor(checkedCidrs(`the keys of token issuer ${t.issuer}: cidrs`, t.cidrs), [{ port: urlPort(t.jwksUri ?? t.issuer) }])));
    }
    new ApiObject(this, 'RequireToken', {
      apiVersion: ISTIO_SECURITY_API,
      kind: 'AuthorizationPolicy',
      metadata: { name: 'istio-ingressgateway-require-jwt', namespace: ns, labels },
      spec: {
        selector,
        action: 'DENY',
        rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }], to: [{ operation: { notPaths } }] }],
      },
    });
  }
}

const JWKS_PROXY = 'cluster-jwks-proxy';
const JWKS_PORT = 8080;
const JWKS_PATH = '/openid/v1/jwks';
/** UID of kfkit's Python jobs (nobody). */
const NOBODY = 65534;
/**
 * The proxy: serves GET /openid/v1/jwks by fetching the same path from the API server with the pod's ServiceAccount
 * token (read per request: projected tokens rotate) and the cluster CA. Standard library only.
 */
const PROGRAM = `
import http.server, os, ssl, urllib.request
sa = '/var/run/secrets/kubernetes.io/serviceaccount'
url = 'https://%s:%s${JWKS_PATH}' % (os.environ['KUBERNETES_SERVICE_HOST'], os.environ['KUBERNETES_SERVICE_PORT'])
tls = ssl.create_default_context(cafile=sa + '/ca.crt')
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != '${JWKS_PATH}':
            self.send_error(404)
            return
        try:
            req = urllib.request.Request(url, headers={'Authorization': 'Bearer ' + open(sa + '/token').read().strip()})
            body = urllib.request.urlopen(req, context=tls, timeout=10).read()
        except Exception as e:
            self.send_error(502, 'fetching the API server keys failed: %s' % e)
            return
        self.send_response(200)
        self.send_header('Content-Type', 'application/jwk-set+json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('0.0.0.0', ${JWKS_PORT}), Handler).serve_forever()
`.trim();

/** Props of {@link ClusterJwksProxy}. */
export interface ClusterJwksProxyProps {
  /** Namespace of the proxy (kfkit's, default-deny). */
  readonly namespace: string;
  /** The gateway, whose mesh's istiod fetches the keys. */
  readonly gateway: IKubeflowGateway;
}

/**
 * `cluster-jwks-proxy`: the Kubernetes API server's token signing keys over plain HTTP, for istiod, which cannot fetch
 * them from the API server itself (self-signed certificate, authentication required) — upstream's `cluster-jwks-proxy`
 * component for kind, as a small Python server instead of `kubectl proxy` (kfkit's pinned Python image; upstream's
 * runs an unpinned kubectl image). Its ServiceAccount may read exactly `/openid/v1/jwks`.
 *
 * Network: istiod → proxy (8080), proxy → Kubernetes API.
 */
export class ClusterJwksProxy extends Construct {
  /** URL of the keys for a RequestAuthentication's `jwksUri`. */
  public readonly jwksUri: string;
  /** The proxy's pods. */
  public readonly peer: NetworkPeer;

  public constructor(scope: Construct, id: string, props: ClusterJwksProxyProps) {
    super(scope, id);
    const ns = props.namespace;
    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { name: JWKS_PROXY, component: AUTH_COMPONENT };
    const labels = standardLabels(identity);
    this.peer = { peerName: JWKS_PROXY, namespace: ns, podLabels: selectorLabels(identity) };
    this.jwksUri = `http://${serviceHost(JWKS_PROXY, ns)}${JWKS_PATH}`;

    serviceAccountWithRole(this, {
      name: JWKS_PROXY,
      namespace: ns,
      labels,
      clusterRoleName: `kubeflow-${JWKS_PROXY}`,
      clusterRoleBindingName: `kubeflow-${JWKS_PROXY}`,
      clusterRules: [{ nonResourceUrLs: [JWKS_PATH], verbs: ['get'] }],
    });
    clusterIpService(this, { name: JWKS_PROXY, namespace: ns, identity, ports: [servicePort('http', 80, JWKS_PORT)] });
    const probe: k8s.Probe = { httpGet: { path: JWKS_PATH, port: k8s.IntOrString.fromNumber(JWKS_PORT) }, periodSeconds: 15, timeoutSeconds: 5 };
    deployment(this, {
      namespace: ns,
      identity,
      replicas: 1,
      pod: {
        serviceAccountName: JWKS_PROXY,
        automountServiceAccountToken: true,
        security: { user: NOBODY, group: NOBODY },
        containers: [{
          name: 'proxy',
          image: ctx.images.image('kfkit-python'),
          command: ['python3', '-c', PROGRAM],
          ports: [{ name: 'http', containerPort: JWKS_PORT, protocol: 'TCP' }],
          resources: { cpu: { request: '10m' }, memory: { request: '24Mi', limit: '64Mi' } },
          readinessProbe: probe,
          livenessProbe: probe,
        }],
      },
    });
    allowFromIstiod(this, props.gateway.mesh, this.peer, [{ port: JWKS_PORT }]);
    allowKubeApi(this, this.peer);
  }
}
