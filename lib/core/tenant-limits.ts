import { parseQuantity, QUANTITY_PATTERN } from './quantity';

/**
 * A tenant's compute and storage budget: the ResourceQuota of a profile namespace (written by the Kubeflow profile
 * controller from the Profile's `resourceQuotaSpec`) and the LimitRange that makes every container fit into it.
 * Shared by the configuration schema (errors with the field path) and the Profile construct (errors naming the prop).
 */

/** Extended resource name of NVIDIA GPUs. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** The quota of one profile namespace. Every field left out is not limited. */
export interface ProfileQuota {
  /** Sum of CPU requests (`requests.cpu`), e.g. `8`. */
  readonly cpu?: string;
  /** Sum of memory requests (`requests.memory`), e.g. `32Gi`. */
  readonly memory?: string;
  /** Sum of CPU limits (`limits.cpu`). */
  readonly cpuLimit?: string;
  /** Sum of memory limits (`limits.memory`). */
  readonly memoryLimit?: string;
  /** NVIDIA GPUs requested (`requests.nvidia.com/gpu`); 0 forbids GPUs. */
  readonly gpus?: number;
  /** Sum of PersistentVolumeClaim sizes (`requests.storage`). */
  readonly storage?: string;
  /** Number of PersistentVolumeClaims. */
  readonly persistentVolumeClaims?: number;
  /** Number of pods (not terminated). */
  readonly pods?: number;
  /** Number of Services. */
  readonly services?: number;
  /** Number of Services of type LoadBalancer (`services.loadbalancers`); 0 keeps tenants off the cloud's load balancers. */
  readonly loadBalancers?: number;
  /** Number of Services of type NodePort (`services.nodeports`); 0 keeps tenants off the nodes' ports. */
  readonly nodePorts?: number;
}

/** CPU and memory of one container. */
export interface ComputeAmounts {
  readonly cpu?: string;
  readonly memory?: string;
}

/** The LimitRange of one profile namespace: what a container gets when it says nothing, and the most it may ask for. */
export interface ContainerLimits {
  /** Requests of a container that sets none. */
  readonly defaultRequest: ComputeAmounts;
  /** Limits of a container that sets none. */
  readonly default: ComputeAmounts;
  /** The largest limits one container may set. @default - the quota's totals */
  readonly max?: ComputeAmounts;
  /** The most GPUs one container may use. @default - the quota's `gpus` */
  readonly maxGpus?: number;
  /** The largest PersistentVolumeClaim. @default - the quota's `storage` */
  readonly maxVolumeSize?: string;
}

/** kfkit's quota for a profile that sets none. */
export const DEFAULT_QUOTA: ProfileQuota = {
  cpu: '8', memory: '32Gi', memoryLimit: '64Gi', gpus: 0, storage: '100Gi', persistentVolumeClaims: 20, pods: 100, services: 20,
  loadBalancers: 0, nodePorts: 0,
};

/** kfkit's LimitRange for a profile that sets none. */
export const DEFAULT_LIMITS: ContainerLimits = {
  defaultRequest: { cpu: '100m', memory: '256Mi' },
  default: { cpu: '2', memory: '2Gi' },
};

/** The ResourceQuota `hard` map of a quota (Kubernetes resource names, sorted). */
export function quotaHard(quota: ProfileQuota): Record<string, string> {
  const hard: Record<string, string> = {};
  const put = (name: string, value: string | number | undefined): void => {
    if (value !== undefined) hard[name] = String(value);
  };
  put('limits.cpu', quota.cpuLimit);
  put('limits.memory', quota.memoryLimit);
  put('persistentvolumeclaims', quota.persistentVolumeClaims);
  put('pods', quota.pods);
  put('requests.cpu', quota.cpu);
  put('requests.memory', quota.memory);
  put(`requests.${GPU_RESOURCE}`, quota.gpus);
  put('requests.storage', quota.storage);
  put('services', quota.services);
  put('services.loadbalancers', quota.loadBalancers);
  put('services.nodeports', quota.nodePorts);
  return hard;
}

/** One LimitRange item (wire form). */
export interface LimitRangeItem {
  readonly type: 'Container' | 'PersistentVolumeClaim';
  readonly default?: Record<string, string>;
  readonly defaultRequest?: Record<string, string>;
  readonly max?: Record<string, string>;
}

function amounts(a: ComputeAmounts | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (a?.cpu !== undefined) out.cpu = a.cpu;
  if (a?.memory !== undefined) out.memory = a.memory;
  return out;
}

/**
 * The LimitRange items for `limits` under `quota`: container defaults (CPU and memory, which every pod of a namespace
 * whose quota counts them must state), container maxima (CPU and memory: the given ones, else the quota's totals; GPUs
 * when the quota counts them), and the largest PersistentVolumeClaim when the quota counts storage. GPUs get no
 * default: it would hand every container a GPU, and the quota does not require pods to state one.
 */
export function limitRangeItems(limits: ContainerLimits, quota: ProfileQuota): LimitRangeItem[] {
  const max: Record<string, string> = {
    ...amounts({ cpu: quota.cpuLimit ?? quota.cpu, memory: quota.memoryLimit ?? quota.memory }),
    ...amounts(limits.max),
  };
  const gpus = limits.maxGpus ?? quota.gpus;
  if (gpus !== undefined) max[GPU_RESOURCE] = String(gpus);
  const items: LimitRangeItem[] = [{
    type: 'Container',
    default: amounts(limits.default),
    defaultRequest: amounts(limits.defaultRequest),
    ...(Object.keys(max).length > 0 ? { max: sortedRecord(max) } : {}),
  }];
  const volume = limits.maxVolumeSize ?? quota.storage;
  if (volume !== undefined) items.push({ type: 'PersistentVolumeClaim', max: { storage: volume } });
  return items;
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A problem with a quota or its LimitRange: the field path below the quota/limits object and what to change. */
export interface TenantLimitIssue {
  /** `['quota', 'cpu']`, `['limits', 'max', 'memory']`, … */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

const COMPUTE = ['cpu', 'memory'] as const;

/**
 * What is wrong with a quota and its LimitRange, as field paths (`quota.…`, `limits.…`):
 * - quantities must be Kubernetes quantities, counts non-negative integers;
 * - every resource the quota counts for containers (CPU, memory: requests or limits) has a default and a default request;
 * - defaultRequest ≤ default ≤ max, and no maximum above the quota (one container could never be admitted, or would
 *   take the whole profile);
 * - the quota's requests are at most its limits.
 */
export function tenantLimitIssues(quota: ProfileQuota, limits: ContainerLimits): TenantLimitIssue[] {
  const issues: TenantLimitIssue[] = [];
  const bad = (path: (string | number)[], message: string): void => {
    issues.push({ path, message });
  };
  const value = (path: (string | number)[], q: string | undefined): number | undefined => {
    if (q === undefined) return undefined;
    if (!QUANTITY_PATTERN.test(q)) {
      bad(path, `"${q}" must be a Kubernetes quantity such as 500m, 2, 4Gi`);
      return undefined;
    }
    return parseQuantity(q);
  };
  const count = (path: (string | number)[], n: number | undefined): void => {
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) bad(path, `${n} must be a whole number, 0 or more`);
  };
  count(['quota', 'gpus'], quota.gpus);
  count(['quota', 'persistentVolumeClaims'], quota.persistentVolumeClaims);
  count(['quota', 'pods'], quota.pods);
  count(['quota', 'services'], quota.services);
  count(['quota', 'loadBalancers'], quota.loadBalancers);
  count(['quota', 'nodePorts'], quota.nodePorts);
  count(['limits', 'maxGpus'], limits.maxGpus);

  const storage = value(['quota', 'storage'], quota.storage);
  const maxVolume = value(['limits', 'maxVolumeSize'], limits.maxVolumeSize);
  if (storage !== undefined && maxVolume !== undefined && maxVolume > storage) {
    bad(['limits', 'maxVolumeSize'], `${limits.maxVolumeSize} is above the quota's storage ${quota.storage}; no such volume could be created`);
  }
  if (quota.gpus !== undefined && limits.maxGpus !== undefined && limits.maxGpus > quota.gpus) {
    bad(['limits', 'maxGpus'], `${limits.maxGpus} is above the quota's gpus ${quota.gpus}; lower it or raise quota.gpus`);
  }

  for (const r of COMPUTE) {
    const limitKey = r === 'cpu' ? 'cpuLimit' : 'memoryLimit';
    const request = value(['quota', r], quota[r]);
    const limit = value(['quota', limitKey], quota[limitKey]);
    if (request !== undefined && limit !== undefined && request > limit) {
      bad(['quota', r], `requests ${quota[r]} exceed the limits ${quota[limitKey]} (quota.${limitKey}); no pod could use the requests`);
    }
    const defaultRequest = value(['limits', 'defaultRequest', r], limits.defaultRequest[r]);
    const defaultLimit = value(['limits', 'default', r], limits.default[r]);
    const max = value(['limits', 'max', r], limits.max?.[r]);
    if ((request !== undefined || limit !== undefined) && limits.defaultRequest[r] === undefined) {
      bad(['limits', 'defaultRequest', r], `required: the quota counts ${r}, so every container needs a ${r} request; give the default request`);
    }
    if (limit !== undefined && limits.default[r] === undefined) {
      bad(['limits', 'default', r], `required: the quota counts ${r} limits (quota.${limitKey}), so every container needs a ${r} limit; give the default`);
    }
    if (request !== undefined && defaultRequest !== undefined && defaultRequest > request) {
      bad(['quota', r], `${quota[r]} is below the LimitRange default request ${limits.defaultRequest[r]} (limits.defaultRequest.${r}): not one container `
        + 'relying on the defaults would be admitted; raise the quota or lower the default request');
    }
    if (defaultRequest !== undefined && defaultLimit !== undefined && defaultRequest > defaultLimit) {
      bad(['limits', 'defaultRequest', r], `${limits.defaultRequest[r]} is above the default limit ${limits.default[r]}`);
    }
    const ceiling = max ?? limit ?? request;
    const ceilingText = limits.max?.[r] ?? quota[limitKey] ?? quota[r];
    if (defaultLimit !== undefined && ceiling !== undefined && defaultLimit > ceiling) {
      bad(['limits', 'default', r], `${limits.default[r]} is above the most one container may use (${ceilingText}); lower it`);
    }
    if (max !== undefined) {
      const total = limit ?? request;
      if (total !== undefined && max > total) {
        const which = limit !== undefined ? limitKey : r;
        bad(['quota', which], `${quota[which]} is below the LimitRange maximum ${limits.max?.[r]} (limits.max.${r}): one container could take more `
          + 'than the whole profile; raise the quota or lower the maximum');
      }
    }
  }
  return issues;
}
