import * as path from 'path';
import { parse } from 'yaml';
import { Chart } from 'cdk8s';
import { Notebooks } from '../lib/components/notebooks';
import { loadOverlay, resolveConfig } from '../lib/config/load';
import { GpuPool } from '../lib/core/gpu';
import { collect, Synthesized } from '../lib/synth/collect';
import { checkPlatform, synthesize, upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { serviceAccountPermissions } from '../lib/validate/rbac';
import { STACKS } from '../stacks';
import { getObject, specOf, workloadFixture } from './fixtures/workloads';
import { configIssuePaths, ROOT } from './helpers';

const POOL: GpuPool = { name: 'a10', nodeSelector: { 'kfkit.dev/gpu-pool': 'a10' }, taint: true, devicePlugin: 'managed' };

function build(extra?: (n: Notebooks, chart: Chart) => void): Synthesized {
  const { chart, gateway } = workloadFixture('kubeflow-user');
  const notebooks = new Notebooks(chart, 'Notebooks', { certManager: {}, gateway });
  extra?.(notebooks, chart);
  return collect(chart);
}

const get = getObject;
const spec = specOf;

describe('notebooks (kubeflow/kubeflow v1.10.0)', () => {
  const s = build();

  test('pass the harness; names, images, ports, env and RBAC as upstream', () => {
    expect(validate(s)).toEqual([]);
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-notebooks'] })).toEqual([]);
    for (const sa of ['notebook-controller-service-account', 'jupyter-web-app-service-account', 'volumes-web-app-service-account', 'admission-webhook-service-account']) {
      const upstream = facts.workloads.find((w) => w.serviceAccount === sa && w.source === 'kubeflow-notebooks');
      expect([sa, serviceAccountPermissions(s.objects.map((o) => o.manifest), { namespace: 'kubeflow', name: sa })]).toEqual([sa, upstream?.rbac]);
    }
  });

  test('the spawner lists the catalog\'s notebook images and NVIDIA GPUs', () => {
    const config = parse((get(s, 'ConfigMap', 'jupyter-web-app-config').manifest as unknown as { data: Record<string, string> }).data['spawner_ui_config.yaml']) as {
      spawnerFormDefaults: { image: { options: string[] }; gpus: { value: { vendors: { limitsKey: string }[] } } };
    };
    const images = config.spawnerFormDefaults.image.options;
    expect(images).toHaveLength(5);
    for (const image of images) expect(s.runtimeImages).toContain(image);
    expect(config.spawnerFormDefaults.gpus.value.vendors).toEqual([{ limitsKey: 'nvidia.com/gpu', uiName: 'NVIDIA' }]);
  });

  test('the PodDefaults webhook mutates pods of profile namespaces only, with a cert-manager CA', () => {
    const webhook = get(s, 'MutatingWebhookConfiguration', 'admission-webhook-mutating-webhook-configuration').manifest as unknown as {
      metadata: { annotations: Record<string, string> }; webhooks: { namespaceSelector: unknown }[];
    };
    expect(webhook.metadata.annotations['cert-manager.io/inject-ca-from']).toBe('kubeflow/admission-webhook-cert');
    expect(webhook.webhooks[0].namespaceSelector).toEqual({ matchLabels: { 'app.kubernetes.io/part-of': 'kubeflow-profile' } });
  });

  test('the web apps are routed at /jupyter/ and /volumes/', () => {
    expect(JSON.stringify(spec(get(s, 'VirtualService', 'jupyter-web-app')))).toContain('"prefix":"/jupyter/"');
    expect(JSON.stringify(spec(get(s, 'VirtualService', 'volumes-web-app')))).toContain('"prefix":"/volumes/"');
  });
});

describe('notebook and PodDefault helpers', () => {
  test('the seed module\'s GPU notebook, built through the helper, validates against kfkit\'s CRD', () => {
    const s = build((n, chart) => {
      n.notebook(chart, 'Seed', { name: 'gpu-notebook', namespace: 'kubeflow-user', image: 'notebook-jupyter-pytorch-cuda', resources: { cpu: '2', memory: '8Gi' }, gpus: { count: 1, pool: POOL }, workspace: '20Gi' });
      n.podDefault(chart, 'Pd', { name: 'access-ml-pipeline', namespace: 'kubeflow-user', description: 'Allow access to Kubeflow Pipelines', env: { KF_PIPELINES_SA_TOKEN_PATH: '/var/run/secrets/kubeflow/pipelines/token' } });
    });
    expect(validate(s)).toEqual([]);
    const podSpec = (spec(get(s, 'Notebook', 'gpu-notebook')).template as { spec: Record<string, unknown> }).spec;
    expect(podSpec.nodeSelector).toEqual({ 'kfkit.dev/gpu-pool': 'a10' });
    const [container] = podSpec.containers as { image: string; resources: { limits: Record<string, string> } }[];
    expect(container.image).toBe('ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-pytorch-cuda-full:v1.10.0');
    expect(container.resources.limits['nvidia.com/gpu']).toBe('1');
    expect(get(s, 'PersistentVolumeClaim', 'gpu-notebook-workspace')).toBeDefined();
  });

  test('refuses an unpinned custom image and a bad size, naming the field', () => {
    expect(() => build((n, chart) => n.notebook(chart, 'X', { name: 'x', namespace: 'kubeflow-user', image: { custom: 'jupyter/base:latest' }, resources: { cpu: '1', memory: '1Gi' } })))
      .toThrow(/image.custom "jupyter\/base:latest"/);
    expect(() => build((n, chart) => n.notebook(chart, 'X', { name: 'x', namespace: 'kubeflow-user', image: 'notebook-jupyter-scipy', resources: { cpu: '1', memory: '1Gi' }, workspace: 'big' })))
      .toThrow(/workspace "big" must be a size/);
  });
});

describe('notebooks in the platform', () => {
  test('the full overlay has them; they need multi-user and cert-manager', () => {
    const config = loadOverlay(path.join(ROOT, 'overlays'), 'full', STACKS);
    expect(config.notebooks.enabled).toBe(true);
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    expect(JSON.stringify((get(s, 'ConfigMap', 'centraldashboard-config').manifest as unknown as { data: unknown }).data)).toContain('/jupyter/');
    expect(configIssuePaths(() => resolveConfig({ stack: 'local', notebooks: { enabled: true } }, STACKS))).toEqual(['notebooks.enabled']);
  });
});
