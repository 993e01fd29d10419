import { rulePermissions, serviceAccountPermissions } from '../../lib/validate/rbac';
import type { K8sObject } from '../../lib/validate/types';

const RBAC = 'rbac.authorization.k8s.io/v1';

describe('rbac permissions', () => {
  it('expands rules into verb resource.group strings', () => {
    expect(rulePermissions({ apiGroups: ['', 'apps'], resources: ['pods', 'deployments/scale'], verbs: ['get'] })).toEqual([
      'get deployments/scale.apps',
      'get deployments/scale.core',
      'get pods.apps',
      'get pods.core',
    ]);
    expect(rulePermissions({ apiGroups: ['*'], resources: ['*'], verbs: ['*'] })).toEqual(['* *.*']);
    expect(rulePermissions({ apiGroups: [''], resources: ['secrets'], resourceNames: ['a', 'b'], verbs: ['get'] })).toEqual([
      'get secrets.core#a',
      'get secrets.core#b',
    ]);
    expect(rulePermissions({ nonResourceURLs: ['/healthz'], verbs: ['get'] })).toEqual(['get /healthz']);
  });

  it('resolves bindings, namespaces and aggregated ClusterRoles', () => {
    const objects: K8sObject[] = [
      { apiVersion: RBAC, kind: 'Role', metadata: { name: 'r', namespace: 'a' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] },
      { apiVersion: RBAC, kind: 'Role', metadata: { name: 'r', namespace: 'b' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['delete'] }] },
      {
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: { name: 'rb', namespace: 'a' },
        roleRef: { kind: 'Role', name: 'r' },
        subjects: [{ kind: 'ServiceAccount', name: 'sa' }],
      },
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name: 'agg' },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'example.org/aggregate': 'true' } }] },
      },
      {
        apiVersion: RBAC,
        kind: 'ClusterRole',
        metadata: { name: 'part', labels: { 'example.org/aggregate': 'true' } },
        rules: [{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] }],
      },
      {
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: { name: 'rb2', namespace: 'a' },
        roleRef: { kind: 'ClusterRole', name: 'agg' },
        subjects: [
          { kind: 'ServiceAccount', name: 'sa', namespace: 'a' },
          { kind: 'Group', name: 'system:authenticated' },
        ],
      },
      {
        apiVersion: RBAC,
        kind: 'ClusterRoleBinding',
        metadata: { name: 'other' },
        roleRef: { kind: 'ClusterRole', name: 'part' },
        subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'b' }],
      },
    ];
    expect(serviceAccountPermissions(objects, { namespace: 'a', name: 'sa' })).toEqual(['get pods.core', 'list jobs.batch']);
    expect(serviceAccountPermissions(objects, { namespace: 'b', name: 'sa' })).toEqual(['list jobs.batch']);
    expect(serviceAccountPermissions(objects, { namespace: 'a', name: 'default' })).toEqual([]);
  });
});
