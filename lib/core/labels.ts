/** Value of `app.kubernetes.io/part-of` on everything kfkit emits. */
export const PART_OF = 'kubeflow';
/** Value of `app.kubernetes.io/managed-by` on everything kfkit emits. */
export const MANAGED_BY = 'kfkit';

/** Identity of one workload or object group, from which the standard labels are derived. */
export interface ComponentIdentity {
  /** `app.kubernetes.io/name`, e.g. `mysql`. Also the selector label. */
  readonly name: string;
  /** `app.kubernetes.io/component`, e.g. `metadata-db`. */
  readonly component: string;
  /** `app.kubernetes.io/version`: the upstream version this object follows. @default - no version label */
  readonly version?: string;
}

/** The recommended `app.kubernetes.io/*` labels for an object. Sorted keys, so output is stable. */
export function standardLabels(id: ComponentIdentity): Record<string, string> {
  const labels: Record<string, string> = {
    'app.kubernetes.io/component': id.component,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'app.kubernetes.io/name': id.name,
    'app.kubernetes.io/part-of': PART_OF,
  };
  if (id.version) labels['app.kubernetes.io/version'] = id.version;
  return labels;
}

/**
 * The labels a workload's pods are selected by. Deliberately the immutable subset of the standard labels
 * (never the version: a Deployment's selector cannot change on upgrade).
 */
export function selectorLabels(id: ComponentIdentity): Record<string, string> {
  return {
    'app.kubernetes.io/component': id.component,
    'app.kubernetes.io/name': id.name,
  };
}

/** Annotation and label keys kfkit itself owns. */
export const KFKIT_KEYS = {
  /** On a Namespace kfkit created: which part of the platform it belongs to. */
  namespaceRole: 'kfkit.dev/namespace-role',
} as const;
