/**
 * Rule `webhook-order`: an admission webhook is serving before the objects it intercepts are created.
 *
 * kfkit installs waves in order and waits for rollouts between waves, so an object is only guaranteed to go through
 * a webhook when it is in a strictly later wave than the workloads serving that webhook. Otherwise, with
 * `failurePolicy: Fail` the object is rejected until the webhook serves; with `Ignore` it is admitted unmutated or
 * unvalidated.
 */
import { Catalog, catalogOf, refKey } from './catalog';
import { Finding, HarnessInput, PlacedObject } from './types';
import {
  apiGroup, apiVersionOnly, asArray, asRecord, asString, describePlacement, finding, isRecord, objectId, podTemplateOf, Scope,
} from './util';

/** Rule id of {@link checkWebhookOrder}. */
export const WEBHOOK_ORDER_RULE = 'webhook-order';

/** Label the API server sets on every Namespace. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const ADMISSION_GROUP = 'admissionregistration.k8s.io';
const WEBHOOK_CONFIGURATION_KINDS: ReadonlySet<string> = new Set(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']);

/** Admission objects the API server never sends to admission webhooks (so that webhooks cannot lock themselves in). */
const NEVER_INTERCEPTED_KINDS: ReadonlySet<string> = new Set([
  ...WEBHOOK_CONFIGURATION_KINDS, 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding', 'MutatingAdmissionPolicy',
  'MutatingAdmissionPolicyBinding',
]);

/** Kinds whose resource name is not the regular plural of the lowercased kind. */
const IRREGULAR_RESOURCES: Readonly<Partial<Record<string, string>>> = {
  Endpoints: 'endpoints',
  PodMetrics: 'pods',
  NodeMetrics: 'nodes',
};

/**
 * The resource name of a kind, as it appears in webhook and RBAC rules: lowercased and pluralised simply
 * (`Deployment` → `deployments`, `NetworkPolicy` → `networkpolicies`, `Ingress` → `ingresses`), with a table of
 * irregular kinds (`Endpoints` → `endpoints`).
 */
export function resourceOfKind(kind: string): string {
  const irregular = IRREGULAR_RESOURCES[kind];
  if (irregular !== undefined) return irregular;
  const lower = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** Whether a label selector (`matchLabels`, `matchExpressions` with In/NotIn/Exists/DoesNotExist) is empty. */
function isEmptySelector(selector: unknown): boolean {
  const record = asRecord(selector);
  if (!record) return true;
  const matchLabels = asRecord(record.matchLabels);
  return (!matchLabels || Object.keys(matchLabels).length === 0) && asArray(record.matchExpressions).length === 0;
}

/**
 * Whether a label selector matches labels. An absent or empty selector matches everything; an unknown operator
 * matches nothing (the API server would reject the configuration).
 */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  const record = asRecord(selector);
  if (!record) return true;
  const matchLabels = asRecord(record.matchLabels) ?? {};
  if (!Object.entries(matchLabels).every(([key, value]) => labels[key] === value)) return false;
  return asArray(record.matchExpressions).every((e) => {
    const expression = asRecord(e);
    const key = asString(expression?.key);
    if (!expression || key === undefined) return false;
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const values = asArray(expression.values);
    switch (expression.operator) {
      case 'In': return has && values.includes(labels[key]);
      case 'NotIn': return !has || !values.includes(labels[key]);
      case 'Exists': return has;
      case 'DoesNotExist': return !has;
      default: return false;
    }
  });
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(value)) return out;
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry;
  return out;
}

/** An object (or the pods a workload creates) as an admission request would describe it. */
interface Candidate {
  readonly placed: PlacedObject;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly scope: Scope;
  /** Namespace of a namespaced object (`''` when unset). */
  readonly namespace: string;
  /** Labels objectSelector is evaluated against (a workload's pod template labels for its pods). */
  readonly labels: Readonly<Record<string, string>>;
  /** Whether this stands for the pods a workload creates rather than the object itself. */
  readonly viaPods: boolean;
}

/** A workload that can back a webhook Service. */
interface Workload {
  readonly placed: PlacedObject;
  readonly labels: Readonly<Record<string, string>>;
}

/** The harness input indexed for webhook matching. */
interface WebhookIndex {
  readonly all: readonly Candidate[];
  /** Candidates by resource name. */
  readonly byResource: ReadonlyMap<string, readonly Candidate[]>;
  /** Labels of the Namespaces of the input (with the implicit name label), by name. */
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Pod-creating workloads by namespace. */
  readonly workloads: ReadonlyMap<string, readonly Workload[]>;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function isNamespace(placed: PlacedObject): boolean {
  return placed.manifest.kind === 'Namespace' && placed.manifest.apiVersion === 'v1';
}

function namespaceObjectLabels(placed: PlacedObject): Record<string, string> {
  return { ...stringMap(placed.manifest.metadata.labels), [NAMESPACE_NAME_LABEL]: placed.manifest.metadata.name };
}

function resourceOf(catalog: Catalog, group: string, kind: string): string {
  const crd = catalog.crds.get(`${group}/${kind}`);
  const plural = crd ? asString(asRecord(asRecord(crd.placed.manifest.spec)?.names)?.plural) : undefined;
  return plural ?? resourceOfKind(kind);
}

function buildIndex(input: HarnessInput, catalog: Catalog): WebhookIndex {
  const all: Candidate[] = [];
  const byResource = new Map<string, Candidate[]>();
  const namespaceLabels = new Map<string, Record<string, string>>();
  const workloads = new Map<string, Workload[]>();
  const add = (candidate: Candidate): void => {
    all.push(candidate);
    push(byResource, candidate.resource, candidate);
  };
  for (const placed of input.objects) {
    const { manifest } = placed;
    const group = apiGroup(manifest.apiVersion);
    if (isNamespace(placed)) namespaceLabels.set(manifest.metadata.name, namespaceObjectLabels(placed));
    if (group === ADMISSION_GROUP && NEVER_INTERCEPTED_KINDS.has(manifest.kind)) continue;
    const scope = catalog.scopeOf(manifest.apiVersion, manifest.kind) ?? (manifest.metadata.namespace ? 'Namespaced' : 'Cluster');
    const namespace = scope === 'Namespaced' ? manifest.metadata.namespace ?? '' : '';
    const labels = isNamespace(placed) ? namespaceObjectLabels(placed) : stringMap(manifest.metadata.labels);
    add({
      placed, group, version: apiVersionOnly(manifest.apiVersion), resource: resourceOf(catalog, group, manifest.kind), scope, namespace, labels,
      viaPods: false,
    });
    const template = podTemplateOf(manifest);
    if (!template || manifest.kind === 'PodTemplate') continue;
    push(workloads, namespace, { placed, labels: template.labels });
    if (manifest.kind !== 'Pod') {
      add({ placed, group: '', version: 'v1', resource: 'pods', scope: 'Namespaced', namespace, labels: template.labels, viaPods: true });
    }
  }
  return { all, byResource, namespaceLabels, workloads };
}

function listMatches(list: readonly unknown[], value: string): boolean {
  return list.includes('*') || list.includes(value);
}

/** Candidates matched by one rule of a webhook (operation CREATE, group, version, resource, scope). */
function ruleCandidates(index: WebhookIndex, rule: Record<string, unknown>, exact: boolean): Candidate[] {
  const operations = asArray(rule.operations);
  if (!operations.includes('CREATE') && !operations.includes('*')) return [];
  const groups = asArray(rule.apiGroups);
  const versions = asArray(rule.apiVersions);
  const resources = asArray(rule.resources).filter((r): r is string => typeof r === 'string');
  const scope = asString(rule.scope) ?? '*';
  // `*` and `*/*` match every resource; `pods/*`, `*/status` and other subresource patterns never match a create.
  const pool = resources.some((r) => r === '*' || r === '*/*')
    ? index.all
    : resources.filter((r) => !r.includes('/')).flatMap((r) => index.byResource.get(r) ?? []);
  return pool.filter((c) => listMatches(groups, c.group) && (!exact || listMatches(versions, c.version)) && (scope === '*' || scope === c.scope));
}

/** Whether the namespaceSelector of a webhook lets a candidate through. */
function namespaceSelected(index: WebhookIndex, selector: unknown, candidate: Candidate): boolean {
  if (isNamespace(candidate.placed) && !candidate.viaPods) return selectorMatches(selector, candidate.labels);
  if (candidate.scope === 'Cluster') return true;
  const labels = index.namespaceLabels.get(candidate.namespace);
  return labels ? selectorMatches(selector, labels) : isEmptySelector(selector);
}

/** The workloads backing a webhook's Service, or none when the Service or its backends are not in the input. */
function backendsOf(index: WebhookIndex, catalog: Catalog, service: Record<string, unknown>): Workload[] {
  const name = asString(service.name);
  const namespace = asString(service.namespace);
  if (!name || !namespace) return [];
  const svc = catalog.objects.get(refKey('Service', namespace, name))?.find((p) => p.manifest.apiVersion === 'v1');
  const selector = stringMap(asRecord(svc?.manifest.spec)?.selector);
  if (Object.keys(selector).length === 0) return [];
  return (index.workloads.get(namespace) ?? []).filter((w) => Object.entries(selector).every(([k, v]) => w.labels[k] === v));
}

function message(config: PlacedObject, entry: string, policy: string, backend: PlacedObject, candidate: Candidate): string {
  const { placed } = candidate;
  const hook = `${config.manifest.kind}/${config.manifest.metadata.name} webhook ${entry}`;
  const subject = candidate.viaPods ? 'the pods of this workload are' : 'this object is';
  const them = candidate.viaPods ? 'its pods' : 'it';
  const action = config.manifest.kind === 'MutatingWebhookConfiguration' ? 'mutated' : 'validated';
  const configLater = config.wave > backend.wave ? ` and its configuration in ${describePlacement(config)}` : '';
  const consequence = policy === 'Ignore'
    ? `${them} may be admitted without being ${action}`
    : `the API server rejects ${them} until the webhook serves`;
  return `${subject} intercepted by ${hook} (failurePolicy ${policy}), whose workload ${objectId(backend.manifest)} is in `
    + `${describePlacement(backend)}${configLater}, but this object is in ${describePlacement(placed)}, not in a later wave: ${consequence}. `
    + `Install the webhook in an earlier wave (e.g. InstallPlan.addWave('admission', { before: [<${placed.waveName} wave>] }) `
    + 'and assign its workload, Service and configuration to it)';
}

/**
 * Rule `webhook-order`: for every webhook with a `clientConfig.service` of every Mutating/ValidatingWebhookConfiguration
 * of `admissionregistration.k8s.io`, the objects it intercepts are in a strictly later wave than the workloads backing
 * it (pod-template workloads of the Service's namespace whose pod labels match the Service's selector) and than the
 * configuration itself.
 *
 * Intercepted objects are those its `rules` match on CREATE (`*` wildcards; resource = CRD plural or the simply
 * pluralised kind, see {@link resourceOfKind}; versions compared only with `matchPolicy: Exact`; `scope`), passing its
 * `namespaceSelector` (evaluated against the labels of the object's Namespace in the input, plus
 * `kubernetes.io/metadata.name`; a Namespace outside the input only matches an empty selector; cluster-scoped objects
 * always pass, Namespaces are matched on their own labels) and its `objectSelector`. For `pods`, a pod-creating workload
 * counts, with its pod template labels. The backend workloads and webhook/admission policy configurations are never
 * intercepted. URL webhooks, and webhooks whose Service or backends are not in the input (`dangling-reference`
 * speaks), are skipped.
 */
export function checkWebhookOrder(input: HarnessInput): Finding[] {
  const configs = input.objects.filter((p) =>
    apiGroup(p.manifest.apiVersion) === ADMISSION_GROUP && WEBHOOK_CONFIGURATION_KINDS.has(p.manifest.kind));
  if (configs.length === 0) return [];
  const catalog = catalogOf(input);
  const index = buildIndex(input, catalog);
  const out: Finding[] = [];
  for (const config of configs) {
    const defaultPolicy = apiVersionOnly(config.manifest.apiVersion) === 'v1beta1' ? 'Ignore' : 'Fail';
    for (const w of asArray(config.manifest.webhooks)) {
      const webhook = asRecord(w);
      const service = asRecord(asRecord(webhook?.clientConfig)?.service);
      if (!webhook || !service) continue;
      const backends = backendsOf(index, catalog, service);
      if (backends.length === 0) continue;
      const backend = backends.reduce((latest, b) => (b.placed.wave > latest.placed.wave ? b : latest)).placed;
      const threshold = Math.max(backend.wave, config.wave);
      const excluded = new Set(backends.map((b) => b.placed));
      const exact = webhook.matchPolicy === 'Exact';
      const matched = new Map<PlacedObject, Candidate>();
      for (const rule of asArray(webhook.rules)) {
        const record = asRecord(rule);
        if (!record) continue;
        for (const candidate of ruleCandidates(index, record, exact)) {
          const { placed } = candidate;
          if (placed.wave > threshold || excluded.has(placed)) continue;
          if (!namespaceSelected(index, webhook.namespaceSelector, candidate) || !selectorMatches(webhook.objectSelector, candidate.labels)) continue;
          // One finding per object; an object intercepted itself is reported as such rather than through its pods.
          const previous = matched.get(placed);
          if (!previous || (previous.viaPods && !candidate.viaPods)) matched.set(placed, candidate);
        }
      }
      const entry = asString(webhook.name) ?? '(unnamed)';
      const policy = asString(webhook.failurePolicy) ?? defaultPolicy;
      for (const candidate of matched.values()) {
        out.push(finding(WEBHOOK_ORDER_RULE, candidate.placed, undefined, message(config, entry, policy, backend, candidate)));
      }
    }
  }
  return out;
}
