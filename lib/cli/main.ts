import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError, Option } from 'commander';
import { STACKS } from '../../stacks';
import { ConfigError, listOverlays, loadOverlay } from '../config/load';
import { platformConfigJsonSchema } from '../config/schema';
import { ImageCatalog } from '../core/images';
import { smokeCommand } from '../smoke/index';
import { applyPlan } from '../synth/apply';
import { renderRestore, RestoreError } from './restore';
import { SynthesizedWave } from '../synth/collect';
import { footprint, listImages } from '../synth/footprint';
import { checkPlatform, synthesize } from '../synth/index';
import { renderTree, TREE_METADATA, writeTreeAtomically } from '../synth/write';
import { validate } from '../validate/harness';
import { HarnessLoadError, loadDist } from '../validate/load';
import { formatFindings } from '../validate/harness';

/** Exit codes: documented in `kfkit --help` and README. */
export const EXIT = { ok: 0, findings: 1, usage: 2, applyFailed: 3 } as const;

/** A user mistake: printed as one message, no stack trace. */
class UsageError extends Error {}

interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly cwd: string;
}

interface EnvOptions { readonly env: string; readonly overlays: string }

function resolveEnvs(io: Io, opts: EnvOptions & { readonly all?: boolean }): string[] {
  const dir = path.resolve(io.cwd, opts.overlays);
  if (opts.all) {
    const all = listOverlays(dir);
    if (all.length === 0) throw new UsageError(`--all: no overlays in ${dir}`);
    return all;
  }
  return [opts.env];
}

function build(io: Io, env: string, overlays: string) {
  const config = loadOverlay(path.resolve(io.cwd, overlays), env, STACKS);
  const synthesized = synthesize(config);
  return { config, synthesized };
}

function synthCommand(io: Io, opts: EnvOptions & { readonly all?: boolean; readonly out: string }): number {
  const envs = resolveEnvs(io, opts);
  // Build and validate every env before writing any, so a bad overlay writes nothing.
  const rendered: { env: string; files: Map<string, string> }[] = [];
  for (const env of envs) {
    const t0 = Date.now();
    const { config, synthesized } = build(io, env, opts.overlays);
    const findings = checkPlatform(synthesized, config);
    if (findings.length > 0) {
      io.err(`kfkit synth: ${env}: ${findings.length} validation finding(s); nothing written\n${formatFindings(findings)}`);
      return EXIT.findings;
    }
    const flux = config.gitops.flux;
    rendered.push({
      env,
      files: renderTree(synthesized, {
        env,
        stack: config.stack,
        flux: { sourceRef: flux.sourceRef, path: flux.path ?? `./dist/${env}`, interval: flux.interval, timeoutSeconds: config.apply.timeoutSeconds },
      }),
    });
    io.err(`kfkit synth: ${env}: ${synthesized.objects.length} objects in ${synthesized.waves.length} waves, validated (${Date.now() - t0} ms)`);
    for (const requirement of synthesized.requirements) io.err(`kfkit synth: ${env}: the cluster must provide: ${requirement}`);
  }
  for (const { env, files } of rendered) {
    const dir = path.resolve(io.cwd, opts.out, env);
    writeTreeAtomically(dir, files);
    io.err(`kfkit synth: ${env}: wrote ${path.relative(io.cwd, dir) || dir}/`);
  }
  return EXIT.ok;
}

function validateCommand(io: Io, dir: string): number {
  const input = loadDist(path.resolve(io.cwd, dir));
  const findings = validate(input);
  if (findings.length > 0) {
    io.out(formatFindings(findings));
    io.err(`kfkit validate: ${dir}: ${findings.length} finding(s)`);
    return EXIT.findings;
  }
  io.err(`kfkit validate: ${dir}: ${input.objects.length} objects, no findings`);
  return EXIT.ok;
}

function readWaves(dir: string): SynthesizedWave[] {
  const file = path.join(dir, TREE_METADATA);
  if (!fs.existsSync(file)) throw new UsageError(`${file} not found: run \`kfkit synth\` for this env first`);
  try {
    const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as { waves?: SynthesizedWave[] };
    if (!Array.isArray(meta.waves)) throw new Error('no "waves" list');
    return meta.waves;
  } catch (e) {
    throw new UsageError(`${file} is not a kfkit tree description: ${(e as Error).message}; re-run \`kfkit synth\``);
  }
}

interface ApplyOptions {
  readonly env: string;
  readonly out: string;
  readonly dryRun?: boolean;
  readonly context?: string;
  readonly timeout: string;
}

function applyCommand(io: Io, opts: ApplyOptions): number {
  const timeoutSeconds = Number(opts.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) throw new UsageError(`--timeout: "${opts.timeout}" must be a whole number of seconds >= 1`);
  const dir = path.join(opts.out, opts.env);
  const steps = applyPlan(readWaves(path.resolve(io.cwd, dir)), { dir, timeoutSeconds, context: opts.context });
  for (const [i, step] of steps.entries()) {
    io.err(`[${i + 1}/${steps.length}] ${step.description}`);
    if (opts.dryRun) {
      io.out(step.argv.join(' '));
      continue;
    }
    const [cmd, ...args] = step.argv;
    const r = spawnSync(cmd, args, { cwd: io.cwd, stdio: 'inherit' });
    if (r.error || r.status !== 0) {
      io.err(`kfkit apply: step ${i + 1} failed: ${step.description}${r.error ? ` (${r.error.message})` : ` (exit ${r.status})`}`);
      return EXIT.applyFailed;
    }
  }
  return EXIT.ok;
}

function fmtCpu(cores: number | undefined): string {
  return cores === undefined ? 'unbounded' : `${Math.round(cores * 1000)}m`;
}
function fmtMem(bytes: number | undefined): string {
  return bytes === undefined ? 'unbounded' : `${Math.round(bytes / 2 ** 20)}Mi`;
}

/** Builds the CLI program. `io` is injectable so tests run it in-process. */
export function program(io: Io, setExit: (code: number | Promise<number>) => void): Command {
  const envOption = () => new Option('-e, --env <name>', 'environment: an overlay in overlays/').default('local');
  const overlaysOption = () => new Option('--overlays <dir>', 'directory of overlay files').default('overlays');
  const cmd = new Command('kfkit')
    .description('Kubeflow as typed infrastructure-as-code: synthesize, validate and apply ordered manifests.')
    .addHelpText('after', '\nExit codes: 0 ok, 1 validation findings, 2 usage or configuration error, 3 apply step failed.')
    .configureOutput({ writeOut: (s) => { io.out(s.trimEnd()); }, writeErr: (s) => { io.err(s.trimEnd()); } })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  cmd.command('synth')
    .description('synthesize overlays to dist/<env>/ (validated; written atomically, nothing written on error)')
    .addOption(envOption().conflicts('all'))
    .option('--all', 'synthesize every overlay')
    .addOption(overlaysOption())
    // cdk8s synth passes its output directory in CDK8S_OUTDIR.
    .option('-o, --out <dir>', 'output root', process.env.CDK8S_OUTDIR ?? 'dist')
    .action((opts: EnvOptions & { readonly all?: boolean; readonly out: string }) => { setExit(synthCommand(io, opts)); });

  cmd.command('validate')
    .description('run the validation harness on a synthesized tree (yours or kfkit\'s)')
    .argument('[dir]', 'synthesized tree', 'dist/local')
    .action((dir: string) => { setExit(validateCommand(io, dir)); });

  cmd.command('list-images')
    .description('every image an environment deploys or starts at run time, for air-gap mirroring')
    .addOption(envOption())
    .addOption(overlaysOption())
    .action((opts: EnvOptions) => {
      const { synthesized } = build(io, opts.env, opts.overlays);
      for (const image of listImages(synthesized.objects, synthesized.runtimeImages)) io.out(image);
      setExit(EXIT.ok);
    });

  cmd.command('list-charts')
    .description('every Helm chart an environment installs in managed mode (release, repository, chart, version), for air-gap mirroring')
    .addOption(envOption())
    .addOption(overlaysOption())
    .action((opts: EnvOptions) => {
      const { synthesized } = build(io, opts.env, opts.overlays);
      for (const r of synthesized.helmReleases) io.out([`${r.namespace}/${r.releaseName}`, r.chart.repository, r.chart.chart, r.chart.version].join('\t'));
      setExit(EXIT.ok);
    });

  cmd.command('footprint')
    .description('summed cpu/memory requests and limits per namespace and component')
    .addOption(envOption())
    .addOption(overlaysOption())
    .action((opts: EnvOptions) => {
      const { synthesized } = build(io, opts.env, opts.overlays);
      const rows = footprint(synthesized.objects);
      io.out(['NAMESPACE', 'COMPONENT', 'PODS', 'CPU_REQ', 'CPU_LIM', 'MEM_REQ', 'MEM_LIM'].join('\t'));
      for (const r of rows) {
        io.out([r.namespace, r.component, r.pods, fmtCpu(r.cpuRequest), fmtCpu(r.cpuLimit), fmtMem(r.memoryRequest), fmtMem(r.memoryLimit)].join('\t'));
      }
      const sum = (f: (r: (typeof rows)[number]) => number | undefined) =>
        rows.reduce<number | undefined>((acc, r) => (acc === undefined || f(r) === undefined ? undefined : acc + (f(r) as number)), 0);
      io.out(['total', '', rows.reduce((a, r) => a + r.pods, 0), fmtCpu(sum((r) => r.cpuRequest)), fmtCpu(sum((r) => r.cpuLimit)),
        fmtMem(sum((r) => r.memoryRequest)), fmtMem(sum((r) => r.memoryLimit))].join('\t'));
      setExit(EXIT.ok);
    });

  cmd.command('apply')
    .description('install dist/<env>/ with kubectl in one ordered pass (server-side apply per wave, readiness waits between)')
    .addOption(envOption())
    .option('-o, --out <dir>', 'output root the tree was synthesized to', 'dist')
    .option('--dry-run', 'print the kubectl commands instead of running them')
    .option('--context <name>', 'kubectl context')
    .option('--timeout <seconds>', 'wait per object', '600')
    .action((opts: ApplyOptions) => { setExit(applyCommand(io, opts)); });

  cmd.command('restore')
    .description('print the Job (and what it needs) that restores the in-cluster database from a backup; apply it with kubectl')
    .addOption(envOption())
    .addOption(overlaysOption())
    .requiredOption('--from <backup>', 'backup timestamp (YYYYMMDDTHHMMSSZ) or its object key')
    .action((opts: EnvOptions & { readonly from: string }) => {
      const config = loadOverlay(path.resolve(io.cwd, opts.overlays), opts.env, STACKS);
      io.out(renderRestore(config, opts.from).trimEnd());
      setExit(EXIT.ok);
    });

  cmd.command('smoke')
    .description('NEEDS A RUNNING KFP: wait for the API, upload and run a tiny pipeline, fail loudly with the step that broke')
    .option('--url <url>', 'KFP API base URL (e.g. after `kubectl -n kubeflow port-forward svc/ml-pipeline 8888:8888`)', 'http://localhost:8888')
    .option('--timeout <seconds>', 'total time budget', '600')
    .addOption(envOption())
    .addOption(overlaysOption())
    .action((opts: EnvOptions & { readonly url: string; readonly timeout: string }) => {
      // The pipeline's image follows the environment's registry mirror; a token comes from KFKIT_SMOKE_TOKEN, not a flag.
      const config = loadOverlay(path.resolve(io.cwd, opts.overlays), opts.env, STACKS);
      const image = new ImageCatalog({ registryMirror: config.images.registryMirror }).image('alpine');
      setExit(smokeCommand({ url: opts.url, timeout: opts.timeout, token: process.env.KFKIT_SMOKE_TOKEN, image }, io));
    });

  cmd.command('schema')
    .description('write the JSON Schema of overlay files (for editor autocompletion)')
    .option('-o, --out <file>', 'output file', 'schema/platform-config.schema.json')
    .action((opts: { out: string }) => {
      const file = path.resolve(io.cwd, opts.out);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `${JSON.stringify(platformConfigJsonSchema(), null, 2)}\n`);
      io.err(`kfkit schema: wrote ${opts.out}`);
      setExit(EXIT.ok);
    });
  return cmd;
}

const CONSOLE: Io = { out: (l) => { console.log(l); }, err: (l) => { console.error(l); }, cwd: process.cwd() };

/**
 * Runs the CLI; returns the exit code, or a promise of it for commands that wait on the network (`smoke`). User
 * mistakes print one message; only bugs print a stack.
 */
export function run(argv: readonly string[], io: Io = CONSOLE): number | Promise<number> {
  let code: number | Promise<number> = EXIT.ok;
  try {
    program(io, (c) => { code = c; }).parse([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (e instanceof ConfigError || e instanceof HarnessLoadError || e instanceof UsageError || e instanceof RestoreError) {
      io.err(`kfkit: ${e.message}`);
      return EXIT.usage;
    }
    throw e;
  }
}
