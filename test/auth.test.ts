import { spawnSync } from 'child_process';
import { App, Chart } from 'cdk8s';
import { KubeflowAuth, KubeflowAuthProps } from '../lib/components/auth';
import { KubeflowGateway } from '../lib/components/gateway';
import { IstioMesh } from '../lib/components/istio';
import { declareExternalCertManager } from '../lib/core/cert-manager';
import { KfkitContext } from '../lib/core/context';
import { GeneratedSecret } from '../lib/core/generated-secret';
import { IKubeflowGateway, IMesh } from '../lib/core/mesh';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject, PROVIDES_ANNOTATION } from '../lib/validate/types';
import { configIssuePaths, localConfig } from './helpers';

// GIVEN a mesh and gateway as the mesh and gateway components describe them (a stub of their interfaces).
const mesh = (mode: IMesh['mode'] = 'managed'): IMesh => ({
  namespace: 'istio-system',
  dataplane: 'sidecar',
  mode,
  trustDomain: 'cluster.local',
  enrollmentLabels: { 'istio-injection': 'enabled' },
  istiod: { peerName: 'istiod', namespace: 'istio-system', podLabels: { app: 'istiod' } },
});
const INGRESS_LABELS = { app: 'istio-ingressgateway', istio: 'ingressgateway' };
const gatewayStub = (overrides: Partial<IKubeflowGateway> = {}): IKubeflowGateway => ({
  gatewayRef: 'kubeflow/kubeflow-gateway',
  host: 'kubeflow.example.com',
  url: 'https://kubeflow.example.com',
  ingress: { peerName: 'istio-ingressgateway', namespace: 'istio-system', podLabels: INGRESS_LABELS },
  ingressPrincipal: 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account',
  mesh: mesh(),
  ...overrides,
});

const USERS = { staticUsers: [{ email: 'user@example.com', hashSecret: { name: 'dex-users', key: 'user' } }] };
const CONNECTORS = {
  connectors: [
    { type: 'github' as const, id: 'github', name: 'GitHub', configSecret: { name: 'dex-github', key: 'config.yaml' }, cidrs: ['140.82.112.0/20'] },
    { type: 'ldap' as const, id: 'corp-ldap', name: 'Corp {{ LDAP }}', configSecret: { name: 'dex-ldap', key: 'config.yaml' }, cidrs: ['10.20.0.5/32', '10.20.0.6/32'] },
  ],
};
const OIDC = {
  issuerUrl: 'https://login.example.com/realms/kubeflow', clientId: 'kubeflow', clientSecret: { name: 'kubeflow-oidc', key: 'client-secret' }, cidrs: ['203.0.113.10/32'],
};

type AuthInput = Omit<KubeflowAuthProps, 'gateway'> & { readonly gateway?: IKubeflowGateway };

/** Builds KubeflowAuth in a fresh tree with the mesh's namespace and Istio APIs declared, as the mesh component does. */
function build(props: AuthInput): { auth: KubeflowAuth; s: Synthesized } {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  ctx.addExternalObject({ apiVersion: 'v1', kind: 'Namespace', name: 'istio-system', reason: 'the mesh namespace' });
  ctx.addExternalApi({ group: 'networking.istio.io', kind: 'VirtualService', versions: ['v1'], providedBy: 'Istio' });
  for (const kind of ['AuthorizationPolicy', 'RequestAuthentication']) ctx.addExternalApi({ group: 'security.istio.io', kind, versions: ['v1'], providedBy: 'Istio' });
  const auth = new KubeflowAuth(chart, 'Auth', { gateway: gatewayStub(), ...props });
  return { auth, s: collect(chart) };
}
const attempt = (props: AuthInput) => () => build(props);

const find = (s: Synthesized, kind: string, name: string | RegExp, namespace?: string): PlacedObject | undefined => s.objects.find((o) => o.manifest.kind
  === kind && (typeof name === 'string' ? o.manifest.metadata.name === name : name.test(o.manifest.metadata.name))
  && (namespace === undefined || o.manifest.metadata.namespace === namespace));
const get = (s: Synthesized, kind: string, name: string | RegExp, namespace?: string): PlacedObject => {
  const found = find(s, kind, name, namespace);
  if (!found) throw new Error(`${kind} ${String(name)} not synthesized`);
  return found;
};
/** The fields of the specs the tests read (Deployments, Jobs, RequestAuthentications, policies), as parsed JSON. */
interface Container {
  image: string;
  command: string[];
  args: string[];
  env: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: unknown[];
  ports: { containerPort: number }[];
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  securityContext?: unknown;
  containers: Container[];
  volumes: { name: string; projected?: { sources: unknown[] } }[];
}
interface JwtRule { issuer: string; jwksUri?: string; outputClaimToHeaders: { header: string; claim: string }[]; fromHeaders: unknown }
interface AnySpec {
  replicas?: number;
  template: { spec: PodSpec };
  jwtRules: JwtRule[];
  rules: { to: { operation: { notPaths: string[] } }[] }[];
  ingress?: unknown;
  egress?: unknown;
}
const spec = (o: PlacedObject): AnySpec => (o.manifest as K8sObject & { spec: AnySpec }).spec;
const podSpec = (s: Synthesized, name: string): PodSpec => spec(get(s, 'Deployment', name)).template.spec;
const configMap = (s: Synthesized, name: string): Record<string, string> => (get(s, 'ConfigMap', name).manifest as K8sObject & { data: Record<string, string> }).data;
const names = (s: Synthesized, kind: string): string[] => s.objects.filter((o) => o.manifest.kind === kind).map((o) => `${o.manifest.metadata.namespace ?? ''}/${o.manifest.metadata.name}`).sort();

/** Literals that must never appear: upstream's well-known client secret, cookie secret and password hash, any bcrypt hash. */
const FORBIDDEN = [/pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok/, /7d16fee92f8d11b8940b081b3f8b8acb/, /\$2[aby]\$\d\d\$/];
function expectNoSecretValues(s: Synthesized): void {
  expect(s.objects.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
  const text = JSON.stringify(s.objects.map((o) => o.manifest));
  for (const pattern of FORBIDDEN) expect(text).not.toMatch(pattern);
  const literals = s.objects.filter((o) => ['Deployment', 'Job'].includes(o.manifest.kind))
    .flatMap((o) => (spec(o).template.spec.containers as { env?: { name: string; value?: string }[] }[]).flatMap((c) => c.env ?? []))
    .filter((e) => /SECRET|PASSWORD|TOKEN|HASH/.test(e.name) && e.value !== undefined);
  expect(literals).toEqual([]);
}

describe('mode dex with a static user (the local stack)', () => {
  const { auth, s } = build({ mode: 'dex', dex: USERS });

  test('synthesizes and validates clean, with no secret value anywhere', () => {
    expect(validate(s)).toEqual([]);
    expectNoSecretValues(s);
  });

  test('Dex and oauth2-proxy in their restricted, default-deny namespaces', () => {
    for (const ns of ['auth', 'oauth2-proxy']) {
      expect(get(s, 'Namespace', ns).manifest.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
      expect(find(s, 'NetworkPolicy', 'default-deny', ns)).toBeDefined();
    }
    expect(get(s, 'Deployment', 'dex').manifest.metadata.namespace).toBe('auth');
    expect(get(s, 'Deployment', 'oauth2-proxy').manifest.metadata.namespace).toBe('oauth2-proxy');
    expect([auth.dexNamespace, auth.oauth2ProxyNamespace]).toEqual(['auth', 'oauth2-proxy']);
  });

  test('Dex: public issuer, kubernetes storage on CRDs kfkit installs, the static user\'s hash read from the admins\' Secret', () => {
    expect(auth.issuer).toBe('https://kubeflow.example.com/dex');
    const config = configMap(s, 'dex')['config.yaml'];
    expect(config).toContain('issuer: https://kubeflow.example.com/dex\n');
    expect(config).toMatch(/storage:\n {2}type: kubernetes\n {2}config:\n {4}inCluster: true\n {4}crdHandling: check\n/);
    expect(config).toContain('enablePasswordDB: true');
    expect(config).toMatch(/- email: user@example.com\n {4}username: user\n {4}userID: [0-9a-f]{32}\n {4}hash: \{\{ file\.Read "\/etc\/dex\/secrets\/password-0" \| strings\.TrimSpace \| data\.ToJSON \}\}\n/);
    expect(config).toMatch(/- idEnv: OIDC_CLIENT_ID\n {4}secretEnv: OIDC_CLIENT_SECRET\n {4}name: Kubeflow\n {4}redirectURIs:\n {6}- https:\/\/kubeflow.example.com\/oauth2\/callback\n/);
    expect(config).not.toContain('connectors:');
    expect(names(s, 'CustomResourceDefinition')).toHaveLength(10);
    expect(names(s, 'CustomResourceDefinition')).toContain('/signingkeies.dex.coreos.com');
    for (const crd of s.objects.filter((o) => o.manifest.kind === 'CustomResourceDefinition')) expect(crd.waveName).toBe('crds');
    expect((get(s, 'Role', 'dex', 'auth').manifest as K8sObject & { rules: unknown }).rules).toEqual([{ apiGroups: ['dex.coreos.com'], resources: ['*'], verbs: ['*'] }]);
    expect(find(s, 'ClusterRole', 'dex')).toBeUndefined();
  });

  test('Dex\'s pod: the image\'s gomplate entrypoint, the Secret mounted read-only, the rendered file in memory', () => {
    const pod = podSpec(s, 'dex');
    const c = pod.containers[0];
    expect(c.image).toBe('ghcr.io/dexidp/dex:v2.45.0');
    expect(c.command).toEqual(['/usr/local/bin/docker-entrypoint', 'dex', 'serve', '/etc/dex/cfg/config.yaml']);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'dex-oidc-client' } }]);
    expect(c.env).toContainEqual({ name: 'DEX_EXPAND_ENV', value: 'false' });
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.securityContext).toMatchObject({ runAsUser: 1001, runAsGroup: 1001, runAsNonRoot: true });
    expect(pod.volumes).toContainEqual({ name: 'secrets', projected: { sources: [{ secret: { name: 'dex-users', items: [{ key: 'user', path: 'password-0' }] } }] } });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } });
    expect(s.externalObjects).toContainEqual(expect.objectContaining({ kind: 'Secret', name: 'dex-users', namespace: 'auth' }));
  });

  test('one generated client secret, shared with Dex across namespaces, and a generated cookie secret', () => {
    const job = get(s, 'Job', /^oauth2-proxy-generator-[0-9a-f]{8}$/);
    expect(job.manifest.metadata.namespace).toBe('oauth2-proxy');
    expect(job.manifest.metadata.annotations?.[PROVIDES_ANNOTATION]).toBe('Secret/oauth2-proxy/oauth2-proxy,Secret/auth/dex-oidc-client');
    expect(job.waveName).toBe('credentials');
    expect(job.wave).toBeLessThan(get(s, 'Deployment', 'dex').wave);
    const role = (ns: string) => (get(s, 'Role', 'oauth2-proxy-generator', ns).manifest as K8sObject & { rules: unknown }).rules;
    expect(role('auth')).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['dex-oidc-client'] },
    ]);
    expect(role('oauth2-proxy')).toContainEqual({ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['oauth2-proxy'] });
    expect((get(s, 'RoleBinding', 'oauth2-proxy-generator', 'auth').manifest as K8sObject & { subjects: unknown }).subjects)
      .toEqual([{ kind: 'ServiceAccount', name: 'oauth2-proxy-generator', namespace: 'oauth2-proxy' }]);
  });

  test('oauth2-proxy: upstream\'s arguments, ports and variables; Dex in the cluster; secure cookies', () => {
    const pod = podSpec(s, 'oauth2-proxy');
    const c = pod.containers[0];
    expect(spec(get(s, 'Deployment', 'oauth2-proxy')).replicas).toBe(2);
    expect(c.args).toEqual(['--http-address=0.0.0.0:4180', '--config=/etc/oauth2_proxy/oauth2_proxy.cfg']);
    expect(c.ports.map((p) => p.containerPort)).toEqual([4180, 44180]);
    expect(c.env).toContainEqual({ name: 'OAUTH2_PROXY_CLIENT_SECRET', valueFrom: { secretKeyRef: { name: 'oauth2-proxy', key: 'client-secret' } } });
    expect(c.env).toContainEqual({ name: 'OAUTH2_PROXY_COOKIE_SECRET', valueFrom: { secretKeyRef: { name: 'oauth2-proxy', key: 'cookie-secret' } } });
    expect(pod.serviceAccountName).toBe('oauth2-proxy');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(configMap(s, 'oauth2-proxy-parameters')).toEqual({ FORCE_HTTPS: 'true', ALLOW_SELF_SIGNED_ISSUER: 'false', ENABLE_M2M_TOKENS: 'true', EXTRA_JWT_ISSUERS: '' });
    const cfg = configMap(s, 'oauth2-proxy')['oauth2_proxy.cfg'];
    expect(cfg).toContain('oidc_issuer_url = "https://kubeflow.example.com/dex"');
    expect(cfg).toContain('redeem_url = "http://dex.auth.svc.cluster.local:5556/dex/token"');
    expect(cfg).toContain('oidc_jwks_url = "http://dex.auth.svc.cluster.local:5556/dex/keys"');
    expect(cfg).toContain('redirect_url = "https://kubeflow.example.com/oauth2/callback"');
    expect(cfg).toContain('set_authorization_header = true');
    expect(cfg).not.toMatch(/secret/i);
  });

  test('routes /dex/ and /oauth2/ on the gateway (exposeWebApp: hosts * like every route, the gateway\'s principal allowed)', () => {
    for (const [name, ns, prefix, port] of [['dex', 'auth', '/dex/', 5556], ['oauth2-proxy', 'oauth2-proxy', '/oauth2/', 80]] as const) {
      expect(spec(get(s, 'VirtualService', name, ns))).toEqual({
        gateways: ['kubeflow/kubeflow-gateway'],
        hosts: ['*'],
        http: [{ name, match: [{ uri: { prefix } }], route: [{ destination: { host: `${name}.${ns}.svc.cluster.local`, port: { number: port } } }] }],
      });
      expect(spec(get(s, 'AuthorizationPolicy', name, ns))).toMatchObject({ action: 'ALLOW', rules: [{ from: [{ source: { principals: [gatewayStub().ingressPrincipal] } }] }] });
    }
  });

  test('network: the gateway reaches Dex and oauth2-proxy, istiod reaches Dex, oauth2-proxy reaches Dex, Dex the API', () => {
    expect(names(s, 'NetworkPolicy')).toEqual(expect.arrayContaining([
      'auth/dex-from-istio-ingressgateway', 'auth/dex-from-istiod', 'auth/dex-from-oauth2-proxy', 'auth/dex-to-kube-apiserver',
      'istio-system/istio-ingressgateway-to-dex', 'istio-system/istio-ingressgateway-to-oauth2-proxy', 'istio-system/istiod-to-dex',
      'oauth2-proxy/oauth2-proxy-from-istio-ingressgateway', 'oauth2-proxy/oauth2-proxy-to-dex',
    ]));
    expect(find(s, 'NetworkPolicy', 'dex-to-identity-providers')).toBeUndefined();
  });

  test('fidelity: Dex and oauth2-proxy match kubeflow/manifests 26.03 except for the documented deviations', () => {
    const { facts, deviations } = upstreamFacts();
    expect(facts.sources['kubeflow-auth']).toMatchObject({ upstream: 'kubeflow/manifests', version: '26.03' });
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-auth'] })).toEqual([]);
    // An undocumented difference is a finding: drop the deviation of Dex's command and it reappears.
    const without = deviations.filter((d) => !(d.workload === 'auth/dex' && d.field === 'command'));
    expect(checkFidelity(s.objects, facts, without, { sources: ['kubeflow-auth'] }).map((f) => f.message))
      .toEqual([expect.stringMatching(/^command: container dex has .*docker-entrypoint/)]);
  });
});

describe('mode dex with connectors', () => {
  const { s } = build({ mode: 'dex', dex: CONNECTORS });

  test('synthesizes and validates clean, with no secret value anywhere', () => {
    expect(validate(s)).toEqual([]);
    expectNoSecretValues(s);
  });

  test('each connector\'s configuration comes from its Secret through gomplate; kfkit\'s own text is escaped', () => {
    const config = configMap(s, 'dex')['config.yaml'];
    expect(config).toContain('enablePasswordDB: false');
    expect(config).not.toContain('staticPasswords');
    expect(config).toMatch(/- type: github\n {4}id: github\n {4}name: GitHub\n {4}config: \{\{ file\.Read "\/etc\/dex\/secrets\/connector-github\.yaml" \| data\.YAML \| data\.ToJSON \}\}\n/);
    // A connector named `Corp {{ LDAP }}`: the braces are printed by actions, never evaluated as one.
    expect(config).toContain('name: Corp {{ "{{" }} LDAP {{ "}}" }}');
    const sources = podSpec(s, 'dex').volumes.find((v) => v.name === 'secrets')?.projected?.sources;
    expect(sources).toEqual([
      { secret: { name: 'dex-github', items: [{ key: 'config.yaml', path: 'connector-github.yaml' }] } },
      { secret: { name: 'dex-ldap', items: [{ key: 'config.yaml', path: 'connector-corp-ldap.yaml' }] } },
    ]);
  });

  test('Dex may reach each identity provider on its addresses only: HTTPS, and LDAP on 389/636', () => {
    const policy = spec(get(s, 'NetworkPolicy', 'dex-to-identity-providers', 'auth'));
    const tcp = (...ports: number[]) => ports.map((port) => ({ port, protocol: 'TCP' }));
    expect(policy.egress).toEqual([
      { to: [{ ipBlock: { cidr: '140.82.112.0/20' } }], ports: tcp(443) },
      { to: [{ ipBlock: { cidr: '10.20.0.5/32' } }], ports: tcp(389, 636) },
      { to: [{ ipBlock: { cidr: '10.20.0.6/32' } }], ports: tcp(389, 636) },
    ]);
  });

  test('fidelity holds for connectors too', () => {
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-auth'] })).toEqual([]);
  });
});

describe('mode oidc (an external provider)', () => {
  const { auth, s } = build({ mode: 'oidc', oidc: { ...OIDC, userIdClaim: 'preferred_username', scopes: ['openid', 'email', 'offline_access'] } });

  test('synthesizes and validates clean, with no secret value anywhere; no Dex', () => {
    expect(validate(s)).toEqual([]);
    expectNoSecretValues(s);
    expect(find(s, 'Deployment', 'dex')).toBeUndefined();
    expect(find(s, 'Namespace', 'auth')).toBeUndefined();
    expect(names(s, 'CustomResourceDefinition')).toEqual([]);
    expect(auth.issuer).toBe(OIDC.issuerUrl);
    expect(auth.dexNamespace).toBeUndefined();
  });

  test('oauth2-proxy: the provider\'s discovery and claims, the admins\' client secret, a generated cookie secret', () => {
    const cfg = configMap(s, 'oauth2-proxy')['oauth2_proxy.cfg'];
    expect(cfg).toContain('oidc_issuer_url = "https://login.example.com/realms/kubeflow"');
    expect(cfg).toContain('scope = "openid email offline_access"');
    expect(cfg).toContain('oidc_email_claim = "preferred_username"');
    expect(cfg).toContain('cookie_refresh = "15m"');
    expect(cfg).not.toContain('skip_oidc_discovery');
    const env = podSpec(s, 'oauth2-proxy').containers[0].env;
    expect(env).toContainEqual({ name: 'OAUTH2_PROXY_CLIENT_ID', value: 'kubeflow' });
    expect(env).toContainEqual({ name: 'OAUTH2_PROXY_CLIENT_SECRET', valueFrom: { secretKeyRef: { name: 'kubeflow-oidc', key: 'client-secret' } } });
    expect(env).toContainEqual({ name: 'OAUTH2_PROXY_COOKIE_SECRET', valueFrom: { secretKeyRef: { name: 'oauth2-proxy-cookie', key: 'cookie-secret' } } });
    expect(get(s, 'Job', /^oauth2-proxy-cookie-generator-/).manifest.metadata.annotations?.[PROVIDES_ANNOTATION]).toBe('Secret/oauth2-proxy/oauth2-proxy-cookie');
    expect(s.externalObjects).toContainEqual(expect.objectContaining({ kind: 'Secret', name: 'kubeflow-oidc', namespace: 'oauth2-proxy' }));
    expect(spec(get(s, 'NetworkPolicy', 'oauth2-proxy-to-identity-provider')).egress).toEqual([{ to: [{ ipBlock: { cidr: '203.0.113.10/32' } }], ports: [{ port: 443, protocol: 'TCP' }] }]);
  });

  test('the gateway accepts only ID tokens issued to Kubeflow\'s client, with the configured claims', () => {
    expect(spec(get(s, 'RequestAuthentication', 'oidc-jwt', 'istio-system')).jwtRules).toEqual([{
      issuer: OIDC.issuerUrl,
      audiences: ['kubeflow'],
      forwardOriginalToken: true,
      outputClaimToHeaders: [{ header: 'kubeflow-userid', claim: 'preferred_username' }, { header: 'kubeflow-groups', claim: 'groups' }],
      fromHeaders: [{ name: 'Authorization', prefix: 'Bearer ' }],
    }]);
    expect(spec(get(s, 'AuthorizationPolicy', 'istio-ingressgateway-oauth2-proxy')).rules[0].to[0].operation.notPaths).toEqual(['/oauth2/*']);
  });

  test('fidelity: oauth2-proxy matches upstream (Dex is not installed in this mode)', () => {
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(s.objects, facts, deviations)).toEqual([]);
  });
});

describe('the gateway\'s policies', () => {
  const { auth, s } = build({ mode: 'dex', dex: USERS, publicPaths: ['/.well-known/acme-challenge/*'] });

  test('CUSTOM: requests without Authorization outside the public paths go to oauth2-proxy (upstream\'s rule)', () => {
    const policy = get(s, 'AuthorizationPolicy', 'istio-ingressgateway-oauth2-proxy', 'istio-system');
    expect(policy.manifest.apiVersion).toBe('security.istio.io/v1');
    expect(spec(policy)).toEqual({
      selector: { matchLabels: INGRESS_LABELS },
      action: 'CUSTOM',
      provider: { name: 'oauth2-proxy' },
      rules: [{
        to: [{ operation: { notPaths: ['/dex/*', '/dex/**', '/oauth2/*', '/.well-known/acme-challenge/*'] } }],
        when: [{ key: 'request.headers[authorization]', notValues: ['*'] }],
      }],
    });
    expect(auth.publicPaths).toEqual(['/dex/*', '/dex/**', '/oauth2/*', '/.well-known/acme-challenge/*']);
  });

  test('DENY: anything outside the public paths without a verified token is refused', () => {
    expect(spec(get(s, 'AuthorizationPolicy', 'istio-ingressgateway-require-jwt', 'istio-system'))).toEqual({
      selector: { matchLabels: INGRESS_LABELS },
      action: 'DENY',
      rules: [{ from: [{ source: { notRequestPrincipals: ['*'] } }], to: [{ operation: { notPaths: auth.publicPaths } }] }],
    });
  });

  test('RequestAuthentications: Dex tokens (email) and in-cluster ServiceAccount tokens (sub) through cluster-jwks-proxy', () => {
    const [dex] = spec(get(s, 'RequestAuthentication', 'dex-jwt', 'istio-system')).jwtRules;
    expect(dex).toMatchObject({
      issuer: 'https://kubeflow.example.com/dex',
      jwksUri: 'http://dex.auth.svc.cluster.local:5556/dex/keys',
      audiences: ['kubeflow-oidc-authservice'],
      outputClaimToHeaders: [{ header: 'kubeflow-userid', claim: 'email' }, { header: 'kubeflow-groups', claim: 'groups' }],
    });
    const [m2m] = spec(get(s, 'RequestAuthentication', 'm2m-token-issuer', 'istio-system')).jwtRules;
    expect(m2m).toEqual({
      issuer: 'https://kubernetes.default.svc.cluster.local',
      jwksUri: 'http://cluster-jwks-proxy.oauth2-proxy.svc.cluster.local/openid/v1/jwks',
      forwardOriginalToken: true,
      outputClaimToHeaders: [{ header: 'kubeflow-userid', claim: 'sub' }, { header: 'kubeflow-groups', claim: 'groups' }],
      fromHeaders: [{ name: 'Authorization', prefix: 'Bearer ' }],
    });
    expect(auth.machineTokenIssuer).toBe('https://kubernetes.default.svc.cluster.local');
    for (const o of [get(s, 'RequestAuthentication', 'dex-jwt'), get(s, 'AuthorizationPolicy', 'istio-ingressgateway-require-jwt')]) {
      expect(o.waveName).toBe('resources');
      expect(o.wave).toBeGreaterThan(get(s, 'Deployment', 'dex').wave);
    }
  });

  test('identity headers cannot be forged: every rule writes both headers (Envoy reserves them), and no request passes without a token', () => {
    for (const ra of s.objects.filter((o) => o.manifest.kind === 'RequestAuthentication')) {
      for (const rule of spec(ra).jwtRules) {
        expect(rule.outputClaimToHeaders.map((h: { header: string }) => h.header)).toEqual(['kubeflow-userid', 'kubeflow-groups']);
        expect(rule.fromHeaders).toEqual([{ name: 'Authorization', prefix: 'Bearer ' }]);
      }
    }
    const deny = spec(get(s, 'AuthorizationPolicy', 'istio-ingressgateway-require-jwt'));
    expect(deny.rules[0].to[0].operation.notPaths.every((p: string) => auth.publicPaths.includes(p))).toBe(true);
  });

  test('cluster-jwks-proxy serves exactly the API server\'s keys, reached by istiod only', () => {
    const pod = podSpec(s, 'cluster-jwks-proxy');
    expect(pod.containers[0].image).toMatch(/^docker\.io\/library\/python:/);
    expect(pod.automountServiceAccountToken).toBe(true);
    expect((get(s, 'ClusterRole', 'kubeflow-cluster-jwks-proxy').manifest as K8sObject & { rules: unknown }).rules)
      .toEqual([{ nonResourceURLs: ['/openid/v1/jwks'], verbs: ['get'] }]);
    expect(names(s, 'NetworkPolicy')).toEqual(expect.arrayContaining([
      'oauth2-proxy/cluster-jwks-proxy-from-istiod', 'istio-system/istiod-to-cluster-jwks-proxy', 'oauth2-proxy/cluster-jwks-proxy-to-kube-apiserver',
    ]));
  });

  test('the extension provider the mesh must define: oauth2-proxy as envoyExtAuthzHttp, headers as upstream', () => {
    expect(auth.extensionProvider).toEqual({
      name: 'oauth2-proxy',
      envoyExtAuthzHttp: {
        service: 'oauth2-proxy.oauth2-proxy.svc.cluster.local',
        port: 80,
        headersToDownstreamOnDeny: ['content-type', 'set-cookie'],
        headersToUpstreamOnAllow: ['authorization', 'path', 'x-auth-request-email', 'x-auth-request-groups', 'x-auth-request-user'],
        includeRequestHeadersInCheck: ['authorization', 'cookie'],
      },
    });
    expect(get(s, 'Service', 'oauth2-proxy', 'oauth2-proxy').manifest).toMatchObject({ spec: { ports: [{ port: 80, targetPort: 4180 }] } });
  });

  test('custom identity headers are used throughout', () => {
    const headers = { userId: 'x-user', userIdPrefix: '', groups: 'x-groups' };
    const custom = build({ mode: 'dex', dex: USERS, userHeaders: headers });
    expect(custom.auth.userHeaders).toEqual(headers);
    expect(spec(get(custom.s, 'RequestAuthentication', 'dex-jwt')).jwtRules[0].outputClaimToHeaders.map((h: { header: string }) => h.header)).toEqual(['x-user', 'x-groups']);
    // The gateway's headers are the default.
    const fromGateway = build({ mode: 'dex', dex: USERS, gateway: gatewayStub({ userHeaders: headers }) });
    expect(fromGateway.auth.userHeaders).toEqual(headers);
  });
});

describe('with the real mesh and gateway components', () => {
  test.each(['managed', 'external'] as const)('%s Istio: the platform validates, and the mesh config lists oauth2-proxy', (mode) => {
    const app = new App();
    const chart = new Chart(app, 't', { disableResourceNameHashes: true });
    const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    declareExternalCertManager(ctx, '1.19');
    const istio = new IstioMesh(chart, 'Mesh', { mode });
    new PlatformNamespace(chart, 'Kubeflow', { name: 'kubeflow' });
    const gateway = new KubeflowGateway(chart, 'Gateway', { mesh: istio, host: 'kubeflow.example.com', tls: { type: 'self-signed' }, certManager: {} });
    const auth = new KubeflowAuth(chart, 'Auth', { gateway, mode: 'dex', dex: USERS });
    istio.addExtensionProvider(auth.extensionProvider);
    const s = collect(chart);
    expect(validate(s)).toEqual([]);
    expect(istio.extensionProviders).toEqual([auth.extensionProvider]);
    const policy = get(s, 'AuthorizationPolicy', 'istio-ingressgateway-oauth2-proxy');
    expect(policy.manifest.metadata.namespace).toBe(gateway.ingress.namespace);
    expect(spec(policy)).toMatchObject({ selector: { matchLabels: gateway.ingress.podLabels } });
  });
});

describe('machine-to-machine tokens', () => {
  const m2mRule = (s: Synthesized): JwtRule => spec(get(s, 'RequestAuthentication', 'm2m-token-issuer')).jwtRules[0];

  test('a public issuer (EKS): keys discovered from the issuer, no proxy', () => {
    const issuer = 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF';
    const { s } = build({ mode: 'dex', dex: USERS, machineTokens: { issuer, cidrs: ['52.94.0.0/16'] } });
    expect(m2mRule(s)).toMatchObject({ issuer });
    expect(m2mRule(s).jwksUri).toBeUndefined();
    expect(find(s, 'Deployment', 'cluster-jwks-proxy')).toBeUndefined();
    expect(validate(s)).toEqual([]);
  });

  test('an explicit key URL wins; disabled means no RequestAuthentication for ServiceAccount tokens', () => {
    const explicit = build({ mode: 'dex', dex: USERS, machineTokens: { jwksUri: 'https://keys.example.com/jwks', cidrs: ['203.0.113.7/32'] } });
    expect(m2mRule(explicit.s).jwksUri).toBe('https://keys.example.com/jwks');
    expect(find(explicit.s, 'Deployment', 'cluster-jwks-proxy')).toBeUndefined();
    const off = build({ mode: 'dex', dex: USERS, machineTokens: { enabled: false } });
    expect(find(off.s, 'RequestAuthentication', 'm2m-token-issuer')).toBeUndefined();
    expect(find(off.s, 'Deployment', 'cluster-jwks-proxy')).toBeUndefined();
    expect(off.auth.machineTokenIssuer).toBeUndefined();
  });

  test('the in-cluster `kubernetes.default.svc` issuer also goes through the proxy', () => {
    const { s } = build({ mode: 'oidc', oidc: OIDC, machineTokens: { issuer: 'https://kubernetes.default.svc' } });
    expect(m2mRule(s).jwksUri).toBe('http://cluster-jwks-proxy.oauth2-proxy.svc.cluster.local/openid/v1/jwks');
  });
});

describe('istiod fetches the keys of issuers outside the cluster', () => {
  const egress = (s: Synthesized): unknown => spec(get(s, 'NetworkPolicy', 'istiod-to-token-issuers', 'istio-system')).egress;

  test('mode oidc: istiod → the provider (HTTPS) when kfkit manages the mesh', () => {
    expect(egress(build({ mode: 'oidc', oidc: OIDC }).s)).toEqual([{ to: [{ ipBlock: { cidr: '203.0.113.10/32' } }], ports: [{ port: 443, protocol: 'TCP' }] }]);
    const external = build({ mode: 'oidc', oidc: OIDC, gateway: gatewayStub({ mesh: mesh('external') }) }).s;
    expect(find(external, 'NetworkPolicy', 'istiod-to-token-issuers')).toBeUndefined();
  });

  test('mode dex with in-cluster keys only: no egress to outside; a public ServiceAccount issuer adds it', () => {
    expect(find(build({ mode: 'dex', dex: USERS }).s, 'NetworkPolicy', 'istiod-to-token-issuers')).toBeUndefined();
    const keys = { issuer: 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC', jwksUri: 'http://keys.internal:8080/jwks' };
    const eks = build({ mode: 'dex', dex: USERS, machineTokens: { ...keys, cidrs: ['10.1.2.3/32'] } }).s;
    expect(egress(eks)).toEqual([{ to: [{ ipBlock: { cidr: '10.1.2.3/32' } }], ports: [{ port: 8080, protocol: 'TCP' }] }]);
    // Keys outside the cluster and no addresses: refused, naming the field, never opened to every address.
    expect(() => build({ mode: 'dex', dex: USERS, machineTokens: keys })).toThrow(/machineTokens\.cidrs is required: istiod fetches the signing keys of http:\/\/keys\.internal:8080\/jwks/);
  });
});

describe('an Istio the cluster admins installed', () => {
  const { s } = build({ mode: 'dex', dex: USERS, gateway: gatewayStub({ mesh: mesh('external') }) });

  test('no policy on their istiod (it would isolate it); Dex and the JWKS proxy still admit it, and the gateway', () => {
    expect(validate(s)).toEqual([]);
    expect(names(s, 'NetworkPolicy').filter((n) => n.startsWith('istio-system/istiod'))).toEqual([]);
    expect(find(s, 'NetworkPolicy', 'cluster-jwks-proxy-from-istiod', 'oauth2-proxy')).toBeDefined();
    expect(find(s, 'NetworkPolicy', 'dex-from-istio-ingressgateway', 'auth')).toBeDefined();
    const dexFromIstiod = spec(get(s, 'NetworkPolicy', 'dex-from-istiod', 'auth'));
    expect(dexFromIstiod.ingress).toEqual([{
      from: [{ podSelector: { matchLabels: { app: 'istiod' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } } }],
      ports: [{ port: 5556, protocol: 'TCP' }],
    }]);
    expect(find(s, 'NetworkPolicy', 'oauth2-proxy-from-istio-ingressgateway', 'oauth2-proxy')).toBeDefined();
  });
});

describe('props errors say what to change', () => {
  test.each<[string, AuthInput, RegExp]>([
    ['mode dex without users or connectors', { mode: 'dex' }, /mode dex needs at least one dex\.staticUsers entry or one dex\.connectors entry/],
    ['mode oidc without the provider', { mode: 'oidc' }, /mode oidc needs oidc: issuerUrl, clientId and clientSecret/],
    ['oidc without clientSecret', { mode: 'oidc', oidc: { issuerUrl: OIDC.issuerUrl, clientId: 'kubeflow' } as unknown as typeof OIDC }, /oidc\.clientSecret is required/],
    ['oidc client secret named like the generated cookie Secret', { mode: 'oidc', oidc: { ...OIDC, clientSecret: { name: 'oauth2-proxy-cookie', key: 'x' } } }, /generates for the cookie; use another name/],
    ['oidc issuer over http', { mode: 'oidc', oidc: { ...OIDC, issuerUrl: 'http://login.example.com' } }, /oidc\.issuerUrl "http:\/\/login\.example\.com" must be an https:\/\/ URL/],
    ['scopes without openid', { mode: 'oidc', oidc: { ...OIDC, scopes: ['email'] } }, /oidc\.scopes must include openid/],
    ['oidc without the provider\'s addresses', { mode: 'oidc', oidc: { ...OIDC, cidrs: [] } }, /oidc\.cidrs is empty: give the IPv4 blocks/],
    ['a connector without addresses', { mode: 'dex', dex: { connectors: [{ ...CONNECTORS.connectors[0], cidrs: [] }] } }, /dex\.connectors\[0\]\.cidrs is empty/],
    ['a connector address that is not a block', { mode: 'dex', dex: { connectors: [{ ...CONNECTORS.connectors[1], cidrs: ['10.20.0.5'] }] } },
      /dex\.connectors\[0\]\.cidrs 10\.20\.0\.5: must be an IPv4 CIDR block/],
    ['oidc settings in mode dex', { mode: 'dex', dex: USERS, oidc: OIDC }, /oidc applies only with mode oidc/],
    ['dex settings in mode oidc', { mode: 'oidc', oidc: OIDC, dex: USERS }, /dex applies only with mode dex/],
    ['an unknown mode', { mode: 'ldap' as 'dex' }, /mode must be dex or oidc \(got "ldap"\)/],
    ['a user id prefix', { mode: 'dex', dex: USERS, userHeaders: { userId: 'kubeflow-userid', userIdPrefix: 'accounts:', groups: 'kubeflow-groups' } }, /cannot add a prefix; leave it empty/],
    ['one header for user and groups', { mode: 'dex', dex: USERS, userHeaders: { userId: 'x-user', userIdPrefix: '', groups: 'x-user' } }, /need different headers/],
    ['headers other than the gateway\'s', {
      mode: 'dex', dex: USERS, userHeaders: { userId: 'x-user', userIdPrefix: '', groups: 'x-groups' },
      gateway: gatewayStub({ userHeaders: { userId: 'kubeflow-userid', userIdPrefix: '', groups: 'kubeflow-groups' } }),
    }, /differ from the gateway's/],
    ['a wildcard gateway host', { mode: 'dex', dex: USERS, gateway: gatewayStub({ host: '*.example.com', url: 'https://*.example.com' }) }, /is a wildcard; login needs one host name/],
    ['a user listed twice', { mode: 'dex', dex: { staticUsers: [...USERS.staticUsers, { email: 'User@example.com', hashSecret: { name: 'u', key: 'k' } }] } }, /User@example\.com is listed twice/],
    ['not an e-mail', { mode: 'dex', dex: { staticUsers: [{ email: 'user', hashSecret: { name: 'u', key: 'k' } }] } }, /email "user" must be an e-mail address/],
    ['a bad Secret key', { mode: 'dex', dex: { staticUsers: [{ email: 'a@b.io', hashSecret: { name: 'u', key: 'a/b' } }] } }, /hashSecret\.key "a\/b" must be a Secret key/],
    ['a connector id used twice', { mode: 'dex', dex: { connectors: [CONNECTORS.connectors[0], CONNECTORS.connectors[0]] } }, /id github is used twice/],
    ['a connector id that is not a DNS label', { mode: 'dex', dex: { connectors: [{ ...CONNECTORS.connectors[0], id: 'Git_Hub' }] } }, /id "Git_Hub" must be a DNS label/],
    ['an unknown connector type', { mode: 'dex', dex: { connectors: [{ ...CONNECTORS.connectors[0], type: 'keystone' as 'oidc' }] } }, /type "keystone" is not a connector kfkit configures/],
    ['Dex and oauth2-proxy in one namespace', { mode: 'dex', dex: { ...USERS, namespace: 'auth' }, oauth2ProxyNamespace: 'auth' }, /need namespaces of their own/],
    ['no oauth2-proxy replica', { mode: 'dex', dex: USERS, oauth2ProxyReplicas: 0 }, /oauth2ProxyReplicas must be a whole number >= 1 \(got 0\)/],
    ['a public path without /', { mode: 'dex', dex: USERS, publicPaths: ['healthz'] }, /publicPaths: "healthz" must start with \//],
    ['a machine-token issuer over http', { mode: 'dex', dex: USERS, machineTokens: { issuer: 'http://kubernetes.default.svc' } }, /machineTokens\.issuer .* must be an https:\/\/ URL/],
    ['the users\' issuer as machine-token issuer', { mode: 'oidc', oidc: OIDC, machineTokens: { issuer: OIDC.issuerUrl } }, /is the users' issuer/],
    ['a key URL that is not http(s)', { mode: 'dex', dex: USERS, machineTokens: { jwksUri: 'ftp://keys' } }, /machineTokens\.jwksUri "ftp:\/\/keys" must be an http\(s\):\/\/ URL/],
    ['a bad oauth2-proxy namespace', { mode: 'dex', dex: USERS, oauth2ProxyNamespace: 'Bad_NS' }, /oauth2ProxyNamespace "Bad_NS" must be a DNS label/],
    ['a bad Dex namespace', { mode: 'dex', dex: { ...USERS, namespace: 'Auth' } }, /dex\.namespace "Auth" must be a DNS label/],
    ['a bad Secret name', { mode: 'oidc', oidc: { ...OIDC, clientSecret: { name: 'My_Secret', key: 'k' } } }, /oidc\.clientSecret\.name "My_Secret" must be a Secret name/],
    ['an empty client id', { mode: 'oidc', oidc: { ...OIDC, clientId: ' ' } }, /oidc\.clientId is required/],
    ['a claim with a space', { mode: 'oidc', oidc: { ...OIDC, groupsClaim: 'my groups' } }, /oidc: "my groups" is not a claim name/],
    ['a scope with a space', { mode: 'oidc', oidc: { ...OIDC, scopes: ['openid', 'a b'] } }, /oidc\.scopes: "a b" is not an OAuth scope/],
    ['an empty username', { mode: 'dex', dex: { staticUsers: [{ ...USERS.staticUsers[0], username: ' ' }] } }, /staticUsers\[0\]\.username must be a name/],
    ['an empty connector name', { mode: 'dex', dex: { connectors: [{ ...CONNECTORS.connectors[0], name: '' }] } }, /connectors\[0\]\.name must be the name shown on the login page/],
  ])('%s', (_, props, message) => {
    expect(attempt(props)).toThrow(message);
  });
});

describe('configuration rules for authentication (mesh-schema)', () => {
  const base = { istio: { mode: 'managed' }, certManager: { mode: 'managed' } };
  const dex = { mode: 'dex', dex: { staticUsers: [{ email: 'user@example.com', hashSecret: { name: 'dex-users', key: 'user' } }] } };

  test('a user-id prefix cannot be written by the gateway', () => {
    expect(configIssuePaths(() => localConfig({ ...base, auth: { ...dex, userHeaders: { userIdPrefix: 'accounts:' } } }))).toContain('auth.userHeaders.userIdPrefix');
  });

  test('login needs a single host name', () => {
    expect(configIssuePaths(() => localConfig({ ...base, gateway: { host: '*.example.com' }, auth: dex }))).toContain('gateway.host');
  });
});

describe('GeneratedSecret shared across namespaces', () => {
  const make = (sharedWith: { name: string; namespace?: string; keys: Record<string, string> }[]) => () => {
    const chart = new Chart(new App(), 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    new GeneratedSecret(chart, 'S', { name: 'a', namespace: 'one', identity: { name: 'a', component: 'x' }, keys: { v: { randomBytes: 16 } }, sharedWith });
    return collect(chart);
  };

  test('the same name in another namespace is another Secret; twice in one namespace is refused', () => {
    expect(make([{ name: 'a', namespace: 'two', keys: { w: 'v' } }])).not.toThrow();
    expect(make([{ name: 'b', namespace: 'two', keys: { w: 'v' } }, { name: 'b', namespace: 'two', keys: { x: 'v' } }])).toThrow(/Secret "two\/b" is named twice/);
    expect(make([{ name: 'a', namespace: 'one', keys: { w: 'v' } }])).toThrow(/Secret "one\/a" is named twice/);
  });
});

/** Runs a generator Job's program against a fake API server holding `existing` Secrets (`namespace/name` → key → value). */
interface GeneratorRun { store: Record<string, Record<string, string>>; created: string[] }
function runGenerator(job: PlacedObject, existing: Record<string, Record<string, string>>): GeneratorRun {
  const c = spec(job).template.spec.containers[0];
  const harness = `
import base64, builtins, io, json, os, ssl, sys, urllib.error, urllib.request
program, store, argv = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
created = []
class Response:
    def __init__(self, body): self.body = body
    def read(self): return json.dumps(self.body).encode()
def urlopen(req, context=None, timeout=None):
    parts = req.full_url.split('/namespaces/', 1)[1].split('/')
    if req.get_method() == 'GET':
        key = parts[0] + '/' + parts[2]
        if key not in store: raise urllib.error.HTTPError(req.full_url, 404, 'not found', {}, io.BytesIO(b'{}'))
        return Response({'data': {k: base64.b64encode(v.encode()).decode() for k, v in store[key].items()}})
    body = json.loads(req.data)
    key = parts[0] + '/' + body['metadata']['name']
    assert body['metadata']['namespace'] == parts[0]
    if key in store: raise urllib.error.HTTPError(req.full_url, 409, 'exists', {}, io.BytesIO(b'{}'))
    store[key] = body['stringData']
    created.append(key)
    return Response(body)
urllib.request.urlopen = urlopen
ssl.create_default_context = lambda cafile=None: None
real_open = builtins.open
builtins.open = lambda path, *a, **k: io.StringIO('token') if str(path).endswith('/token') else real_open(path, *a, **k)
os.environ.update(KUBERNETES_SERVICE_HOST='api', KUBERNETES_SERVICE_PORT='443')
sys.argv = ['generate'] + argv
exec(program, {'__name__': '__main__'})
print(json.dumps({'store': store, 'created': created}))
`;
  const result = spawnSync('python3', ['-c', harness, c.command[2], JSON.stringify(existing), JSON.stringify(c.args)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`generator failed: ${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as GeneratorRun;
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

(hasPython ? describe : describe.skip)('the client secret oauth2-proxy and Dex share (needs python3)', () => {
  const { s } = build({ mode: 'dex', dex: USERS });
  const job = get(s, 'Job', /^oauth2-proxy-generator-/);

  test('first install: both Secrets, in their namespaces, carry one client secret', () => {
    const r = runGenerator(job, {});
    expect(r.created).toEqual(['oauth2-proxy/oauth2-proxy', 'auth/dex-oidc-client']);
    const proxy = r.store['oauth2-proxy/oauth2-proxy'];
    expect(proxy['client-id']).toBe('kubeflow-oidc-authservice');
    expect(proxy['client-secret'].length).toBeGreaterThanOrEqual(43);
    expect(proxy['cookie-secret'].length).toBe(43);
    expect(r.store['auth/dex-oidc-client']).toEqual({ OIDC_CLIENT_ID: 'kubeflow-oidc-authservice', OIDC_CLIENT_SECRET: proxy['client-secret'] });
  });

  test('Dex\'s copy lost: it is made again from oauth2-proxy\'s', () => {
    const kept = { 'client-id': 'kubeflow-oidc-authservice', 'client-secret': 'kept', 'cookie-secret': 'c' };
    const r = runGenerator(job, { 'oauth2-proxy/oauth2-proxy': kept });
    expect(r.created).toEqual(['auth/dex-oidc-client']);
    expect(r.store['auth/dex-oidc-client'].OIDC_CLIENT_SECRET).toBe('kept');
  });
});
