import * as path from 'path';
import * as YAML from 'yaml';
import { loadOverlay, resolveConfig } from '../lib/config/load';
import { PlatformConfig } from '../lib/config/schema';
import { CHARTS } from '../lib/core/charts';
import { Synthesized } from '../lib/synth/collect';
import { checkPlatform, synthesize } from '../lib/synth/index';
import { validate } from '../lib/validate/harness';
import { K8sObject } from '../lib/validate/types';
import { STACKS } from '../stacks';
import * as fs from 'fs';
import { cli, localConfig, ROOT, withOverlays } from './helpers';

const OVERLAYS = path.join(ROOT, 'overlays');

function env(name: string): { config: PlatformConfig; s: Synthesized } {
  const config = loadOverlay(OVERLAYS, name, STACKS);
  return { config, s: synthesize(config) };
}

function objects(s: Synthesized, kind: string, namespace?: string): K8sObject[] {
  return s.objects.map((o) => o.manifest).filter((m) => m.kind === kind && (namespace === undefined || m.metadata.namespace === namespace));
}

function one(s: Synthesized, kind: string, name: string): { manifest: K8sObject; wave: number } {
  const found = s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

describe('local-auth: the local stack behind a login', () => {
  const { config, s } = env('local-auth');

  test('validates, with fidelity, and installs cert-manager → Istio → certificates → workloads → routes and policies in order', () => {
    expect(checkPlatform(s, config)).toEqual([]);
    const wave = (kind: string, name: string) => one(s, kind, name).wave;
    expect(wave('HelmRelease', 'cert-manager')).toBeLessThan(wave('HelmRelease', 'istio-base'));
    expect(wave('HelmRelease', 'istio-base')).toBeLessThan(wave('HelmRelease', 'istiod'));
    expect(wave('HelmRelease', 'istiod')).toBeLessThan(wave('Certificate', 'kubeflow-gateway'));
    expect(wave('Certificate', 'kubeflow-gateway')).toBeLessThan(wave('Deployment', 'istio-ingressgateway'));
    expect(wave('Deployment', 'dex')).toBeLessThan(wave('RequestAuthentication', 'dex-jwt'));
    expect(wave('Deployment', 'ml-pipeline-ui')).toBeLessThan(wave('VirtualService', 'ml-pipeline-ui'));
  });

  test('the platform namespace is in the mesh; the KFP UI is routed at /pipeline and admits only the ingress gateway', () => {
    expect(one(s, 'Namespace', 'kubeflow').manifest.metadata.labels).toMatchObject({ 'istio-injection': 'enabled' });
    const vs = one(s, 'VirtualService', 'ml-pipeline-ui').manifest as K8sObject & { spec: Record<string, unknown> };
    expect(JSON.stringify(vs.spec)).toContain('"prefix":"/pipeline"');
    expect(JSON.stringify(vs.spec)).toContain('ml-pipeline-ui.kubeflow.svc.cluster.local');
    const policy = one(s, 'AuthorizationPolicy', 'ml-pipeline-ui').manifest;
    expect(JSON.stringify(policy)).toContain('cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
  });

  test('every web app behind the gateway has an AuthorizationPolicy: removing the KFP UI\'s is a finding', () => {
    // Multi-user adds a second policy on the UI's pods (callers inside the mesh); without both, the route is unguarded.
    const without = { ...s, objects: s.objects.filter((o) => !(o.manifest.kind === 'AuthorizationPolicy' && ['ml-pipeline-ui', 'ml-pipeline-ui-in-mesh'].includes(o.manifest.metadata.name))) };
    expect(validate(without)).toEqual([expect.objectContaining({ rule: 'gateway-authz', object: 'VirtualService/kubeflow/ml-pipeline-ui' })]);
  });

  test('users log in through oauth2-proxy (a CUSTOM policy at the gateway, registered as the mesh\'s extension provider)', () => {
    const custom = objects(s, 'AuthorizationPolicy', 'istio-system').find((p) => (p.spec as { action?: string }).action === 'CUSTOM');
    expect(custom?.spec).toMatchObject({ provider: { name: 'oauth2-proxy' } });
    const istiod = one(s, 'HelmRelease', 'istiod').manifest.spec as { values: { meshConfig: { extensionProviders: { name: string }[] } } };
    expect(istiod.values.meshConfig.extensionProviders.map((p) => p.name)).toEqual(['oauth2-proxy']);
  });

  test('no Secret objects and no password material in the output', () => {
    expect(objects(s, 'Secret')).toEqual([]);
    expect(JSON.stringify(s.objects)).not.toMatch(/\$2[aby]\$\d\d\$/);
  });
});

describe('full: everything built so far', () => {
  const { config, s } = env('full');

  test('validates with fidelity, delivered by Argo CD Applications', () => {
    expect(checkPlatform(s, config)).toEqual([]);
    expect(objects(s, 'HelmRelease')).toEqual([]);
    expect(objects(s, 'Application', 'argocd').map((a) => a.metadata.name).sort()).toEqual([
      'cert-manager', 'istio-base', 'istio-cni', 'istiod', 'knative-operator',
    ]);
  });

  test('multi-user with three teams', () => {
    expect(objects(s, 'Profile').map((p) => p.metadata.name)).toEqual(['forecasting', 'research', 'vision']);
  });

  test('ambient data plane (standalone): the namespace is enrolled without sidecars', () => {
    const doc = YAML.parse(fs.readFileSync(path.join(OVERLAYS, 'full.yaml'), 'utf8')) as Record<string, unknown>;
    const ambient = resolveConfig({ ...doc, istio: { mode: 'managed', dataplane: 'ambient' }, pipelines: { mode: 'standalone' }, tenancy: {}, notebooks: { enabled: false } }, STACKS);
    const a = synthesize(ambient);
    expect(checkPlatform(a, ambient)).toEqual([]);
    const labels = one(a, 'Namespace', 'kubeflow').manifest.metadata.labels;
    expect(labels).toMatchObject({ 'istio.io/dataplane-mode': 'ambient' });
    expect(labels).not.toHaveProperty('istio-injection');
    expect(objects(a, 'Application', 'argocd').map((x) => x.metadata.name)).toContain('ztunnel');
  });

  test('ACME: cert-manager may reach the ACME server and self-check through the gateway; the challenge path is public', () => {
    expect(objects(s, 'NetworkPolicy', 'cert-manager').map((p) => p.metadata.name)).toContain('cert-manager-controller-to-acme');
    const deny = objects(s, 'AuthorizationPolicy', 'istio-system').find((p) => JSON.stringify(p.spec).includes('notPaths'));
    expect(JSON.stringify(deny?.spec)).toContain('/.well-known/acme-challenge/*');
  });

  test('kfkit list-charts lists every managed chart with its pinned version', () => {
    const out = cli(['list-charts', '--env', 'full']);
    expect(out.code).toBe(0);
    const rows = out.out.split('\n').map((l) => l.split('\t'));
    expect(rows.map((r) => r[0])).toEqual([
      'cert-manager/cert-manager', 'istio-cni/istio-cni', 'istio-system/istio-base', 'istio-system/istiod',
      'knative-operator/knative-operator',
    ]);
    for (const r of rows) expect(r[3]).toBe(Object.values(CHARTS).find((c) => c.chart === r[2])?.version);
  });

  test('kfkit list-images includes the chart images and not the injected proxy placeholder', () => {
    const images = cli(['list-images', '--env', 'full']).out.split('\n');
    expect(images).toEqual(expect.arrayContaining([expect.stringMatching(/\/pilot:/), expect.stringMatching(/\/install-cni:/), expect.stringMatching(/cert-manager-controller:/)]));
    expect(images).not.toContain('auto');
  });
});

describe('external Istio and cert-manager', () => {
  const overlay = 'stack: local\ncertManager: { mode: external }\nistio: { mode: external, version: "1.30" }\nauth:\n  mode: dex\n  dex:\n'
    + '    staticUsers:\n      - { email: a@example.com, hashSecret: { name: s, key: k } }\n';

  test('no chart, no istio-system Namespace; the APIs are declared with the minimum versions', () => {
    const config = localConfig({
      certManager: { mode: 'external' }, istio: { mode: 'external', version: '1.30' },
      auth: { mode: 'dex', dex: { staticUsers: [{ email: 'a@example.com', hashSecret: { name: 's', key: 'k' } }] } },
    });
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    expect(s.helmReleases).toEqual([]);
    expect(s.externalApis.find((a) => a.kind === 'AuthorizationPolicy')?.providedBy).toBe('Istio >= 1.30 (installed by the cluster admins)');
    expect(s.externalApis.find((a) => a.kind === 'Certificate')?.providedBy).toMatch(/^cert-manager >= 1\.19/);
    expect(s.objects.some((o) => o.manifest.kind === 'Namespace' && o.manifest.metadata.name === 'istio-system')).toBe(false);
  });

  test('what the admins\' mesh must provide is printed by synth and recorded in kfkit.json', () => {
    const dir = withOverlays({ ext: overlay });
    const out = cli(['synth', '--env', 'ext', '--out', 'dist'], dir);
    expect(out.code).toBe(0);
    expect(out.err).toContain('kfkit synth: ext: the cluster must provide: Istio >= 1.30, istiod in namespace istio-system');
    expect(out.err).toMatch(/must provide: meshConfig\.extensionProviders: oauth2-proxy \(envoyExtAuthzHttp, service oauth2-proxy\.oauth2-proxy\.svc\.cluster\.local port 80\)/);
    expect(out.err).toMatch(/must provide: namespace istio-system admits injected gateways/);
    const metadata = JSON.parse(fs.readFileSync(path.join(dir, 'dist', 'ext', 'kfkit.json'), 'utf8')) as { requirements: string[] };
    expect(metadata.requirements).toHaveLength(5);
    // A managed mesh needs nothing from the admins.
    expect(env('local-auth').s.requirements).toEqual([]);
  });
});

describe('multi-user Pipelines', () => {
  const user = [{ email: 'user@example.com', hashSecret: { name: 'dex-users', key: 'user-hash' } }];
  const config = localConfig({
    pipelines: { mode: 'multi-user' }, certManager: { mode: 'managed' }, istio: { mode: 'managed' }, auth: { mode: 'dex', dex: { staticUsers: user } },
  });
  const s = synthesize(config);

  test('validates with fidelity; the profile controller, KFAM and the dashboard come with it', () => {
    expect(checkPlatform(s, config)).toEqual([]);
    expect(objects(s, 'Deployment', 'kubeflow').map((d) => d.metadata.name)).toEqual(expect.arrayContaining(['profiles-deployment', 'centraldashboard', 'ml-pipeline']));
    expect(one(s, 'CustomResourceDefinition', 'profiles.kubeflow.org').wave).toBe(0);
  });

  test('the API server trusts the gateway\'s user header; the dashboard is routed at / and may call KFAM', () => {
    const installConfig = one(s, 'ConfigMap', 'pipeline-install-config').manifest as K8sObject & { data: Record<string, string> };
    expect(JSON.stringify(installConfig.data)).toContain('kubeflow-userid');
    expect(JSON.stringify(one(s, 'VirtualService', 'centraldashboard').manifest)).toContain('"prefix":"/"');
    expect(JSON.stringify(one(s, 'AuthorizationPolicy', 'profiles-kfam').manifest)).toContain('cluster.local/ns/kubeflow/sa/centraldashboard');
  });

  test('standalone has none of it', () => {
    const standalone = synthesize(localConfig({ certManager: { mode: 'managed' }, istio: { mode: 'managed' }, auth: { mode: 'dex', dex: { staticUsers: user } } }));
    expect(standalone.objects.some((o) => o.manifest.metadata.name === 'profiles-deployment' || o.manifest.metadata.name === 'centraldashboard')).toBe(false);
  });
});
