import { ApiObject, App, Chart } from 'cdk8s';
import * as pulumi from '@pulumi/pulumi';
import { CHARTS } from '../lib/core/charts';
import { KfkitContext } from '../lib/core/context';
import { CHART_SOURCES_WAVE, HELM_RELEASE_ANNOTATION, HelmDelivery, HelmRelease } from '../lib/core/helm';
import { PlatformNamespace } from '../lib/core/namespace';
import { applyPlan } from '../lib/synth/apply';
import { collect, Synthesized } from '../lib/synth/collect';
import { renderTree } from '../lib/synth/write';
import { validate } from '../lib/validate/harness';
import { K8sObject } from '../lib/validate/types';
import { cli, localConfig, withOverlays } from './helpers';
import { checkPlatform, synthesize } from '../lib/synth/index';

/** A tree with one namespace and the releases `build` adds, delivered as `delivery`. */
function tree(delivery: HelmDelivery | undefined, build: (chart: Chart, ctx: KfkitContext) => void): Synthesized {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'], helmDelivery: delivery });
  build(chart, ctx);
  return collect(chart);
}

function find(s: Synthesized, kind: string, name: string): { manifest: K8sObject; wave: number; waveName: string } {
  const found = s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

/** istio-base (provides Gateway) in a `mesh` wave after the namespaces, istiod depending on it. */
function mesh(chart: Chart, ctx: KfkitContext): { base: HelmRelease; istiod: HelmRelease } {
  new PlatformNamespace(chart, 'IstioNs', { name: 'istio-system', podSecurity: 'privileged' });
  const wave = ctx.plan.addWave('mesh', { description: 'mesh', after: [ctx.plan.namespaces], before: [ctx.plan.cluster] });
  const base = new HelmRelease(chart, 'Base', {
    chart: 'istio-base', releaseName: 'istio-base', namespace: 'istio-system', values: { defaultRevision: 'default' },
    provides: [{ group: 'networking.istio.io', kinds: ['Gateway'], versions: ['v1'] }],
  });
  const istiod = new HelmRelease(chart, 'Istiod', {
    chart: 'istiod', releaseName: 'istiod', namespace: 'istio-system', values: { pilot: { autoscaleEnabled: false } }, dependsOn: [base],
  });
  ctx.plan.assign(base, wave);
  ctx.plan.assign(istiod, wave);
  return { base, istiod };
}

function gatewayObject(chart: Chart): ApiObject {
  return new ApiObject(chart, 'Gateway', {
    apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'kubeflow-gateway', namespace: 'istio-system' },
    spec: { selector: { istio: 'ingressgateway' }, servers: [] },
  });
}

describe('HelmRelease delivered by Flux', () => {
  const s = tree(undefined, (chart, ctx) => { mesh(chart, ctx); gatewayObject(chart); });

  test('a HelmRelease per chart with the catalog version, values, CRD policy and dependsOn', () => {
    const istiod = find(s, 'HelmRelease', 'istiod');
    expect(istiod.manifest.metadata.namespace).toBe('flux-system');
    expect(istiod.manifest.metadata.annotations?.[HELM_RELEASE_ANNOTATION]).toBe('istio-system/istiod');
    expect(istiod.manifest.spec).toMatchObject({
      releaseName: 'istiod', targetNamespace: 'istio-system', storageNamespace: 'istio-system',
      chart: { spec: { chart: 'istiod', version: CHARTS.istiod.version, sourceRef: { kind: 'HelmRepository', name: 'istio', namespace: 'flux-system' } } },
      install: { crds: 'CreateReplace' }, upgrade: { crds: 'CreateReplace' },
      dependsOn: [{ name: 'istio-base', namespace: 'flux-system' }],
      values: { pilot: { autoscaleEnabled: false } },
    });
    expect(find(s, 'HelmRelease', 'istio-base').manifest.spec).not.toHaveProperty('dependsOn');
  });

  test('one HelmRepository per repository, in a wave before the namespaces', () => {
    const repos = s.objects.filter((o) => o.manifest.kind === 'HelmRepository');
    expect(repos.map((r) => r.manifest.metadata.name)).toEqual(['istio']);
    expect(repos[0]?.manifest.spec).toEqual({ interval: '10m', url: CHARTS.istiod.repository });
    expect(repos[0]?.waveName).toBe(CHART_SOURCES_WAVE);
    expect(repos[0]?.wave).toBeLessThan(find(s, 'Namespace', 'istio-system').wave);
  });

  test('the release and the object of its API validate when the object comes later; kfkit apply waits for Ready', () => {
    expect(validate(s)).toEqual([]);
    expect(find(s, 'Gateway', 'kubeflow-gateway').waveName).toBe('resources');
    const mesh = s.waves.find((w) => w.name === 'mesh')!;
    expect(mesh.waits).toEqual(expect.arrayContaining([{ kind: 'HelmRelease', namespace: 'flux-system', name: 'istiod', readiness: { type: 'condition', condition: 'Ready' } }]));
    const steps = applyPlan(s.waves, { dir: 'dist/x', timeoutSeconds: 60 });
    expect(steps.map((st) => st.argv.join(' '))).toContain('kubectl wait -n flux-system --for=condition=Ready helmrelease/istiod --timeout=60s');
  });

  test('the Synthesized release list names the GitOps objects the Pulumi program replaces', () => {
    expect(s.helmReleases.map((r) => [r.namespace, r.releaseName, r.wave, r.objects])).toEqual([
      ['istio-system', 'istio-base', s.waves.find((w) => w.name === 'mesh')!.index, ['HelmRelease/flux-system/istio-base', 'HelmRepository/flux-system/istio']],
      ['istio-system', 'istiod', s.waves.find((w) => w.name === 'mesh')!.index, ['HelmRelease/flux-system/istiod', 'HelmRepository/flux-system/istio']],
    ]);
    expect(s.helmReleases[1]?.dependsOn).toEqual(['istio-system/istio-base']);
  });

  test('Flux\'s namespace and APIs are declared external', () => {
    expect(s.externalObjects).toEqual([expect.objectContaining({ kind: 'Namespace', name: 'flux-system' })]);
    expect(s.externalApis.map((a) => `${a.group}/${a.kind}`)).toEqual(expect.arrayContaining([
      'helm.toolkit.fluxcd.io/HelmRelease', 'source.toolkit.fluxcd.io/HelmRepository', 'networking.istio.io/Gateway',
    ]));
    expect(s.externalApis.find((a) => a.kind === 'Gateway')?.installedBy).toBe('HelmRelease/flux-system/istio-base');
  });
});

describe('HelmRelease delivered by Argo CD', () => {
  const delivery: HelmDelivery = { type: 'argocd', namespace: 'argocd', project: 'platform' };
  const s = tree(delivery, (chart, ctx) => { mesh(chart, ctx); gatewayObject(chart); });

  test('an Application per chart with the chart source and values; no HelmRepository', () => {
    const app = find(s, 'Application', 'istiod');
    expect(app.manifest.metadata.namespace).toBe('argocd');
    expect(app.manifest.spec).toEqual({
      project: 'platform',
      source: {
        repoURL: CHARTS.istiod.repository, chart: 'istiod', targetRevision: CHARTS.istiod.version,
        helm: { releaseName: 'istiod', valuesObject: { pilot: { autoscaleEnabled: false } } },
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'istio-system' },
      syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['ServerSideApply=true'] },
    });
    expect(s.objects.some((o) => o.manifest.kind === 'HelmRepository')).toBe(false);
    expect(validate(s)).toEqual([]);
  });

  test('kfkit apply waits for Argo CD to report the Application Healthy', () => {
    const steps = applyPlan(s.waves, { dir: 'dist/x', timeoutSeconds: 60 }).map((st) => st.argv.join(' '));
    expect(steps).toContain('kubectl wait -n argocd --for=jsonpath={.status.health.status}=Healthy application/istiod --timeout=60s');
  });
});

describe('guards', () => {
  test('an object of a chart-provided API in the release\'s own wave is a crd finding', () => {
    const s = tree(undefined, (chart, ctx) => {
      mesh(chart, ctx);
      const gw = gatewayObject(chart);
      ctx.plan.assign(gw, ctx.plan.find('mesh')!);
    });
    expect(validate(s)).toEqual([expect.objectContaining({
      rule: 'crd', object: 'Gateway/istio-system/kubeflow-gateway',
      message: expect.stringMatching(/installed by HelmRelease\/flux-system\/istio-base in wave \d+ \(mesh\); this object is in wave \d+ \(mesh\) and must come later/),
    })]);
  });

  test('an installer missing from the output is a crd finding', () => {
    const s = tree(undefined, (chart, ctx) => { mesh(chart, ctx); gatewayObject(chart); });
    const without = { ...s, objects: s.objects.filter((o) => o.manifest.metadata.name !== 'istio-base') };
    expect(validate(without)).toEqual([expect.objectContaining({ rule: 'crd', message: expect.stringMatching(/which is not in the output/) })]);
  });

  test('release names must be Helm release names, and unique', () => {
    expect(() => tree(undefined, (chart) => {
      new HelmRelease(chart, 'Bad', { chart: 'istiod', releaseName: 'Istio_D', namespace: 'istio-system', values: {} });
    })).toThrow(/releaseName "Istio_D" must be a DNS label of at most 53 characters/);
    expect(() => tree(undefined, (chart) => {
      new HelmRelease(chart, 'A', { chart: 'istiod', releaseName: 'istiod', namespace: 'istio-system', values: {} });
      new HelmRelease(chart, 'B', { chart: 'istiod', releaseName: 'istiod', namespace: 'istio-system', values: {} });
    })).toThrow(/a Helm release istio-system\/istiod already exists/);
  });
});

describe('managed cert-manager', () => {
  const config = localConfig({ certManager: { mode: 'managed' }, images: { registryMirror: 'registry.corp.example/mirror' } });
  const s = synthesize(config);

  test('validates; the chart installs before the certificates and the webhook-serving Deployments', () => {
    expect(checkPlatform(s, config)).toEqual([]);
    const release = find(s, 'HelmRelease', 'cert-manager');
    expect(release.waveName).toBe('cert-manager');
    expect(release.wave).toBeLessThan(find(s, 'Certificate', 'kfp-cache-cert').wave);
    expect(release.wave).toBeGreaterThan(find(s, 'Namespace', 'cert-manager').wave);
    expect(release.manifest.spec).toMatchObject({ chart: { spec: { chart: 'cert-manager', version: CHARTS['cert-manager'].version } } });
  });

  test('images come from the catalog through the mirror, every container has a budget, CRDs are kept on uninstall', () => {
    const values = (find(s, 'HelmRelease', 'cert-manager').manifest.spec as { values: Record<string, Record<string, unknown>> }).values;
    expect(values.crds).toEqual({ enabled: true, keep: true });
    expect(values.image).toEqual({ repository: 'registry.corp.example/mirror/jetstack/cert-manager-controller', tag: 'v1.19.4' });
    for (const part of ['webhook', 'cainjector', 'startupapicheck']) {
      const v = values[part] ?? {};
      expect(v.image).toEqual({ repository: `registry.corp.example/mirror/jetstack/cert-manager-${part}`, tag: 'v1.19.4' });
      expect(v.resources).toMatchObject({ requests: { cpu: expect.any(String), memory: expect.any(String) }, limits: { memory: expect.any(String) } });
    }
    expect(s.runtimeImages).toEqual(expect.arrayContaining(['registry.corp.example/mirror/jetstack/cert-manager-acmesolver:v1.19.4']));
  });

  test('its namespace is isolated: Kubernetes API egress, webhook ingress from the API server, no ACME egress unless asked', () => {
    const policies = s.objects.filter((o) => o.manifest.kind === 'NetworkPolicy' && o.manifest.metadata.namespace === 'cert-manager').map((o) => o.manifest.metadata.name);
    expect(policies).toEqual(expect.arrayContaining(['default-deny', 'cert-manager-controller-to-kube-apiserver', 'cert-manager-webhook-from-kube-apiserver']));
    expect(policies).not.toContain('cert-manager-controller-to-acme');
  });

  test('the Pulumi program deploys it as a Helm release resource in place of its Flux objects', async () => {
    const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
    await pulumi.runtime.setMocks({
      newResource: (args) => { registered.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown> }); return { id: `${args.name}-id`, state: args.inputs as Record<string, unknown> }; },
      call: (args) => args.inputs as Record<string, unknown>,
    }, 'kfkit', 'local', false);
    const program = await import('../pulumi/program');
    const deployed = program.deployWaves(s);
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    const objects = deployed.flatMap((d) => d.objects);
    expect(objects.some((o) => o.kind === 'HelmRelease' || o.kind === 'HelmRepository')).toBe(false);
    const wave = deployed.find((d) => d.wave.name === 'cert-manager')!;
    expect(wave.releases).toHaveLength(1);
    const release = registered.find((r) => r.type === 'kubernetes:helm.sh/v3:Release');
    expect(release?.inputs).toMatchObject({
      name: 'cert-manager', namespace: 'cert-manager', chart: 'cert-manager', version: CHARTS['cert-manager'].version,
      repositoryOpts: { repo: 'https://charts.jetstack.io' }, skipAwait: false,
    });
    const next = deployed[deployed.indexOf(wave) + 1];
    expect(next.dependsOn).toEqual(expect.arrayContaining([wave.releases[0]]));
    // The chart-sources wave is empty under Pulumi; the namespaces still wait for the CRDs.
    const sources = deployed.find((d) => d.wave.name === 'chart-sources')!;
    expect([...sources.groups, ...sources.releases]).toEqual([]);
    const crds = deployed.find((d) => d.wave.name === 'crds')!;
    expect(crds.groups.length).toBeGreaterThan(0);
    expect(deployed.find((d) => d.wave.name === 'namespaces')?.dependsOn).toEqual(crds.groups);
  });

  test('kfkit list-charts prints the release; an env without managed charts prints nothing', () => {
    const dir = withOverlays({ cm: 'stack: local\ncertManager: { mode: managed }\n', plain: 'stack: local\n' });
    const out = cli(['list-charts', '--env', 'cm'], dir);
    expect(out).toMatchObject({ code: 0, out: `cert-manager/cert-manager\thttps://charts.jetstack.io\tcert-manager\t${CHARTS['cert-manager'].version}` });
    expect(cli(['list-charts', '--env', 'plain'], dir)).toMatchObject({ code: 0, out: '' });
  });

  test('Argo CD delivery is a config choice, and the tree renders', () => {
    const argo = localConfig({ certManager: { mode: 'managed' }, gitops: { helm: { delivery: 'argocd' } } });
    const sa = synthesize(argo);
    expect(checkPlatform(sa, argo)).toEqual([]);
    expect(find(sa, 'Application', 'cert-manager').manifest.metadata.namespace).toBe('argocd');
    const files = renderTree(sa, { env: 'x', stack: 'local', flux: { sourceRef: { kind: 'GitRepository', name: 'k', namespace: 'flux-system' }, path: './x', interval: '1m', timeoutSeconds: 60 } });
    expect([...files.keys()].some((f) => f.endsWith('application_argocd_cert-manager.yaml'))).toBe(true);
  });
});
