import { checkOpenApi, resolveModel, validateObjectMeta } from '../../lib/validate/openapi';
import { K8sObject } from '../../lib/validate/types';
import { at, baseline, configMap, container, crd, deployment, input, service, widget, WAVES } from './fixtures';

function check(...manifests: K8sObject[]) {
  return checkOpenApi(input(manifests.map((m) => at(m))));
}

describe('openapi', () => {
  test('a clean stack has no findings', () => {
    expect(checkOpenApi(input(baseline()))).toEqual([]);
  });

  test('rejects a wrong-typed field with its path', () => {
    const findings = check(deployment('web', { containers: [container({ ports: [{ containerPort: 'http-string' }] })] }));
    expect(findings).toEqual([{
      rule: 'openapi',
      object: 'Deployment/app/web',
      path: 'spec.template.spec.containers[0].ports[0].containerPort',
      message: 'must be integer',
    }]);
  });

  test('reports unknown fields (a typo like spec.replica)', () => {
    const d = deployment('web');
    const typo: K8sObject = { ...d, spec: { ...(d.spec as object), replica: 2 } };
    expect(check(typo)).toEqual([{ rule: 'openapi', object: 'Deployment/app/web', path: 'spec.replica', message: 'unknown field "replica"' }]);
  });

  test('reports unknown fields deep in a pod template and at the top level', () => {
    const findings = check({ ...deployment('web', { containers: [container({ imagePullPolicyy: 'Always' })] }), extra: true });
    expect(findings.map((f) => f.path).sort()).toEqual(['extra', 'spec.template.spec.containers[0].imagePullPolicyy']);
  });

  test('maps (labels, annotations, ConfigMap data) accept any key', () => {
    const cm = configMap('c', 'app', { 'any.key': 'v', other: 'w' });
    const withAnnotations: K8sObject = { ...cm, metadata: { ...cm.metadata, annotations: { 'example.com/anything': 'x' }, labels: { a: 'b' } } };
    expect(check(withAnnotations)).toEqual([]);
  });

  test('reports a missing required field at its own path', () => {
    const d = deployment('web');
    const spec = { ...(d.spec as Record<string, unknown>) };
    delete spec.selector;
    expect(check({ ...d, spec })).toEqual([
      { rule: 'openapi', object: 'Deployment/app/web', path: 'spec.selector', message: 'required field is missing' },
    ]);
  });

  test('lists the allowed values of an enum', () => {
    const [f] = check(deployment('web', { containers: [container({ imagePullPolicy: 'Sometimes' })] }));
    expect(f.path).toBe('spec.template.spec.containers[0].imagePullPolicy');
    expect(f.message).toContain('"IfNotPresent"');
  });

  test('quotes map keys that are not identifiers in paths', () => {
    const cm = configMap('c');
    const [f] = check({ ...cm, metadata: { ...cm.metadata, annotations: { 'example.com/n': 3 as unknown as string } } });
    expect(f).toEqual({ rule: 'openapi', object: 'ConfigMap/app/c', path: 'metadata.annotations["example.com/n"]', message: 'must be string' });
  });

  test('an unknown version of a built-in group is a finding', () => {
    const findings = check({ ...deployment('web'), apiVersion: 'apps/v1beta9' });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'openapi', object: 'Deployment/app/web', path: 'apiVersion' });
    expect(findings[0].message).toContain('apps/v1beta9 Deployment is not a known built-in kind');
  });

  test('an unknown kind, or a non-top-level type, of a built-in group is a finding', () => {
    const findings = check(
      { ...configMap('a'), apiVersion: 'apps/v1', kind: 'Deploymnet' },
      { ...configMap('b'), apiVersion: 'apps/v1', kind: 'DeploymentSpec' },
    );
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringContaining('apps/v1 Deploymnet is not a known built-in kind'),
      expect.stringContaining('apps/v1 DeploymentSpec is not a known built-in kind'),
    ]);
  });

  test('API versions Kubernetes no longer serves are findings', () => {
    const [f] = check({ ...deployment('web'), apiVersion: 'apps/v1beta1' });
    expect(f).toMatchObject({ rule: 'openapi', path: 'apiVersion' });
    expect(f.message).toMatch(/no longer served.*1\.16/);
  });

  test('CRDs with descriptions and x-kubernetes-* extensions are valid', () => {
    const c = crd();
    const spec = c.spec as { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] };
    spec.versions[0].schema.openAPIV3Schema = { ...spec.versions[0].schema.openAPIV3Schema, description: 'A widget.' };
    expect(check(c)).toEqual([]);
  });

  test('custom resources are not checked here', () => {
    expect(checkOpenApi(input([at(widget('w', { size: 'many' }), WAVES.resources)]))).toEqual([]);
  });

  test('resolves kubernetes-models classes from apiVersion and kind, cached', () => {
    expect(resolveModel('v1', 'Service')).toBeDefined();
    expect(resolveModel('networking.k8s.io/v1', 'NetworkPolicy')).toBeDefined();
    expect(resolveModel('apps/v1', 'Deployment')).toBe(resolveModel('apps/v1', 'Deployment'));
    expect(resolveModel('apps/v1', '../../v1/Service')).toBeUndefined();
    expect(resolveModel('example.com/v1', 'Widget')).toBeUndefined();
  });

  test('validates ObjectMeta of any object', () => {
    expect(validateObjectMeta({ name: 'x', labels: { a: 'b' } })).toEqual([]);
    expect(validateObjectMeta({ name: 'x', labelz: { a: 'b' } })).toEqual([{ path: ['metadata', 'labelz'], message: 'unknown field "labelz"' }]);
  });

  test('a Service with a named targetPort (int-or-string) is valid', () => {
    expect(check(service('web'))).toEqual([]);
  });
});
