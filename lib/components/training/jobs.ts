import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { GPU_RESOURCE, GpuPool, gpuNodeSelector, gpuTolerations } from '../../core/gpu';
import { QUANTITY_PATTERN } from '../../core/quantity';
import { unpinnedReason } from '../../validate/images';
import { PYTORCH_JOB_V1, PyTorchJobBody, TF_JOB_V1, TrainingCrds } from './crds';

/** One replica type's spec, as the CRDs type it. */
type ReplicaSpecBody = PyTorchJobBody['spec']['pytorchReplicaSpecs'][string];

/** What each replica of a job runs. */
export interface ReplicaContainer {
  /** Image, pinned (a tag other than `latest`, or a digest). */
  readonly image: string;
  /** Command. @default - the image's entrypoint */
  readonly command?: readonly string[];
  /** Arguments. @default - none */
  readonly args?: readonly string[];
  /** Environment. @default - none */
  readonly env?: Readonly<Record<string, string>>;
  /** CPU and memory requests (memory is also the limit): what the namespace's quota counts. */
  readonly resources: { readonly cpu: string; readonly memory: string };
  /** GPUs per replica, on a pool of the platform: limits (and requests), the pool's node selector and toleration. @default - none */
  readonly gpus?: { readonly count: number; readonly pool: GpuPool };
}

/** A replica type: how many, and how they restart. */
export interface ReplicaProps extends ReplicaContainer {
  /** Replicas. */
  readonly replicas: number;
  /** Restart policy of the replica's pods. @default 'OnFailure' */
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never' | 'ExitCode';
}

/** What every job shares. */
export interface JobProps {
  /** Name (a DNS label). */
  readonly name: string;
  /** Namespace (a profile's). */
  readonly namespace: string;
  /** ServiceAccount of the pods (its credentials reach the data). @default - the namespace's `default` */
  readonly serviceAccountName?: string;
  /** Which pods to delete when the job ends. @default 'None' (keep them for their logs) */
  readonly cleanPodPolicy?: 'All' | 'Running' | 'None';
  /** Seconds after which a finished job is deleted. @default - kept */
  readonly ttlSecondsAfterFinished?: number;
  /** Retries before the job fails. @default - the operator's */
  readonly backoffLimit?: number;
}

/** Props of {@link pytorchJob}. */
export interface PyTorchJobProps extends JobProps {
  /** The master (rank 0): one replica. */
  readonly master: Omit<ReplicaProps, 'replicas'> & { readonly replicas?: 1 };
  /** The workers. @default - none (a single-node job) */
  readonly worker?: ReplicaProps;
  /** Processes per node (`torchrun --nproc-per-node`). @default - the operator's (auto) */
  readonly nprocPerNode?: string;
}

/** Props of {@link tfJob}. */
export interface TFJobProps extends JobProps {
  /** Parameter servers. @default - none */
  readonly ps?: ReplicaProps;
  /** A chief. @default - none */
  readonly chief?: Omit<ReplicaProps, 'replicas'> & { readonly replicas?: 1 };
  /** Workers. */
  readonly worker: ReplicaProps;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUANTITY = new RegExp(QUANTITY_PATTERN.source);

type Bad = (message: string) => never;

function checkJob(bad: Bad, props: JobProps): void {
  if (!DNS_LABEL.test(props.name) || props.name.length > 63) bad('name must be a DNS label');
  if (!DNS_LABEL.test(props.namespace)) bad(`namespace "${props.namespace}" must be a namespace name`);
  if (props.ttlSecondsAfterFinished !== undefined && (!Number.isInteger(props.ttlSecondsAfterFinished) || props.ttlSecondsAfterFinished < 0)) {
    bad('ttlSecondsAfterFinished must be a whole number of seconds, 0 or more');
  }
  if (props.backoffLimit !== undefined && (!Number.isInteger(props.backoffLimit) || props.backoffLimit < 0)) bad('backoffLimit must be a whole number, 0 or more');
}

/** The replica spec (wire form) of one replica type; `container` is the name the operator looks for. */
function replica(bad: Bad, field: string, container: string, r: ReplicaContainer & { readonly replicas?: number; readonly restartPolicy?: ReplicaProps['restartPolicy'] },
  serviceAccountName: string | undefined): ReplicaSpecBody {
  const replicas = r.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1) bad(`${field}.replicas ${replicas} must be a whole number, 1 or more`);
  const unpinned = unpinnedReason(r.image);
  if (unpinned !== undefined) bad(`${field}.image "${r.image}": ${unpinned}; pin a tag or digest`);
  if (!QUANTITY.test(r.resources.cpu) || !QUANTITY.test(r.resources.memory)) bad(`${field}.resources: cpu and memory must be Kubernetes quantities such as 2 and 8Gi`);
  const gpus = r.gpus;
  if (gpus && (!Number.isInteger(gpus.count) || gpus.count < 1)) bad(`${field}.gpus.count ${gpus.count} must be a whole number, 1 or more`);
  const gpu = gpus ? { [GPU_RESOURCE]: String(gpus.count) } : {};
  return {
    replicas,
    restartPolicy: r.restartPolicy ?? 'OnFailure',
    template: {
      spec: {
        ...(serviceAccountName !== undefined ? { serviceAccountName } : {}),
        ...(gpus ? { nodeSelector: gpuNodeSelector(gpus.pool), tolerations: gpuTolerations(gpus.pool).map((t) => ({ ...t })) } : {}),
        containers: [{
          name: container,
          image: r.image,
          ...(r.command ? { command: [...r.command] } : {}),
          ...(r.args ? { args: [...r.args] } : {}),
          ...(r.env ? { env: Object.entries(r.env).map(([name, value]) => ({ name, value })) } : {}),
          resources: {
            requests: { cpu: r.resources.cpu, memory: r.resources.memory, ...gpu },
            limits: { memory: r.resources.memory, ...gpu },
          },
        }],
      },
    },
  };
}

function runPolicy(props: JobProps): Record<string, unknown> {
  return {
    cleanPodPolicy: props.cleanPodPolicy ?? 'None',
    ...(props.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: props.ttlSecondsAfterFinished } : {}),
    ...(props.backoffLimit !== undefined ? { backoffLimit: props.backoffLimit } : {}),
  };
}

/**
 * A PyTorchJob (`kubeflow.org/v1`): a master and workers, each a container named `pytorch` (what the operator looks
 * for to inject the rendezvous environment), requests for the quota, GPUs in limits and requests with the pool's node
 * selector and toleration in every replica's pod.
 */
export function pytorchJob(scope: Construct, id: string, crds: TrainingCrds, props: PyTorchJobProps): ApiObject {
  const bad: Bad = (message) => {
    throw new Error(`pytorchJob(${props.namespace}/${props.name}): ${message}`);
  };
  checkJob(bad, props);
  const masters: number = props.master.replicas ?? 1;
  if (masters !== 1) bad('master.replicas must be 1 (rank 0)');
  const specs: Record<string, ReplicaSpecBody> = { Master: replica(bad, 'master', 'pytorch', props.master, props.serviceAccountName) };
  if (props.worker) specs.Worker = replica(bad, 'worker', 'pytorch', props.worker, props.serviceAccountName);
  return crds.byKind.PyTorchJob.customResource(scope, id, PYTORCH_JOB_V1, { name: props.name, namespace: props.namespace }, {
    spec: {
      pytorchReplicaSpecs: specs,
      runPolicy: runPolicy(props),
      ...(props.nprocPerNode !== undefined ? { nprocPerNode: props.nprocPerNode } : {}),
    },
  });
}

/** A TFJob (`kubeflow.org/v1`): workers, optional parameter servers and chief, each a container named `tensorflow`. */
export function tfJob(scope: Construct, id: string, crds: TrainingCrds, props: TFJobProps): ApiObject {
  const bad: Bad = (message) => {
    throw new Error(`tfJob(${props.namespace}/${props.name}): ${message}`);
  };
  checkJob(bad, props);
  const specs: Record<string, ReplicaSpecBody> = { Worker: replica(bad, 'worker', 'tensorflow', props.worker, props.serviceAccountName) };
  if (props.ps) specs.PS = replica(bad, 'ps', 'tensorflow', props.ps, props.serviceAccountName);
  if (props.chief) specs.Chief = replica(bad, 'chief', 'tensorflow', props.chief, props.serviceAccountName);
  return crds.byKind.TFJob.customResource(scope, id, TF_JOB_V1, { name: props.name, namespace: props.namespace }, {
    spec: { tfReplicaSpecs: specs, runPolicy: runPolicy(props) },
  });
}
