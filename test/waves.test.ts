import { ApiObject, App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../lib/core/context';
import { GeneratedSecret } from '../lib/core/generated-secret';
import { InstallPlan } from '../lib/core/waves';
import { applyPlan } from '../lib/synth/apply';
import { collect } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { PROVIDES_ANNOTATION } from '../lib/validate/types';

function chart(): { app: App; chart: Chart; ctx: KfkitContext } {
  const app = new App();
  const c = new Chart(app, 'test', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(c, { apiServerCidrs: ['192.0.2.0/24'] });
  new k8s.KubeNamespace(c, 'Ns', { metadata: { name: 'kf' } });
  return { app, chart: c, ctx };
}

const container = (name: string, image: string) => ({
  name, image, resources: { requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromString('16Mi') }, limits: { memory: k8s.Quantity.fromString('32Mi') } },
});

function deployment(scope: Construct, name: string, extra: Partial<k8s.PodSpec> = {}): k8s.KubeDeployment {
  new k8s.KubeServiceAccount(scope, `${name}-sa`, { metadata: { name, namespace: 'kf' } });
  return new k8s.KubeDeployment(scope, name, {
    metadata: { name, namespace: 'kf' },
    spec: {
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { serviceAccountName: name, containers: [container(name, 'example.org/app:1.0')], ...extra } },
    },
  });
}

describe('install plan', () => {
  test('baseline order: crds → namespaces → cluster → controllers → resources → tenants', () => {
    expect(new InstallPlan().order().map((w) => w.name)).toEqual(['crds', 'namespaces', 'cluster', 'controllers', 'resources', 'tenants']);
  });

  test('default waves by kind', () => {
    const plan = new InstallPlan();
    expect(plan.defaultWave('apiextensions.k8s.io/v1', 'CustomResourceDefinition')).toBe(plan.crds);
    expect(plan.defaultWave('v1', 'Namespace')).toBe(plan.namespaces);
    expect(plan.defaultWave('rbac.authorization.k8s.io/v1', 'ClusterRole')).toBe(plan.cluster);
    expect(plan.defaultWave('apps/v1', 'Deployment')).toBe(plan.controllers);
    expect(plan.defaultWave('admissionregistration.k8s.io/v1', 'MutatingWebhookConfiguration')).toBe(plan.controllers);
    expect(plan.defaultWave('kubeflow.org/v1', 'Profile')).toBe(plan.resources);
  });

  test('an added wave sits between the waves it is constrained by, and the order is stable', () => {
    const plan = new InstallPlan();
    plan.addWave('late', { description: 'x', after: [plan.resources] });
    plan.addWave('early', { description: 'x', after: [plan.namespaces], before: [plan.controllers] });
    expect(plan.order().map((w) => w.name)).toEqual(['crds', 'namespaces', 'cluster', 'early', 'controllers', 'resources', 'tenants', 'late']);
  });

  test('a cycle is an error naming the waves', () => {
    const plan = new InstallPlan();
    plan.addWave('loop', { description: 'x', after: [plan.resources], before: [plan.controllers] });
    expect(() => plan.order()).toThrow(/dependency cycle among: .*controllers.*resources.*loop/);
  });

  test('wave names are validated and unique', () => {
    const plan = new InstallPlan();
    expect(() => plan.addWave('Bad Name', { description: 'x' })).toThrow(/lowercase kebab-case/);
    expect(() => plan.addWave('crds', { description: 'x' })).toThrow(/already exists/);
    const other = new InstallPlan();
    expect(() => plan.addWave('x', { description: 'x', after: [other.crds] })).toThrow(/belongs to another install plan/);
  });
});

/**
 * The three cases a fixed wave list deadlocks on. In each, the fixed list (everything at its default wave) fails
 * the harness's provider-order / wave-order checks — on a cluster it would hang or be rejected — and a wave added
 * between two baseline waves makes it install in one pass, with apply waiting for the right thing.
 */
describe('cases a fixed wave list deadlocks on', () => {
  function certificateCase(addWave: boolean) {
    const { chart: c, ctx } = chart();
    ctx.addExternalApi({ group: 'cert-manager.io', kind: 'Certificate', versions: ['v1'], providedBy: 'cert-manager (test)' });
    const certificate = new Construct(c, 'cert');
    new ApiObject(certificate, 'Resource', {
      apiVersion: 'cert-manager.io/v1', kind: 'Certificate',
      metadata: { name: 'webhook-cert', namespace: 'kf', annotations: { [PROVIDES_ANNOTATION]: 'Secret/kf/webhook-tls' } },
      spec: { secretName: 'webhook-tls', dnsNames: ['webhook.kf.svc'], issuerRef: { name: 'selfsigned', kind: 'ClusterIssuer' } },
    });
    deployment(c, 'webhook', { volumes: [{ name: 'tls', secret: { secretName: 'webhook-tls' } }] });
    if (addWave) {
      const certs = ctx.plan.addWave('certificates', { description: 'certificates', after: [ctx.plan.cluster], before: [ctx.plan.controllers] });
      ctx.plan.assign(certificate, certs);
    }
    return collect(c);
  }

  test('webhook Deployment mounting a Secret issued from a Certificate', () => {
    const fixed = certificateCase(false);
    expect(validate(fixed).filter((f) => f.rule === 'provider-order').map((f) => f.object)).toEqual(['Deployment/kf/webhook']);

    const ordered = certificateCase(true);
    expect(validate(ordered)).toEqual([]);
    const steps = applyPlan(ordered.waves, { dir: 'dist/t', timeoutSeconds: 60 }).map((s) => s.description);
    expect(steps).toEqual([
      'wave 0 (namespaces): apply',
      'wave 1 (certificates): apply',
      'wave 1 (certificates): wait for Ready of Certificate kf/webhook-cert',
      'wave 2 (controllers): apply',
      'wave 2 (controllers): wait for rollout of Deployment kf/webhook',
    ]);
  });

  test('credentials Job that must finish before the database starts', () => {
    // Fixed list: the Job and the database are both "controllers"; the database pod starts without its Secret.
    const fixed = chart();
    const job = new GeneratedSecret(fixed.chart, 'Creds', { name: 'db-secret', namespace: 'kf', identity: { name: 'db', component: 'db' }, keys: { password: { randomBytes: 16 } } });
    fixed.ctx.plan.assign(job, fixed.ctx.plan.controllers);
    deployment(fixed.chart, 'db', { containers: [{ ...container('db', 'example.org/db:1.0'), env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db-secret', key: 'password' } } }] }] });
    expect(validate(collect(fixed.chart)).filter((f) => f.rule === 'provider-order').map((f) => f.object)).toEqual(['Deployment/kf/db']);

    // GeneratedSecret's own wave: the Job completes before the database wave is applied.
    const ordered = chart();
    const creds = new GeneratedSecret(ordered.chart, 'Creds', { name: 'db-secret', namespace: 'kf', identity: { name: 'db', component: 'db' }, keys: { password: { randomBytes: 16 } } });
    deployment(ordered.chart, 'db', { containers: [{ ...container('db', 'example.org/db:1.0'), env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db-secret', key: 'password' } } }] }] });
    const s = collect(ordered.chart);
    expect(validate(s)).toEqual([]);
    expect(creds.jobName).toMatch(/^db-secret-generator-[0-9a-f]{8}$/);
    const steps = applyPlan(s.waves, { dir: 'd', timeoutSeconds: 60 }).map((x) => x.description);
    expect(steps).toEqual([
      'wave 0 (namespaces): apply',
      'wave 1 (credentials): apply',
      `wave 1 (credentials): wait for Complete of Job kf/${creds.jobName}`,
      'wave 2 (controllers): apply',
      'wave 2 (controllers): wait for rollout of Deployment kf/db',
    ]);
  });

  test('mutating webhook ready before the pods it mutates', () => {
    function build(addWave: boolean) {
      const { chart: c, ctx } = chart();
      const webhook = new Construct(c, 'webhook');
      deployment(webhook, 'poddefaults');
      new k8s.KubeService(webhook, 'svc', { metadata: { name: 'poddefaults', namespace: 'kf' }, spec: { selector: { app: 'poddefaults' }, ports: [{ port: 443 }] } });
      new k8s.KubeMutatingWebhookConfiguration(webhook, 'mwc', {
        metadata: { name: 'poddefaults' },
        webhooks: [{
          name: 'poddefaults.kf.example.org', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail',
          clientConfig: { service: { name: 'poddefaults', namespace: 'kf', path: '/mutate' } },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
        }],
      });
      deployment(c, 'mutated');
      if (addWave) {
        ctx.plan.assign(webhook, ctx.plan.addWave('admission', { description: 'webhooks', after: [ctx.plan.cluster], before: [ctx.plan.controllers] }));
      }
      return collect(c);
    }
    const fixed = build(false);
    const waveOf = (s: ReturnType<typeof build>, kind: string, name: string) =>
      s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name)?.wave;
    // Fixed list: webhook and mutated workload land in the same wave; with failurePolicy Fail the mutated pods are
    // rejected (or, with Ignore, silently unmutated) until the webhook happens to be ready.
    expect(waveOf(fixed, 'Deployment', 'poddefaults')).toBe(waveOf(fixed, 'Deployment', 'mutated'));
    expect(validate(fixed).filter((f) => f.rule === 'webhook-order').map((f) => f.object)).toEqual(['Deployment/kf/mutated']);

    const ordered = build(true);
    expect(validate(ordered)).toEqual([]);
    expect(waveOf(ordered, 'MutatingWebhookConfiguration', 'poddefaults')).toBe(waveOf(ordered, 'Deployment', 'poddefaults'));
    expect(waveOf(ordered, 'Deployment', 'poddefaults')!).toBeLessThan(waveOf(ordered, 'Deployment', 'mutated')!);
    const steps = applyPlan(ordered.waves, { dir: 'd', timeoutSeconds: 60 }).map((x) => x.description);
    expect(steps).toEqual([
      'wave 0 (namespaces): apply',
      'wave 1 (admission): apply',
      'wave 1 (admission): wait for rollout of Deployment kf/poddefaults',
      'wave 2 (controllers): apply',
      'wave 2 (controllers): wait for rollout of Deployment kf/mutated',
    ]);
  });
});
