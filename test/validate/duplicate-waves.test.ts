import { checkDuplicates } from '../../lib/validate/duplicate';
import { checkWaveOrder } from '../../lib/validate/waves';
import { at, baseline, clusterRole, configMap, crd, deployment, input, namespace, WAVES, widget } from './fixtures';

describe('duplicate', () => {
  test('distinct objects pass, including same names of other kinds or namespaces', () => {
    expect(checkDuplicates(input(baseline()))).toEqual([]);
    const sameNames = [at(configMap('x', 'a')), at(configMap('x', 'b')), at({ ...deployment('x'), metadata: { name: 'x', namespace: 'a' } })];
    expect(checkDuplicates(input(sameNames))).toEqual([]);
  });

  test('two objects with the same group, kind, namespace and name are a finding', () => {
    const findings = checkDuplicates(input([at(configMap('x'), 3), at(configMap('x'), 4)]));
    expect(findings).toEqual([{
      rule: 'duplicate', object: 'ConfigMap/app/x',
      message: 'duplicate object (wave 4 (resources), from test/ConfigMap-x); the same object is already in wave 3 (controllers), from test/ConfigMap-x',
    }]);
  });

  test('the version does not make objects distinct; cluster-scoped objects too', () => {
    const findings = checkDuplicates(input([
      at(deployment('web')), at({ ...deployment('web'), apiVersion: 'apps/v1beta2' }), at(clusterRole('r')), at(clusterRole('r')),
    ]));
    expect(findings.map((f) => `${f.rule} ${f.object}`)).toEqual(['duplicate Deployment/app/web', 'duplicate ClusterRole/r']);
  });
});

describe('wave-order', () => {
  test('custom resources after their CRD and objects after their Namespace pass', () => {
    expect(checkWaveOrder(input(baseline()))).toEqual([]);
  });

  test('a custom resource in the same wave as its CRD is a finding', () => {
    const findings = checkWaveOrder(input([at(crd(), WAVES.crds), at(widget(), WAVES.crds)]));
    expect(findings).toEqual([{
      rule: 'wave-order', object: 'Widget/app/w', path: 'apiVersion',
      message: 'Widget is in wave 0 (crds), from test/Widget-w, not after its CustomResourceDefinition widgets.example.com '
        + 'in wave 0 (crds), from test/CustomResourceDefinition-widgets.example.com',
    }]);
  });

  test('a custom resource before its CRD is a finding', () => {
    const findings = checkWaveOrder(input([at(crd(), WAVES.resources), at(namespace('app'), WAVES.namespaces), at(widget(), WAVES.controllers)]));
    expect(findings.map((f) => `${f.rule} ${f.object} ${f.path}`)).toEqual(['wave-order Widget/app/w apiVersion']);
  });

  test('a namespaced object in the same wave as its Namespace is a finding', () => {
    const findings = checkWaveOrder(input([at(namespace('app'), WAVES.namespaces), at(configMap('c'), WAVES.namespaces)]));
    expect(findings).toEqual([{
      rule: 'wave-order', object: 'ConfigMap/app/c', path: 'metadata.namespace',
      message: 'object is in wave 1 (namespaces), from test/ConfigMap-c, not after its Namespace app in wave 1 (namespaces), from test/Namespace-app',
    }]);
  });

  test('Namespaces and CRDs outside the output are not wave-checked', () => {
    expect(checkWaveOrder(input([at(configMap('c'), 0), at(widget(), 0)]))).toEqual([]);
  });
});
