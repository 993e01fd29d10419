/**
 * An index of the harness input shared by the checks: objects by kind/namespace/name, CRDs by group/kind,
 * declared external objects and what provider objects create at run time.
 */
import { ExternalObject, HarnessInput, PlacedObject, PROVIDES_ANNOTATION } from './types';
import { apiGroup, asArray, asRecord, asString, builtInScope, isBuiltInApiVersion, Scope } from './util';

/** A CustomResourceDefinition of the output. */
export interface CrdEntry {
  readonly placed: PlacedObject;
  readonly group: string;
  readonly kind: string;
  readonly scope: Scope;
  /** `spec.versions`, keyed by version name, with their index in the list. */
  readonly versions: ReadonlyMap<string, { readonly index: number; readonly version: Record<string, unknown> }>;
}

/** One entry of a `kfkit.dev/provides` annotation. */
export interface ProvidedEntry {
  readonly provider: PlacedObject;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** A malformed `kfkit.dev/provides` entry. */
export interface ProvidesError {
  readonly provider: PlacedObject;
  readonly entry: string;
}

/** Index of the harness input. */
export interface Catalog {
  /** CRDs by `group/Kind`. */
  readonly crds: ReadonlyMap<string, CrdEntry>;
  /** Output objects by {@link refKey}. */
  readonly objects: ReadonlyMap<string, readonly PlacedObject[]>;
  /** Provided objects by {@link refKey}. */
  readonly provided: ReadonlyMap<string, readonly ProvidedEntry[]>;
  /** Declared external objects by {@link refKey}. */
  readonly externals: ReadonlyMap<string, ExternalObject>;
  /** Malformed provides entries. */
  readonly providesErrors: readonly ProvidesError[];
  /** The scope of an object's kind, when known (built-in, or a CRD in the output). */
  scopeOf(apiVersion: string, kind: string): Scope | undefined;
  /** The namespace an object lives in for reference lookups (`''` for cluster-scoped or unset). */
  namespaceOf(placed: PlacedObject): string;
}

/** Lookup key of an object: `Kind/namespace/name` with `''` as the namespace of cluster-scoped objects. */
export function refKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

const cache = new WeakMap<HarnessInput, Catalog>();

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function crdEntry(placed: PlacedObject): CrdEntry | undefined {
  const spec = asRecord(placed.manifest.spec);
  const group = asString(spec?.group);
  const kind = asString(asRecord(spec?.names)?.kind);
  if (!spec || group === undefined || kind === undefined) return undefined;
  const versions = new Map<string, { index: number; version: Record<string, unknown> }>();
  asArray(spec.versions).forEach((v, index) => {
    const version = asRecord(v);
    const name = asString(version?.name);
    if (version && name !== undefined && !versions.has(name)) versions.set(name, { index, version });
  });
  return { placed, group, kind, scope: spec.scope === 'Cluster' ? 'Cluster' : 'Namespaced', versions };
}

/** Whether a manifest is an `apiextensions.k8s.io` CustomResourceDefinition. */
export function isCrd(placed: PlacedObject): boolean {
  return placed.manifest.kind === 'CustomResourceDefinition' && apiGroup(placed.manifest.apiVersion) === 'apiextensions.k8s.io';
}

/** Builds (once per input object) the {@link Catalog} of a harness input. */
export function catalogOf(input: HarnessInput): Catalog {
  const cached = cache.get(input);
  if (cached) return cached;

  const crds = new Map<string, CrdEntry>();
  for (const placed of input.objects) {
    if (!isCrd(placed)) continue;
    const entry = crdEntry(placed);
    if (entry && !crds.has(`${entry.group}/${entry.kind}`)) crds.set(`${entry.group}/${entry.kind}`, entry);
  }

  const scopeOf = (apiVersion: string, kind: string): Scope | undefined =>
    isBuiltInApiVersion(apiVersion) ? builtInScope(kind) : crds.get(`${apiGroup(apiVersion)}/${kind}`)?.scope;
  const namespaceOf = (placed: PlacedObject): string =>
    scopeOf(placed.manifest.apiVersion, placed.manifest.kind) === 'Cluster' ? '' : placed.manifest.metadata.namespace ?? '';

  const objects = new Map<string, PlacedObject[]>();
  const provided = new Map<string, ProvidedEntry[]>();
  const providesErrors: ProvidesError[] = [];
  for (const placed of input.objects) {
    const { manifest } = placed;
    push(objects, refKey(manifest.kind, namespaceOf(placed), manifest.metadata.name), placed);
    const annotation = manifest.metadata.annotations?.[PROVIDES_ANNOTATION];
    if (typeof annotation !== 'string') continue;
    for (const raw of annotation.split(',')) {
      const entry = raw.trim();
      if (entry === '') continue;
      const parts = entry.split('/');
      if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.trim() === '')) {
        providesErrors.push({ provider: placed, entry });
        continue;
      }
      const [kind, namespace, name] = parts.length === 3 ? parts : [parts[0], '', parts[1]];
      push(provided, refKey(kind.trim(), namespace.trim(), name.trim()), { provider: placed, kind, namespace, name });
    }
  }

  const externals = new Map<string, ExternalObject>();
  for (const external of input.externalObjects ?? []) {
    const namespace = scopeOf(external.apiVersion, external.kind) === 'Cluster' ? '' : external.namespace ?? '';
    externals.set(refKey(external.kind, namespace, external.name), external);
  }

  const catalog: Catalog = { crds, objects, provided, externals, providesErrors, scopeOf, namespaceOf };
  cache.set(input, catalog);
  return catalog;
}
