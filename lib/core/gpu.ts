import { k8s } from 'cdk8s-plus-28';
import { labelKeyProblem, labelValueProblem } from './labels';
import { ResourceBudget, resourceRequirements } from './security';

/**
 * GPU scheduling: the typed vocabulary every GPU consumer (notebooks, pipeline steps, training jobs, model servers)
 * uses to ask for NVIDIA GPUs and land on GPU nodes.
 *
 * A GPU is the extended resource `nvidia.com/gpu`, advertised by a device plugin on each GPU node. GPU nodes are
 * grouped in {@link GpuPool}s: a set of nodes with common labels (the node selector), usually tainted
 * `nvidia.com/gpu:NoSchedule` so that only pods that asked for GPUs (and tolerate the taint) run there.
 */

/** The extended resource of one whole NVIDIA GPU, advertised by the NVIDIA device plugin. */
export const GPU_RESOURCE = 'nvidia.com/gpu';
/** Key of the taint GPU nodes carry (`nvidia.com/gpu:NoSchedule`, any value): the convention of EKS, AKS, GKE and the NVIDIA charts. */
export const GPU_TAINT_KEY = 'nvidia.com/gpu';
/** Node label kfkit-provisioned GPU nodes carry: `kfkit.dev/gpu-pool=<pool name>`. */
export const GPU_POOL_LABEL = 'kfkit.dev/gpu-pool';

/**
 * Who runs the NVIDIA device plugin on a pool's nodes.
 * - `managed`: kfkit installs it (a DaemonSet restricted to the managed pools);
 * - `bundled`: the nodes bring their own (Bottlerocket and other NVIDIA node images, the NVIDIA GPU Operator);
 * - `none`: nothing advertises `nvidia.com/gpu` on these nodes (e.g. GPUs handed out by a DRA driver).
 */
export type DevicePluginMode = 'managed' | 'bundled' | 'none';

/** A group of GPU nodes that pods select by labels. */
export interface GpuPool {
  /** Pool name (a DNS label), e.g. `a100`. */
  readonly name: string;
  /** Labels every node of the pool carries; pods that want this pool select them. */
  readonly nodeSelector: Readonly<Record<string, string>>;
  /** Whether the pool's nodes carry the `nvidia.com/gpu:NoSchedule` taint (GPU pods then tolerate it). */
  readonly taint: boolean;
  /** Who runs the device plugin on the pool's nodes. */
  readonly devicePlugin: DevicePluginMode;
}

/** How a pool is described in configuration: {@link GpuPool} with defaults still to apply. */
export interface GpuPoolSettings {
  /** Pool name (a DNS label). */
  readonly name: string;
  /**
   * Labels of the pool's nodes. On-premises, the labels the admins put on their GPU nodes (e.g.
   * `nvidia.com/gpu.present: "true"`, set by NVIDIA GPU Feature Discovery).
   * @default - { 'kfkit.dev/gpu-pool': name }, the label kfkit-provisioned node groups carry
   */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /**
   * Whether the nodes carry the `nvidia.com/gpu:NoSchedule` taint.
   * @default true
   */
  readonly taint?: boolean;
  /** Who runs the device plugin on the pool's nodes. */
  readonly devicePlugin: DevicePluginMode;
}

/** A {@link GpuPool} from its settings, defaults applied. Throws when the node selector is not made of valid labels. */
export function gpuPool(settings: GpuPoolSettings): GpuPool {
  const nodeSelector = settings.nodeSelector ?? { [GPU_POOL_LABEL]: settings.name };
  const problems = nodeSelectorIssues(nodeSelector);
  if (problems.length > 0) {
    throw new Error(`GPU pool ${settings.name}: ${problems.map((p) => (p.key === undefined ? p.message : `${p.key}: ${p.message}`)).join('; ')}`);
  }
  return { name: settings.name, nodeSelector: { ...nodeSelector }, taint: settings.taint ?? true, devicePlugin: settings.devicePlugin };
}

/** Whether `nvidia.com/gpu` is advertised on the pool's nodes (by kfkit's device plugin or the nodes' own). */
export function advertisesGpus(pool: Pick<GpuPool, 'devicePlugin'>): boolean {
  return pool.devicePlugin !== 'none';
}

const EXTENDED_RESOURCE = /^nvidia\.com\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Resource requirements of a container that uses `count` GPUs: the CPU/memory `budget` plus the GPUs, in limits and,
 * equal, in requests (Kubernetes requires both to be equal for extended resources, and GPUs cannot be overcommitted).
 *
 * @param count whole GPUs (a positive integer: extended resources are not divisible)
 * @param budget CPU and memory of the container
 * @param resource the extended resource. @default 'nvidia.com/gpu' — a MIG slice with the `mixed` strategy is e.g. `nvidia.com/mig-1g.10gb`
 */
export function gpuResources(count: number, budget: ResourceBudget, resource: string = GPU_RESOURCE): k8s.ResourceRequirements {
  if (!Number.isInteger(count) || count < 1) throw new Error(`GPU count must be a positive whole number, got ${count}`);
  if (!EXTENDED_RESOURCE.test(resource)) throw new Error(`"${resource}" is not an NVIDIA extended resource (nvidia.com/<name>)`);
  const base = resourceRequirements(budget);
  const gpus = k8s.Quantity.fromNumber(count);
  return { requests: { ...base.requests, [resource]: gpus }, limits: { ...base.limits, [resource]: gpus } };
}

/** The toleration of the GPU taint: `nvidia.com/gpu` (any value), effect NoSchedule. */
export const GPU_TOLERATION: k8s.Toleration = { key: GPU_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' };

/**
 * Tolerations a GPU pod needs: the `nvidia.com/gpu:NoSchedule` taint. For a pool whose nodes are not tainted, none.
 * @param pool the pool the pod goes to. @default - any GPU node, tainted or not (tolerating an absent taint is harmless)
 */
export function gpuTolerations(pool?: GpuPool): k8s.Toleration[] {
  return pool && !pool.taint ? [] : [{ ...GPU_TOLERATION }];
}

/** The node selector that places a pod on `pool`'s nodes. */
export function gpuNodeSelector(pool: GpuPool): Record<string, string> {
  return { ...pool.nodeSelector };
}

/**
 * Node affinity that admits exactly the nodes of the given pools (one node selector term per pool; terms are ORed,
 * the labels of one pool ANDed). Throws for an empty list: an affinity with no term would match no node at all.
 */
export function gpuNodeAffinity(pools: readonly GpuPool[]): k8s.NodeAffinity {
  if (pools.length === 0) throw new Error('gpuNodeAffinity needs at least one GPU pool');
  return {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: pools.map((pool) => ({
        matchExpressions: Object.entries(pool.nodeSelector)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([key, value]) => ({ key, operator: 'In', values: [value] })),
      })),
    },
  };
}

/** Options of {@link withGpus}. */
export interface WithGpusOptions {
  /** Name of the container that gets the GPUs. */
  readonly container: string;
  /** Whole GPUs (or MIG slices) for the container. */
  readonly count: number;
  /** CPU and memory of that container (replaces the budget it had). */
  readonly budget: ResourceBudget;
  /** Pool the pod goes to: its node selector and, if tainted, the toleration. */
  readonly pool: GpuPool;
  /** Extended resource. @default 'nvidia.com/gpu' */
  readonly resource?: string;
}

/**
 * A pod template (from `podTemplate`) whose container `container` uses GPUs on `pool`: resources with the GPUs,
 * the pool's node selector (merged over the template's) and the taint toleration. Returns a new template.
 *
 * This wraps `podTemplate` because kfkit's `ContainerProps.resources` is a CPU/memory budget that cannot express
 * extended resources. Throws when the pool does not advertise GPUs (`devicePlugin: none`) or the container is
 * missing.
 */
export function withGpus(template: k8s.PodTemplateSpec, options: WithGpusOptions): k8s.PodTemplateSpec {
  if (!advertisesGpus(options.pool)) {
    throw new Error(`GPU pool ${options.pool.name} has devicePlugin none: nothing advertises ${options.resource ?? GPU_RESOURCE} on its nodes`);
  }
  const spec = template.spec;
  if (!spec?.containers.some((c) => c.name === options.container)) {
    throw new Error(`pod template has no container "${options.container}" to give GPUs to`);
  }
  const resources = gpuResources(options.count, options.budget, options.resource);
  const tolerations = [...(spec.tolerations ?? [])];
  for (const t of gpuTolerations(options.pool)) {
    if (!tolerations.some((o) => o.key === t.key && o.effect === t.effect && o.operator === t.operator)) tolerations.push(t);
  }
  return {
    ...template,
    spec: {
      ...spec,
      containers: spec.containers.map((c) => (c.name === options.container ? { ...c, resources } : c)),
      nodeSelector: { ...spec.nodeSelector, ...gpuNodeSelector(options.pool) },
      tolerations: tolerations.length > 0 ? tolerations : undefined,
    },
  };
}

/** Pools as configuration has them: only what {@link gpuQuotaIssues} reads. */
export interface GpuPoolsConfig {
  readonly gpu: { readonly pools: readonly Pick<GpuPoolSettings, 'name' | 'devicePlugin'>[] };
}

/** A configuration problem at a field path (segments as in zod issues). */
export interface GpuConfigIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * Problems of a GPU quota of `requestedGpus` (e.g. a tenant profile's `requests.nvidia.com/gpu`), reported at `path`:
 * not a whole non-negative number, or GPUs requested on a platform where no GPU pool advertises `nvidia.com/gpu`
 * (the quota could never be used). For cross-field rules of sections that hand out GPUs.
 */
export function gpuQuotaIssues(config: GpuPoolsConfig, requestedGpus: number, path: readonly (string | number)[]): GpuConfigIssue[] {
  if (!Number.isInteger(requestedGpus) || requestedGpus < 0) {
    return [{ path: [...path], message: `must be a whole number of GPUs (0 or more), got ${requestedGpus}` }];
  }
  if (requestedGpus === 0 || config.gpu.pools.some(advertisesGpus)) return [];
  const none = config.gpu.pools.filter((p) => !advertisesGpus(p)).map((p) => p.name);
  return [{
    path: [...path],
    message: `a quota of ${requestedGpus} GPU${requestedGpus === 1 ? '' : 's'} needs a GPU pool: no pool in gpu.pools advertises ${GPU_RESOURCE}`
      + (none.length > 0 ? ` (${none.join(', ')} ha${none.length === 1 ? 's' : 've'} devicePlugin none)` : '')
      + '; add a pool with devicePlugin managed or bundled, or set the quota to 0',
  }];
}

/** Problems of a node selector: an empty one (it would select every node), invalid keys or values. */
export function nodeSelectorIssues(selector: Readonly<Record<string, string>>): { readonly key?: string; readonly message: string }[] {
  const entries = Object.entries(selector);
  if (entries.length === 0) return [{ message: 'must name at least one node label: an empty selector matches every node' }];
  const out: { key?: string; message: string }[] = [];
  for (const [key, value] of entries) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem !== undefined) out.push({ key, message: problem });
  }
  return out;
}

/** Whether `wide` selects every node `narrow` selects: each label `wide` requires, `narrow` requires with the same value. */
export function selectorCovers(wide: Readonly<Record<string, string>>, narrow: Readonly<Record<string, string>>): boolean {
  return Object.entries(wide).every(([k, v]) => narrow[k] === v);
}
