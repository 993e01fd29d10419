import { z } from 'zod';
import { CHARTS } from '../core/charts';
import { annotationMap, atLeast, dnsLabel, dnsName, egressFields, RELEASE_PATTERN, secretKeyRef } from './primitives';

/**
 * Configuration of the mesh, gateway, TLS, authentication and serverless serving (cert-manager's section is in
 * schema.ts): Istio external or managed, the Kubeflow gateway with TLS always on, Dex or an external OIDC provider
 * behind oauth2-proxy, machine-to-machine tokens, and Knative Serving. Cross-field rules live in {@link meshIssues}.
 */

const release = (example: string) => z.string().regex(RELEASE_PATTERN, `must be a release such as ${example}`);
const httpsUrl = z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/, 'must be an https:// URL');
const headerName = z.string().regex(/^[a-z0-9][-a-z0-9]*$/, 'must be a lowercase HTTP header name (letters, digits, -)');

/** Istio. */
export const istioSchema = z.strictObject({
  mode: z.enum(['none', 'external', 'managed']).default('none').meta({
    description: 'none (no mesh, no gateway: the standalone local stack), external (Istio is already on the cluster: kfkit declares the '
      + 'version it needs and adds only Kubeflow\'s gateway and policies) or managed (kfkit installs Istio from its official Helm charts, '
      + 'pinned). Default: none.',
  }),
  version: release('1.29').default('1.29').meta({ description: 'external: the Istio release on the cluster (at least 1.29). Default: 1.29.' }),
  dataplane: z.enum(['sidecar', 'ambient']).default('sidecar').meta({
    description: 'sidecar (Envoy sidecars injected through istio-cni, no privileged init containers) or ambient (ztunnel and waypoints, no '
      + 'sidecars). Default: sidecar.',
  }),
});

/** The Kubeflow gateway. */
export const gatewaySchema = z.strictObject({
  host: dnsName('must be a DNS name (optionally *.-prefixed), without scheme or port:', { wildcard: true })
    .default('kubeflow.localtest.me')
    .meta({ description: 'Host name users reach Kubeflow at. Default: kubeflow.localtest.me (resolves to 127.0.0.1, for port-forwarding).' }),
  tls: z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('self-signed').meta({ description: 'A kfkit CA issued by cert-manager (local and test clusters).' }),
    }),
    z.strictObject({
      type: z.literal('acme').meta({ description: 'A certificate from an ACME CA (Let\'s Encrypt) through cert-manager, HTTP-01 via the gateway.' }),
      email: z.email('must be an e-mail address').meta({ description: 'ACME account e-mail (required).' }),
      server: httpsUrl.default('https://acme-v02.api.letsencrypt.org/directory')
        .meta({ description: 'ACME directory. Default: Let\'s Encrypt production.' }),
      ...egressFields('the ACME server and the gateway\'s public address (cert-manager\'s HTTP-01 self-check), on 80 and 443',
        'an internal ACME CA: its address as a /32; with certManager.mode managed only'),
    }),
    z.strictObject({
      type: z.literal('secret').meta({ description: 'An existing kubernetes.io/tls Secret in the ingress gateway\'s namespace.' }),
      secretName: dnsLabel('Secret name').meta({ description: 'Name of the TLS Secret (required).' }),
    }),
  ]).prefault({ type: 'self-signed' }).meta({ description: 'TLS of the gateway; always on (HTTP redirects to HTTPS). Default: self-signed.' }),
  service: z.strictObject({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP')
      .meta({ description: 'Service type of the ingress gateway. Default: ClusterIP (reach it with kubectl port-forward).' }),
    annotations: annotationMap.default({})
      .meta({ description: 'Annotations of the ingress gateway Service (e.g. for the AWS Load Balancer Controller). Default: none.' }),
  }).prefault({}),
}).prefault({});

const userHeadersSchema = z.strictObject({
  userId: headerName.default('kubeflow-userid').meta({ description: 'Header carrying the authenticated user id. Default: kubeflow-userid.' }),
  userIdPrefix: z.string().max(64).default('').meta({
    description: 'Prefix in front of the user id in that header; must stay empty with auth.mode dex or oidc (the gateway copies the '
      + 'token\'s claim as it is). Default: none.',
  }),
  groups: headerName.default('kubeflow-groups').meta({ description: 'Header carrying the user\'s groups. Default: kubeflow-groups.' }),
}).prefault({});

const staticUserSchema = z.strictObject({
  email: z.email('must be an e-mail address').meta({ description: 'Login e-mail, also the user id.' }),
  username: dnsLabel('username').optional().meta({ description: 'Display name. Default: the part of the e-mail before @.' }),
  hashSecret: secretKeyRef.meta({
    description: 'Secret (in the auth namespace) and key holding the bcrypt hash of the password; create it yourself, e.g. with '
      + '`htpasswd -nbBC 10 "" <password> | tr -d :\\n`. kfkit writes no password or hash.',
  }),
});

const connectorSchema = z.strictObject({
  type: z.enum(['oidc', 'ldap', 'github', 'microsoft', 'google', 'saml']).meta({ description: 'Dex connector type.' }),
  id: dnsLabel('connector id').meta({ description: 'Connector id (unique).' }),
  name: z.string().min(1).max(64).meta({ description: 'Name on the login page.' }),
  configSecret: secretKeyRef.meta({
    description: 'Secret (in the auth namespace) and key holding the connector\'s `config` block as YAML (client secrets, bind passwords).',
  }),
  ...egressFields('the identity provider (LDAP: 389 and 636; others: 443)', 'the directory servers\' or the provider\'s addresses'),
});

const oidcSchema = z.strictObject({
  issuerUrl: httpsUrl.meta({ description: 'Issuer URL of the provider (Okta, Keycloak realm, Entra ID tenant v2.0, Cognito user pool) (required).' }),
  clientId: z.string().min(1).meta({ description: 'OAuth client id registered for Kubeflow (required).' }),
  clientSecret: secretKeyRef.meta({ description: 'Secret (in the oauth2-proxy namespace) and key holding the client secret (required).' }),
  scopes: z.array(z.string().regex(/^[\w:./-]+$/, 'must be an OAuth scope')).default(['openid', 'email', 'profile', 'groups'])
    .meta({ description: 'Scopes requested. Default: openid email profile groups.' }),
  userIdClaim: z.string().min(1).default('email').meta({ description: 'JWT claim that becomes the user id. Default: email.' }),
  groupsClaim: z.string().min(1).default('groups').meta({ description: 'JWT claim with the user\'s groups. Default: groups.' }),
  ...egressFields('the provider (oauth2-proxy\'s login and token exchange, istiod\'s key fetch)', 'the provider\'s addresses, e.g. a Keycloak\'s /32'),
});

const machineTokensSchema = z.strictObject({
  enabled: z.boolean().default(true)
    .meta({ description: 'Accept Kubernetes service-account tokens at the gateway (pipelines SDK in notebooks, CI jobs). Default: true.' }),
  issuer: httpsUrl.default('https://kubernetes.default.svc.cluster.local')
    .meta({ description: 'Issuer of the cluster\'s service-account tokens (`kubectl get --raw /.well-known/openid-configuration`). '
      + 'Default: https://kubernetes.default.svc.cluster.local (kind, most on-prem clusters); EKS: the cluster\'s OIDC issuer URL.' }),
  jwksUri: httpsUrl.optional().meta({
    description: 'Where Istio fetches the signing keys. Default: discovered from the issuer for public issuers (EKS); for an in-cluster issuer '
      + 'kfkit serves the API server\'s keys through a small proxy (cluster-jwks-proxy) in the oauth2-proxy namespace.',
  }),
  ...egressFields('the host of the signing keys, when they are outside the cluster (istiod fetches them)',
    'only with istio.mode managed and a public issuer or jwksUri'),
}).prefault({});

/** Authentication at the gateway. */
export const authSchema = z.strictObject({
  mode: z.enum(['none', 'dex', 'oidc']).default('none').meta({
    description: 'none (no login: standalone only), dex (Dex as the identity provider, with static users on local or connectors to an '
      + 'IdP, behind oauth2-proxy) or oidc (oauth2-proxy straight to an external OIDC provider). Default: none.',
  }),
  userHeaders: userHeadersSchema.meta({ description: 'Identity headers the gateway passes to Kubeflow apps after authentication.' }),
  dex: z.strictObject({
    staticUsers: z.array(staticUserSchema).default([])
      .meta({ description: 'Users with passwords stored in Dex (the local stack only). Default: none.' }),
    connectors: z.array(connectorSchema).default([]).meta({ description: 'Upstream identity providers. Default: none.' }),
  }).prefault({}).meta({ description: 'Dex settings (mode dex).' }),
  oidc: oidcSchema.optional().meta({ description: 'The external OIDC provider (mode oidc, required there).' }),
  machineTokens: machineTokensSchema.meta({ description: 'Machine-to-machine access with Kubernetes service-account tokens.' }),
}).prefault({});

/** Knative Serving, for KServe's serverless mode. */
export const knativeSchema = z.strictObject({
  mode: z.enum(['none', 'external', 'managed']).default('none').meta({
    description: 'none (no serverless serving), external (Knative Serving with net-istio is already on the cluster) or managed (kfkit installs '
      + 'the Knative operator from its Helm chart and a KnativeServing with net-istio). Default: none.',
  }),
  version: release('1.21').default('1.21').meta({ description: 'Knative Serving release (external: the one on the cluster). Default: 1.21.' }),
}).prefault({});

/** The parts of the config {@link meshIssues} looks at. */
export interface MeshConfigView {
  readonly stack: string;
  readonly certManager: { readonly mode: string };
  readonly istio: z.output<typeof istioSchema>;
  readonly gateway: z.output<typeof gatewaySchema>;
  readonly auth: z.output<typeof authSchema>;
  readonly knative: z.output<typeof knativeSchema>;
}

/** One cross-field problem: a path from the config root and a message. */
export interface MeshIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}


/** Cross-field rules of the mesh, gateway, auth and Knative sections. */
export function meshIssues(c: MeshConfigView): MeshIssue[] {
  const out: MeshIssue[] = [];
  const meshOn = c.istio.mode !== 'none';
  if (c.istio.mode === 'external' && RELEASE_PATTERN.test(c.istio.version) && !atLeast(c.istio.version, '1.29')) {
    out.push({ path: ['istio', 'version'], message: 'kfkit needs Istio 1.29 or later; upgrade Istio' });
  }
  if (meshOn && c.certManager.mode === 'none' && c.gateway.tls.type !== 'secret') {
    out.push({
      path: ['gateway', 'tls', 'type'],
      message: `${c.gateway.tls.type} certificates are issued by cert-manager: set certManager.mode to external or managed, or use type secret`,
    });
  }
  if (!meshOn) {
    // Settings of the ingress gateway, which only a mesh deploys: refused rather than silently ignored.
    const none = 'applies only to the Istio ingress gateway, and with istio.mode none there is none: set istio.mode to external or managed, or remove it';
    if (c.gateway.service.type !== 'ClusterIP') out.push({ path: ['gateway', 'service', 'type'], message: none });
    if (Object.keys(c.gateway.service.annotations).length > 0) out.push({ path: ['gateway', 'service', 'annotations'], message: none });
    if (c.gateway.tls.type !== 'self-signed') out.push({ path: ['gateway', 'tls', 'type'], message: none });
  }
  if (c.auth.mode !== 'none' && !meshOn) {
    out.push({ path: ['auth', 'mode'], message: 'authentication happens at the Istio gateway: set istio.mode to external or managed' });
  }
  if (c.auth.mode === 'oidc' && c.auth.oidc === undefined) {
    out.push({ path: ['auth', 'oidc'], message: 'required with auth.mode oidc: issuerUrl, clientId and clientSecret of your provider' });
  }
  if (c.auth.mode !== 'oidc' && c.auth.oidc !== undefined) {
    out.push({ path: ['auth', 'oidc'], message: 'applies only with auth.mode oidc' });
  }
  if (c.auth.mode !== 'none' && c.auth.userHeaders.userIdPrefix !== '') {
    out.push({
      path: ['auth', 'userHeaders', 'userIdPrefix'],
      message: 'the gateway copies the token\'s claim into the header as it is and cannot add a prefix; leave userIdPrefix empty',
    });
  }
  if (c.auth.mode !== 'none' && c.gateway.host.startsWith('*')) {
    out.push({ path: ['gateway', 'host'], message: 'login needs one host name for its issuer and redirect URLs; set gateway.host without *' });
  }
  if (c.auth.mode === 'dex' && c.auth.dex.staticUsers.length === 0 && c.auth.dex.connectors.length === 0) {
    out.push({ path: ['auth', 'dex'], message: 'Dex needs at least one static user (local stack) or one connector, or nobody can log in' });
  }
  if (c.auth.dex.staticUsers.length > 0 && c.stack !== 'local') {
    out.push({
      path: ['auth', 'dex', 'staticUsers'],
      message: `static users with passwords in Dex are for the local stack only, not ${c.stack}; connect an identity provider (auth.dex.connectors or auth.mode oidc)`,
    });
  }
  const seen = new Set<string>();
  c.auth.dex.staticUsers.forEach((u, i) => {
    if (seen.has(u.email)) out.push({ path: ['auth', 'dex', 'staticUsers', i, 'email'], message: `${u.email} is listed twice` });
    seen.add(u.email);
  });
  const ids = new Set<string>();
  c.auth.dex.connectors.forEach((conn, i) => {
    if (ids.has(conn.id)) out.push({ path: ['auth', 'dex', 'connectors', i, 'id'], message: `connector id ${conn.id} is used twice` });
    ids.add(conn.id);
  });
  const managedKnative = CHARTS['knative-operator'].version.replace(/^v/, '');
  const managedLine = managedKnative.split('.').slice(0, 2).join('.');
  if (c.knative.mode === 'managed' && RELEASE_PATTERN.test(c.knative.version) && c.knative.version !== managedLine && c.knative.version !== managedKnative) {
    out.push({
      path: ['knative', 'version'],
      message: `managed mode installs Knative Serving ${managedKnative} (pinned with the operator chart): set ${managedLine}, or use mode external with the release your cluster runs`,
    });
  }
  if (c.knative.mode !== 'none' && !meshOn) {
    out.push({ path: ['knative', 'mode'], message: 'Knative Serving uses net-istio: set istio.mode to external or managed' });
  }
  return out;
}
