import * as pulumi from '@pulumi/pulumi';

/**
 * Property validation shared by kfkit's AWS components: every component checks all of its plain (already known)
 * properties before creating any child, collects every problem, and throws them together as one
 * {@link pulumi.InputPropertiesError} — the error type the Pulumi engine pretty-prints per property — so a stack
 * with three mistakes fails once, naming all three. Properties that are Outputs are not known yet and are not
 * checked here (the provider checks them when it creates the resource).
 */

/** One invalid property: its dotted path from the component's args (`gpuPools[0].instanceTypes`) and why. */
export interface PropertyProblem {
  readonly propertyPath: string;
  readonly reason: string;
}

/** Collects {@link PropertyProblem}s under a path prefix. */
export class Problems {
  private readonly list: PropertyProblem[];

  public constructor(private readonly prefix = '', list?: PropertyProblem[]) {
    this.list = list ?? [];
  }

  /** Records that `path` (relative to this collector's prefix) is invalid. */
  public add(path: string, reason: string): void {
    this.list.push({ propertyPath: joinPath(this.prefix, path), reason });
  }

  /** A collector that records into the same list, with `path` appended to the prefix. */
  public at(path: string): Problems {
    return new Problems(joinPath(this.prefix, path), this.list);
  }

  /** Every problem recorded so far (through this collector or any derived with {@link at}). */
  public get all(): readonly PropertyProblem[] {
    return this.list;
  }
}

function joinPath(prefix: string, path: string): string {
  if (prefix === '') return path;
  if (path === '') return prefix;
  return path.startsWith('[') ? `${prefix}${path}` : `${prefix}.${path}`;
}

/**
 * Throws one {@link pulumi.InputPropertiesError} listing every problem (also in its message, for tools that only
 * print messages), or returns when there is none.
 * @param component the component's type token and name, e.g. `kfkit:aws:ArtifactBucket artifacts`
 */
export function throwIfInvalid(component: string, problems: readonly PropertyProblem[]): void {
  if (problems.length === 0) return;
  const lines = problems.map((p) => `  - ${p.propertyPath}: ${p.reason}`).join('\n');
  throw new pulumi.InputPropertiesError({
    message: `${component}: ${problems.length} invalid propert${problems.length === 1 ? 'y' : 'ies'}:\n${lines}`,
    errors: problems.map((p) => ({ propertyPath: p.propertyPath, reason: p.reason })),
  });
}

/** The value of `input` when it is a plain value known now; `undefined` for Outputs and promises. */
export function known<T>(input: pulumi.Input<T> | undefined): T | undefined {
  if (input === undefined || pulumi.Output.isInstance(input) || input instanceof Promise) return undefined;
  return input;
}

/** `value` as a list, when it is one (configuration read from YAML may hold anything). */
export function listOf(value: unknown): readonly unknown[] | undefined {
  return Array.isArray(value) ? (value as unknown[]) : undefined;
}

/** The field `key` of `value`, when `value` is an object. */
export function fieldOf(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * A component name kfkit derives child and AWS names from: 1-48 lowercase letters, digits and single '-', starting
 * with a letter (so that `<name>-<suffix>` plus Pulumi's 8-character random suffix fits IAM, RDS and S3 limits).
 */
export const COMPONENT_NAME = /^(?=.{1,48}$)[a-z](-?[a-z0-9])*$/;

/** Records a problem (at `path`) when `name` cannot prefix the names of a component's children. */
export function checkComponentName(problems: Problems, name: string, path = '(name)'): void {
  if (typeof name !== 'string' || !COMPONENT_NAME.test(name)) {
    problems.add(path, `${JSON.stringify(name)} must be 1-48 lowercase letters, digits and single '-', starting with a letter and not ending with '-': `
      + 'child and AWS names derive from it');
  }
}

/** Records a problem unless `value` is a whole number in [min, max]. */
export function checkInteger(problems: Problems, path: string, value: unknown, min: number, max: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.add(path, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}

/** Pattern of an IAM OIDC provider ARN: `arn:<partition>:iam::<account>:oidc-provider/<issuer host and path>`. */
export const OIDC_PROVIDER_ARN = /^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/[a-z0-9.-]+(\/[A-Za-z0-9._-]+)*$/;

/** Pattern of an AWS ARN of `service` (any partition, region and account). */
export function arnPattern(service: string): RegExp {
  return new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:(\\d{12})?:.+$`);
}

/** Records a problem when a known `value` does not match `pattern`. */
export function checkPattern(problems: Problems, path: string, value: pulumi.Input<string | undefined> | undefined, pattern: RegExp, what: string): void {
  const v = known(value);
  if (v === undefined) return;
  if (typeof v !== 'string' || !pattern.test(v)) problems.add(path, `must be ${what}, got ${JSON.stringify(v)}`);
}

/** Records a problem when a known list is empty or has fewer than `min` entries. */
export function checkList(problems: Problems, path: string, value: pulumi.Input<pulumi.Input<string>[]> | undefined, min: number, what: string): void {
  const v = listOf(known(value));
  if (v === undefined) {
    if (known(value) !== undefined) problems.add(path, `must be a list of ${what}`);
    return;
  }
  if (v.length < min) problems.add(path, `must list at least ${min} ${what}, got ${v.length}`);
  const plain = v.filter((s): s is string => typeof s === 'string');
  if (new Set(plain).size !== plain.length) problems.add(path, `must not list the same ${what.replace(/s$/, '')} twice`);
}
