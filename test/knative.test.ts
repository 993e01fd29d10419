import { ApiObject, App, Chart } from 'cdk8s';
import {
  KNATIVE_OPERATOR_GROUP, KNATIVE_WORKLOADS, KnativeServing, KnativeServingProps, KnativeServingSpec, MANAGED_KNATIVE_RELEASE, UNUSED_GATEWAY_SELECTOR,
} from '../lib/components/knative';
import { CHARTS } from '../lib/core/charts';
import { KfkitContext } from '../lib/core/context';
import { HelmDelivery } from '../lib/core/helm';
import { IMAGES, ImageCatalog } from '../lib/core/images';
import { IKubeflowGateway, IMesh } from '../lib/core/mesh';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject } from '../lib/validate/types';

const MIRROR = 'registry.corp.example/mirror';

/** A stub mesh, as IstioMesh would describe itself. */
function stubMesh(overrides: Partial<IMesh> = {}): IMesh {
  const dataplane = overrides.dataplane ?? 'sidecar';
  return {
    namespace: 'istio-system', dataplane, mode: 'managed', trustDomain: 'cluster.local',
    enrollmentLabels: dataplane === 'sidecar' ? { 'istio-injection': 'enabled' } : { 'istio.io/dataplane-mode': 'ambient' },
    istiod: { peerName: 'istiod', namespace: 'istio-system', podLabels: { app: 'istiod' } },
    ...overrides,
  };
}

function stubGateway(mesh: IMesh): IKubeflowGateway {
  return {
    gatewayRef: 'kubeflow/kubeflow-gateway', host: 'kubeflow.localtest.me', url: 'https://kubeflow.localtest.me',
    ingress: { peerName: 'istio-ingressgateway', namespace: mesh.namespace, podLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
    ingressPrincipal: 'cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account', mesh,
  };
}

interface Built {
  readonly s: Synthesized;
  readonly knative: KnativeServing;
  readonly ctx: KfkitContext;
}

/**
 * A tree with the mesh's namespace (a managed mesh creates it; an external one is the admins'), the Istio APIs declared
 * (as the mesh declares them) and a KnativeServing; `extra` adds objects before synthesis.
 */
function build(
  props: Partial<KnativeServingProps> & { mesh?: IMesh } = {},
  options: { delivery?: HelmDelivery; images?: ImageCatalog; extra?: (chart: Chart, knative: KnativeServing, ctx: KfkitContext) => void } = {},
): Built {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'], helmDelivery: options.delivery, images: options.images ?? new ImageCatalog({ registryMirror: MIRROR }) });
  const mesh = props.mesh ?? stubMesh();
  if (mesh.mode === 'managed') new PlatformNamespace(chart, 'MeshNamespace', { name: mesh.namespace, podSecurity: 'privileged' });
  else ctx.addExternalObject({ apiVersion: 'v1', kind: 'Namespace', name: mesh.namespace, reason: 'the admins\' Istio' });
  for (const [group, kinds] of [['networking.istio.io', ['DestinationRule']], ['security.istio.io', ['AuthorizationPolicy']]] as const) {
    for (const kind of kinds) ctx.addExternalApi({ group, kind, versions: ['v1'], providedBy: 'Istio (test stub)' });
  }
  const knative = new KnativeServing(chart, 'Knative', { mode: 'managed', gateway: stubGateway(mesh), ...props, mesh });
  options.extra?.(chart, knative, ctx);
  return { s: collect(chart), knative, ctx };
}

function all(s: Synthesized, kind: string, namespace?: string): PlacedObject[] {
  return s.objects.filter((o) => o.manifest.kind === kind && (namespace === undefined || o.manifest.metadata.namespace === namespace));
}

function find(s: Synthesized, kind: string, name: string): PlacedObject {
  const found = s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

function spec(o: PlacedObject): unknown {
  return (o.manifest as K8sObject & { spec: unknown }).spec;
}

/** The KnativeServing's spec, typed as kfkit writes it. */
function ksSpec(s: Synthesized): KnativeServingSpec {
  return spec(find(s, 'KnativeServing', 'knative-serving')) as KnativeServingSpec;
}

interface ChartComponent {
  readonly image: string;
  readonly tag: string;
  readonly resources: { readonly requests: Record<string, string>; readonly limits: Record<string, string> };
}

/** The operator chart's values of the Flux HelmRelease. */
function operatorValues(s: Synthesized): { knative_operator: { knative_operator: ChartComponent; operator_webhook: ChartComponent } } {
  const release = spec(find(s, 'HelmRelease', 'knative-operator')) as { values: { knative_operator: { knative_operator: ChartComponent; operator_webhook: ChartComponent } } };
  return release.values;
}

interface PolicyRuleJson {
  readonly from?: Record<string, unknown>[];
  readonly to?: Record<string, unknown>[];
  readonly ports: { readonly port: number; readonly protocol: string }[];
}

/** A NetworkPolicy's rules, by name. */
function policy(s: Synthesized, name: string): { ingress?: PolicyRuleJson[]; egress?: PolicyRuleJson[] } {
  return spec(find(s, 'NetworkPolicy', name)) as { ingress?: PolicyRuleJson[]; egress?: PolicyRuleJson[] };
}

function ports(rules: PolicyRuleJson[] | undefined): number[] {
  return (rules?.[0]?.ports ?? []).map((p) => p.port);
}

function policyNames(s: Synthesized, namespace: string): string[] {
  return all(s, 'NetworkPolicy', namespace).map((p) => p.manifest.metadata.name).sort();
}

/** A Knative Service as KServe's controller would create it (kfkit never writes one; used to probe the API declarations). */
function knativeService(chart: Chart): ApiObject {
  return new ApiObject(chart, 'Ksvc', {
    apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'model', namespace: 'knative-serving' },
    spec: { template: { spec: { containers: [{ image: 'ghcr.io/example/model:1.0' }] } } },
  });
}

describe('managed Knative Serving, delivered by Flux', () => {
  const { s, knative } = build({}, { extra: (chart) => knativeService(chart) });

  test('validates clean (harness: OpenAPI, CRDs, references, waves)', () => {
    expect(validate(s)).toEqual([]);
  });

  test('the operator chart installs in its own wave; the KnativeServing comes later and kfkit apply waits for Ready', () => {
    const release = find(s, 'HelmRelease', 'knative-operator');
    const ks = find(s, 'KnativeServing', 'knative-serving');
    expect(release.waveName).toBe('knative-operator');
    expect(ks.waveName).toBe('knative-serving');
    expect(ks.wave).toBeGreaterThan(release.wave);
    expect(release.wave).toBeGreaterThan(find(s, 'Namespace', 'knative-operator').wave);
    expect(ks.wave).toBeGreaterThan(find(s, 'Namespace', 'knative-serving').wave);
    expect(ks.manifest.apiVersion).toBe(`${KNATIVE_OPERATOR_GROUP}/v1beta1`);
    expect(ks.manifest.metadata.namespace).toBe('knative-serving');
    const wave = s.waves.find((w) => w.name === 'knative-serving');
    expect(wave?.waits).toEqual([{ kind: 'KnativeServing', namespace: 'knative-serving', name: 'knative-serving', readiness: { type: 'condition', condition: 'Ready' } }]);
    // Before the controllers (KServe looks for Knative's CRDs once, at start-up), after cluster configuration.
    const index = (name: string) => s.waves.find((w) => w.name === name)?.index ?? -1;
    expect(index('knative-serving')).toBeGreaterThan(index('cluster'));
    expect(knative.wave?.name).toBe('knative-serving');
  });

  test('the release pins the catalog chart and provides the operator APIs; Serving\'s APIs are installed by the KnativeServing', () => {
    const release = find(s, 'HelmRelease', 'knative-operator');
    expect(spec(release)).toMatchObject({
      releaseName: 'knative-operator', targetNamespace: 'knative-operator',
      chart: { spec: { chart: 'knative-operator', version: CHARTS['knative-operator'].version, sourceRef: { kind: 'HelmRepository', name: 'knative-operator' } } },
    });
    expect(spec(find(s, 'HelmRepository', 'knative-operator'))).toMatchObject({ url: 'https://knative.github.io/operator' });
    const apis = s.externalApis.filter((a) => a.group === KNATIVE_OPERATOR_GROUP || a.group === 'serving.knative.dev');
    expect(apis.map((a) => [a.group, a.kind, a.versions.join(), a.installedBy])).toEqual([
      ['operator.knative.dev', 'KnativeEventing', 'v1beta1', 'HelmRelease/flux-system/knative-operator'],
      ['operator.knative.dev', 'KnativeServing', 'v1beta1', 'HelmRelease/flux-system/knative-operator'],
      ['serving.knative.dev', 'Configuration', 'v1', 'KnativeServing/knative-serving/knative-serving'],
      ['serving.knative.dev', 'Revision', 'v1', 'KnativeServing/knative-serving/knative-serving'],
      ['serving.knative.dev', 'Route', 'v1', 'KnativeServing/knative-serving/knative-serving'],
      ['serving.knative.dev', 'Service', 'v1', 'KnativeServing/knative-serving/knative-serving'],
    ]);
  });

  test('chart values: catalog images through the mirror, budgets with CPU and memory limits, restricted security contexts', () => {
    const values = operatorValues(s).knative_operator;
    expect(values.knative_operator).toMatchObject({
      image: `${MIRROR}/knative-releases/knative.dev/operator/cmd/operator`, tag: 'v1.21.1',
      resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '1000m', memory: '1000Mi' } },
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true },
    });
    expect(values.operator_webhook).toMatchObject({
      image: `${MIRROR}/knative-releases/knative.dev/operator/cmd/webhook`, tag: 'v1.21.1',
      resources: { limits: { cpu: '500m', memory: '500Mi' } },
    });
  });

  test('KnativeServing: Serving 1.21.1 with net-istio on the Kubeflow gateway and the cluster-local gateway, as upstream Kubeflow', () => {
    const ks = ksSpec(s);
    expect(ks.version).toBe('1.21.1');
    expect(ks.ingress).toEqual({
      istio: {
        'enabled': true,
        'knative-ingress-gateway': { selector: UNUSED_GATEWAY_SELECTOR },
        'knative-local-gateway': { selector: { app: 'cluster-local-gateway', istio: 'cluster-local-gateway' } },
      },
    });
    expect(ks.config.istio).toEqual({
      'gateway.kubeflow.kubeflow-gateway': 'istio-ingressgateway.istio-system.svc.cluster.local',
      'local-gateway.knative-serving.knative-local-gateway': 'knative-local-gateway.istio-system.svc.cluster.local',
    });
    expect(ks.config.domain).toEqual({ 'example.com': '' });
    expect(ks.config.deployment).toMatchObject({ 'progressDeadline': '600s', 'queue-sidecar-memory-limit': '256Mi' });
    expect(ks.config.features).toEqual({
      'kubernetes.podspec-affinity': 'enabled', 'kubernetes.podspec-nodeselector': 'enabled', 'kubernetes.podspec-tolerations': 'enabled',
    });
    expect(ks.podDisruptionBudgets).toEqual([{ name: 'activator-pdb', minAvailable: 0 }, { name: 'webhook-pdb', minAvailable: 0 }]);
    expect(ks.workloads?.map((w) => w.name)).toEqual(KNATIVE_WORKLOADS);
    for (const w of ks.workloads ?? []) expect(w.labels).toEqual({ 'sidecar.istio.io/inject': 'true' });
  });

  test('every Knative image comes from the catalog through the mirror (registry overrides; net-istio\'s by Deployment)', () => {
    const ks = ksSpec(s);
    const kn = `${MIRROR}/knative-releases/knative.dev`;
    expect(ks.registry.override).toEqual({
      'activator/activator': `${kn}/serving/cmd/activator:v1.21.1`,
      'autoscaler/autoscaler': `${kn}/serving/cmd/autoscaler:v1.21.1`,
      'autoscaler-hpa/autoscaler-hpa': `${kn}/serving/cmd/autoscaler-hpa:v1.21.1`,
      'controller/controller': `${kn}/serving/cmd/controller:v1.21.1`,
      'webhook/webhook': `${kn}/serving/cmd/webhook:v1.21.1`,
      'net-istio-controller/controller': `${kn}/net-istio/cmd/controller:v1.21.1`,
      'net-istio-webhook/webhook': `${kn}/net-istio/cmd/webhook:v1.21.1`,
      'queue-proxy': `${kn}/serving/cmd/queue:v1.21.1`,
      'migrate': `${kn}/pkg/apiextensions/storageversion/cmd/migrate:v1.21.1`,
      'cleanup': `${kn}/serving/pkg/cleanup/cmd/cleanup:v1.21.1`,
    });
    expect(ks.registry).not.toHaveProperty('imagePullSecrets');
    expect(ks.config.deployment['queue-sidecar-image']).toBe(`${kn}/serving/cmd/queue:v1.21.1`);
    expect(s.runtimeImages).toEqual(expect.arrayContaining([
      `${kn}/operator/cmd/operator:v1.21.1`, `${kn}/operator/cmd/webhook:v1.21.1`, `${kn}/serving/cmd/queue:v1.21.1`, `${kn}/net-istio/cmd/webhook:v1.21.1`,
    ]));
    expect(s.runtimeImages.filter((i) => i.includes('knative'))).toHaveLength(12);
  });

  test('namespaces: both restricted, knative-serving enrolled in the mesh (sidecar), the operator\'s not', () => {
    expect(find(s, 'Namespace', 'knative-serving').manifest.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted', 'istio-injection': 'enabled',
    });
    const operatorLabels = find(s, 'Namespace', 'knative-operator').manifest.metadata.labels;
    expect(operatorLabels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    expect(operatorLabels).not.toHaveProperty('istio-injection');
  });

  test('Istio policy as upstream Kubeflow: ALLOW for the control plane, ISTIO_MUTUAL towards Knative\'s services', () => {
    const selector = (p: PlacedObject) => (spec(p) as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    expect(all(s, 'AuthorizationPolicy', 'knative-serving').map((p) => [p.manifest.metadata.name, selector(p), p.waveName])).toEqual([
      ['activator-service', { app: 'activator' }, 'knative-serving'],
      ['autoscaler', { app: 'autoscaler' }, 'knative-serving'],
      ['controller', { app: 'controller' }, 'knative-serving'],
      ['istio-webhook', { app: 'net-istio-webhook' }, 'knative-serving'],
      ['webhook', { role: 'webhook' }, 'knative-serving'],
    ]);
    expect(spec(find(s, 'DestinationRule', 'knative'))).toEqual({ host: '*.knative-serving.svc.cluster.local', trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } });
  });

  test('network: default-deny in both namespaces, the operator to the API, Knative\'s data and control plane connections opened', () => {
    expect(policyNames(s, 'knative-operator')).toEqual([
      'allow-dns', 'default-deny', 'knative-operator-to-kube-apiserver', 'knative-operator-webhook-from-kube-apiserver', 'knative-operator-webhook-to-kube-apiserver',
    ]);
    expect(policyNames(s, 'knative-serving')).toEqual([
      'allow-dns', 'default-deny',
      'knative-activator-from-cluster-local-gateway', 'knative-activator-from-istio-ingressgateway',
      'knative-activator-to-knative-autoscaler', 'knative-activator-to-knative-revisions',
      'knative-autoscaler-from-knative-activator', 'knative-autoscaler-from-knative-autoscaler',
      'knative-autoscaler-to-knative-autoscaler', 'knative-autoscaler-to-knative-revisions',
      'knative-serving-to-istiod', 'knative-serving-to-kube-apiserver', 'knative-webhook-from-kube-apiserver',
      'net-istio-controller-to-cluster-local-gateway', 'net-istio-controller-to-istio-ingressgateway', 'net-istio-webhook-from-kube-apiserver',
    ]);
    // The gateways' side, in the mesh namespace (a managed mesh: kfkit owns it).
    expect(policyNames(s, 'istio-system')).toEqual(expect.arrayContaining([
      'cluster-local-gateway-from-net-istio-controller', 'cluster-local-gateway-to-knative-activator',
      'istio-ingressgateway-from-net-istio-controller', 'istio-ingressgateway-to-knative-activator', 'istiod-from-knative-serving',
    ]));
    const fromGateway = policy(s, 'knative-activator-from-istio-ingressgateway').ingress;
    expect(ports(fromGateway)).toEqual([8012, 8013]);
    expect(fromGateway?.[0]?.from?.[0]).toMatchObject({ podSelector: { matchLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } } });
    expect(ports(policy(s, 'net-istio-controller-to-cluster-local-gateway').egress)).toEqual([8081]);
    expect(ports(policy(s, 'net-istio-controller-to-istio-ingressgateway').egress)).toEqual([80, 443, 8080, 8443]);
    expect(policy(s, 'knative-activator-to-knative-revisions').egress?.[0]).toEqual({
      to: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'serving.knative.dev/revision', operator: 'Exists' }] } }],
      ports: [{ port: 8012, protocol: 'TCP' }, { port: 8013, protocol: 'TCP' }],
    });
    for (const p of all(s, 'NetworkPolicy', 'knative-serving')) expect(p.waveName).toBe('isolation');
  });

  test('IServerless: what KServe needs', () => {
    expect({
      mode: knative.mode, version: knative.version, apiVersion: knative.apiVersion, namespace: knative.namespace, ingressGateway: knative.ingressGateway,
      localGateway: knative.localGateway, localGatewayService: knative.localGatewayService, domain: knative.domain,
    }).toEqual({
      mode: 'managed', version: MANAGED_KNATIVE_RELEASE, apiVersion: 'serving.knative.dev/v1', namespace: 'knative-serving',
      ingressGateway: 'kubeflow/kubeflow-gateway', localGateway: 'knative-serving/knative-local-gateway',
      localGatewayService: 'knative-local-gateway.istio-system.svc.cluster.local', domain: 'example.com',
    });
    expect(knative.activator).toEqual({ peerName: 'knative-activator', namespace: 'knative-serving', podLabels: { app: 'activator' } });
  });
});

describe('managed Knative Serving, delivered by Argo CD', () => {
  const delivery: HelmDelivery = { type: 'argocd', namespace: 'argocd', project: 'platform' };
  const { s } = build({}, { delivery });

  test('an Application for the operator chart, the KnativeServing in a later sync wave; validates clean', () => {
    const app = find(s, 'Application', 'knative-operator');
    expect(spec(app)).toMatchObject({
      source: {
        repoURL: 'https://knative.github.io/operator', chart: 'knative-operator', targetRevision: 'v1.21.1',
        helm: { valuesObject: { knative_operator: { knative_operator: { image: `${MIRROR}/knative-releases/knative.dev/operator/cmd/operator` } } } },
      },
    });
    const ks = find(s, 'KnativeServing', 'knative-serving');
    expect(Number(ks.manifest.metadata.annotations?.['argocd.argoproj.io/sync-wave'])).toBeGreaterThan(
      Number(app.manifest.metadata.annotations?.['argocd.argoproj.io/sync-wave']));
    expect(s.externalApis.find((a) => a.kind === 'KnativeServing')?.installedBy).toBe('Application/argocd/knative-operator');
    expect(validate(s)).toEqual([]);
  });
});

describe('external Knative Serving', () => {
  function external(extra?: (chart: Chart) => void): Built {
    const app = new App();
    const chart = new Chart(app, 't', { disableResourceNameHashes: true });
    const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const mesh = stubMesh({ mode: 'external' });
    const knative = new KnativeServing(chart, 'Knative', { mode: 'external', version: '1.20', mesh, gateway: stubGateway(mesh) });
    extra?.(chart);
    return { s: collect(chart), knative, ctx };
  }

  test('declares the serving.knative.dev kinds KServe creates, provided by the admins\' Knative, and writes nothing', () => {
    const { s, knative } = external();
    expect(s.objects).toEqual([]);
    expect(s.helmReleases).toEqual([]);
    expect(s.externalApis.map((a) => [a.group, a.kind, a.versions.join(), a.providedBy, a.installedBy])).toEqual(['Configuration', 'Revision', 'Route', 'Service'].map(
      (kind) => ['serving.knative.dev', kind, 'v1', 'Knative Serving >= 1.20 with net-istio (installed by the cluster admins)', undefined]));
    expect(knative.version).toBe('1.20');
    expect(knative.mode).toBe('external');
    expect(knative.wave).toBeUndefined();
    expect(validate(s)).toEqual([]);
  });

  test('a Knative Service validates against the declaration; another version does not', () => {
    const ok = external((chart) => { new PlatformNamespace(chart, 'Ns', { name: 'knative-serving' }); knativeService(chart); });
    expect(validate(ok.s)).toEqual([]);
    const bad = external((chart) => {
      new PlatformNamespace(chart, 'Ns', { name: 'knative-serving' });
      knativeService(chart);
      new ApiObject(chart, 'Old', { apiVersion: 'serving.knative.dev/v1alpha1', kind: 'Route', metadata: { name: 'r', namespace: 'knative-serving' } });
    });
    expect(validate(bad.s)).toEqual([expect.objectContaining({ rule: 'crd', object: 'Route/knative-serving/r', message: expect.stringMatching(/declared external .* not v1alpha1/) })]);
  });
});

describe('ordering guards (harness)', () => {
  test('a KnativeServing in the operator release\'s wave is a crd finding', () => {
    const { s } = build({}, {
      extra: (_chart, knative, ctx) => { ctx.plan.assign(knative.resource!, ctx.plan.find('knative-operator')!); },
    });
    expect(validate(s)).toEqual([expect.objectContaining({
      rule: 'crd', object: 'KnativeServing/knative-serving/knative-serving',
      message: expect.stringMatching(/installed by HelmRelease\/flux-system\/knative-operator in wave \d+ \(knative-operator\); this object is in wave \d+ \(knative-operator\)/),
    })]);
  });

  test('a Knative Service in the KnativeServing\'s wave is a crd finding (Serving\'s CRDs come from the operator)', () => {
    const { s } = build({}, { extra: (chart, knative, ctx) => { ctx.plan.assign(knativeService(chart), knative.wave!); } });
    expect(validate(s)).toEqual([expect.objectContaining({
      rule: 'crd', object: 'Service/knative-serving/model', message: expect.stringMatching(/installed by KnativeServing\/knative-serving\/knative-serving/),
    })]);
  });

  test('`after` orders the KnativeServing after the given waves', () => {
    const app = new App();
    const chart = new Chart(app, 't', { disableResourceNameHashes: true });
    const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const late = ctx.plan.addWave('late-mesh', { description: 'a mesh control plane installed after cluster configuration', after: [ctx.plan.cluster] });
    const mesh = stubMesh({ mode: 'external' });
    new KnativeServing(chart, 'Knative', { mode: 'managed', mesh, gateway: stubGateway(mesh), after: [late] });
    const order = ctx.plan.order().map((w) => w.name);
    expect(order.indexOf('knative-serving')).toBeGreaterThan(order.indexOf('late-mesh'));
    expect(order.indexOf('knative-serving')).toBeLessThan(order.indexOf('controllers'));
  });
});

describe('mesh variants', () => {
  test('ambient: the namespace joins by label, HBONE is admitted, no sidecar labels on Knative\'s Deployments', () => {
    const { s } = build({ mesh: stubMesh({ dataplane: 'ambient' }) });
    expect(validate(s)).toEqual([]);
    expect(find(s, 'Namespace', 'knative-serving').manifest.metadata.labels).toMatchObject({ 'istio.io/dataplane-mode': 'ambient' });
    expect(ksSpec(s)).not.toHaveProperty('workloads');
    expect(policyNames(s, 'knative-serving')).toEqual(expect.arrayContaining(['mesh-hbone-ingress', 'mesh-hbone-egress']));
    expect(policyNames(s, 'knative-serving')).not.toContain('knative-serving-to-istiod');
  });

  test('external mesh: only knative-serving\'s side of the gateway connections; nothing in the admins\' namespace', () => {
    const { s } = build({ mesh: stubMesh({ mode: 'external' }) });
    expect(validate(s)).toEqual([]);
    expect(all(s, 'NetworkPolicy', 'istio-system')).toEqual([]);
    expect(policyNames(s, 'knative-serving')).toEqual(expect.arrayContaining([
      'knative-activator-from-istio-ingressgateway', 'net-istio-controller-to-istio-ingressgateway', 'knative-serving-to-istiod',
    ]));
  });

  test('one set of gateway pods for both gateways: one activator rule, probes on both listeners', () => {
    const mesh = stubMesh();
    const gateway = stubGateway(mesh);
    const { s, knative } = build({ mesh, gateway, localGateway: gateway.ingress, gatewayListenerPorts: [80, 443] });
    expect(validate(s)).toEqual([]);
    expect(policyNames(s, 'knative-serving').filter((n) => n.includes('gateway'))).toEqual([
      'knative-activator-from-istio-ingressgateway', 'net-istio-controller-to-istio-ingressgateway',
    ]);
    expect(ports(policy(s, 'net-istio-controller-to-istio-ingressgateway').egress)).toEqual([80, 443, 8081]);
    expect(knative.spec?.ingress.istio['knative-local-gateway'].selector).toEqual({ app: 'istio-ingressgateway', istio: 'ingressgateway' });
  });
});

describe('settings', () => {
  test('domain, features, budgets, ingress Service and pull Secrets reach the KnativeServing', () => {
    const { s } = build({
      domain: 'models.example.org', ingressService: 'kubeflow-gateway.istio-system.svc.cluster.local',
      features: { 'kubernetes.podspec-fieldref': 'enabled' },
      resources: { activator: { cpu: { request: '500m' }, memory: { request: '128Mi', limit: '1Gi' } } },
      queueProxyResources: { cpu: { request: '50m', limit: '1' }, memory: { request: '32Mi', limit: '128Mi' } },
      operatorResources: { cpu: { request: '50m' }, memory: { request: '64Mi', limit: '256Mi' } },
    }, { images: new ImageCatalog({ pullSecrets: ['regcred'] }) });
    expect(validate(s)).toEqual([]);
    const ks = ksSpec(s);
    expect(ks.config.domain).toEqual({ 'models.example.org': '' });
    expect(ks.config.istio['gateway.kubeflow.kubeflow-gateway']).toBe('kubeflow-gateway.istio-system.svc.cluster.local');
    expect(ks.config.features['kubernetes.podspec-fieldref']).toBe('enabled');
    expect(ks.config.deployment).toMatchObject({
      'queue-sidecar-cpu-request': '50m', 'queue-sidecar-cpu-limit': '1', 'queue-sidecar-memory-request': '32Mi', 'queue-sidecar-memory-limit': '128Mi',
    });
    expect(ks.workloads?.find((w) => w.name === 'activator')?.resources).toEqual([
      { container: 'activator', requests: { cpu: '500m', memory: '128Mi' }, limits: { memory: '1Gi' } },
    ]);
    expect(ks.registry.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(ks.registry.override['activator/activator']).toBe(`${IMAGES['knative-serving-activator'].repository}:v1.21.1`);
    // The chart always renders a CPU limit: without one in the budget, the chart's default is kept.
    expect(operatorValues(s).knative_operator.knative_operator.resources).toEqual({
      requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '1000m', memory: '256Mi' },
    });
    // The pull Secret must exist in Knative's namespace: declared as an external object.
    expect(s.externalObjects).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'Secret', name: 'regcred', namespace: 'knative-serving' })]));
  });

  test('the catalogs agree on the managed release: chart, operator and Serving images', () => {
    expect(CHARTS['knative-operator'].version).toBe(`v${MANAGED_KNATIVE_RELEASE}`);
    const knativeImages = Object.entries(IMAGES).filter(([key]) => key.startsWith('knative-'));
    expect(knativeImages).toHaveLength(12);
    for (const [, entry] of knativeImages) expect(entry.tag).toBe(`v${MANAGED_KNATIVE_RELEASE}`);
  });
});

describe('prop guards', () => {
  const mesh = stubMesh();
  const gateway = stubGateway(mesh);
  const make = (props: Partial<KnativeServingProps>) => () => build({ mesh, gateway, ...props });

  test('managed installs the pinned release only', () => {
    expect(make({ version: '1.20' })).toThrow(/version 1.20: managed mode installs Knative Serving 1.21.1 .*set the version to 1.21, or use mode external/);
    expect(make({ version: '1.21.3' })).toThrow(/managed mode installs Knative Serving 1.21.1/);
    expect(() => build({ mesh, gateway, version: '1.21.1' })).not.toThrow();
    expect(make({ version: 'latest' })).toThrow(/version "latest" must be a release such as 1.21 or 1.21.1/);
  });

  test('the gateway must belong to the mesh and be a <namespace>/<name> reference', () => {
    expect(make({ gateway: stubGateway(stubMesh({ namespace: 'other-istio' })) })).toThrow(/gateway kubeflow\/kubeflow-gateway belongs to another mesh \(namespace other-istio\)/);
    expect(make({ gateway: { ...gateway, gatewayRef: 'kubeflow-gateway' } })).toThrow(/gateway reference "kubeflow-gateway" must be <namespace>\/<name>/);
  });

  test('names, domain, ports and feature keys are checked, every problem at once', () => {
    expect(make({ domain: 'Models_Example', namespace: 'Knative', gatewayListenerPorts: [] })).toThrow(
      /domain "Models_Example" must be a DNS name.*; namespace "Knative" must be a DNS label; gatewayListenerPorts \[\] must list at least one port/);
    expect(make({ gatewayListenerPorts: [70000] })).toThrow(/gatewayListenerPorts \[70000\]/);
    expect(make({ features: { 'Bad Key': 'enabled' } })).toThrow(/features: "Bad Key" is not a config-features key/);
    expect(make({ ingressService: 'http://gw' })).toThrow(/ingressService "http:\/\/gw" must be a Service host/);
    expect(make({ operatorNamespace: 'x_y' })).toThrow(/operatorNamespace "x_y" must be a DNS label/);
  });

  test('managed-only settings are refused in external mode', () => {
    expect(make({ mode: 'external', features: { 'kubernetes.podspec-fieldref': 'enabled' } })).toThrow(/features applies only to mode managed .*remove it/);
    expect(make({ mode: 'external', operatorNamespace: 'ops', after: [] })).toThrow(/operatorNamespace, after apply only to mode managed .*remove them/);
  });
});
