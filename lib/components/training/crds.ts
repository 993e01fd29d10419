import { Construct } from 'constructs';
import { CrdVersion, CustomResourceDefinition, Infer, Schema } from '../../core/crd';
import { standardLabels } from '../../core/labels';
import { TRAINING_IDENTITY } from './shared';

/*
 * The job kinds of the Kubeflow Training Operator v1.9.2 (`kubeflow.org/v1`, pkg/apis/kubeflow.org/v1): typed where
 * kfkit's helpers write (replica specs with replicas, restart policy and pod template; the run policy), everything else
 * (elastic policies, status) preserved as written, as upstream's CRDs preserve the pod templates. Kinds, versions, scope,
 * status and scale subresources are upstream facts (facts/upstream.json, source kubeflow-training).
 */

/** A replica type's spec (Go `ReplicaSpec`). */
const replicaSpec = Schema.object({
  replicas: Schema.int({ format: 'int32', minimum: 0 }),
  restartPolicy: Schema.enumOf(['Always', 'OnFailure', 'Never', 'ExitCode']),
  template: Schema.podTemplateSpec(),
}, { required: ['template'] });

/** The run policy (Go `RunPolicy`). */
const runPolicy = Schema.object({
  cleanPodPolicy: Schema.enumOf(['All', 'Running', 'None']),
  ttlSecondsAfterFinished: Schema.int({ format: 'int32', minimum: 0 }),
  activeDeadlineSeconds: Schema.int({ format: 'int64', minimum: 0 }),
  backoffLimit: Schema.int({ format: 'int32', minimum: 0 }),
  suspend: Schema.bool(),
  managedBy: Schema.string(),
  schedulingPolicy: Schema.preserveUnknown(),
});

/** One job kind: its replica specs field and replica types, and whether it has a scale subresource on workers. */
interface JobKind {
  readonly kind: string;
  readonly plural: string;
  readonly specsField: string;
  readonly scale: boolean;
}

/** Upstream's six kinds. */
export const JOB_KINDS = [
  { kind: 'PyTorchJob', plural: 'pytorchjobs', specsField: 'pytorchReplicaSpecs', scale: true },
  { kind: 'TFJob', plural: 'tfjobs', specsField: 'tfReplicaSpecs', scale: false },
  { kind: 'MPIJob', plural: 'mpijobs', specsField: 'mpiReplicaSpecs', scale: false },
  { kind: 'XGBoostJob', plural: 'xgboostjobs', specsField: 'xgbReplicaSpecs', scale: false },
  { kind: 'PaddleJob', plural: 'paddlejobs', specsField: 'paddleReplicaSpecs', scale: true },
  { kind: 'JAXJob', plural: 'jaxjobs', specsField: 'jaxReplicaSpecs', scale: true },
] as const satisfies readonly JobKind[];

/** A job kind's name. */
export type JobKindName = (typeof JOB_KINDS)[number]['kind'];

const pytorchSpec = Schema.object({
  pytorchReplicaSpecs: Schema.map(replicaSpec, { description: 'Master and Worker.' }),
  runPolicy,
  elasticPolicy: Schema.preserveUnknown(),
  nprocPerNode: Schema.string({ description: 'Processes per node (torchrun --nproc-per-node): a number, auto, cpu or gpu.' }),
}, { required: ['pytorchReplicaSpecs'] });
const tfSpec = Schema.object({
  tfReplicaSpecs: Schema.map(replicaSpec, { description: 'Chief, Master, PS, Worker, Evaluator.' }),
  runPolicy,
  successPolicy: Schema.string(),
  enableDynamicWorker: Schema.bool(),
}, { required: ['tfReplicaSpecs'] });

/** PyTorchJob `kubeflow.org/v1`. */
export const PYTORCH_JOB_V1 = {
  name: 'v1', storage: true, schema: Schema.object({ spec: pytorchSpec, status: Schema.preserveUnknown() }, { required: ['spec'] }),
  subresources: {
    status: true,
    scale: { specReplicasPath: '.spec.pytorchReplicaSpecs.Worker.replicas', statusReplicasPath: '.status.replicaStatuses.Worker.active', labelSelectorPath: '.status.replicaStatuses.Worker.selector' },
  },
} satisfies CrdVersion<unknown>;
/** TFJob `kubeflow.org/v1`. */
export const TF_JOB_V1 = {
  name: 'v1', storage: true, schema: Schema.object({ spec: tfSpec, status: Schema.preserveUnknown() }, { required: ['spec'] }), subresources: { status: true },
} satisfies CrdVersion<unknown>;

/** The body of a PyTorchJob. */
export type PyTorchJobBody = Infer<typeof PYTORCH_JOB_V1.schema>;
/** The body of a TFJob. */
export type TFJobBody = Infer<typeof TF_JOB_V1.schema>;

/** The training operator's six CRDs, from kfkit's definitions. */
export class TrainingCrds extends Construct {
  /** The CRD of each kind. */
  public readonly byKind: Readonly<Record<JobKindName, CustomResourceDefinition>>;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    const labels = standardLabels(TRAINING_IDENTITY);
    const byKind: Partial<Record<JobKindName, CustomResourceDefinition>> = {};
    for (const k of JOB_KINDS) {
      let version: CrdVersion<unknown>;
      if (k.kind === 'PyTorchJob') version = PYTORCH_JOB_V1;
      else if (k.kind === 'TFJob') version = TF_JOB_V1;
      else {
        const spec = Schema.object({ [k.specsField]: Schema.map(replicaSpec), runPolicy }, { preserveUnknown: true });
        version = {
          name: 'v1', storage: true, schema: Schema.object({ spec, status: Schema.preserveUnknown() }, { required: ['spec'] }),
          subresources: {
            status: true,
            ...(k.scale ? {
              scale: {
                specReplicasPath: `.spec.${k.specsField}.Worker.replicas`, statusReplicasPath: '.status.replicaStatuses.Worker.active',
                labelSelectorPath: '.status.replicaStatuses.Worker.selector',
              },
            } : {}),
          },
        };
      }
      byKind[k.kind] = new CustomResourceDefinition(this, k.kind, {
        group: 'kubeflow.org', kind: k.kind, plural: k.plural, scope: 'Namespaced', labels, versions: [version],
      });
    }
    this.byKind = byKind as Record<JobKindName, CustomResourceDefinition>;
  }
}
