import { APPLY_STABLE_RULE, checkApplyStable } from '../../lib/validate/apply-stable';
import { K8sObject } from '../../lib/validate/types';
import { at, input } from './fixtures';

const policy = (podSelector: Record<string, unknown>, from: Record<string, unknown>[]): K8sObject => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p', namespace: 'app' },
  spec: { podSelector, policyTypes: ['Ingress'], ingress: [{ from }] },
});

describe('rule apply-stable (objects as the API server keeps them)', () => {
  test('empty selectors written as {} pass', () => {
    expect(checkApplyStable(input([at(policy({}, [{ namespaceSelector: { matchLabels: { a: 'b' } }, podSelector: {} }]))]))).toEqual([]);
  });

  test('an empty matchLabels or matchExpressions anywhere is a finding at its path', () => {
    const findings = checkApplyStable(input([at(policy({ matchLabels: {} }, [{ podSelector: { matchExpressions: [] } }]))]));
    expect(findings.map((f) => [f.rule, f.path])).toEqual([
      [APPLY_STABLE_RULE, 'spec.podSelector.matchLabels'],
      [APPLY_STABLE_RULE, 'spec.ingress.0.from.0.podSelector.matchExpressions'],
    ]);
    expect(findings[0].message).toMatch(/dropped by the API server/);
  });

  test('an empty ports, from or to list of a NetworkPolicy rule is a finding', () => {
    const p = policy({}, [{ podSelector: {} }]);
    const spec = p.spec as { ingress: Record<string, unknown>[] };
    spec.ingress[0].ports = [];
    spec.ingress.push({ from: [] });
    expect(checkApplyStable(input([at(p)])).map((f) => f.path)).toEqual(['spec.ingress.0.ports', 'spec.ingress.1.from']);
  });

  test('rules on an aggregated ClusterRole are a finding; rules alone or aggregation alone are not', () => {
    const role = (extra: Record<string, unknown>): K8sObject => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'r' }, ...extra });
    const aggregation = { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: 'true' } }] } };
    expect(checkApplyStable(input([at(role({ ...aggregation, rules: [] }))])).map((f) => f.path)).toEqual(['rules']);
    expect(checkApplyStable(input([at(role(aggregation)), at(role({ rules: [] }))]))).toEqual([]);
  });
});
