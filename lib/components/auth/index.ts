import { Construct } from 'constructs';
import { ANY_ADDRESS, cidrsProblem } from '../../core/addresses';
import { standardLabels } from '../../core/labels';
import { ExtensionProvider, issuerInCluster, UserHeaders } from '../../core/mesh';
import { ResourceBudget } from '../../core/security';
import { Dex, TEMPLATE_SLOT } from './dex';
import { ClusterJwksProxy, GatewayAuthPolicies, TokenIssuer } from './gateway-policies';
import { OAuth2Proxy, OAuth2ProxyProvider, OIDC_MODE_SECRET, redirectUri } from './oauth2-proxy';
import { DexOptions, KubeflowAuthProps, MachineTokenOptions, OidcProviderOptions } from './props';
import { AUTH_COMPONENT, DEX_CLIENT_ID, DEX_PATH, OAUTH2_PATH } from './shared';

export type {
  AuthSecretKeyRef, DexConnector, DexConnectorType, DexOptions, DexStaticUser, KubeflowAuthProps, MachineTokenOptions, OidcProviderOptions,
} from './props';

/** Upstream's identity headers. */
const UPSTREAM_HEADERS: UserHeaders = { userId: 'kubeflow-userid', userIdPrefix: '', groups: 'kubeflow-groups' };
const DEFAULT_M2M_ISSUER = 'https://kubernetes.default.svc.cluster.local';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HEADER = /^[a-z0-9][-a-z0-9]*$/;
const HTTPS_URL = /^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;
const URL_ANY = /^https?:\/\/[^\s/?#]+(\/\S*)?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const SCOPE = /^[\w:./-]+$/;
const CLAIM = /^[\w:./-]+$/;

const DEX_BUDGET: ResourceBudget = { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '256Mi' } };
const OAUTH2_PROXY_BUDGET: ResourceBudget = { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '128Mi' } };

/**
 * Authentication at the Kubeflow gateway, as kubeflow/manifests 26.03 sets it up (`common/dex`, `common/oauth2-proxy`):
 * every request through the gateway carries a verified JWT, and Kubeflow apps read the user from the identity headers
 * the gateway writes from it ({@link userHeaders}).
 *
 * - Mode `dex`: Dex (namespace `auth`, issuer `https://<host>/dex`) with static users (local and test clusters) or
 *   connectors to an identity provider (OIDC, LDAP, GitHub, Microsoft, Google, SAML), behind oauth2-proxy.
 * - Mode `oidc`: oauth2-proxy logs users in straight at an external provider (Okta, Keycloak, Entra ID, Cognito).
 * - Machine-to-machine: Kubernetes ServiceAccount tokens (`Authorization: Bearer`) are verified at the gateway too
 *   (issuer and key source typed per cluster; `sub` becomes the user id), as are bearer tokens of Dex or the provider.
 *
 * Browsers without a token are sent through oauth2-proxy (Istio ext-authz, {@link extensionProvider}, which the mesh
 * configuration must define); the gateway's policies are in the ingress gateway's namespace. No password, hash, client or
 * cookie secret is in the output: the admins' Secrets are referenced, kfkit's are generated in the cluster.
 *
 * Waves: namespaces and Dex's CRDs first, the credentials Job before Dex and oauth2-proxy roll out (controllers), the
 * Istio routes and policies last (custom resources), so the gateway requires tokens only once their issuers serve.
 */
export class KubeflowAuth extends Construct {
  /** The ext-authz provider (`oauth2-proxy`, `envoyExtAuthzHttp`) the mesh configuration must list. */
  public readonly extensionProvider: ExtensionProvider;
  /** The identity headers the gateway writes from verified tokens. */
  public readonly userHeaders: UserHeaders;
  /** Issuer of users' tokens: Dex's `https://<host>/dex` or the OIDC provider's. */
  public readonly issuer: string;
  /** Issuer of accepted Kubernetes ServiceAccount tokens, when machine-to-machine access is on. */
  public readonly machineTokenIssuer?: string;
  /** Paths the gateway serves without authentication. */
  public readonly publicPaths: readonly string[];
  /** Namespace of Dex (mode dex). */
  public readonly dexNamespace?: string;
  /** Namespace of oauth2-proxy. */
  public readonly oauth2ProxyNamespace: string;

  public constructor(scope: Construct, id: string, props: KubeflowAuthProps) {
    super(scope, id);
    const where = `KubeflowAuth ${this.node.path}`;
    const bad: (message: string) => never = (message) => {
      throw new Error(`${where}: ${message}`);
    };
    const gateway = props.gateway;
    if (gateway.host.startsWith('*')) bad(`the gateway host ${gateway.host} is a wildcard; login needs one host name for the issuer and redirect URLs`);
    this.userHeaders = checkHeaders(bad, props.userHeaders, gateway.userHeaders);
    const oauth2Ns = props.oauth2ProxyNamespace ?? 'oauth2-proxy';
    if (!DNS_LABEL.test(oauth2Ns)) bad(`oauth2ProxyNamespace "${oauth2Ns}" must be a DNS label`);
    const replicas = props.oauth2ProxyReplicas ?? 2;
    if (!Number.isInteger(replicas) || replicas < 1) bad(`oauth2ProxyReplicas must be a whole number >= 1 (got ${replicas})`);
    for (const p of props.publicPaths ?? []) if (!p.startsWith('/')) bad(`publicPaths: "${p}" must start with /`);
    checkMachineTokens(bad, props.machineTokens);
    this.oauth2ProxyNamespace = oauth2Ns;

    if (!(['dex', 'oidc'] as string[]).includes(props.mode)) bad(`mode must be dex or oidc (got ${JSON.stringify(props.mode)})`);
    const labels = standardLabels({ name: 'kubeflow-auth', component: AUTH_COMPONENT });
    let provider: OAuth2ProxyProvider;
    let users: TokenIssuer & { readonly name: string };
    if (props.mode === 'dex') {
      if (props.oidc !== undefined) bad('oidc applies only with mode oidc; remove it or set mode: oidc');
      const dex = checkDex(bad, props.dex, oauth2Ns);
      this.dexNamespace = dex.namespace;
      this.issuer = `${gateway.url}${DEX_PATH}`;
      const server = new Dex(this, 'Dex', {
        namespace: dex.namespace, gateway, issuer: this.issuer, redirectUri: redirectUri(gateway),
        staticUsers: dex.staticUsers ?? [], connectors: dex.connectors ?? [], resources: dex.resources ?? DEX_BUDGET,
      });
      provider = { type: 'dex', issuer: this.issuer, serviceUrl: server.serviceUrl, namespace: dex.namespace, peer: server.peer };
      users = {
        name: 'dex-jwt', issuer: this.issuer, jwksUri: `${server.serviceUrl}/keys`, keysInCluster: true, audiences: [DEX_CLIENT_ID],
        userIdClaim: 'email', groupsClaim: 'groups',
      };
    } else {
      if (props.dex !== undefined) bad('dex applies only with mode dex; remove it or set mode: dex');
      const oidc = checkOidc(bad, props.oidc);
      this.issuer = oidc.issuerUrl;
      const userIdClaim = oidc.userIdClaim ?? 'email';
      const groupsClaim = oidc.groupsClaim ?? 'groups';
      provider = {
        type: 'oidc', issuerUrl: oidc.issuerUrl, clientId: oidc.clientId, clientSecret: oidc.clientSecret,
        scopes: oidc.scopes ?? ['openid', 'email', 'profile', 'groups'], userIdClaim, groupsClaim, cidrs: oidc.cidrs,
      };
      // Only ID tokens issued to Kubeflow's client: other applications of the same provider get no access.
      users = { name: 'oidc-jwt', issuer: oidc.issuerUrl, audiences: [oidc.clientId], userIdClaim, groupsClaim, cidrs: oidc.cidrs };
    }

    const proxy = new OAuth2Proxy(this, 'OAuth2Proxy', {
      namespace: oauth2Ns, gateway, provider, replicas, resources: props.oauth2ProxyResources ?? OAUTH2_PROXY_BUDGET,
    });
    this.extensionProvider = proxy.extensionProvider;

    let machines: TokenIssuer | undefined;
    const m2m = props.machineTokens ?? {};
    if (m2m.enabled !== false) {
      const issuer = m2m.issuer ?? DEFAULT_M2M_ISSUER;
      if (issuer === this.issuer) bad(`machineTokens.issuer ${issuer} is the users' issuer; it must be the cluster's ServiceAccount token issuer`);
      const keys = m2m.jwksUri === undefined && issuerInCluster(issuer) ? new ClusterJwksProxy(this, 'JwksProxy', { namespace: oauth2Ns, gateway }) : undefined;
      if (keys === undefined && m2m.cidrs === undefined && gateway.mesh.mode === 'managed') {
        bad(`machineTokens.cidrs is required: istiod fetches the signing keys of ${m2m.jwksUri ?? issuer} from outside the cluster; give the IPv4 blocks `
          + `of their host (${ANY_ADDRESS} only to open every address on purpose)`);
      }
      machines = {
        issuer, jwksUri: m2m.jwksUri ?? keys?.jwksUri, keysInCluster: keys !== undefined, userIdClaim: 'sub', groupsClaim: 'groups', cidrs: m2m.cidrs,
      };
      this.machineTokenIssuer = issuer;
    }

    this.publicPaths = [
      ...(props.mode === 'dex' ? [`${DEX_PATH}/*`, `${DEX_PATH}/**`] : []),
      `${OAUTH2_PATH}/*`,
      ...(props.publicPaths ?? []),
    ];
    new GatewayAuthPolicies(this, 'GatewayPolicies', {
      gateway, headers: this.userHeaders, users, machines, provider: this.extensionProvider.name, publicPaths: this.publicPaths, labels,
    });
  }
}

type Bad = (message: string) => never;

function checkHeaders(bad: Bad, given: UserHeaders | undefined, gateways: UserHeaders | undefined): UserHeaders {
  const headers = given ?? gateways ?? UPSTREAM_HEADERS;
  if (given && gateways && JSON.stringify(given) !== JSON.stringify(gateways)) {
    bad(`userHeaders ${JSON.stringify(given)} differ from the gateway's ${JSON.stringify(gateways)}; pass the same headers to both`);
  }
  for (const h of [headers.userId, headers.groups]) if (!HEADER.test(h)) bad(`userHeaders: "${h}" must be a lowercase HTTP header name`);
  if (headers.userId === headers.groups) bad(`userHeaders: user id and groups need different headers (both ${headers.userId})`);
  if (headers.userIdPrefix !== '') {
    bad(`userHeaders.userIdPrefix "${headers.userIdPrefix}": Istio copies the token's claim into the header as it is and cannot add a prefix; leave it empty`);
  }
  return headers;
}

function checkSecretRef(bad: Bad, what: string, ref: { readonly name?: string; readonly key?: string } | undefined): void {
  if (!ref || typeof ref.name !== 'string' || typeof ref.key !== 'string') bad(`${what} is required: { name, key } of a Secret`);
  if (!DNS_LABEL.test(ref.name)) bad(`${what}.name "${ref.name}" must be a Secret name (DNS label)`);
  if (!SECRET_KEY.test(ref.key)) bad(`${what}.key "${ref.key}" must be a Secret key (letters, digits, -, _, .)`);
}

function checkDex(bad: Bad, dex: DexOptions | undefined, oauth2Ns: string): DexOptions & { readonly namespace: string } {
  const users = dex?.staticUsers ?? [];
  const connectors = dex?.connectors ?? [];
  if (users.length === 0 && connectors.length === 0) bad('mode dex needs at least one dex.staticUsers entry or one dex.connectors entry, or nobody can log in');
  const namespace = dex?.namespace ?? 'auth';
  if (!DNS_LABEL.test(namespace)) bad(`dex.namespace "${namespace}" must be a DNS label`);
  if (namespace === oauth2Ns) bad(`Dex and oauth2-proxy need namespaces of their own (both ${namespace})`);
  const emails = new Set<string>();
  users.forEach((u, i) => {
    if (!EMAIL.test(u.email)) bad(`dex.staticUsers[${i}].email "${u.email}" must be an e-mail address`);
    if (emails.has(u.email.toLowerCase())) bad(`dex.staticUsers: ${u.email} is listed twice`);
    emails.add(u.email.toLowerCase());
    if (u.username !== undefined && (u.username.trim() === '' || u.username.includes(TEMPLATE_SLOT))) bad(`dex.staticUsers[${i}].username must be a name`);
    checkSecretRef(bad, `dex.staticUsers[${i}].hashSecret`, u.hashSecret);
  });
  const ids = new Set<string>();
  connectors.forEach((c, i) => {
    if (!['oidc', 'ldap', 'github', 'microsoft', 'google', 'saml'].includes(c.type)) bad(`dex.connectors[${i}].type "${c.type}" is not a connector kfkit configures`);
    if (!DNS_LABEL.test(c.id)) bad(`dex.connectors[${i}].id "${c.id}" must be a DNS label`);
    if (ids.has(c.id)) bad(`dex.connectors: id ${c.id} is used twice`);
    ids.add(c.id);
    if (c.name.trim() === '' || c.name.includes(TEMPLATE_SLOT)) bad(`dex.connectors[${i}].name must be the name shown on the login page`);
    checkSecretRef(bad, `dex.connectors[${i}].configSecret`, c.configSecret);
    const cidrs = cidrsProblem(c.cidrs);
    if (cidrs !== undefined) bad(`dex.connectors[${i}].cidrs ${cidrs}`);
  });
  return { ...dex, namespace };
}

function checkOidc(bad: Bad, oidc: OidcProviderOptions | undefined): OidcProviderOptions {
  if (oidc === undefined) bad('mode oidc needs oidc: issuerUrl, clientId and clientSecret of your provider');
  if (!HTTPS_URL.test(oidc.issuerUrl)) bad(`oidc.issuerUrl "${oidc.issuerUrl}" must be an https:// URL without query`);
  if (typeof oidc.clientId !== 'string' || oidc.clientId.trim() === '') bad('oidc.clientId is required');
  checkSecretRef(bad, 'oidc.clientSecret', oidc.clientSecret);
  if (oidc.clientSecret.name === OIDC_MODE_SECRET) bad(`oidc.clientSecret: ${OIDC_MODE_SECRET} is the Secret kfkit generates for the cookie; use another name`);
  for (const s of oidc.scopes ?? []) if (!SCOPE.test(s)) bad(`oidc.scopes: "${s}" is not an OAuth scope`);
  if (oidc.scopes !== undefined && !oidc.scopes.includes('openid')) bad('oidc.scopes must include openid');
  for (const c of [oidc.userIdClaim, oidc.groupsClaim]) if (c !== undefined && !CLAIM.test(c)) bad(`oidc: "${c}" is not a claim name`);
  const cidrs = cidrsProblem(oidc.cidrs);
  if (cidrs !== undefined) bad(`oidc.cidrs ${cidrs}`);
  return oidc;
}

function checkMachineTokens(bad: Bad, m2m: MachineTokenOptions | undefined): void {
  if (m2m?.issuer !== undefined && !HTTPS_URL.test(m2m.issuer)) bad(`machineTokens.issuer "${m2m.issuer}" must be an https:// URL`);
  if (m2m?.jwksUri !== undefined && !URL_ANY.test(m2m.jwksUri)) bad(`machineTokens.jwksUri "${m2m.jwksUri}" must be an http(s):// URL`);
  const cidrs = m2m?.cidrs === undefined ? undefined : cidrsProblem(m2m.cidrs);
  if (cidrs !== undefined) bad(`machineTokens.cidrs ${cidrs}`);
}
