/**
 * What every rule of the policy pack shares: the slice of a Pulumi stack resource the rules read, and safe access to
 * properties that may be unknown during `pulumi preview`.
 */

/**
 * The part of a Pulumi stack resource (`@pulumi/policy` `PolicyResource`) the stack rules read. `PolicyResource`
 * satisfies it, and tests build it as plain objects.
 */
export interface StackResource {
  /** Type token, e.g. `kubernetes:apps/v1:Deployment`, `aws:s3/bucket:Bucket`. */
  readonly type: string;
  readonly urn: string;
  readonly name: string;
  /** The resource's properties (outputs during stack validation). */
  readonly props: Readonly<Record<string, unknown>>;
  /** The provider the resource is managed by (one per cluster or account). */
  readonly provider?: { readonly urn: string };
  /** The resources each input property depends on, e.g. `bucket` → the Bucket a BucketPolicy belongs to. */
  readonly propertyDependencies?: Readonly<Record<string, readonly { readonly urn: string }[]>>;
}

/** What reading a property that is unknown during preview returns (see {@link read}). */
export const UNKNOWN: unique symbol = Symbol('unknown during preview');

/**
 * Whether `e` is `@pulumi/policy`'s `UnknownValueError`: thrown when a policy reads a property that is not known
 * before the update (an output of a resource not created yet). The class is not in `@pulumi/policy`'s typings, so it
 * is recognized by name.
 */
export function isUnknownValueError(e: unknown): boolean {
  return e instanceof Error && e.constructor.name === 'UnknownValueError';
}

/**
 * `value[key]`, `undefined` for non-objects. A property unknown during preview throws `UnknownValueError`, which
 * `@pulumi/policy` reports as "can't run policy … during preview" (advisory); the policy runs again, with the values
 * known, before the resource is created or updated. Resource rules read their inputs with this.
 */
export function prop(value: unknown, key: string | number): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string | number, unknown>)[key] : undefined;
}

/**
 * `value[key]`, or {@link UNKNOWN} when the property is unknown during preview; `undefined` for non-objects. Stack
 * rules read with this, so that one unknown property does not stop the whole stack's check.
 */
export function read(value: unknown, key: string | number): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  try {
    return (value as Record<string | number, unknown>)[key];
  } catch (e) {
    if (isUnknownValueError(e)) return UNKNOWN;
    throw e;
  }
}

/** `fn()`, or {@link UNKNOWN} when it reads a property that is unknown during preview. */
export function known<T>(fn: () => T): T | typeof UNKNOWN {
  try {
    return fn();
  } catch (e) {
    if (isUnknownValueError(e)) return UNKNOWN;
    throw e;
  }
}

/** A plain-object view of `value` (never an array), or `undefined`. */
export function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
}

/** `value` as a list: arrays as they are, a single value as a one-element list, `undefined`/`null` as empty. */
export function list(value: unknown): readonly unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value as unknown[] : [value];
}
