import { ApiObject, App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { ManagedCertManager } from '../lib/components/cert-manager';
import { exposeWebApp, ExposeWebAppProps, GatewayTls, KubeflowGateway, KubeflowGatewayProps, WebAppBackend } from '../lib/components/gateway';
import { IstioMesh, IstioMeshProps } from '../lib/components/istio';
import { CertManagerRef, declareExternalCertManager } from '../lib/core/cert-manager';
import { KfkitContext } from '../lib/core/context';
import { ImageCatalog } from '../lib/core/images';
import { ISTIO_NETWORKING_API, ISTIO_SECURITY_API } from '../lib/core/mesh';
import { PlatformNamespace } from '../lib/core/namespace';
import { allowTraffic } from '../lib/core/network';
import { clusterIpService, deployment, servicePort } from '../lib/core/workload';
import { applyPlan } from '../lib/synth/apply';
import { collect, Synthesized } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { checkImageTags } from '../lib/validate/images';
import { checkGatewayAuthorization, checkGatewayHosts } from '../lib/validate/mesh';
import { Finding, K8sObject, PlacedObject } from '../lib/validate/types';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------------------

const HOST = 'kubeflow.example.com';
const CERT_MANAGER: CertManagerRef = {};

interface BuildOptions {
  readonly tls?: GatewayTls;
  readonly mesh?: IstioMeshProps;
  /** `null`: no cert-manager at all; `managed`: kfkit's chart. @default - external cert-manager */
  readonly certManager?: CertManagerRef | null | 'managed';
  readonly gateway?: Partial<KubeflowGatewayProps>;
  /** Expose the demo app (default true). */
  readonly expose?: Partial<ExposeWebAppProps> | false;
  readonly extra?: (chart: Chart, gateway: KubeflowGateway, app: WebAppBackend) => void;
}

interface Built {
  readonly s: Synthesized;
  readonly gateway: KubeflowGateway;
  readonly chart: Chart;
}

/** A web app in `kubeflow`: ServiceAccount-less Deployment `demo-ui` (port 3000) behind Service `demo-ui` (80). */
function demoApp(scope: Construct): WebAppBackend {
  const app = new Construct(scope, 'DemoApp');
  const identity = { name: 'demo-ui', component: 'demo' };
  deployment(app, {
    namespace: 'kubeflow', identity,
    pod: { serviceAccountName: 'default', containers: [{ name: 'ui', image: 'example.com/demo-ui:1.0', ports: [{ containerPort: 3000 }], resources: {
      cpu: { request: '10m' }, memory: { request: '32Mi', limit: '64Mi' },
    } }] },
  });
  clusterIpService(app, { name: 'demo-ui', namespace: 'kubeflow', identity, ports: [servicePort('http', 80, 3000)] });
  return {
    serviceName: 'demo-ui', servicePort: 80, podPort: 3000,
    peer: { peerName: 'demo-ui', namespace: 'kubeflow', podLabels: { 'app.kubernetes.io/component': 'demo', 'app.kubernetes.io/name': 'demo-ui' } },
  };
}

function build(options: BuildOptions = {}): Built {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  let certManager: CertManagerRef | undefined = CERT_MANAGER;
  if (options.certManager === null) certManager = undefined;
  else if (options.certManager === 'managed') certManager = new ManagedCertManager(chart, 'CertManager', { acmeCidrs: options.tls?.type === 'acme' ? ['198.51.100.0/24'] : undefined });
  else {
    declareExternalCertManager(ctx, '1.19');
    certManager = options.certManager ?? CERT_MANAGER;
  }
  const mesh = new IstioMesh(chart, 'Mesh', options.mesh ?? { mode: 'external' });
  const kubeflow = new PlatformNamespace(chart, 'Kubeflow', { name: 'kubeflow' });
  mesh.enrol(kubeflow);
  const gateway = new KubeflowGateway(chart, 'Gateway', {
    mesh, host: HOST, tls: options.tls ?? { type: 'self-signed' }, certManager, ...options.gateway,
  });
  const backend = demoApp(chart);
  if (options.expose !== false) gateway.expose(chart, 'DemoRoute', { name: 'demo-ui', prefix: '/demo', backend, ...options.expose });
  options.extra?.(chart, gateway, backend);
  return { s: collect(chart), gateway, chart };
}

const harness = (s: Synthesized): Finding[] => validate({ objects: s.objects, externalApis: s.externalApis, externalObjects: s.externalObjects });

function find(s: Synthesized, kind: string, name: string, namespace?: string): PlacedObject | undefined {
  return s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name
    && (namespace === undefined || o.manifest.metadata.namespace === namespace));
}

function get(s: Synthesized, kind: string, name: string, namespace?: string): PlacedObject {
  const found = find(s, kind, name, namespace);
  if (!found) throw new Error(`no ${kind} ${namespace ?? '*'}/${name}; have ${s.objects.map((o) => `${o.manifest.kind}/${o.manifest.metadata.name}`).join(', ')}`);
  return found;
}

type Spec = Record<string, unknown>;
const spec = (p: PlacedObject): Spec => (p.manifest as K8sObject & { spec: Spec }).spec;
const ofGroup = (s: Synthesized, group: string): PlacedObject[] => s.objects.filter((o) => o.manifest.apiVersion.startsWith(`${group}/`));
const ids = (list: readonly PlacedObject[]): string[] => list.map((o) => `${o.manifest.kind}/${o.manifest.metadata.namespace ?? ''}/${o.manifest.metadata.name}`).sort();
const rules = (findings: readonly Finding[]): string[] => findings.map((f) => `${f.rule} ${f.object} ${f.path ?? ''}`);

interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  securityContext: Record<string, unknown>;
  containers: { name: string; image: string; ports: { containerPort: number }[]; securityContext: Record<string, unknown>; resources: unknown }[];
}
interface DeploymentSpec {
  replicas: number;
  selector: { matchLabels: Record<string, string> };
  template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: PodSpec };
}

// ---------------------------------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------------------------------

describe('KubeflowGateway: self-signed TLS', () => {
  const { s, gateway } = build();

  test('validates clean (harness: openapi, crd, references, waves, image-tag, gateway-authz)', () => {
    expect(harness(s)).toEqual([]);
  });

  test('the kfkit CA chain in the ingress gateway\'s namespace: self-signed Issuer → CA Certificate → CA Issuer → gateway Certificate', () => {
    expect(spec(get(s, 'Issuer', 'kubeflow-gateway-selfsigned', 'istio-system'))).toEqual({ selfSigned: {} });
    expect(spec(get(s, 'Certificate', 'kubeflow-gateway-ca', 'istio-system'))).toEqual({
      commonName: 'Kubeflow gateway CA (kfkit)', isCA: true, secretName: 'kubeflow-gateway-ca',
      issuerRef: { kind: 'Issuer', name: 'kubeflow-gateway-selfsigned' },
    });
    expect(spec(get(s, 'Issuer', 'kubeflow-gateway-ca', 'istio-system'))).toEqual({ ca: { secretName: 'kubeflow-gateway-ca' } });
    expect(spec(get(s, 'Certificate', 'kubeflow-gateway', 'istio-system'))).toEqual({
      dnsNames: [HOST], secretName: 'kubeflow-gateway-tls', issuerRef: { kind: 'Issuer', name: 'kubeflow-gateway-ca' },
    });
    expect(gateway.caSecretName).toBe('kubeflow-gateway-ca');
    expect(gateway.tlsSecretName).toBe('kubeflow-gateway-tls');
  });

  test('issuers and certificates are in the certificates wave, before the ingress gateway Deployment; apply waits for Ready first', () => {
    const tls = ofGroup(s, 'cert-manager.io');
    expect(tls).toHaveLength(4);
    expect(new Set(tls.map((o) => o.waveName))).toEqual(new Set(['certificates']));
    const cert = get(s, 'Certificate', 'kubeflow-gateway');
    const ingress = get(s, 'Deployment', 'istio-ingressgateway');
    expect(ingress.waveName).toBe('controllers');
    expect(cert.wave).toBeLessThan(ingress.wave);
    const steps = applyPlan(s.waves, { dir: 'dist/local', timeoutSeconds: 300 }).map((x) => x.description);
    const ready = steps.findIndex((d) => /wait for Ready of Certificate istio-system\/kubeflow-gateway$/.test(d));
    const caReady = steps.findIndex((d) => /wait for Ready of Issuer istio-system\/kubeflow-gateway-ca$/.test(d));
    const rollout = steps.findIndex((d) => /wait for rollout of Deployment istio-system\/istio-ingressgateway$/.test(d));
    expect(ready).toBeGreaterThan(-1);
    expect(caReady).toBeGreaterThan(-1);
    expect(rollout).toBeGreaterThan(ready);
  });

  test('with managed cert-manager, the certificates come after cert-manager\'s chart', () => {
    const t = build({ certManager: 'managed' }).s;
    const chartWave = t.waves.find((w) => w.name === 'cert-manager');
    const certWave = t.waves.find((w) => w.name === 'certificates');
    expect(chartWave && certWave && chartWave.index < certWave.index).toBe(true);
    expect(harness(t)).toEqual([]);
  });

  test('a configured ClusterIssuer (a corporate CA) signs the gateway certificate; kfkit creates no CA', () => {
    const t = build({ certManager: { issuer: { kind: 'ClusterIssuer', name: 'corp-ca' } } });
    expect(ids(ofGroup(t.s, 'cert-manager.io'))).toEqual(['Certificate/istio-system/kubeflow-gateway']);
    expect(spec(get(t.s, 'Certificate', 'kubeflow-gateway')).issuerRef).toEqual({ kind: 'ClusterIssuer', name: 'corp-ca' });
    expect(t.gateway.caSecretName).toBeUndefined();
    expect(harness(t.s)).toEqual([]);
  });

  test('a namespaced configured Issuer cannot sign in the mesh namespace: the kfkit CA is used', () => {
    const t = build({ certManager: { issuer: { kind: 'Issuer', name: 'platform-ca' } } });
    expect(spec(get(t.s, 'Certificate', 'kubeflow-gateway')).issuerRef).toEqual({ kind: 'Issuer', name: 'kubeflow-gateway-ca' });
  });
});

describe('KubeflowGateway: ACME TLS', () => {
  const tls: GatewayTls = { type: 'acme', email: 'ops@example.com' };
  const { s } = build({ tls });

  test('validates clean', () => {
    expect(harness(s)).toEqual([]);
  });

  test('a ClusterIssuer with an HTTP-01 solver through Istio\'s Ingress support (class istio, ClusterIP solver Service)', () => {
    const issuer = get(s, 'ClusterIssuer', 'kubeflow-gateway-acme');
    expect(issuer.manifest.metadata.namespace).toBeUndefined();
    expect(spec(issuer)).toEqual({
      acme: {
        email: 'ops@example.com',
        server: 'https://acme-v02.api.letsencrypt.org/directory',
        privateKeySecretRef: { name: 'kubeflow-gateway-acme-account' },
        solvers: [{ http01: { ingress: { class: 'istio', serviceType: 'ClusterIP' } } }],
      },
    });
    expect(issuer.waveName).toBe('certificates');
    const staging = build({ tls: { ...tls, server: 'https://acme-staging-v02.api.letsencrypt.org/directory' } }).s;
    expect(getSpecServer(staging)).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
  });

  test('the Certificate is issued once the gateway serves (resources wave), not awaited, with a temporary certificate meanwhile', () => {
    const cert = get(s, 'Certificate', 'kubeflow-gateway', 'istio-system');
    expect(spec(cert)).toEqual({ dnsNames: [HOST], secretName: 'kubeflow-gateway-tls', issuerRef: { kind: 'ClusterIssuer', name: 'kubeflow-gateway-acme' } });
    expect(cert.manifest.metadata.annotations?.['cert-manager.io/issue-temporary-certificate']).toBe('true');
    expect(cert.waveName).toBe('resources');
    expect(cert.wave).toBeGreaterThan(get(s, 'Deployment', 'istio-ingressgateway').wave);
    expect(s.waves.flatMap((w) => w.waits).filter((w) => w.kind === 'Certificate')).toEqual([]);
  });

  test('managed mesh (default-deny namespace): the ingress gateway may reach cert-manager\'s solver pods on 8089', () => {
    const managed = build({ tls, mesh: { mode: 'managed' } }).s;
    expect(harness(managed)).toEqual([]);
    const egress = spec(get(managed, 'NetworkPolicy', 'istio-ingressgateway-to-acme-http01-solver', 'istio-system'));
    expect(egress.egress).toEqual([{
      to: [{ podSelector: { matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } } }], ports: [{ port: 8089, protocol: 'TCP' }],
    }]);
    expect(find(managed, 'NetworkPolicy', 'acme-http01-solver-from-istio-ingressgateway', 'istio-system')).toBeDefined();
    expect(find(build({ mesh: { mode: 'managed' } }).s, 'NetworkPolicy', 'istio-ingressgateway-to-acme-http01-solver')).toBeUndefined();
  });

  test('image pull Secrets of the catalog reach the solver pods', () => {
    const app = new App();
    const chart = new Chart(app, 't', { disableResourceNameHashes: true });
    const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'], images: new ImageCatalog({ pullSecrets: ['regcred'] }) });
    declareExternalCertManager(ctx, '1.19');
    const mesh = new IstioMesh(chart, 'Mesh', { mode: 'external' });
    new KubeflowGateway(chart, 'Gateway', { mesh, host: HOST, tls, certManager: {} });
    const solver = (spec(get(collect(chart), 'ClusterIssuer', 'kubeflow-gateway-acme')).acme as { solvers: { http01: { ingress: Spec } }[] }).solvers[0];
    expect(solver.http01.ingress.podTemplate).toEqual({ spec: { imagePullSecrets: [{ name: 'regcred' }] } });
  });
});

function getSpecServer(s: Synthesized): unknown {
  return (spec(get(s, 'ClusterIssuer', 'kubeflow-gateway-acme')).acme as Spec).server;
}

describe('KubeflowGateway: TLS from an existing Secret', () => {
  const { s, gateway } = build({ tls: { type: 'secret', secretName: 'kubeflow-tls' }, certManager: null });

  test('validates clean without cert-manager', () => {
    expect(harness(s)).toEqual([]);
    expect(ofGroup(s, 'cert-manager.io')).toEqual([]);
  });

  test('the Secret is declared external in the ingress gateway\'s namespace and served by the Gateway', () => {
    expect(s.externalObjects).toContainEqual(expect.objectContaining({ kind: 'Secret', name: 'kubeflow-tls', namespace: 'istio-system' }));
    expect(gateway.tlsSecretName).toBe('kubeflow-tls');
    const servers = spec(get(s, 'Gateway', 'kubeflow-gateway')).servers as Spec[];
    expect(servers[1].tls).toEqual({ mode: 'SIMPLE', credentialName: 'kubeflow-tls' });
  });
});

describe('KubeflowGateway: validation', () => {
  const make = (props: Partial<KubeflowGatewayProps>, certManager: CertManagerRef | null = {}) => () => {
    const chart = new Chart(new App(), 't');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const mesh = new IstioMesh(chart, 'Mesh', { mode: 'external' });
    new KubeflowGateway(chart, 'Gateway', { mesh, host: HOST, tls: { type: 'self-signed' }, certManager: certManager ?? undefined, ...props });
  };

  test('self-signed and acme need cert-manager', () => {
    expect(make({}, null)).toThrow(/tls self-signed certificates are issued by cert-manager: pass certManager/);
    expect(make({ tls: { type: 'acme', email: 'a@example.com' } }, null)).toThrow(/tls acme certificates are issued by cert-manager/);
    expect(make({ tls: { type: 'secret', secretName: 'x' } }, null)).not.toThrow();
  });

  test.each([
    ['https://kubeflow.example.com'], ['kubeflow.example.com:443'], ['Kubeflow.Example.com'], ['kubeflow..example.com'], [''],
    ['-kubeflow.example.com'], ['kubeflow.example.com/path'], [`${'a'.repeat(64)}.example.com`], ['*.*.example.com'],
  ])('bad host %p', (host) => {
    expect(make({ host })).toThrow(/host ".*" must be a DNS name/);
  });

  test('good hosts', () => {
    for (const host of ['kubeflow.localtest.me', '*.kubeflow.example.com', 'localhost', 'kf-1.example.com']) expect(make({ host })).not.toThrow();
  });

  test('acme: e-mail, server and wildcard hosts', () => {
    expect(make({ tls: { type: 'acme', email: 'not-an-email' } })).toThrow(/tls.email "not-an-email" must be an e-mail address/);
    expect(make({ tls: { type: 'acme', email: 'a@example.com', server: 'http://acme.example.com/dir' } })).toThrow(/tls.server .* must be the https:\/\//);
    expect(make({ host: '*.example.com', tls: { type: 'acme', email: 'a@example.com' } })).toThrow(/cannot prove a wildcard host/);
  });

  test('secret name, namespace, replicas, service type', () => {
    expect(make({ tls: { type: 'secret', secretName: 'Bad_Name' } })).toThrow(/tls.secretName "Bad_Name" must be a Secret name/);
    expect(make({ namespace: 'Kubeflow' })).toThrow(/namespace "Kubeflow" must be a DNS label/);
    expect(make({ replicas: 0 })).toThrow(/replicas 0 must be a whole number of at least 1/);
    expect(make({ service: { type: 'ExternalName' as 'ClusterIP' } })).toThrow(/service.type "ExternalName" must be one of/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The ingress gateway and the Gateway
// ---------------------------------------------------------------------------------------------------------------

describe('the ingress gateway workload (gateway injection)', () => {
  const { s, gateway } = build({ gateway: { service: { type: 'LoadBalancer', annotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing' } } } });
  const d = spec(get(s, 'Deployment', 'istio-ingressgateway', 'istio-system')) as unknown as DeploymentSpec;
  const pod = d.template.spec;

  test('upstream\'s names and labels; injected by istiod\'s gateway template with image auto', () => {
    expect(d.selector.matchLabels).toEqual({ app: 'istio-ingressgateway', istio: 'ingressgateway' });
    expect(d.template.metadata.labels).toMatchObject({
      'app': 'istio-ingressgateway', 'istio': 'ingressgateway', 'sidecar.istio.io/inject': 'true', 'istio.io/dataplane-mode': 'none',
    });
    expect(d.template.metadata.annotations).toEqual({ 'inject.istio.io/templates': 'gateway' });
    expect(pod.serviceAccountName).toBe('istio-ingressgateway-service-account');
    expect(pod.containers.map((c) => [c.name, c.image])).toEqual([['istio-proxy', 'auto']]);
    expect(pod.containers[0].ports.map((p) => p.containerPort)).toEqual([15021, 8080, 8443]);
    expect(d.replicas).toBe(1);
  });

  test('restricted: non-root 1337, no privilege escalation, read-only root, no ServiceAccount token; requests and limits', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1337, runAsGroup: 1337, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 1337,
    });
    expect(pod.containers[0].resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '2', memory: '1Gi' } });
    expect(JSON.stringify(pod)).not.toMatch(/NET_BIND_SERVICE|privileged": true/);
  });

  test('its ServiceAccount may list Secrets of its namespace (istiod authorizes credentialName with it), nothing more', () => {
    expect(spec(get(s, 'ServiceAccount', 'istio-ingressgateway-service-account', 'istio-system'))).toBeUndefined();
    expect(get(s, 'ServiceAccount', 'istio-ingressgateway-service-account').manifest.automountServiceAccountToken).toBe(false);
    expect(get(s, 'Role', 'istio-ingressgateway-sds', 'istio-system').manifest.rules)
      .toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }]);
    expect(ids(s.objects.filter((o) => ['ClusterRole', 'ClusterRoleBinding'].includes(o.manifest.kind) && /ingressgateway/.test(o.manifest.metadata.name))))
      .toEqual([]);
  });

  test('Service of the configured type with upstream\'s ports; PodDisruptionBudget; allow-all policy at the gateway', () => {
    const service = get(s, 'Service', 'istio-ingressgateway', 'istio-system');
    expect(service.manifest.metadata.annotations).toMatchObject({ 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing' });
    expect(spec(service)).toEqual({
      type: 'LoadBalancer',
      selector: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
      ports: [
        { name: 'status-port', port: 15021, targetPort: 15021, protocol: 'TCP' },
        { name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
      ],
    });
    expect(spec(get(build().s, 'Service', 'istio-ingressgateway')).type).toBe('ClusterIP');
    expect(spec(get(s, 'PodDisruptionBudget', 'istio-ingressgateway', 'istio-system')))
      .toEqual({ maxUnavailable: 1, selector: { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } } });
    expect(spec(get(s, 'AuthorizationPolicy', 'istio-ingressgateway', 'istio-system')))
      .toEqual({ action: 'ALLOW', selector: { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } }, rules: [{}] });
  });

  test('the Gateway kubeflow-gateway: HTTP redirects to HTTPS, HTTPS serves the certificate Secret', () => {
    const gw = get(s, 'Gateway', 'kubeflow-gateway', 'kubeflow');
    expect(gw.manifest.apiVersion).toBe(ISTIO_NETWORKING_API);
    expect(spec(gw)).toEqual({
      selector: { istio: 'ingressgateway' },
      servers: [
        { port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'], tls: { httpsRedirect: true } },
        { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'SIMPLE', credentialName: 'kubeflow-gateway-tls' } },
      ],
    });
    expect(gw.waveName).toBe('resources');
  });

  test('IKubeflowGateway: reference, URL, principal and peer', () => {
    expect(gateway.gatewayRef).toBe('kubeflow/kubeflow-gateway');
    expect(gateway.url).toBe(`https://${HOST}`);
    expect(gateway.ingressPrincipal).toBe('cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
    expect(gateway.ingress).toEqual({ peerName: 'istio-ingressgateway', namespace: 'istio-system', podLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } });
    expect(gateway.serviceHost).toBe('istio-ingressgateway.istio-system.svc.cluster.local');
    const custom = build({ mesh: { mode: 'external', namespace: 'mesh', trustDomain: 'corp.example' }, gateway: { namespace: 'kubeflow' } }).gateway;
    expect(custom.ingressPrincipal).toBe('corp.example/ns/mesh/sa/istio-ingressgateway-service-account');
  });

  test('more replicas, own budget', () => {
    const t = build({ gateway: { replicas: 3, resources: { cpu: { request: '1' }, memory: { request: '1Gi', limit: '2Gi' } } } }).s;
    const dep = spec(get(t, 'Deployment', 'istio-ingressgateway')) as unknown as DeploymentSpec;
    expect(dep.replicas).toBe(3);
    expect(dep.template.spec.containers[0].resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } });
  });
});

describe('the ingress gateway\'s network policies', () => {
  test('managed mesh: from anywhere on 8080, 8443 and 15021 (no `from`: every source); in the isolation wave', () => {
    const { s } = build({ mesh: { mode: 'managed' } });
    const edge = get(s, 'NetworkPolicy', 'istio-ingressgateway-from-anywhere', 'istio-system');
    expect(spec(edge)).toEqual({
      podSelector: { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
      policyTypes: ['Ingress'],
      ingress: [{ ports: [8080, 8443, 15021].map((port) => ({ port, protocol: 'TCP' })) }],
    });
    expect(edge.waveName).toBe('isolation');
  });

  test('managed mesh: both ends of the istiod connection (15012); DNS through the namespace\'s own policy', () => {
    const { s } = build({ mesh: { mode: 'managed' } });
    expect(spec(get(s, 'NetworkPolicy', 'istio-ingressgateway-to-istiod', 'istio-system')).egress)
      .toEqual([{ to: [{ podSelector: { matchLabels: { app: 'istiod' } } }], ports: [{ port: 15012, protocol: 'TCP' }] }]);
    expect(find(s, 'NetworkPolicy', 'istiod-from-istio-ingressgateway', 'istio-system')).toBeDefined();
    expect(find(s, 'NetworkPolicy', 'allow-dns', 'istio-system')).toBeDefined();
  });

  test('external mesh: no NetworkPolicy in the admins\' namespace (it would isolate the gateway); the apps still admit the gateway', () => {
    const { s } = build({ tls: { type: 'acme', email: 'ops@example.com' } });
    expect(harness(s)).toEqual([]);
    expect(s.objects.filter((o) => o.manifest.kind === 'NetworkPolicy' && o.manifest.metadata.namespace === 'istio-system')).toEqual([]);
    expect(find(s, 'NetworkPolicy', 'demo-ui-from-istio-ingressgateway', 'kubeflow')).toBeDefined();
  });
});

describe('KubeflowGateway with kfkit\'s managed Istio', () => {
  test.each([['sidecar'], ['ambient']] as const)('%s dataplane validates clean; the gateway installs after istiod', (dataplane) => {
    const { s } = build({ mesh: { mode: 'managed', dataplane } });
    expect(harness(s)).toEqual([]);
    const mesh = s.waves.find((w) => w.name === 'mesh');
    expect(mesh && mesh.index < get(s, 'Deployment', 'istio-ingressgateway').wave).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Web apps behind the gateway
// ---------------------------------------------------------------------------------------------------------------

describe('exposeWebApp', () => {
  const { s } = build({ expose: { timeout: '300s' } });

  test('a VirtualService in the app\'s namespace bound to the gateway, prefix route to the Service', () => {
    const vs = get(s, 'VirtualService', 'demo-ui', 'kubeflow');
    expect(vs.manifest.apiVersion).toBe(ISTIO_NETWORKING_API);
    expect(spec(vs)).toEqual({
      gateways: ['kubeflow/kubeflow-gateway'],
      hosts: ['*'],
      http: [{
        name: 'demo-ui', match: [{ uri: { prefix: '/demo' } }],
        route: [{ destination: { host: 'demo-ui.kubeflow.svc.cluster.local', port: { number: 80 } } }],
        timeout: '300s',
      }],
    });
    const rewritten = build({ expose: { prefix: '/demo/', rewrite: '/' } }).s;
    expect((spec(get(rewritten, 'VirtualService', 'demo-ui')).http as Spec[])[0]).toMatchObject({ rewrite: { uri: '/' } });
  });

  test('an AuthorizationPolicy allowing the ingress gateway\'s principal to the app\'s pods', () => {
    const ap = get(s, 'AuthorizationPolicy', 'demo-ui', 'kubeflow');
    expect(ap.manifest.apiVersion).toBe(ISTIO_SECURITY_API);
    expect(spec(ap)).toEqual({
      action: 'ALLOW',
      selector: { matchLabels: { 'app.kubernetes.io/component': 'demo', 'app.kubernetes.io/name': 'demo-ui' } },
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] } }] }],
    });
  });

  const fromGateway = [{
    from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } }, podSelector: { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } } }],
    ports: [{ port: 3000, protocol: 'TCP' }],
  }];

  test('NetworkPolicies ingress gateway → app pod port: the app\'s end with an external mesh, both ends with a managed one', () => {
    expect(spec(get(s, 'NetworkPolicy', 'demo-ui-from-istio-ingressgateway', 'kubeflow')).ingress).toEqual(fromGateway);
    expect(find(s, 'NetworkPolicy', 'istio-ingressgateway-to-demo-ui')).toBeUndefined();
    const managed = build({ mesh: { mode: 'managed' } }).s;
    expect(spec(get(managed, 'NetworkPolicy', 'demo-ui-from-istio-ingressgateway', 'kubeflow')).ingress).toEqual(fromGateway);
    expect(spec(get(managed, 'NetworkPolicy', 'istio-ingressgateway-to-demo-ui', 'istio-system')).egress)
      .toEqual([expect.objectContaining({ ports: [{ port: 3000, protocol: 'TCP' }] })]);
  });

  test('ambient: HBONE (15008) too, the tunnel the gateway reaches ambient pods through', () => {
    const hbone = [{ port: 3000, protocol: 'TCP' }, { port: 15008, protocol: 'TCP' }];
    const external = build({ mesh: { mode: 'external', dataplane: 'ambient' } }).s;
    expect((spec(get(external, 'NetworkPolicy', 'demo-ui-from-istio-ingressgateway')).ingress as { ports: unknown }[])[0].ports).toEqual(hbone);
    const managed = build({ mesh: { mode: 'managed', dataplane: 'ambient' } }).s;
    expect((spec(get(managed, 'NetworkPolicy', 'istio-ingressgateway-to-demo-ui')).egress as { ports: unknown }[])[0].ports).toEqual(hbone);
  });

  test('the exported function works on any IKubeflowGateway', () => {
    const t = build({ expose: false, extra: (chart, gateway, backend) => exposeWebApp(chart, 'Fn', gateway, { name: 'demo', prefix: '/d', backend }) }).s;
    expect(find(t, 'VirtualService', 'demo', 'kubeflow')).toBeDefined();
    expect(harness(t)).toEqual([]);
  });

  test('validation errors', () => {
    const tryExpose = (props: Partial<ExposeWebAppProps>, backend: Partial<WebAppBackend> = {}) => () => build({
      expose: false,
      extra: (chart, gateway, app) => gateway.expose(chart, 'X', { name: 'x', prefix: '/x', backend: { ...app, ...backend }, ...props }),
    });
    expect(tryExpose({ name: 'X_ui' })).toThrow(/name must be a DNS label/);
    expect(tryExpose({ prefix: 'pipeline' })).toThrow(/prefix "pipeline" must be a URL path starting with \//);
    expect(tryExpose({ rewrite: 'x y' })).toThrow(/rewrite "x y"/);
    expect(tryExpose({ timeout: '5 minutes' })).toThrow(/timeout "5 minutes" must be a duration/);
    expect(tryExpose({}, { servicePort: 0 })).toThrow(/backend.servicePort 0 must be a port number/);
    expect(tryExpose({}, { podPort: 70000 })).toThrow(/backend.podPort 70000/);
    expect(tryExpose({}, { peer: { peerName: 'x', namespace: 'kubeflow', podLabels: {} } })).toThrow(/no pod labels/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Harness rules: gateway-authz (every web app behind the gateway has an AuthorizationPolicy) and image-tag
// ---------------------------------------------------------------------------------------------------------------

/** A VirtualService bound to kubeflow-gateway routing to `host`, added by hand (no policy). */
function bareRoute(chart: Chart, id: string, host: string, gateways: string[] = ['kubeflow/kubeflow-gateway']): ApiObject {
  return new ApiObject(chart, id, {
    apiVersion: ISTIO_NETWORKING_API, kind: 'VirtualService', metadata: { name: id.toLowerCase(), namespace: 'kubeflow' },
    spec: { gateways, hosts: ['*'], http: [{ route: [{ destination: { host, port: { number: 80 } } }] }] },
  });
}

function policy(chart: Chart, id: string, spec: Spec, namespace = 'kubeflow'): ApiObject {
  return new ApiObject(chart, id, { apiVersion: ISTIO_SECURITY_API, kind: 'AuthorizationPolicy', metadata: { name: id.toLowerCase(), namespace }, spec });
}

describe('harness rule gateway-authz', () => {
  const authz = (s: Synthesized) => checkGatewayAuthorization({ objects: s.objects });

  test('a web app behind the gateway without an AuthorizationPolicy is a finding (also through validate())', () => {
    const { s } = build({ expose: false, extra: (chart) => bareRoute(chart, 'Bare', 'demo-ui.kubeflow.svc.cluster.local') });
    expect(authz(s)).toEqual([{
      rule: 'gateway-authz', object: 'VirtualService/kubeflow/bare', path: 'spec.http[0].route[0].destination.host',
      message: expect.stringMatching(/^Service kubeflow\/demo-ui, behind gateway kubeflow\/kubeflow-gateway, has no ALLOW AuthorizationPolicy selecting its pods/) as unknown,
    }]);
    expect(rules(harness(s))).toEqual(['gateway-authz VirtualService/kubeflow/bare spec.http[0].route[0].destination.host']);
  });

  test('every route exposeWebApp writes has its policy', () => {
    expect(authz(build().s)).toEqual([]);
  });

  test('short host names resolve against the VirtualService\'s namespace', () => {
    for (const host of ['demo-ui', 'demo-ui.kubeflow', 'demo-ui.kubeflow.svc']) {
      const { s } = build({ expose: false, extra: (chart) => bareRoute(chart, 'Bare', host) });
      expect(rules(authz(s))).toEqual(['gateway-authz VirtualService/kubeflow/bare spec.http[0].route[0].destination.host']);
    }
  });

  test('an allow-all policy ({}) on the app is a finding: it lets every caller around the gateway', () => {
    const { s } = build({ extra: (chart) => policy(chart, 'Open', { selector: { matchLabels: { 'app.kubernetes.io/name': 'demo-ui' } }, rules: [{}] }) });
    expect(authz(s).map((f) => f.message)).toEqual([expect.stringMatching(/is open to every caller: AuthorizationPolicy kubeflow\/open has an empty rule/)]);
  });

  test('counted: namespace-wide ALLOW policies and targetRefs to the Service; not counted: DENY/CUSTOM, other namespaces, other pods', () => {
    const allow = { rules: [{ from: [{ source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] } }] }] };
    const withPolicy = (p: (chart: Chart) => void) => authz(build({ expose: false, extra: (chart) => { bareRoute(chart, 'Bare', 'demo-ui'); p(chart); } }).s).length;
    expect(withPolicy((c) => policy(c, 'Wide', allow))).toBe(0);
    expect(withPolicy((c) => policy(c, 'Ref', { targetRefs: [{ kind: 'Service', group: '', name: 'demo-ui' }], ...allow }))).toBe(0);
    expect(withPolicy((c) => policy(c, 'Deny', { action: 'DENY', ...allow }))).toBe(1);
    expect(withPolicy((c) => policy(c, 'Custom', { action: 'CUSTOM', provider: { name: 'oauth2-proxy' }, ...allow }))).toBe(1);
    expect(withPolicy((c) => policy(c, 'Elsewhere', allow, 'istio-system'))).toBe(1);
    expect(withPolicy((c) => policy(c, 'Other', { selector: { matchLabels: { 'app.kubernetes.io/name': 'other' } }, ...allow }))).toBe(1);
    expect(withPolicy((c) => policy(c, 'OtherRef', { targetRefs: [{ kind: 'Service', name: 'other' }], ...allow }))).toBe(1);
  });

  test('skipped: in-mesh routes (no gateway), namespaces outside the mesh, hosts that are no Service of the output', () => {
    expect(authz(build({ expose: false, extra: (chart) => bareRoute(chart, 'InMesh', 'demo-ui', ['mesh']) }).s)).toEqual([]);
    expect(authz(build({ expose: false, extra: (chart) => bareRoute(chart, 'Ext', 'example.com') }).s)).toEqual([]);
    expect(authz(build({ expose: false, extra: (chart) => bareRoute(chart, 'Missing', 'nothing.kubeflow.svc.cluster.local') }).s)).toEqual([]);
    // Dex-like: an app in a namespace kfkit created without mesh labels (upstream keeps auth out of the mesh).
    const outside = build({
      expose: false,
      extra: (chart, gateway) => {
        new PlatformNamespace(chart, 'Auth', { name: 'auth' });
        const identity = { name: 'dex', component: 'auth' };
        deployment(chart, {
          namespace: 'auth', identity,
          pod: { serviceAccountName: 'default', containers: [{ name: 'dex', image: 'example.com/dex:1', resources: { cpu: { request: '1m' }, memory: { request: '1Mi', limit: '2Mi' } } }] },
        });
        clusterIpService(chart, { name: 'dex', namespace: 'auth', identity, ports: [servicePort('http', 5556)] });
        new ApiObject(chart, 'DexRoute', {
          apiVersion: ISTIO_NETWORKING_API, kind: 'VirtualService', metadata: { name: 'dex', namespace: 'auth' },
          spec: { gateways: [gateway.gatewayRef], hosts: ['*'], http: [{ route: [{ destination: { host: 'dex.auth.svc.cluster.local' } }] }] },
        });
        allowTraffic(chart, gateway.ingress, { peerName: 'dex', namespace: 'auth', podLabels: { 'app.kubernetes.io/name': 'dex' } }, [{ port: 5556 }]);
      },
    });
    expect(authz(outside.s)).toEqual([]);
  });
});

describe('harness rule gateway-hosts', () => {
  const named = (chart: Chart, id: string, hosts: string[], gateways: string[]): ApiObject => new ApiObject(chart, id, {
    apiVersion: ISTIO_NETWORKING_API, kind: 'VirtualService', metadata: { name: id.toLowerCase(), namespace: 'kubeflow' },
    spec: { gateways, hosts, http: [{ route: [{ destination: { host: 'demo-ui' } }] }] },
  });

  test('a route naming the host shadows the * routes of the same gateway (also through validate())', () => {
    const { s } = build({ extra: (chart) => named(chart, 'Dex', [HOST], ['kubeflow/kubeflow-gateway']) });
    expect(checkGatewayHosts({ objects: s.objects })).toEqual([{
      rule: 'gateway-hosts', object: 'VirtualService/kubeflow/dex', path: 'spec.hosts[0]',
      message: `host ${HOST} shadows the routes of VirtualService kubeflow/demo-ui (hosts *) on gateway kubeflow/kubeflow-gateway: `
        + `requests for ${HOST} never reach them; use hosts ["*"] like the other routes of the gateway`,
    }]);
    expect(rules(harness(s))).toContain('gateway-hosts VirtualService/kubeflow/dex spec.hosts[0]');
    // A bare gateway name is in the VirtualService's namespace: the same gateway.
    expect(checkGatewayHosts({ objects: build({ extra: (chart) => named(chart, 'Short', [HOST], ['kubeflow-gateway']) }).s.objects })).toHaveLength(1);
  });

  test('no finding: all routes *, named hosts without * routes, other gateways, in-mesh routes', () => {
    const hosts = (extra: (chart: Chart) => ApiObject, expose = true): Finding[] =>
      checkGatewayHosts({ objects: build({ expose: expose ? {} : false, extra }).s.objects });
    expect(hosts((c) => named(c, 'Star', ['*'], ['kubeflow/kubeflow-gateway']))).toEqual([]);
    expect(hosts((c) => named(c, 'Only', [HOST], ['kubeflow/kubeflow-gateway']), false)).toEqual([]);
    expect(hosts((c) => named(c, 'Other', [HOST], ['knative-serving/knative-local-gateway']))).toEqual([]);
    expect(hosts((c) => named(c, 'InMesh', ['demo-ui.kubeflow.svc.cluster.local'], ['mesh']))).toEqual([]);
  });
});

describe('harness rule image-tag: Istio\'s injected proxy', () => {
  const run = (labels: Record<string, string>, name = 'istio-proxy', image = 'auto') => checkImageTags({
    objects: [{
      wave: 0, waveName: 'controllers',
      manifest: {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'gw', namespace: 'istio-system' },
        spec: { template: { metadata: { labels }, spec: { containers: [{ name, image }] } } },
      },
    }],
  }).map((f) => f.message);

  test('image auto of istio-proxy in a pod labelled for injection is the injector\'s to set', () => {
    expect(run({ 'sidecar.istio.io/inject': 'true' })).toEqual([]);
  });

  test('anywhere else, auto is an unpinned image', () => {
    expect(run({})).toEqual(['image "auto" has no tag or digest (resolves to :latest)']);
    expect(run({ 'sidecar.istio.io/inject': 'false' })).toHaveLength(1);
    expect(run({ 'sidecar.istio.io/inject': 'true' }, 'proxy')).toHaveLength(1);
    expect(run({ 'sidecar.istio.io/inject': 'true' }, 'istio-proxy', 'example.com/proxyv2')).toHaveLength(1);
  });
});
