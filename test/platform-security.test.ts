import * as path from 'path';
import { loadOverlay } from '../lib/config/load';
import { PRIVILEGED_REASON_ANNOTATION } from '../lib/core/exceptions';
import { Synthesized } from '../lib/synth/collect';
import { synthesize } from '../lib/synth/index';
import { K8sObject } from '../lib/validate/types';
import { containersOf, podTemplateOf } from '../lib/validate/util';
import { STACKS } from '../stacks';
import { localConfig, ROOT } from './helpers';

/** A pod kfkit writes outside the restricted profile on purpose, with the reason it carries. */
interface PrivilegedException {
  readonly workload: string;
  readonly namespace: string;
  readonly reason: string;
}

/** Annotations of the pod template of a workload (the pod's own for a Pod). */
function podAnnotations(manifest: K8sObject): Partial<Record<string, string>> {
  const spec = manifest.spec as Record<string, unknown> | undefined;
  const template = manifest.kind === 'CronJob'
    ? ((spec?.jobTemplate as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } } | undefined)?.spec?.template)
    : manifest.kind === 'Pod' ? { metadata: manifest.metadata } : (spec?.template as { metadata?: { annotations?: Record<string, string> } } | undefined);
  return { ...template?.metadata?.annotations };
}

/**
 * Checks every pod template against the restricted profile. Pods carrying `kfkit.dev/privileged-reason` are the
 * platform's declared exceptions: they are not checked, but listed with their reason.
 */
function audit(s: Synthesized): { problems: string[]; exceptions: PrivilegedException[]; templates: number } {
  const templates = s.objects.map((o) => ({ o, t: podTemplateOf(o.manifest) })).filter((x) => x.t !== undefined);
  const problems: string[] = [];
  const exceptions: PrivilegedException[] = [];
  for (const { o, t } of templates) {
    if (!t) continue;
    const reason = podAnnotations(o.manifest)[PRIVILEGED_REASON_ANNOTATION];
    if (reason !== undefined) {
      exceptions.push({ workload: `${o.manifest.kind}/${o.manifest.metadata.namespace ?? ''}/${o.manifest.metadata.name}`, namespace: o.manifest.metadata.namespace ?? '', reason });
      continue;
    }
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
  return { problems, exceptions, templates: templates.length };
}

/** Problems of the exceptions themselves: a reason, on the workload too, and a namespace that admits them and says why. */
function exceptionProblems(s: Synthesized, exceptions: readonly PrivilegedException[]): string[] {
  const problems: string[] = [];
  for (const e of exceptions) {
    if (e.reason.trim().length === 0) problems.push(`${e.workload}: empty ${PRIVILEGED_REASON_ANNOTATION}`);
    const workload = s.objects.find((o) => `${o.manifest.kind}/${o.manifest.metadata.namespace ?? ''}/${o.manifest.metadata.name}` === e.workload);
    if (workload?.manifest.metadata.annotations?.[PRIVILEGED_REASON_ANNOTATION] !== e.reason) problems.push(`${e.workload}: the workload does not carry the pod's reason`);
    if (e.namespace === 'kube-system') continue; // no Pod Security labels: admits privileged pods
    const ns = s.objects.find((o) => o.manifest.kind === 'Namespace' && o.manifest.metadata.name === e.namespace)?.manifest.metadata;
    if (ns?.labels?.['pod-security.kubernetes.io/enforce'] !== 'privileged') problems.push(`${e.workload}: namespace ${e.namespace} does not enforce privileged`);
    if (!ns?.annotations?.[PRIVILEGED_REASON_ANNOTATION]?.trim()) problems.push(`${e.workload}: namespace ${e.namespace} does not say why it is privileged`);
  }
  return problems;
}

/**
 * Every pod kfkit itself writes meets the Pod Security Standards `restricted` profile, whatever the namespace
 * enforces (the platform namespace enforces `baseline` while users' pipeline steps run there) — except the declared
 * privileged exceptions (`kfkit.dev/privileged-reason`), which are listed here one by one.
 */
describe('platform pods meet the restricted profile', () => {
  const s = synthesize(localConfig());

  test('pod and container security contexts', () => {
    const { problems, exceptions, templates } = audit(s);
    expect(templates).toBeGreaterThan(15);
    expect(problems).toEqual([]);
    expect(exceptions).toEqual([]);
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

describe('privileged exceptions', () => {
  const onprem = loadOverlay(path.join(ROOT, 'overlays'), 'onprem', STACKS);

  test('with a managed GPU pool, the NVIDIA device plugin is the only exception, with its reason, in a namespace that admits it', () => {
    const s = synthesize(onprem);
    const { problems, exceptions } = audit(s);
    expect(problems).toEqual([]);
    expect(exceptions.map((e) => e.workload)).toEqual(['DaemonSet/gpu-system/nvidia-device-plugin-daemonset']);
    expect(exceptions[0].reason).toMatch(/\/var\/lib\/kubelet\/device-plugins/);
    expect(exceptionProblems(s, exceptions)).toEqual([]);
    // Declaring the exception does not relax the platform namespace.
    expect(s.objects.find((o) => o.manifest.kind === 'Namespace' && o.manifest.metadata.name === 'kubeflow')?.manifest.metadata.labels)
      .toMatchObject({ 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/warn': 'restricted' });
  });

  test('the DCGM exporter, when enabled, is the second one', () => {
    const s = synthesize({ ...onprem, gpu: { ...onprem.gpu, dcgmExporter: { ...onprem.gpu.dcgmExporter, enabled: true } } });
    const { problems, exceptions } = audit(s);
    expect(problems).toEqual([]);
    expect(exceptions.map((e) => e.workload)).toEqual(['DaemonSet/gpu-system/dcgm-exporter', 'DaemonSet/gpu-system/nvidia-device-plugin-daemonset']);
    expect(exceptionProblems(s, exceptions)).toEqual([]);
  });

  test('a pod with an empty reason, or in a namespace that does not admit it, is reported', () => {
    const s = synthesize(onprem);
    const { exceptions } = audit(s);
    const bad = exceptions.map((e) => ({ ...e, reason: ' ' }));
    expect(exceptionProblems(s, bad)).toEqual(expect.arrayContaining([expect.stringMatching(/empty kfkit.dev\/privileged-reason/)]));
    const elsewhere = exceptions.map((e) => ({ ...e, namespace: 'kubeflow' }));
    expect(exceptionProblems(s, elsewhere)).toEqual(expect.arrayContaining([expect.stringMatching(/namespace kubeflow does not enforce privileged/)]));
  });
});
