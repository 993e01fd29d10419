/**
 * Rule `apply-stable`: objects as the API server keeps them, so that applying them again changes nothing. Found on
 * the e2e control plane: an empty `matchLabels` is dropped by the server, so every server-side apply writes it back
 * and bumps the object's generation (and GitOps tools show it out of sync forever); the `rules` of an aggregated
 * ClusterRole are written by the aggregation controller, so an apply that sets them fights it and leaves the role
 * empty until the controller runs again.
 */
import { Finding, HarnessInput } from './types';
import { finding, isRecord } from './util';

/** Rule id of {@link checkApplyStable}. */
export const APPLY_STABLE_RULE = 'apply-stable';

function walk(value: unknown, path: (string | number)[], visit: (value: unknown, path: (string | number)[]) => void): void {
  visit(value, path);
  if (Array.isArray(value)) value.forEach((v, i) => { walk(v, [...path, i], visit); });
  else if (isRecord(value)) for (const [k, v] of Object.entries(value)) walk(v, [...path, k], visit);
}

/**
 * Every object: no empty `matchLabels` or `matchExpressions` in any label selector (write `{}` to select everything),
 * no empty `ports`, `from` or `to` in a NetworkPolicy rule, and no `rules` on a ClusterRole that has an
 * `aggregationRule`.
 */
export function checkApplyStable(input: HarnessInput): Finding[] {
  const out: Finding[] = [];
  for (const placed of input.objects) {
    const m = placed.manifest;
    walk(m, [], (value, path) => {
      const key = path[path.length - 1];
      if ((key === 'matchLabels' && isRecord(value) && Object.keys(value).length === 0) || (key === 'matchExpressions' && Array.isArray(value) && value.length === 0)) {
        out.push(finding(APPLY_STABLE_RULE, placed, path.map(String).join('.'),
          `an empty ${key} is dropped by the API server, so every apply changes the object: leave it out (an empty selector {} selects everything)`));
      }
      if (m.kind === 'NetworkPolicy' && path[0] === 'spec' && (key === 'ports' || key === 'from' || key === 'to') && Array.isArray(value) && value.length === 0) {
        out.push(finding(APPLY_STABLE_RULE, placed, path.map(String).join('.'),
          `an empty ${key} list is dropped by the API server, so every apply changes the policy: leave it out (no ${key} means every ${key === 'ports' ? 'port' : 'peer'})`));
      }
    });
    if (m.kind === 'ClusterRole' && m.apiVersion === 'rbac.authorization.k8s.io/v1' && m.aggregationRule !== undefined && m.rules !== undefined) {
      out.push(finding(APPLY_STABLE_RULE, placed, 'rules',
        'the rules of an aggregated ClusterRole are written by the aggregation controller: leave them out, or every apply empties the role until the controller refills it'));
    }
  }
  return out;
}
