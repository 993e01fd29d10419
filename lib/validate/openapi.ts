/**
 * Rule `openapi`: built-in objects validate against the Kubernetes OpenAPI schema shipped by `kubernetes-models`.
 */
import { Finding, HarnessInput, PlacedObject } from './types';
import { apiGroup, apiVersionOnly, finding, formatPath, isBuiltInApiVersion, isRecord, PathSegment, pointerToPath } from './util';

/** Rule id of {@link checkOpenApi}. */
export const OPENAPI_RULE = 'openapi';

/** Version of `kubernetes-models` whose schemas are used (for messages). */
const MODELS_VERSION = 'kubernetes-models 4.5.1';

/** An ajv-style error, as thrown by `kubernetes-models` validators. */
interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly schemaPath?: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
}

/** A `kubernetes-models` class: `Cls.prototype.validate` validates `this`. */
export interface ModelClass {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly prototype: { validate(this: unknown): void };
}

/** A schema problem at a path. */
export interface SchemaProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/**
 * Built-in API versions that `kubernetes-models` still ships but current Kubernetes no longer serves, with the
 * release that removed them. Keyed by `group/version` (core is never removed).
 */
const REMOVED_API_VERSIONS: Readonly<Partial<Record<string, string>>> = {
  'admissionregistration.k8s.io/v1beta1': '1.22',
  'apiextensions.k8s.io/v1beta1': '1.22',
  'apiregistration.k8s.io/v1beta1': '1.22',
  'apps/v1beta1': '1.16',
  'apps/v1beta2': '1.16',
  'authentication.k8s.io/v1beta1': '1.22',
  'authorization.k8s.io/v1beta1': '1.22',
  'autoscaling/v2beta1': '1.25',
  'autoscaling/v2beta2': '1.26',
  'batch/v1beta1': '1.25',
  'certificates.k8s.io/v1beta1': '1.22',
  'coordination.k8s.io/v1beta1': '1.22',
  'discovery.k8s.io/v1beta1': '1.25',
  'events.k8s.io/v1beta1': '1.25',
  'extensions/v1beta1': '1.22',
  'flowcontrol.apiserver.k8s.io/v1beta1': '1.26',
  'flowcontrol.apiserver.k8s.io/v1beta2': '1.29',
  'flowcontrol.apiserver.k8s.io/v1beta3': '1.32',
  'networking.k8s.io/v1beta1': '1.22',
  'node.k8s.io/v1beta1': '1.25',
  'policy/v1beta1': '1.25',
  'rbac.authorization.k8s.io/v1beta1': '1.22',
  'scheduling.k8s.io/v1beta1': '1.22',
  'storage.k8s.io/v1beta1': '1.27',
};

/**
 * Fields `kubernetes-models` drops from its compiled apiextensions schemas (JSONSchemaProps, column definitions,
 * external documentation), so the validators never read them; they are not unknown.
 */
const UNCOMPILED_APIEXTENSIONS_FIELDS: ReadonlySet<string> = new Set([
  'description', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type', 'x-kubernetes-map-type', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations',
]);

const GROUP_PATTERN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const VERSION_PATTERN = /^v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND_PATTERN = /^[A-Z][A-Za-z0-9]*$/;

const modelCache = new Map<string, ModelClass | null>();

function isModelClass(value: unknown): value is ModelClass {
  if (typeof value !== 'function') return false;
  const proto: unknown = (value as { prototype?: unknown }).prototype;
  return typeof proto === 'object' && proto !== null && typeof (proto as { validate?: unknown }).validate === 'function';
}

/**
 * The `kubernetes-models` class of a built-in kind, e.g. `kubernetes-models/apps/v1/Deployment` for `apps/v1`
 * `Deployment`; `undefined` when the package has no such kind (unknown version or kind). Modules are cached.
 */
export function resolveModel(apiVersion: string, kind: string): ModelClass | undefined {
  const key = `${apiVersion}/${kind}`;
  const cached = modelCache.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const group = apiGroup(apiVersion);
  const version = apiVersionOnly(apiVersion);
  let resolved: ModelClass | null = null;
  if ((group === '' || GROUP_PATTERN.test(group)) && VERSION_PATTERN.test(version) && KIND_PATTERN.test(kind)) {
    const modulePath = group === '' ? `kubernetes-models/${version}/${kind}` : `kubernetes-models/${group}/${version}/${kind}`;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod: unknown = require(modulePath);
      const cls = isRecord(mod) ? mod[kind] : undefined;
      // Only top-level kinds carry apiVersion/kind statics; `DeploymentSpec` and friends do not.
      if (isModelClass(cls) && cls.apiVersion === apiVersion && cls.kind === kind) {
        resolved = cls;
      }
    } catch {
      resolved = null;
    }
  }
  modelCache.set(key, resolved);
  return resolved ?? undefined;
}

/** What the validator touched on one object of the manifest. */
interface AccessRecord {
  readonly path: readonly PathSegment[];
  readonly target: Record<string, unknown>;
  readonly read: Set<string>;
  enumerated: boolean;
}

/**
 * Wraps a manifest in proxies that record which properties the compiled validator reads. The validators read every
 * property their schema declares (`void 0 === data.replicas || …`) and enumerate maps (`for (const k in data)`), so
 * a key of an object the validator looked into, that it neither read nor enumerated, is not in the schema.
 */
function recordingProxy(root: Record<string, unknown>): { proxy: unknown; records: Map<string, AccessRecord> } {
  const records = new Map<string, AccessRecord>();
  const proxies = new Map<string, unknown>();
  const wrap = (value: unknown, path: PathSegment[]): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const key = JSON.stringify(path);
    const existing = proxies.get(key);
    if (existing !== undefined) return existing;
    const isArray = Array.isArray(value);
    let record: AccessRecord | undefined;
    if (!isArray && isRecord(value)) {
      record = { path, target: value, read: new Set(), enumerated: false };
      records.set(key, record);
    }
    const proxy = new Proxy(value, {
      get(target, prop, receiver) {
        const result: unknown = Reflect.get(target, prop, receiver);
        if (typeof prop !== 'string') return result;
        record?.read.add(prop);
        if (typeof result !== 'object' || result === null) return result;
        if (isArray && !/^\d+$/.test(prop)) return result;
        if (!Object.prototype.hasOwnProperty.call(target, prop)) return result;
        return wrap(result, [...path, isArray ? Number(prop) : prop]);
      },
      has(target, prop) {
        if (typeof prop === 'string') record?.read.add(prop);
        return Reflect.has(target, prop);
      },
      getOwnPropertyDescriptor(target, prop) {
        if (typeof prop === 'string') record?.read.add(prop);
        return Reflect.getOwnPropertyDescriptor(target, prop);
      },
      ownKeys(target) {
        if (record) record.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(key, proxy);
    return proxy;
  };
  return { proxy: wrap(root, []), records };
}

function describeError(error: SchemaError): { extra?: string; message: string } {
  const base = error.message ?? `fails "${error.keyword}"`;
  if (error.keyword === 'required' && typeof error.params.missingProperty === 'string') {
    return { extra: error.params.missingProperty, message: 'required field is missing' };
  }
  if (error.keyword === 'enum' && Array.isArray(error.params.allowedValues)) {
    // `null` is added to CRD enums only to mirror the API server's pruning of nulls; it is not a value to suggest.
    const allowed = error.params.allowedValues.filter((v: unknown) => v !== null);
    return { message: `${base}: ${allowed.map((v: unknown) => JSON.stringify(v)).join(', ')}` };
  }
  return { message: base };
}

function isSchemaError(value: unknown): value is SchemaError {
  return isRecord(value) && typeof value.instancePath === 'string' && typeof value.keyword === 'string' && isRecord(value.params);
}

/**
 * Converts ajv errors on `data` into problems with paths. Errors of the branches of an `anyOf`/`oneOf` are dropped
 * when the `anyOf`/`oneOf` itself is reported at the same place; a missing required property is reported at its
 * own path (`spec.selector: required field is missing`).
 */
export function problemsFromErrors(data: unknown, errors: readonly unknown[]): SchemaProblem[] {
  const valid = errors.filter(isSchemaError);
  const combinators = valid.filter((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && e.schemaPath !== undefined);
  const problems: SchemaProblem[] = [];
  for (const error of valid) {
    const underCombinator = combinators.some((c) =>
      c !== error && error.schemaPath?.startsWith(`${c.schemaPath}/`) && error.instancePath.startsWith(c.instancePath));
    if (underCombinator) continue;
    const path = pointerToPath(data, error.instancePath);
    const { extra, message } = describeError(error);
    problems.push({ path: extra === undefined ? path : [...path, extra], message });
  }
  return problems;
}

function dedupe(problems: readonly SchemaProblem[]): SchemaProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${formatPath(p.path)}\n${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Validates a plain object against a `kubernetes-models` class: schema errors (with their paths) plus unknown
 * fields (keys of a schema-described object that the schema does not declare).
 */
export function validateWithModel(model: ModelClass, data: Record<string, unknown>, ignoredFields: ReadonlySet<string> = new Set()): SchemaProblem[] {
  const { proxy, records } = recordingProxy(data);
  const problems: SchemaProblem[] = [];
  try {
    model.prototype.validate.call(proxy);
  } catch (err: unknown) {
    const errors: unknown = typeof err === 'object' && err !== null ? (err as { errors?: unknown }).errors : undefined;
    if (Array.isArray(errors)) problems.push(...problemsFromErrors(data, errors));
    else problems.push({ path: [], message: `validator failed: ${err instanceof Error ? err.message : String(err)}` });
  }
  for (const record of records.values()) {
    if (record.enumerated || record.read.size === 0) continue;
    for (const key of Object.keys(record.target)) {
      if (!record.read.has(key) && !ignoredFields.has(key)) problems.push({ path: [...record.path, key], message: `unknown field "${key}"` });
    }
  }
  return dedupe(problems);
}

/**
 * Validates `metadata` of any object (also custom resources) against the `ObjectMeta` schema, by validating a
 * ConfigMap carrying it. Paths start at `metadata`.
 */
export function validateObjectMeta(metadata: unknown): SchemaProblem[] {
  const configMap = resolveModel('v1', 'ConfigMap');
  if (!configMap || !isRecord(metadata)) return [];
  return validateWithModel(configMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata }).filter((p) => p.path[0] === 'metadata');
}

/**
 * Schema problems of a manifest, remembered per content: objects that differ only in name and namespace (a thousand
 * profiles' default-deny policies) are validated once. The schema checks neither field's format, so the problems of
 * one are the problems of all.
 */
function problemsOf(model: ModelClass, manifest: PlacedObject['manifest'], ignored: ReadonlySet<string> | undefined, cache: Map<string, SchemaProblem[]>): SchemaProblem[] {
  const key = `${manifest.apiVersion}\u0000${manifest.kind}\u0000${JSON.stringify({ ...manifest, metadata: { ...manifest.metadata, name: '', namespace: '' } })}`;
  let problems = cache.get(key);
  if (problems === undefined) {
    problems = validateWithModel(model, manifest, ignored);
    cache.set(key, problems);
  }
  return problems;
}

function checkOne(placed: PlacedObject, cache: Map<string, SchemaProblem[]>): Finding[] {
  const { apiVersion, kind } = placed.manifest;
  const removedIn = REMOVED_API_VERSIONS[apiVersion];
  if (removedIn !== undefined) {
    return [finding(OPENAPI_RULE, placed, 'apiVersion', `${apiVersion} ${kind} is no longer served by Kubernetes (removed in ${removedIn})`)];
  }
  const model = resolveModel(apiVersion, kind);
  if (!model) {
    return [finding(OPENAPI_RULE, placed, 'apiVersion',
      `${apiVersion} ${kind} is not a known built-in kind: ${MODELS_VERSION} has no schema for it `
      + '(unknown version or kind of a built-in API group)')];
  }
  const ignored = apiGroup(apiVersion) === 'apiextensions.k8s.io' ? UNCOMPILED_APIEXTENSIONS_FIELDS : undefined;
  return problemsOf(model, placed.manifest, ignored, cache).map((p) => finding(OPENAPI_RULE, placed, p.path, p.message));
}

/**
 * Rule `openapi`: every object of a built-in API group validates against the Kubernetes OpenAPI schema of its
 * apiVersion and kind (from `kubernetes-models`).
 *
 * Findings: schema violations (wrong types, missing required fields, values outside an enum) at their path;
 * unknown fields (the schema does not declare them, e.g. `spec.replica`; the API server would drop or reject them);
 * built-in kinds the package does not know (e.g. `apps/v1beta9`), and API versions Kubernetes no longer serves.
 * Custom resources are left to {@link checkCustomResources}.
 */
export function checkOpenApi(input: HarnessInput): Finding[] {
  const out: Finding[] = [];
  const cache = new Map<string, SchemaProblem[]>();
  for (const placed of input.objects) {
    if (isBuiltInApiVersion(placed.manifest.apiVersion)) out.push(...checkOne(placed, cache));
  }
  return out;
}
