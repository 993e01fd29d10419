import { createHash } from 'crypto';
import { Lazy } from 'cdk8s';

/**
 * Longest Job name: Kubernetes copies it into the `job-name` and `batch.kubernetes.io/job-name` labels of the
 * Job's pods, and label values are at most 63 characters.
 */
export const MAX_JOB_NAME_LENGTH = 63;
/** Hex characters of the spec hash appended to the base name. */
const HASH_LENGTH = 8;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The name of a one-shot Job: `<base>-<8 hex characters of the SHA-256 of the canonical JSON of spec>`, `base`
 * shortened (and any `-` it then ends with dropped) so that the whole name is a DNS label of at most 63 characters.
 *
 * Why: a Job's pod template is immutable. Under a stable name, any change to the Job (a new image tag in the
 * catalog, a registry mirror, a changed script or argument) makes the next `kubectl apply --server-side`, Argo CD or
 * Flux sync fail with "field is immutable" until someone deletes the old Job by hand. Named after its spec, a
 * changed Job is a new object: it is created and runs once; the old, completed one is no longer in the tree, so Flux
 * (kfkit's Kustomizations prune) and Argo CD (with pruning on) delete it, and `kubectl apply` leaves it behind,
 * harmlessly. An unchanged spec keeps its name, so re-applying the same tree neither re-runs the Job nor churns
 * objects. Use it only for Jobs that are safe to run again (idempotent): a changed spec runs the Job again.
 *
 * Pass the Job's whole `spec`: it holds everything the API server refuses to change (the pod template: image,
 * command, arguments, environment). The canonical form is the JSON cdk8s writes: object keys sorted, `undefined`
 * and `null` members dropped, and cdk8s values resolved as its built-in resolvers do — a `Lazy` to what it produces,
 * an object with a `resolve()` method to its result, a number-or-string union (`Quantity`, `IntOrString`) to its
 * `value`. So the name is the same across runs and whatever the key order, and `oneShotJobName(base, job.spec)` of
 * the synthesized manifest gives its name back. Any other class instance, a function, a symbol, a bigint or a
 * non-finite number is rejected: it has no deterministic JSON form.
 *
 * @param base the stable part of the name (a DNS label), e.g. `mysql-secret-generator`
 * @param spec the Job's spec
 * @throws if `base` is not a DNS label or `spec` holds a value with no canonical JSON form
 */
export function oneShotJobName(base: string, spec: unknown): string {
  if (base.length === 0 || !DNS_LABEL.test(base)) {
    throw new Error(`Job name base "${base}" must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit`);
  }
  const hash = createHash('sha256').update(canonicalJson(spec)).digest('hex').slice(0, HASH_LENGTH);
  const prefix = base.slice(0, MAX_JOB_NAME_LENGTH - HASH_LENGTH - 1).replace(/-+$/, '');
  return `${prefix}-${hash}`;
}

/**
 * Canonical JSON of `value` (sorted keys, no whitespace), with cdk8s tokens resolved; see {@link oneShotJobName}.
 * @throws on values with no deterministic JSON form
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value, '$') ?? null);
}

function canonicalize(value: unknown, path: string): unknown {
  if (value === null || value === undefined) return undefined;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${path}: ${value} has no JSON form`);
      return value;
    case 'object':
      break;
    default:
      throw new Error(`${path}: a ${typeof value} has no JSON form`);
  }
  if (Array.isArray(value)) return value.map((x, i) => canonicalize(x, `${path}[${i}]`) ?? null);
  const obj = value as Record<string, unknown>;
  // cdk8s's built-in resolvers, in their order (App: Lazy, implicit tokens, number-or-string unions).
  if (obj instanceof Lazy) return canonicalize(obj.produce(), path);
  if (typeof obj.resolve === 'function') return canonicalize((obj.resolve as () => unknown).call(obj), path);
  const proto: unknown = Object.getPrototypeOf(obj);
  // A plain object's prototype is Object.prototype (of any realm) or null.
  if (proto !== null && Object.getPrototypeOf(proto) !== null) {
    if (typeof obj.value === 'string' || typeof obj.value === 'number') return obj.value;
    const type = (obj.constructor as { name?: string } | undefined)?.name ?? 'an unknown class';
    throw new Error(`${path}: an instance of ${type} has no canonical JSON form`);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj).sort()) {
    const v = canonicalize(obj[key], `${path}.${key}`);
    if (v !== undefined) out[key] = v;
  }
  return out;
}
