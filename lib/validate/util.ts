/**
 * Helpers shared by the harness checks: object identity, paths, scopes and pod templates.
 */
import { Finding, K8sObject, PlacedObject } from './types';

/** A path inside an object: property names and array indices. */
export type PathSegment = string | number;

/** Narrows a value to a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value as a record, or `undefined`. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return isRecord(value) ? value : undefined;
}

/** The value as an array, or an empty array. */
export function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The value as a string, or `undefined`. */
export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Reads a nested value, e.g. `getIn(obj, ['spec', 'template'])`. */
export function getIn(value: unknown, path: readonly PathSegment[]): unknown {
  let current = value;
  for (const segment of path) {
    if (typeof segment === 'number') {
      if (!Array.isArray(current)) return undefined;
      current = current[segment];
    } else {
      if (!isRecord(current)) return undefined;
      current = current[segment];
    }
  }
  return current;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Renders path segments as `spec.template.spec.containers[0].image` (odd keys as `annotations["a.b/c"]`). */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Converts a JSON pointer (ajv `instancePath`, e.g. `/spec/ports/0/port`) into path segments, using the object to
 * tell array indices from map keys that look like numbers.
 */
export function pointerToPath(root: unknown, pointer: string): PathSegment[] {
  if (pointer === '') return [];
  const out: PathSegment[] = [];
  let current: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current) && /^\d+$/.test(key)) {
      const index = Number(key);
      out.push(index);
      current = current[index];
    } else {
      out.push(key);
      current = isRecord(current) ? current[key] : undefined;
    }
  }
  return out;
}

/** The API group of an apiVersion (`apps/v1` → `apps`, `v1` → ``). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The version of an apiVersion (`apps/v1` → `v1`). */
export function apiVersionOnly(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

/** API groups built into Kubernetes; objects of any other group are custom resources. */
export const BUILT_IN_GROUPS: ReadonlySet<string> = new Set([
  '', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io', 'apps', 'authentication.k8s.io',
  'authorization.k8s.io', 'autoscaling', 'batch', 'certificates.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io',
  'events.k8s.io', 'extensions', 'flowcontrol.apiserver.k8s.io', 'internal.apiserver.k8s.io', 'networking.k8s.io',
  'node.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'resource.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io',
  'storagemigration.k8s.io',
]);

/** Whether an apiVersion belongs to a built-in Kubernetes API group. */
export function isBuiltInApiVersion(apiVersion: string): boolean {
  return BUILT_IN_GROUPS.has(apiGroup(apiVersion));
}

/** Built-in kinds that are cluster-scoped (every other built-in kind is namespaced). */
const CLUSTER_SCOPED_BUILT_INS: ReadonlySet<string> = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'ComponentStatus',
  'ClusterRole', 'ClusterRoleBinding',
  'CustomResourceDefinition', 'APIService',
  'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy', 'MutatingAdmissionPolicyBinding',
  'StorageClass', 'CSIDriver', 'CSINode', 'VolumeAttachment', 'VolumeAttributesClass',
  'PriorityClass', 'RuntimeClass', 'IngressClass', 'IPAddress', 'ServiceCIDR',
  'CertificateSigningRequest', 'ClusterTrustBundle',
  'FlowSchema', 'PriorityLevelConfiguration', 'StorageVersion', 'StorageVersionMigration',
  'TokenReview', 'SelfSubjectReview', 'SubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview',
  'PodSecurityPolicy', 'DeviceClass', 'ResourceSlice',
]);

/** Scope of a kind. */
export type Scope = 'Namespaced' | 'Cluster';

/** The scope of a built-in kind. */
export function builtInScope(kind: string): Scope {
  return CLUSTER_SCOPED_BUILT_INS.has(kind) ? 'Cluster' : 'Namespaced';
}

/** `Kind/namespace/name`, or `Kind/name` for objects without a namespace. */
export function objectId(manifest: K8sObject): string {
  const { name, namespace } = manifest.metadata;
  return namespace ? `${manifest.kind}/${namespace}/${name}` : `${manifest.kind}/${name}`;
}

/** Builds a finding about `placed`. */
export function finding(rule: string, placed: PlacedObject, path: readonly PathSegment[] | string | undefined, message: string): Finding {
  const rendered = typeof path === 'string' ? path : path === undefined ? undefined : formatPath(path);
  return rendered ? { rule, object: objectId(placed.manifest), path: rendered, message } : { rule, object: objectId(placed.manifest), message };
}

/** Where an object came from and which wave it is in, for messages: `wave 3 (controllers), from a/b.yaml`. */
export function describePlacement(placed: PlacedObject): string {
  const where = `wave ${placed.wave} (${placed.waveName})`;
  return placed.source ? `${where}, from ${placed.source}` : where;
}

/** A pod template inside a workload. */
export interface PodTemplate {
  /** Path of the pod spec, e.g. `['spec', 'template', 'spec']`. */
  readonly specPath: readonly PathSegment[];
  /** The pod spec. */
  readonly spec: Record<string, unknown>;
  /** Labels of the pods. */
  readonly labels: Readonly<Record<string, string>>;
}

const TEMPLATE_PATHS: Readonly<Partial<Record<string, readonly PathSegment[]>>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  PodTemplate: ['template'],
};

const WORKLOAD_GROUPS: ReadonlySet<string> = new Set(['', 'apps', 'batch', 'extensions']);

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const record = asRecord(value);
  if (!record) return out;
  for (const [key, entry] of Object.entries(record)) if (typeof entry === 'string') out[key] = entry;
  return out;
}

/** The pod template of a built-in workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, …). */
export function podTemplateOf(manifest: K8sObject): PodTemplate | undefined {
  if (!WORKLOAD_GROUPS.has(apiGroup(manifest.apiVersion))) return undefined;
  if (manifest.kind === 'Pod') {
    const spec = asRecord(manifest.spec);
    return spec ? { specPath: ['spec'], spec, labels: stringMap(manifest.metadata.labels) } : undefined;
  }
  const templatePath = TEMPLATE_PATHS[manifest.kind];
  if (!templatePath) return undefined;
  const template = asRecord(getIn(manifest, templatePath));
  const spec = asRecord(template?.spec);
  if (!template || !spec) return undefined;
  return { specPath: [...templatePath, 'spec'], spec, labels: stringMap(getIn(template, ['metadata', 'labels'])) };
}

/** A container of a pod spec. */
export interface ContainerRef {
  readonly path: readonly PathSegment[];
  readonly container: Record<string, unknown>;
  readonly field: 'containers' | 'initContainers' | 'ephemeralContainers';
}

/** Containers of a pod template (`containers`, `initContainers`, and `ephemeralContainers` when asked). */
export function containersOf(template: PodTemplate, includeEphemeral = false): ContainerRef[] {
  const fields: ContainerRef['field'][] = includeEphemeral
    ? ['initContainers', 'containers', 'ephemeralContainers']
    : ['initContainers', 'containers'];
  const out: ContainerRef[] = [];
  for (const field of fields) {
    asArray(template.spec[field]).forEach((container, index) => {
      if (isRecord(container)) out.push({ path: [...template.specPath, field, index], container, field });
    });
  }
  return out;
}

/** Compares strings by UTF-16 code units (locale-independent, deterministic). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
