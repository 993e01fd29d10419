import { ApiObject, App, Chart } from 'cdk8s';
import {
  addWaypoint, enrolInMesh, IstioCniValues, IstiodValues, IstioMesh, IstioMeshProps,
} from '../lib/components/istio';
import { CHARTS } from '../lib/core/charts';
import { KfkitContext, KfkitContextProps } from '../lib/core/context';
import { PRIVILEGED_REASON_ANNOTATION } from '../lib/core/exceptions';
import { HelmDelivery } from '../lib/core/helm';
import { ExtensionProvider, ISTIO_SECURITY_API } from '../lib/core/mesh';
import { ImageCatalog } from '../lib/core/images';
import { PlatformNamespace, POD_SECURITY_REASON_ANNOTATION } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject } from '../lib/validate/types';

const OAUTH2_PROXY: ExtensionProvider = {
  name: 'oauth2-proxy',
  envoyExtAuthzHttp: {
    service: 'oauth2-proxy.oauth2-proxy.svc.cluster.local', port: 80,
    headersToDownstreamOnDeny: ['content-type', 'set-cookie'],
    headersToUpstreamOnAllow: ['authorization', 'path', 'x-auth-request-email', 'x-auth-request-groups', 'x-auth-request-user'],
    includeRequestHeadersInCheck: ['authorization', 'cookie'],
  },
};

interface Built {
  readonly s: Synthesized;
  readonly mesh: IstioMesh;
  readonly chart: Chart;
}

interface BuildOptions {
  readonly context?: KfkitContextProps;
  /** Adds objects after the mesh and the enrolled `kubeflow` namespace exist. */
  readonly extra?: (chart: Chart, mesh: IstioMesh, ns: PlatformNamespace, ctx: KfkitContext) => void;
}

/** A test chart with the mesh, an enrolled `kubeflow` namespace and one AuthorizationPolicy (an Istio object) in it. */
function build(props: IstioMeshProps, options: BuildOptions = {}): Built {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'], ...options.context });
  const mesh = new IstioMesh(chart, 'Mesh', props);
  const ns = new PlatformNamespace(chart, 'Kubeflow', { name: 'kubeflow' });
  mesh.enrol(ns);
  new ApiObject(chart, 'Policy', {
    apiVersion: ISTIO_SECURITY_API, kind: 'AuthorizationPolicy', metadata: { name: 'allow-nothing', namespace: 'kubeflow' }, spec: {},
  });
  options.extra?.(chart, mesh, ns, ctx);
  return { s: collect(chart), mesh, chart };
}

const harness = (s: Synthesized) => validate({ objects: s.objects, externalApis: s.externalApis, externalObjects: s.externalObjects });
const all = (s: Synthesized, kind: string): PlacedObject[] => s.objects.filter((o) => o.manifest.kind === kind);
function get(s: Synthesized, kind: string, name: string, namespace?: string): PlacedObject {
  const found = s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name
    && (namespace === undefined || o.manifest.metadata.namespace === namespace));
  if (!found) throw new Error(`no ${kind} ${namespace ?? '*'}/${name}; have ${s.objects.map((o) => `${o.manifest.kind}/${o.manifest.metadata.name}`).join(', ')}`);
  return found;
}
const spec = (o: PlacedObject): unknown => (o.manifest as K8sObject & { spec: unknown }).spec;
/** The parts of the specs these tests read. */
interface ReleaseSpec { readonly values: unknown; readonly chart: { readonly spec: unknown }; readonly dependsOn?: unknown; readonly targetNamespace?: string }
interface ApplicationSpec { readonly destination: { readonly namespace: string }; readonly source: { readonly helm: { readonly valuesObject: IstiodValues } } }
interface PolicySpec { readonly podSelector: unknown; readonly egress: readonly { readonly ports?: unknown }[] }
const releaseSpec = (o: PlacedObject): ReleaseSpec => spec(o) as ReleaseSpec;
const policySpec = (o: PlacedObject): PolicySpec => spec(o) as PolicySpec;
/** Values of a Flux HelmRelease. */
const valuesOf = (s: Synthesized, name: string): unknown => releaseSpec(get(s, 'HelmRelease', name, 'flux-system')).values;
const istiodValues = (s: Synthesized): IstiodValues => valuesOf(s, 'istiod') as IstiodValues;
const cniValues = (s: Synthesized): IstioCniValues => valuesOf(s, 'istio-cni') as IstioCniValues;
const waveIndex = (s: Synthesized, name: string): number => {
  const w = s.waves.find((x) => x.name === name);
  if (!w) throw new Error(`no wave ${name}`);
  return w.index;
};
const policyNames = (s: Synthesized, namespace: string): string[] =>
  all(s, 'NetworkPolicy').filter((p) => p.manifest.metadata.namespace === namespace).map((p) => p.manifest.metadata.name).sort();

const MODES = ['managed', 'external'] as const;
const DATAPLANES = ['sidecar', 'ambient'] as const;

describe.each(MODES.flatMap((mode) => DATAPLANES.map((dataplane) => [mode, dataplane] as const)))('IstioMesh %s, %s', (mode, dataplane) => {
  const { s, mesh } = build({ mode, dataplane, extensionProviders: [OAUTH2_PROXY] }, {
    extra: (_c, m, ns) => { if (dataplane === 'ambient') m.waypoint(ns); },
  });

  test('synthesizes and validates clean, Istio objects included', () => {
    expect(harness(s)).toEqual([]);
    expect(get(s, 'AuthorizationPolicy', 'allow-nothing').waveName).toBe('resources');
  });

  test('implements IMesh', () => {
    expect(mesh.mode).toBe(mode);
    expect(mesh.dataplane).toBe(dataplane);
    expect(mesh.namespace).toBe('istio-system');
    expect(mesh.trustDomain).toBe('cluster.local');
    expect(mesh.istiod).toEqual({ peerName: 'istiod', namespace: 'istio-system', podLabels: { app: 'istiod' } });
    expect(mesh.enrollmentLabels).toEqual(dataplane === 'sidecar' ? { 'istio-injection': 'enabled' } : { 'istio.io/dataplane-mode': 'ambient' });
  });

  test('the enrolled namespace carries the enrolment labels', () => {
    expect(get(s, 'Namespace', 'kubeflow').manifest.metadata.labels).toMatchObject(mesh.enrollmentLabels);
  });
});

describe('managed, sidecar (Flux)', () => {
  const { s, mesh } = build({ extensionProviders: [OAUTH2_PROXY] }, {
    context: { images: new ImageCatalog({ registryMirror: 'mirror.local:5000', pullSecrets: ['regcred'] }) },
  });

  test('istio-base, istiod and istio-cni as HelmReleases at the pinned chart version; no ztunnel', () => {
    const releases = all(s, 'HelmRelease');
    expect(releases.map((r) => r.manifest.metadata.name).sort()).toEqual(['istio-base', 'istio-cni', 'istiod']);
    for (const [name, key, ns] of [['istio-base', 'istio-base', 'istio-system'], ['istiod', 'istiod', 'istio-system'], ['istio-cni', 'istio-cni', 'istio-cni']] as const) {
      expect(spec(get(s, 'HelmRelease', name))).toMatchObject({
        releaseName: name, targetNamespace: ns,
        chart: { spec: { chart: CHARTS[key].chart, version: CHARTS[key].version } },
      });
    }
    expect(CHARTS.istiod.version).toBe('1.29.6');
    expect(mesh.version).toBe('1.29.6');
    expect(s.helmReleases.map((r) => [r.releaseName, r.dependsOn])).toEqual([
      ['istio-cni', ['istio-system/istio-base']], ['istio-base', []], ['istiod', ['istio-system/istio-base']],
    ]);
  });

  test('waves: namespaces, isolation, mesh-crds (istio-base), mesh (istiod, cni), then cluster configuration', () => {
    expect(get(s, 'HelmRelease', 'istio-base').waveName).toBe('mesh-crds');
    expect(get(s, 'HelmRelease', 'istiod').waveName).toBe('mesh');
    expect(get(s, 'HelmRelease', 'istio-cni').waveName).toBe('mesh');
    expect(waveIndex(s, 'namespaces')).toBeLessThan(waveIndex(s, 'isolation'));
    expect(waveIndex(s, 'isolation')).toBeLessThan(waveIndex(s, 'mesh-crds'));
    expect(waveIndex(s, 'mesh-crds')).toBeLessThan(waveIndex(s, 'mesh'));
    expect(get(s, 'Namespace', 'istio-system').waveName).toBe('namespaces');
    expect(s.externalApis.filter((a) => a.group.endsWith('istio.io')).every((a) => a.installedBy === 'HelmRelease/flux-system/istio-base')).toBe(true);
  });

  test('every image from the catalog behind the registry mirror, listed as runtime images; pull Secrets passed on', () => {
    const istiod = istiodValues(s);
    expect(istiod.pilot.image).toBe('mirror.local:5000/istio-release/pilot:1.29.6');
    expect(istiod.global.proxy.image).toBe('mirror.local:5000/istio-release/proxyv2:1.29.6');
    expect(istiod.global.proxy_init.image).toBe('mirror.local:5000/istio-release/proxyv2:1.29.6');
    expect(istiod.global).toMatchObject({ hub: 'mirror.local:5000/istio-release', tag: '1.29.6', imagePullSecrets: ['regcred'] });
    expect(cniValues(s).image).toBe('mirror.local:5000/istio-release/install-cni:1.29.6');
    expect(cniValues(s).global).toEqual({ imagePullSecrets: ['regcred'], hub: 'mirror.local:5000/istio-release', tag: '1.29.6' });
    expect(s.runtimeImages).toEqual(expect.arrayContaining([
      'mirror.local:5000/istio-release/install-cni:1.29.6', 'mirror.local:5000/istio-release/pilot:1.29.6',
      'mirror.local:5000/istio-release/proxyv2:1.29.6',
    ]));
    const images = JSON.stringify(all(s, 'HelmRelease').map((r) => releaseSpec(r).values)).match(/"[^"]*istio-release[^"]*"/g) ?? [];
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image.startsWith('"mirror.local:5000/')).toBe(true);
    expect(s.externalObjects).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'Secret', name: 'regcred', namespace: 'istio-system' })]));
  });

  test('istiod values: istio-cni, upstream meshConfig and env, extension providers, resources with memory limits', () => {
    const v = istiodValues(s);
    expect(v).not.toHaveProperty('profile');
    expect(v.pilot.cni).toEqual({ enabled: true });
    expect(v.pilot.env).toEqual({ ENABLE_NATIVE_SIDECARS: 'true', ENABLE_DEBUG_ON_HTTP: 'false', PILOT_JWT_PUB_KEY_REFRESH_INTERVAL: '1m' });
    expect(v.meshConfig).toEqual({
      accessLogFile: '/dev/stdout',
      defaultConfig: { tracing: {} },
      tcpKeepalive: { time: '10s', interval: '5s', probes: 3 },
      trustDomain: 'cluster.local',
      extensionProviders: [OAUTH2_PROXY],
    });
    expect(v.pilot.resources).toEqual({ requests: { cpu: '500m', memory: '2Gi' }, limits: { memory: '4Gi' } });
    expect(v.global.proxy.resources).toEqual({ requests: { cpu: '10m', memory: '40Mi' }, limits: { memory: '1Gi', cpu: '2' } });
    expect(v.global.defaultPodDisruptionBudget).toEqual({ enabled: false });
    for (const seccomp of [v.pilot.seccompProfile, v.global.proxy.seccompProfile, v.gateways.seccompProfile]) expect(seccomp).toEqual({ type: 'RuntimeDefault' });
    expect(v.base).toEqual({ validationFailurePolicy: 'Fail' });
    expect(valuesOf(s, 'istio-base')).toEqual({ global: { istioNamespace: 'istio-system', imagePullSecrets: ['regcred'] }, base: { validationFailurePolicy: 'Fail' } });
    expect(cniValues(s).resources).toEqual({ requests: { cpu: '100m', memory: '100Mi' }, limits: { memory: '512Mi' } });
  });

  test('istio-system, where istiod and the gateways run, enforces restricted; only the node agents\' namespace is privileged, and says why', () => {
    const system = get(s, 'Namespace', 'istio-system').manifest.metadata;
    expect(system.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(system.annotations).not.toHaveProperty(POD_SECURITY_REASON_ANNOTATION);
    const ns = get(s, 'Namespace', 'istio-cni').manifest.metadata;
    expect(ns.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(ns.labels?.['kfkit.dev/namespace-role']).toBe('service-mesh-node-agents');
    expect(ns.annotations?.[POD_SECURITY_REASON_ANNOTATION]).toMatch(/istio-cni .*NET_ADMIN/);
    expect(ns.annotations?.[POD_SECURITY_REASON_ANNOTATION]).not.toMatch(/ztunnel is/);
    expect(policyNames(s, 'istio-cni')).toEqual(['allow-dns', 'default-deny', 'istio-cni-to-kube-apiserver']);
    expect(istiodValues(s).pilot).not.toHaveProperty('trustedZtunnelNamespace');
    expect(get(s, 'HelmRelease', 'istio-cni').manifest.metadata.annotations?.[PRIVILEGED_REASON_ANNOTATION]).toMatch(/hostPath \/opt\/cni\/bin/);
    expect(get(s, 'HelmRelease', 'istiod').manifest.metadata.annotations).not.toHaveProperty(PRIVILEGED_REASON_ANNOTATION);
  });

  test('istio-system is default-deny with istiod\'s API access, its webhooks open to the API server, and xDS from enrolled namespaces', () => {
    expect(policyNames(s, 'istio-system')).toEqual([
      'allow-dns', 'default-deny', 'istiod-from-kube-apiserver', 'istiod-from-kubeflow', 'istiod-to-kube-apiserver',
    ]);
    expect(spec(get(s, 'NetworkPolicy', 'istiod-from-kube-apiserver'))).toMatchObject({
      podSelector: { matchLabels: { app: 'istiod' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '192.0.2.0/24' } }], ports: [{ port: 15017, protocol: 'TCP' }] }],
    });
    expect(spec(get(s, 'NetworkPolicy', 'istiod-from-kubeflow'))).toEqual({
      podSelector: { matchLabels: { app: 'istiod' } }, policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: {}, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kubeflow' } } }], ports: [{ port: 15012, protocol: 'TCP' }] }],
    });
    for (const p of all(s, 'NetworkPolicy')) expect(p.waveName).toBe('isolation');
  });

  test('enrolment (sidecar): every pod of the namespace reaches istiod on 15012', () => {
    expect(policyNames(s, 'kubeflow')).toEqual(['allow-dns', 'default-deny', 'kubeflow-to-istiod']);
    // `matchLabels: {}` selects every pod of the namespace, like `{}`.
    expect(spec(get(s, 'NetworkPolicy', 'kubeflow-to-istiod'))).toEqual({
      podSelector: {}, policyTypes: ['Egress'],
      egress: [{ to: [{ podSelector: { matchLabels: { app: 'istiod' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } } }], ports: [{ port: 15012, protocol: 'TCP' }] }],
    });
  });

  test('managed mode requires nothing of the cluster admins', () => {
    expect(mesh.requirements).toEqual([]);
  });
});

describe('managed, ambient', () => {
  const { s, mesh } = build({ dataplane: 'ambient', platform: 'gke' }, { extra: (_c, m, ns) => { m.waypoint(ns); } });
  const values = (name: string): { readonly profile?: string } => valuesOf(s, name) as { readonly profile?: string };

  test('profile ambient on istiod, cni and ztunnel; ztunnel after istiod, with its image, resources and privileged reason', () => {
    for (const name of ['istiod', 'istio-cni', 'ztunnel']) expect(values(name).profile).toBe('ambient');
    expect(values('istio-base')).not.toHaveProperty('profile');
    expect(values('ztunnel')).toEqual({
      profile: 'ambient', global: { platform: 'gke' }, istioNamespace: 'istio-system', image: 'gcr.io/istio-release/ztunnel:1.29.6',
      resources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { memory: '1Gi' } },
    });
    expect(istiodValues(s).global.platform).toBe('gke');
    expect(get(s, 'HelmRelease', 'ztunnel').waveName).toBe('mesh');
    expect(releaseSpec(get(s, 'HelmRelease', 'ztunnel')).chart.spec).toMatchObject({ chart: 'ztunnel', version: CHARTS.ztunnel.version });
    expect(releaseSpec(get(s, 'HelmRelease', 'ztunnel')).dependsOn).toEqual([{ name: 'istiod', namespace: 'flux-system' }]);
    expect(get(s, 'HelmRelease', 'ztunnel').manifest.metadata.annotations?.[PRIVILEGED_REASON_ANNOTATION]).toMatch(/ztunnel is the ambient node proxy/);
    expect(get(s, 'Namespace', 'istio-cni').manifest.metadata.annotations?.[POD_SECURITY_REASON_ANNOTATION]).toMatch(/istio-cni .*; ztunnel is/);
    expect(releaseSpec(get(s, 'HelmRelease', 'ztunnel')).targetNamespace).toBe('istio-cni');
    // istiod issues certificates only to a ztunnel it trusts: the one in the node agents' namespace.
    expect(istiodValues(s).pilot.trustedZtunnelNamespace).toBe('istio-cni');
  });

  test('ztunnel reaches istiod; enrolled namespaces do not (their pods never talk to istiod in ambient mode), waypoints do', () => {
    expect(policyNames(s, 'istio-system')).toEqual([
      'allow-dns', 'default-deny', 'istiod-from-kube-apiserver', 'istiod-from-kubeflow-waypoint', 'istiod-from-ztunnel', 'istiod-to-kube-apiserver',
    ]);
    expect(policyNames(s, 'istio-cni')).toEqual(['allow-dns', 'default-deny', 'istio-cni-to-kube-apiserver', 'ztunnel-to-istiod']);
    expect(policySpec(get(s, 'NetworkPolicy', 'kubeflow-waypoint-to-istiod')).podSelector).toEqual({ matchLabels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' } });
  });

  test('enrolment (ambient): HBONE 15008 in and out with ambient namespaces and istio-system; SNATed kubelet probes in', () => {
    expect(policyNames(s, 'kubeflow')).toEqual([
      'allow-dns', 'default-deny', 'kubeflow-waypoint-to-istiod', 'mesh-hbone-egress', 'mesh-hbone-ingress', 'mesh-kubelet-probes',
    ]);
    const peers = [
      { namespaceSelector: { matchLabels: { 'istio.io/dataplane-mode': 'ambient' } } },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-system' } } },
    ];
    const port = [{ port: 15008, protocol: 'TCP' }];
    expect(spec(get(s, 'NetworkPolicy', 'mesh-hbone-ingress'))).toEqual({ podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: peers, ports: port }] });
    expect(spec(get(s, 'NetworkPolicy', 'mesh-hbone-egress'))).toEqual({ podSelector: {}, policyTypes: ['Egress'], egress: [{ to: peers, ports: port }] });
    expect(spec(get(s, 'NetworkPolicy', 'mesh-kubelet-probes'))).toEqual({
      podSelector: {}, policyTypes: ['Ingress'],
      ingress: [{ from: [{ ipBlock: { cidr: '169.254.7.127/32' } }, { ipBlock: { cidr: 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128' } }] }],
    });
  });

  test('a waypoint: a Gateway of class istio-waypoint after the mesh, the Gateway API declared external and required', () => {
    const gw = get(s, 'Gateway', 'waypoint', 'kubeflow');
    expect(gw.manifest.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(gw.manifest.metadata.labels?.['istio.io/waypoint-for']).toBe('service');
    expect(spec(gw)).toEqual({ gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] });
    expect(gw.wave).toBeGreaterThan(waveIndex(s, 'mesh'));
    expect(get(s, 'Namespace', 'kubeflow').manifest.metadata.labels?.['istio.io/use-waypoint']).toBe('waypoint');
    expect(s.externalApis.find((a) => a.group === 'gateway.networking.k8s.io')).toMatchObject({ kind: 'Gateway', versions: ['v1'] });
    expect(s.externalApis.find((a) => a.group === 'gateway.networking.k8s.io')?.providedBy).toMatch(/Gateway API >= v1\.4.*cluster admins/);
    expect(mesh.requirements).toEqual(['Kubernetes Gateway API >= v1.4 CRDs, standard channel (for the ambient waypoints)']);
  });
});

describe('managed, delivered by Argo CD', () => {
  const delivery: HelmDelivery = { type: 'argocd', namespace: 'argocd', project: 'default' };
  const { s } = build({ dataplane: 'ambient' }, { context: { helmDelivery: delivery } });

  test('an Application per chart at the pinned version, istio-base a wave before the rest; no Flux object', () => {
    const apps = all(s, 'Application');
    expect(apps.map((a) => a.manifest.metadata.name).sort()).toEqual(['istio-base', 'istio-cni', 'istiod', 'ztunnel']);
    for (const app of apps) {
      expect(app.manifest.metadata.namespace).toBe('argocd');
      expect(spec(app)).toMatchObject({ project: 'default', source: { repoURL: CHARTS.istiod.repository, targetRevision: '1.29.6' } });
      expect((spec(app) as ApplicationSpec).destination.namespace).toBe(['istio-cni', 'ztunnel'].includes(app.manifest.metadata.name) ? 'istio-cni' : 'istio-system');
    }
    expect((spec(get(s, 'Application', 'istiod')) as ApplicationSpec).source.helm.valuesObject.pilot.image).toBe('gcr.io/istio-release/pilot:1.29.6');
    expect(get(s, 'Application', 'istio-base').wave).toBeLessThan(get(s, 'Application', 'istiod').wave);
    expect(get(s, 'Application', 'istiod').wave).toBe(get(s, 'Application', 'ztunnel').wave);
    expect(get(s, 'Application', 'ztunnel').manifest.metadata.annotations?.[PRIVILEGED_REASON_ANNOTATION]).toMatch(/ztunnel/);
    expect(s.objects.filter((o) => o.manifest.apiVersion.includes('fluxcd'))).toEqual([]);
    expect(harness(s)).toEqual([]);
  });
});

describe('external', () => {
  const { s, mesh } = build({ mode: 'external', version: '1.29.3', extensionProviders: [OAUTH2_PROXY] });

  test('declares the Istio kinds kfkit emits, at the required release, and the namespace; installs nothing', () => {
    const istio = s.externalApis.filter((a) => a.group.endsWith('.istio.io'));
    expect(istio.map((a) => `${a.group}/${a.kind}`).sort()).toEqual([
      'networking.istio.io/DestinationRule', 'networking.istio.io/Gateway', 'networking.istio.io/ServiceEntry', 'networking.istio.io/Sidecar',
      'networking.istio.io/VirtualService', 'networking.istio.io/WorkloadEntry', 'networking.istio.io/WorkloadGroup',
      'security.istio.io/AuthorizationPolicy', 'security.istio.io/PeerAuthentication', 'security.istio.io/RequestAuthentication',
      'telemetry.istio.io/Telemetry',
    ]);
    for (const api of istio) {
      expect(api).toEqual({ group: api.group, kind: api.kind, versions: ['v1'], providedBy: 'Istio >= 1.29.3 (installed by the cluster admins)' });
    }
    expect(s.externalObjects).toEqual([expect.objectContaining({ apiVersion: 'v1', kind: 'Namespace', name: 'istio-system' })]);
    expect(s.helmReleases).toEqual([]);
    expect(s.objects.filter((o) => ['HelmRelease', 'Application', 'HelmRepository'].includes(o.manifest.kind))).toEqual([]);
    expect(s.objects.filter((o) => o.manifest.metadata.namespace === 'istio-system' || o.manifest.metadata.name === 'istio-system')).toEqual([]);
    expect(mesh.version).toBe('1.29.3');
    expect(mesh.releases).toBeUndefined();
  });

  test('enrolment writes only the client side: no policy in the admins\' namespace', () => {
    expect(policyNames(s, 'kubeflow')).toEqual(['allow-dns', 'default-deny', 'kubeflow-to-istiod']);
    expect(policySpec(get(s, 'NetworkPolicy', 'kubeflow-to-istiod')).egress[0].ports).toEqual([{ port: 15012, protocol: 'TCP' }]);
  });

  test('requirements list what the admins\' Istio must have, extension providers included', () => {
    expect(mesh.requirements).toEqual([
      'Istio >= 1.29.3, istiod in namespace istio-system',
      expect.stringMatching(/^sidecar dataplane with istio-cni \(istiod value pilot\.cni\.enabled: true\)/),
      'trust domain cluster.local (meshConfig.trustDomain)',
      'meshConfig.extensionProviders: oauth2-proxy (envoyExtAuthzHttp, service oauth2-proxy.oauth2-proxy.svc.cluster.local port 80)',
    ]);
    const ambient = build({ mode: 'external', dataplane: 'ambient' }).mesh;
    expect(ambient.requirements[1]).toBe('ambient dataplane: istiod, istio-cni and ztunnel installed with profile ambient');
  });
});

describe('extension providers added later (by the auth component)', () => {
  const { s, mesh } = build({}, { extra: (_c, m) => { m.addExtensionProvider(OAUTH2_PROXY); } });

  test('reach istiod\'s meshConfig and the release spec the Pulumi program deploys', () => {
    expect(istiodValues(s).meshConfig.extensionProviders).toEqual([OAUTH2_PROXY]);
    const release = s.helmReleases.find((r) => r.releaseName === 'istiod');
    expect((release?.values as IstiodValues | undefined)?.meshConfig.extensionProviders).toEqual([OAUTH2_PROXY]);
    expect(mesh.extensionProviders).toEqual([OAUTH2_PROXY]);
  });

  test('optional lists are left out when not given', () => {
    const { s: bare } = build({ extensionProviders: [{ name: 'ext', envoyExtAuthzHttp: { service: 'ext.auth.svc.cluster.local', port: 8080 } }] });
    expect(istiodValues(bare).meshConfig.extensionProviders).toEqual([
      { name: 'ext', envoyExtAuthzHttp: { service: 'ext.auth.svc.cluster.local', port: 8080 } },
    ]);
  });
});

describe('enrolment and waypoints through IMesh (what other components call)', () => {
  test('a namespace created elsewhere gets the policies, not the labels; another component\'s scope holds them', () => {
    const { s } = build({ dataplane: 'ambient', mode: 'external' }, {
      extra: (chart, mesh) => {
        enrolInMesh(chart, mesh, { name: 'team-a' });
        addWaypoint(chart, mesh, { name: 'team-a' }, { name: 'team-a-waypoint', for: 'all' });
      },
    });
    expect(policyNames(s, 'team-a')).toEqual(['mesh-hbone-egress', 'mesh-hbone-ingress', 'mesh-kubelet-probes', 'team-a-team-a-waypoint-to-istiod']);
    expect(get(s, 'Gateway', 'team-a-waypoint', 'team-a').manifest.metadata.labels?.['istio.io/waypoint-for']).toBe('all');
    expect(s.objects.some((o) => o.manifest.kind === 'Namespace' && o.manifest.metadata.name === 'team-a')).toBe(false);
  });

  test('a waypoint can leave the namespace label to its owner', () => {
    const { s } = build({ dataplane: 'ambient' }, { extra: (_c, m, ns) => { m.waypoint(ns, { useForNamespace: false }); } });
    expect(get(s, 'Namespace', 'kubeflow').manifest.metadata.labels).not.toHaveProperty('istio.io/use-waypoint');
  });
});

describe('guards', () => {
  test('an Istio object in the same wave as istio-base is a crd finding', () => {
    const { s } = build({}, {
      extra: (chart, _m, _ns, ctx) => {
        const early = new ApiObject(chart, 'Early', {
          apiVersion: ISTIO_SECURITY_API, kind: 'PeerAuthentication', metadata: { name: 'strict', namespace: 'kubeflow' }, spec: { mtls: { mode: 'STRICT' } },
        });
        ctx.plan.assign(early, IstioMesh.crdWave(chart));
      },
    });
    expect(harness(s)).toEqual([expect.objectContaining({
      rule: 'crd', object: 'PeerAuthentication/kubeflow/strict',
      message: expect.stringMatching(/installed by HelmRelease\/flux-system\/istio-base in wave \d+ \(mesh-crds\); this object is in wave \d+ \(mesh-crds\) and must come later/),
    })]);
  });

  test('a waypoint needs the ambient dataplane', () => {
    expect(() => build({}, { extra: (_c, m, ns) => { m.waypoint(ns); } })).toThrow(/waypoints are part of the ambient dataplane; this mesh uses sidecar/);
  });

  test('Istio older than 1.29, or newer than the managed charts, is refused with the fix', () => {
    expect(() => build({ mode: 'external', version: '1.28' })).toThrow(/kfkit needs Istio 1.29 or later, not 1.28; upgrade Istio/);
    expect(() => build({ version: '1.30' })).toThrow(/managed mode installs Istio 1.29.6, older than the required 1.30; lower version or use mode external/);
    expect(() => build({ mode: 'external', version: 'latest' })).toThrow(/version "latest" must be a release such as 1.29/);
  });

  test('names, modes and extension providers are checked', () => {
    expect(() => build({ namespace: 'Istio_System' })).toThrow(/namespace "Istio_System" must be a DNS label/);
    expect(() => build({ trustDomain: 'bad domain' })).toThrow(/trustDomain "bad domain" must be a DNS name/);
    expect(() => build({ mode: 'none' as 'managed' })).toThrow(/mode "none" must be external or managed/);
    expect(() => build({ dataplane: 'proxyless' as 'sidecar' })).toThrow(/dataplane "proxyless" must be sidecar or ambient/);
    expect(() => build({ extensionProviders: [OAUTH2_PROXY, OAUTH2_PROXY] })).toThrow(/extension provider "oauth2-proxy" is defined twice/);
    const port = { ...OAUTH2_PROXY, envoyExtAuthzHttp: { ...OAUTH2_PROXY.envoyExtAuthzHttp, port: 0 } };
    expect(() => build({ extensionProviders: [port] })).toThrow(/has port 0; use 1-65535/);
    const service = { ...OAUTH2_PROXY, envoyExtAuthzHttp: { ...OAUTH2_PROXY.envoyExtAuthzHttp, service: ' ' } };
    expect(() => build({ extensionProviders: [service] })).toThrow(/needs envoyExtAuthzHttp.service/);
    expect(() => build({ extensionProviders: [{ ...OAUTH2_PROXY, name: 'bad name' }] })).toThrow(/name "bad name" must be letters/);
    expect(() => build({}, { extra: (chart, m) => { enrolInMesh(chart, m, { name: 'Bad' }); } })).toThrow(/"Bad" is not a namespace name/);
    expect(() => build({ dataplane: 'ambient' }, { extra: (_c, m, ns) => { m.waypoint(ns, { name: 'Way' }); } })).toThrow(/name "Way" must be a DNS label/);
  });

  test('a namespace enrolled twice by the same owner is an error', () => {
    expect(() => build({}, { extra: (_c, m, ns) => { m.enrol(ns); } })).toThrow(/MeshEnrolment-kubeflow/);
  });
});
