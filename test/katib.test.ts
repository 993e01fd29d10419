import * as path from 'path';
import { Chart } from 'cdk8s';
import { Katib, KatibProps } from '../lib/components/katib';
import { MysqlDatabase } from '../lib/components/mysql';
import { PostgresDatabase } from '../lib/components/postgresql';
import { loadOverlay, resolveConfig } from '../lib/config/load';
import { collect, Synthesized } from '../lib/synth/collect';
import { checkPlatform, synthesize, upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { serviceAccountPermissions } from '../lib/validate/rbac';
import { STACKS } from '../stacks';
import { getObject, specOf, workloadFixture } from './fixtures/workloads';
import { configIssuePaths, ROOT } from './helpers';

function build(options: { engine?: 'mysql' | 'postgresql'; props?: Partial<KatibProps>; extra?: (k: Katib, chart: Chart) => void } = {}): Synthesized {
  const { chart, gateway } = workloadFixture('kubeflow-user');
  const database = options.engine === 'postgresql' ? new PostgresDatabase(chart, 'Db', { namespace: 'kubeflow' }) : new MysqlDatabase(chart, 'Db', { namespace: 'kubeflow' });
  const katib = new Katib(chart, 'Katib', { database, certManager: {}, gateway, ...options.props });
  options.extra?.(katib, chart);
  return collect(chart);
}

type Obj = Synthesized['objects'][number];
const get = getObject;
const spec = specOf;
const env = (s: Synthesized, name: string) => ((spec(get(s, 'Deployment', name)).template as { spec: { containers: { env?: { name: string; value?: string }[] }[] } })
  .spec.containers[0].env ?? []);

const SEED_TRIAL = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  spec: {
    template: {
      spec: {
        containers: [{
          name: 'training-container',
          image: 'myregistry.example.com/ml/rf-trainer:v1',
          command: ['python', '/workspace/train.py', '--n-estimators=${trialParameters.n_estimators}', '--max-depth=${trialParameters.max_depth}',
            '--min-samples-split=${trialParameters.min_samples_split}'],
        }],
        restartPolicy: 'Never',
      },
    },
  },
};

const seed = (over: Record<string, unknown> = {}) => ({
  name: 'random-forest-tuning', namespace: 'kubeflow-user',
  objective: { type: 'maximize' as const, goal: 0.99, metric: 'accuracy' },
  algorithm: 'bayesianoptimization', parallelTrials: 3, maxTrials: 12, maxFailedTrials: 3,
  parameters: [
    { name: 'n_estimators', type: 'int' as const, min: 50, max: 300 },
    { name: 'max_depth', type: 'int' as const, min: 3, max: 20 },
    { name: 'min_samples_split', type: 'int' as const, min: 2, max: 10 },
  ],
  trial: { spec: SEED_TRIAL, primaryContainerName: 'training-container' },
  ...over,
});

describe('Katib v0.19.0', () => {
  const s = build();

  test('passes the harness and matches upstream, DB manager on the platform database', () => {
    expect(validate(s)).toEqual([]);
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-katib'] })).toEqual([]);
    for (const sa of ['katib-controller', 'katib-ui']) {
      const upstream = facts.workloads.find((w) => w.name === sa && w.source === 'kubeflow-katib');
      expect(serviceAccountPermissions(s.objects.map((o) => o.manifest), { namespace: 'kubeflow', name: sa })).toEqual(upstream?.rbac);
    }
    expect(env(s, 'katib-db-manager').map((e) => e.name)).toEqual([
      'DB_NAME', 'DB_USER', 'DB_PASSWORD', 'KATIB_MYSQL_DB_HOST', 'KATIB_MYSQL_DB_PORT', 'KATIB_MYSQL_DB_DATABASE',
    ]);
    expect(s.objects.some((o) => o.manifest.metadata.name === 'katib-mysql')).toBe(false);
    expect(s.objects.map((o) => o.manifest.metadata.name)).toContain('mysql-from-katib-db-manager');
  });

  test('PostgreSQL: the postgres driver with its TLS mode', () => {
    const pg = build({ engine: 'postgresql' });
    expect(validate(pg)).toEqual([]);
    expect(env(pg, 'katib-db-manager')).toEqual(expect.arrayContaining([
      { name: 'DB_NAME', value: 'postgres' }, { name: 'KATIB_POSTGRESQL_DB_DATABASE', value: 'katib' }, { name: 'KATIB_POSTGRESQL_SSL_MODE', value: 'disable' },
    ]));
  });

  test('the pod mutator works in namespaces that enable metrics-collector injection; certificates from cert-manager', () => {
    const mutating = get(s, 'MutatingWebhookConfiguration', 'katib.kubeflow.org').manifest as unknown as { metadata: { annotations: Record<string, string> }; webhooks: { name: string; namespaceSelector?: unknown }[] };
    expect(mutating.metadata.annotations['cert-manager.io/inject-ca-from']).toBe('kubeflow/katib-webhook-cert');
    expect(mutating.webhooks.find((w) => w.name === 'mutator.pod.katib.kubeflow.org')?.namespaceSelector)
      .toEqual({ matchLabels: { 'katib.kubeflow.org/metrics-collector-injection': 'enabled' } });
    const config = (get(s, 'ConfigMap', 'katib-config').manifest as unknown as { data: Record<string, string> }).data['katib-config.yaml'];
    expect(config).toContain('algorithmName: bayesianoptimization');
    expect(config).toContain('image: ghcr.io/kubeflow/katib/suggestion-skopt:v0.19.0');
    expect(s.runtimeImages).toContain('ghcr.io/kubeflow/katib/file-metrics-collector:v0.19.0');
  });
});

describe('Experiment helper', () => {
  test('the seed module\'s random-forest tuning, built through the helper, validates and keeps its intent', () => {
    const s = build({ extra: (k, chart) => k.experiment(chart, 'Seed', seed()) });
    expect(validate(s)).toEqual([]);
    const e = spec(get(s, 'Experiment', 'random-forest-tuning'));
    expect(e.objective).toEqual({ type: 'maximize', goal: 0.99, objectiveMetricName: 'accuracy' });
    expect(e.algorithm).toEqual({ algorithmName: 'bayesianoptimization' });
    expect([e.parallelTrialCount, e.maxTrialCount, e.maxFailedTrialCount]).toEqual([3, 12, 3]);
    expect(e.parameters).toEqual([
      { name: 'n_estimators', parameterType: 'int', feasibleSpace: { min: '50', max: '300' } },
      { name: 'max_depth', parameterType: 'int', feasibleSpace: { min: '3', max: '20' } },
      { name: 'min_samples_split', parameterType: 'int', feasibleSpace: { min: '2', max: '10' } },
    ]);
    expect(e.trialTemplate).toEqual({
      primaryContainerName: 'training-container',
      trialParameters: [
        { name: 'n_estimators', reference: 'n_estimators' }, { name: 'max_depth', reference: 'max_depth' }, { name: 'min_samples_split', reference: 'min_samples_split' },
      ],
      trialSpec: SEED_TRIAL,
    });
  });

  test.each([
    ['min above max', { parameters: [{ name: 'n_estimators', type: 'int', min: 300, max: 50 }] }, /parameters\[0\] \(n_estimators\): min 300 is above max 50/],
    ['a trial referring to an unknown parameter', { parameters: [{ name: 'n_estimators', type: 'int', min: 50, max: 300 }] }, /refers to \$\{trialParameters.max_depth\}, which is not a parameter/],
    ['a missing primary container', { trial: { spec: SEED_TRIAL, primaryContainerName: 'main' } }, /primaryContainerName "main" names no container/],
    ['more parallel trials than trials', { parallelTrials: 5, maxTrials: 4 }, /maxTrials 4 must be a whole number, at least parallelTrials \(5\)/],
    ['no parameters', { parameters: [] }, /parameters must list at least one parameter/],
  ])('refuses %s, naming the field', (_what, over, error) => {
    expect(() => build({ extra: (k, chart) => k.experiment(chart, 'X', seed(over)) })).toThrow(error);
  });
});

describe('Katib in the platform', () => {
  test('the full overlay has it, with the teams\' paths to the DB manager; configuration rules', () => {
    const config = loadOverlay(path.join(ROOT, 'overlays'), 'full', STACKS);
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    const allow = JSON.stringify(spec(s.objects.find((o) => o.manifest.kind === 'NetworkPolicy' && o.manifest.metadata.name === 'profile-allow'
      && o.manifest.metadata.namespace === 'vision') as Obj));
    expect(allow).toContain('katib-db-manager');
    const suggestions = s.objects.find((o) => o.manifest.kind === 'NetworkPolicy' && o.manifest.metadata.name === 'katib-suggestions-allow'
      && o.manifest.metadata.namespace === 'vision') as Obj;
    expect(spec(suggestions)).toMatchObject({ podSelector: { matchLabels: { 'sidecar.istio.io/inject': 'false' } }, policyTypes: ['Egress'] });
    expect(configIssuePaths(() => resolveConfig({ stack: 'local', katib: { enabled: true } }, STACKS))).toEqual(['katib.enabled']);
  });
});
