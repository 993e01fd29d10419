/**
 * Fidelity: does kfkit install each upstream workload the way the pinned upstream release does?
 *
 * The upstream side is `facts/upstream.json`, written by `tools/facts/extract.ts` from an upstream render. The kfkit
 * side is read from the synthesized objects with the same extractor, so both are compared in one vocabulary:
 * kind, ServiceAccount, container names, images, ports, env var names, command, args and the RBAC permissions bound
 * to the ServiceAccount (see `./rbac`). kfkit's deliberate differences are listed in `facts/deviations.json`; a
 * listed difference is not a finding, and a listed difference that no longer exists is one (`stale deviation`).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { serviceAccountPermissions } from './rbac';
import type { Finding, K8sObject, PlacedObject } from './types';

/** Rule id of every finding of this check. */
export const FIDELITY_RULE = 'fidelity';

/** Kinds of workload the check compares; the kind may differ between upstream and kfkit. */
export const WORKLOAD_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

// ---------------------------------------------------------------------------------------------------------------
// Facts format
// ---------------------------------------------------------------------------------------------------------------

/** Where an env var's value comes from. Values themselves are never facts; the ConfigMap/Secret key names are. */
export type EnvSource = 'value' | 'configMapKeyRef' | 'secretKeyRef' | 'fieldRef' | 'resourceFieldRef';

/** One env var of a container. */
export interface EnvFact {
  readonly name: string;
  readonly from: EnvSource;
  /** ConfigMap or Secret name (`configMapKeyRef`, `secretKeyRef`). */
  readonly ref?: string;
  /** ConfigMap/Secret key, field path (`fieldRef`) or resource (`resourceFieldRef`). */
  readonly key?: string;
}

/** One `envFrom` entry of a container. */
export interface EnvFromFact {
  readonly from: 'configMapRef' | 'secretRef';
  readonly ref: string;
  readonly prefix?: string;
}

/** One container port. `protocol` defaults to `TCP`. */
export interface PortFact {
  readonly containerPort: number;
  readonly name?: string;
  readonly protocol: string;
}

/**
 * One container. `command` and `args` keep their order; an element that is an embedded script (multi-line or longer
 * than 256 characters) is recorded as `<script N chars sha256:XXXXXXXXXXXX>` so that changes show without the text.
 */
export interface ContainerFacts {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** Sorted by containerPort, then name. */
  readonly ports: readonly PortFact[];
  /** Sorted by name. */
  readonly env: readonly EnvFact[];
  /** In declared order (a later entry wins when keys overlap). */
  readonly envFrom: readonly EnvFromFact[];
}

/** One workload (Deployment, StatefulSet or DaemonSet) of an upstream source. */
export interface WorkloadFacts {
  /** Source id, a key of {@link Facts.sources}. */
  readonly source: string;
  readonly namespace: string;
  readonly kind: string;
  readonly name: string;
  /** `default` when the pod spec names none. */
  readonly serviceAccount: string;
  /** Sorted by name. */
  readonly containers: readonly ContainerFacts[];
  /** Sorted by name. */
  readonly initContainers: readonly ContainerFacts[];
  /** Sorted permissions bound to the ServiceAccount, `verb resource.group` (see `./rbac`). */
  readonly rbac: readonly string[];
}

/** A ServiceAccount of an upstream source with its permissions (also those no workload uses, e.g. pipeline-runner). */
export interface ServiceAccountFacts {
  readonly source: string;
  readonly namespace: string;
  readonly name: string;
  readonly rbac: readonly string[];
}

/** A Service of an upstream source. */
export interface ServiceFacts {
  readonly source: string;
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  readonly ports: readonly {
    readonly name?: string;
    readonly port: number;
    readonly targetPort?: number | string;
    readonly protocol: string;
  }[];
}

/** A CustomResourceDefinition of an upstream source. */
export interface CrdFacts {
  readonly source: string;
  readonly name: string;
  readonly group: string;
  readonly kind: string;
  readonly scope: string;
  readonly versions: readonly {
    readonly name: string;
    readonly served: boolean;
    readonly storage: boolean;
    /** `status`, `scale`. */
    readonly subresources: readonly string[];
  }[];
}

/** A ConfigMap or Secret of an upstream source: key names only, never values. */
export interface KeysFacts {
  readonly source: string;
  readonly namespace: string;
  readonly name: string;
  readonly keys: readonly string[];
  /** Secret type, when set. */
  readonly type?: string;
}

/** Provenance of one source. */
export interface SourceInfo {
  /** Upstream repository, e.g. `kubeflow/pipelines`. */
  readonly upstream: string;
  /** Upstream release, e.g. `2.17.0`. */
  readonly version: string;
  /** Commit (or tag) rendered. */
  readonly ref: string;
  /** What was rendered, e.g. `manifests/kustomize/cluster-scoped-resources + manifests/kustomize/env/platform-agnostic`. */
  readonly renderPath: string;
  /** Anything else a reader needs to reproduce the render. */
  readonly note?: string;
}

/** kfkit's facts file (`facts/upstream.json`). */
export interface Facts {
  /** How the file was produced; it is not edited by hand. */
  readonly $comment: string;
  readonly sources: Readonly<Record<string, SourceInfo>>;
  readonly workloads: readonly WorkloadFacts[];
  readonly serviceAccounts: readonly ServiceAccountFacts[];
  readonly services: readonly ServiceFacts[];
  readonly crds: readonly CrdFacts[];
  readonly configMaps: readonly KeysFacts[];
  readonly secrets: readonly KeysFacts[];
}

/** Field of a workload a {@link Deviation} covers; `workload` covers "not installed at all". */
export type DeviationField =
  | 'kind'
  | 'serviceAccount'
  | 'image'
  | 'ports'
  | 'env'
  | 'args'
  | 'command'
  | 'rbac'
  | 'containers'
  | 'workload';

/**
 * A documented, deliberate difference between kfkit and upstream (`facts/deviations.json`).
 *
 * `value` narrows it to one difference; omitted, it covers every difference of `field` in the workload:
 * - `kind`, `serviceAccount`: kfkit's kind / ServiceAccount name;
 * - `containers`, `image`, `args`, `command`: the container name;
 * - `ports`: `containerPort/name` (or `containerPort` for an unnamed port);
 * - `env`: the env var name, or `envFrom:configMapRef/NAME` / `envFrom:secretRef/NAME`;
 * - `rbac`: the permission, e.g. `list pods.core`.
 */
export interface Deviation {
  /** `namespace/name` of the upstream workload, e.g. `kubeflow/mysql`. */
  readonly workload: string;
  readonly field: DeviationField;
  readonly value?: string;
  /** Why kfkit differs. */
  readonly reason: string;
  /** Restrict to one facts source (default: any). */
  readonly source?: string;
  /**
   * The configuration in which the difference exists (e.g. `the artifact store uses IRSA`), for differences that
   * only some configurations have. Such a deviation is never stale in a single check; a test across variants
   * shows each is needed somewhere.
   */
  readonly when?: string;
}

/** Options of {@link checkFidelity}. */
export interface FidelityOptions {
  /**
   * Facts sources kfkit installs in full: each of their workloads must have a synthesized counterpart. When given,
   * only these sources are compared; otherwise every source is, and a workload present in several (e.g. `kfp` and
   * `kfp-postgresql`) is compared with the one it differs least from.
   */
  readonly sources?: readonly string[];
  /** Registry mirror prefix kfkit's images may carry, e.g. `registry.corp` or `registry.corp/kubeflow-mirror`. */
  readonly mirror?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------------------------

const portSchema = z.object({ containerPort: z.number(), name: z.string().optional(), protocol: z.string() });
const envSchema = z.object({
  name: z.string(),
  from: z.enum(['value', 'configMapKeyRef', 'secretKeyRef', 'fieldRef', 'resourceFieldRef']),
  ref: z.string().optional(),
  key: z.string().optional(),
});
const envFromSchema = z.object({
  from: z.enum(['configMapRef', 'secretRef']),
  ref: z.string(),
  prefix: z.string().optional(),
});
const containerSchema = z.object({
  name: z.string(),
  image: z.string(),
  command: z.array(z.string()),
  args: z.array(z.string()),
  ports: z.array(portSchema),
  env: z.array(envSchema),
  envFrom: z.array(envFromSchema),
});
const factsSchema = z.object({
  $comment: z.string(),
  sources: z.record(
    z.string(),
    z.object({
      upstream: z.string(),
      version: z.string(),
      ref: z.string(),
      renderPath: z.string(),
      note: z.string().optional(),
    }),
  ),
  workloads: z.array(
    z.object({
      source: z.string(),
      namespace: z.string(),
      kind: z.string(),
      name: z.string(),
      serviceAccount: z.string(),
      containers: z.array(containerSchema),
      initContainers: z.array(containerSchema),
      rbac: z.array(z.string()),
    }),
  ),
  serviceAccounts: z.array(
    z.object({ source: z.string(), namespace: z.string(), name: z.string(), rbac: z.array(z.string()) }),
  ),
  services: z.array(
    z.object({
      source: z.string(),
      namespace: z.string(),
      name: z.string(),
      type: z.string(),
      ports: z.array(
        z.object({
          name: z.string().optional(),
          port: z.number(),
          targetPort: z.union([z.number(), z.string()]).optional(),
          protocol: z.string(),
        }),
      ),
    }),
  ),
  crds: z.array(
    z.object({
      source: z.string(),
      name: z.string(),
      group: z.string(),
      kind: z.string(),
      scope: z.string(),
      versions: z.array(
        z.object({ name: z.string(), served: z.boolean(), storage: z.boolean(), subresources: z.array(z.string()) }),
      ),
    }),
  ),
  configMaps: z.array(
    z.object({ source: z.string(), namespace: z.string(), name: z.string(), keys: z.array(z.string()) }),
  ),
  secrets: z.array(
    z.object({
      source: z.string(),
      namespace: z.string(),
      name: z.string(),
      keys: z.array(z.string()),
      type: z.string().optional(),
    }),
  ),
});
const deviationsSchema = z.array(
  z.object({
    workload: z.string().regex(/^[^/]+\/[^/]+$/, 'expected namespace/name'),
    field: z.enum(['kind', 'serviceAccount', 'image', 'ports', 'env', 'args', 'command', 'rbac', 'containers', 'workload']),
    value: z.string().optional(),
    reason: z.string().min(1),
    source: z.string().optional(),
    when: z.string().min(1).optional(),
  }),
);

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function describeIssues(path: string, error: z.ZodError): Error {
  const first = error.issues.at(0);
  const where = first ? first.path.map(String).join('.') : '';
  return new Error(`${path} is not in the expected format: ${where ? `${where}: ` : ''}${first?.message ?? 'invalid'}`);
}

/** Parses and checks a facts object (e.g. read from `facts/upstream.json`); throws a one-line Error when malformed. */
export function parseFacts(value: unknown, what = 'facts'): Facts {
  const result = factsSchema.safeParse(value);
  if (!result.success) throw describeIssues(what, result.error);
  return result.data;
}

/** Reads `facts/upstream.json` (or another facts file); throws a one-line Error when unreadable or malformed. */
export function loadFacts(path: string): Facts {
  return parseFacts(readJson(path), path);
}

/** Reads `facts/deviations.json`; throws a one-line Error when unreadable or malformed. */
export function loadDeviations(path: string): Deviation[] {
  const result = deviationsSchema.safeParse(readJson(path));
  if (!result.success) throw describeIssues(path, result.error);
  return result.data;
}

// ---------------------------------------------------------------------------------------------------------------
// Extraction (shared with tools/facts)
// ---------------------------------------------------------------------------------------------------------------

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Replaces an embedded script (multi-line, or longer than 256 characters) by a stable placeholder. */
export function normalizeArg(arg: string): string {
  if (!arg.includes('\n') && arg.length <= 256) return arg;
  const digest = createHash('sha256').update(arg).digest('hex').slice(0, 12);
  return `<script ${arg.length} chars sha256:${digest}>`;
}

function envFact(raw: unknown): EnvFact | undefined {
  const e = asRecord(raw);
  const name = str(e?.['name']);
  if (!e || !name) return undefined;
  const from = asRecord(e['valueFrom']);
  if (!from) return { name, from: 'value' };
  const cm = asRecord(from['configMapKeyRef']);
  if (cm) return { name, from: 'configMapKeyRef', ref: str(cm['name']) ?? '', key: str(cm['key']) ?? '' };
  const secret = asRecord(from['secretKeyRef']);
  if (secret) return { name, from: 'secretKeyRef', ref: str(secret['name']) ?? '', key: str(secret['key']) ?? '' };
  const field = asRecord(from['fieldRef']);
  if (field) return { name, from: 'fieldRef', key: str(field['fieldPath']) ?? '' };
  const resource = asRecord(from['resourceFieldRef']);
  if (resource) return { name, from: 'resourceFieldRef', key: str(resource['resource']) ?? '' };
  return { name, from: 'value' };
}

function envFromFact(raw: unknown): EnvFromFact | undefined {
  const e = asRecord(raw);
  if (!e) return undefined;
  const prefix = str(e['prefix']);
  const cm = asRecord(e['configMapRef']);
  const secret = asRecord(e['secretRef']);
  const extra = prefix ? { prefix } : {};
  if (cm) return { from: 'configMapRef', ref: str(cm['name']) ?? '', ...extra };
  if (secret) return { from: 'secretRef', ref: str(secret['name']) ?? '', ...extra };
  return undefined;
}

function containerFacts(raw: unknown): ContainerFacts | undefined {
  const c = asRecord(raw);
  const name = str(c?.['name']);
  if (!c || !name) return undefined;
  const ports: PortFact[] = [];
  for (const p of asArray(c['ports'])) {
    const rec = asRecord(p);
    if (!rec || typeof rec['containerPort'] !== 'number') continue;
    const portName = str(rec['name']);
    ports.push({ containerPort: rec['containerPort'], ...(portName ? { name: portName } : {}), protocol: str(rec['protocol']) ?? 'TCP' });
  }
  ports.sort((a, b) => a.containerPort - b.containerPort || compareStrings(a.name ?? '', b.name ?? ''));
  const env = asArray(c['env'])
    .map(envFact)
    .filter((e): e is EnvFact => e !== undefined)
    .sort((a, b) => compareStrings(a.name, b.name));
  // envFrom keeps its order: a later entry wins when keys overlap.
  const envFrom = asArray(c['envFrom'])
    .map(envFromFact)
    .filter((e): e is EnvFromFact => e !== undefined);
  const strings = (v: unknown): string[] => asArray(v).map((x) => normalizeArg(String(x)));
  return {
    name,
    image: str(c['image']) ?? '',
    command: strings(c['command']),
    args: strings(c['args']),
    ports,
    env,
    envFrom,
  };
}

/** A pod spec's containers with their JSON paths, for messages. */
interface LocatedContainer {
  readonly facts: ContainerFacts;
  readonly path: string;
}

interface ExtractedWorkload {
  readonly facts: WorkloadFacts;
  readonly located: ReadonlyMap<string, LocatedContainer>;
}

function podSpec(o: K8sObject): Record<string, unknown> | undefined {
  return asRecord(asRecord(asRecord(o['spec'])?.['template'])?.['spec']);
}

function extractWorkload(o: K8sObject, objects: readonly K8sObject[], source: string): ExtractedWorkload {
  const spec = podSpec(o) ?? {};
  const namespace = o.metadata.namespace ?? 'default';
  const serviceAccount = str(spec['serviceAccountName']) ?? str(spec['serviceAccount']) ?? 'default';
  const located = new Map<string, LocatedContainer>();
  const collect = (field: 'containers' | 'initContainers'): ContainerFacts[] => {
    const out: ContainerFacts[] = [];
    asArray(spec[field]).forEach((raw, i) => {
      const facts = containerFacts(raw);
      if (!facts) return;
      out.push(facts);
      located.set(facts.name, { facts, path: `spec.template.spec.${field}[${i}]` });
    });
    return out.sort((a, b) => compareStrings(a.name, b.name));
  };
  const containers = collect('containers');
  const initContainers = collect('initContainers');
  return {
    facts: {
      source,
      namespace,
      kind: o.kind,
      name: o.metadata.name,
      serviceAccount,
      containers,
      initContainers,
      rbac: serviceAccountPermissions(objects, { namespace, name: serviceAccount }),
    },
    located,
  };
}

function isWorkload(o: K8sObject): boolean {
  return WORKLOAD_KINDS.includes(o.kind) && podSpec(o) !== undefined;
}

/**
 * Facts of every workload among `objects` (RBAC resolved against the same objects), sorted by namespace and name.
 * Used by the facts tool on an upstream render and by {@link checkFidelity} on kfkit's output.
 */
export function extractWorkloadFacts(objects: readonly K8sObject[], source: string): WorkloadFacts[] {
  return objects
    .filter(isWorkload)
    .map((o) => extractWorkload(o, objects, source).facts)
    .sort((a, b) => compareStrings(`${a.namespace}/${a.name}/${a.kind}`, `${b.namespace}/${b.name}/${b.kind}`));
}

// ---------------------------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------------------------

/** An image reference split into parts, Docker Hub shortnames expanded (`mysql` → `docker.io/library/mysql`). */
export interface ImageRef {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

function splitImage(ref: string, defaultRegistry: string | undefined): ImageRef {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  let registry: string;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (defaultRegistry === undefined && slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    rest = rest.slice(slash + 1);
  } else {
    registry = defaultRegistry ?? 'docker.io';
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !rest.includes('/')) rest = `library/${rest}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Parses an image reference; Docker Hub shortnames are expanded and a missing tag means `latest`. */
export function parseImageRef(ref: string): ImageRef {
  return splitImage(ref, undefined);
}

function sameImage(a: ImageRef, b: ImageRef): boolean {
  if (a.registry !== b.registry || a.repository !== b.repository || a.tag !== b.tag) return false;
  return a.digest === undefined || b.digest === undefined || a.digest === b.digest;
}

/**
 * Whether kfkit's image is upstream's: same registry, repository and tag after expanding Docker Hub shortnames
 * (`mysql:8.4` equals `docker.io/library/mysql:8.4`); digests must agree when both pin one. With a `mirror`, kfkit's
 * image may carry that prefix instead of the upstream registry (`registry.corp/library/mysql:8.4`,
 * `registry.corp/kubeflow/kfp-api-server:2.17.0`) or in front of it (`registry.corp/ghcr.io/kubeflow/...`).
 */
export function imagesMatch(kfkit: string, upstream: string, mirror?: string): boolean {
  const up = parseImageRef(upstream);
  if (sameImage(parseImageRef(kfkit), up)) return true;
  const prefix = mirror?.replace(/\/+$/, '');
  if (!prefix || !kfkit.startsWith(`${prefix}/`)) return false;
  const rest = kfkit.slice(prefix.length + 1);
  return sameImage(parseImageRef(rest), up) || sameImage(splitImage(rest, up.registry), up);
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------------------------

interface Difference {
  readonly field: DeviationField;
  readonly value: string;
  readonly path?: string;
  readonly message: string;
}

function portKey(p: PortFact): string {
  return p.name ? `${p.containerPort}/${p.name}` : String(p.containerPort);
}

function envKeys(c: ContainerFacts): string[] {
  return [...c.env.map((e) => e.name), ...c.envFrom.map((e) => `envFrom:${e.from}/${e.ref}`)];
}

function setDiff(have: readonly string[], want: readonly string[]): { missing: string[]; extra: string[] } {
  const h = new Set(have);
  const w = new Set(want);
  return {
    missing: [...w].filter((x) => !h.has(x)).sort(),
    extra: [...h].filter((x) => !w.has(x)).sort(),
  };
}

/**
 * Whether two argument lists are the same. An argument that is an image reference (`--executor-image
 * quay.io/argoproj/argoexec:v4.0.5`) also matches its registry-mirrored and its digest-pinned form (the image lock).
 */
function sameList(a: readonly string[], b: readonly string[], mirror?: string): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i] || (looksLikeImage(b[i] ?? '') && imagesMatch(x, b[i] ?? '', mirror)));
}

function looksLikeImage(arg: string): boolean {
  return /^[a-z0-9.-]+\.[a-z]{2,}(:\d+)?\/[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(arg);
}

function compareWorkload(
  mine: ExtractedWorkload,
  up: WorkloadFacts,
  upLabel: string,
  mirror: string | undefined,
): Difference[] {
  const out: Difference[] = [];
  const m = mine.facts;
  if (m.kind !== up.kind) {
    out.push({ field: 'kind', value: m.kind, message: `kind: ${m.kind}, upstream ${upLabel} has ${up.kind}` });
  }
  if (m.serviceAccount !== up.serviceAccount) {
    out.push({
      field: 'serviceAccount',
      value: m.serviceAccount,
      path: 'spec.template.spec.serviceAccountName',
      message: `serviceAccount: ${m.serviceAccount}, upstream ${upLabel} has ${up.serviceAccount}`,
    });
  }
  const groups: [string, readonly ContainerFacts[], readonly ContainerFacts[]][] = [
    ['container', m.containers, up.containers],
    ['init container', m.initContainers, up.initContainers],
  ];
  for (const [label, mineList, upList] of groups) {
    const mineNames = new Set(mineList.map((c) => c.name));
    const upNames = new Set(upList.map((c) => c.name));
    for (const c of upList) {
      if (!mineNames.has(c.name)) {
        out.push({ field: 'containers', value: c.name, message: `containers: ${label} ${c.name} is missing (upstream ${upLabel} has it)` });
      }
    }
    for (const c of mineList) {
      if (!upNames.has(c.name)) {
        out.push({
          field: 'containers',
          value: c.name,
          path: mine.located.get(c.name)?.path,
          message: `containers: extra ${label} ${c.name} (not in upstream ${upLabel})`,
        });
      }
    }
    for (const u of upList) {
      const c = mineList.find((x) => x.name === u.name);
      if (!c) continue;
      const base = mine.located.get(c.name)?.path;
      const at = (sub: string): string | undefined => (base ? `${base}.${sub}` : undefined);
      if (!imagesMatch(c.image, u.image, mirror)) {
        out.push({
          field: 'image',
          value: c.name,
          path: at('image'),
          message: `image: ${label} ${c.name} runs ${c.image}, upstream ${upLabel} has ${u.image}`,
        });
      }
      const ports = setDiff(c.ports.map(portKey), u.ports.map(portKey));
      for (const p of ports.missing) {
        out.push({ field: 'ports', value: p, path: at('ports'), message: `ports: ${label} ${c.name} lacks port ${p} (upstream ${upLabel} has it)` });
      }
      for (const p of ports.extra) {
        out.push({ field: 'ports', value: p, path: at('ports'), message: `ports: ${label} ${c.name} has extra port ${p} (not in upstream ${upLabel})` });
      }
      const env = setDiff(envKeys(c), envKeys(u));
      for (const e of env.missing) {
        out.push({ field: 'env', value: e, path: at('env'), message: `env: ${label} ${c.name} lacks ${e} (upstream ${upLabel} has it)` });
      }
      for (const e of env.extra) {
        out.push({ field: 'env', value: e, path: at('env'), message: `env: ${label} ${c.name} has extra ${e} (not in upstream ${upLabel})` });
      }
      for (const field of ['command', 'args'] as const) {
        if (!sameList(c[field], u[field], mirror)) {
          out.push({
            field,
            value: c.name,
            path: at(field),
            message: `${field}: ${label} ${c.name} has ${JSON.stringify(c[field])}, upstream ${upLabel} has ${JSON.stringify(u[field])}`,
          });
        }
      }
    }
  }
  const rbac = setDiff(m.rbac, up.rbac);
  const sa = `ServiceAccount ${m.namespace}/${m.serviceAccount}`;
  for (const p of rbac.missing) {
    out.push({ field: 'rbac', value: p, message: `rbac: ${sa} lacks "${p}" (upstream ${upLabel} grants it)` });
  }
  for (const p of rbac.extra) {
    out.push({ field: 'rbac', value: p, message: `rbac: ${sa} has extra "${p}" (not in upstream ${upLabel})` });
  }
  return out;
}

function covers(d: Deviation, workload: string, source: string, diff: Difference): boolean {
  return (
    d.workload === workload &&
    d.field === diff.field &&
    (d.value === undefined || d.value === diff.value) &&
    (d.source === undefined || d.source === source)
  );
}

function objectId(o: { kind: string; namespace?: string; name: string }): string {
  return o.namespace ? `${o.kind}/${o.namespace}/${o.name}` : `${o.kind}/${o.name}`;
}

function describeDeviation(d: Deviation): string {
  return `${d.field}${d.value !== undefined ? ` ${JSON.stringify(d.value)}` : ''}`;
}

/**
 * Compares kfkit's workloads with the upstream facts (rule `fidelity`).
 *
 * A synthesized Deployment/StatefulSet/DaemonSet matches the facts workload of the same namespace and name (kind
 * may differ; that is a difference like any other). Every difference not covered by a deviation is a finding; every
 * deviation of a compared (or required) workload that covers no difference is a `stale deviation` finding (for a
 * deviation limited to a `source`, only when the workload was compared with that source), and so is
 * one naming no upstream workload at all. Synthesized workloads without upstream counterpart are kfkit's own and
 * not reported. With `options.sources`, every workload of those sources must be installed.
 */
export function checkFidelity(
  objects: readonly PlacedObject[],
  facts: Facts,
  deviations: readonly Deviation[],
  options: FidelityOptions = {},
): Finding[] {
  const manifests = objects.map((p) => p.manifest);
  const inScope = (w: WorkloadFacts): boolean => !options.sources || options.sources.includes(w.source);
  const sourceOrder = (s: string): number => {
    const i = options.sources?.indexOf(s) ?? -1;
    return i >= 0 ? i : Number.MAX_SAFE_INTEGER;
  };
  const candidatesByKey = new Map<string, WorkloadFacts[]>();
  for (const w of facts.workloads) {
    if (!inScope(w)) continue;
    const key = `${w.namespace}/${w.name}`;
    candidatesByKey.set(key, [...(candidatesByKey.get(key) ?? []), w]);
  }
  const sourceInfo = new Map(Object.entries(facts.sources));
  const label = (w: WorkloadFacts): string => {
    const info = sourceInfo.get(w.source);
    return info ? `${w.source} ${info.version}` : w.source;
  };

  const findings: Finding[] = [];
  const used = new Set<Deviation>();
  const evaluated = new Set<string>();
  const synthesizedIds = new Map<string, string>();
  /** The facts source each synthesized workload was compared with. */
  const comparedSource = new Map<string, string>();

  for (const o of manifests) {
    if (!isWorkload(o)) continue;
    const mine = extractWorkload(o, manifests, 'kfkit');
    const key = `${mine.facts.namespace}/${mine.facts.name}`;
    const candidates = candidatesByKey.get(key);
    if (!candidates) continue;
    const id = objectId({ kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });
    synthesizedIds.set(key, id);
    evaluated.add(key);
    let best: { up: WorkloadFacts; open: Difference[]; covered: Set<Deviation> } | undefined;
    const ordered = [...candidates].sort(
      (a, b) => sourceOrder(a.source) - sourceOrder(b.source) || compareStrings(a.source, b.source),
    );
    for (const up of ordered) {
      const covered = new Set<Deviation>();
      const open: Difference[] = [];
      for (const diff of compareWorkload(mine, up, label(up), options.mirror)) {
        const ds = deviations.filter((d) => covers(d, key, up.source, diff));
        if (ds.length === 0) open.push(diff);
        for (const d of ds) covered.add(d);
      }
      if (!best || open.length < best.open.length) best = { up, open, covered };
    }
    if (!best) continue;
    comparedSource.set(key, best.up.source);
    for (const d of best.covered) used.add(d);
    for (const diff of best.open) {
      findings.push({ rule: FIDELITY_RULE, object: id, ...(diff.path ? { path: diff.path } : {}), message: diff.message });
    }
  }

  if (options.sources) {
    for (const [key, candidates] of [...candidatesByKey.entries()].sort(([a], [b]) => compareStrings(a, b))) {
      if (evaluated.has(key)) continue;
      const required = candidates.filter((w) => options.sources?.includes(w.source));
      const up = required.at(0);
      if (!up) continue;
      evaluated.add(key);
      const waived = deviations.filter(
        (d) => d.workload === key && d.field === 'workload' && required.some((w) => d.source === undefined || d.source === w.source),
      );
      if (waived.length > 0) {
        for (const d of waived) used.add(d);
        continue;
      }
      findings.push({
        rule: FIDELITY_RULE,
        object: objectId(up),
        message: `upstream workload ${key} is not installed (${up.kind} of ${label(up)})`,
      });
    }
  }

  const known = new Set(facts.workloads.map((w) => `${w.namespace}/${w.name}`));
  for (const d of deviations) {
    if (used.has(d) || d.when !== undefined) continue;
    if (!known.has(d.workload)) {
      findings.push({
        rule: FIDELITY_RULE,
        object: `Deviation/${d.workload}`,
        message: `stale deviation: ${describeDeviation(d)} names no upstream workload ${d.workload}; fix or remove it in facts/deviations.json`,
      });
    } else if (evaluated.has(d.workload) && [undefined, d.source].includes(d.source === undefined ? undefined : comparedSource.get(d.workload))) {
      // A deviation limited to one source is only stale when the workload was compared with that source (a
      // PostgreSQL-variant deviation says nothing about a MySQL platform).
      findings.push({
        rule: FIDELITY_RULE,
        object: synthesizedIds.get(d.workload) ?? `Deviation/${d.workload}`,
        message: `stale deviation: ${describeDeviation(d)} of ${d.workload} matches no difference from upstream; remove it from facts/deviations.json`,
      });
    }
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------------------------
// Documentation
// ---------------------------------------------------------------------------------------------------------------

function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * The deviations as a Markdown table (workload, field, value, reason) for the README, sorted by workload, field and
 * value; a one-line sentence when there are none. Ends with a newline.
 */
export function deviationsMarkdown(deviations: readonly Deviation[]): string {
  if (deviations.length === 0) return 'kfkit has no documented deviations from upstream.\n';
  const rows = [...deviations].sort(
    (a, b) =>
      compareStrings(a.workload, b.workload) || compareStrings(a.field, b.field) || compareStrings(a.value ?? '', b.value ?? ''),
  );
  const lines = ['| Workload | Field | Value | Reason |', '| --- | --- | --- | --- |'];
  for (const d of rows) {
    const workload = d.source ? `${d.workload} (${d.source})` : d.workload;
    const value = d.value !== undefined ? `\`${cell(d.value)}\`` : '(all)';
    const reason = d.when !== undefined ? `${d.reason} (Only when ${d.when}.)` : d.reason;
    lines.push(`| ${cell(workload)} | ${d.field} | ${value} | ${cell(reason)} |`);
  }
  return `${lines.join('\n')}\n`;
}
