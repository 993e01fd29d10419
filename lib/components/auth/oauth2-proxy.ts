import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { GeneratedSecret } from '../../core/generated-secret';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { ExtensionProvider, IKubeflowGateway } from '../../core/mesh';
import { PlatformNamespace } from '../../core/namespace';
import { addressRulesFor, allowEgressToAddresses, allowTraffic, checkedCidrs, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { DEX_CLIENT_ENV, DEX_CLIENT_SECRET } from './dex';
import { AuthSecretKeyRef } from './props';
import { exposeWebApp } from '../gateway';
import {
  AUTH_COMPONENT, DEX_CLIENT_ID, DEX_PATH, DEX_PORT, OAUTH2_PATH, OAUTH2_PROXY_METRICS_PORT, OAUTH2_PROXY_PORT, OAUTH2_PROXY_SERVICE_PORT, serviceHost,
  urlPort,
} from './shared';

/** Name of oauth2-proxy's Deployment, Service, ServiceAccount and configuration ConfigMap (upstream's). */
const NAME = 'oauth2-proxy';
/** ConfigMap with the settings upstream passes as environment variables (upstream's name and keys). */
const PARAMETERS = 'oauth2-proxy-parameters';
/** Key of the configuration file in ConfigMap {@link NAME}, and where it is mounted (upstream's). */
const CONFIG_KEY = 'oauth2_proxy.cfg';
const CONFIG_PATH = `/etc/oauth2_proxy/${CONFIG_KEY}`;
/** UID and GID of the oauth2-proxy image's user (distroless `nonroot`). */
const OAUTH2_PROXY_UID = 65532;
/** The Secret kfkit generates in mode `dex`: client id and secret at Dex (shared with Dex) and the cookie secret. */
export const DEX_MODE_SECRET = 'oauth2-proxy';
/** The Secret kfkit generates in mode `oidc`: the cookie secret only (the client secret is the admins'). */
export const OIDC_MODE_SECRET = 'oauth2-proxy-cookie';

/** How oauth2-proxy logs users in. */
export type OAuth2ProxyProvider =
  /** Dex in the cluster. */
  | {
    readonly type: 'dex';
    /** Dex's public issuer (`https://<host>/dex`). */
    readonly issuer: string;
    /** Dex's in-cluster base URL, for the token exchange and its keys. */
    readonly serviceUrl: string;
    /** Dex's namespace, where its copy of the client secret goes. */
    readonly namespace: string;
    /** Dex's pods. */
    readonly peer: NetworkPeer;
  }
  /** An external OpenID Connect provider. */
  | {
    readonly type: 'oidc';
    readonly issuerUrl: string;
    readonly clientId: string;
    readonly clientSecret: AuthSecretKeyRef;
    readonly scopes: readonly string[];
    readonly userIdClaim: string;
    readonly groupsClaim: string;
    /** The provider's address blocks. */
    readonly cidrs: readonly string[];
  };

/** Props of {@link OAuth2Proxy}. */
export interface OAuth2ProxyProps {
  /** Namespace (created here). */
  readonly namespace: string;
  /** The gateway that asks oauth2-proxy about each request and routes `/oauth2/` to it. */
  readonly gateway: IKubeflowGateway;
  /** How users log in. */
  readonly provider: OAuth2ProxyProvider;
  /** Replicas. */
  readonly replicas: number;
  /** Compute budget of each replica. */
  readonly resources: ResourceBudget;
}

/** TOML string. JSON's escapes are TOML basic-string escapes. */
const str = (value: string): string => JSON.stringify(value);
const list = (values: readonly string[]): string => `[ ${values.map(str).join(', ')} ]`;

/** The callback oauth2-proxy registers at the provider. */
export function redirectUri(gateway: IKubeflowGateway): string {
  return `${gateway.url}${OAUTH2_PATH}/callback`;
}

/**
 * oauth2-proxy's configuration file (no secret: client id, client secret and cookie secret come from the environment).
 * Mode dex follows upstream's `oauth2_proxy.cfg`, with Dex's public issuer and an absolute redirect URL; mode oidc uses
 * the provider's discovery, the configured claims and refreshes sessions, so an expired ID token is noticed (and renewed
 * with a refresh token when the provider issues one).
 */
export function oauth2ProxyConfig(gateway: IKubeflowGateway, provider: OAuth2ProxyProvider): string {
  const common = [
    'email_domains = [ "*" ]',
    '# oauth2-proxy only answers the gateway\'s ext-authz checks; it proxies nothing.',
    'upstreams = [ "static://200" ]',
    '# Background requests get 401 instead of a redirect to the login page.',
    `api_routes = ${list(['/api/', '/apis/', '^/ml_metadata'])}`,
    'skip_provider_button = false',
    'banner = "-"',
    'footer = "-"',
    '# The gateway forwards the ID token as `Authorization: Bearer`, which its RequestAuthentication verifies.',
    'set_authorization_header = true',
    'set_xauthrequest = true',
    'cookie_name = "oauth2_proxy_kubeflow"',
    'cookie_expire = "24h"',
    'code_challenge_method = "S256"',
    `redirect_url = ${str(redirectUri(gateway))}`,
  ];
  if (provider.type === 'dex') {
    return [
      '# oauth2-proxy configuration written by kfkit (mode dex).',
      'provider = "oidc"',
      'provider_display_name = "Dex"',
      `oidc_issuer_url = ${str(provider.issuer)}`,
      '# Dex is reached in the cluster for the token exchange and its keys, through the gateway by the browser.',
      'skip_oidc_discovery = true',
      `login_url = ${str(`${provider.issuer}/auth`)}`,
      `redeem_url = ${str(`${provider.serviceUrl}/token`)}`,
      `oidc_jwks_url = ${str(`${provider.serviceUrl}/keys`)}`,
      `scope = ${str('openid email profile groups')}`,
      `skip_auth_routes = ${list([`^${DEX_PATH}/`])}`,
      '# Dex prompts for a login anyway when there is no session.',
      'prompt = "none"',
      '# Dex ID tokens live 24h, as the cookie does.',
      'cookie_refresh = 0',
      ...common,
      '',
    ].join('\n');
  }
  return [
    '# oauth2-proxy configuration written by kfkit (mode oidc).',
    'provider = "oidc"',
    `oidc_issuer_url = ${str(provider.issuerUrl)}`,
    `scope = ${str(provider.scopes.join(' '))}`,
    `oidc_email_claim = ${str(provider.userIdClaim)}`,
    `oidc_groups_claim = ${str(provider.groupsClaim)}`,
    '# Sessions older than this are refreshed and checked again, so an expired ID token sends the user to log in.',
    'cookie_refresh = "15m"',
    ...common,
    '',
  ].join('\n');
}

/**
 * oauth2-proxy v7.14 (namespace `oauth2-proxy`), as kubeflow/manifests 26.03 installs it (`common/oauth2-proxy`,
 * overlay `m2m-dex-only`): Deployment, Service (80 → 4180) and ConfigMaps `oauth2-proxy` and `oauth2-proxy-parameters`,
 * upstream's arguments, ports and environment, routed at `/oauth2/` and asked by the gateway about every request through
 * the {@link extensionProvider} (Istio `envoyExtAuthzHttp`).
 *
 * Differences, each for a reason: client and cookie secrets are generated in the cluster (upstream ships fixed ones; in
 * mode dex the same Job gives Dex its copy of the client secret); cookies are always `Secure` (TLS is always on at the
 * gateway); the provider's TLS certificate is verified; the pods run as a dedicated ServiceAccount without token; no
 * custom logo on the sign-in page.
 *
 * Network: gateway → oauth2-proxy; oauth2-proxy → Dex (mode dex) or → the provider over HTTPS (mode oidc).
 */
export class OAuth2Proxy extends Construct {
  /** The Istio extension provider the mesh configuration must define for the gateway's CUSTOM policy. */
  public readonly extensionProvider: ExtensionProvider;
  /** oauth2-proxy's pods. */
  public readonly peer: NetworkPeer;

  public constructor(scope: Construct, id: string, props: OAuth2ProxyProps) {
    super(scope, id);
    const ns = props.namespace;
    const provider = props.provider;
    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { name: NAME, component: AUTH_COMPONENT, version: ctx.images.entry('oauth2-proxy').tag };
    const labels = standardLabels(identity);
    this.peer = { peerName: NAME, namespace: ns, podLabels: selectorLabels(identity) };
    this.extensionProvider = {
      name: NAME,
      envoyExtAuthzHttp: {
        service: serviceHost(NAME, ns),
        port: OAUTH2_PROXY_SERVICE_PORT,
        headersToDownstreamOnDeny: ['content-type', 'set-cookie'],
        headersToUpstreamOnAllow: ['authorization', 'path', 'x-auth-request-email', 'x-auth-request-groups', 'x-auth-request-user'],
        includeRequestHeadersInCheck: ['authorization', 'cookie'],
      },
    };

    new PlatformNamespace(this, 'Namespace', { name: ns });
    serviceAccountWithRole(this, { name: NAME, namespace: ns, labels, automountServiceAccountToken: false });

    const secret = provider.type === 'dex'
      ? new GeneratedSecret(this, 'Secret', {
        name: DEX_MODE_SECRET,
        namespace: ns,
        identity,
        keys: { 'client-id': { literal: DEX_CLIENT_ID }, 'client-secret': { randomBytes: 32 }, 'cookie-secret': { randomBytes: 32 } },
        sharedWith: [{ name: DEX_CLIENT_SECRET, namespace: provider.namespace, keys: { [DEX_CLIENT_ENV.id]: 'client-id', [DEX_CLIENT_ENV.secret]: 'client-secret' } }],
      })
      // 32 random bytes, URL-safe base64: oauth2-proxy decodes it to a 32-byte AES key.
      : new GeneratedSecret(this, 'Secret', { name: OIDC_MODE_SECRET, namespace: ns, identity, keys: { 'cookie-secret': { randomBytes: 32 } } });
    if (provider.type === 'oidc') {
      ctx.addExternalObject({
        apiVersion: 'v1', kind: 'Secret', name: provider.clientSecret.name, namespace: ns, keys: [provider.clientSecret.key],
        reason: `created by the cluster admins in ${ns}: ${provider.clientSecret.key} holds the OIDC client secret`,
      });
    }

    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: NAME, namespace: ns, labels },
      data: { [CONFIG_KEY]: oauth2ProxyConfig(props.gateway, provider) },
    });
    new k8s.KubeConfigMap(this, 'Parameters', {
      metadata: { name: PARAMETERS, namespace: ns, labels },
      data: {
        // Secure cookies: the gateway always serves HTTPS.
        FORCE_HTTPS: 'true',
        // Dex is reached over plain HTTP in the cluster; an external provider's certificate is verified.
        ALLOW_SELF_SIGNED_ISSUER: 'false',
        // Upstream's values: bearer tokens are verified by the gateway's RequestAuthentications and never reach oauth2-proxy.
        ENABLE_M2M_TOKENS: 'true',
        EXTRA_JWT_ISSUERS: '',
      },
    });

    const fromSecret = (name: string, ref: AuthSecretKeyRef): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
    const parameter = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { configMapKeyRef: { name: PARAMETERS, key } } });
    const env: k8s.EnvVar[] = [
      provider.type === 'dex'
        ? fromSecret('OAUTH2_PROXY_CLIENT_ID', { name: secret.secretName, key: 'client-id' })
        : { name: 'OAUTH2_PROXY_CLIENT_ID', value: provider.clientId },
      fromSecret('OAUTH2_PROXY_CLIENT_SECRET', provider.type === 'dex' ? { name: secret.secretName, key: 'client-secret' } : provider.clientSecret),
      fromSecret('OAUTH2_PROXY_COOKIE_SECRET', { name: secret.secretName, key: 'cookie-secret' }),
      parameter('OAUTH2_PROXY_COOKIE_SECURE', 'FORCE_HTTPS'),
      parameter('OAUTH2_PROXY_SSL_INSECURE_SKIP_VERIFY', 'ALLOW_SELF_SIGNED_ISSUER'),
      parameter('OAUTH2_PROXY_SKIP_JWT_BEARER_TOKENS', 'ENABLE_M2M_TOKENS'),
      parameter('OAUTH2_PROXY_EXTRA_JWT_ISSUERS', 'EXTRA_JWT_ISSUERS'),
    ];
    const probe = (path: string): k8s.Probe => ({ httpGet: { path, port: k8s.IntOrString.fromString('http'), scheme: 'HTTP' } });
    clusterIpService(this, { name: NAME, namespace: ns, identity, ports: [servicePort('http', OAUTH2_PROXY_SERVICE_PORT, OAUTH2_PROXY_PORT)] });
    deployment(this, {
      namespace: ns,
      identity,
      replicas: props.replicas,
      pod: {
        serviceAccountName: NAME,
        security: { user: OAUTH2_PROXY_UID, group: OAUTH2_PROXY_UID },
        containers: [{
          name: NAME,
          image: ctx.images.image('oauth2-proxy'),
          args: [`--http-address=0.0.0.0:${OAUTH2_PROXY_PORT}`, `--config=${CONFIG_PATH}`],
          ports: [
            { name: 'http', containerPort: OAUTH2_PROXY_PORT, protocol: 'TCP' },
            { name: 'metrics', containerPort: OAUTH2_PROXY_METRICS_PORT, protocol: 'TCP' },
          ],
          env,
          resources: props.resources,
          volumeMounts: [{ name: 'oauth2-proxy-config', mountPath: CONFIG_PATH, subPath: CONFIG_KEY, readOnly: true }],
          livenessProbe: probe('/ping'),
          readinessProbe: probe('/ready'),
        }],
        volumes: [{ name: 'oauth2-proxy-config', configMap: { name: NAME } }],
      },
    });
    // Route /oauth2/ (sign-in, callback, sign-out) through the gateway; also opens gateway → oauth2-proxy (ext-authz too).
    exposeWebApp(this, 'Route', props.gateway, {
      name: NAME, prefix: `${OAUTH2_PATH}/`, backend: { serviceName: NAME, servicePort: OAUTH2_PROXY_SERVICE_PORT, peer: this.peer, podPort: OAUTH2_PROXY_PORT },
    });
    if (provider.type === 'dex') {
      allowTraffic(this, this.peer, provider.peer, [{ port: DEX_PORT }]);
    } else {
      allowEgressToAddresses(this, 'Egress-identity-provider', this.peer, 'identity-provider',
        addressRulesFor(checkedCidrs('oidc.cidrs', provider.cidrs), [{ port: urlPort(provider.issuerUrl) }]));
    }
  }
}
