import { k8s } from 'cdk8s-plus-28';

/**
 * Compute budget of one container. Memory limit is required (an unbounded container is evicted last and starves
 * its node); a CPU limit is optional because CPU is compressible and limits cause throttling.
 */
export interface ResourceBudget {
  readonly cpu: {
    /** CPU request, e.g. `100m`. */
    readonly request: string;
    /** CPU limit. @default - no CPU limit */
    readonly limit?: string;
  };
  readonly memory: {
    /** Memory request, e.g. `256Mi`. */
    readonly request: string;
    /** Memory limit, e.g. `512Mi`. */
    readonly limit: string;
  };
}

/** Container resources as Helm charts take them (plain strings). */
export interface ChartResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly memory: string; readonly cpu?: string };
}

/** A {@link ResourceBudget} as chart values. */
export function chartResources(budget: ResourceBudget): ChartResources {
  return {
    requests: { cpu: budget.cpu.request, memory: budget.memory.request },
    limits: { memory: budget.memory.limit, ...(budget.cpu.limit !== undefined ? { cpu: budget.cpu.limit } : {}) },
  };
}

const QUANTITY = /^\d+(\.\d+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** What is malformed in a budget given as a prop, each naming the field below `path` (e.g. `resources`). */
export function budgetProblems(path: string, budget: ResourceBudget): string[] {
  const fields: [string, string | undefined][] = [
    ['cpu.request', budget.cpu.request], ['cpu.limit', budget.cpu.limit], ['memory.request', budget.memory.request], ['memory.limit', budget.memory.limit],
  ];
  return fields.filter(([, v]) => v !== undefined && !QUANTITY.test(v))
    .map(([field, v]) => `${path}.${field} "${String(v)}" must be a Kubernetes quantity such as 100m or 256Mi`);
}

/** Converts a {@link ResourceBudget} to Kubernetes resource requirements. */
export function resourceRequirements(budget: ResourceBudget): k8s.ResourceRequirements {
  const limits: Record<string, k8s.Quantity> = { memory: k8s.Quantity.fromString(budget.memory.limit) };
  if (budget.cpu.limit !== undefined) limits.cpu = k8s.Quantity.fromString(budget.cpu.limit);
  return {
    requests: { cpu: k8s.Quantity.fromString(budget.cpu.request), memory: k8s.Quantity.fromString(budget.memory.request) },
    limits,
  };
}

/** Options of the restricted container security context. */
export interface RestrictedOptions {
  /** UID the container runs as. @default - the pod's user, else the image's user (which must be non-root) */
  readonly user?: number;
  /** GID the container runs as. @default - the pod's group, else the image's group */
  readonly group?: number;
  /**
   * Mount the root filesystem read-only; writable paths then need volumes (emptyDir).
   * @default true
   */
  readonly readOnlyRootFilesystem?: boolean;
}

/**
 * A container security context that meets the Pod Security Standards `restricted` profile: non-root, no privilege
 * escalation, every capability dropped, RuntimeDefault seccomp — plus a read-only root filesystem by default.
 */
export function restrictedContainer(options: RestrictedOptions = {}): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    privileged: false,
    readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? true,
    runAsGroup: options.group,
    runAsNonRoot: true,
    runAsUser: options.user,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Pod-level security context of the restricted profile. `fsGroup` makes volumes writable for a non-root user. */
export interface RestrictedPodOptions {
  /** UID of every container. @default - the image's user */
  readonly user?: number;
  /** GID of every container. @default - the image's group */
  readonly group?: number;
  /** Group owning mounted volumes. @default - volumes keep their ownership */
  readonly fsGroup?: number;
}

/** The restricted pod security context. */
export function restrictedPod(options: RestrictedPodOptions = {}): k8s.PodSecurityContext {
  return {
    fsGroup: options.fsGroup,
    fsGroupChangePolicy: options.fsGroup === undefined ? undefined : 'OnRootMismatch',
    runAsGroup: options.group,
    runAsNonRoot: true,
    runAsUser: options.user,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
