/**
 * kfkit's end-to-end test: every environment (overlays/*.yaml), through its whole lifecycle, on a real Kubernetes
 * control plane built from Go modules (e2e/harness), inside a network namespace that has only loopback.
 *
 *   npm run e2e                      # every overlay, every phase
 *   npm run e2e -- --env local       # one (repeatable)
 *   npm run e2e -- --phases install,reapply
 *   npm run e2e -- --jobs 1                # one environment at a time (default 3, each on its own control plane)
 *   npm run e2e -- --existing --context kind-kfkit --env local   # a real cluster (scripts/kind-e2e.sh)
 *
 * Phases: install (prerequisites, one `kfkit apply` pass, every Service ready), reapply (empty diff, generations
 * unchanged), prune (a changed overlay applied: removed objects gone, protected data kept and listed), uninstall
 * (only what is listed as kept remains; with --include-data nothing), upgrade (the previous version's tree, then
 * this one: no error, no orphan). Writes e2e/report.json and prints a table; exit 1 when anything failed.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listOverlays } from '../lib/config/load';
import { Cluster, exec, existingCluster, harnessEvents, kubectlOk, ROOT, startHarness } from './cluster';
import {
  apply, changeAndPrune, checkAdmission, checkFences, checkInstalled, EnvRun, PhaseReport, prepare, reapply, removePreviousVersion, snapshot, synth,
  treeObjects,
  uninstall, upgrade,
} from './lifecycle';
import { StandIn, standIns } from './prerequisites';

const PHASES = ['install', 'reapply', 'prune', 'uninstall', 'upgrade'] as const;
type Phase = (typeof PHASES)[number];

interface Options {
  readonly envs: string[];
  readonly phases: Phase[];
  readonly existing: boolean;
  readonly context?: string;
  readonly timeoutSeconds: number;
  readonly report: string;
  /** Environments run at once, each on its own control plane in its own process. */
  readonly jobs: number;
  /** Seconds an environment's run may take in all before it is ended and reported as failed. */
  readonly deadlineSeconds: number;
  /** Write only this environment's report as JSON (a child of a parallel run). */
  readonly child: boolean;
  /** A command (bash) run after each install, against the cluster: a real cluster's own checks (scripts/kind-e2e.sh). */
  readonly afterInstall?: string;
}

function usage(message: string): never {
  process.stderr.write(`e2e: ${message}\nusage: npm run e2e -- [--env NAME]... [--phases ${PHASES.join(',')}] [--timeout S] [--deadline S] [--jobs N] [--existing [--context C] [--after-install CMD]]\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const envs: string[] = [];
  let phases: Phase[] = [...PHASES];
  let existing = false;
  let context: string | undefined;
  let timeoutSeconds = 180;
  let report = path.join(ROOT, 'e2e', 'report.json');
  let jobs = 3;
  let deadlineSeconds = 1200;
  let child = false;
  let afterInstall: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const value = () => argv[++i] ?? usage(`${argv[i - 1]} needs a value`);
    switch (argv[i]) {
      case '--env': envs.push(value()); break;
      case '--phases': {
        const list = value().split(',');
        const bad = list.filter((p) => !(PHASES as readonly string[]).includes(p));
        if (bad.length > 0) usage(`--phases: unknown ${bad.join(', ')} (allowed: ${PHASES.join(', ')})`);
        phases = list as Phase[];
        break;
      }
      case '--existing': existing = true; break;
      case '--context': context = value(); break;
      case '--timeout': timeoutSeconds = Number(value()); break;
      case '--report': report = path.resolve(value()); break;
      case '--jobs': jobs = Number(value()); break;
      case '--deadline': deadlineSeconds = Number(value()); break;
      case '--child': child = true; break;
      case '--after-install': afterInstall = value(); break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 10) usage('--timeout must be a whole number of seconds >= 10');
  if (!Number.isInteger(deadlineSeconds) || deadlineSeconds < 60) usage('--deadline must be a whole number of seconds >= 60');
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 8) usage('--jobs must be a whole number from 1 to 8');
  const all = listOverlays(path.join(ROOT, 'overlays'));
  for (const e of envs) if (!all.includes(e)) usage(`--env ${e}: no overlays/${e}.yaml (allowed: ${all.join(', ')})`);
  return {
    envs: envs.length > 0 ? envs : all, phases, existing, ...(context ? { context } : {}), timeoutSeconds, report, jobs: existing ? 1 : jobs,
    deadlineSeconds, child, ...(afterInstall ? { afterInstall } : {}),
  };
}

/** The e2e must not reach anything but loopback: it runs in a network namespace that has nothing else. */
function assertLoopbackOnly(): void {
  const names = Object.keys(os.networkInterfaces());
  if (names.some((n) => n !== 'lo')) {
    usage(`this process sees network interfaces ${names.join(', ')}: run it through \`npm run e2e\`, which enters a loopback-only network namespace`);
  }
}

interface EnvReport {
  readonly env: string;
  readonly kubernetes?: string;
  readonly phases: PhaseReport[];
  readonly standIns: string[];
  readonly seconds: number;
}

async function phase(reports: PhaseReport[], name: string, body: (r: PhaseReport) => void | Promise<void>): Promise<boolean> {
  const r: PhaseReport = { phase: name, ok: false, seconds: 0, failures: [], notes: [] };
  const t0 = Date.now();
  process.stderr.write(`e2e: ${name} …\n`);
  try {
    await body(r);
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    r.failures.push(e.message);
  }
  r.seconds = Math.round((Date.now() - t0) / 100) / 10;
  r.ok = r.failures.length === 0;
  reports.push(r);
  process.stderr.write(`e2e: ${name}: ${r.ok ? 'ok' : 'FAILED'} in ${r.seconds} s\n${r.failures.map((f) => `  - ${f}\n`).join('')}`);
  return r.ok;
}

async function runEnv(env: string, options: Options): Promise<EnvReport> {
  const t0 = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `kfe-${env}-`));
  const logFile = path.join(work, 'e2e.log');
  const run: EnvRun = { env, work, timeoutSeconds: options.timeoutSeconds, log: (line) => { fs.appendFileSync(logFile, `${line}\n`); } };
  process.stderr.write(`e2e: ${env}: work in ${work}\n`);
  const phases: PhaseReport[] = [];
  let cluster: Cluster | undefined;
  let kubernetes: string | undefined;
  const fresh = async () => {
    await cluster?.stop();
    cluster = options.existing ? existingCluster(options.context) : await startHarness(path.join(work, `cluster-${phases.length}`));
    kubernetes ??= (JSON.parse(kubectlOk(cluster, ['version', '-o', 'json'])) as { serverVersion?: { gitVersion?: string } }).serverVersion?.gitVersion;
    return cluster;
  };
  const used = new Set<string>();
  const noteStandIns = (c: Cluster) => { for (const e of harnessEvents(c)) if (e.standIn) used.add(e.standIn); };
  try {
    const want = (p: Phase) => options.phases.includes(p);
    const lifecycle = want('install') || want('reapply') || want('prune') || want('uninstall');
    if (lifecycle) {
      const c = await fresh();
      let tree = '';
      let baseline = new Set<string>();
      const installed = await phase(phases, `${env}: install`, (r) => {
        tree = synth(c, run, path.join(work, 'current'));
        prepare(c, run, tree, r, { standIns: !options.existing });
        baseline = snapshot(c);
        const t = Date.now();
        apply(c, run, tree);
        r.notes.push(`kfkit apply: ${Math.round((Date.now() - t) / 100) / 10} s`);
        r.objects = treeObjects(tree).length;
        checkInstalled(c, tree, r);
        checkAdmission(c, tree, r);
        checkFences(c, tree, r);
        if (options.afterInstall) {
          const after = exec(c, ['bash', '-euo', 'pipefail', '-c', options.afterInstall]);
          run.log(after.stdout + after.stderr);
          if (after.status !== 0) r.failures.push(`--after-install failed (exit ${after.status}): ${after.stderr.trim().split('\n').slice(-10).join('\n')}`);
        }
      });
      if (want('reapply')) await (installed ? phase(phases, `${env}: reapply`, (r) => { reapply(c, run, tree, r); }) : skipped(phases, `${env}: reapply`));
      if (want('prune')) await (installed ? phase(phases, `${env}: prune`, (r) => { changeAndPrune(c, run, tree, r); }) : skipped(phases, `${env}: prune`));
      if (want('uninstall')) await (installed ? phase(phases, `${env}: uninstall`, (r) => { uninstall(c, run, tree, baseline, r); }) : skipped(phases, `${env}: uninstall`));
      noteStandIns(c);
    }
    if (want('upgrade')) {
      const c = await fresh();
      await phase(phases, `${env}: upgrade`, (r) => {
        const tree = synth(c, run, path.join(work, 'current'));
        prepare(c, run, tree, r, { standIns: !options.existing });
        upgrade(c, run, tree, r);
        checkInstalled(c, tree, r);
      });
      noteStandIns(c);
    }
  } catch (e) {
    // Outside a phase (starting a control plane, reading its events): the environment fails, the run goes on.
    if (!(e instanceof Error)) throw e;
    phases.push({ phase: `${env}: run`, ok: false, seconds: 0, failures: [`the run stopped: ${e.message}`], notes: [] });
    process.stderr.write(`e2e: ${env}: the run stopped: ${e.message}\n`);
  } finally {
    await cluster?.stop();
    removePreviousVersion(run);
  }
  return { env, ...(kubernetes ? { kubernetes } : {}), phases, standIns: [...used].sort(), seconds: Math.round((Date.now() - t0) / 1000) };
}

function skipped(phases: PhaseReport[], name: string): Promise<boolean> {
  phases.push({ phase: name, ok: false, seconds: 0, failures: ['not run: the install failed'], notes: [] });
  process.stderr.write(`e2e: ${name}: not run (the install failed)\n`);
  return Promise.resolve(false);
}

function printSummary(reports: readonly EnvReport[], registry: readonly StandIn[]): void {
  const rows = reports.flatMap((e) => e.phases.map((p) => [p.phase, p.ok ? 'ok' : 'FAILED', String(p.seconds), String(p.objects ?? ''), String(p.failures.length)]));
  const header = ['phase', 'result', 'seconds', 'objects', 'failures'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n\n`);
  process.stdout.write('stand-ins (e2e/stand-ins.json): what could not run here and what that leaves unverified\n');
  for (const s of registry) process.stdout.write(`- ${s.id}: replaces ${s.replaces}; unverified: ${s.unverified}\n`);
}

/**
 * Runs environments in child processes, `jobs` at a time (each on its own control plane: the waits, not the CPU, take
 * most of an environment's time), and collects their reports. A child that outlives the deadline is ended (it ends
 * its control plane on the way out) and its environment reported as failed, so a stuck run cannot hold CI.
 */
async function runChildren(options: Options): Promise<EnvReport[]> {
  const queue = [...options.envs];
  const reports = new Map<string, EnvReport>();
  const worker = async (): Promise<void> => {
    for (let env = queue.shift(); env !== undefined; env = queue.shift()) {
      const report = path.join(os.tmpdir(), `kfkit-e2e-${env}-${process.pid}.json`);
      const args = [process.argv[1], '--child', '--env', env, '--phases', options.phases.join(','), '--timeout', String(options.timeoutSeconds),
        '--report', report,
        ...(options.existing ? ['--existing', ...(options.context ? ['--context', options.context] : [])] : []),
        ...(options.afterInstall ? ['--after-install', options.afterInstall] : [])];
      const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      const name = env;
      child.stderr.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line !== '') process.stderr.write(line.startsWith('e2e: ') ? `${line}\n` : `e2e: ${name}: ${line}\n`);
      });
      const state = { overdue: false };
      const deadline = setTimeout(() => {
        state.overdue = true;
        process.stderr.write(`e2e: ${name}: still running after ${options.deadlineSeconds} s (--deadline): ending it\n`);
        child.kill('SIGTERM');
        setTimeout(() => { child.kill('SIGKILL'); }, 30_000).unref();
      }, options.deadlineSeconds * 1000);
      const code = await new Promise<number>((resolve) => child.on('exit', (c) => { resolve(c ?? 1); }));
      clearTimeout(deadline);
      const written = fs.existsSync(report) ? fs.readFileSync(report, 'utf8') : '';
      fs.rmSync(report, { force: true });
      const why = state.overdue ? `ended after the --deadline of ${options.deadlineSeconds} s` : `the run ended (exit ${code}) without a report`;
      reports.set(env, written !== '' && !state.overdue ? JSON.parse(written) as EnvReport
        : { env, phases: [{ phase: `${env}: run`, ok: false, seconds: 0, failures: [why], notes: [] }], standIns: [], seconds: 0 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.jobs, options.envs.length) }, worker));
  return options.envs.map((e) => reports.get(e) as EnvReport);
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  if (!options.existing) assertLoopbackOnly();
  if (options.child) {
    // Ended on the deadline: exit through 'exit' so the control plane is stopped too.
    process.on('SIGTERM', () => { process.exit(143); });
    const [env] = options.envs;
    const tmp = `${options.report}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(await runEnv(env, options)));
    fs.renameSync(tmp, options.report);
    return 0;
  }
  const t0 = Date.now();
  const reports = await runChildren(options);
  const registry = standIns();
  const ok = reports.every((e) => e.phases.every((p) => p.ok));
  const seconds = Math.round((Date.now() - t0) / 1000);
  fs.writeFileSync(options.report, `${JSON.stringify({
    ok, seconds, cluster: options.existing ? `existing${options.context ? ` (${options.context})` : ''}` : 'harness', phases: options.phases, envs: reports,
    standIns: registry.map((s) => ({ id: s.id, replaces: s.replaces, how: s.how, unverified: s.unverified })),
  }, null, 2)}\n`);
  printSummary(reports, registry);
  process.stdout.write(`\ne2e: ${ok ? 'passed' : 'FAILED'} in ${seconds} s; report ${path.relative(ROOT, options.report)}\n`);
  return ok ? 0 : 1;
}

// Exits explicitly: anything a failed step left running (a control plane, a timer) must not keep the run alive.
main().then((code) => { process.exit(code); }, (e: unknown) => {
  process.stderr.write(`e2e: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
