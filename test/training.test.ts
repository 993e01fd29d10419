import * as path from 'path';
import { Chart } from 'cdk8s';
import { loadOverlay, resolveConfig } from '../lib/config/load';
import { STACKS } from '../stacks';
import { getObject, specOf, workloadFixture } from './fixtures/workloads';
import { configIssuePaths, ROOT } from './helpers';
import { TrainingOperator } from '../lib/components/training';
import { GpuPool } from '../lib/core/gpu';
import { collect, Synthesized } from '../lib/synth/collect';
import { checkPlatform, synthesize, upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { serviceAccountPermissions } from '../lib/validate/rbac';

const POOL: GpuPool = { name: 'a10', nodeSelector: { 'kfkit.dev/gpu-pool': 'a10' }, taint: true, devicePlugin: 'managed' };
const SEED_IMAGE = 'pytorch/pytorch:2.1.0-cuda12.1-cudnn8-runtime';
const SEED_COMMAND = ['python', '-m', 'torch.distributed.run', '--nproc_per_node=1', 'train.py'];

function build(extra?: (op: TrainingOperator, chart: Chart) => void): Synthesized {
  const { chart } = workloadFixture('kubeflow-user');
  const op = new TrainingOperator(chart, 'Training');
  extra?.(op, chart);
  return collect(chart);
}

const get = getObject;
const spec = specOf;

describe('training operator v1.9.2', () => {
  const s = build();

  test('passes the harness; image, ports, env, args and every RBAC rule as upstream', () => {
    expect(validate(s)).toEqual([]);
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-training'] })).toEqual([]);
    const upstream = facts.workloads.find((w) => w.name === 'training-operator' && w.source === 'kubeflow-training');
    expect(serviceAccountPermissions(s.objects.map((o) => o.manifest), { namespace: 'kubeflow', name: 'training-operator' })).toEqual(upstream?.rbac);
    expect(upstream?.rbac.length).toBeGreaterThan(50);
  });

  test('six CRDs with status; scale on the workers of PyTorchJob, PaddleJob and JAXJob', () => {
    const crds = s.objects.filter((o) => o.manifest.kind === 'CustomResourceDefinition');
    expect(crds.map((c) => c.manifest.metadata.name).sort()).toEqual([
      'jaxjobs.kubeflow.org', 'mpijobs.kubeflow.org', 'paddlejobs.kubeflow.org', 'pytorchjobs.kubeflow.org', 'tfjobs.kubeflow.org', 'xgboostjobs.kubeflow.org',
    ]);
    const scale = (name: string) => (spec(get(s, 'CustomResourceDefinition', name)).versions as { subresources: { scale?: { specReplicasPath: string } } }[])[0].subresources.scale;
    expect(scale('pytorchjobs.kubeflow.org')?.specReplicasPath).toBe('.spec.pytorchReplicaSpecs.Worker.replicas');
    expect(scale('tfjobs.kubeflow.org')).toBeUndefined();
  });

  test('the webhook Secret is written empty (the operator fills it) and the webhook reaches the operator', () => {
    const secret = get(s, 'Secret', 'training-operator-webhook-cert').manifest as unknown as Record<string, unknown>;
    expect(secret.data).toBeUndefined();
    const webhooks = (get(s, 'ValidatingWebhookConfiguration', 'validator.training-operator.kubeflow.org').manifest as unknown as { webhooks: { name: string }[] }).webhooks;
    expect(webhooks.map((w) => w.name)).toEqual([
      'validator.pytorchjob.training-operator.kubeflow.org', 'validator.tfjob.training-operator.kubeflow.org', 'validator.xgboostjob.training-operator.kubeflow.org',
      'validator.paddlejob.training-operator.kubeflow.org', 'validator.jaxjob.training-operator.kubeflow.org',
    ]);
  });
});

describe('job helpers', () => {
  test('the seed module\'s PyTorchJob, built through the helper, validates against kfkit\'s CRD and keeps its intent', () => {
    const s = build((op, chart) => op.pytorchJob(chart, 'Seed', {
      name: 'pytorch-distributed', namespace: 'kubeflow-user',
      master: { image: SEED_IMAGE, command: SEED_COMMAND, resources: { cpu: '4', memory: '16Gi' }, gpus: { count: 1, pool: POOL } },
      worker: { replicas: 3, image: SEED_IMAGE, command: SEED_COMMAND, resources: { cpu: '4', memory: '16Gi' }, gpus: { count: 1, pool: POOL } },
    }));
    expect(validate(s)).toEqual([]);
    const job = spec(get(s, 'PyTorchJob', 'pytorch-distributed'));
    const replicas = job.pytorchReplicaSpecs as Record<string, { replicas: number; restartPolicy: string; template: { spec: Record<string, unknown> } }>;
    expect(Object.keys(replicas)).toEqual(['Master', 'Worker']);
    expect([replicas.Master.replicas, replicas.Worker.replicas]).toEqual([1, 3]);
    for (const r of Object.values(replicas)) {
      expect(r.restartPolicy).toBe('OnFailure');
      const podSpec = r.template.spec;
      type Container = { name: string; image: string; command: string[]; resources: { limits: Record<string, string>; requests: Record<string, string> } };
      const [container] = podSpec.containers as Container[];
      expect(container).toMatchObject({ name: 'pytorch', image: SEED_IMAGE, command: SEED_COMMAND });
      expect(container.resources.limits['nvidia.com/gpu']).toBe('1');
      expect(container.resources.requests).toEqual({ cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' });
      expect(podSpec.nodeSelector).toEqual({ 'kfkit.dev/gpu-pool': 'a10' });
      expect(podSpec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    }
  });

  test('the seed module\'s TFJob: parameter servers without GPUs, GPU workers, containers named tensorflow', () => {
    const image = 'tensorflow/tensorflow:2.15.0-gpu';
    const s = build((op, chart) => op.tfJob(chart, 'Seed', {
      name: 'tf-distributed', namespace: 'kubeflow-user',
      ps: { replicas: 2, image, resources: { cpu: '1', memory: '4Gi' } },
      worker: { replicas: 4, image, resources: { cpu: '2', memory: '8Gi' }, gpus: { count: 1, pool: POOL } },
    }));
    expect(validate(s)).toEqual([]);
    type Replica = { replicas: number; template: { spec: { containers: { name: string }[]; nodeSelector?: unknown } } };
    const replicas = spec(get(s, 'TFJob', 'tf-distributed')).tfReplicaSpecs as Record<string, Replica>;
    expect([replicas.PS.replicas, replicas.Worker.replicas]).toEqual([2, 4]);
    expect(replicas.PS.template.spec.nodeSelector).toBeUndefined();
    expect(replicas.Worker.template.spec.containers[0].name).toBe('tensorflow');
  });

  test.each([
    ['an unpinned image', { master: { image: 'pytorch/pytorch:latest', resources: { cpu: '1', memory: '1Gi' } } }, /master.image "pytorch\/pytorch:latest"/],
    ['two masters', { master: { replicas: 2 as never, image: SEED_IMAGE, resources: { cpu: '1', memory: '1Gi' } } }, /master.replicas must be 1/],
    ['no workers', { worker: { replicas: 0, image: SEED_IMAGE, resources: { cpu: '1', memory: '1Gi' } } }, /worker.replicas 0 must be a whole number, 1 or more/],
    ['a bad quantity', { master: { image: SEED_IMAGE, resources: { cpu: 'lots', memory: '1Gi' } } }, /master.resources: cpu and memory must be Kubernetes quantities/],
    ['zero GPUs', { master: { image: SEED_IMAGE, resources: { cpu: '1', memory: '1Gi' }, gpus: { count: 0, pool: POOL } } }, /master.gpus.count 0/],
  ])('refuses %s, naming the field', (_what, over, error) => {
    expect(() => build((op, chart) => op.pytorchJob(chart, 'X', {
      name: 'x', namespace: 'kubeflow-user', master: { image: SEED_IMAGE, resources: { cpu: '1', memory: '1Gi' } }, ...over,
    }))).toThrow(error);
  });
});

describe('training in the platform', () => {
  test('training.enabled installs the operator; the full overlay has it and validates', () => {
    const config = resolveConfig({ stack: 'local', training: { enabled: true } }, STACKS);
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    expect(s.objects.some((o) => o.manifest.kind === 'Deployment' && o.manifest.metadata.name === 'training-operator')).toBe(true);
    const full = loadOverlay(path.join(ROOT, 'overlays'), 'full', STACKS);
    expect(full.training.enabled).toBe(true);
    expect(configIssuePaths(() => resolveConfig({ stack: 'local', training: { enabled: 'yes' } }, STACKS))).toEqual(['training.enabled']);
  });
});
