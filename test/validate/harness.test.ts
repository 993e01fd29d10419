import { CHECKS, formatFindings, RULES, sortFindings, validate } from '../../lib/validate/harness';
import { Finding } from '../../lib/validate/types';
import { at, baseline, container, deployment, input, secret, WAVES, widget } from './fixtures';

describe('validate', () => {
  test('a clean stack has no findings', () => {
    expect(validate(input(baseline()))).toEqual([]);
  });

  test('runs every check and sorts findings by object, rule, path', () => {
    const objects = [
      ...baseline(),
      at(deployment('zeta', { containers: [container({ image: 'nginx', ports: [{ containerPort: 'http-string' }] })] })),
      at(secret('creds', 'app', { data: { password: 'eA==' } })),
      at(widget('bad', { size: 'x' }), WAVES.resources),
      at(widget('bad', { size: 'x' }), WAVES.resources),
    ];
    const findings = validate(input(objects));
    expect(findings.map((f) => `${f.object} ${f.rule} ${f.path ?? ''}`)).toEqual([
      'Deployment/app/zeta image-tag spec.template.spec.containers[0].image',
      'Deployment/app/zeta openapi spec.template.spec.containers[0].ports[0].containerPort',
      'Secret/app/creds secret-values data',
      'Widget/app/bad crd spec.size',
      'Widget/app/bad duplicate ',
    ]);
  });

  test('lists its rules', () => {
    expect([...RULES].sort()).toEqual([
      'apply-stable', 'crd', 'dangling-reference', 'duplicate', 'gateway-authz', 'gateway-hosts', 'image-tag', 'metadata', 'openapi', 'provider-order', 'provides-annotation',
      'resources', 'secret-values', 'static-cloud-keys', 'wave-order', 'webhook-order',
    ]);
    expect(CHECKS).toHaveLength(14);
  });

  test('sortFindings is deterministic and drops exact duplicates', () => {
    const a: Finding = { rule: 'r', object: 'B/x', message: 'm' };
    const b: Finding = { rule: 'r', object: 'A/x', path: 'p', message: 'm' };
    expect(sortFindings([a, b, a])).toEqual([b, a]);
    expect(sortFindings([b, a])).toEqual(sortFindings([a, b]));
  });
});

describe('formatFindings', () => {
  test('one line per finding', () => {
    const text = formatFindings([
      { rule: 'openapi', object: 'Deployment/app/web', path: 'spec.replica', message: 'unknown field "replica"' },
      { rule: 'duplicate', object: 'ConfigMap/app/x', message: 'duplicate object' },
    ]);
    expect(text).toBe('openapi  Deployment/app/web  spec.replica: unknown field "replica"\nduplicate  ConfigMap/app/x  duplicate object');
    expect(formatFindings([])).toBe('');
  });
});
