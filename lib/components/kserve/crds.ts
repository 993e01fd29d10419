import { Construct } from 'constructs';
import { CrdVersion, CustomResourceDefinition, Infer, Schema, SchemaNode } from '../../core/crd';
import { standardLabels } from '../../core/labels';
import { KSERVE_IDENTITY } from './shared';

/*
 * KServe's kinds as kfkit installs them, typed after the Go types of kserve/kserve v0.16.0 (pkg/apis/serving): the
 * fields kfkit's helpers and the runtimes set are typed; every other field (the PodSpec fields a predictor inlines,
 * explainers, transformers, status) is preserved as written, as upstream's CRDs preserve them. Names, groups,
 * versions, scope and subresources are upstream facts (facts/upstream.json, source kubeflow-kserve).
 */

const GROUP = 'serving.kserve.io';
const quantity = Schema.intOrString();
const resources = Schema.object({ requests: Schema.map(quantity), limits: Schema.map(quantity) }, { preserveUnknown: true });
const securityContext = Schema.object({
  allowPrivilegeEscalation: Schema.bool(),
  privileged: Schema.bool(),
  runAsNonRoot: Schema.bool(),
  runAsUser: Schema.int({ format: 'int64' }),
  capabilities: Schema.object({ drop: Schema.array(Schema.string()), add: Schema.array(Schema.string()) }),
}, { preserveUnknown: true });
const env = Schema.object({ name: Schema.string(), value: Schema.string() }, { preserveUnknown: true });
const container = Schema.object({
  name: Schema.string(),
  image: Schema.string(),
  command: Schema.array(Schema.string()),
  args: Schema.array(Schema.string()),
  env: Schema.array(env),
  resources,
  securityContext,
  ports: Schema.array(Schema.object({ containerPort: Schema.int({ format: 'int32' }), name: Schema.string(), protocol: Schema.string() }, { preserveUnknown: true })),
}, { preserveUnknown: true });
const toleration = Schema.object({
  key: Schema.string(), operator: Schema.string(), value: Schema.string(), effect: Schema.string(), tolerationSeconds: Schema.int({ format: 'int64' }),
});
const open = Schema.preserveUnknown();

/** A model format a runtime serves (Go `SupportedModelFormat`). */
const supportedModelFormat = Schema.object({
  name: Schema.string(),
  version: Schema.string(),
  autoSelect: Schema.bool(),
  priority: Schema.int({ format: 'int32', minimum: 1 }),
});

/** `spec` of a ServingRuntime and a ClusterServingRuntime (Go `ServingRuntimeSpec`). */
export const servingRuntimeSpecSchema = Schema.object({
  supportedModelFormats: Schema.array(supportedModelFormat),
  protocolVersions: Schema.array(Schema.enumOf(['v1', 'v2', 'grpc-v1', 'grpc-v2'])),
  multiModel: Schema.bool(),
  disabled: Schema.bool(),
  annotations: Schema.map(Schema.string()),
  labels: Schema.map(Schema.string()),
  containers: Schema.array(container),
  volumes: Schema.array(Schema.object({ name: Schema.string() }, { preserveUnknown: true })),
  nodeSelector: Schema.map(Schema.string()),
  tolerations: Schema.array(toleration),
  hostIPC: Schema.bool(),
}, { required: ['containers'], preserveUnknown: true });

/** The model of a predictor (Go `ModelSpec`). */
const modelSpec = Schema.object({
  modelFormat: Schema.object({ name: Schema.string(), version: Schema.string() }, { required: ['name'] }),
  runtime: Schema.string(),
  storageUri: Schema.string(),
  protocolVersion: Schema.enumOf(['v1', 'v2', 'grpc-v1', 'grpc-v2']),
  args: Schema.array(Schema.string()),
  env: Schema.array(env),
  resources,
}, { required: ['modelFormat'], preserveUnknown: true });

/** `spec.predictor` of an InferenceService (Go `PredictorSpec`: component extension fields and the PodSpec inlined). */
const predictorSpec = Schema.object({
  model: modelSpec,
  minReplicas: Schema.int({ minimum: 0 }),
  maxReplicas: Schema.int({ minimum: 0 }),
  scaleTarget: Schema.int(),
  scaleMetric: Schema.enumOf(['cpu', 'memory', 'concurrency', 'rps']),
  containerConcurrency: Schema.int({ format: 'int64' }),
  timeout: Schema.int({ format: 'int64' }),
  canaryTrafficPercent: Schema.int({ format: 'int64', minimum: 0, maximum: 100 }),
  serviceAccountName: Schema.string(),
  nodeSelector: Schema.map(Schema.string()),
  tolerations: Schema.array(toleration),
  containers: Schema.array(container),
  labels: Schema.map(Schema.string()),
  annotations: Schema.map(Schema.string()),
}, { preserveUnknown: true });

/** `spec` of an InferenceService (Go `InferenceServiceSpec`). */
export const inferenceServiceSpecSchema = Schema.object({
  predictor: predictorSpec,
  explainer: open,
  transformer: open,
}, { required: ['predictor'] });

const version = <T>(name: string, schema: SchemaNode<T>, status: boolean): CrdVersion<T> => ({
  name, storage: true, schema, subresources: status ? { status: true } : undefined,
});

/** InferenceService `serving.kserve.io/v1beta1`. */
export const INFERENCE_SERVICE_V1BETA1 = version('v1beta1', Schema.object({ spec: inferenceServiceSpecSchema, status: open }, { required: ['spec'] }), true);
/** ServingRuntime `serving.kserve.io/v1alpha1` (namespaced). */
export const SERVING_RUNTIME_V1ALPHA1 = version('v1alpha1', Schema.object({ spec: servingRuntimeSpecSchema, status: open }, { required: ['spec'] }), false);
/** ClusterServingRuntime `serving.kserve.io/v1alpha1`. */
export const CLUSTER_SERVING_RUNTIME_V1ALPHA1 = version('v1alpha1', Schema.object({ spec: servingRuntimeSpecSchema, status: open }, { required: ['spec'] }), false);
/** ClusterStorageContainer `serving.kserve.io/v1alpha1`. */
export const CLUSTER_STORAGE_CONTAINER_V1ALPHA1 = version('v1alpha1', Schema.object({
  spec: Schema.object({
    container,
    supportedUriFormats: Schema.array(Schema.object({ prefix: Schema.string(), regex: Schema.string() })),
    workloadType: Schema.enumOf(['initContainer', 'localModelDownloadJob']),
  }, { required: ['container', 'supportedUriFormats'] }),
}, { required: ['spec'] }), false);

/** The body of an InferenceService, as the helpers write it. */
export type InferenceServiceBody = Infer<typeof INFERENCE_SERVICE_V1BETA1.schema>;
/** The body of a (Cluster)ServingRuntime. */
export type ServingRuntimeBody = Infer<typeof SERVING_RUNTIME_V1ALPHA1.schema>;

/** A KServe kind kfkit installs with an open schema (kfkit writes none of them; the controller and users do). */
interface OpenKind {
  readonly id: string;
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly scope: 'Namespaced' | 'Cluster';
  readonly version: string;
  readonly status: boolean;
  readonly shortNames?: readonly string[];
}

/**
 * The other kinds of upstream's install: the controller's manager registers watches or webhooks on TrainedModel,
 * InferenceGraph and LocalModelCache, and clusters that move to the LLM controller later find its kinds; their
 * objects are users', so kfkit keeps every field (`spec` and `status` preserved).
 */
const OPEN_KINDS: readonly OpenKind[] = [
  { id: 'TrainedModel', group: GROUP, kind: 'TrainedModel', plural: 'trainedmodels', scope: 'Namespaced', version: 'v1alpha1', status: true, shortNames: ['tm'] },
  { id: 'InferenceGraph', group: GROUP, kind: 'InferenceGraph', plural: 'inferencegraphs', scope: 'Namespaced', version: 'v1alpha1', status: true, shortNames: ['ig'] },
  { id: 'LocalModelCache', group: GROUP, kind: 'LocalModelCache', plural: 'localmodelcaches', scope: 'Cluster', version: 'v1alpha1', status: true },
  { id: 'LocalModelNode', group: GROUP, kind: 'LocalModelNode', plural: 'localmodelnodes', scope: 'Cluster', version: 'v1alpha1', status: true },
  { id: 'LocalModelNodeGroup', group: GROUP, kind: 'LocalModelNodeGroup', plural: 'localmodelnodegroups', scope: 'Cluster', version: 'v1alpha1', status: true },
  { id: 'LLMInferenceService', group: GROUP, kind: 'LLMInferenceService', plural: 'llminferenceservices', scope: 'Namespaced', version: 'v1alpha1', status: true, shortNames: ['llmisvc'] },
  { id: 'LLMInferenceServiceConfig', group: GROUP, kind: 'LLMInferenceServiceConfig', plural: 'llminferenceserviceconfigs', scope: 'Namespaced', version: 'v1alpha1', status: false, shortNames: ['llmisvcconfig'] },
  { id: 'InferencePool', group: 'inference.networking.x-k8s.io', kind: 'InferencePool', plural: 'inferencepools', scope: 'Namespaced', version: 'v1alpha2', status: true },
  { id: 'InferenceModel', group: 'inference.networking.x-k8s.io', kind: 'InferenceModel', plural: 'inferencemodels', scope: 'Namespaced', version: 'v1alpha2', status: true },
];

/** The CRDs of KServe v0.16.0 as kubeflow/manifests 26.03 installs them (13), from kfkit's definitions. */
export class KServeCrds extends Construct {
  public readonly inferenceService: CustomResourceDefinition;
  public readonly servingRuntime: CustomResourceDefinition;
  public readonly clusterServingRuntime: CustomResourceDefinition;
  public readonly clusterStorageContainer: CustomResourceDefinition;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    const labels = standardLabels(KSERVE_IDENTITY);
    this.inferenceService = new CustomResourceDefinition(this, 'InferenceService', {
      group: GROUP, kind: 'InferenceService', plural: 'inferenceservices', shortNames: ['isvc'], scope: 'Namespaced', labels,
      versions: [INFERENCE_SERVICE_V1BETA1],
    });
    this.servingRuntime = new CustomResourceDefinition(this, 'ServingRuntime', {
      group: GROUP, kind: 'ServingRuntime', plural: 'servingruntimes', scope: 'Namespaced', labels, versions: [SERVING_RUNTIME_V1ALPHA1],
    });
    this.clusterServingRuntime = new CustomResourceDefinition(this, 'ClusterServingRuntime', {
      group: GROUP, kind: 'ClusterServingRuntime', plural: 'clusterservingruntimes', scope: 'Cluster', labels, versions: [CLUSTER_SERVING_RUNTIME_V1ALPHA1],
    });
    this.clusterStorageContainer = new CustomResourceDefinition(this, 'ClusterStorageContainer', {
      group: GROUP, kind: 'ClusterStorageContainer', plural: 'clusterstoragecontainers', scope: 'Cluster', labels, versions: [CLUSTER_STORAGE_CONTAINER_V1ALPHA1],
    });
    for (const k of OPEN_KINDS) {
      new CustomResourceDefinition(this, k.id, {
        group: k.group, kind: k.kind, plural: k.plural, scope: k.scope, labels, shortNames: k.shortNames,
        versions: [version(k.version, Schema.object({ spec: open, status: open }), k.status)],
      });
    }
  }
}
