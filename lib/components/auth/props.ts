import { IKubeflowGateway, UserHeaders } from '../../core/mesh';
import { ResourceBudget } from '../../core/security';

/** A key of a Secret the cluster admins create; kfkit reads it by reference and never holds its value. */
export interface AuthSecretKeyRef {
  /** Name of the Secret. */
  readonly name: string;
  /** Key in the Secret. */
  readonly key: string;
}

/** A user with a password stored in Dex (local and test clusters only). */
export interface DexStaticUser {
  /** Login e-mail; also the user id Kubeflow sees (the `email` claim). */
  readonly email: string;
  /**
   * Display name.
   * @default - the part of the e-mail before `@`
   */
  readonly username?: string;
  /**
   * Secret (in Dex's namespace) and key holding the bcrypt hash of the password, e.g. made with
   * `htpasswd -nbBC 10 "" <password> | tr -d ':\n'`. kfkit writes neither the password nor the hash.
   */
  readonly hashSecret: AuthSecretKeyRef;
}

/** Types of Dex connectors kfkit configures. */
export type DexConnectorType = 'oidc' | 'ldap' | 'github' | 'microsoft' | 'google' | 'saml';

/** An upstream identity provider Dex delegates the login to. */
export interface DexConnector {
  /** Dex connector type. */
  readonly type: DexConnectorType;
  /** Connector id: a DNS label, unique among the connectors. */
  readonly id: string;
  /** Name on the login page. */
  readonly name: string;
  /**
   * Secret (in Dex's namespace) and key holding the connector's `config` block as a YAML (or JSON) mapping, client
   * secrets and bind passwords included; its callback is `https://<host>/dex/callback`. Dex reads it at start: change
   * the Secret, then restart Dex.
   */
  readonly configSecret: AuthSecretKeyRef;
  /**
   * IPv4 blocks of the provider's addresses (the LDAP servers, the OIDC/SAML endpoints): the only destinations of Dex's
   * egress for this connector (LDAP: 389 and 636; others: 443). `0.0.0.0/0` opens every address: give it only on purpose.
   */
  readonly cidrs: readonly string[];
}

/** Dex as the identity provider (mode `dex`). */
export interface DexOptions {
  /**
   * Users with passwords stored in Dex. Meant for local and test clusters; production connects an identity provider.
   * @default - none
   */
  readonly staticUsers?: readonly DexStaticUser[];
  /**
   * Upstream identity providers.
   * @default - none
   */
  readonly connectors?: readonly DexConnector[];
  /**
   * Namespace of Dex (created by kfkit, Pod Security `restricted`).
   * @default 'auth'
   */
  readonly namespace?: string;
  /**
   * Compute budget of Dex.
   * @default - 10m CPU; 32Mi memory request, 256Mi limit
   */
  readonly resources?: ResourceBudget;
}

/** An external OpenID Connect provider oauth2-proxy logs users in with (mode `oidc`). */
export interface OidcProviderOptions {
  /** Issuer URL (Okta org or authorization server, Keycloak realm, Entra ID tenant `v2.0`, Cognito user pool), https. */
  readonly issuerUrl: string;
  /** OAuth client id registered for Kubeflow, with the redirect URI `https://<host>/oauth2/callback`. */
  readonly clientId: string;
  /** Secret (in oauth2-proxy's namespace) and key holding the client secret. */
  readonly clientSecret: AuthSecretKeyRef;
  /**
   * Scopes requested. Add the provider's refresh scope (`offline_access` on most) for sessions longer than an ID token
   * lives; without a refresh token users log in again when their ID token expires.
   * @default ['openid', 'email', 'profile', 'groups']
   */
  readonly scopes?: readonly string[];
  /**
   * ID-token claim that becomes the user id.
   * @default 'email'
   */
  readonly userIdClaim?: string;
  /**
   * ID-token claim with the user's groups.
   * @default 'groups'
   */
  readonly groupsClaim?: string;
  /**
   * IPv4 blocks of the provider's addresses: the only destinations of oauth2-proxy's egress (login, token exchange)
   * and of istiod's (signing keys) on the issuer's port. `0.0.0.0/0` opens every address: give it only on purpose.
   */
  readonly cidrs: readonly string[];
}

/** Machine-to-machine access with Kubernetes ServiceAccount tokens at the gateway. */
export interface MachineTokenOptions {
  /**
   * Accept ServiceAccount tokens of the cluster (`Authorization: Bearer <token>`).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Issuer of the cluster's ServiceAccount tokens (`kubectl get --raw /.well-known/openid-configuration`).
   * @default 'https://kubernetes.default.svc.cluster.local'
   */
  readonly issuer?: string;
  /**
   * Where Istio fetches the signing keys.
   * @default - for an issuer inside the cluster (`kubernetes.default.svc…`, `*.svc`, `*.cluster.local`) kfkit serves the
   * API server's keys over HTTP through a small proxy (`cluster-jwks-proxy`); for a public issuer (EKS, GKE, AKS) Istio
   * discovers them from `<issuer>/.well-known/openid-configuration`
   */
  readonly jwksUri?: string;
  /**
   * IPv4 blocks where istiod fetches the signing keys when they are outside the cluster (a public issuer or
   * `jwksUri`): the only destinations of its egress to them. `0.0.0.0/0` opens every address: give it only on purpose.
   * @default - none; required when the keys are outside the cluster and kfkit manages Istio
   */
  readonly cidrs?: readonly string[];
}

/** Props of {@link KubeflowAuth}. */
export interface KubeflowAuthProps {
  /** The Kubeflow gateway users authenticate at. */
  readonly gateway: IKubeflowGateway;
  /** `dex` (Dex behind oauth2-proxy, with static users or connectors) or `oidc` (oauth2-proxy straight to a provider). */
  readonly mode: 'dex' | 'oidc';
  /**
   * Dex settings; mode `dex` needs at least one static user or connector.
   * @default - none (required with mode `dex`)
   */
  readonly dex?: DexOptions;
  /**
   * The external provider.
   * @default - none (required with mode `oidc`)
   */
  readonly oidc?: OidcProviderOptions;
  /**
   * Identity headers the gateway writes from the verified token, which Kubeflow apps trust. Istio copies claims as
   * they are, so `userIdPrefix` must be empty.
   * @default - the gateway's {@link IKubeflowGateway.userHeaders}, else upstream's `kubeflow-userid` / `kubeflow-groups`
   */
  readonly userHeaders?: UserHeaders;
  /**
   * Machine-to-machine access with Kubernetes ServiceAccount tokens.
   * @default - enabled, issuer `https://kubernetes.default.svc.cluster.local` (keys through `cluster-jwks-proxy`)
   */
  readonly machineTokens?: MachineTokenOptions;
  /**
   * Further paths the gateway serves without authentication (Istio path patterns), e.g.
   * `/.well-known/acme-challenge/*` for ACME HTTP-01 challenges.
   * @default - only `/dex/` (mode dex) and `/oauth2/`
   */
  readonly publicPaths?: readonly string[];
  /**
   * Namespace of oauth2-proxy (and of `cluster-jwks-proxy`), created by kfkit (Pod Security `restricted`).
   * @default 'oauth2-proxy'
   */
  readonly oauth2ProxyNamespace?: string;
  /**
   * Replicas of oauth2-proxy (sessions live in the cookie, so any replica serves any user).
   * @default 2 (upstream's)
   */
  readonly oauth2ProxyReplicas?: number;
  /**
   * Compute budget of each oauth2-proxy replica.
   * @default - 10m CPU; 32Mi memory request, 128Mi limit
   */
  readonly oauth2ProxyResources?: ResourceBudget;
}
