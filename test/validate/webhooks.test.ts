import { validate } from '../../lib/validate/harness';
import { K8sObject, PlacedObject } from '../../lib/validate/types';
import { checkWebhookOrder, resourceOfKind, selectorMatches } from '../../lib/validate/webhooks';
import { at, configMap, crd, deployment, input, namespace, ofRule, service, widget } from './fixtures';

type ConfigKind = 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';

/** A webhook entry served by Service app/hook, intercepting pod creation, with `overrides` replacing fields. */
function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'hook.example.com',
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    clientConfig: { service: { namespace: 'app', name: 'hook', path: '/mutate' } },
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
    ...overrides,
  };
}

function webhookConfig(webhooks: Record<string, unknown>[], kind: ConfigKind = 'MutatingWebhookConfiguration'): K8sObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name: 'hook' }, webhooks };
}

function labelledNamespace(name: string, labels: Record<string, string>): K8sObject {
  return { ...namespace(name), metadata: { name, labels } };
}

/**
 * Namespace `app` (wave 0, with `nsLabels`), the webhook's Deployment, Service and configuration (wave 1), plus
 * `others`.
 */
function stack(
  others: PlacedObject[], webhook: Record<string, unknown> = entry(), options: { kind?: ConfigKind; nsLabels?: Record<string, string> } = {},
): PlacedObject[] {
  return [
    at(labelledNamespace('app', options.nsLabels ?? {}), 0),
    at(deployment('hook'), 1),
    at(service('hook'), 1),
    at(webhookConfig([webhook], options.kind), 1),
    ...others,
  ];
}

const check = (objects: PlacedObject[]) => checkWebhookOrder(input(objects));
const objectsOf = (objects: PlacedObject[]) => check(objects).map((f) => `${f.rule} ${f.object}`);

describe('webhook-order', () => {
  test('a pod-mutating webhook in the same wave as a workload it mutates is a finding', () => {
    expect(check(stack([at(deployment('web'), 1)]))).toEqual([{
      rule: 'webhook-order', object: 'Deployment/app/web',
      message: 'the pods of this workload are intercepted by MutatingWebhookConfiguration/hook webhook hook.example.com (failurePolicy Fail), '
        + 'whose workload Deployment/app/hook is in wave 1 (namespaces), from test/Deployment-hook, but this object is in '
        + 'wave 1 (namespaces), from test/Deployment-web, not in a later wave: the API server rejects its pods until the webhook serves. '
        + "Install the webhook in an earlier wave (e.g. InstallPlan.addWave('admission', { before: [<namespaces wave>] }) "
        + 'and assign its workload, Service and configuration to it)',
    }]);
  });

  test('an earlier wave is a finding too; a strictly later wave is not', () => {
    const findings = check(stack([at(deployment('early'), 0), at(deployment('web'), 2)]));
    expect(findings.map((f) => f.object)).toEqual(['Deployment/app/early']);
    expect(findings[0].message).toContain('this object is in wave 0 (crds), from test/Deployment-early');
    expect(check(stack([at(deployment('web'), 2)]))).toEqual([]);
  });

  test('through the harness: validate reports webhook-order', () => {
    const findings = ofRule(validate(input(stack([at(deployment('web'), 1)]))), 'webhook-order');
    expect(findings.map((f) => f.object)).toEqual(['Deployment/app/web']);
    expect(findings[0].message).toContain('MutatingWebhookConfiguration/hook webhook hook.example.com');
  });

  test('objectSelector is evaluated against pod template labels', () => {
    const webhook = entry({ objectSelector: { matchLabels: { inject: 'true' } } });
    expect(check(stack([at(deployment('web'), 1)], webhook))).toEqual([]);
    const findings = check(stack([at(deployment('web', { labels: { app: 'web', inject: 'true' } }), 1)], webhook));
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Deployment/app/web']);
    expect(findings[0].message).toContain('the pods of this workload are intercepted by MutatingWebhookConfiguration/hook webhook hook.example.com');
  });

  test('namespaceSelector matchLabels is evaluated against the labels of the object\'s Namespace', () => {
    const webhook = entry({ namespaceSelector: { matchLabels: { 'istio-injection': 'enabled' } } });
    expect(check(stack([at(deployment('web'), 1)], webhook))).toEqual([]);
    const findings = check(stack([at(deployment('web'), 1)], webhook, { nsLabels: { 'istio-injection': 'enabled' } }));
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Deployment/app/web']);
    expect(findings[0].message).toContain('whose workload Deployment/app/hook is in wave 1');
  });

  test('namespaceSelector matchExpressions NotIn, with the implicit kubernetes.io/metadata.name label', () => {
    const webhook = entry({ namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['app'] }] } });
    const objects = stack([at(deployment('web'), 1), at(namespace('other'), 0), at(deployment('web', { namespace: 'other' }), 1)], webhook);
    const findings = check(objects);
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Deployment/other/web']);
    expect(findings[0].message).toContain('intercepted by MutatingWebhookConfiguration/hook webhook hook.example.com (failurePolicy Fail)');
  });

  test('a NotIn on a key the Namespace lacks matches', () => {
    const webhook = entry({ namespaceSelector: { matchExpressions: [{ key: 'control-plane', operator: 'NotIn', values: ['true'] }] } });
    expect(objectsOf(stack([at(deployment('web'), 1)], webhook))).toEqual(['webhook-order Deployment/app/web']);
    expect(objectsOf(stack([at(deployment('web'), 1)], webhook, { nsLabels: { 'control-plane': 'true' } }))).toEqual([]);
  });

  test('a Namespace outside the input only matches an empty namespaceSelector', () => {
    const outside = [at(deployment('web', { namespace: 'elsewhere' }), 1)];
    expect(objectsOf(stack(outside))).toEqual(['webhook-order Deployment/elsewhere/web']);
    const selective = entry({ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] } });
    expect(check(stack(outside, selective))).toEqual([]);
  });

  test('only CREATE (or *) operations intercept installation', () => {
    const update = entry({ rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods'] }] });
    expect(check(stack([at(deployment('web'), 1)], update))).toEqual([]);
    const any = entry({ rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['*'], resources: ['pods'] }] });
    const findings = check(stack([at(deployment('web'), 1)], any));
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Deployment/app/web']);
    expect(findings[0].message).toContain('MutatingWebhookConfiguration/hook webhook hook.example.com');
  });

  test('a rule on apps deployments intercepts the Deployment itself, not other kinds', () => {
    const webhook = entry({ rules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] }] });
    const findings = check(stack([at(deployment('web'), 1), at(configMap('settings'), 1)], webhook));
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Deployment/app/web']);
    expect(findings[0].message).toMatch(/^this object is intercepted by MutatingWebhookConfiguration\/hook webhook hook\.example\.com \(failurePolicy Fail\)/);
  });

  test('wildcards and scope', () => {
    const all = entry({ rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*'] }] });
    expect(objectsOf(stack([at(configMap('settings'), 1)], all))).toEqual([
      'webhook-order Namespace/app', 'webhook-order Service/app/hook', 'webhook-order ConfigMap/app/settings',
    ]);
    const cluster = entry({ rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['CREATE'], resources: ['*'], scope: 'Cluster' }] });
    expect(objectsOf(stack([at(configMap('settings'), 1)], cluster))).toEqual(['webhook-order Namespace/app']);
    const subresource = entry({ rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods/exec'] }] });
    expect(check(stack([at(deployment('web'), 1)], subresource))).toEqual([]);
  });

  test('custom resources are matched by their CRD plural; versions only with matchPolicy Exact', () => {
    const rules = [{ apiGroups: ['example.com'], apiVersions: ['v1beta1'], operations: ['CREATE'], resources: ['widgets'] }];
    const objects = (webhook: Record<string, unknown>) => stack([at(crd(), 0), at(widget(), 1)], webhook);
    const findings = check(objects(entry({ rules })));
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Widget/app/w']);
    expect(findings[0].message).toContain('this object is intercepted by MutatingWebhookConfiguration/hook');
    expect(check(objects(entry({ rules, matchPolicy: 'Exact' })))).toEqual([]);
  });

  test('a URL webhook is skipped', () => {
    const webhook = entry({ clientConfig: { url: 'https://hooks.example.com/mutate' } });
    expect(check(stack([at(deployment('web'), 1)], webhook))).toEqual([]);
  });

  test('a webhook whose Service or backends are not in the input is skipped', () => {
    expect(check(stack([at(deployment('web'), 1)]).filter((p) => p.manifest.kind !== 'Service'))).toEqual([]);
    expect(check(stack([at(deployment('web'), 1)]).filter((p) => p.manifest.metadata.name !== 'hook' || p.manifest.kind !== 'Deployment'))).toEqual([]);
  });

  test('a validating webhook with failurePolicy Ignore is still reported', () => {
    const webhook = entry({ failurePolicy: 'Ignore' });
    const findings = check(stack([at(deployment('web'), 1)], webhook, { kind: 'ValidatingWebhookConfiguration' }));
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Deployment/app/web']);
    expect(findings[0].message).toContain('ValidatingWebhookConfiguration/hook webhook hook.example.com (failurePolicy Ignore)');
    expect(findings[0].message).toContain('its pods may be admitted without being validated');
  });

  test('the backend workload and the configuration are never reported', () => {
    expect(check(stack([]))).toEqual([]);
    const all = entry({ rules: [{ apiGroups: ['*'], apiVersions: ['*'], operations: ['*'], resources: ['*/*'] }] });
    const findings = check(stack([], all));
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Namespace/app', 'webhook-order Service/app/hook']);
    expect(findings.every((f) => f.message.includes('whose workload Deployment/app/hook is in wave 1'))).toBe(true);
  });

  test('the latest backend and a later configuration set the wave to be after', () => {
    const objects = [
      at(namespace('app'), 0),
      at(deployment('hook'), 1),
      at(deployment('hook-2', { labels: { app: 'hook' } }), 2),
      at(service('hook'), 1),
      at(webhookConfig([entry()]), 3),
      at(deployment('web'), 3),
      at(deployment('late'), 4),
    ];
    const findings = check(objects);
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['webhook-order Deployment/app/web']);
    expect(findings[0].message).toContain('whose workload Deployment/app/hook-2 is in wave 2 (cluster), from test/Deployment-hook-2 '
      + 'and its configuration in wave 3 (controllers)');
  });
});

describe('helpers', () => {
  test('resourceOfKind pluralises simply, with irregular kinds', () => {
    expect(['Deployment', 'NetworkPolicy', 'Ingress', 'Gateway', 'Endpoints', 'ConfigMap', 'ComponentStatus'].map(resourceOfKind))
      .toEqual(['deployments', 'networkpolicies', 'ingresses', 'gateways', 'endpoints', 'configmaps', 'componentstatuses']);
  });

  test('selectorMatches: matchLabels and In/NotIn/Exists/DoesNotExist', () => {
    const labels = { a: '1', b: '2' };
    expect(selectorMatches(undefined, labels)).toBe(true);
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '1' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '2' } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '3'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'In', values: ['1'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'c', operator: 'NotIn', values: ['1'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'Gt', values: ['1'] }] }, labels)).toBe(false);
  });
});
