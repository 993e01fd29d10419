import { App, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import {
  CentralDashboard, CentralDashboardProps, DashboardAppLinks, KfamEndpoint, pipelinesDashboardLinks,
} from '../lib/components/dashboard';
import { KubeflowGateway, WebAppBackend } from '../lib/components/gateway';
import { IstioMesh } from '../lib/components/istio';
import { declareExternalCertManager } from '../lib/core/cert-manager';
import { KfkitContext } from '../lib/core/context';
import { UserHeaders } from '../lib/core/mesh';
import { PlatformNamespace } from '../lib/core/namespace';
import { clusterIpService, deployment, servicePort } from '../lib/core/workload';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { serviceAccountPermissions } from '../lib/validate/rbac';
import { K8sObject, PlacedObject } from '../lib/validate/types';

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: the real mesh (managed) and gateway, cert-manager external, stubs of KFAM and the Pipelines UI.
// ---------------------------------------------------------------------------------------------------------------

const HEADERS: UserHeaders = { userId: 'kubeflow-userid', userIdPrefix: '', groups: 'kubeflow-groups' };
const BUDGET = { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '64Mi' } };

/** A server in `kubeflow` (Deployment + Service), as the profiles and pipelines components would write it. */
function stubServer(scope: Construct, id: string, name: string, port: number, servicePortNumber: number): WebAppBackend {
  const server = new Construct(scope, id);
  const identity = { name, component: 'stub' };
  deployment(server, {
    namespace: 'kubeflow', identity,
    pod: { serviceAccountName: 'default', containers: [{ name, image: `example.com/${name}:1.0`, ports: [{ containerPort: port }], resources: BUDGET }] },
  });
  clusterIpService(server, { name, namespace: 'kubeflow', identity, ports: [servicePort('http', servicePortNumber, port)] });
  return {
    serviceName: name, servicePort: servicePortNumber, podPort: port,
    peer: { peerName: name, namespace: 'kubeflow', podLabels: { 'app.kubernetes.io/component': 'stub', 'app.kubernetes.io/name': name } },
  };
}

interface BuildOptions {
  readonly dashboard?: Partial<CentralDashboardProps>;
  readonly gatewayHeaders?: UserHeaders | null;
  readonly dataplane?: 'sidecar' | 'ambient';
  /** Expose the Pipelines UI stub at /pipeline (default true). */
  readonly pipelines?: boolean;
}

interface Built {
  readonly s: Synthesized;
  readonly dashboard: CentralDashboard;
}

function fixture(options: BuildOptions = {}): { chart: Chart; gateway: KubeflowGateway; kfam: KfamEndpoint } {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  declareExternalCertManager(ctx, '1.19');
  const mesh = new IstioMesh(chart, 'Mesh', { mode: 'managed', dataplane: options.dataplane ?? 'sidecar' });
  const kubeflow = new PlatformNamespace(chart, 'Kubeflow', { name: 'kubeflow' });
  mesh.enrol(kubeflow);
  const gateway = new KubeflowGateway(chart, 'Gateway', {
    mesh, host: 'kubeflow.example.com', tls: { type: 'self-signed' }, certManager: {},
    userHeaders: options.gatewayHeaders === null ? undefined : options.gatewayHeaders ?? HEADERS,
  });
  const kfam = stubServer(chart, 'Kfam', 'profiles-kfam', 8081, 8081);
  if (options.pipelines ?? true) {
    gateway.expose(chart, 'PipelinesUiRoute', { name: 'ml-pipeline-ui', prefix: '/pipeline', backend: stubServer(chart, 'Ui', 'ml-pipeline-ui', 3000, 80) });
  }
  return { chart, gateway, kfam };
}

function build(options: BuildOptions = {}): Built {
  const { chart, gateway, kfam } = fixture(options);
  const links = (options.pipelines ?? true) ? [pipelinesDashboardLinks()] : [];
  const dashboard = new CentralDashboard(chart, 'Dashboard', { gateway, kfam, links, ...options.dashboard });
  return { s: collect(chart), dashboard };
}

const attempt = (dashboard: Partial<CentralDashboardProps>, options: BuildOptions = {}) => () => build({ ...options, dashboard });

function get(s: Synthesized, kind: string, name: string, namespace = 'kubeflow'): PlacedObject {
  const found = s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name
    && (o.manifest.metadata.namespace ?? namespace) === namespace);
  if (!found) throw new Error(`no ${kind} ${namespace}/${name}`);
  return found;
}

interface EnvVar { name: string; value?: string; valueFrom?: unknown }
interface Container {
  name: string;
  image: string;
  env: EnvVar[];
  ports: { containerPort: number }[];
  securityContext: Record<string, unknown>;
  volumeMounts: { name: string; mountPath: string }[];
  livenessProbe: { httpGet: { path: string; port: number } };
  readinessProbe: { httpGet: { path: string; port: number } };
}
interface PodSpec { serviceAccountName: string; automountServiceAccountToken: boolean; securityContext: Record<string, unknown>; containers: Container[] }
type Spec = Record<string, unknown>;
const spec = (p: PlacedObject): Spec => (p.manifest as K8sObject & { spec: Spec }).spec;
const podSpec = (s: Synthesized): PodSpec => (spec(get(s, 'Deployment', 'centraldashboard')) as { template: { spec: PodSpec } }).template.spec;
const env = (s: Synthesized): Record<string, string | undefined> => Object.fromEntries(podSpec(s).containers[0].env.map((e) => [e.name, e.value]));
const data = (s: Synthesized): Record<string, string> => (get(s, 'ConfigMap', 'centraldashboard-config').manifest as K8sObject & { data: Record<string, string> }).data;

interface LinksDoc {
  menuLinks: { type: string; text: string; link?: string; icon: string; items?: { type: string; text: string; link: string }[] }[];
  externalLinks: unknown[];
  quickLinks: { text: string; desc: string; link: string }[];
  documentationItems: { text: string; desc: string; link: string }[];
}
const links = (s: Synthesized): LinksDoc => JSON.parse(data(s).links) as LinksDoc;

// ---------------------------------------------------------------------------------------------------------------
// A model of how istiod builds a gateway's routes, to show which backend a path reaches.
// ---------------------------------------------------------------------------------------------------------------

interface HttpMatch { uri?: { prefix?: string; exact?: string; regex?: string }; headers?: unknown; queryParams?: unknown }
interface HttpRoute { match?: HttpMatch[]; route: { destination: { host: string } }[] }

/**
 * istiod (1.29 `pilot/pkg/networking/core/gateway.go`) concatenates the HTTP routes of every VirtualService bound to the
 * gateway for the same host, in no order kfkit controls, then `route.SortVHostRoutes` moves catch-all routes (prefix `/`
 * or regex `.*`, no header or query match) behind all others; Envoy takes the first route that matches.
 */
function routeOf(s: Synthesized, path: string, reverse: boolean): string | undefined {
  const services = s.objects.filter((o) => o.manifest.kind === 'VirtualService' && (spec(o).hosts as string[]).includes('*'));
  const ordered = reverse ? [...services].reverse() : services;
  const routes = ordered.flatMap((o) => spec(o).http as HttpRoute[]);
  const catchAll = (r: HttpRoute): boolean => (r.match ?? []).some((m) => (m.uri?.prefix === '/' || m.uri?.regex === '.*') && !m.headers && !m.queryParams);
  const sorted = [...routes.filter((r) => !catchAll(r)), ...routes.filter(catchAll)];
  const matches = (m: HttpMatch): boolean => m.uri === undefined || (m.uri.prefix !== undefined && path.startsWith(m.uri.prefix)) || m.uri.exact === path;
  const hit = sorted.find((r) => (r.match ?? [{}]).some(matches));
  return hit?.route[0].destination.host;
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

describe('CentralDashboard behind the managed mesh\'s gateway, with Pipelines installed', () => {
  const { s, dashboard } = build();

  test('synthesizes and validates clean (harness: openapi, references, waves, image-tag, gateway-authz, gateway-hosts)', () => {
    expect(validate(s)).toEqual([]);
  });

  test('Deployment: upstream\'s image, ServiceAccount, port and env; user header and KFAM from the typed references', () => {
    const pod = podSpec(s);
    expect(pod.serviceAccountName).toBe('centraldashboard');
    expect(pod.automountServiceAccountToken).toBe(true);
    const [c] = pod.containers;
    expect(c.image).toBe('ghcr.io/kubeflow/kubeflow/central-dashboard:v1.10.0');
    expect(c.ports).toEqual([{ containerPort: 8082, protocol: 'TCP' }]);
    expect(env(s)).toEqual({
      USERID_HEADER: 'kubeflow-userid',
      USERID_PREFIX: '',
      PROFILES_KFAM_SERVICE_HOST: 'profiles-kfam.kubeflow',
      PROFILES_KFAM_SERVICE_PORT: '8081',
      REGISTRATION_FLOW: 'false',
      DASHBOARD_CONFIGMAP: 'centraldashboard-config',
      LOGOUT_URL: '/oauth2/sign_out',
      POD_NAMESPACE: undefined,
      COLLECT_METRICS: 'false',
    });
    expect(c.env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(dashboard.userHeaders).toBe(HEADERS);
  });

  test('restricted: the image\'s node user, read-only root with writable npm and tmp directories, probes on /healthz', () => {
    const pod = podSpec(s);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    const [c] = pod.containers;
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.volumeMounts.map((m) => m.mountPath).sort()).toEqual(['/home/node/.npm', '/tmp']);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 8082 });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 8082 });
  });

  test('Service centraldashboard 80 → 8082', () => {
    expect(spec(get(s, 'Service', 'centraldashboard')).ports).toEqual([{ name: 'http', port: 80, targetPort: 8082, protocol: 'TCP' }]);
    expect(dashboard.endpoint).toMatchObject({ serviceName: 'centraldashboard', servicePort: 80, podPort: 8082 });
  });

  test('RBAC: upstream\'s permissions minus pods/exec and Secrets, which the server never uses (Role in kubeflow, ClusterRole for events, namespaces, nodes)', () => {
    const { facts } = upstreamFacts();
    const upstream = facts.workloads.find((w) => w.source === 'kubeflow-dashboard' && w.name === 'centraldashboard');
    expect(upstream?.rbac.length).toBeGreaterThan(0);
    const granted = serviceAccountPermissions(s.objects.map((o) => o.manifest), { namespace: 'kubeflow', name: 'centraldashboard' });
    expect(granted).toEqual(upstream?.rbac.filter((p) => !p.includes('pods/exec') && p !== 'get secrets.core'));
    expect(granted.filter((p) => p.includes('pods/exec') || p.includes('secrets'))).toEqual([]);
    expect((get(s, 'ClusterRole', 'centraldashboard').manifest as K8sObject & { rules: unknown }).rules)
      .toEqual([{ apiGroups: [''], resources: ['events', 'namespaces', 'nodes'], verbs: ['get', 'list', 'watch'] }]);
  });

  test('links: the Pipelines section with upstream\'s pages, its quick links and documentation; settings force the iframe', () => {
    const doc = links(s);
    expect(doc.menuLinks).toEqual([{
      type: 'section', text: 'Pipelines', icon: 'kubeflow:pipeline-centered',
      items: ['pipelines', 'experiments', 'runs', 'recurringruns', 'artifacts', 'executions'].map((p) => expect.objectContaining({ type: 'item', link: `/pipeline/#/${p}` }) as unknown),
    }]);
    expect(doc.menuLinks[0].items?.map((i) => i.text)).toEqual(['Pipelines', 'Experiments', 'Runs', 'Recurring Runs', 'Artifacts', 'Executions']);
    expect(doc.quickLinks.map((q) => q.link)).toEqual(['/pipeline/#/pipelines', '/pipeline/#/runs']);
    expect(doc.documentationItems.map((d) => d.link)).toEqual(['https://www.kubeflow.org/', 'https://www.kubeflow.org/docs/components/pipelines/']);
    expect(doc.externalLinks).toEqual([]);
    expect(JSON.parse(data(s).settings)).toEqual({ DASHBOARD_FORCE_IFRAME: true });
  });

  test('route: VirtualService centraldashboard at / on the gateway (hosts *), ALLOW policy for the ingress gateway only', () => {
    expect(spec(get(s, 'VirtualService', 'centraldashboard'))).toEqual({
      gateways: ['kubeflow/kubeflow-gateway'],
      hosts: ['*'],
      http: [{
        name: 'centraldashboard', match: [{ uri: { prefix: '/' } }],
        route: [{ destination: { host: 'centraldashboard.kubeflow.svc.cluster.local', port: { number: 80 } } }],
      }],
    });
    expect(spec(get(s, 'AuthorizationPolicy', 'centraldashboard'))).toEqual({
      action: 'ALLOW',
      selector: { matchLabels: { 'app.kubernetes.io/component': 'dashboard', 'app.kubernetes.io/name': 'centraldashboard' } },
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account'] } }] }],
    });
  });

  test('the catch-all route at / never shadows /pipeline, whatever order istiod merges the VirtualServices in', () => {
    for (const reverse of [false, true]) {
      expect(routeOf(s, '/pipeline/#/runs', reverse)).toBe('ml-pipeline-ui.kubeflow.svc.cluster.local');
      expect(routeOf(s, '/pipeline', reverse)).toBe('ml-pipeline-ui.kubeflow.svc.cluster.local');
      expect(routeOf(s, '/', reverse)).toBe('centraldashboard.kubeflow.svc.cluster.local');
      expect(routeOf(s, '/api/workgroup/exists', reverse)).toBe('centraldashboard.kubeflow.svc.cluster.local');
    }
    // Both routes name hosts * on the same gateway: no virtual host of a named host hides either (rule gateway-hosts).
    expect(validate(s).filter((f) => f.rule === 'gateway-hosts')).toEqual([]);
  });

  test('network: gateway → dashboard 8082, dashboard → KFAM 8081 (both ends), dashboard → Kubernetes API', () => {
    const policy = (name: string): Spec => spec(get(s, 'NetworkPolicy', name, name.startsWith('istio-ingressgateway') ? 'istio-system' : 'kubeflow'));
    const port = (p: Spec, dir: 'ingress' | 'egress'): unknown => (p[dir] as { ports: { port: number }[] }[])[0].ports.map((x) => x.port);
    expect(port(policy('centraldashboard-from-istio-ingressgateway'), 'ingress')).toEqual([8082]);
    expect(port(policy('istio-ingressgateway-to-centraldashboard'), 'egress')).toEqual([8082]);
    expect(port(policy('profiles-kfam-from-centraldashboard'), 'ingress')).toEqual([8081]);
    expect(port(policy('centraldashboard-to-profiles-kfam'), 'egress')).toEqual([8081]);
    expect(port(policy('centraldashboard-to-kube-apiserver'), 'egress')).toEqual([443, 6443]);
  });

  test('principal: the dashboard\'s identity, for KFAM\'s AuthorizationPolicy', () => {
    expect(dashboard.principal).toBe('cluster.local/ns/kubeflow/sa/centraldashboard');
  });

  test('fidelity: matches upstream\'s centraldashboard except for the documented deviations', () => {
    const { facts, deviations } = upstreamFacts();
    expect(facts.sources['kubeflow-dashboard']).toMatchObject({ upstream: 'kubeflow/manifests', version: '26.03' });
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-dashboard'] })).toEqual([]);
    const without = deviations.filter((d) => d.workload !== 'kubeflow/centraldashboard');
    expect(checkFidelity(s.objects, facts, without, { sources: ['kubeflow-dashboard'] }).map((f) => f.message))
      .toEqual([
        'env: container centraldashboard has extra PROFILES_KFAM_SERVICE_PORT (not in upstream kubeflow-dashboard 26.03)',
        ...['get pods/exec.app.k8s.io', 'get pods/exec.core', 'get secrets.core', 'list pods/exec.app.k8s.io', 'list pods/exec.core',
          'watch pods/exec.app.k8s.io', 'watch pods/exec.core'].map((p) => `rbac: ServiceAccount kubeflow/centraldashboard lacks "${p}" (upstream kubeflow-dashboard 26.03 grants it)`),
      ]);
  });
});

describe('CentralDashboard settings', () => {
  test('registration flow on: REGISTRATION_FLOW true', () => {
    const { s } = build({ dashboard: { registrationFlow: true } });
    expect(env(s).REGISTRATION_FLOW).toBe('true');
    expect(validate(s)).toEqual([]);
  });

  test('user headers of the gateway, or given ones (a prefix is carried verbatim)', () => {
    const custom: UserHeaders = { userId: 'x-goog-authenticated-user-email', userIdPrefix: 'accounts.google.com:', groups: 'x-groups' };
    expect(env(build({ gatewayHeaders: custom }).s)).toMatchObject({ USERID_HEADER: 'x-goog-authenticated-user-email', USERID_PREFIX: 'accounts.google.com:' });
    expect(env(build({ gatewayHeaders: null, dashboard: { userHeaders: custom } }).s).USERID_HEADER).toBe('x-goog-authenticated-user-email');
  });

  test('logout URL, metrics, iframe, replicas and KFAM endpoint are typed props', () => {
    const kfam: KfamEndpoint = {
      serviceName: 'kfam', servicePort: 80, podPort: 8081, peer: { peerName: 'kfam', namespace: 'profiles', podLabels: { app: 'kfam' } },
    };
    const { s } = build({ dashboard: { logoutUrl: 'https://login.example.com/logout', collectMetrics: true, forceIframe: false, replicas: 2, kfam } });
    expect(env(s)).toMatchObject({
      LOGOUT_URL: 'https://login.example.com/logout', COLLECT_METRICS: 'true', PROFILES_KFAM_SERVICE_HOST: 'kfam.profiles', PROFILES_KFAM_SERVICE_PORT: '80',
    });
    expect(JSON.parse(data(s).settings)).toEqual({ DASHBOARD_FORCE_IFRAME: false });
    expect(spec(get(s, 'Deployment', 'centraldashboard')).replicas).toBe(2);
    expect(spec(get(s, 'NetworkPolicy', 'kfam-from-centraldashboard', 'profiles')).ingress).toEqual([{
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'dashboard', 'app.kubernetes.io/name': 'centraldashboard' } },
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kubeflow' } } }],
      ports: [{ port: 8081, protocol: 'TCP' }],
    }]);
  });

  test('without Pipelines the menu is empty; apps added later with addLinks() are listed', () => {
    const { chart, gateway, kfam } = fixture({ pipelines: false });
    const dashboard = new CentralDashboard(chart, 'Dashboard', { gateway, kfam });
    expect(links(collect(chart)).menuLinks).toEqual([]);
    const notebooks: DashboardAppLinks = { menu: { type: 'item', text: 'Notebooks', link: '/jupyter/', icon: 'book' } };
    dashboard.addLinks(notebooks);
    const doc = links(collect(chart));
    expect(doc.menuLinks).toEqual([{ type: 'item', text: 'Notebooks', link: '/jupyter/', icon: 'book' }]);
    expect(doc.documentationItems.map((d) => d.text)).toEqual(['Kubeflow Website']);
  });

  test('ambient dataplane: the gateway reaches the dashboard over HBONE too, and the setup validates clean', () => {
    const { s } = build({ dataplane: 'ambient' });
    expect(validate(s)).toEqual([]);
    const ingress = spec(get(s, 'NetworkPolicy', 'centraldashboard-from-istio-ingressgateway')).ingress as { ports: { port: number }[] }[];
    expect(ingress[0].ports.map((p) => p.port)).toEqual([8082, 15008]);
  });
});

describe('CentralDashboard guards', () => {
  test('no user headers anywhere: configure authentication', () => {
    expect(attempt({}, { gatewayHeaders: null })).toThrow(/reads the user from the identity header .* configure authentication/);
  });

  test('bad user headers', () => {
    expect(attempt({ userHeaders: { ...HEADERS, userId: 'kubeflow userid' } })).toThrow(/userHeaders.userId "kubeflow userid" must be an HTTP header name/);
    expect(attempt({ userHeaders: { ...HEADERS, userIdPrefix: 'a b' } })).toThrow(/userIdPrefix "a b" must be printable characters without spaces/);
  });

  test('bad KFAM endpoint', () => {
    const peer = { peerName: 'profiles-kfam', namespace: 'kubeflow', podLabels: { app: 'kfam' } };
    expect(attempt({ kfam: { serviceName: 'Profiles_KFAM', servicePort: 8081, podPort: 8081, peer } })).toThrow(/kfam.serviceName "Profiles_KFAM" must be a Service name/);
    expect(attempt({ kfam: { serviceName: 'profiles-kfam', servicePort: 0, podPort: 8081, peer } })).toThrow(/kfam.servicePort 0 must be a port number/);
    expect(attempt({ kfam: { serviceName: 'profiles-kfam', servicePort: 8081, podPort: 70000, peer } })).toThrow(/kfam.podPort 70000 must be a port number/);
    expect(attempt({ kfam: { serviceName: 'profiles-kfam', servicePort: 8081, podPort: 8081, peer: { ...peer, podLabels: {} } } }))
      .toThrow(/kfam.peer has no pod labels/);
  });

  test('bad namespace, logout URL, replicas', () => {
    expect(attempt({ namespace: 'Kubeflow' })).toThrow(/namespace "Kubeflow" must be a DNS label/);
    expect(attempt({ logoutUrl: '//evil.example.com/' })).toThrow(/logoutUrl "\/\/evil.example.com\/" must be a path through the gateway/);
    expect(attempt({ logoutUrl: 'http://login.example.com/logout' })).toThrow(/logoutUrl .* or an https:\/\/ URL/);
    expect(attempt({ replicas: 0 })).toThrow(/replicas 0 must be a whole number of at least 1/);
  });

  test('bad links: path, icon, empty section, text, documentation URL, the same app twice', () => {
    const item = (over: Partial<{ text: string; link: string; icon: string }>): DashboardAppLinks => ({
      menu: { type: 'item', text: 'Notebooks', link: '/jupyter/', icon: 'book', ...over },
    });
    expect(attempt({ links: [item({ link: 'jupyter/' })] })).toThrow(/menu "Notebooks": link "jupyter\/" must be a path through the gateway starting with \//);
    expect(attempt({ links: [item({ link: '//evil.example.com' })] })).toThrow(/link "\/\/evil.example.com" must be a path through the gateway/);
    expect(attempt({ links: [item({ icon: 'Book Icon' })] })).toThrow(/icon "Book Icon" must be an icon name/);
    expect(attempt({ links: [item({ text: ' ' })] })).toThrow(/text " " must be 1-100 characters on one line/);
    expect(attempt({ links: [{ menu: { type: 'section', text: 'Pipelines', icon: 'kubeflow:pipeline-centered', items: [] } }] }))
      .toThrow(/menu "Pipelines": a section needs at least one item/);
    expect(attempt({ links: [{ ...item({}), documentation: [{ text: 'Docs', desc: 'Notebooks docs', link: 'http://example.com/' }] }] }))
      .toThrow(/documentation "Docs": link "http:\/\/example.com\/" must be an https:\/\/ URL/);
    expect(attempt({ links: [{ ...item({}), quickLinks: [{ text: 'New', desc: 'Create', link: 'https://example.com/' }] }] }))
      .toThrow(/quick link "New": link "https:\/\/example.com\/" must be a path through the gateway/);
    expect(attempt({ links: [pipelinesDashboardLinks(), pipelinesDashboardLinks('/kfp')] })).toThrow(/two apps have the menu entry "Pipelines"/);
  });

  test('pipelinesDashboardLinks follows the prefix the UI is served under', () => {
    const menu = pipelinesDashboardLinks('/kfp/').menu;
    expect(menu.type === 'section' ? menu.items.map((i) => i.link) : []).toContain('/kfp/#/runs');
  });
});
