/**
 * Effective RBAC permissions of a ServiceAccount, computed from plain manifests.
 *
 * Shared by the fidelity check (kfkit's synthesized objects) and the upstream facts tool (an upstream render), so
 * both sides are written in the same vocabulary: one string per permission, `verb resource.group`.
 *
 * - The core API group is written `core`: `get pods.core`, `get pods/log.core`.
 * - A rule restricted by `resourceNames` gives one permission per name: `get configmaps.core#kfp-launcher`.
 * - Wildcards stay as written: `* *.*`, `get *.argoproj.io`.
 * - Non-resource URLs are written `verb /path`: `get /metrics`.
 *
 * Only `ServiceAccount` subjects count: grants to groups such as `system:authenticated` reach every identity and are
 * not part of a workload's own permission set. A RoleBinding's ServiceAccount subject without a namespace means the
 * binding's namespace, as the API server reads it. ClusterRoles with an `aggregationRule` include the rules of the
 * ClusterRoles (among the given objects) whose labels match.
 */
import type { K8sObject } from './types';

/** A PolicyRule as it appears in a Role or ClusterRole. */
export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly verbs?: readonly string[];
}

/** A ServiceAccount, by namespace and name. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

function isRbac(o: K8sObject, kind: string): boolean {
  return o.kind === kind && typeof o.apiVersion === 'string' && o.apiVersion.startsWith(`${RBAC_GROUP}/`);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function rulesOf(o: K8sObject): PolicyRule[] {
  const rules = o['rules'];
  if (!Array.isArray(rules)) return [];
  return rules.map((r) => {
    const rec = asRecord(r) ?? {};
    return {
      apiGroups: stringList(rec['apiGroups']),
      resources: stringList(rec['resources']),
      resourceNames: stringList(rec['resourceNames']),
      nonResourceURLs: stringList(rec['nonResourceURLs']),
      verbs: stringList(rec['verbs']),
    };
  });
}

/**
 * The permissions one policy rule grants, as sorted `verb resource.group` strings (see the module comment).
 */
export function rulePermissions(rule: PolicyRule): string[] {
  const out = new Set<string>();
  const verbs = rule.verbs ?? [];
  const names = rule.resourceNames ?? [];
  for (const verb of verbs) {
    for (const group of rule.apiGroups ?? []) {
      const g = group === '' ? 'core' : group;
      for (const resource of rule.resources ?? []) {
        if (names.length === 0) out.add(`${verb} ${resource}.${g}`);
        for (const n of names) out.add(`${verb} ${resource}.${g}#${n}`);
      }
    }
    for (const url of rule.nonResourceURLs ?? []) out.add(`${verb} ${url}`);
  }
  return [...out].sort();
}

function labelsMatch(selector: unknown, labels: Readonly<Record<string, string>> | undefined): boolean {
  const sel = asRecord(selector);
  if (!sel) return false;
  const have = labels ?? {};
  const matchLabels = asRecord(sel['matchLabels']) ?? {};
  for (const [k, v] of Object.entries(matchLabels)) if (have[k] !== v) return false;
  const exprs = Array.isArray(sel['matchExpressions']) ? sel['matchExpressions'] : [];
  for (const e of exprs) {
    const rec = asRecord(e) ?? {};
    const key = typeof rec['key'] === 'string' ? rec['key'] : '';
    const values = stringList(rec['values']);
    const present = Object.prototype.hasOwnProperty.call(have, key);
    switch (rec['operator']) {
      case 'In':
        if (!present || !values.includes(have[key] ?? '')) return false;
        break;
      case 'NotIn':
        if (present && values.includes(have[key] ?? '')) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return Object.keys(matchLabels).length > 0 || exprs.length > 0;
}

/** Rules of a ClusterRole, including those it aggregates from other ClusterRoles among `clusterRoles`. */
function clusterRoleRules(role: K8sObject, clusterRoles: readonly K8sObject[]): PolicyRule[] {
  const rules = rulesOf(role);
  const aggregation = asRecord(role['aggregationRule']);
  const selectors = aggregation && Array.isArray(aggregation['clusterRoleSelectors']) ? aggregation['clusterRoleSelectors'] : [];
  if (selectors.length === 0) return rules;
  for (const other of clusterRoles) {
    if (other === role) continue;
    if (selectors.some((s) => labelsMatch(s, other.metadata.labels))) rules.push(...rulesOf(other));
  }
  return rules;
}

function bindsServiceAccount(binding: K8sObject, sa: ServiceAccountRef): boolean {
  const subjects = binding['subjects'];
  if (!Array.isArray(subjects)) return false;
  const bindingNs = binding.kind === 'RoleBinding' ? binding.metadata.namespace : undefined;
  return subjects.some((s) => {
    const rec = asRecord(s);
    if (!rec || rec['kind'] !== 'ServiceAccount' || rec['name'] !== sa.name) return false;
    const ns = typeof rec['namespace'] === 'string' && rec['namespace'] !== '' ? rec['namespace'] : bindingNs;
    return ns === sa.namespace;
  });
}

/**
 * The sorted, de-duplicated permissions bound to a ServiceAccount by the RoleBindings and ClusterRoleBindings
 * among `objects` (bindings to roles that are not among `objects` contribute nothing).
 */
export function serviceAccountPermissions(objects: readonly K8sObject[], sa: ServiceAccountRef): string[] {
  const clusterRoles = objects.filter((o) => isRbac(o, 'ClusterRole'));
  const roles = objects.filter((o) => isRbac(o, 'Role'));
  const out = new Set<string>();
  for (const binding of objects) {
    const isCrb = isRbac(binding, 'ClusterRoleBinding');
    if (!isCrb && !isRbac(binding, 'RoleBinding')) continue;
    if (!bindsServiceAccount(binding, sa)) continue;
    const ref = asRecord(binding['roleRef']);
    if (!ref) continue;
    let rules: PolicyRule[] = [];
    if (ref['kind'] === 'ClusterRole') {
      const role = clusterRoles.find((r) => r.metadata.name === ref['name']);
      if (role) rules = clusterRoleRules(role, clusterRoles);
    } else if (ref['kind'] === 'Role' && !isCrb) {
      const role = roles.find((r) => r.metadata.name === ref['name'] && r.metadata.namespace === binding.metadata.namespace);
      if (role) rules = rulesOf(role);
    }
    for (const rule of rules) for (const p of rulePermissions(rule)) out.add(p);
  }
  return [...out].sort();
}
