import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { ConfigError, loadOverlay, resolveConfig } from '../lib/config/load';
import { PlatformConfig } from '../lib/config/schema';
import { KfkitContext } from '../lib/core/context';
import { PRIVILEGED_REASON_ANNOTATION, privilegedPod } from '../lib/core/exceptions';
import {
  GPU_POOL_LABEL, GPU_RESOURCE, gpuNodeAffinity, gpuNodeSelector, gpuPool, GpuPool, gpuQuotaIssues, gpuResources, gpuTolerations, withGpus,
} from '../lib/core/gpu';
import { ImageCatalog } from '../lib/core/images';
import { POD_SECURITY_REASON_ANNOTATION } from '../lib/core/namespace';
import { KubeflowPlatform } from '../lib/platform';
import { podTemplate } from '../lib/core/workload';
import { collect, Synthesized } from '../lib/synth/collect';
import { checkPlatform, synthesize } from '../lib/synth/index';
import { validate } from '../lib/validate/harness';
import { K8sObject } from '../lib/validate/types';
import { STACKS } from '../stacks';
import { cli, listFiles, ROOT, tmpdir, withOverlays } from './helpers';

const BUDGET = { cpu: { request: '1' }, memory: { request: '4Gi', limit: '8Gi' } };
const ONPREM = loadOverlay(path.join(ROOT, 'overlays'), 'onprem', STACKS);

/** The on-prem stack with the given `gpu` section (and anything else). */
function onprem(overrides: Record<string, unknown>): PlatformConfig {
  return resolveConfig({ stack: 'onprem', cluster: { apiServer: { cidrs: ['192.0.2.0/24'] } }, ...overrides }, STACKS);
}

function find(s: Synthesized, kind: string, name: string): K8sObject | undefined {
  return s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name)?.manifest;
}

interface PodSpecJson {
  readonly containers: {
    name: string; image: string; command?: string[]; env?: { name: string; value?: string }[]; securityContext?: Record<string, unknown>;
  }[];
  readonly volumes?: { name: string; hostPath?: { path: string; type?: string } }[];
  readonly tolerations?: Record<string, unknown>[];
  readonly priorityClassName?: string;
  readonly affinity?: { nodeAffinity: k8s.NodeAffinity };
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
}

function podSpec(o: K8sObject | undefined): PodSpecJson {
  if (!o) throw new Error('workload not found');
  return (o.spec as { template: { spec: PodSpecJson } }).template.spec;
}

function affinityTerms(o: K8sObject | undefined): Record<string, string>[] {
  const terms = podSpec(o).affinity?.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  return terms.map((t) => Object.fromEntries((t.matchExpressions ?? []).map((e) => {
    expect(e.operator).toBe('In');
    return [e.key, (e.values ?? []).join(',')];
  })));
}

const DEVICE_PLUGIN = 'nvidia-device-plugin-daemonset';

describe('GPU scheduling helpers', () => {
  const pool = gpuPool({ name: 'a100', devicePlugin: 'managed' });

  test('gpuResources: the GPUs in limits and, equal, in requests, next to the CPU/memory budget', () => {
    const r = gpuResources(2, BUDGET);
    expect(r.requests?.[GPU_RESOURCE].value).toBe(2);
    expect(r.limits?.[GPU_RESOURCE].value).toBe(2);
    expect(r.requests?.cpu.value).toBe('1');
    expect(r.limits?.memory.value).toBe('8Gi');
    expect(gpuResources(1, BUDGET, 'nvidia.com/mig-1g.10gb').limits?.['nvidia.com/mig-1g.10gb'].value).toBe(1);
    expect(() => gpuResources(0, BUDGET)).toThrow(/positive whole number/);
    expect(() => gpuResources(0.5, BUDGET)).toThrow(/positive whole number/);
    expect(() => gpuResources(1, BUDGET, 'amd.com/gpu')).toThrow(/not an NVIDIA extended resource/);
  });

  test('pools: default node selector, tolerations and affinity', () => {
    expect(pool).toEqual({ name: 'a100', nodeSelector: { [GPU_POOL_LABEL]: 'a100' }, taint: true, devicePlugin: 'managed' });
    expect(gpuNodeSelector(pool)).toEqual({ 'kfkit.dev/gpu-pool': 'a100' });
    const onPrem = gpuPool({ name: 'lab', nodeSelector: { 'nvidia.com/gpu.present': 'true' }, taint: false, devicePlugin: 'bundled' });
    expect(gpuNodeSelector(onPrem)).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(gpuTolerations()).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(gpuTolerations(pool)).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(gpuTolerations(onPrem)).toEqual([]);
    expect(gpuNodeAffinity([pool, onPrem]).requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'kfkit.dev/gpu-pool', operator: 'In', values: ['a100'] }] },
      { matchExpressions: [{ key: 'nvidia.com/gpu.present', operator: 'In', values: ['true'] }] },
    ]);
    expect(() => gpuNodeAffinity([])).toThrow(/at least one/);
    expect(() => gpuPool({ name: 'x', nodeSelector: {}, devicePlugin: 'managed' })).toThrow(/empty selector/);
    expect(() => gpuPool({ name: 'x', nodeSelector: { 'bad key!': 'v' }, devicePlugin: 'managed' })).toThrow(/label key/);
  });

  test('a pod template using them is valid (validation harness: OpenAPI, references, resources)', () => {
    const app = new App();
    const chart = new Chart(app, 'gpu', { disableResourceNameHashes: true });
    KfkitContext.create(app, { apiServerCidrs: ['192.0.2.0/24'] });
    const identity = { name: 'trainer', component: 'training' };
    new k8s.KubeServiceAccount(chart, 'Sa', { metadata: { name: 'trainer', namespace: 'default' } });
    const template = withGpus(podTemplate(chart, {
      identity,
      serviceAccountName: 'trainer',
      containers: [{ name: 'main', image: 'ghcr.io/example/trainer:1.0', resources: { cpu: { request: '100m' }, memory: { request: '1Gi', limit: '1Gi' } } }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
    }), { container: 'main', count: 4, budget: BUDGET, pool });
    new k8s.KubeDeployment(chart, 'Trainer', {
      metadata: { name: 'trainer', namespace: 'default' },
      spec: { selector: { matchLabels: { 'app.kubernetes.io/name': 'trainer', 'app.kubernetes.io/component': 'training' } }, template },
    });
    const s = collect(chart);
    expect(validate(s)).toEqual([]);
    const spec = podSpec(find(s, 'Deployment', 'trainer')) as PodSpecJson & { nodeSelector: Record<string, string>; containers: { resources: unknown }[] };
    expect(spec.containers[0].resources).toEqual({
      limits: { 'memory': '8Gi', 'nvidia.com/gpu': 4 },
      requests: { 'cpu': '1', 'memory': '4Gi', 'nvidia.com/gpu': 4 },
    });
    expect(spec.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux', 'kfkit.dev/gpu-pool': 'a100' });
    expect(spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(spec.containers[0].securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false });
  });

  test('withGpus refuses a pool without GPUs and an unknown container', () => {
    const app = new App();
    KfkitContext.create(app, { apiServerCidrs: ['192.0.2.0/24'] });
    const t = podTemplate(app, { identity: { name: 'x', component: 'y' }, serviceAccountName: 'x', containers: [{ name: 'main', image: 'a.io/x:1', resources: BUDGET }] });
    expect(() => withGpus(t, { container: 'main', count: 1, budget: BUDGET, pool: gpuPool({ name: 'dra', devicePlugin: 'none' }) })).toThrow(/devicePlugin none/);
    expect(() => withGpus(t, { container: 'nope', count: 1, budget: BUDGET, pool })).toThrow(/no container "nope"/);
  });

  test('privilegedPod needs a reason and an existing container', () => {
    const app = new App();
    KfkitContext.create(app, { apiServerCidrs: ['192.0.2.0/24'] });
    const t = podTemplate(app, { identity: { name: 'x', component: 'y' }, serviceAccountName: 'x', containers: [{ name: 'main', image: 'a.io/x:1', resources: BUDGET }] });
    expect(() => privilegedPod(t, { reason: ' ', containerSecurityContexts: {} })).toThrow(/needs its reason/);
    expect(() => privilegedPod(t, { reason: 'needs the host for a test', containerSecurityContexts: { other: {} } })).toThrow(/no container "other"/);
    const p = privilegedPod(t, { reason: 'needs the host for a test', containerSecurityContexts: { main: { runAsUser: 0 } } });
    expect(p.metadata?.annotations?.[PRIVILEGED_REASON_ANNOTATION]).toBe('needs the host for a test');
    expect(p.spec?.containers[0].securityContext).toEqual({ runAsUser: 0 });
  });
});

describe('gpuQuotaIssues (for sections that hand out GPUs, e.g. tenant quotas)', () => {
  const at = ['profiles', 0, 'quota', 'gpus'];
  test('a GPU quota with no GPU pool is an issue at the given path', () => {
    const issues = gpuQuotaIssues({ gpu: { pools: [] } }, 2, at);
    expect(issues).toEqual([{ path: at, message: expect.stringMatching(/quota of 2 GPUs needs a GPU pool/) as string }]);
    expect(gpuQuotaIssues({ gpu: { pools: [{ name: 'dra', devicePlugin: 'none' }] } }, 1, at)[0].message).toMatch(/dra has devicePlugin none/);
  });
  test('no issue with a pool that advertises GPUs, or a zero quota; malformed counts are issues', () => {
    expect(gpuQuotaIssues(ONPREM, 8, at)).toEqual([]);
    expect(gpuQuotaIssues({ gpu: { pools: [{ name: 'eks', devicePlugin: 'bundled' }] } }, 8, at)).toEqual([]);
    expect(gpuQuotaIssues({ gpu: { pools: [] } }, 0, at)).toEqual([]);
    expect(gpuQuotaIssues({ gpu: { pools: [] } }, -1, at)[0].message).toMatch(/whole number/);
    expect(gpuQuotaIssues(ONPREM, 1.5, at)[0].message).toMatch(/whole number/);
  });
});

describe('NVIDIA device plugin', () => {
  const s = synthesize(ONPREM);
  const ds = find(s, 'DaemonSet', DEVICE_PLUGIN);

  test('upstream facts: image, command, env, host path, tolerations, priority class, rolling update', () => {
    expect(ds?.metadata.namespace).toBe('gpu-system');
    const spec = podSpec(ds);
    expect(spec.containers.map((c) => c.name)).toEqual(['nvidia-device-plugin-ctr']);
    const c = spec.containers[0];
    expect(c.image).toBe('nvcr.io/nvidia/k8s-device-plugin:v0.20.0');
    expect(c.command).toEqual(['nvidia-device-plugin']);
    expect(Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]))).toEqual({
      FAIL_ON_INIT_ERROR: 'true', MIG_STRATEGY: 'none', DEVICE_LIST_STRATEGY: 'envvar', DEVICE_ID_STRATEGY: 'uuid',
    });
    expect(spec.volumes).toEqual([{ name: 'kubelet-device-plugins-dir', hostPath: { path: '/var/lib/kubelet/device-plugins', type: 'Directory' } }]);
    expect((c as unknown as { volumeMounts: unknown }).volumeMounts).toEqual([{ name: 'kubelet-device-plugins-dir', mountPath: '/var/lib/kubelet/device-plugins' }]);
    expect(spec.tolerations).toEqual([
      { key: 'CriticalAddonsOnly', operator: 'Exists' },
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    expect(spec.priorityClassName).toBe('system-node-critical');
    expect((ds?.spec as { updateStrategy: unknown }).updateStrategy).toEqual({ type: 'RollingUpdate' });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, runAsUser: 0 });
    expect(spec.serviceAccountName).toBe('nvidia-device-plugin');
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(ds?.metadata.annotations?.[PRIVILEGED_REASON_ANNOTATION]).toMatch(/device-plugins/);
  });

  test('the pool\'s admin labels are the node affinity', () => {
    expect(affinityTerms(ds)).toEqual([{ 'nvidia.com/gpu.present': 'true' }]);
  });

  test('installs in the gpu wave, after cluster configuration and before the controllers, and its rollout is awaited', () => {
    const names = s.waves.map((w) => w.name);
    expect(names.indexOf('gpu')).toBeGreaterThan(names.indexOf('cluster'));
    expect(names.indexOf('gpu')).toBeLessThan(names.indexOf('controllers'));
    const gpu = s.waves.find((w) => w.name === 'gpu');
    expect(gpu?.waits).toContainEqual({ kind: 'DaemonSet', namespace: 'gpu-system', name: DEVICE_PLUGIN, readiness: { type: 'rollout' } });
    const inGpu = s.objects.filter((o) => o.waveName === 'gpu').map((o) => `${o.manifest.kind}/${o.manifest.metadata.name}`);
    expect(inGpu).toEqual(['DaemonSet/nvidia-device-plugin-daemonset', 'ResourceQuota/critical-pods', 'ServiceAccount/nvidia-device-plugin']);
  });

  test('its namespace enforces privileged with the reason, is default-deny, and admits system-node-critical pods', () => {
    const ns = find(s, 'Namespace', 'gpu-system');
    expect(ns?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
    expect(ns?.metadata.annotations?.[POD_SECURITY_REASON_ANNOTATION]).toMatch(/^GPU node agents need the host: the NVIDIA device plugin/);
    expect(s.objects.filter((o) => o.manifest.kind === 'NetworkPolicy' && o.manifest.metadata.namespace === 'gpu-system').map((o) => o.manifest.metadata.name).sort())
      .toEqual(['allow-dns', 'default-deny']);
    expect((find(s, 'ResourceQuota', 'critical-pods')?.spec as { scopeSelector: unknown }).scopeSelector)
      .toEqual({ matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }] });
  });

  test('node affinity targets only the managed pools', () => {
    const mixed = synthesize(onprem({
      gpu: {
        pools: [
          { name: 'lab', nodeSelector: { 'example.com/rack': 'r1', 'nvidia.com/gpu.present': 'true' }, devicePlugin: 'managed' },
          { name: 'operator', nodeSelector: { 'example.com/rack': 'r2' }, devicePlugin: 'bundled' },
          { name: 'kfkit', devicePlugin: 'managed', taint: false },
          { name: 'dra', nodeSelector: { 'example.com/dra': 'true' }, devicePlugin: 'none' },
        ],
      },
    }));
    expect(affinityTerms(find(mixed, 'DaemonSet', DEVICE_PLUGIN))).toEqual([
      { 'example.com/rack': 'r1', 'nvidia.com/gpu.present': 'true' },
      { 'kfkit.dev/gpu-pool': 'kfkit' },
    ]);
  });

  test('bundled (or none) pools only: no device plugin, no namespace, nothing at all', () => {
    const bundled = synthesize(onprem({ gpu: { pools: [{ name: 'bottlerocket', devicePlugin: 'bundled' }, { name: 'dra', devicePlugin: 'none' }] } }));
    expect(bundled.objects.filter((o) => o.manifest.metadata.namespace === 'gpu-system' || o.manifest.metadata.name === 'gpu-system')).toEqual([]);
    expect(bundled.waves.map((w) => w.name)).not.toContain('gpu');
    expect(synthesize(onprem({})).objects.some((o) => o.manifest.kind === 'DaemonSet')).toBe(false);
  });

  test('MIG and volume-mounts add CAP_SYS_ADMIN (as upstream\'s chart) and say so in the reason; an image override is used as written', () => {
    const mig = synthesize(onprem({ gpu: { ...ONPREM.gpu, devicePlugin: { migStrategy: 'mixed', image: 'registry.corp/nvidia/k8s-device-plugin:v0.19.3' } } }));
    const ds2 = find(mig, 'DaemonSet', DEVICE_PLUGIN);
    const c = podSpec(ds2).containers[0];
    expect(c.image).toBe('registry.corp/nvidia/k8s-device-plugin:v0.19.3');
    expect(c.securityContext?.capabilities).toEqual({ add: ['SYS_ADMIN'], drop: ['ALL'] });
    expect(Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]))).toMatchObject({ MIG_STRATEGY: 'mixed', NVIDIA_MIG_MONITOR_DEVICES: 'all' });
    expect(ds2?.metadata.annotations?.[PRIVILEGED_REASON_ANNOTATION]).toMatch(/CAP_SYS_ADMIN for MIG strategy mixed/);
    const vm = synthesize(onprem({ gpu: { ...ONPREM.gpu, devicePlugin: { deviceListStrategy: 'volume-mounts' } } }));
    expect(podSpec(find(vm, 'DaemonSet', DEVICE_PLUGIN)).containers[0].securityContext?.capabilities).toEqual({ add: ['SYS_ADMIN'], drop: ['ALL'] });
  });

  test('the registry mirror and pull Secrets apply; the pull Secrets are declared in the GPU namespace', () => {
    const config = onprem({ ...ONPREM, images: { registryMirror: 'mirror.corp:5000', pullSecrets: ['regcred'] } });
    const m = synthesize(config);
    expect(podSpec(find(m, 'DaemonSet', DEVICE_PLUGIN)).containers[0].image).toBe('mirror.corp:5000/nvidia/k8s-device-plugin:v0.20.0');
    expect(m.externalObjects).toContainEqual(expect.objectContaining({ kind: 'Secret', namespace: 'gpu-system', name: 'regcred' }));
    expect(checkPlatform(m, config).filter((f) => f.object.includes('gpu-system'))).toEqual([]);
    expect(new ImageCatalog().image('dcgm-exporter')).toBe('nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless');
  });
});

describe('DCGM exporter', () => {
  test('off by default', () => {
    const s = synthesize(ONPREM);
    expect(find(s, 'DaemonSet', 'dcgm-exporter')).toBeUndefined();
    expect(find(s, 'Service', 'dcgm-exporter')).toBeUndefined();
  });

  test('on: DaemonSet on every pool that advertises GPUs, metrics Service on 9400, scraper policy, valid', () => {
    const config = onprem({
      gpu: {
        pools: [
          { name: 'lab', nodeSelector: { 'nvidia.com/gpu.present': 'true' }, devicePlugin: 'managed' },
          { name: 'eks', devicePlugin: 'bundled' },
          { name: 'dra', nodeSelector: { 'example.com/dra': 'true' }, devicePlugin: 'none' },
        ],
        dcgmExporter: { enabled: true, scrapeFrom: { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus' } } },
      },
    });
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    const ds = find(s, 'DaemonSet', 'dcgm-exporter');
    const spec = podSpec(ds);
    const c = spec.containers[0];
    expect(c.image).toBe('nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless');
    expect((c.env ?? []).map((e) => e.name)).toEqual(['DCGM_EXPORTER_LISTEN', 'DCGM_EXPORTER_KUBERNETES', 'NODE_NAME']);
    expect(spec.volumes).toEqual([{ name: 'pod-gpu-resources', hostPath: { path: '/var/lib/kubelet/pod-resources', type: 'Directory' } }]);
    expect(c.securityContext).toMatchObject({ capabilities: { add: ['SYS_ADMIN'], drop: ['ALL'] }, runAsUser: 0, allowPrivilegeEscalation: false });
    expect(spec.priorityClassName).toBe('system-node-critical');
    expect(affinityTerms(ds)).toEqual([{ 'nvidia.com/gpu.present': 'true' }, { 'kfkit.dev/gpu-pool': 'eks' }]);
    expect((find(s, 'Service', 'dcgm-exporter')?.spec as { ports: unknown }).ports).toEqual([{ name: 'metrics', port: 9400, targetPort: 9400, protocol: 'TCP' }]);
    const policy = find(s, 'NetworkPolicy', 'dcgm-exporter-from-scraper')?.spec as { ingress: unknown };
    expect(policy.ingress).toEqual([{
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
      ports: [{ port: 9400, protocol: 'TCP' }],
    }]);
    expect(find(s, 'Namespace', 'gpu-system')?.metadata.annotations?.[POD_SECURITY_REASON_ANNOTATION]).toMatch(/device plugin .*; the DCGM exporter/);
  });

  test('with bundled pools only, the exporter alone makes the namespace', () => {
    const s = synthesize(onprem({ gpu: { pools: [{ name: 'eks', devicePlugin: 'bundled' }], dcgmExporter: { enabled: true } } }));
    expect(find(s, 'DaemonSet', DEVICE_PLUGIN)).toBeUndefined();
    expect(find(s, 'DaemonSet', 'dcgm-exporter')).toBeDefined();
    expect(find(s, 'Namespace', 'gpu-system')?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });
});

describe('gpu configuration rules', () => {
  const bad = (gpu: Record<string, unknown>, extra: Record<string, unknown> = {}): { path: string; message: string }[] => {
    try {
      resolveConfig({ stack: 'onprem', cluster: { apiServer: { cidrs: ['192.0.2.0/24'] } }, gpu, ...extra }, STACKS);
    } catch (e) {
      if (e instanceof ConfigError) return [...e.issues];
      throw e;
    }
    throw new Error('expected a ConfigError');
  };
  const pool = (name: string, more: Record<string, unknown> = {}) => ({ name, devicePlugin: 'managed', ...more });

  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['duplicate pool', { pools: [pool('a100'), pool('a100', { nodeSelector: { x: 'y' } })] }, 'gpu.pools[1].name', /duplicate pool name "a100" \(also gpu.pools\[0\]\)/],
    ['pool name not a DNS label', { pools: [pool('A100_x')] }, 'gpu.pools[0].name', /DNS label/],
    ['bad label key', { pools: [pool('a', { nodeSelector: { 'bad key': 'true' } })] }, 'gpu.pools[0].nodeSelector.bad key', /label key name/],
    ['bad label prefix', { pools: [pool('a', { nodeSelector: { 'Example.COM/gpu': 'true' } })] }, 'gpu.pools[0].nodeSelector.Example.COM/gpu', /DNS subdomain/],
    ['bad label value', { pools: [pool('a', { nodeSelector: { 'nvidia.com/gpu.present': 'yes please' } })] }, 'gpu.pools[0].nodeSelector.nvidia.com/gpu.present', /label value/],
    ['empty node selector', { pools: [pool('a', { nodeSelector: {} })] }, 'gpu.pools[0].nodeSelector', /empty selector matches every node/],
    ['missing devicePlugin', { pools: [{ name: 'a' }] }, 'gpu.pools[0].devicePlugin', /.+/],
    ['managed selector covering a bundled pool', {
      pools: [pool('wide', { nodeSelector: { 'nvidia.com/gpu.present': 'true' } }),
        { name: 'op', nodeSelector: { 'nvidia.com/gpu.present': 'true', 'example.com/operator': 'yes' }, devicePlugin: 'bundled' }],
    }, 'gpu.pools[0].nodeSelector', /selects every node of pool op \(devicePlugin bundled\)/],
    ['DCGM exporter without a pool', { dcgmExporter: { enabled: true } }, 'gpu.dcgmExporter.enabled', /no pool in gpu.pools has devicePlugin managed or bundled/],
    ['DCGM exporter with devicePlugin none only', { pools: [{ name: 'dra', devicePlugin: 'none' }], dcgmExporter: { enabled: true } }, 'gpu.dcgmExporter.enabled', /no pool/],
    ['MIG without a managed pool', { pools: [{ name: 'eks', devicePlugin: 'bundled' }], devicePlugin: { migStrategy: 'single' } }, 'gpu.devicePlugin.migStrategy', /no pool has devicePlugin managed/],
    ['unpinned device plugin image', { pools: [pool('a')], devicePlugin: { image: 'nvcr.io/nvidia/k8s-device-plugin:latest' } }, 'gpu.devicePlugin.image', /mutable tag :latest/],
    ['gpu namespace = platform namespace', { namespace: 'kubeflow' }, 'gpu.namespace', /is the platform namespace/],
    ['gpu namespace reserved', { namespace: 'kube-system' }, 'gpu.namespace', /is a reserved namespace/],
    ['bad scraper label', { pools: [pool('a')], dcgmExporter: { enabled: true, scrapeFrom: { namespace: 'monitoring', podLabels: { 'a b': 'c' } } } },
      'gpu.dcgmExporter.scrapeFrom.podLabels.a b', /label key/],
  ])('%s', (_name, gpu, fieldPath, message) => {
    const issues = bad(gpu);
    const issue = issues.find((i) => i.path === fieldPath);
    expect([fieldPath, issue?.message]).toEqual([fieldPath, expect.stringMatching(message)]);
  });

  test('through the CLI: exit code 2, the field path, nothing written', () => {
    const dir = withOverlays({ bad: 'stack: onprem\ngpu:\n  pools:\n    - { name: a, devicePlugin: managed }\n    - { name: a, devicePlugin: bundled }\n' });
    const result = cli(['synth', '--env', 'bad', '--out', 'out'], dir);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/- gpu\.pools\[1\]\.name: duplicate pool name "a"/);
    expect(listFiles(path.join(dir, 'out'))).toEqual([]);
  });

  test('defaults: no pools, exporter off, migStrategy none, the gpu-system namespace', () => {
    const c = onprem({});
    expect(c.gpu).toMatchObject({ namespace: 'gpu-system', pools: [], devicePlugin: { migStrategy: 'none', deviceListStrategy: 'envvar' }, dcgmExporter: { enabled: false } });
    expect(ONPREM.gpu.pools).toEqual([{ name: 'datacenter', nodeSelector: { 'nvidia.com/gpu.present': 'true' }, taint: true, devicePlugin: 'managed' }]);
  });
});

describe('onprem stack and overlay', () => {
  test('larger defaults than local, in-cluster data layer', () => {
    const local = resolveConfig({ stack: 'local' }, STACKS);
    if (ONPREM.database.type !== 'in-cluster' || local.database.type !== 'in-cluster') throw new Error('expected in-cluster databases');
    expect(ONPREM.database.storage.size).toBe('50Gi');
    expect(ONPREM.objectStore).toMatchObject({ type: 'in-cluster', storage: { size: '200Gi' } });
    expect(ONPREM.database.resources.memory.limit).toBe('4Gi');
  });

  test('synthesizes, passes checkPlatform, and `kfkit validate` accepts the written tree', () => {
    expect(checkPlatform(synthesize(ONPREM), ONPREM)).toEqual([]);
    const dir = tmpdir();
    expect(cli(['synth', '--env', 'onprem', '--overlays', path.join(ROOT, 'overlays'), '--out', 'dist'], dir).code).toBe(0);
    expect(listFiles(path.join(dir, 'dist/onprem')).filter((f) => f.includes('gpu'))).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\d\d-gpu\/daemonset_gpu-system_nvidia-device-plugin-daemonset\.yaml$/),
      expect.stringMatching(/^\d\d-namespaces\/namespace_gpu-system\.yaml$/),
    ]));
    const result = cli(['validate', 'dist/onprem'], dir);
    expect(result.code).toBe(0);
    expect(result.err).toMatch(/dist\/onprem: \d+ objects, no findings/);
  });

  test('GPU pools are available to consumers by name', () => {
    const app = new App();
    const platform = new KubeflowPlatform(app, 'kfkit', { config: ONPREM });
    const p: GpuPool | undefined = platform.gpu?.pool('datacenter');
    expect(p?.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(() => platform.gpu?.pool('h100')).toThrow(/no GPU pool "h100"; pools: datacenter/);
  });
});
