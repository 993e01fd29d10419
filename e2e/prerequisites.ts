/**
 * What has to be on a cluster before `kfkit apply`: what the cluster's admins provide (the README's prerequisite
 * commands for the environment, Flux's or Argo CD's APIs, GPU node pools) — run the way a user would, so that the
 * README is tested too.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadOverlay } from '../lib/config/load';
import { GPU_POOL_LABEL, GPU_RESOURCE, GPU_TAINT_KEY } from '../lib/core/gpu';
import { ExternalApi, ExternalObject } from '../lib/validate/types';
import { STACKS } from '../stacks';
import { binDir, Cluster, crdDir, exec, kubectl, kubectlOk, ROOT } from './cluster';

/** One entry of e2e/stand-ins.json (the harness reads the same file). */
export interface StandIn {
  readonly id: string;
  readonly replaces: string;
  readonly how: string;
  readonly unverified: string;
  readonly match?: { readonly kind: string; readonly apis?: readonly string[] };
  readonly action?: { readonly type: string; readonly crds?: readonly string[] };
}

export function standIns(): StandIn[] {
  return (JSON.parse(fs.readFileSync(path.join(ROOT, 'e2e', 'stand-ins.json'), 'utf8')) as { standIns: StandIn[] }).standIns;
}

const MARKER = /^<!-- e2e-prerequisites: ([a-z0-9,-]+) -->$/;

/**
 * The README's prerequisite commands for an environment: the ```sh block right after a line
 * `<!-- e2e-prerequisites: env[,env…] -->`. Undefined when the README has none for it.
 */
export function readmePrerequisites(env: string, readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')): string | undefined {
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = MARKER.exec(lines[i].trim());
    if (!m?.[1].split(',').includes(env)) continue;
    const open = lines.findIndex((l, j) => j > i && l.trim() !== '');
    if (open < 0 || lines[open].trim() !== '```sh') throw new Error(`README.md:${i + 1}: the e2e-prerequisites marker must be followed by a \`\`\`sh block`);
    const close = lines.findIndex((l, j) => j > open && l.trim() === '```');
    if (close < 0) throw new Error(`README.md:${open + 1}: unterminated sh block`);
    return lines.slice(open + 1, close).join('\n');
  }
  return undefined;
}

/**
 * Commands the prerequisite blocks use that cannot run here, as stand-ins on PATH: `htpasswd` prints a bcrypt-shaped
 * hash (Dex never runs here), `flux install` installs what e2e/stand-ins.json's admins/flux says.
 */
function shims(cluster: Cluster): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kfkit-e2e-shims-'));
  fs.writeFileSync(path.join(dir, 'htpasswd'), '#!/bin/sh\nprintf \':$2y$10$kfkitE2eStandInHashkfkitE2eStandInHashkfkitE2eStandIn.\\n\'\n', { mode: 0o755 });
  const flux = standIns().find((s) => s.id === 'admins/flux')?.action?.crds ?? [];
  fs.writeFileSync(path.join(dir, 'flux'), `#!/bin/sh
# Stand-in for \`flux install\` (e2e/stand-ins.json, admins/flux): Flux's CRDs and namespace, no controllers.
[ "$1" = install ] || { echo "flux (e2e stand-in): only 'flux install' is available" >&2; exit 1; }
${JSON.stringify(path.join(binDir(), 'harness'))} crds --kubeconfig "$KUBECONFIG" --crds ${JSON.stringify(crdDir())} ${flux.join(' ')} || exit 1
${JSON.stringify(cluster.kubectl)} create namespace flux-system
`, { mode: 0o755 });
  return dir;
}

/** The tree's metadata (`kfkit.json`). */
export interface TreeMetadata {
  readonly externalApis: readonly ExternalApi[];
  readonly externalObjects: readonly ExternalObject[];
  readonly applySet?: { readonly id: string; readonly parent: { readonly namespace: string; readonly name: string } };
}

export function treeMetadata(dir: string): TreeMetadata {
  return JSON.parse(fs.readFileSync(path.join(dir, 'kfkit.json'), 'utf8')) as TreeMetadata;
}

/**
 * Installs the APIs the cluster's admins provide (Flux, Argo CD) that the README's commands did not, through their
 * registry entries; returns the ids used.
 */
export function installAdminApis(cluster: Cluster, tree: TreeMetadata): string[] {
  const used = new Set<string>();
  for (const api of tree.externalApis.filter((a) => a.installedBy === undefined)) {
    const key = `${api.group}/${api.kind}`;
    if (kubectl(cluster, ['get', `${api.kind}.${api.group}`, '--all-namespaces', '-o', 'name']).status === 0) continue;
    const entry = standIns().find((s) => s.match?.kind === 'ExternalApi' && s.match.apis?.includes(key));
    if (!entry?.action?.crds) throw new Error(`the cluster's admins provide ${key} (${api.providedBy}), and no ExternalApi entry of e2e/stand-ins.json stands in for it`);
    if (used.has(entry.id)) continue;
    const r = exec(cluster, [path.join(binDir(), 'harness'), 'crds', '--kubeconfig', cluster.env.KUBECONFIG ?? '', '--crds', crdDir(), ...entry.action.crds]);
    if (r.status !== 0) throw new Error(`installing ${entry.id}: ${r.stderr.trim()}`);
    used.add(entry.id);
  }
  return [...used];
}

/**
 * Runs the README's prerequisite commands for the environment (bash, -euo pipefail, kubectl = the cluster's, in
 * `cwd`, where they may write files; with `standIns`, `htpasswd` and `flux install` stood in for), then
 * checks that every object the tree says the admins create exists: a README that forgets one fails here.
 */
export function runReadmePrerequisites(
  cluster: Cluster, env: string, tree: TreeMetadata, cwd: string, standIns: boolean, log: (line: string) => void,
): void {
  const script = readmePrerequisites(env);
  if (script !== undefined) {
    log(`README prerequisites for ${env}:\n${script}`);
    const path = standIns ? `${shims(cluster)}:${cluster.env.PATH ?? ''}` : cluster.env.PATH ?? '';
    const r = exec({ env: { ...cluster.env, PATH: path } }, ['bash', '-euo', 'pipefail', '-c', script], { cwd });
    if (r.status !== 0) throw new Error(`the README's prerequisite commands for ${env} failed: ${r.stderr.trim()}`);
  }
  const missing = tree.externalObjects.flatMap((o) => {
    const where = `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
    const r = kubectl(cluster, ['get', o.kind, o.name, ...(o.namespace ? ['-n', o.namespace] : []), '-o', 'json']);
    if (r.status !== 0) return [`${where} (${o.reason})`];
    const data = (JSON.parse(r.stdout) as { data?: Record<string, string> }).data ?? {};
    const absent = (o.keys ?? []).filter((k) => !(k in data));
    return absent.length === 0 ? [] : [`${where} without key(s) ${absent.join(', ')} (${o.reason})`];
  });
  if (missing.length > 0) {
    throw new Error(script === undefined
      ? `${env} needs objects the cluster's admins create, and README.md has no e2e-prerequisites block for it: ${missing.join('; ')}`
      : `README.md's prerequisite commands for ${env} do not create what kfkit.json says the admins create: ${missing.join('; ')}`);
  }
}

/** Nodes of the environment's GPU pools: KWOK nodes with each pool's labels, taint and GPUs (cloud node groups stand-in). */
export function createGpuNodes(cluster: Cluster, env: string): string[] {
  const config = loadOverlay(path.join(ROOT, 'overlays'), env, STACKS);
  const names: string[] = [];
  for (const pool of config.gpu.pools) {
    const name = `gpu-${pool.name}-0`;
    const labels = { ...(pool.nodeSelector ?? { [GPU_POOL_LABEL]: pool.name }), 'kubernetes.io/hostname': name, type: 'kwok' };
    const capacity = { cpu: '32', memory: '256Gi', pods: '110', [GPU_RESOURCE]: '8' };
    const node = {
      apiVersion: 'v1', kind: 'Node',
      metadata: { name, labels, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
      spec: pool.taint ? { taints: [{ key: GPU_TAINT_KEY, effect: 'NoSchedule' }] } : {},
      status: { capacity, allocatable: capacity },
    };
    kubectlOk(cluster, ['create', '-f', '-'], JSON.stringify(node));
    names.push(name);
  }
  return names;
}
