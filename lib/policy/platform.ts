/**
 * Policy `kfkit-platform`: kfkit's validation harness over the Kubernetes objects of a Pulumi stack.
 *
 * The Pulumi program applies kfkit's manifests as ConfigGroups; their children reach the policy engine as individual
 * resources (`kubernetes:apps/v1:Deployment`, …) with the manifest in their properties. This module turns them back
 * into harness input and runs the same {@link validate} as `kfkit synth` — no rule is re-implemented here.
 */
import type { StackValidationPolicy } from '@pulumi/policy';
import { ORDER_RULES, validate } from '../validate/harness';
import { ExternalApi, ExternalObject, Finding, HarnessInput, K8sObject, PlacedObject } from '../validate/types';
import { compareStrings, formatPath, objectId, PathSegment } from '../validate/util';
import { list, read, record, StackResource, UNKNOWN } from './common';

/** Name of the stack policy. */
export const PLATFORM_POLICY = 'kfkit-platform';

// A Pulumi stack has no waves (Pulumi orders by `dependsOn`): the harness's ORDER_RULES are skipped, as the cdk8s
// plugin does for manifests outside a kfkit tree.
export { ORDER_RULES };

/** What the platform policy knows besides the stack's objects (from code or the policy pack config). */
export interface PlatformPolicyOptions {
  /** Custom resource kinds served by something outside the stack (e.g. cert-manager installed by the admins). */
  readonly externalApis?: readonly ExternalApi[];
  /** Objects that exist on the cluster but are not resources of the stack (e.g. an externally managed Secret). */
  readonly externalObjects?: readonly ExternalObject[];
  /** Further harness rule ids to skip (the {@link ORDER_RULES} are always skipped). */
  readonly skipRules?: readonly string[];
}

/** The harness input of the Kubernetes objects one provider (one cluster) of the stack manages. */
export interface ClusterInput {
  /** URN of the Kubernetes provider, `undefined` for resources without one. */
  readonly provider: string | undefined;
  readonly input: HarnessInput;
  /** URN of the stack resource of each object, by `Kind/namespace/name`. */
  readonly urns: ReadonlyMap<string, string>;
  /** Objects with properties not known yet (preview): they are checked at update time instead. */
  readonly incomplete: ReadonlySet<string>;
}

/** A harness finding about a stack resource. */
export interface PlatformViolation {
  readonly finding: Finding;
  /** URN of the resource the finding is about, when it is a resource of the stack. */
  readonly urn?: string;
}

/** Wave every object of the stack is placed in (the stack has no waves). */
const STACK_WAVE = { wave: 0, waveName: 'pulumi' } as const;

/** Metadata fields the API server fills in; not part of the desired state. */
const SERVER_METADATA: ReadonlySet<string> = new Set([
  'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink',
]);

/**
 * The Pulumi type token @pulumi/kubernetes gives an object: `kubernetes:<group or core>/<version>:<Kind>`, e.g.
 * `kubernetes:core/v1:Secret`, `kubernetes:apps/v1:Deployment`, `kubernetes:argoproj.io/v1alpha1:Workflow`.
 */
export function kubernetesTypeToken(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? 'core' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return `kubernetes:${group}/${version}:${kind}`;
}

/** Whether a property is left out of the manifest: provider bookkeeping (`__inputs`, …), `status`, server metadata. */
function skipped(path: readonly PathSegment[], key: string): boolean {
  if (path.length === 0) return key === 'status' || key.startsWith('__');
  return path.length === 1 && path[0] === 'metadata' && SERVER_METADATA.has(key);
}

/** A plain copy of `value`, leaving out skipped and unknown properties (their paths are added to `unknown`). */
function plain(value: unknown, path: readonly PathSegment[], unknown: string[]): unknown {
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const item = read(value, i);
      if (item === UNKNOWN) unknown.push(formatPath([...path, i]));
      else out.push(plain(item, [...path, i], unknown));
    }
    return out;
  }
  const source = record(value);
  if (!source) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(source)) {
    if (skipped(path, key)) continue;
    const item = read(source, key);
    if (item === UNKNOWN) unknown.push(formatPath([...path, key]));
    else if (item !== undefined) out[key] = plain(item, [...path, key], unknown);
  }
  return out;
}

/**
 * The manifest of a stack resource, when it is a Kubernetes object: its type token matches its `apiVersion` and
 * `kind` (so ConfigGroups, Helm releases, `…Patch` resources and providers are not), and it has a name. The
 * provider's recorded inputs (`__inputs`) are preferred to the live object when present. `unknown` lists the
 * properties that are not known yet (preview); they are left out.
 */
export function manifestOf(resource: StackResource): { manifest: K8sObject; unknown: string[] } | undefined {
  if (!resource.type.startsWith('kubernetes:')) return undefined;
  const inputs = record(read(resource.props, '__inputs'));
  const source = inputs && typeof read(inputs, 'kind') === 'string' ? inputs : resource.props;
  const apiVersion = read(source, 'apiVersion');
  const kind = read(source, 'kind');
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || kubernetesTypeToken(apiVersion, kind) !== resource.type) return undefined;
  const unknown: string[] = [];
  const manifest = plain(source, [], unknown) as Record<string, unknown>;
  const metadata = record(manifest.metadata);
  if (typeof metadata?.name !== 'string') return undefined;
  return { manifest: manifest as unknown as K8sObject, unknown };
}

/**
 * The harness input of the stack's Kubernetes objects, one per Kubernetes provider (a stack may deploy to several
 * clusters), every object in wave 0 with kfkit's annotations as deployed.
 */
export function stackHarnessInputs(resources: readonly StackResource[], options: PlatformPolicyOptions = {}): ClusterInput[] {
  const clusters = new Map<string, { objects: PlacedObject[]; urns: Map<string, string>; incomplete: Set<string> }>();
  for (const resource of resources) {
    const found = manifestOf(resource);
    if (!found) continue;
    const key = resource.provider?.urn ?? '';
    const cluster = clusters.get(key) ?? { objects: [], urns: new Map<string, string>(), incomplete: new Set<string>() };
    clusters.set(key, cluster);
    cluster.objects.push({ manifest: found.manifest, ...STACK_WAVE, source: resource.urn });
    const id = objectId(found.manifest);
    cluster.urns.set(id, resource.urn);
    if (found.unknown.length > 0) cluster.incomplete.add(id);
  }
  return [...clusters.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([provider, c]) => ({
    provider: provider === '' ? undefined : provider,
    input: { objects: c.objects, externalApis: options.externalApis ?? [], externalObjects: options.externalObjects ?? [] },
    urns: c.urns,
    incomplete: c.incomplete,
  }));
}

/**
 * Runs the harness over the stack's Kubernetes objects (per cluster) and returns its findings, without the
 * {@link ORDER_RULES}, the `skipRules`, and findings about objects whose properties are not known yet.
 */
export function platformViolations(resources: readonly StackResource[], options: PlatformPolicyOptions = {}): PlatformViolation[] {
  const skip = new Set([...ORDER_RULES, ...options.skipRules ?? []]);
  return stackHarnessInputs(resources, options).flatMap(({ input, urns, incomplete }) => validate(input)
    .filter((f) => !skip.has(f.rule) && !incomplete.has(f.object))
    .map((finding) => {
      const urn = urns.get(finding.object);
      return urn === undefined ? { finding } : { finding, urn };
    }));
}

/** A finding as a violation message: `<rule> <object> <path>: <message>` (`<rule> <object>: <message>` without a path). */
export function formatViolation(f: Finding): string {
  return f.path ? `${f.rule} ${f.object} ${f.path}: ${f.message}` : `${f.rule} ${f.object}: ${f.message}`;
}

function strings(value: unknown, field: string): string[] {
  return list(value).map((v, i) => {
    if (typeof v !== 'string') throw new Error(`${PLATFORM_POLICY} config: ${field}[${i}] must be a string`);
    return v;
  });
}

function field(entry: Readonly<Record<string, unknown>>, name: string, where: string, optional: boolean): string | undefined {
  const value = entry[name];
  if (value === undefined && optional) return undefined;
  if (typeof value !== 'string' || value === '') throw new Error(`${PLATFORM_POLICY} config: ${where}.${name} must be a non-empty string`);
  return value;
}

/**
 * Reads the policy's configuration (`pulumi preview --policy-pack ./policy --policy-pack-config config.json`):
 * `externalObjects` ({ apiVersion, kind, name, namespace?, reason? }), `externalApis` ({ group, kind, versions,
 * providedBy? }) and `skipRules`. Throws on a malformed entry.
 */
export function platformPolicyConfig(config: unknown): PlatformPolicyOptions {
  const c = record(config) ?? {};
  const externalObjects = list(c.externalObjects).map((e, i): ExternalObject => {
    const where = `externalObjects[${i}]`;
    const entry = record(e);
    if (!entry) throw new Error(`${PLATFORM_POLICY} config: ${where} must be an object`);
    const namespace = field(entry, 'namespace', where, true);
    return {
      apiVersion: field(entry, 'apiVersion', where, false) ?? '',
      kind: field(entry, 'kind', where, false) ?? '',
      name: field(entry, 'name', where, false) ?? '',
      ...namespace === undefined ? {} : { namespace },
      reason: field(entry, 'reason', where, true) ?? 'declared in the policy pack config',
    };
  });
  const externalApis = list(c.externalApis).map((e, i): ExternalApi => {
    const where = `externalApis[${i}]`;
    const entry = record(e);
    if (!entry) throw new Error(`${PLATFORM_POLICY} config: ${where} must be an object`);
    return {
      group: field(entry, 'group', where, false) ?? '',
      kind: field(entry, 'kind', where, false) ?? '',
      versions: strings(entry.versions, `${where}.versions`),
      providedBy: field(entry, 'providedBy', where, true) ?? 'declared in the policy pack config',
    };
  });
  return { externalObjects, externalApis, skipRules: strings(c.skipRules, 'skipRules') };
}

const STRING = { type: 'string' } as const;

/**
 * The stack policy `kfkit-platform` (mandatory): every harness finding on the stack's Kubernetes objects is a
 * violation, reported on the object's resource. `options` are merged with the policy pack config.
 */
export function platformPolicy(options: PlatformPolicyOptions = {}): StackValidationPolicy {
  return {
    name: PLATFORM_POLICY,
    description: 'Kubernetes objects pass kfkit\'s validation harness (schema, references, resources, pinned images, no secret values, …).',
    enforcementLevel: 'mandatory',
    remediationSteps: 'Fix the object as the message says; `kfkit synth` reports the same findings with the construct that made the object.',
    configSchema: {
      properties: {
        externalObjects: {
          type: 'array',
          items: { type: 'object', required: ['apiVersion', 'kind', 'name'], properties: { apiVersion: STRING, kind: STRING, name: STRING, namespace: STRING, reason: STRING } },
        },
        externalApis: {
          type: 'array',
          items: { type: 'object', required: ['group', 'kind', 'versions'], properties: { group: STRING, kind: STRING, versions: { type: 'array', items: STRING }, providedBy: STRING } },
        },
        skipRules: { type: 'array', items: STRING },
      },
    },
    validateStack: (args, reportViolation) => {
      const config = platformPolicyConfig(args.getConfig<Record<string, unknown>>());
      const merged: PlatformPolicyOptions = {
        externalObjects: [...options.externalObjects ?? [], ...config.externalObjects ?? []],
        externalApis: [...options.externalApis ?? [], ...config.externalApis ?? []],
        skipRules: [...options.skipRules ?? [], ...config.skipRules ?? []],
      };
      for (const { finding, urn } of platformViolations(args.resources, merged)) reportViolation(formatViolation(finding), urn);
    },
  };
}
