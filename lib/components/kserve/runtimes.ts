import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { CustomResourceDefinition } from '../../core/crd';
import { ImageKey } from '../../core/images';
import { standardLabels } from '../../core/labels';
import { unpinnedReason } from '../../validate/images';
import { CLUSTER_SERVING_RUNTIME_V1ALPHA1, SERVING_RUNTIME_V1ALPHA1, ServingRuntimeBody } from './crds';
import { KSERVE_IDENTITY, PREDICTOR_PORT } from './shared';

/** A protocol a runtime speaks. */
export type InferenceProtocol = 'v1' | 'v2' | 'grpc-v1' | 'grpc-v2';

/** A model format a runtime serves. */
export interface ModelFormat {
  /** Format name, e.g. `sklearn`, `pytorch`. */
  readonly name: string;
  /** Format version, e.g. `1`. @default - any */
  readonly version?: string;
  /** Whether KServe may pick this runtime for an InferenceService that names only the format. @default true */
  readonly autoSelect?: boolean;
  /** Preference among runtimes that auto-select the format (higher wins). @default 1 */
  readonly priority?: number;
}

/** The runtimes of KServe v0.16.0 kfkit installs, by upstream name. */
export type BuiltInRuntime = 'kserve-sklearnserver' | 'kserve-xgbserver' | 'kserve-torchserve' | 'kserve-tensorflow-serving' | 'kserve-huggingfaceserver';

interface RuntimeFacts {
  readonly image: ImageKey;
  readonly formats: readonly ModelFormat[];
  readonly protocols: readonly InferenceProtocol[];
  readonly args: readonly string[];
  readonly metricsPort: number;
  /** A UID the image runs as, where the image's own user is root. @default - the image's (non-root) user */
  readonly runAsUser?: number;
  readonly env?: readonly { readonly name: string; readonly value: string }[];
  /** A memory-backed /dev/shm (PyTorch's data loaders, Hugging Face). @default false */
  readonly devShm?: boolean;
}

const MODEL_ARGS = ['--model_name={{.Name}}', '--model_dir=/mnt/models', `--http_port=${PREDICTOR_PORT}`];

/**
 * What kubeflow/manifests 26.03 installs for these runtimes (applications/kserve: ClusterServingRuntimes of KServe
 * v0.16.0): images, arguments, model formats with versions and priorities, protocols, the metrics port annotation.
 */
export const BUILT_IN_RUNTIMES: Readonly<Record<BuiltInRuntime, RuntimeFacts>> = {
  'kserve-sklearnserver': { image: 'kserve-sklearnserver', formats: [{ name: 'sklearn', version: '1', priority: 1 }], protocols: ['v1', 'v2'], args: MODEL_ARGS, metricsPort: 8080 },
  'kserve-xgbserver': {
    image: 'kserve-xgbserver', formats: [{ name: 'xgboost', version: '1', priority: 1 }], protocols: ['v1', 'v2'], args: [...MODEL_ARGS, '--nthread=1'], metricsPort: 8080,
  },
  'kserve-torchserve': {
    image: 'kserve-torchserve', formats: [{ name: 'pytorch', version: '1', priority: 2 }], protocols: ['v1', 'v2', 'grpc-v2'], metricsPort: 8082, runAsUser: 1000,
    args: ['torchserve', '--start', '--model-store=/mnt/models/model-store', '--ts-config=/mnt/models/config/config.properties'],
    env: [{ name: 'TS_SERVICE_ENVELOPE', value: '{{.Labels.serviceEnvelope}}' }],
  },
  'kserve-tensorflow-serving': {
    image: 'kserve-tensorflow-serving', formats: [{ name: 'tensorflow', version: '1', priority: 2 }, { name: 'tensorflow', version: '2', priority: 2 }],
    protocols: ['v1', 'grpc-v1'], metricsPort: 8080, runAsUser: 1000,
    args: ['--model_name={{.Name}}', '--port=9000', `--rest_api_port=${PREDICTOR_PORT}`, '--model_base_path=/mnt/models', '--rest_api_timeout_in_ms=60000'],
  },
  'kserve-huggingfaceserver': {
    image: 'kserve-huggingfaceserver', formats: [{ name: 'huggingface', version: '1', priority: 1 }], protocols: ['v2', 'v1'], args: ['--model_name={{.Name}}'],
    metricsPort: 8080, env: [{ name: 'LMCACHE_USE_EXPERIMENTAL', value: 'True' }], devShm: true,
  },
};

/** Compute budget of a runtime's container (what a predictor gets unless it sets its own). */
export interface RuntimeResources {
  readonly cpu: string;
  readonly memory: string;
}

/** Props of {@link servingRuntime}: a team's own model server. */
export interface ServingRuntimeProps {
  /** Name of the runtime (InferenceServices name it in `model.runtime`). */
  readonly name: string;
  /** Namespace of a ServingRuntime; leave out for a ClusterServingRuntime (every namespace may use it). @default - cluster-scoped */
  readonly namespace?: string;
  /** The server image, pinned (a tag other than `latest`, or a digest). */
  readonly image: string;
  /** Model formats it serves (at least one). */
  readonly modelFormats: readonly ModelFormat[];
  /** Protocols it speaks. @default ['v1', 'v2'] */
  readonly protocols?: readonly InferenceProtocol[];
  /** Arguments; `{{.Name}}` is the InferenceService's name. @default - the image's */
  readonly args?: readonly string[];
  /** Environment. @default - none */
  readonly env?: Readonly<Record<string, string>>;
  /** Requests and limits (equal, as upstream's runtimes). @default 1 CPU, 2Gi */
  readonly resources?: RuntimeResources;
  /** UID the server runs as, if its image's user is root. @default - the image's user, which must not be root */
  readonly runAsUser?: number;
  /** Port of the Prometheus metrics endpoint. @default 8080 */
  readonly metricsPort?: number;
}

/** The CRDs a runtime needs: the kfkit-installed ones of {@link KServe}. */
export interface RuntimeCrds {
  readonly servingRuntime: CustomResourceDefinition;
  readonly clusterServingRuntime: CustomResourceDefinition;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const FORMAT = /^[a-z0-9][-a-z0-9_.]*$/;
const QUANTITY = /^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti)?$/;
const PROTOCOLS: readonly InferenceProtocol[] = ['v1', 'v2', 'grpc-v1', 'grpc-v2'];

/** The body of a runtime: one restricted container `kserve-container`, upstream's annotations for metrics. */
function runtimeBody(facts: {
  readonly image: string; readonly formats: readonly ModelFormat[]; readonly protocols: readonly InferenceProtocol[]; readonly args?: readonly string[];
  readonly env?: readonly { readonly name: string; readonly value: string }[]; readonly resources: RuntimeResources; readonly runAsUser?: number;
  readonly metricsPort: number; readonly devShm?: boolean;
}): ServingRuntimeBody {
  const amount = { cpu: facts.resources.cpu, memory: facts.resources.memory };
  return {
    spec: {
      annotations: { 'prometheus.kserve.io/path': '/metrics', 'prometheus.kserve.io/port': String(facts.metricsPort) },
      supportedModelFormats: facts.formats.map((f) => ({
        name: f.name, ...(f.version !== undefined ? { version: f.version } : {}), autoSelect: f.autoSelect ?? true, priority: f.priority ?? 1,
      })),
      protocolVersions: [...facts.protocols],
      containers: [{
        name: 'kserve-container',
        image: facts.image,
        ...(facts.args ? { args: [...facts.args] } : {}),
        ...(facts.env && facts.env.length > 0 ? { env: facts.env.map((e) => ({ name: e.name, value: e.value })) } : {}),
        resources: { requests: amount, limits: amount },
        securityContext: {
          allowPrivilegeEscalation: false, privileged: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
          ...(facts.runAsUser !== undefined ? { runAsUser: facts.runAsUser } : {}),
        },
        ...(facts.devShm === true ? { volumeMounts: [{ name: 'devshm', mountPath: '/dev/shm' }] } : {}),
      }],
      ...(facts.devShm === true ? { volumes: [{ name: 'devshm', emptyDir: { medium: 'Memory' } }], hostIPC: false } : {}),
    },
  };
}

/** One of KServe's built-in runtimes as a ClusterServingRuntime (its image from the catalog). */
export function builtInRuntime(scope: Construct, crds: RuntimeCrds, name: BuiltInRuntime): ApiObject {
  const facts = BUILT_IN_RUNTIMES[name];
  const ctx = KfkitContext.of(scope);
  return crds.clusterServingRuntime.customResource(scope, name, CLUSTER_SERVING_RUNTIME_V1ALPHA1, {
    name, labels: standardLabels(KSERVE_IDENTITY),
  }, runtimeBody({ ...facts, image: ctx.runtimeImage(facts.image), resources: { cpu: '1', memory: '2Gi' } }));
}

/**
 * A team's own model server as a runtime InferenceServices can select by format or by name: a ServingRuntime in the
 * team's namespace, or a ClusterServingRuntime for everyone. The container is restricted like the built-in ones
 * (no privilege escalation, no capabilities, non-root); a root image needs `runAsUser`.
 */
export function servingRuntime(scope: Construct, id: string, crds: RuntimeCrds, props: ServingRuntimeProps): ApiObject {
  const where = `servingRuntime(${props.name})`;
  const bad = (message: string): never => {
    throw new Error(`${where}: ${message}`);
  };
  if (!DNS_LABEL.test(props.name) || props.name.length > 63) bad('name must be a DNS label');
  if (props.namespace !== undefined && !DNS_LABEL.test(props.namespace)) bad(`namespace "${props.namespace}" must be a namespace name`);
  const unpinned = unpinnedReason(props.image);
  if (unpinned !== undefined) bad(`image "${props.image}": ${unpinned}; pin a tag or digest`);
  if (props.modelFormats.length === 0) bad('modelFormats must list at least one format');
  props.modelFormats.forEach((f, i) => {
    if (!FORMAT.test(f.name)) bad(`modelFormats[${i}].name "${f.name}" must be a format name such as sklearn or pytorch`);
    if (f.priority !== undefined && (!Number.isInteger(f.priority) || f.priority < 1)) bad(`modelFormats[${i}].priority must be a whole number, 1 or more`);
  });
  for (const p of props.protocols ?? []) {
    const protocol: string = p;
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) bad(`protocols: "${protocol}" must be one of ${PROTOCOLS.join(', ')}`);
  }
  const resources = props.resources ?? { cpu: '1', memory: '2Gi' };
  if (!QUANTITY.test(resources.cpu) || !QUANTITY.test(resources.memory)) bad('resources.cpu and resources.memory must be Kubernetes quantities such as 500m and 1Gi');
  if (props.runAsUser !== undefined && (!Number.isInteger(props.runAsUser) || props.runAsUser < 1)) bad('runAsUser must be a non-root UID (1 or more)');
  const body = runtimeBody({
    image: props.image, formats: props.modelFormats, protocols: props.protocols ?? ['v1', 'v2'], args: props.args,
    env: Object.entries(props.env ?? {}).map(([name, value]) => ({ name, value })), resources, runAsUser: props.runAsUser,
    metricsPort: props.metricsPort ?? PREDICTOR_PORT,
  });
  const metadata = { name: props.name, labels: standardLabels(KSERVE_IDENTITY) };
  return props.namespace === undefined
    ? crds.clusterServingRuntime.customResource(scope, id, CLUSTER_SERVING_RUNTIME_V1ALPHA1, metadata, body)
    : crds.servingRuntime.customResource(scope, id, SERVING_RUNTIME_V1ALPHA1, { ...metadata, namespace: props.namespace }, body);
}
