import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { CustomResourceDefinition } from '../../core/crd';
import { EXPERIMENT_V1BETA1, ExperimentBody } from './crds';

/** A search-space parameter. */
export type ExperimentParameter =
  | { readonly name: string; readonly type: 'int'; readonly min: number; readonly max: number; readonly step?: number }
  | { readonly name: string; readonly type: 'double'; readonly min: number; readonly max: number; readonly step?: number }
  | { readonly name: string; readonly type: 'categorical' | 'discrete'; readonly values: readonly string[] };

/** Props of {@link experiment}. */
export interface ExperimentProps {
  /** Name (a DNS label). */
  readonly name: string;
  /** Namespace (a profile's). */
  readonly namespace: string;
  /** What to optimise. */
  readonly objective: {
    readonly type: 'maximize' | 'minimize';
    /** Metric the trials print (`name=value`), e.g. `accuracy`. */
    readonly metric: string;
    /** Stop when a trial reaches it. @default - run all trials */
    readonly goal?: number;
    /** Other metrics to collect. @default - none */
    readonly additionalMetrics?: readonly string[];
  };
  /** Search algorithm: `random`, `grid`, `bayesianoptimization`, `tpe`, `hyperband`, `cmaes`, … (the katib-config's). */
  readonly algorithm: string;
  /** Algorithm settings. @default - none */
  readonly algorithmSettings?: Readonly<Record<string, string>>;
  /** Parameters of the search space (at least one). */
  readonly parameters: readonly ExperimentParameter[];
  /** Trials run at once. @default 3 */
  readonly parallelTrials?: number;
  /** Trials in all. @default 12 */
  readonly maxTrials?: number;
  /** Failed trials before the experiment fails. @default 3 */
  readonly maxFailedTrials?: number;
  /** The trial: a resource of the katib-config's trial kinds, referring to parameters as `${trialParameters.<name>}`. */
  readonly trial: {
    /** The trial's resource (`apiVersion`, `kind`, `spec`), e.g. a batch/v1 Job. */
    readonly spec: { readonly apiVersion: string; readonly kind: string; readonly spec: Readonly<Record<string, unknown>> };
    /** The container whose output carries the metrics. */
    readonly primaryContainerName: string;
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PARAMETER_REFERENCE = /\$\{trialParameters\.([A-Za-z0-9_-]+)\}/g;

/**
 * A Katib Experiment (`kubeflow.org/v1beta1`): every parameter becomes a trial parameter of the same name, so the trial
 * refers to it as `${trialParameters.<name>}`. Refused before anything is applied, naming the field: min above max, a
 * trial that refers to a parameter the search space lacks (Katib would start trials with the placeholder unreplaced)
 * or lacks its primary container, more parallel trials than trials.
 */
export function experiment(scope: Construct, id: string, crd: CustomResourceDefinition, props: ExperimentProps): ApiObject {
  const bad = (message: string): never => {
    throw new Error(`experiment(${props.namespace}/${props.name}): ${message}`);
  };
  if (!DNS_LABEL.test(props.name) || props.name.length > 63) bad('name must be a DNS label');
  if (!DNS_LABEL.test(props.namespace)) bad(`namespace "${props.namespace}" must be a namespace name`);
  if (props.parameters.length === 0) bad('parameters must list at least one parameter');
  const names = new Set<string>();
  props.parameters.forEach((p, i) => {
    if (names.has(p.name)) bad(`parameters[${i}].name: ${p.name} is listed twice`);
    names.add(p.name);
    if (p.type === 'int' || p.type === 'double') {
      if (p.type === 'int' && (!Number.isInteger(p.min) || !Number.isInteger(p.max))) bad(`parameters[${i}] (${p.name}): an int parameter needs whole min and max`);
      if (p.min > p.max) bad(`parameters[${i}] (${p.name}): min ${p.min} is above max ${p.max}`);
    } else if (p.values.length === 0) {
      bad(`parameters[${i}] (${p.name}): values must list at least one value`);
    }
  });
  const parallel = props.parallelTrials ?? 3;
  const max = props.maxTrials ?? 12;
  const failed = props.maxFailedTrials ?? 3;
  if (!Number.isInteger(parallel) || parallel < 1) bad(`parallelTrials ${parallel} must be a whole number, 1 or more`);
  if (!Number.isInteger(max) || max < parallel) bad(`maxTrials ${max} must be a whole number, at least parallelTrials (${parallel})`);
  if (!Number.isInteger(failed) || failed < 0) bad(`maxFailedTrials ${failed} must be a whole number, 0 or more`);
  const trialText = JSON.stringify(props.trial.spec);
  for (const [, ref] of trialText.matchAll(PARAMETER_REFERENCE)) {
    if (!names.has(ref)) bad(`trial.spec refers to \${trialParameters.${ref}}, which is not a parameter (parameters: ${[...names].join(', ')})`);
  }
  if (!trialText.includes(`"name":"${props.trial.primaryContainerName}"`)) {
    bad(`trial.primaryContainerName "${props.trial.primaryContainerName}" names no container of trial.spec`);
  }

  const body: ExperimentBody = {
    spec: {
      objective: {
        type: props.objective.type,
        objectiveMetricName: props.objective.metric,
        ...(props.objective.goal !== undefined ? { goal: props.objective.goal } : {}),
        ...(props.objective.additionalMetrics ? { additionalMetricNames: [...props.objective.additionalMetrics] } : {}),
      },
      algorithm: {
        algorithmName: props.algorithm,
        ...(props.algorithmSettings ? { algorithmSettings: Object.entries(props.algorithmSettings).map(([name, value]) => ({ name, value })) } : {}),
      },
      parallelTrialCount: parallel,
      maxTrialCount: max,
      maxFailedTrialCount: failed,
      parameters: props.parameters.map((p) => ({
        name: p.name,
        parameterType: p.type,
        feasibleSpace: p.type === 'int' || p.type === 'double'
          ? { min: String(p.min), max: String(p.max), ...(p.step !== undefined ? { step: String(p.step) } : {}) }
          : { list: [...p.values] },
      })),
      trialTemplate: {
        primaryContainerName: props.trial.primaryContainerName,
        trialParameters: props.parameters.map((p) => ({ name: p.name, reference: p.name })),
        trialSpec: { ...props.trial.spec },
      },
    },
  };
  return crd.customResource(scope, id, EXPERIMENT_V1BETA1, { name: props.name, namespace: props.namespace }, body);
}
