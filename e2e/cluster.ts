/**
 * The e2e's clusters: the harness's local control plane (e2e/harness, started as a process in this loopback-only
 * network namespace) or an existing cluster reached through a kubeconfig context (kind, for scripts/kind-e2e.sh).
 */
import { spawn, spawnSync, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..');

/** What a kubectl call returned. */
export interface Result {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A cluster the lifecycle runs against. */
export interface Cluster {
  /** Environment for kubectl and kfkit (KUBECONFIG, PATH with the cluster's kubectl first). */
  readonly env: NodeJS.ProcessEnv;
  /** kubectl binary. */
  readonly kubectl: string;
  /** kubectl context, if not the kubeconfig's current one. */
  readonly context?: string;
  /** The harness's state directory (events, logs), when the cluster is the harness's. */
  readonly state?: string;
  stop(): Promise<void>;
}

/** Runs a program to completion, capturing its output (no shell). */
export function exec(cluster: Pick<Cluster, 'env'>, argv: readonly string[], options: { input?: string; cwd?: string } = {}): Result {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd, args, {
    env: cluster.env, encoding: 'utf8', maxBuffer: 512 * 2 ** 20, cwd: options.cwd ?? ROOT,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  if (r.error) return { status: 127, stdout: '', stderr: r.error.message };
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs kubectl against the cluster. */
export function kubectl(cluster: Cluster, args: readonly string[], input?: string): Result {
  return exec(cluster, [cluster.kubectl, ...(cluster.context ? ['--context', cluster.context] : []), ...args], input === undefined ? {} : { input });
}

/** Like {@link kubectl}, but a non-zero exit throws with kubectl's message. */
export function kubectlOk(cluster: Cluster, args: readonly string[], input?: string): string {
  const r = kubectl(cluster, args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr.trim().slice(0, 3000)}`);
  return r.stdout;
}

/** Where the e2e's programs are built (e2e/build.sh; per Kubernetes version with KFKIT_E2E_KUBERNETES). */
export function binDir(): string {
  const kube = process.env.KFKIT_E2E_KUBERNETES;
  return process.env.KFKIT_E2E_BIN ?? path.join(ROOT, 'e2e', kube ? `.bin-${kube}` : '.bin');
}

/** Where the generated CRDs are (e2e/build.sh). */
export function crdDir(): string {
  return process.env.KFKIT_E2E_CRDS ?? path.join(ROOT, 'e2e', '.crds');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts the harness (`harness up`) with its state in `state` and waits until it reports ready. The harness and
 * everything it starts end when {@link Cluster.stop} is called or this process exits.
 */
export async function startHarness(state: string): Promise<Cluster> {
  fs.mkdirSync(state, { recursive: true });
  const bin = binDir();
  const log = fs.openSync(path.join(state, 'harness.log'), 'a');
  const child: ChildProcess = spawn(path.join(bin, 'harness'), [
    'up', '--state', state, '--bin', bin, '--registry', path.join(ROOT, 'e2e', 'stand-ins.json'), '--crds', crdDir(),
  ], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => { resolve(code ?? 1); }));
  const status = { exited: false };
  void exited.then(() => { status.exited = true; });
  const stopOnExit = () => { child.kill('SIGKILL'); };
  process.on('exit', stopOnExit);
  const ready = path.join(state, 'ready.json');
  for (let i = 0; i < 1200 && !fs.existsSync(ready); i++) {
    if (status.exited) break;
    await sleep(100);
  }
  let info: { kubeconfig: string } | undefined;
  try {
    if (fs.existsSync(ready)) info = JSON.parse(fs.readFileSync(ready, 'utf8')) as { kubeconfig: string };
  } catch (e) {
    child.kill('SIGKILL');
    process.removeListener('exit', stopOnExit);
    throw new Error(`the harness's ${ready} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!info) {
    child.kill('SIGKILL');
    process.removeListener('exit', stopOnExit);
    const tail = fs.readFileSync(path.join(state, 'harness.log'), 'utf8').split('\n').slice(-20).join('\n');
    throw new Error(`the control plane did not come up (state ${state}):\n${tail}`);
  }
  return {
    env: { ...process.env, KUBECONFIG: info.kubeconfig, PATH: `${bin}:${process.env.PATH ?? ''}` },
    kubectl: path.join(bin, 'kubectl'),
    state,
    stop: async () => {
      if (!status.exited) {
        child.kill('SIGTERM');
        const ended = await Promise.race([exited.then(() => true), sleep(15000).then(() => false)]);
        if (!ended) child.kill('SIGKILL');
      }
      process.removeListener('exit', stopOnExit);
    },
  };
}

/** An existing cluster (kind): the kubeconfig's context, kubectl from PATH. */
export function existingCluster(context: string | undefined): Cluster {
  return { env: { ...process.env }, kubectl: 'kubectl', ...(context ? { context } : {}), stop: () => Promise.resolve() };
}

/** One line of the harness's events.jsonl. */
export interface HarnessEvent {
  readonly time: string;
  readonly kind: string;
  readonly standIn?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly detail?: string;
}

/** The harness's events so far. */
export function harnessEvents(cluster: Cluster): HarnessEvent[] {
  if (!cluster.state) return [];
  const file = path.join(cluster.state, 'events.jsonl');
  if (!fs.existsSync(file)) return [];
  // Only whole lines: the harness may be writing the last one.
  const lines = fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
  return lines.filter((l) => l !== '').map((l) => JSON.parse(l) as HarnessEvent);
}
