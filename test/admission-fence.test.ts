import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { loadOverlay } from '../lib/config/load';
import { AdmissionFence, FENCED_USER_ANNOTATION } from '../lib/core/admission-fence';
import { KfkitContext } from '../lib/core/context';
import { collect } from '../lib/synth/collect';
import { synthesize } from '../lib/synth/index';
import { STACKS } from '../stacks';
import { ROOT } from './helpers';

interface PolicySpec {
  readonly failurePolicy: string;
  readonly matchConstraints: { readonly resourceRules: readonly { readonly resources: readonly string[]; readonly operations: readonly string[] }[] };
  readonly matchConditions: readonly { readonly expression: string }[];
  readonly validations: readonly { readonly expression: string; readonly messageExpression: string }[];
}

/**
 * The fences are proven on the e2e control plane (e2e/lifecycle.ts checkFences: the escalation refused, the legitimate
 * work admitted, acting as the ServiceAccounts); here, what kfkit writes and where.
 */
describe('admission fences', () => {
  const full = synthesize(loadOverlay(path.join(ROOT, 'overlays'), 'full', STACKS));
  const policy = (name: string) => full.objects.find((o) => o.manifest.kind === 'ValidatingAdmissionPolicy' && o.manifest.metadata.name === name);

  test('full: the profile controller, Katib and the training operator are fenced, each policy bound to Deny, before any controller runs', () => {
    const policies = full.objects.filter((o) => o.manifest.kind === 'ValidatingAdmissionPolicy').map((o) => o.manifest.metadata.name).sort();
    expect(policies).toEqual(['kfkit-katib-controller', 'kfkit-katib-ui', 'kfkit-profiles-controller', 'kfkit-training-operator']);
    for (const name of policies) {
      const binding = full.objects.find((o) => o.manifest.kind === 'ValidatingAdmissionPolicyBinding' && o.manifest.metadata.name === name);
      expect((binding?.manifest as unknown as { spec: unknown }).spec).toEqual({ policyName: name, validationActions: ['Deny'] });
      expect(policy(name)?.waveName).toBe('cluster');
      expect(policy(name)?.manifest.apiVersion).toBe('admissionregistration.k8s.io/v1');
    }
  });

  test('the profile controller: its namespaced writes in profile namespaces only, Kubeflow\'s roles only, no relabelled namespace', () => {
    const p = policy('kfkit-profiles-controller');
    const spec = (p?.manifest as unknown as { spec: PolicySpec }).spec;
    expect(p?.manifest.metadata.annotations?.[FENCED_USER_ANNOTATION]).toBe('system:serviceaccount:kubeflow:profiles-controller-service-account');
    expect(spec.failurePolicy).toBe('Fail');
    expect(spec.matchConditions[0].expression).toBe("request.userInfo.username == 'system:serviceaccount:kubeflow:profiles-controller-service-account'");
    expect(spec.matchConstraints.resourceRules.flatMap((r) => r.resources).sort())
      .toEqual(['authorizationpolicies', 'namespaces', 'resourcequotas', 'rolebindings', 'serviceaccounts']);
    const [inProfiles, roles, namespaces] = spec.validations.map((v) => v.expression);
    expect(inProfiles).toContain("namespaceObject.metadata.labels['app.kubernetes.io/part-of'] == 'kubeflow-profile'");
    expect(roles).toContain("object.roleRef.name in ['kubeflow-admin', 'kubeflow-edit', 'kubeflow-view']");
    expect(namespaces).toContain("request.operation != 'UPDATE' || (has(oldObject.metadata.labels)");
  });

  test('multi-user: Katib\'s controller and the training operator create ServiceAccounts, Roles and RoleBindings only in profiles, binding Roles only', () => {
    for (const name of ['kfkit-katib-controller', 'kfkit-training-operator']) {
      const spec = (policy(name)?.manifest as unknown as { spec: PolicySpec }).spec;
      expect(spec.matchConstraints.resourceRules.flatMap((r) => r.resources).sort()).toEqual(['rolebindings', 'roles', 'serviceaccounts']);
      expect(spec.validations.map((v) => v.expression)).toEqual([
        expect.stringContaining("namespaceObject.metadata.labels['app.kubernetes.io/part-of'] == 'kubeflow-profile'"),
        "request.resource.resource != 'rolebindings' || request.operation == 'DELETE' || (object.roleRef.kind == 'Role')",
      ]);
    }
  });

  test('standalone Katib or training (jobs in any namespace) is not fenced', () => {
    const onprem = loadOverlay(path.join(ROOT, 'overlays'), 'onprem', STACKS);
    const s = synthesize({ ...onprem, training: { ...onprem.training, enabled: true } });
    expect(s.objects.some((o) => o.manifest.kind === 'Deployment' && o.manifest.metadata.name === 'training-operator')).toBe(true);
    expect(s.objects.filter((o) => o.manifest.kind === 'ValidatingAdmissionPolicy')).toEqual([]);
  });

  test('without multi-user (no profile controller) and without Katib, no fence', () => {
    const local = synthesize(loadOverlay(path.join(ROOT, 'overlays'), 'local', STACKS));
    expect(local.objects.filter((o) => o.manifest.kind === 'ValidatingAdmissionPolicy')).toEqual([]);
  });

  test('a fence needs a reason, something to fence, and the label of the namespaces it allows', () => {
    const chart = new Chart(new App(), 'c');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const sa = { namespace: 'kubeflow', name: 'x' };
    expect(() => new AdmissionFence(chart, 'A', { name: 'a', serviceAccount: sa, namespaces: 'none', reason: 'no' })).toThrow(/give the reason/);
    expect(() => new AdmissionFence(chart, 'B', { name: 'b', serviceAccount: sa, reason: 'fences nothing at all' })).toThrow(/fences nothing/);
    expect(() => new AdmissionFence(chart, 'C', { name: 'c', serviceAccount: sa, namespaces: 'labelled', reason: 'labelled without a label' }))
      .toThrow(/namespaceLabel is required/);
    new AdmissionFence(chart, 'D', { name: "it's", serviceAccount: sa, namespaces: 'none', reason: 'a quote in the user name is escaped' });
    const d = collect(chart).objects.find((o) => o.manifest.metadata.name === "it's");
    expect(JSON.stringify(d?.manifest)).toContain('may not create, update or delete namespaces');
  });
});
