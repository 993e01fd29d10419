/**
 * The lifecycle every environment goes through on a cluster — install, re-apply, change and prune, uninstall,
 * upgrade — with the checks of each phase. Shared by the harness's control plane (e2e/run.ts) and real clusters
 * (scripts/kind-e2e.sh).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseDocument } from 'yaml';
import { ApplySetRef } from '../lib/core/applyset';
import { groupKind } from '../lib/synth/collect';
import { Kubectl } from '../lib/synth/kubectl';
import { listMembers, ObjectRef, refId, refOf } from '../lib/synth/lifecycle';
import { tryParseQuantity } from '../lib/core/quantity';
import { loadDist } from '../lib/validate/load';
import { K8sObject } from '../lib/validate/types';
import { Cluster, exec, harnessEvents, kubectl, kubectlOk, ROOT } from './cluster';
import { createGpuNodes, installAdminApis, runReadmePrerequisites, treeMetadata } from './prerequisites';

/** The outcome of one phase. */
export interface PhaseReport {
  readonly phase: string;
  ok: boolean;
  seconds: number;
  /** Objects of the tree the phase applied. */
  objects?: number;
  readonly failures: string[];
  readonly notes: string[];
}

/** A failed check: the phase records it and goes on with the next check where it can. */
export class CheckFailed extends Error {}

/** The context of one environment's run. */
export interface EnvRun {
  readonly env: string;
  /** Working directory: trees, overlays, logs. */
  readonly work: string;
  /** Seconds every kfkit wait may take. */
  readonly timeoutSeconds: number;
  /** Log of the run (kfkit's and kubectl's output). */
  readonly log: (line: string) => void;
}

/** Runs a kfkit command (the checkout's CLI, or another checkout's for the previous version). */
export function kfkit(cluster: Cluster, run: EnvRun, args: readonly string[], cliRoot = ROOT): { status: number; out: string; err: string } {
  run.log(`$ kfkit ${args.join(' ')}`);
  const r = exec(cluster, [process.execPath, path.join(cliRoot, 'bin', 'kfkit.js'), ...args], { cwd: cliRoot });
  run.log(r.stdout + r.stderr);
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Synthesizes an environment into `<out>/<env>` with the given overlays directory and CLI. */
export function synth(cluster: Cluster, run: EnvRun, out: string, overlays = path.join(ROOT, 'overlays'), cliRoot = ROOT): string {
  const r = kfkit(cluster, run, ['synth', '--env', run.env, '--overlays', overlays, '--out', out], cliRoot);
  if (r.status !== 0) throw new CheckFailed(`kfkit synth --env ${run.env} failed (exit ${r.status}): ${lastLines(r.err, 20)}`);
  return path.join(out, run.env);
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join('\n');
}

/** Applies a tree with `kfkit apply` (prune on), as a user would; throws with the failing step and what blocked it. */
export function apply(cluster: Cluster, run: EnvRun, tree: string, extra: readonly string[] = [], cliRoot = ROOT): string {
  const r = kfkit(cluster, run, ['apply', '--env', run.env, '--out', path.dirname(tree), '--timeout', String(run.timeoutSeconds),
    ...(cliRoot === ROOT ? ['--kubectl', cluster.kubectl] : []), ...(cluster.context ? ['--context', cluster.context] : []), ...extra], cliRoot);
  if (r.status !== 0) throw new CheckFailed(`kfkit apply failed (exit ${r.status}): ${lastLines(r.err, 6)}${blockedPods(cluster)}${failedJobs(cluster)}`);
  return r.out;
}

/** The last output of Job processes the harness ran and that failed, and what no stand-in covered. */
function failedJobs(cluster: Cluster): string {
  const failed = new Map<string, string>();
  const events = harnessEvents(cluster);
  for (const e of events) {
    if (e.kind === 'job-run' && !e.detail?.startsWith('exit 0')) failed.set(`${e.namespace ?? ''}/${(e.name ?? '').replace(/-[a-z0-9]{5}$/, '')}`, e.detail ?? '');
  }
  const missing = [...new Set(events.filter((e) => e.kind === 'no-stand-in').map((e) => `  ${e.namespace ?? ''}/${e.name ?? ''}: ${e.detail ?? ''}`))];
  return (failed.size === 0 ? '' : `\nJob processes that failed:\n${[...failed].map(([job, d]) => `  ${job}: ${lastLines(d, 4)}`).join('\n')}`) +
    (missing.length === 0 ? '' : `\nnothing stands in for:\n${missing.join('\n')}`);
}

/** Why pods could not start, as the harness's kubelet-lite recorded it. */
function blockedPods(cluster: Cluster): string {
  const r = kubectl(cluster, ['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}\t{.metadata.annotations.e2e\\.kfkit\\.dev/blocked}{"\\n"}{end}']);
  const blocked = r.stdout.split('\n').filter((l) => l.includes('\t') && !l.endsWith('\t'));
  return blocked.length === 0 ? '' : `\npods that cannot start:\n${blocked.map((l) => `  ${l.replace('\t', ': ')}`).join('\n')}`;
}

/** The tree's objects. */
export function treeObjects(tree: string): K8sObject[] {
  return loadDist(tree).objects.map((o) => o.manifest);
}

function kubectlFor(cluster: Cluster): Kubectl {
  return new Kubectl({ cwd: ROOT, binary: cluster.kubectl, ...(cluster.context ? { context: cluster.context } : {}), env: cluster.env });
}

/** The live members of the tree's ApplySet among the given group-kinds. */
export function liveMembers(cluster: Cluster, applySet: ApplySetRef, groupKinds: readonly string[]): ObjectRef[] {
  return listMembers(kubectlFor(cluster), applySet, groupKinds);
}

/**
 * Prepares the cluster for an environment: the README's prerequisite commands; on the harness's control plane also
 * the stand-ins for what the admins' tools install, and the GPU pools' nodes.
 */
export function prepare(cluster: Cluster, run: EnvRun, tree: string, report: PhaseReport, options: { standIns: boolean }): void {
  const meta = treeMetadata(tree);
  const cwd = fs.mkdtempSync(path.join(run.work, 'prerequisites-'));
  runReadmePrerequisites(cluster, run.env, meta, cwd, options.standIns, run.log);
  if (!options.standIns) return;
  const apis = installAdminApis(cluster, meta);
  if (apis.length > 0) report.notes.push(`cluster admins' APIs stood in for: ${apis.join(', ')}`);
  {
    const nodes = createGpuNodes(cluster, run.env);
    if (nodes.length > 0) report.notes.push(`GPU nodes: ${nodes.join(', ')}`);
  }
}

/**
 * After an install: every Service of the tree has a ready endpoint (headless and selector-less Services excepted,
 * named), the harness stood in for nothing unknown and none of its stand-ins failed.
 */
export function checkInstalled(cluster: Cluster, tree: string, report: PhaseReport): void {
  const services = treeObjects(tree).filter((o) => o.kind === 'Service' && o.apiVersion === 'v1');
  const slices = JSON.parse(kubectlOk(cluster, ['get', 'endpointslices.discovery.k8s.io', '-A', '-o', 'json'])) as {
    items: { metadata: { namespace: string; labels?: Record<string, string> }; endpoints?: { conditions?: { ready?: boolean } }[] | null }[];
  };
  const ready = new Set(slices.items
    .filter((s) => (s.endpoints ?? []).some((e) => e.conditions?.ready !== false))
    .map((s) => `${s.metadata.namespace}/${s.metadata.labels?.['kubernetes.io/service-name'] ?? ''}`));
  for (const svc of services) {
    const spec = svc.spec as { selector?: Record<string, string>; type?: string } | undefined;
    const id = `${svc.metadata.namespace ?? ''}/${svc.metadata.name}`;
    if (!spec?.selector || spec.type === 'ExternalName') {
      report.notes.push(`Service ${id} has no selector: endpoints are not kfkit's to check`);
      continue;
    }
    if (!ready.has(id)) report.failures.push(`Service ${id} has no ready endpoint`);
  }
  checkGatewaySelectors(cluster, tree, report);
  for (const e of harnessEvents(cluster)) {
    if (['no-stand-in', 'stand-in-failed', 'harness-error', 'job-unrunnable'].includes(e.kind)) {
      report.failures.push(`harness: ${e.kind}${e.standIn ? ` (${e.standIn})` : ''} ${e.namespace ?? ''}/${e.name ?? ''}: ${e.detail ?? ''}`);
    }
  }
}

/**
 * The gateways kfkit configures select pods that run: every Istio Gateway of the tree, and the cluster-local gateway
 * of a KnativeServing (the Knative operator makes its Gateway and Service from the selector kfkit writes).
 */
export function checkGatewaySelectors(cluster: Cluster, tree: string, report: PhaseReport): void {
  const pods = (JSON.parse(kubectlOk(cluster, ['get', 'pods', '-A', '-o', 'json'])) as {
    items: { metadata: { namespace: string; name: string; labels?: Record<string, string> }; status?: { phase?: string } }[];
  }).items.filter((p) => p.status?.phase === 'Running');
  const selects = (selector: Record<string, string>) => pods.some((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v));
  for (const o of treeObjects(tree)) {
    const selectors: [string, Record<string, string> | undefined][] = [];
    if (o.kind === 'Gateway' && o.apiVersion.startsWith('networking.istio.io/')) {
      selectors.push([`Gateway ${o.metadata.namespace ?? ''}/${o.metadata.name}`, (o.spec as { selector?: Record<string, string> } | undefined)?.selector]);
    }
    if (o.kind === 'KnativeServing') {
      const istio = (o.spec as { ingress?: { istio?: Record<string, { selector?: Record<string, string> } | boolean> } } | undefined)?.ingress?.istio;
      const local = istio?.['knative-local-gateway'];
      if (typeof local === 'object') selectors.push([`KnativeServing ${o.metadata.namespace ?? ''}/${o.metadata.name} knative-local-gateway`, local.selector]);
    }
    for (const [what, selector] of selectors) {
      if (selector && Object.keys(selector).length > 0 && !selects(selector)) {
        report.failures.push(`${what} selects pods labelled ${JSON.stringify(selector)}, and none runs: its traffic has no backend`);
      }
    }
  }
}

/** A pod that meets Pod Security `restricted`, with `extra` merged into its container. */
function probePod(namespace: string, name: string, container: Record<string, unknown> = {}, labels: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { 'e2e.kfkit.dev/probe': 'true', ...labels } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'probe', image: 'registry.k8s.io/pause:3.10',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } }, ...container,
      }],
    },
  });
}

/**
 * Admission fences (kfkit's ValidatingAdmissionPolicies), acting as the fenced ServiceAccounts through impersonation,
 * with server-side dry runs (admission runs, nothing is stored): the escalation each fence exists for is refused by
 * the fence, and the controller's legitimate work still passes.
 */
export function checkFences(cluster: Cluster, tree: string, report: PhaseReport): void {
  const objects = treeObjects(tree);
  const fences = objects.filter((o) => o.kind === 'ValidatingAdmissionPolicy' && o.metadata.annotations?.['kfkit.dev/fenced-user'] !== undefined);
  const profileNs = objects.find((o) => o.kind === 'Namespace' && o.metadata.labels?.['app.kubernetes.io/part-of'] === 'kubeflow-profile')?.metadata.name;
  const as = (user: string, args: readonly string[]) => kubectl(cluster, [...args, '--dry-run=server', `--as=${user}`]);
  const refused = (what: string, policy: string, r: { status: number; stderr: string }) => {
    if (r.status === 0 || !r.stderr.includes(`ValidatingAdmissionPolicy '${policy}'`)) {
      report.failures.push(`${what}: not refused by ${policy} (exit ${r.status}): ${r.stderr.trim().slice(0, 500)}`);
    } else report.notes.push(`${what}: refused by ${policy}`);
  };
  const allowed = (what: string, r: { status: number; stderr: string }) => {
    if (r.status !== 0) report.failures.push(`${what}: refused (exit ${r.status}): ${r.stderr.trim().slice(0, 500)}`);
    else report.notes.push(`${what}: admitted`);
  };
  for (const fence of fences) {
    const policy = fence.metadata.name;
    const user = fence.metadata.annotations?.['kfkit.dev/fenced-user'] ?? '';
    if (policy === 'kfkit-profiles-controller') {
      if (!profileNs) {
        report.failures.push(`${policy}: the tree has no profile namespace to check the fence with`);
        continue;
      }
      const bind = (ns: string, role: string) => as(user, ['create', 'rolebinding', 'kfkit-e2e-fence', '-n', ns, `--clusterrole=${role}`, '--user=mallory@example.com']);
      refused(`${user} binds kubeflow-admin in kube-system`, policy, bind('kube-system', 'kubeflow-admin'));
      // The controller updates namespaces (PUT; RBAC gives it no patch): a relabelled copy, replaced.
      const relabel = (ns: string, key: string, value: string) => {
        const obj = JSON.parse(kubectlOk(cluster, ['get', 'namespace', ns, '-o', 'json'])) as { metadata: { labels?: Record<string, string> } };
        obj.metadata.labels = { ...obj.metadata.labels, [key]: value };
        return kubectl(cluster, ['replace', '-f', '-', '--dry-run=server', `--as=${user}`], JSON.stringify(obj));
      };
      refused(`${user} labels kube-system as a profile namespace`, policy, relabel('kube-system', 'app.kubernetes.io/part-of', 'kubeflow-profile'));
      refused(`${user} creates a ServiceAccount in kube-system`, policy, as(user, ['create', 'serviceaccount', 'kfkit-e2e-fence', '-n', 'kube-system']));
      allowed(`${user} binds kubeflow-edit in profile namespace ${profileNs}`, bind(profileNs, 'kubeflow-edit'));
      allowed(`${user} labels profile namespace ${profileNs}`, relabel(profileNs, 'kfkit.dev/e2e-fence', 'checked'));
    } else if (policy === 'kfkit-katib-controller' || policy === 'kfkit-training-operator') {
      if (!profileNs) {
        report.failures.push(`${policy}: the tree has no profile namespace to check the fence with`);
        continue;
      }
      refused(`${user} creates a ServiceAccount in kube-system`, policy, as(user, ['create', 'serviceaccount', 'kfkit-e2e-fence', '-n', 'kube-system']));
      refused(`${user} creates a Role in kube-system`, policy, as(user, ['create', 'role', 'kfkit-e2e-fence', '-n', 'kube-system', '--verb=get', '--resource=pods']));
      allowed(`${user} creates a ServiceAccount in profile namespace ${profileNs}`, as(user, ['create', 'serviceaccount', 'kfkit-e2e-fence', '-n', profileNs]));
    } else if (policy === 'kfkit-katib-ui') {
      const target = profileNs ?? 'default';
      refused(`${user} deletes namespace ${target}`, policy, as(user, ['delete', 'namespace', target]));
      refused(`${user} creates a namespace`, policy, as(user, ['create', 'namespace', 'kfkit-e2e-fence']));
      const list = kubectl(cluster, ['get', 'namespaces', '-o', 'name', `--as=${user}`]);
      allowed(`${user} lists namespaces`, list);
    } else {
      report.failures.push(`${policy}: the e2e has no check for this fence (e2e/lifecycle.ts checkFences)`);
    }
  }
}

/**
 * Real admission, on purpose: a pod that breaks its namespace's Pod Security level is refused (and a compliant one
 * admitted, so the refusal is Pod Security's); in a profile namespace a pod that sets no resources gets the
 * LimitRange's defaults and is admitted, and pods beyond the quota are refused.
 */
export function checkAdmission(cluster: Cluster, tree: string, report: PhaseReport): void {
  const objects = treeObjects(tree);
  const guarded = objects.find((o) => o.kind === 'Namespace' && ['baseline', 'restricted'].includes(o.metadata.labels?.['pod-security.kubernetes.io/enforce'] ?? ''));
  if (guarded) {
    const ns = guarded.metadata.name;
    const level = guarded.metadata.labels?.['pod-security.kubernetes.io/enforce'] ?? '';
    const bad = kubectl(cluster, ['create', '--dry-run=server', '-f', '-'], probePod(ns, 'e2e-privileged', { securityContext: { privileged: true } }));
    if (bad.status === 0 || !/violates PodSecurity/.test(bad.stderr)) report.failures.push(`a privileged pod in ${ns} (Pod Security ${level}) was not refused by Pod Security: ${bad.stderr.trim()}`);
    const good = kubectl(cluster, ['create', '--dry-run=server', '-f', '-'], probePod(ns, 'e2e-compliant', { resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '16Mi' } } }));
    if (good.status !== 0) report.failures.push(`a pod meeting Pod Security restricted was refused in ${ns}: ${good.stderr.trim()}`);
    else report.notes.push(`Pod Security ${level} in ${ns}: privileged pod refused, compliant pod admitted`);
  }
  const profile = objects.find((o) => o.kind === 'Profile' && o.apiVersion.startsWith('kubeflow.org/'));
  if (!profile) return;
  const ns = profile.metadata.name;
  const hard = (profile.spec as { resourceQuotaSpec?: { hard?: Record<string, string> } } | undefined)?.resourceQuotaSpec?.hard ?? {};
  const quota = tryParseQuantity(hard['requests.cpu'] ?? '');
  const limitRange = objects.find((o) => o.kind === 'LimitRange' && o.metadata.namespace === ns);
  const maxCpu = (limitRange?.spec as { limits?: { type: string; max?: Record<string, string> }[] } | undefined)?.limits
    ?.find((l) => l.type === 'Container')?.max?.cpu;
  if (quota === undefined) {
    report.failures.push(`profile ${ns}: the admission check needs a requests.cpu quota`);
    return;
  }
  // Pods each within the LimitRange's maximum, together just over the CPU quota: the last is refused.
  const size = Math.min(quota, tryParseQuantity(maxCpu ?? '') ?? quota);
  const count = Math.floor(quota / size) + 1;
  // The quota is in force once the quota controller has counted the namespace.
  for (let i = 0; i < 60 && kubectl(cluster, ['get', 'resourcequota', 'kf-resource-quota', '-n', ns, '-o', 'jsonpath={.status.hard.requests\\.cpu}']).stdout === ''; i++) {
    exec(cluster, ['sleep', '0.5']);
  }
  const defaults = kubectl(cluster, ['create', '--dry-run=server', '-o', 'json', '-f', '-'], probePod(ns, 'e2e-defaults'));
  if (defaults.status !== 0) {
    report.failures.push(`profile ${ns}: a pod without resources was refused (the LimitRange should give it defaults): ${defaults.stderr.trim()}`);
  } else {
    type Resources = { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
    const resources = (JSON.parse(defaults.stdout) as { spec: { containers: { resources?: Resources }[] } }).spec.containers[0].resources;
    if (!resources?.requests?.cpu || !resources.limits?.memory) report.failures.push(`profile ${ns}: the LimitRange gave no defaults: ${JSON.stringify(resources)}`);
    else report.notes.push(`profile ${ns}: a pod without resources got the LimitRange's ${JSON.stringify(resources)} and was admitted`);
  }
  const millicores = `${Math.round(size * 1000)}m`;
  const sized = (name: string) => probePod(ns, name, { resources: { requests: { cpu: millicores, memory: '64Mi' }, limits: { cpu: millicores, memory: '64Mi' } } });
  const results = [];
  for (let i = 1; i <= count; i++) {
    const r = kubectl(cluster, ['create', '-f', '-'], sized(`e2e-quota-${i}`));
    results.push(r);
    if (r.status !== 0) break;
  }
  kubectl(cluster, ['delete', 'pods', '-n', ns, '-l', 'e2e.kfkit.dev/probe=true', '--wait=false']);
  const admitted = results.filter((r) => r.status === 0).length;
  const last = results[results.length - 1];
  if (admitted !== count - 1) {
    report.failures.push(`profile ${ns}: ${admitted} pod(s) of ${millicores} CPU admitted under a quota of ${quota} CPU, expected ${count - 1}: ${last.stderr.trim()}`);
  } else if (!/exceeded quota/.test(last.stderr)) {
    report.failures.push(`profile ${ns}: pod ${count} of ${millicores} CPU (quota ${quota} CPU) was not refused by the quota: ${last.stderr.trim()}`);
  } else {
    report.notes.push(`profile ${ns}: quota requests.cpu=${quota}: ${admitted} pod(s) of ${millicores} admitted, one more refused (exceeded quota)`);
  }
}

/** The generation of every live member of the tree's ApplySet. */
function generations(cluster: Cluster, tree: string): Map<string, string> {
  const meta = treeMetadata(tree);
  if (!meta.applySet) return new Map();
  const kinds = [...new Set(treeObjects(tree).map(groupKind))].sort();
  const out = kubectlOk(cluster, ['get', kinds.join(','), '-A', '-l', `applyset.kubernetes.io/part-of=${meta.applySet.id}`, '-o',
    'jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}{"\\t"}{.metadata.generation}{"\\n"}{end}']);
  return new Map(out.split('\n').filter((l) => l !== '').map((l) => l.split('\t') as [string, string]));
}

/**
 * Re-apply: `kubectl diff --server-side` of every wave is empty, and a second `kfkit apply` changes no object's
 * `metadata.generation`.
 */
export function reapply(cluster: Cluster, run: EnvRun, tree: string, report: PhaseReport): void {
  const waves = (JSON.parse(fs.readFileSync(path.join(tree, 'kfkit.json'), 'utf8')) as { waves: { dir: string }[] }).waves;
  for (const w of waves) {
    const r = kubectl(cluster, ['diff', '--server-side', '--field-manager=kfkit', '--force-conflicts', '-k', path.join(tree, w.dir)]);
    if (r.status === 1) report.failures.push(`kubectl diff of ${w.dir} is not empty:\n${lastLines(r.stdout, 40)}`);
    else if (r.status !== 0) report.failures.push(`kubectl diff of ${w.dir} failed: ${lastLines(r.stderr, 10)}`);
  }
  const before = generations(cluster, tree);
  apply(cluster, run, tree);
  const after = generations(cluster, tree);
  const changed = [...after].filter(([k, g]) => before.get(k) !== g).map(([k, g]) => `${k} (${before.get(k) ?? 'absent'} → ${g})`);
  if (changed.length > 0) report.failures.push(`a second apply changed the generation of ${changed.length} object(s): ${changed.slice(0, 20).join(', ')}`);
  report.notes.push(`${after.size} objects, generations unchanged by the second apply: ${changed.length === 0}`);
}

/**
 * The change the prune phase makes to an overlay: the last team removed, and one component switched off. Returns a
 * description, or undefined when neither applies to the overlay.
 */
export function changeOverlay(text: string): { text: string; description: string } | undefined {
  const doc = parseDocument(text);
  const changes: string[] = [];
  const profiles = doc.getIn(['tenancy', 'profiles']) as { items?: unknown[] } | undefined;
  if (profiles?.items && profiles.items.length > 0) {
    const removed = doc.getIn(['tenancy', 'profiles', profiles.items.length - 1, 'name']) as string;
    doc.deleteIn(['tenancy', 'profiles', profiles.items.length - 1]);
    changes.push(`team ${removed} removed`);
  }
  const candidates: [string[], string][] = [
    [['katib', 'enabled'], 'Katib disabled'],
    [['gpu', 'dcgmExporter', 'enabled'], 'the DCGM exporter disabled'],
    [['addons', 'clusterAutoscaler', 'enabled'], 'the cluster autoscaler disabled'],
  ];
  // On when the overlay says so, or when it configures the component without switching it off (the stack turns it on).
  const component = candidates.find(([p]) => doc.getIn(p) === true || (doc.hasIn(p.slice(0, -1)) && doc.getIn(p) === undefined));
  if (component) {
    doc.setIn(component[0], false);
    changes.push(component[1]);
  } else if (doc.getIn(['backup', 'enabled']) !== false && doc.get('database') === undefined) {
    doc.setIn(['backup', 'enabled'], false);
    changes.push('database backups disabled');
  }
  return changes.length === 0 ? undefined : { text: doc.toString(), description: changes.join('; ') };
}

/**
 * Change and prune: a changed overlay (a team removed, a component disabled) is applied over the installed one; the
 * cluster then holds exactly the new tree's members, plus the protected data `kfkit apply` said it kept.
 */
export function changeAndPrune(cluster: Cluster, run: EnvRun, tree: string, report: PhaseReport): void {
  const overlays = path.join(run.work, 'overlays-changed');
  fs.cpSync(path.join(ROOT, 'overlays'), overlays, { recursive: true });
  const file = path.join(overlays, `${run.env}.yaml`);
  const change = changeOverlay(fs.readFileSync(file, 'utf8'));
  if (!change) throw new CheckFailed(`no change known for ${run.env}: e2e/lifecycle.ts changeOverlay has nothing to remove from it`);
  fs.writeFileSync(file, change.text);
  report.notes.push(`change: ${change.description}`);
  const changed = synth(cluster, run, path.join(run.work, 'changed'), overlays);
  const out = apply(cluster, run, changed);
  const kept = out.split('\n').filter((l) => l.startsWith('kept: ')).map((l) => l.slice('kept: '.length));
  const meta = treeMetadata(changed);
  if (!meta.applySet) throw new CheckFailed('the changed tree has no ApplySet');
  const objects = treeObjects(changed);
  const wanted = new Set(objects.map((m) => refId(refOf(m))));
  const old = treeObjects(tree);
  const removed = old.filter((m) => !wanted.has(refId(refOf(m))));
  if (removed.length === 0) report.failures.push(`the change (${change.description}) removed no object: the prune was not exercised`);
  const live = liveMembers(cluster, meta.applySet, [...new Set([...objects, ...old].map(groupKind))]);
  for (const r of live) {
    if (wanted.has(refId(r))) continue;
    const listed = kept.some((k) => k.startsWith(`${r.groupKind} ${r.namespace ? `${r.namespace}/` : ''}${r.name} `));
    if (!(r.protectedBecause && listed)) report.failures.push(`not pruned: ${r.groupKind} ${r.namespace ?? ''}/${r.name}${r.protectedBecause ? ' (protected, but not listed as kept)' : ''}`);
  }
  const liveIds = new Set(live.map(refId));
  const missing = objects.filter((m) => !liveIds.has(refId(refOf(m))) && m.metadata.name !== meta.applySet?.parent.name);
  for (const m of missing) report.failures.push(`missing after the changed apply: ${m.kind} ${m.metadata.namespace ?? ''}/${m.metadata.name}`);
  report.notes.push(`pruned ${removed.length - kept.length} object(s), kept ${kept.length} protected: ${kept.join('; ') || 'none'}`);
  // Back to the environment as committed.
  apply(cluster, run, tree);
}

/** Kinds the API server and controllers create and remove on their own: not anyone's leftovers. */
const DERIVED = new Set(['Event', 'Event.events.k8s.io', 'Lease.coordination.k8s.io', 'EndpointSlice.discovery.k8s.io', 'Endpoints',
  'ControllerRevision.apps', 'ReplicaSet.apps', 'Pod', 'ComponentStatus', 'CertificateSigningRequest.certificates.k8s.io']);

/** Every object on the cluster, as `<Kind.group>/<namespace>/<name>`, without the derived kinds. */
export function snapshot(cluster: Cluster): Set<string> {
  const resources = kubectlOk(cluster, ['api-resources', '--verbs=list', '-o', 'name']).split('\n').filter((r) => r !== '');
  const out = kubectlOk(cluster, ['get', resources.join(','), '-A', '--ignore-not-found', '-o',
    'jsonpath={range .items[*]}{.apiVersion}{"\\t"}{.kind}{"\\t"}{.metadata.namespace}{"\\t"}{.metadata.name}{"\\n"}{end}']);
  const ids = new Set<string>();
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const [apiVersion, kind, namespace, name] = line.split('\t');
    const gk = groupKind({ apiVersion, kind });
    if (!DERIVED.has(gk)) ids.add(`${gk}/${namespace}/${name}`);
  }
  return ids;
}

/**
 * Uninstall: `kfkit uninstall` leaves only what it lists as kept (and what is inside kept namespaces; volumes of
 * kept claims); `kfkit uninstall --include-data` then leaves nothing of the platform.
 */
export function uninstall(cluster: Cluster, run: EnvRun, tree: string, baseline: ReadonlySet<string>, report: PhaseReport): void {
  const r = kfkit(cluster, run, ['uninstall', '--env', run.env, '--out', path.dirname(tree), '--timeout', String(run.timeoutSeconds),
    '--kubectl', cluster.kubectl, ...(cluster.context ? ['--context', cluster.context] : [])]);
  if (r.status !== 0) throw new CheckFailed(`kfkit uninstall failed (exit ${r.status}): ${lastLines(r.err, 6)}`);
  const kept = r.out.split('\n').filter((l) => l.startsWith('kept: ')).map((l) => l.slice('kept: '.length));
  const keptNamespaces = new Set(kept.filter((k) => k.startsWith('Namespace ')).map((k) => k.split(' ')[1]));
  const keptIds = new Set(kept.map((k) => {
    const [gk, where] = k.split(' ');
    const [ns, name] = where.includes('/') ? where.split('/') : ['', where];
    return `${gk}/${ns}/${name}`;
  }));
  const leftovers = [...snapshot(cluster)].filter((id) => {
    if (baseline.has(id) || keptIds.has(id)) return false;
    const [gk, ns] = id.split('/');
    if (ns !== '' && keptNamespaces.has(ns)) return false;
    // The volumes of kept claims stay with them.
    return gk !== 'PersistentVolume';
  });
  for (const id of leftovers) report.failures.push(`left behind by kfkit uninstall (not listed as kept): ${id}`);
  report.notes.push(`uninstall kept ${kept.length}: ${kept.map((k) => k.split(' — ')[0]).join(', ') || 'nothing'}`);
  const all = kfkit(cluster, run, ['uninstall', '--env', run.env, '--out', path.dirname(tree), '--timeout', String(run.timeoutSeconds),
    '--include-data', '--kubectl', cluster.kubectl, ...(cluster.context ? ['--context', cluster.context] : [])]);
  if (all.status !== 0) throw new CheckFailed(`kfkit uninstall --include-data failed (exit ${all.status}): ${lastLines(all.err, 6)}`);
  const remaining = [...snapshot(cluster)].filter((id) => !baseline.has(id));
  for (const id of remaining) report.failures.push(`left behind by kfkit uninstall --include-data: ${id}`);
}

/** The commit the upgrade phase starts from (e2e/upgrade-from: a commit and why). */
export function upgradeFrom(): string {
  const line = fs.readFileSync(path.join(ROOT, 'e2e', 'upgrade-from'), 'utf8').split('\n').find((l) => /^[0-9a-f]{7,40}\b/.test(l));
  if (!line) throw new Error('e2e/upgrade-from names no commit');
  return line.split(/\s/)[0];
}

/**
 * A checkout of the previous version, in a git worktree with this checkout's node_modules when the lockfiles match
 * (else `npm ci` there). Undefined when the commit does not have the environment's overlay.
 */
export function previousVersion(run: EnvRun, commit: string): string | undefined {
  const dir = path.join(run.work, 'previous');
  if (!fs.existsSync(dir)) {
    const add = exec({ env: process.env }, ['git', 'worktree', 'add', '--detach', dir, commit]);
    if (add.status !== 0) throw new CheckFailed(`git worktree add ${commit}: ${add.stderr.trim()}`);
    const sameLock = exec({ env: process.env }, ['git', 'diff', '--quiet', commit, 'HEAD', '--', 'package-lock.json']).status === 0;
    if (sameLock) fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    else {
      const ci = exec({ env: process.env }, ['npm', 'ci', '--no-audit', '--no-fund', '--offline'], { cwd: dir });
      if (ci.status !== 0) throw new CheckFailed(`npm ci in the previous version's worktree failed: ${lastLines(ci.stderr, 10)}`);
    }
  }
  return fs.existsSync(path.join(dir, 'overlays', `${run.env}.yaml`)) ? dir : undefined;
}

/** Removes the previous version's worktree. */
export function removePreviousVersion(run: EnvRun): void {
  const dir = path.join(run.work, 'previous');
  if (fs.existsSync(dir)) exec({ env: process.env }, ['git', 'worktree', 'remove', '--force', dir]);
}

/**
 * Upgrade: the previous version's tree, applied with its own CLI, then the current tree with the current one: no
 * apply error (immutable fields), and no object of the previous version is left that the current one does not render.
 */
export function upgrade(cluster: Cluster, run: EnvRun, tree: string, report: PhaseReport): void {
  const commit = upgradeFrom();
  const previous = previousVersion(run, commit);
  if (!previous) {
    report.notes.push(`${run.env} has no overlay at ${commit}: nothing to upgrade from`);
    return;
  }
  const oldTree = synth(cluster, run, path.join(run.work, 'old'), path.join(previous, 'overlays'), previous);
  apply(cluster, run, oldTree, [], previous);
  apply(cluster, run, tree);
  const current = new Set(treeObjects(tree).map((m) => refId(refOf(m))));
  const before = treeObjects(oldTree);
  const kinds = [...new Set([...before, ...treeObjects(tree)].map(groupKind))].sort();
  const out = kubectlOk(cluster, ['get', kinds.join(','), '-A', '-l', 'app.kubernetes.io/managed-by=kfkit', '--ignore-not-found', '-o',
    'jsonpath={range .items[*]}{.apiVersion}{"\\t"}{.kind}{"\\t"}{.metadata.namespace}{"\\t"}{.metadata.name}{"\\n"}{end}']);
  const fromOld = new Set(before.map((m) => refId(refOf(m))));
  for (const line of out.split('\n').filter((l) => l !== '')) {
    const [apiVersion, kind, namespace, name] = line.split('\t');
    const id = refId({ groupKind: groupKind({ apiVersion, kind }), name, ...(namespace ? { namespace } : {}) });
    if (fromOld.has(id) && !current.has(id)) report.failures.push(`orphan after the upgrade from ${commit}: ${id}`);
  }
  report.notes.push(`upgraded from ${commit} (${before.length} objects) to this checkout`);
}
