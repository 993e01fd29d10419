import { checkCustomResources } from '../../lib/validate/crd';
import { K8sObject } from '../../lib/validate/types';
import { at, CERT_MANAGER_API, certificate, crd, customResource, input, WAVES, widget, WIDGET_SCHEMA } from './fixtures';

function check(objects: K8sObject[], extra: Parameters<typeof input>[1] = {}) {
  return checkCustomResources(input([at(crd(), WAVES.crds), ...objects.map((o) => at(o, WAVES.resources))], extra));
}

describe('crd', () => {
  test('a valid custom resource has no findings', () => {
    expect(check([widget('w', { size: 3, color: 'red', port: 8080, extra: { anything: { goes: [1] } }, labels: { a: 'b' } })])).toEqual([]);
  });

  test('rejects a wrong-typed field with the CRD schema', () => {
    expect(check([widget('w', { size: 'three' })])).toEqual([
      { rule: 'crd', object: 'Widget/app/w', path: 'spec.size', message: 'must be integer' },
    ]);
  });

  test('applies schema constraints (minimum, enum, required)', () => {
    const findings = check([widget('a', { size: 0 }), widget('b', { size: 1, color: 'green' }), widget('c', {})]);
    expect(findings.map((f) => `${f.object} ${f.path} ${f.message}`)).toEqual([
      'Widget/app/a spec.size must be >= 1',
      'Widget/app/b spec.color must be equal to one of the allowed values: "red", "blue"',
      'Widget/app/c spec.size required field is missing',
    ]);
  });

  test('x-kubernetes-int-or-string accepts integers and strings, nothing else', () => {
    expect(check([widget('a', { size: 1, port: 80 }), widget('b', { size: 1, port: 'http' })])).toEqual([]);
    const findings = check([widget('c', { size: 1, port: 1.5 }), widget('d', { size: 1, port: true })]);
    expect(findings.map((f) => `${f.object} ${f.path}`)).toEqual(['Widget/app/c spec.port', 'Widget/app/d spec.port']);
  });

  test('null is accepted like the API server prunes it', () => {
    expect(check([widget('a', { size: 1, color: null })])).toEqual([]);
  });

  test('reports fields the schema does not declare, except under x-kubernetes-preserve-unknown-fields', () => {
    const findings = check([widget('w', { size: 1, colour: 'red', extra: { free: 1 } })]);
    expect(findings).toEqual([{
      rule: 'crd', object: 'Widget/app/w', path: 'spec.colour', message: expect.stringContaining('unknown field "colour"') as string,
    }]);
  });

  test('validates the metadata of custom resources as ObjectMeta', () => {
    const w = widget('w');
    const findings = check([{ ...w, metadata: { ...w.metadata, labelz: { a: 'b' } } as K8sObject['metadata'] }]);
    expect(findings).toEqual([{ rule: 'crd', object: 'Widget/app/w', path: 'metadata.labelz', message: 'unknown field "labelz"' }]);
  });

  test('a custom resource with no CRD that is not declared external is a finding', () => {
    const findings = checkCustomResources(input([at(customResource('example.org/v1', 'Gadget', 'g', 'app'))]));
    expect(findings).toEqual([{
      rule: 'crd', object: 'Gadget/app/g', path: 'apiVersion',
      message: 'no CustomResourceDefinition for Gadget.example.org in the output and not declared external (externalApis)',
    }]);
  });

  test('a custom resource of a declared external API is accepted, in the declared versions only', () => {
    expect(checkCustomResources(input([at(certificate('c', 'c-tls'))], { externalApis: [CERT_MANAGER_API] }))).toEqual([]);
    const v2 = { ...certificate('c', 'c-tls'), apiVersion: 'cert-manager.io/v2' };
    const [f] = checkCustomResources(input([at(v2)], { externalApis: [CERT_MANAGER_API] }));
    expect(f).toMatchObject({ rule: 'crd', object: 'Certificate/app/c', path: 'apiVersion' });
    expect(f.message).toContain('declared external');
    expect(f.message).toContain('not v2');
  });

  test('the version must exist in the CRD and be served', () => {
    const objects = [
      at(crd({ versions: [{ name: 'v1' }, { name: 'v1beta1', served: false, storage: false }] }), WAVES.crds),
      at(customResource('example.com/v2', 'Widget', 'a', 'app', { spec: { size: 1 } }), WAVES.resources),
      at(customResource('example.com/v1beta1', 'Widget', 'b', 'app', { spec: { size: 1 } }), WAVES.resources),
    ];
    expect(checkCustomResources(input(objects)).map((f) => `${f.object} ${f.message}`)).toEqual([
      'Widget/app/a CustomResourceDefinition widgets.example.com has no version v2 (versions: v1, v1beta1)',
      'Widget/app/b version v1beta1 of CustomResourceDefinition widgets.example.com is not served',
    ]);
  });

  test('a namespaced custom resource needs a namespace', () => {
    expect(check([customResource('example.com/v1', 'Widget', 'w', undefined, { spec: { size: 1 } })])).toEqual([{
      rule: 'crd', object: 'Widget/w', path: 'metadata.namespace',
      message: 'Widget is namespaced (CustomResourceDefinition widgets.example.com) but has no namespace',
    }]);
  });

  test('a cluster-scoped custom resource must not have a namespace', () => {
    const objects = [
      at(crd({ kind: 'Pool', scope: 'Cluster' }), WAVES.crds),
      at(customResource('example.com/v1', 'Pool', 'ok', undefined, { spec: { size: 1 } }), WAVES.resources),
      at(customResource('example.com/v1', 'Pool', 'bad', 'app', { spec: { size: 1 } }), WAVES.resources),
    ];
    expect(checkCustomResources(input(objects))).toEqual([{
      rule: 'crd', object: 'Pool/app/bad', path: 'metadata.namespace',
      message: 'Pool is cluster-scoped (CustomResourceDefinition pools.example.com) but has a namespace',
    }]);
  });

  test('a CRD version without a schema, or without exactly one storage version, is a finding on the CRD', () => {
    const objects = [at(crd({ versions: [{ name: 'v1', storage: true, schema: null }, { name: 'v2', storage: true }] }), WAVES.crds)];
    expect(checkCustomResources(input(objects)).map((f) => `${f.object} ${f.path} ${f.message}`)).toEqual([
      'CustomResourceDefinition/widgets.example.com spec.versions[0].schema.openAPIV3Schema version has no schema',
      'CustomResourceDefinition/widgets.example.com spec.versions exactly one version must be the storage version (found 2)',
    ]);
  });

  test('a schema ajv cannot compile is reported on the custom resources using it', () => {
    const objects = [
      at(crd({ kind: 'Broken', versions: [{ name: 'v1', schema: { type: 'object', properties: { spec: { type: 'nonsense' } } } }] }), WAVES.crds),
      at(customResource('example.com/v1', 'Broken', 'b', 'app', { spec: {} }), WAVES.resources),
    ];
    const [f] = checkCustomResources(input(objects));
    expect(f).toMatchObject({ rule: 'crd', object: 'Broken/app/b' });
    expect(f.message).toContain('does not compile');
  });

  test('embedded resources may carry apiVersion, kind and metadata', () => {
    const schema = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: { template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object' } } } },
        },
      },
    };
    const objects = [
      at(crd({ kind: 'Holder', versions: [{ name: 'v1', schema }] }), WAVES.crds),
      at(customResource('example.com/v1', 'Holder', 'h', 'app', {
        spec: { template: { apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: {} } },
      }), WAVES.resources),
      at(customResource('example.com/v1', 'Holder', 'bad', 'app', { spec: { template: { bogus: 1 } } }), WAVES.resources),
    ];
    expect(checkCustomResources(input(objects)).map((f) => `${f.object} ${f.path}`)).toEqual(['Holder/app/bad spec.template.bogus']);
  });

  test('the same schema content is compiled once and gives the same results', () => {
    const first = check([widget('w', { size: 'x' })]);
    const again = checkCustomResources(input([at(crd({ versions: [{ name: 'v1', schema: structuredClone(WIDGET_SCHEMA) }] }), 0),
      at(widget('w', { size: 'x' }), WAVES.resources)]));
    expect(again).toEqual(first);
    expect(first).toHaveLength(1);
  });
});
