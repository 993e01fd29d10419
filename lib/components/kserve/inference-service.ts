import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { CustomResourceDefinition } from '../../core/crd';
import { GPU_RESOURCE, GpuPool, gpuNodeSelector, gpuTolerations } from '../../core/gpu';
import { QUANTITY_PATTERN } from '../../core/quantity';
import { INFERENCE_SERVICE_V1BETA1, InferenceServiceBody } from './crds';
import { InferenceProtocol } from './runtimes';
import { DEPLOYMENT_MODE_ANNOTATION, DeploymentMode } from './shared';

/** The model an InferenceService serves. */
export interface ModelProps {
  /** Format, e.g. `sklearn`, `xgboost`, `pytorch`, `tensorflow`, `huggingface`: KServe picks a runtime that serves it. */
  readonly format: string;
  /** Format version. @default - any */
  readonly formatVersion?: string;
  /** Where the model is: `s3://bucket/prefix`, `gs://…`, `pvc://claim/path`, `hf://org/model`, `https://…`. */
  readonly storageUri: string;
  /** A runtime by name (a ClusterServingRuntime or the namespace's ServingRuntime). @default - chosen by format */
  readonly runtime?: string;
  /** Protocol of the predictor. @default - the runtime's first */
  readonly protocol?: InferenceProtocol;
}

/** GPUs for the predictor, on a pool of the platform. */
export interface PredictorGpus {
  /** How many NVIDIA GPUs (requests = limits). */
  readonly count: number;
  /** The pool: its node selector and taint toleration go into the predictor. */
  readonly pool: GpuPool;
}

/** Props of {@link inferenceService}. */
export interface InferenceServiceProps {
  /** Name (a DNS label). */
  readonly name: string;
  /** Namespace (a profile's). */
  readonly namespace: string;
  /** The model. */
  readonly model: ModelProps;
  /** CPU and memory of the predictor (requests; memory is also the limit). @default - the runtime's */
  readonly resources?: { readonly cpu: string; readonly memory: string };
  /** GPUs. @default - none */
  readonly gpus?: PredictorGpus;
  /** Fewest replicas; 0 scales to zero (Serverless only). @default 1 */
  readonly minReplicas?: number;
  /** Most replicas. @default - minReplicas */
  readonly maxReplicas?: number;
  /** ServiceAccount of the predictor: its credentials reach the model's storage. @default - the namespace's `default` */
  readonly serviceAccountName?: string;
  /**
   * Percent of traffic the latest revision gets while the previous one keeps the rest (a canary rollout). Serverless
   * mode only: raw deployments have no revisions to split between.
   * @default - all traffic to the latest revision
   */
  readonly canaryTrafficPercent?: number;
  /** How KServe runs this service. @default - the platform's default mode */
  readonly deploymentMode?: DeploymentMode;
}

/** What an InferenceService needs of the KServe install. */
export interface InferenceServiceContext {
  /** The InferenceService CRD. */
  readonly crd: CustomResourceDefinition;
  /** The platform's default deployment mode. */
  readonly defaultMode: DeploymentMode;
  /** Whether Serverless mode is available (Knative Serving is installed). */
  readonly serverless: boolean;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const STORAGE_URI = /^(s3|gs|pvc|hf|hdfs|webhdfs|oci|https?):\/\/\S+$/;
const QUANTITY = new RegExp(QUANTITY_PATTERN.source);

/**
 * A typed InferenceService (`serving.kserve.io/v1beta1`) with the checks KServe's webhook would make too late:
 * a canary split in raw-deployment mode is refused naming `canaryTrafficPercent`, scale-to-zero and Serverless
 * without Knative likewise; GPUs go into the predictor's requests and limits with the pool's node selector and
 * toleration.
 */
export function inferenceService(scope: Construct, id: string, context: InferenceServiceContext, props: InferenceServiceProps): ApiObject {
  const where = `inferenceService(${props.namespace}/${props.name})`;
  const bad = (message: string): never => {
    throw new Error(`${where}: ${message}`);
  };
  if (!DNS_LABEL.test(props.name) || props.name.length > 45) bad('name must be a DNS label of at most 45 characters (KServe derives longer names from it)');
  if (!DNS_LABEL.test(props.namespace)) bad(`namespace "${props.namespace}" must be a namespace name`);
  if (!STORAGE_URI.test(props.model.storageUri)) bad(`model.storageUri "${props.model.storageUri}" must be an s3://, gs://, pvc://, hf://, oci:// or https:// URI`);
  const mode = props.deploymentMode ?? context.defaultMode;
  if (mode === 'Serverless' && !context.serverless) bad('deploymentMode Serverless needs Knative Serving (knative.mode external or managed); use RawDeployment');
  const min = props.minReplicas ?? 1;
  const max = props.maxReplicas ?? Math.max(min, 1);
  if (!Number.isInteger(min) || min < 0) bad(`minReplicas ${min} must be a whole number, 0 or more`);
  if (min === 0 && mode === 'RawDeployment') bad('minReplicas 0 (scale to zero) needs Serverless mode; raw deployments keep at least one replica');
  if (!Number.isInteger(max) || max < Math.max(min, 1)) bad(`maxReplicas ${max} must be a whole number, at least minReplicas (${min}) and 1`);
  if (props.canaryTrafficPercent !== undefined) {
    if (mode === 'RawDeployment') {
      bad('canaryTrafficPercent: a canary split needs Serverless mode (Knative revisions); in RawDeployment mode there is only the latest '
        + 'deployment. Set deploymentMode: Serverless, or roll out with a second InferenceService');
    }
    if (!Number.isInteger(props.canaryTrafficPercent) || props.canaryTrafficPercent < 0 || props.canaryTrafficPercent > 100) {
      bad(`canaryTrafficPercent ${props.canaryTrafficPercent} must be a whole number from 0 to 100`);
    }
  }
  const r = props.resources;
  if (r && (!QUANTITY.test(r.cpu) || !QUANTITY.test(r.memory))) bad('resources.cpu and resources.memory must be Kubernetes quantities such as 1 and 2Gi');
  const gpus = props.gpus;
  if (gpus && (!Number.isInteger(gpus.count) || gpus.count < 1)) bad(`gpus.count ${gpus.count} must be a whole number, 1 or more`);

  const requests: Record<string, string> = { ...(r ? { cpu: r.cpu, memory: r.memory } : {}), ...(gpus ? { [GPU_RESOURCE]: String(gpus.count) } : {}) };
  const limits: Record<string, string> = { ...(r ? { memory: r.memory } : {}), ...(gpus ? { [GPU_RESOURCE]: String(gpus.count) } : {}) };
  const body: InferenceServiceBody = {
    spec: {
      predictor: {
        minReplicas: min,
        maxReplicas: max,
        ...(props.serviceAccountName !== undefined ? { serviceAccountName: props.serviceAccountName } : {}),
        ...(props.canaryTrafficPercent !== undefined ? { canaryTrafficPercent: props.canaryTrafficPercent } : {}),
        ...(gpus ? { nodeSelector: gpuNodeSelector(gpus.pool), tolerations: gpuTolerations(gpus.pool).map((t) => ({ ...t })) } : {}),
        model: {
          modelFormat: { name: props.model.format, ...(props.model.formatVersion !== undefined ? { version: props.model.formatVersion } : {}) },
          storageUri: props.model.storageUri,
          ...(props.model.runtime !== undefined ? { runtime: props.model.runtime } : {}),
          ...(props.model.protocol !== undefined ? { protocolVersion: props.model.protocol } : {}),
          ...(Object.keys(requests).length > 0 ? { resources: { requests, limits } } : {}),
        },
      },
    },
  };
  return context.crd.customResource(scope, id, INFERENCE_SERVICE_V1BETA1, {
    name: props.name, namespace: props.namespace, annotations: { [DEPLOYMENT_MODE_ANNOTATION]: mode },
  }, body);
}
