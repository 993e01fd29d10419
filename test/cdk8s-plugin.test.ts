import * as fs from 'fs';
import * as path from 'path';
import { KfkitValidation } from '../lib/validate/cdk8s-plugin';
import { Cdk8sValidationContext } from '../lib/validate/cdk8s-plugin';
import { cli, listFiles, ROOT, tmpdir } from './helpers';

interface Violation { ruleName: string; recommendation: string; violatingResources: { resourceName: string; locations: string[]; manifestPath: string }[] }

function context(manifests: string[]): Cdk8sValidationContext & { violations: Violation[]; status?: string } {
  const ctx = {
    manifests,
    violations: [] as Violation[],
    status: undefined as string | undefined,
    report: {
      addViolation: (v: Violation) => { ctx.violations.push(v); },
      submit: (status: 'success' | 'failure') => { ctx.status = status; },
    },
  };
  return ctx;
}

describe('cdk8s validation plugin', () => {
  test('cdk8s.yaml wires the plugin to this package', () => {
    const text = fs.readFileSync(path.join(ROOT, 'cdk8s.yaml'), 'utf8');
    expect(text).toMatch(/class: KfkitValidation/);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(text).toContain(`version: ${pkg.version}`);
  });

  test('a synthesized kfkit tree passes', async () => {
    const dir = tmpdir();
    expect(cli(['synth', '--overlays', path.join(ROOT, 'overlays'), '--out', 'dist'], dir).code).toBe(0);
    const ctx = context(listFiles(path.join(dir, 'dist')).filter((f) => f.endsWith('.yaml')).map((f) => path.join(dir, 'dist', f)));
    await new KfkitValidation().validate(ctx);
    expect(ctx.violations).toEqual([]);
    expect(ctx.status).toBe('success');
  });

  test('a broken tree fails with the rule, object, path and file', async () => {
    const dir = tmpdir();
    expect(cli(['synth', '--overlays', path.join(ROOT, 'overlays'), '--out', 'dist'], dir).code).toBe(0);
    const sts = path.join(dir, 'dist/local/05-databases/statefulset_kubeflow_mysql.yaml');
    fs.writeFileSync(sts, fs.readFileSync(sts, 'utf8').replace('image: docker.io/library/mysql:8.4.11', 'image: docker.io/library/mysql'));
    const ctx = context([sts]);
    await new KfkitValidation().validate(ctx);
    expect(ctx.status).toBe('failure');
    expect(ctx.violations).toEqual([expect.objectContaining({
      ruleName: 'image-tag',
      violatingResources: [{ resourceName: 'StatefulSet/kubeflow/mysql', locations: ['spec.template.spec.containers[0].image'], manifestPath: sts }],
    })]);
  });

  test('loose manifests are validated without the ordering rules', async () => {
    const dir = tmpdir();
    const file = path.join(dir, 'app.k8s.yaml');
    fs.writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: team\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n');
    const ctx = context([file]);
    await new KfkitValidation().validate(ctx);
    expect(ctx.violations).toEqual([]);
    fs.writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: team\n');
    const failing = context([file]);
    await new KfkitValidation().validate(failing);
    expect(failing.violations.map((v) => v.ruleName)).toEqual(['dangling-reference']);
    const skipped = context([file]);
    await new KfkitValidation({ skipRules: ['dangling-reference'] }).validate(skipped);
    expect(skipped.status).toBe('success');
  });
});
