/**
 * Rule `crd`: custom resources validate against the CustomResourceDefinitions of the output (or are declared external).
 */
import Ajv, { ValidateFunction } from 'ajv';
import { createHash } from 'crypto';
import { Catalog, catalogOf, CrdEntry, isCrd } from './catalog';
import { problemsFromErrors, SchemaProblem, validateObjectMeta } from './openapi';
import { ExternalApi, Finding, HarnessInput, PlacedObject } from './types';
import { apiGroup, apiVersionOnly, asArray, asRecord, finding, isBuiltInApiVersion, isRecord, objectId, PathSegment } from './util';

/** Rule id of {@link checkCustomResources}. */
export const CRD_RULE = 'crd';

/** Kubernetes vendor extensions of OpenAPI v3 that CRD schemas may carry. */
const K8S_EXTENSIONS = [
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations',
];

const INT_OR_STRING = 'x-kubernetes-int-or-string';

function createAjv(): Ajv {
  // Formats are not checked: the API server only validates a few, and ajv would reject unknown ones (`int32`, …).
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, logger: false });
  for (const keyword of K8S_EXTENSIONS) ajv.addKeyword({ keyword });
  ajv.addKeyword({
    keyword: INT_OR_STRING,
    schemaType: 'boolean',
    errors: false,
    validate: (enabled: boolean, data: unknown) => !enabled || data === null || typeof data === 'string' || Number.isInteger(data),
  });
  return ajv;
}

let sharedAjv: Ajv | undefined;

/**
 * Rewrites a CRD schema for ajv: `x-kubernetes-int-or-string` nodes lose their `type`/`anyOf`/`oneOf` (the keyword
 * accepts both integers and strings), and every typed node becomes `nullable` — the API server prunes `null` from
 * non-nullable fields instead of rejecting it.
 */
function prepareSchema(node: unknown): unknown {
  if (!isRecord(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (SCHEMA_MAP_KEYWORDS.has(key) && isRecord(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, prepareSchema(child)]));
    } else if (SCHEMA_KEYWORDS.has(key)) {
      out[key] = prepareSchema(value);
    } else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) {
      out[key] = value.map(prepareSchema);
    } else {
      out[key] = value;
    }
  }
  if (out[INT_OR_STRING] === true) {
    // Both integers and strings: the keyword decides; `type`/`anyOf` would reject one of them.
    const kept = Object.entries(out).filter(([key]) => !['type', 'anyOf', 'oneOf', 'nullable'].includes(key));
    return Object.fromEntries(kept);
  }
  if (out.type === undefined) return Object.fromEntries(Object.entries(out).filter(([key]) => key !== 'nullable'));
  const nullableEnum: unknown[] | undefined = Array.isArray(out.enum) && !out.enum.includes(null) ? [...(out.enum as unknown[]), null] : undefined;
  return { ...out, nullable: true, ...(nullableEnum ? { enum: nullableEnum } : {}) };
}

/** Keywords whose value is a map of schemas. */
const SCHEMA_MAP_KEYWORDS: ReadonlySet<string> = new Set(['properties', 'patternProperties', 'definitions']);
/** Keywords whose value is a schema. */
const SCHEMA_KEYWORDS: ReadonlySet<string> = new Set(['items', 'additionalProperties', 'not']);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST_KEYWORDS: ReadonlySet<string> = new Set(['allOf', 'anyOf', 'oneOf']);

const byIdentity = new WeakMap<object, ValidateFunction | Error>();
const byContent = new Map<string, ValidateFunction | Error>();

/**
 * The compiled validator of a CRD version schema. Compiling is the expensive part of the harness (large CRDs take
 * a second), so validators are cached by schema object and by schema content (a hash), and only schemas of versions
 * that some custom resource of the output uses are compiled.
 */
function compiledSchema(schema: Record<string, unknown>): ValidateFunction | Error {
  const cached = byIdentity.get(schema);
  if (cached) return cached;
  const hash = createHash('sha256').update(JSON.stringify(schema)).digest('hex');
  let result = byContent.get(hash);
  if (!result) {
    try {
      sharedAjv ??= createAjv();
      result = sharedAjv.compile(prepareSchema(schema) as object);
    } catch (err: unknown) {
      result = err instanceof Error ? err : new Error(String(err));
    }
    byContent.set(hash, result);
  }
  byIdentity.set(schema, result);
  return result;
}

/**
 * Fields the API server would prune: keys of objects whose (structural) schema declares `properties` and neither
 * `additionalProperties` nor `x-kubernetes-preserve-unknown-fields`. `apiVersion`, `kind` and `metadata` are implied at
 * the root and in embedded resources; `metadata` is checked against ObjectMeta separately.
 */
export function unknownFields(schema: unknown, value: unknown, path: readonly PathSegment[] = [], root = true): SchemaProblem[] {
  const node = asRecord(schema);
  if (!node) return [];
  const out: SchemaProblem[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => out.push(...unknownFields(node.items, item, [...path, index], false)));
    return out;
  }
  if (!isRecord(value)) return out;
  const properties = asRecord(node.properties) ?? {};
  const embedded = root || node['x-kubernetes-embedded-resource'] === true;
  const additional = node.additionalProperties;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  for (const [key, child] of Object.entries(value)) {
    if (embedded && (key === 'apiVersion' || key === 'kind' || key === 'metadata')) continue;
    if (Object.prototype.hasOwnProperty.call(properties, key)) {
      out.push(...unknownFields(properties[key], child, [...path, key], false));
    } else if (isRecord(additional)) {
      out.push(...unknownFields(additional, child, [...path, key], false));
    } else if (additional !== true && !preserve) {
      out.push({ path: [...path, key], message: `unknown field "${key}" (not in the CRD schema; the API server drops it)` });
    }
  }
  return out;
}

function versionSchema(version: Record<string, unknown>): Record<string, unknown> | undefined {
  return asRecord(asRecord(version.schema)?.openAPIV3Schema);
}

/** Checks of a CRD itself: a schema for every version, exactly one storage version. */
function checkCrdObject(placed: PlacedObject): Finding[] {
  const out: Finding[] = [];
  const versions = asArray(asRecord(placed.manifest.spec)?.versions);
  let storage = 0;
  versions.forEach((v, index) => {
    const version = asRecord(v);
    if (!version) return;
    if (version.storage === true) storage++;
    if (!versionSchema(version)) {
      out.push(finding(CRD_RULE, placed, ['spec', 'versions', index, 'schema', 'openAPIV3Schema'], 'version has no schema'));
    }
  });
  if (versions.length > 0 && storage !== 1) {
    out.push(finding(CRD_RULE, placed, ['spec', 'versions'], `exactly one version must be the storage version (found ${storage})`));
  }
  return out;
}

function checkAgainstCrd(placed: PlacedObject, crd: CrdEntry): Finding[] {
  const { manifest } = placed;
  const version = apiVersionOnly(manifest.apiVersion);
  const crdName = crd.placed.manifest.metadata.name;
  const entry = crd.versions.get(version);
  if (!entry) {
    const known = [...crd.versions.keys()].join(', ');
    return [finding(CRD_RULE, placed, 'apiVersion', `CustomResourceDefinition ${crdName} has no version ${version} (versions: ${known})`)];
  }
  const out: Finding[] = [];
  if (entry.version.served !== true) {
    out.push(finding(CRD_RULE, placed, 'apiVersion', `version ${version} of CustomResourceDefinition ${crdName} is not served`));
  }
  const namespace = manifest.metadata.namespace;
  if (crd.scope === 'Namespaced' && !namespace) {
    out.push(finding(CRD_RULE, placed, 'metadata.namespace',
      `${manifest.kind} is namespaced (CustomResourceDefinition ${crdName}) but has no namespace`));
  } else if (crd.scope === 'Cluster' && namespace) {
    out.push(finding(CRD_RULE, placed, 'metadata.namespace',
      `${manifest.kind} is cluster-scoped (CustomResourceDefinition ${crdName}) but has a namespace`));
  }
  for (const problem of validateObjectMeta(manifest.metadata)) out.push(finding(CRD_RULE, placed, problem.path, problem.message));
  const schema = versionSchema(entry.version);
  if (!schema) return out; // reported on the CRD
  const validator = compiledSchema(schema);
  if (validator instanceof Error) {
    out.push(finding(CRD_RULE, placed, 'apiVersion',
      `the schema of version ${version} of CustomResourceDefinition ${crdName} does not compile: ${validator.message}`));
    return out;
  }
  if (!validator(manifest) && validator.errors) {
    for (const problem of problemsFromErrors(manifest, validator.errors)) out.push(finding(CRD_RULE, placed, problem.path, problem.message));
  }
  for (const problem of unknownFields(schema, manifest)) out.push(finding(CRD_RULE, placed, problem.path, problem.message));
  return out;
}

function checkExternal(placed: PlacedObject, externalApis: readonly ExternalApi[], installers: ReadonlyMap<string, PlacedObject>): Finding[] {
  const { apiVersion, kind } = placed.manifest;
  const group = apiGroup(apiVersion);
  const version = apiVersionOnly(apiVersion);
  const declared = externalApis.filter((api) => api.group === group && api.kind === kind);
  if (declared.length === 0) {
    return [finding(CRD_RULE, placed, 'apiVersion',
      `no CustomResourceDefinition for ${kind}.${group} in the output and not declared external (externalApis)`)];
  }
  const served = declared.find((api) => api.versions.includes(version));
  if (served?.installedBy !== undefined) {
    const installer = installers.get(served.installedBy);
    if (installer === undefined) {
      return [finding(CRD_RULE, placed, 'apiVersion', `${kind}.${group} is installed by ${served.installedBy}, which is not in the output`)];
    }
    if (installer.wave >= placed.wave) {
      return [finding(CRD_RULE, placed, 'apiVersion',
        `${kind}.${group} is installed by ${served.installedBy} in wave ${installer.wave} (${installer.waveName}); ` +
        `this object is in wave ${placed.wave} (${placed.waveName}) and must come later`)];
    }
  }
  if (served) return [];
  const versions = declared.flatMap((api) => api.versions).join(', ');
  return [finding(CRD_RULE, placed, 'apiVersion',
    `${kind}.${group} is declared external (${declared[0].providedBy}) for versions ${versions}, not ${version}`)];
}

/**
 * Rule `crd`: every custom resource (an object whose API group is not built in) is served by a
 * CustomResourceDefinition of the output, or its group, kind and version are declared in `externalApis`. An external
 * API installed by an object of the output (a managed chart's HelmRelease) is only used in waves after that object's.
 *
 * Against a CRD of the output: the version exists and is served; the object is namespaced exactly when the CRD is;
 * it validates against the version's `openAPIV3Schema` (ajv, with `x-kubernetes-int-or-string` accepting integers
 * and strings, `null` accepted like the API server's pruning does, formats and CEL rules not checked); it has no
 * fields the schema would prune; its metadata is valid ObjectMeta. CRDs themselves must give every version a schema
 * and have exactly one storage version. Only schemas that some custom resource uses are compiled, once per schema.
 */
export function checkCustomResources(input: HarnessInput): Finding[] {
  const catalog: Catalog = catalogOf(input);
  const installers = new Map(input.objects.map((p) => [objectId(p.manifest), p]));
  const out: Finding[] = [];
  for (const placed of input.objects) {
    if (isCrd(placed)) {
      out.push(...checkCrdObject(placed));
      continue;
    }
    const { apiVersion, kind } = placed.manifest;
    if (isBuiltInApiVersion(apiVersion)) continue;
    const crd = catalog.crds.get(`${apiGroup(apiVersion)}/${kind}`);
    out.push(...(crd ? checkAgainstCrd(placed, crd) : checkExternal(placed, input.externalApis ?? [], installers)));
  }
  return out;
}
