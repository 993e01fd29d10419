import { ApiObject, ApiObjectMetadata } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';

/**
 * CustomResourceDefinitions from kfkit's own TypeScript definitions.
 *
 * A kfkit author declares a CRD — group, kind, names, scope, versions, subresources, printer columns — and builds
 * each version's `openAPIV3Schema` from the typed helpers of {@link Schema}. The helpers only produce *structural*
 * schemas (every node typed, `properties` and `additionalProperties` never together, list and map semantics
 * explicit), so every CRD kfkit emits is accepted by `apiextensions.k8s.io/v1` and can be checked by the validation
 * harness (ajv) exactly as the API server would: wrong types fail, unknown fields are reported as pruned.
 *
 * Each schema node also carries the TypeScript type of the values it accepts ({@link Infer}), so a construct that
 * creates custom resources writes them through {@link CustomResourceDefinition.customResource} and a wrong-typed
 * field is a compile error rather than a harness finding.
 *
 * Upstream CRD files are never transcribed: names, groups, versions, scope, subresources and short names are facts
 * (`facts/upstream.json`, the upstream source); the schemas are kfkit's, typed as far as kfkit or the upstream
 * clients set the fields (see {@link Schema.podTemplateSpec} for fields holding Kubernetes objects).
 */

/** A JSON value. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** OpenAPI types a structural schema node can have. */
export type JsonSchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

/** One node of a CRD's OpenAPI v3 schema, as it appears in the CRD (wire format). */
export interface JsonSchema {
  readonly type?: JsonSchemaType;
  readonly format?: string;
  readonly description?: string;
  readonly enum?: readonly (string | number | boolean)[];
  readonly default?: JsonValue;
  readonly nullable?: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly additionalProperties?: JsonSchema;
  readonly 'x-kubernetes-preserve-unknown-fields'?: true;
  readonly 'x-kubernetes-int-or-string'?: true;
  readonly 'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  readonly 'x-kubernetes-list-map-keys'?: readonly string[];
  readonly 'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/**
 * A schema node built by {@link Schema}: its JSON form and, as a phantom type, the TypeScript type `T` of the values
 * it accepts (never set at run time).
 */
export interface SchemaNode<T> {
  /** The node as it appears in the CRD. */
  readonly json: JsonSchema;
  /** Phantom: carries `T` for {@link Infer}; always undefined. */
  readonly __type?: T;
}

/** The TypeScript type of the values a schema node accepts. */
export type Infer<S> = S extends SchemaNode<infer T> ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Nullable<T, N> = N extends true ? T | null : T;
/** An object type that also accepts fields it does not declare (a schema with `preserveUnknown`). */
export type Open<T> = T & { readonly [key: string]: unknown };
/** Object type of `properties` with `R` required. */
export type ObjectOf<P extends Readonly<Record<string, SchemaNode<unknown>>>, R extends keyof P> = Simplify<
  { readonly [K in R]: Infer<P[K]> } & { readonly [K in Exclude<keyof P, R>]?: Infer<P[K]> }
>;

/** Options every helper takes. */
export interface CommonOptions<N extends boolean = false> {
  /** What the field means (shown by `kubectl explain`). @default - none */
  readonly description?: string;
  /**
   * Accept `null` (Go fields such as `metav1.Time` serialize their zero value as `null`).
   * @default false
   */
  readonly nullable?: N;
}

/** Options of {@link Schema.string}. */
export interface StringOptions<N extends boolean = false> extends CommonOptions<N> {
  /** OpenAPI format, e.g. `date-time`. @default - none */
  readonly format?: string;
  /** ECMA-262 regular expression the value must match. @default - none */
  readonly pattern?: string;
  /** @default - none */
  readonly minLength?: number;
  /** @default - none */
  readonly maxLength?: number;
  /** Value the API server sets when the field is absent. @default - none */
  readonly default?: string;
}

/** Options of {@link Schema.int} and {@link Schema.number}. */
export interface NumberOptions<N extends boolean = false> extends CommonOptions<N> {
  /** OpenAPI format: `int32`, `int64` (integers), `float`, `double` (numbers). @default - none */
  readonly format?: 'int32' | 'int64' | 'float' | 'double';
  /** @default - none */
  readonly minimum?: number;
  /** @default - none */
  readonly maximum?: number;
  /** @default - none */
  readonly default?: number;
}

/** Options of {@link Schema.array}. */
export interface ArrayOptions<N extends boolean = false> extends CommonOptions<N> {
  /**
   * Server-side apply semantics: `atomic` (replaced as a whole) or `set` (scalar items, merged as a set).
   * Lists merged by key use {@link Schema.listMap}.
   * @default - Kubernetes' default (atomic)
   */
  readonly listType?: 'atomic' | 'set';
  /** @default - none */
  readonly minItems?: number;
  /** @default - none */
  readonly maxItems?: number;
}

/** Options of {@link Schema.object}. */
export interface ObjectOptions<R extends string, N extends boolean = false, U extends boolean = false> extends CommonOptions<N> {
  /** Properties that must be present. @default - none */
  readonly required?: readonly R[];
  /**
   * Keep fields the schema does not declare (declared ones are still validated). For objects whose full shape
   * kfkit does not own, e.g. an upstream controller's spec.
   * @default false
   */
  readonly preserveUnknown?: U;
  /** Server-side apply semantics of the object. @default - Kubernetes' default (granular) */
  readonly mapType?: 'atomic' | 'granular';
}

/** Options of {@link Schema.map}. */
export interface MapOptions<N extends boolean = false> extends CommonOptions<N> {
  /** Server-side apply semantics of the map. @default - Kubernetes' default (granular) */
  readonly mapType?: 'atomic' | 'granular';
}

/** Options of {@link Schema.preserveUnknown}. */
export interface PreserveUnknownOptions<N extends boolean = false> extends CommonOptions<N> {
  /** Server-side apply semantics of the object. @default - Kubernetes' default (granular) */
  readonly mapType?: 'atomic' | 'granular';
}

const PROPERTY_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function fail(message: string): never {
  throw new Error(`CRD schema: ${message}`);
}

function node<T>(json: JsonSchema): SchemaNode<T> {
  return { json };
}

function common<N extends boolean>(options: CommonOptions<N> | undefined): Pick<JsonSchema, 'description' | 'nullable'> {
  return {
    ...(options?.description !== undefined ? { description: options.description } : {}),
    ...(options?.nullable === true ? { nullable: true } : {}),
  };
}

function checkRange(what: string, min: number | undefined, max: number | undefined): void {
  if (min !== undefined && max !== undefined && min > max) fail(`${what}: minimum ${min} is above maximum ${max}`);
}

function isScalar(json: JsonSchema): boolean {
  return json.type === 'string' || json.type === 'integer' || json.type === 'number' || json.type === 'boolean';
}

/** The string, integer, number or boolean value of a scalar default, checked against the node's type. */
function checkDefault(what: string, json: JsonSchema): void {
  if (json.default === undefined) return;
  const value = json.default;
  const ok = json.type === 'integer' ? Number.isInteger(value) : json.type === 'number' ? typeof value === 'number' : typeof value === json.type;
  if (!ok) fail(`${what}: default ${JSON.stringify(value)} is not of type ${String(json.type)}`);
  if (json.enum && !json.enum.includes(value as string)) fail(`${what}: default ${JSON.stringify(value)} is not one of the enum values`);
}

function numeric<N extends boolean>(type: 'integer' | 'number', options: NumberOptions<N> | undefined): SchemaNode<Nullable<number, N>> {
  checkRange(type, options?.minimum, options?.maximum);
  const json: JsonSchema = {
    type,
    ...common(options),
    ...(options?.format !== undefined ? { format: options.format } : {}),
    ...(options?.minimum !== undefined ? { minimum: options.minimum } : {}),
    ...(options?.maximum !== undefined ? { maximum: options.maximum } : {}),
    ...(options?.default !== undefined ? { default: options.default } : {}),
  };
  checkDefault(type, json);
  return node(json);
}

/** A string. */
function stringNode<N extends boolean = false>(options?: StringOptions<N>): SchemaNode<Nullable<string, N>> {
  checkRange('string length', options?.minLength, options?.maxLength);
  if (options?.pattern !== undefined) {
    try {
      new RegExp(options.pattern, 'u');
    } catch {
      fail(`string pattern ${JSON.stringify(options.pattern)} is not a valid regular expression`);
    }
  }
  const json: JsonSchema = {
    type: 'string',
    ...common(options),
    ...(options?.format !== undefined ? { format: options.format } : {}),
    ...(options?.pattern !== undefined ? { pattern: options.pattern } : {}),
    ...(options?.minLength !== undefined ? { minLength: options.minLength } : {}),
    ...(options?.maxLength !== undefined ? { maxLength: options.maxLength } : {}),
    ...(options?.default !== undefined ? { default: options.default } : {}),
  };
  checkDefault('string', json);
  return node(json);
}

/** A point in time, RFC 3339 (`metav1.Time`): a string of format `date-time`. */
function dateTimeNode<N extends boolean = false>(options?: CommonOptions<N>): SchemaNode<Nullable<string, N>> {
  return node({ type: 'string', format: 'date-time', ...common(options) });
}

/** One of `values` (strings). */
function enumNode<const V extends string, N extends boolean = false>(
  values: readonly V[],
  options?: CommonOptions<N> & { readonly default?: V },
): SchemaNode<Nullable<V, N>> {
  if (values.length === 0) fail('enum needs at least one value');
  if (new Set(values).size !== values.length) fail(`enum values must be unique: ${values.join(', ')}`);
  const json: JsonSchema = { type: 'string', ...common(options), enum: [...values], ...(options?.default !== undefined ? { default: options.default } : {}) };
  checkDefault('enum', json);
  return node(json);
}

/** An integer (`format` `int32` or `int64` as the Go field is). */
function intNode<N extends boolean = false>(options?: NumberOptions<N>): SchemaNode<Nullable<number, N>> {
  if (options?.format === 'float' || options?.format === 'double') fail(`integer format must be int32 or int64, not ${options.format}`);
  return numeric<N>('integer', options);
}

/** A number (`float`, `double`). */
function numberNode<N extends boolean = false>(options?: NumberOptions<N>): SchemaNode<Nullable<number, N>> {
  if (options?.format === 'int32' || options?.format === 'int64') fail(`number format must be float or double, not ${options.format}; use Schema.int`);
  return numeric<N>('number', options);
}

/** A boolean. */
function boolNode<N extends boolean = false>(options?: CommonOptions<N> & { readonly default?: boolean }): SchemaNode<Nullable<boolean, N>> {
  return node({ type: 'boolean', ...common(options), ...(options?.default !== undefined ? { default: options.default } : {}) });
}

/** An integer or a string (`intstr.IntOrString`: ports, percentages, retry limits). */
function intOrStringNode(options?: Pick<CommonOptions, 'description'>): SchemaNode<number | string> {
  return node({ ...common(options), 'x-kubernetes-int-or-string': true });
}

/** A list of `items`. */
function arrayNode<T, N extends boolean = false>(items: SchemaNode<T>, options?: ArrayOptions<N>): SchemaNode<Nullable<readonly T[], N>> {
  checkRange('array items', options?.minItems, options?.maxItems);
  if (options?.listType === 'set' && !isScalar(items.json)) fail('a list of type set must have scalar items (use Schema.listMap for objects)');
  return node({
    type: 'array',
    ...common(options),
    items: items.json,
    ...(options?.listType !== undefined ? { 'x-kubernetes-list-type': options.listType } : {}),
    ...(options?.minItems !== undefined ? { minItems: options.minItems } : {}),
    ...(options?.maxItems !== undefined ? { maxItems: options.maxItems } : {}),
  });
}

/**
 * A list of objects merged by key under server-side apply (`x-kubernetes-list-type: map`), like a pod's containers
 * by `name`. Every key must be a scalar property of the items that is required or has a default.
 */
function listMapNode<T, N extends boolean = false>(
  items: SchemaNode<T>,
  keys: readonly (keyof T & string)[],
  options?: CommonOptions<N>,
): SchemaNode<Nullable<readonly T[], N>> {
  if (keys.length === 0) fail('a list of type map needs at least one key');
  const properties = items.json.properties ?? {};
  const required = new Set(items.json.required ?? []);
  for (const key of keys) {
    const property = properties[key] as JsonSchema | undefined;
    if (!property || !isScalar(property)) fail(`list map key "${key}" must be a scalar property of the items`);
    if (!required.has(key) && property.default === undefined) fail(`list map key "${key}" must be required or have a default`);
  }
  return node({ type: 'array', ...common(options), items: items.json, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': [...keys] });
}

/** A map from arbitrary string keys to `values` (`additionalProperties`). */
function mapNode<T, N extends boolean = false>(values: SchemaNode<T>, options?: MapOptions<N>): SchemaNode<Nullable<Readonly<Record<string, T>>, N>> {
  return node({
    type: 'object',
    ...common(options),
    additionalProperties: values.json,
    ...(options?.mapType !== undefined ? { 'x-kubernetes-map-type': options.mapType } : {}),
  });
}

/**
 * An object with the given properties. Fields not declared are pruned by the API server (and reported by the
 * harness) unless `preserveUnknown` is set.
 */
function objectNode<
  const P extends Readonly<Record<string, SchemaNode<unknown>>>,
  const R extends keyof P & string = never,
  N extends boolean = false,
  U extends boolean = false,
>(properties: P, options?: ObjectOptions<R, N, U>): SchemaNode<Nullable<U extends true ? Open<ObjectOf<P, R>> : ObjectOf<P, R>, N>> {
  const names = Object.keys(properties);
  for (const name of names) if (!PROPERTY_NAME.test(name)) fail(`property name "${name}" is not a valid field name`);
  const required: readonly string[] = options?.required ?? [];
  for (const name of required) if (!names.includes(name)) fail(`required property "${name}" is not among the properties (${names.join(', ')})`);
  if (new Set(required).size !== required.length) fail(`required lists a property twice: ${required.join(', ')}`);
  return node({
    type: 'object',
    ...common(options),
    properties: Object.fromEntries(names.map((name) => [name, properties[name].json])),
    ...(required.length > 0 ? { required: [...required] } : {}),
    ...(options?.preserveUnknown === true ? { 'x-kubernetes-preserve-unknown-fields': true } : {}),
    ...(options?.mapType !== undefined ? { 'x-kubernetes-map-type': options.mapType } : {}),
  });
}

/** An object whose fields kfkit does not type: kept as written (e.g. an upstream controller's spec). */
function preserveUnknownNode<N extends boolean = false>(options?: PreserveUnknownOptions<N>): SchemaNode<Nullable<Readonly<Record<string, unknown>>, N>> {
  return node({
    type: 'object',
    ...common(options),
    'x-kubernetes-preserve-unknown-fields': true,
    ...(options?.mapType !== undefined ? { 'x-kubernetes-map-type': options.mapType } : {}),
  });
}

/** Any JSON value (Go `interface{}`, `apiextensionsv1.JSON`): no type, kept as written. */
function anyValueNode(options?: Pick<CommonOptions, 'description'>): SchemaNode<unknown> {
  return node({ ...common(options), 'x-kubernetes-preserve-unknown-fields': true });
}

const envSubset = objectNode({ name: stringNode(), value: stringNode() }, { preserveUnknown: true });
const portSubset = objectNode({ containerPort: intNode({ format: 'int32' }), name: stringNode(), protocol: stringNode() }, { preserveUnknown: true });
const containerSubset = objectNode({
  name: stringNode(),
  image: stringNode(),
  command: arrayNode(stringNode()),
  args: arrayNode(stringNode()),
  workingDir: stringNode(),
  env: arrayNode(envSubset),
  ports: arrayNode(portSubset),
}, { preserveUnknown: true });
const podTemplateProperties = {
  metadata: objectNode({ labels: mapNode(stringNode()), annotations: mapNode(stringNode()) }, { preserveUnknown: true }),
  spec: objectNode({
    serviceAccountName: stringNode(),
    nodeSelector: mapNode(stringNode()),
    containers: arrayNode(containerSubset),
    initContainers: arrayNode(containerSubset),
    volumes: arrayNode(objectNode({ name: stringNode() }, { preserveUnknown: true })),
  }, { preserveUnknown: true }),
};

/** The fields of a pod template that {@link Schema.podTemplateSpec} types; any other field is kept as written. */
export type PodTemplateSubset = Open<ObjectOf<typeof podTemplateProperties, never>>;

/**
 * A Kubernetes `PodTemplateSpec` held by a custom resource (a Viewer's pod, a run's pod).
 *
 * Decision: unknown fields are preserved, and a typed subset — the fields kfkit and upstream clients set (metadata
 * labels/annotations; spec serviceAccountName, nodeSelector, containers and initContainers with name, image, command,
 * args, workingDir, env name/value and ports; volume names) — is validated. Nothing is required: clients may leave
 * fields to the controller (KFP's UI creates Viewers with `containers: [{}]` and the Viewer controller fills in the
 * container).
 *
 * Why not embed the Kubernetes PodTemplateSpec schema: it is some hundred kilobytes per occurrence (a CRD has to fit
 * etcd's object size limit and server-side apply), it would pin the pod fields to the Kubernetes version kfkit was
 * built against — the API server would then silently prune fields newer clusters support and accept fields older
 * clusters reject — and the pod is validated in full anyway when the controller creates it. Upstream CRDs that carry
 * pod templates preserve unknown fields for the same reasons.
 */
function podTemplateSpecNode<N extends boolean = false>(options?: CommonOptions<N>): SchemaNode<Nullable<PodTemplateSubset, N>> {
  return node({ ...objectNode(podTemplateProperties, { preserveUnknown: true }).json, ...common(options) });
}

/**
 * Typed helpers that build structural schema nodes. Each returns a {@link SchemaNode} whose phantom type follows the
 * schema: `Schema.object({ a: Schema.string(), b: Schema.int() }, { required: ['a'] })` accepts
 * `{ readonly a: string; readonly b?: number }`.
 */
export const Schema = {
  string: stringNode,
  dateTime: dateTimeNode,
  enumOf: enumNode,
  int: intNode,
  number: numberNode,
  bool: boolNode,
  intOrString: intOrStringNode,
  array: arrayNode,
  listMap: listMapNode,
  map: mapNode,
  object: objectNode,
  preserveUnknown: preserveUnknownNode,
  anyValue: anyValueNode,
  podTemplateSpec: podTemplateSpecNode,
} as const;

// ---------------------------------------------------------------------------------------------------------------
// The CRD construct
// ---------------------------------------------------------------------------------------------------------------

/** The `scale` subresource: where `kubectl scale` and autoscalers read and write replicas. */
export interface ScaleSubresource {
  /** JSON path of the desired replicas, under `.spec`, e.g. `.spec.replicas`. */
  readonly specReplicasPath: string;
  /** JSON path of the observed replicas, under `.status`, e.g. `.status.replicas`. */
  readonly statusReplicasPath: string;
  /** JSON path of the label selector (string form), under `.status` or `.spec`. @default - none */
  readonly labelSelectorPath?: string;
}

/** Subresources of a CRD version. */
export interface CrdSubresources {
  /** The `status` subresource: status is written through `/status` only (the schema must declare `status`). @default false */
  readonly status?: boolean;
  /** The `scale` subresource. @default - none */
  readonly scale?: ScaleSubresource;
}

/** A column `kubectl get` prints. */
export interface PrinterColumn {
  /** Column header. */
  readonly name: string;
  /** Column type. */
  readonly type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  /** Simple JSON path into the object, e.g. `.status.phase`; it must resolve in the schema. */
  readonly jsonPath: string;
  /** OpenAPI format of the value, e.g. `date-time`. @default - none */
  readonly format?: string;
  /** @default - none */
  readonly description?: string;
  /** Priority: 0 in the standard view, higher only with `-o wide`. @default 0 */
  readonly priority?: number;
}

/** One version of a CRD. */
export interface CrdVersion<T> {
  /** Version name, e.g. `v1beta1`. */
  readonly name: string;
  /** Served by the API. @default true */
  readonly served?: boolean;
  /** The version objects are stored in (exactly one per CRD). */
  readonly storage: boolean;
  /**
   * Schema of the object besides `apiVersion`, `kind` and `metadata` (which the CRD adds): an {@link Schema.object}
   * whose properties are the top-level fields (usually `spec` and `status`).
   */
  readonly schema: SchemaNode<T>;
  /**
   * List `metadata` among the root's required fields (the API server always sets it; upstream CRDs generated by
   * controller-gen list it).
   * @default false
   */
  readonly metadataRequired?: boolean;
  /** Subresources. @default - none */
  readonly subresources?: CrdSubresources;
  /** Extra `kubectl get` columns. @default - none */
  readonly printerColumns?: readonly PrinterColumn[];
  /** Mark the version deprecated, with the warning clients get. @default - not deprecated */
  readonly deprecationWarning?: string;
}

/** Props of {@link CustomResourceDefinition}. */
export interface CustomResourceDefinitionProps {
  /** API group, a DNS subdomain with at least one dot, e.g. `kubeflow.org`. */
  readonly group: string;
  /** Kind, PascalCase, e.g. `ScheduledWorkflow`. */
  readonly kind: string;
  /** Plural resource name, lowercase, e.g. `scheduledworkflows`. */
  readonly plural: string;
  /** Singular resource name. @default - the kind in lowercase */
  readonly singular?: string;
  /** Kind of lists. @default - `<kind>List` */
  readonly listKind?: string;
  /** Short names for `kubectl`. @default - none */
  readonly shortNames?: readonly string[];
  /** Categories (`kubectl get <category>`). @default - none */
  readonly categories?: readonly string[];
  /** Namespaced or cluster-scoped objects. */
  readonly scope: 'Namespaced' | 'Cluster';
  /** Versions; exactly one has `storage: true`. */
  readonly versions: readonly CrdVersion<unknown>[];
  /** Labels of the CRD object. @default - none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Metadata of a custom resource created through {@link CustomResourceDefinition.customResource}. */
export interface CustomResourceMetadata extends ApiObjectMetadata {
  readonly name: string;
}

const GROUP = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const KIND = /^[A-Z][A-Za-z0-9]{0,62}$/;
const RESOURCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const VERSION = /^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$/;
const IMPLIED = ['apiVersion', 'kind', 'metadata'];

/**
 * Resolves a simple JSON path (`.status.phase`, `.status.conditions[0].type`) in a schema. Returns the node, `'any'`
 * when the path enters a part whose fields are preserved unknown, or `undefined` when it names nothing.
 */
export function resolveSchemaPath(root: JsonSchema, jsonPath: string): JsonSchema | 'any' | undefined {
  if (!jsonPath.startsWith('.')) return undefined;
  const segments = jsonPath.slice(1).split('.');
  let current: JsonSchema = root;
  for (const raw of segments) {
    const bracket = raw.indexOf('[');
    const field = bracket >= 0 ? raw.slice(0, bracket) : raw;
    const indexes = bracket >= 0 ? (raw.slice(bracket).match(/\[[^\]]*\]/g) ?? []).length : 0;
    if (field === '') return undefined;
    const property: JsonSchema | undefined = current.properties?.[field] ?? current.additionalProperties;
    if (!property) return current['x-kubernetes-preserve-unknown-fields'] === true ? 'any' : undefined;
    current = property;
    for (let i = 0; i < indexes; i++) {
      if (current.type !== 'array' || !current.items) return current['x-kubernetes-preserve-unknown-fields'] === true ? 'any' : undefined;
      current = current.items;
    }
  }
  return current;
}

function toSchemaProps(json: JsonSchema): k8s.JsonSchemaProps {
  return {
    type: json.type,
    format: json.format,
    description: json.description,
    enum: json.enum ? [...json.enum] : undefined,
    default: json.default,
    nullable: json.nullable,
    minimum: json.minimum,
    maximum: json.maximum,
    minLength: json.minLength,
    maxLength: json.maxLength,
    pattern: json.pattern,
    minItems: json.minItems,
    maxItems: json.maxItems,
    properties: json.properties ? Object.fromEntries(Object.entries(json.properties).map(([k, v]) => [k, toSchemaProps(v)])) : undefined,
    required: json.required ? [...json.required] : undefined,
    // cdk8s passes `items` and `additionalProperties` through unconverted: they are given in wire format.
    items: json.items,
    additionalProperties: json.additionalProperties,
    xKubernetesPreserveUnknownFields: json['x-kubernetes-preserve-unknown-fields'],
    xKubernetesIntOrString: json['x-kubernetes-int-or-string'],
    xKubernetesListType: json['x-kubernetes-list-type'],
    xKubernetesListMapKeys: json['x-kubernetes-list-map-keys'] ? [...json['x-kubernetes-list-map-keys']] : undefined,
    xKubernetesMapType: json['x-kubernetes-map-type'],
  };
}

/**
 * An `apiextensions.k8s.io/v1` CustomResourceDefinition from a typed declaration (see the module comment). The
 * definition is checked when constructed — names, exactly one storage version, a `status` property for the status
 * subresource, printer columns and scale paths that resolve in the schema — and the CRD (`<plural>.<group>`)
 * installs in the `crds` wave.
 */
export class CustomResourceDefinition extends Construct {
  /** `<plural>.<group>`. */
  public readonly name: string;
  public readonly group: string;
  public readonly kind: string;
  public readonly plural: string;
  public readonly scope: 'Namespaced' | 'Cluster';
  /** Name of the storage version. */
  public readonly storageVersion: string;
  /** `<group>/<storage version>`. */
  public readonly apiVersion: string;
  /** The root schema of each version, as emitted (apiVersion, kind and metadata included). */
  public readonly schemas: ReadonlyMap<string, JsonSchema>;
  /** The CRD object. */
  public readonly resource: k8s.KubeCustomResourceDefinition;
  private readonly versions: readonly CrdVersion<unknown>[];

  public constructor(scope: Construct, id: string, props: CustomResourceDefinitionProps) {
    super(scope, id);
    const where = `CustomResourceDefinition ${props.plural}.${props.group}`;
    const bad: (message: string) => never = (message) => {
      throw new Error(`${where}: ${message}`);
    };
    if (!GROUP.test(props.group)) bad(`group "${props.group}" must be a lowercase DNS subdomain with at least one dot, e.g. example.org`);
    if (!KIND.test(props.kind)) bad(`kind "${props.kind}" must be PascalCase letters and digits, e.g. ScheduledWorkflow`);
    const singular = props.singular ?? props.kind.toLowerCase();
    const listKind = props.listKind ?? `${props.kind}List`;
    if (!KIND.test(listKind)) bad(`listKind "${listKind}" must be PascalCase letters and digits`);
    const names = [props.plural, singular, ...(props.shortNames ?? []), ...(props.categories ?? [])];
    for (const n of names) if (!RESOURCE_NAME.test(n)) bad(`name "${n}" must be a lowercase DNS label (plural, singular, short names, categories)`);
    if (new Set(props.shortNames ?? []).size !== (props.shortNames ?? []).length) bad('short names must be unique');
    if (props.versions.length === 0) bad('needs at least one version');
    const versionNames = props.versions.map((v) => v.name);
    for (const v of versionNames) if (!VERSION.test(v)) bad(`version "${v}" must look like v1, v1beta1 or v2alpha3`);
    if (new Set(versionNames).size !== versionNames.length) bad(`version names must be unique: ${versionNames.join(', ')}`);
    const storage = props.versions.filter((v) => v.storage);
    if (storage.length !== 1) bad(`exactly one version must have storage: true (found ${storage.length})`);

    this.name = `${props.plural}.${props.group}`;
    this.group = props.group;
    this.kind = props.kind;
    this.plural = props.plural;
    this.scope = props.scope;
    this.storageVersion = storage[0].name;
    this.apiVersion = `${props.group}/${this.storageVersion}`;
    this.versions = props.versions;

    const schemas = new Map<string, JsonSchema>();
    const versions: k8s.CustomResourceDefinitionVersion[] = props.versions.map((version) => {
      const at = `version ${version.name}`;
      const user = version.schema.json;
      if (user.type !== 'object' || !user.properties) bad(`${at}: the schema must be a Schema.object of the top-level fields`);
      for (const name of IMPLIED) {
        if (Object.prototype.hasOwnProperty.call(user.properties, name)) bad(`${at}: the schema must not declare "${name}" (the CRD adds it)`);
      }
      if (user.additionalProperties) bad(`${at}: the root schema cannot be a map`);
      const required = [...(version.metadataRequired === true ? ['metadata'] : []), ...(user.required ?? [])];
      const root: JsonSchema = {
        ...user,
        type: 'object',
        properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, ...user.properties },
        ...(required.length > 0 ? { required } : {}),
      };
      schemas.set(version.name, root);
      const status = version.subresources?.status === true;
      if (status && !Object.prototype.hasOwnProperty.call(user.properties, 'status')) bad(`${at}: the status subresource needs a "status" property in the schema`);
      const scale = version.subresources?.scale;
      if (scale) {
        const check = (path: string | undefined, prefix: string, label: string): void => {
          if (path === undefined) return;
          if (!path.startsWith(prefix)) bad(`${at}: scale ${label} "${path}" must start with ${prefix}`);
          const target = resolveSchemaPath(root, path);
          if (!target) bad(`${at}: scale ${label} "${path}" names no field of the schema`);
          if (label !== 'labelSelectorPath' && target !== 'any' && target.type !== 'integer') bad(`${at}: scale ${label} "${path}" must be an integer field`);
          if (label === 'labelSelectorPath' && target !== 'any' && target.type !== 'string') bad(`${at}: scale ${label} "${path}" must be a string field`);
        };
        check(scale.specReplicasPath, '.spec.', 'specReplicasPath');
        check(scale.statusReplicasPath, '.status.', 'statusReplicasPath');
        if (scale.labelSelectorPath !== undefined && !/^\.(spec|status)\./.test(scale.labelSelectorPath)) {
          bad(`${at}: scale labelSelectorPath "${scale.labelSelectorPath}" must start with .spec. or .status.`);
        }
        check(scale.labelSelectorPath, '.', 'labelSelectorPath');
      }
      const columns = version.printerColumns ?? [];
      const columnNames = columns.map((c) => c.name);
      if (new Set(columnNames).size !== columnNames.length) bad(`${at}: printer column names must be unique: ${columnNames.join(', ')}`);
      for (const column of columns) {
        if (column.name.trim() === '') bad(`${at}: a printer column needs a name`);
        if (!resolveSchemaPath(root, column.jsonPath)) bad(`${at}: printer column ${column.name} jsonPath "${column.jsonPath}" names no field of the schema`);
      }
      return {
        name: version.name,
        served: version.served ?? true,
        storage: version.storage,
        deprecated: version.deprecationWarning !== undefined ? true : undefined,
        deprecationWarning: version.deprecationWarning,
        schema: { openApiv3Schema: toSchemaProps(root) },
        subresources: status || scale ? {
          status: status ? {} : undefined,
          scale: scale
            ? { specReplicasPath: scale.specReplicasPath, statusReplicasPath: scale.statusReplicasPath, labelSelectorPath: scale.labelSelectorPath }
            : undefined,
        } : undefined,
        additionalPrinterColumns: columns.length > 0 ? columns.map((c) => ({
          name: c.name, type: c.type, jsonPath: c.jsonPath, format: c.format, description: c.description, priority: c.priority,
        })) : undefined,
      };
    });
    this.schemas = schemas;

    this.resource = new k8s.KubeCustomResourceDefinition(this, 'Resource', {
      metadata: { name: this.name, labels: props.labels ? { ...props.labels } : undefined },
      spec: {
        group: props.group,
        names: {
          kind: props.kind,
          listKind,
          plural: props.plural,
          singular,
          shortNames: props.shortNames && props.shortNames.length > 0 ? [...props.shortNames] : undefined,
          categories: props.categories && props.categories.length > 0 ? [...props.categories] : undefined,
        },
        scope: props.scope,
        versions,
      },
    });
  }

  /**
   * Creates a custom resource of this CRD, typed by the version's schema: `body` holds the top-level fields (`spec`,
   * `status`, …) besides metadata. Throws when the version is not one of this CRD's served versions, or when the
   * namespace does not match the scope.
   */
  public customResource<T>(scope: Construct, id: string, version: CrdVersion<T>, metadata: CustomResourceMetadata, body: NoInfer<T>): ApiObject {
    if (!this.versions.includes(version)) {
      throw new Error(`${this.name} has no version object ${version.name}; pass one of the versions it was defined with`);
    }
    if (version.served === false) throw new Error(`${this.name}: version ${version.name} is not served`);
    if (this.scope === 'Namespaced' && !metadata.namespace) throw new Error(`${this.kind} ${metadata.name} is namespaced: set metadata.namespace`);
    if (this.scope === 'Cluster' && metadata.namespace) throw new Error(`${this.kind} ${metadata.name} is cluster-scoped: remove metadata.namespace`);
    return new ApiObject(scope, id, { apiVersion: `${this.group}/${version.name}`, kind: this.kind, metadata, ...(body as object) });
  }
}
