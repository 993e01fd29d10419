import * as path from 'path';
import { Chart } from 'cdk8s';
import { loadOverlay, resolveConfig } from '../lib/config/load';
import { checkPlatform, synthesize } from '../lib/synth/index';
import { STACKS } from '../stacks';
import { getObject, specOf, workloadFixture } from './fixtures/workloads';
import { configIssuePaths, ROOT } from './helpers';
import { KnativeServing } from '../lib/components/knative';
import { KServe, KServeProps } from '../lib/components/kserve';
import { SeaweedfsArtifactStore } from '../lib/components/seaweedfs';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';


interface Built { readonly chart: Chart; readonly kserve: KServe; readonly s: Synthesized }

function build(options: { serverless?: boolean; props?: Partial<KServeProps>; extra?: (k: KServe, chart: Chart) => void } = {}): Built {
  const { chart, mesh, gateway } = workloadFixture('team-a');
  const store = new SeaweedfsArtifactStore(chart, 'Store', { namespace: 'kubeflow' });
  const knative = options.serverless ? new KnativeServing(chart, 'Knative', { mode: 'managed', mesh, gateway }) : undefined;
  const kserve = new KServe(chart, 'KServe', { certManager: {}, gateway, store, knative, ...options.props });
  options.extra?.(kserve, chart);
  return { chart, kserve, s: collect(chart) };
}

const harness = (s: Synthesized) => validate(s);

describe('KServe', () => {
  const { s } = build();
  test('passes the harness and matches upstream', () => {
    expect(harness(s)).toEqual([]);
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-kserve'] })).toEqual([]);
  });
});

type Obj = Synthesized['objects'][number];
const ofKind = (s: Synthesized, kind: string) => s.objects.filter((o) => o.manifest.kind === kind);
const get = getObject;
const spec = specOf;
const data = (o: Obj) => (o.manifest as unknown as { data: Record<string, string> }).data;

describe('KServe install', () => {
  const { s } = build();

  test('the webhooks take their CA from the serving certificate, issued before the controller starts', () => {
    const webhooks = [...ofKind(s, 'MutatingWebhookConfiguration'), ...ofKind(s, 'ValidatingWebhookConfiguration')];
    expect(webhooks.map((w) => w.manifest.metadata.name).sort()).toEqual([
      'clusterservingruntime.serving.kserve.io', 'inferencegraph.serving.kserve.io', 'inferenceservice.serving.kserve.io', 'inferenceservice.serving.kserve.io',
      'localmodelcache.serving.kserve.io', 'servingruntime.serving.kserve.io', 'trainedmodel.serving.kserve.io',
    ]);
    for (const w of webhooks) expect(w.manifest.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe('kubeflow/serving-cert');
    const certificate = get(s, 'Certificate', 'serving-cert');
    expect(certificate.wave).toBeLessThan(get(s, 'Deployment', 'kserve-controller-manager').wave);
    const mutator = (get(s, 'MutatingWebhookConfiguration', 'inferenceservice.serving.kserve.io').manifest as unknown as { webhooks: { name: string; objectSelector?: unknown }[] })
      .webhooks.find((w) => w.name.endsWith('pod-mutator'));
    expect(mutator?.objectSelector).toEqual({ matchExpressions: [{ key: 'serving.kserve.io/inferenceservice', operator: 'Exists' }] });
  });

  test('13 CRDs as upstream; the runtimes validate against kfkit\'s ClusterServingRuntime schema', () => {
    expect(ofKind(s, 'CustomResourceDefinition')).toHaveLength(13);
    const runtimes = ofKind(s, 'ClusterServingRuntime');
    expect(runtimes.map((r) => r.manifest.metadata.name).sort()).toEqual([
      'kserve-huggingfaceserver', 'kserve-sklearnserver', 'kserve-tensorflow-serving', 'kserve-torchserve', 'kserve-xgbserver',
    ]);
    for (const r of runtimes) {
      const container = (spec(r).containers as { securityContext: Record<string, unknown>; image: string }[])[0];
      expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(s.runtimeImages).toContain(container.image);
    }
    expect(spec(get(s, 'ClusterServingRuntime', 'kserve-sklearnserver')).supportedModelFormats).toEqual([{ name: 'sklearn', version: '1', autoSelect: true, priority: 1 }]);
  });

  test('inferenceservice-config: raw deployments, the gateway, the store\'s S3 settings with the profiles\' key names', () => {
    const config = data(get(s, 'ConfigMap', 'inferenceservice-config'));
    expect(Object.keys(config).sort()).toEqual([
      'agent', 'autoscaler', 'batcher', 'credentials', 'deploy', 'explainers', 'inferenceService', 'ingress', 'localModel', 'logger',
      'metricsAggregator', 'opentelemetryCollector', 'router', 'security', 'storageInitializer',
    ]);
    expect(JSON.parse(config.deploy)).toEqual({ defaultDeploymentMode: 'RawDeployment' });
    expect(JSON.parse(config.ingress)).toMatchObject({ ingressGateway: 'kubeflow/kubeflow-gateway', pathTemplate: '/serving/{{ .Namespace }}/{{ .Name }}', disableIngressCreation: false });
    expect(JSON.parse(config.credentials).s3).toMatchObject({
      s3AccessKeyIDName: 'accesskey', s3SecretAccessKeyName: 'secretkey', s3Endpoint: 'seaweedfs.kubeflow:9000', s3UseHttps: '0', s3Region: 'us-east-1',
    });
    expect(JSON.parse(config.storageInitializer).image).toBe('docker.io/kserve/storage-initializer:v0.16.0');
  });

  test('the models web app is routed at /kserve-endpoints/ and trusts the gateway\'s header', () => {
    const vs = get(s, 'VirtualService', 'kserve-models-web-application');
    expect(JSON.stringify(spec(vs))).toContain('"prefix":"/kserve-endpoints/"');
    expect(data(get(s, 'ConfigMap', 'kserve-models-web-application-config'))).toMatchObject({ APP_PREFIX: '/kserve-endpoints', USERID_HEADER: 'kubeflow-userid' });
  });

  test('serverless: Knative\'s gateways in the ingress settings, and the harness still passes', () => {
    const serverless = build({ serverless: true, props: { deploymentMode: 'Serverless' } }).s;
    expect(harness(serverless)).toEqual([]);
    const config = data(get(serverless, 'ConfigMap', 'inferenceservice-config'));
    expect(JSON.parse(config.deploy)).toEqual({ defaultDeploymentMode: 'Serverless' });
    expect(JSON.parse(config.ingress)).toMatchObject({ localGateway: 'knative-serving/knative-local-gateway' });
  });

  test('guards', () => {
    expect(() => build({ props: { deploymentMode: 'Serverless' } })).toThrow(/deploymentMode Serverless needs Knative Serving/);
    expect(() => build({ props: { runtimes: ['kserve-tritonserver' as never] } })).toThrow(/runtimes: "kserve-tritonserver" is not one of/);
  });
});

describe('InferenceService and runtime helpers', () => {
  const POOL = { name: 'a10', nodeSelector: { 'kfkit.dev/gpu-pool': 'a10' }, taint: true, devicePlugin: 'managed' as const };
  const model = { format: 'sklearn', storageUri: 's3://mlpipeline/private-artifacts/team-a/models/iris' };

  test('a valid InferenceService validates against kfkit\'s CRD, GPUs in the right places', () => {
    const { s } = build({
      extra: (k, chart) => {
        k.inferenceService(chart, 'Iris', { name: 'iris', namespace: 'team-a', model, serviceAccountName: 'kserve-models' });
        k.inferenceService(chart, 'Llm', {
          name: 'llm', namespace: 'team-a', model: { format: 'huggingface', storageUri: 'hf://meta/llama' }, gpus: { count: 1, pool: POOL }, resources: { cpu: '4', memory: '16Gi' },
        });
      },
    });
    expect(harness(s)).toEqual([]);
    const iris = get(s, 'InferenceService', 'iris');
    expect(iris.manifest.metadata.annotations?.['serving.kserve.io/deploymentMode']).toBe('RawDeployment');
    expect(spec(iris).predictor).toMatchObject({ minReplicas: 1, maxReplicas: 1, serviceAccountName: 'kserve-models', model: { modelFormat: { name: 'sklearn' }, storageUri: model.storageUri } });
    const llm = spec(get(s, 'InferenceService', 'llm')).predictor as Record<string, unknown>;
    expect(llm.nodeSelector).toEqual({ 'kfkit.dev/gpu-pool': 'a10' });
    expect(llm.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect((llm.model as { resources: unknown }).resources).toEqual({ requests: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' }, limits: { memory: '16Gi', 'nvidia.com/gpu': '1' } });
  });

  test('a canary split is refused in raw mode, naming the field, and accepted in serverless mode', () => {
    expect(() => build({ extra: (k, chart) => k.inferenceService(chart, 'C', { name: 'c', namespace: 'team-a', model, canaryTrafficPercent: 10 }) }))
      .toThrow(/canaryTrafficPercent: a canary split needs Serverless mode/);
    const { s } = build({
      serverless: true,
      extra: (k, chart) => k.inferenceService(chart, 'C', { name: 'c', namespace: 'team-a', model, canaryTrafficPercent: 10, deploymentMode: 'Serverless', minReplicas: 0 }),
    });
    expect(harness(s)).toEqual([]);
    expect(spec(get(s, 'InferenceService', 'c')).predictor).toMatchObject({ canaryTrafficPercent: 10, minReplicas: 0 });
  });

  test.each([
    ['scale to zero in raw mode', { minReplicas: 0 }, /minReplicas 0 \(scale to zero\) needs Serverless mode/],
    ['serverless without Knative', { deploymentMode: 'Serverless' as const }, /deploymentMode Serverless needs Knative Serving/],
    ['a storage URI that is not one', { model: { format: 'sklearn', storageUri: 'mlpipeline/models' } }, /model.storageUri "mlpipeline\/models" must be/],
    ['a canary above 100', { canaryTrafficPercent: 120, deploymentMode: 'Serverless' as const }, /./],
    ['no GPUs', { gpus: { count: 0, pool: POOL } }, /gpus.count 0 must be a whole number, 1 or more/],
  ])('refuses %s', (_what, over, error) => {
    expect(() => build({ extra: (k, chart) => k.inferenceService(chart, 'X', { name: 'x', namespace: 'team-a', model, ...over }) })).toThrow(error);
  });

  test('a team\'s own runtime: namespaced or cluster-wide, pinned, restricted', () => {
    const { s } = build({
      extra: (k, chart) => {
        k.servingRuntime(chart, 'Own', { name: 'fraud-server', namespace: 'team-a', image: 'registry.example.com/fraud/server:1.2.0', modelFormats: [{ name: 'fraud', version: '1' }] });
      },
    });
    expect(harness(s)).toEqual([]);
    const own = get(s, 'ServingRuntime', 'fraud-server', 'team-a');
    expect((spec(own).containers as { securityContext: unknown }[])[0].securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
    expect(() => build({ extra: (k, chart) => k.servingRuntime(chart, 'L', { name: 'l', image: 'registry.example.com/x:latest', modelFormats: [{ name: 'x' }] }) }))
      .toThrow(/servingRuntime\(l\): image "registry.example.com\/x:latest"/);
    expect(() => build({ extra: (k, chart) => k.servingRuntime(chart, 'E', { name: 'e', image: 'registry.example.com/x:1', modelFormats: [] }) }))
      .toThrow(/modelFormats must list at least one format/);
  });
});

describe('KServe in the platform', () => {
  const base = { stack: 'local', certManager: { mode: 'managed' }, istio: { mode: 'managed' }, kserve: { enabled: true } };

  test('the full overlay runs it serverless, teams get their model ServiceAccount and Knative\'s paths', () => {
    const config = loadOverlay(path.join(ROOT, 'overlays'), 'full', STACKS);
    expect(config.kserve).toMatchObject({ enabled: true, deploymentMode: 'Serverless' });
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    const sa = get(s, 'ServiceAccount', 'kserve-models', 'vision').manifest as unknown as { secrets: { name: string }[] };
    expect(sa.secrets).toEqual([{ name: 'mlpipeline-minio-artifact' }]);
    const allow = spec(get(s, 'NetworkPolicy', 'profile-allow', 'vision'));
    expect(JSON.stringify(allow.ingress)).toContain('activator');
    expect(JSON.stringify(data(get(s, 'ConfigMap', 'centraldashboard-config')))).toContain('/kserve-endpoints/');
  });

  test('raw deployments need no Knative; without a gateway there is no web app and no routes', () => {
    const config = resolveConfig(base, STACKS);
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    expect(JSON.parse(data(get(s, 'ConfigMap', 'inferenceservice-config')).deploy)).toEqual({ defaultDeploymentMode: 'RawDeployment' });
    const bare = synthesize(resolveConfig({ ...base, istio: { mode: 'none' } }, STACKS));
    expect(ofKind(bare, 'Deployment').some((d) => d.manifest.metadata.name === 'kserve-models-web-application')).toBe(false);
    expect(JSON.parse(data(get(bare, 'ConfigMap', 'inferenceservice-config')).ingress)).toMatchObject({ disableIngressCreation: true });
  });

  test.each([
    ['without cert-manager', { kserve: { enabled: true } }, ['kserve.enabled']],
    ['serverless without Knative', { ...base, kserve: { enabled: true, deploymentMode: 'Serverless' } }, ['kserve.deploymentMode']],
    ['an unknown runtime', { ...base, kserve: { enabled: true, runtimes: ['kserve-tritonserver'] } }, ['kserve.runtimes[0]']],
  ])('is refused %s, naming the field', (_what, doc, paths) => {
    expect(configIssuePaths(() => resolveConfig({ stack: 'local', ...doc }, STACKS))).toEqual(paths);
  });
});
