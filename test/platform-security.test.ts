import * as fs from 'fs';
import * as path from 'path';
import { loadOverlay } from '../lib/config/load';
import { PRIVILEGED_REASON_ANNOTATION } from '../lib/core/exceptions';
import { PlatformNamespace, POD_SECURITY_REASON_ANNOTATION } from '../lib/core/namespace';
import { App, Chart } from 'cdk8s';
import { KfkitContext } from '../lib/core/context';
import { ImageCatalog } from '../lib/core/images';
import { listOverlays } from '../lib/config/load';
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
    if (!ns?.annotations?.[POD_SECURITY_REASON_ANNOTATION]?.trim()) problems.push(`${e.workload}: namespace ${e.namespace} does not say why it is privileged`);
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

  test('standalone: the platform namespace enforces baseline (users\' steps run there), says why, and warns and audits restricted', () => {
    const ns = s.objects.find((o) => o.manifest.kind === 'Namespace')?.manifest.metadata;
    expect(ns?.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    expect(ns?.annotations?.[POD_SECURITY_REASON_ANNOTATION]).toMatch(/standalone Pipelines runs users' pipeline steps here/);
    const withoutPipelines = synthesize(localConfig({ pipelines: { enabled: false } }));
    expect(withoutPipelines.objects.find((o) => o.manifest.kind === 'Namespace')?.manifest.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});

/** Namespaces kfkit writes below `restricted` ("name (level)"), and problems: a level missing, a reason missing. */
function belowRestricted(s: Synthesized): { below: string[]; problems: string[] } {
  const below: string[] = [];
  const problems: string[] = [];
  for (const o of s.objects.filter((x) => x.manifest.kind === 'Namespace')) {
    const { name, labels, annotations } = o.manifest.metadata;
    const level = labels?.['pod-security.kubernetes.io/enforce'];
    if (!['restricted', 'baseline', 'privileged'].includes(level ?? '')) problems.push(`${name}: no Pod Security level enforced`);
    if (level === 'restricted') {
      if (annotations?.[POD_SECURITY_REASON_ANNOTATION] !== undefined) problems.push(`${name}: restricted, yet says why it is not`);
      continue;
    }
    below.push(`${name} (${String(level)})`);
    if ((annotations?.[POD_SECURITY_REASON_ANNOTATION]?.trim().length ?? 0) < 10) problems.push(`${name}: enforces ${String(level)} without ${POD_SECURITY_REASON_ANNOTATION}`);
  }
  return { below: below.sort(), problems };
}

/** README's table of the namespaces below `restricted`, per environment. */
function readmeBelowRestricted(): Map<string, string[]> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- pod-security-below-restricted -->([\s\S]*?)<!-- \/pod-security-below-restricted -->/.exec(readme);
  if (!m) throw new Error('README.md has no pod-security-below-restricted table');
  const rows = m[1].split('\n').map((l) => l.trim()).filter((l) => l.startsWith('|') && !l.startsWith('|---') && !l.startsWith('| environment'));
  return new Map(rows.map((r) => {
    const [env, list] = r.split('|').slice(1, 3).map((c) => c.trim());
    return [env, list.split(/,\s*/).filter((x) => x !== '' && x !== '—').sort()];
  }));
}

describe('every namespace kfkit creates enforces restricted or says why not', () => {
  const readme = readmeBelowRestricted();
  const envs = listOverlays(path.join(ROOT, 'overlays'));

  test.each(envs)('%s: levels and reasons, as README states', (env) => {
    const { below, problems } = belowRestricted(synthesize(loadOverlay(path.join(ROOT, 'overlays'), env, STACKS)));
    expect(problems).toEqual([]);
    expect(below).toEqual(readme.get(env));
  });

  test('README covers every environment', () => {
    expect([...readme.keys()].sort()).toEqual([...envs].sort());
  });

  test('multi-user: the platform namespace enforces restricted (steps run in the profiles\' namespaces)', () => {
    const full = synthesize(loadOverlay(path.join(ROOT, 'overlays'), 'full', STACKS));
    const ns = full.objects.find((o) => o.manifest.kind === 'Namespace' && o.manifest.metadata.name === 'kubeflow')?.manifest.metadata;
    expect(ns?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(ns?.annotations).not.toHaveProperty(POD_SECURITY_REASON_ANNOTATION);
  });

  test('the walk reports a namespace below restricted without a reason, and one with no level', () => {
    const s = synthesize(localConfig());
    const strip = (o: (typeof s.objects)[number]) => o.manifest.kind !== 'Namespace' ? o : {
      ...o, manifest: { ...o.manifest, metadata: { ...o.manifest.metadata, annotations: {}, labels: {} } },
    };
    expect(belowRestricted({ ...s, objects: s.objects.map(strip) }).problems).toEqual(['kubeflow: no Pod Security level enforced', 'kubeflow: enforces undefined without kfkit.dev/pod-security-reason']);
    const unexplained = (o: (typeof s.objects)[number]) => o.manifest.kind !== 'Namespace' ? o : {
      ...o, manifest: { ...o.manifest, metadata: { ...o.manifest.metadata, annotations: {} } },
    };
    expect(belowRestricted({ ...s, objects: s.objects.map(unexplained) }).problems).toEqual(['kubeflow: enforces baseline without kfkit.dev/pod-security-reason']);
  });

  test('PlatformNamespace refuses a reason on a restricted namespace, and a reason that is not a sentence', () => {
    const app = new App();
    const chart = new Chart(app, 'c');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'], images: new ImageCatalog() });
    const restricted = new PlatformNamespace(chart, 'R', { name: 'r' });
    expect(() => { restricted.explainPodSecurity('because I say so, at length'); }).toThrow(/enforces restricted: there is no exception to explain/);
    expect(() => new PlatformNamespace(chart, 'B', { name: 'b', podSecurity: 'baseline', podSecurityReason: 'why' })).toThrow(/reason must be a sentence/);
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
