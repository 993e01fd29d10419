import { Construct } from 'constructs';
import { CrdVersion, CustomResourceDefinition, Infer, Schema } from '../../core/crd';
import { standardLabels } from '../../core/labels';
import { KATIB_IDENTITY } from './shared';

/*
 * Katib's kinds (`kubeflow.org/v1beta1`, kubeflow/katib v0.19.0 pkg/apis/controller): Experiment typed where kfkit's
 * helper writes it (objective, algorithm, parameters, trial template, counts, metrics collector); Trial and Suggestion,
 * which the controller writes, preserved. Names, versions, scope and the status subresource are upstream facts
 * (facts/upstream.json, source kubeflow-katib).
 */

const setting = Schema.object({ name: Schema.string(), value: Schema.string() });

/** `spec` of an Experiment (Go `ExperimentSpec`). */
export const experimentSpecSchema = Schema.object({
  objective: Schema.object({
    type: Schema.enumOf(['maximize', 'minimize']),
    goal: Schema.number(),
    objectiveMetricName: Schema.string(),
    additionalMetricNames: Schema.array(Schema.string()),
    metricStrategies: Schema.array(Schema.object({ name: Schema.string(), value: Schema.enumOf(['min', 'max', 'latest']) })),
  }, { required: ['type', 'objectiveMetricName'] }),
  algorithm: Schema.object({ algorithmName: Schema.string(), algorithmSettings: Schema.array(setting) }, { required: ['algorithmName'] }),
  earlyStopping: Schema.object({ algorithmName: Schema.string(), algorithmSettings: Schema.array(setting) }),
  parallelTrialCount: Schema.int({ format: 'int32', minimum: 1 }),
  maxTrialCount: Schema.int({ format: 'int32', minimum: 1 }),
  maxFailedTrialCount: Schema.int({ format: 'int32', minimum: 0 }),
  resumePolicy: Schema.enumOf(['Never', 'LongRunning', 'FromVolume']),
  parameters: Schema.array(Schema.object({
    name: Schema.string(),
    parameterType: Schema.enumOf(['double', 'int', 'discrete', 'categorical']),
    feasibleSpace: Schema.object({
      min: Schema.string(), max: Schema.string(), step: Schema.string(), list: Schema.array(Schema.string()),
      distribution: Schema.enumOf(['uniform', 'logUniform', 'normal', 'logNormal']),
    }),
  }, { required: ['name', 'parameterType', 'feasibleSpace'] })),
  trialTemplate: Schema.object({
    primaryContainerName: Schema.string(),
    successCondition: Schema.string(),
    failureCondition: Schema.string(),
    retain: Schema.bool(),
    trialParameters: Schema.array(Schema.object({ name: Schema.string(), reference: Schema.string(), description: Schema.string() }, { required: ['name', 'reference'] })),
    trialSpec: Schema.preserveUnknown({ description: 'The trial\'s resource (a Job, a PyTorchJob, …), with ${trialParameters.<name>} placeholders.' }),
    configMap: Schema.object({ configMapName: Schema.string(), configMapNamespace: Schema.string(), templatePath: Schema.string() }),
  }),
  metricsCollectorSpec: Schema.preserveUnknown(),
  nasConfig: Schema.preserveUnknown(),
}, { required: ['objective', 'algorithm', 'parameters', 'trialTemplate'] });

/** Experiment `kubeflow.org/v1beta1`. */
export const EXPERIMENT_V1BETA1 = {
  name: 'v1beta1', storage: true, schema: Schema.object({ spec: experimentSpecSchema, status: Schema.preserveUnknown() }, { required: ['spec'] }),
  subresources: { status: true },
} satisfies CrdVersion<unknown>;

/** The body of an Experiment. */
export type ExperimentBody = Infer<typeof EXPERIMENT_V1BETA1.schema>;

/** Katib's three CRDs, from kfkit's definitions. */
export class KatibCrds extends Construct {
  public readonly experiment: CustomResourceDefinition;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    const labels = standardLabels(KATIB_IDENTITY);
    this.experiment = new CustomResourceDefinition(this, 'Experiment', {
      group: 'kubeflow.org', kind: 'Experiment', plural: 'experiments', scope: 'Namespaced', categories: ['katib'], labels, versions: [EXPERIMENT_V1BETA1],
    });
    const open = (name: string) => ({
      name, storage: true, schema: Schema.object({ spec: Schema.preserveUnknown(), status: Schema.preserveUnknown() }), subresources: { status: true },
    } satisfies CrdVersion<unknown>);
    new CustomResourceDefinition(this, 'Trial', { group: 'kubeflow.org', kind: 'Trial', plural: 'trials', scope: 'Namespaced', categories: ['katib'], labels, versions: [open('v1beta1')] });
    new CustomResourceDefinition(this, 'Suggestion', {
      group: 'kubeflow.org', kind: 'Suggestion', plural: 'suggestions', scope: 'Namespaced', categories: ['katib'], labels, versions: [open('v1beta1')],
    });
  }
}
