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

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Most bytes the API server accepts in all of an object's annotations, keys and values together (256 KiB). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/**
 * Why `key` is not a valid label or annotation key (`[prefix/]name`, the API server's qualified name), or `undefined`
 * when it is; `what` names it in the message.
 */
export function qualifiedKeyProblem(key: string, what: 'label key' | 'annotation key'): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `${what} prefix must be a DNS subdomain (lowercase letters, digits, - and .), at most 253 characters`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `${what} name must be 1-63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit`;
  }
  return undefined;
}

/** Why `key` is not a valid Kubernetes label key, or `undefined` when it is. */
export function labelKeyProblem(key: string): string | undefined {
  return qualifiedKeyProblem(key, 'label key');
}

/** Why `value` is not a valid Kubernetes label value, or `undefined` when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  return value.length > 63 || !QUALIFIED_NAME.test(value)
    ? `label value "${value.length > 80 ? `${value.slice(0, 80)}…` : value}" must be at most 63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit`
    : undefined;
}

/** The bytes annotations take against the API server's limit ({@link MAX_ANNOTATIONS_BYTES}): keys and values, UTF-8. */
export function annotationsBytes(annotations: Readonly<Record<string, string>>): number {
  return Object.entries(annotations).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
}
