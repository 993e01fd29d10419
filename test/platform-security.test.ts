import { synthesize } from '../lib/synth/index';
import { containersOf, podTemplateOf } from '../lib/validate/util';
import { localConfig } from './helpers';

/**
 * Every pod kfkit itself writes meets the Pod Security Standards `restricted` profile, whatever the namespace
 * enforces (the platform namespace enforces `baseline` while users' pipeline steps run there).
 */
describe('platform pods meet the restricted profile', () => {
  const s = synthesize(localConfig());

  test('pod and container security contexts', () => {
    const templates = s.objects.map((o) => ({ o, t: podTemplateOf(o.manifest) })).filter((x) => x.t !== undefined);
    expect(templates.length).toBeGreaterThan(15);
    const problems: string[] = [];
    for (const { o, t } of templates) {
      if (!t) continue;
      const pod = t.spec.securityContext as Record<string, unknown> | undefined;
      for (const { container, field } of containersOf(t)) {
        const sc = (container.securityContext ?? {}) as Record<string, unknown>;
        const id = `${o.manifest.kind}/${o.manifest.metadata.name} ${field} ${String(container.name)}`;
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${id}: allowPrivilegeEscalation`);
        if (sc.privileged === true) problems.push(`${id}: privileged`);
        if (JSON.stringify((sc.capabilities as { drop?: unknown } | undefined)?.drop) !== '["ALL"]') problems.push(`${id}: capabilities.drop`);
        if (sc.runAsNonRoot !== true && pod?.runAsNonRoot !== true) problems.push(`${id}: runAsNonRoot`);
        if (sc.runAsUser === 0 || pod?.runAsUser === 0) problems.push(`${id}: runAsUser 0`);
        const seccomp = (sc.seccompProfile ?? pod?.seccompProfile) as { type?: string } | undefined;
        if (seccomp?.type !== 'RuntimeDefault' && seccomp?.type !== 'Localhost') problems.push(`${id}: seccompProfile`);
      }
      for (const v of (t.spec.volumes ?? []) as Record<string, unknown>[]) {
        if ('hostPath' in v) problems.push(`${o.manifest.kind}/${o.manifest.metadata.name}: hostPath volume`);
      }
      if (t.spec.hostNetwork === true || t.spec.hostPID === true || t.spec.hostIPC === true) problems.push(`${o.manifest.metadata.name}: host namespaces`);
    }
    expect(problems).toEqual([]);
  });

  test('the platform namespace enforces baseline (users\' steps run there) and warns and audits restricted', () => {
    const ns = s.objects.find((o) => o.manifest.kind === 'Namespace')?.manifest.metadata.labels;
    expect(ns).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    const withoutPipelines = synthesize(localConfig({ pipelines: { enabled: false } }));
    expect(withoutPipelines.objects.find((o) => o.manifest.kind === 'Namespace')?.manifest.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});
