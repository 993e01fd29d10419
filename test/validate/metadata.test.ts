import { checkMetadata, METADATA_RULE } from '../../lib/validate/metadata';
import { K8sObject } from '../../lib/validate/types';
import { at, input } from './fixtures';

const ns = (labels: Record<string, string>, annotations: Record<string, string>): K8sObject =>
  ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', labels, annotations } });

describe('rule metadata (the API server\'s validation of labels and annotations)', () => {
  test('valid keys and values pass', () => {
    expect(checkMetadata(input([at(ns({ 'app.kubernetes.io/name': 'x', plain: '' }, { owner: 'alice@example.com', 'example.com/k': 'v' }))]))).toEqual([]);
  });

  test('a bad annotation key, label key and label value are findings at their paths', () => {
    const findings = checkMetadata(input([at(ns({ 'bad key': 'v', ok: 'has space' }, { 'bad key': 'x', '/empty-prefix': 'y' }))]));
    expect(findings.map((f) => [f.rule, f.path])).toEqual([
      [METADATA_RULE, 'metadata.labels.bad key'], [METADATA_RULE, 'metadata.labels.ok'],
      [METADATA_RULE, 'metadata.annotations.bad key'], [METADATA_RULE, 'metadata.annotations./empty-prefix'],
    ]);
  });

  test('annotations over 256 KiB together are a finding', () => {
    const findings = checkMetadata(input([at(ns({}, { owner: 'x'.repeat(300000) }))]));
    expect(findings.map((f) => f.path)).toEqual(['metadata.annotations']);
    expect(findings[0].message).toMatch(/300005 bytes; the API server accepts at most 262144/);
  });
});
