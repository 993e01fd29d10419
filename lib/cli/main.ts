import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError, Option } from 'commander';
import { STACKS } from '../../stacks';
import { ConfigError, listOverlays, loadOverlay } from '../config/load';
import { egressDestinations, platformConfigJsonSchema } from '../config/schema';
import { IMAGE_LOCK_FILE, ImageLockError } from '../core/image-lock';
import { KFKIT_VERSION } from '../version';
import { ImageCatalog } from '../core/images';
import { catalogReferences, lockedDigests, parseEndpoints, RegistryEndpoints, resolveAll, writeImageLock } from './image-lock';
import { smokeCommand } from '../smoke/index';
import { ApplySetRef } from '../core/applyset';
import { applyPlan } from '../synth/apply';
import { groupKind } from '../synth/collect';
import { Kubectl } from '../synth/kubectl';
import {
  crdHoldsObjects, crdsServing, deleteObjects, describeRef, KeptObject, LifecycleError, liveGroupKinds, listMembers, prunePlan, uninstallPlan,
} from '../synth/lifecycle';
import { renderRestore, RestoreError } from './restore';
import { SynthesizedWave } from '../synth/collect';
import { footprint, listImages } from '../synth/footprint';
import { PlatformFindingsError, RenderedPlatform, renderPlatformTree, writePlatformTrees } from '../synth/dist';
import { synthesize } from '../synth/index';
import { OutputLockedError, OutputLockOptions, prepareToRead } from '../synth/output';
import { TREE_METADATA } from '../synth/write';
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

interface EnvOptions { readonly env: string; readonly overlays: string; readonly imageLock?: string }

function resolveEnvs(io: Io, opts: EnvOptions & { readonly all?: boolean }): string[] {
  const dir = path.resolve(io.cwd, opts.overlays);
  if (opts.all) {
    const all = listOverlays(dir);
    if (all.length === 0) throw new UsageError(`--all: no overlays in ${dir}`);
    return all;
  }
  return [opts.env];
}

function build(io: Io, env: string, overlays: string, imageLock?: string) {
  const config = loadOverlay(path.resolve(io.cwd, overlays), env, STACKS);
  const synthesized = synthesize(config, { imageDigests: lockedDigests(io.cwd, imageLock) });
  return { config, synthesized };
}

function synthCommand(io: Io, opts: EnvOptions & { readonly all?: boolean; readonly out: string }): number {
  const envs = resolveEnvs(io, opts);
  const lock = lockOptions(io);
  // Build and validate every env before writing any, so a bad overlay writes nothing.
  const rendered: RenderedPlatform[] = [];
  for (const env of envs) {
    const t0 = Date.now();
    const { config, synthesized } = build(io, env, opts.overlays, opts.imageLock);
    try {
      rendered.push(renderPlatformTree(env, config, synthesized));
    } catch (e) {
      if (!(e instanceof PlatformFindingsError)) throw e;
      io.err(`kfkit synth: ${env}: ${e.findings.length} validation finding(s); nothing written\n${formatFindings([...e.findings])}`);
      return EXIT.findings;
    }
    io.err(`kfkit synth: ${env}: ${synthesized.objects.length} objects in ${synthesized.waves.length} waves, validated (${Date.now() - t0} ms)`);
    for (const d of egressDestinations(config)) {
      if (!d.anyAddress || d.unused !== undefined) continue;
      const at = d.path.join('.');
      io.err(`kfkit synth: ${env}: WARNING: ${at}.anyAddress is true: the egress meant for ${d.what} goes to any host on its ports; set ${at}.cidrs instead`);
    }
    for (const requirement of synthesized.requirements) io.err(`kfkit synth: ${env}: the cluster must provide: ${requirement}`);
  }
  const root = path.resolve(io.cwd, opts.out);
  onFiles(`write ${opts.out}`, () => {
    writePlatformTrees(root, rendered, {
      ...lock,
      onRecovered: (line) => { io.err(`kfkit synth: ${opts.out}: ${line}`); },
      onWrote: (env, dir) => { io.err(`kfkit synth: ${env}: wrote ${path.relative(io.cwd, dir) || dir}/`); },
    });
  });
  return EXIT.ok;
}

/** How long to wait for another kfkit that holds the output root (`KFKIT_LOCK_WAIT_SECONDS`, default 60). */
function lockOptions(io: Io): OutputLockOptions {
  const text = process.env.KFKIT_LOCK_WAIT_SECONDS;
  const seconds = text === undefined ? 60 : Number(text);
  if (!/^\d+$/.test(text ?? '0') || !Number.isSafeInteger(seconds)) {
    throw new UsageError(`KFKIT_LOCK_WAIT_SECONDS: "${text ?? ''}" must be a whole number of seconds >= 0`);
  }
  return { waitMs: seconds * 1000, onWait: (m) => { io.err(`kfkit: ${m}`); } };
}

/**
 * Runs `body`, which reads or writes the output root; a file-system error (a path through a file, no permission, a
 * full disk) becomes a {@link UsageError} naming what could not be done — never a stack trace.
 */
function onFiles<T>(what: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code !== 'string' || !/^E[A-Z]+$/.test(code)) throw e;
    const hint = code === 'ENOTDIR' || code === 'EEXIST' ? 'a path in it is a file, not a folder'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'no permission to write there'
        : code === 'ENOSPC' ? 'the disk is full' : (e as Error).message.split('\n')[0];
    throw new UsageError(`cannot ${what}: ${hint} (${code}); nothing was replaced`);
  }
}

/** Before reading the tree in `dir`: repairs an interrupted write in its output root, saying so. */
function readyToRead(io: Io, dir: string): void {
  const root = path.dirname(path.resolve(io.cwd, dir));
  for (const line of onFiles(`repair ${path.relative(io.cwd, root) || root}`, () => prepareToRead(root, lockOptions(io)))) {
    io.err(`kfkit: ${path.relative(io.cwd, root) || root}: ${line}`);
  }
}

function validateCommand(io: Io, dir: string): number {
  readyToRead(io, dir);
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

interface TreeDescription {
  readonly waves: SynthesizedWave[];
  readonly applySet?: ApplySetRef;
  /** APIs served by what the tree installs through managed charts (their CRDs are the charts'). */
  readonly chartApis: readonly { readonly group: string; readonly kind: string }[];
}

function readTree(dir: string): TreeDescription {
  const file = path.join(dir, TREE_METADATA);
  if (!fs.existsSync(file)) throw new UsageError(`${file} not found: run \`kfkit synth\` for this env first`);
  try {
    const meta = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      waves?: SynthesizedWave[]; applySet?: ApplySetRef; externalApis?: { group: string; kind: string; installedBy?: string }[];
    };
    if (!Array.isArray(meta.waves)) throw new Error('no "waves" list');
    const chartApis = (meta.externalApis ?? []).filter((a) => a.installedBy !== undefined).map((a) => ({ group: a.group, kind: a.kind }));
    return { waves: meta.waves, chartApis, ...(meta.applySet ? { applySet: meta.applySet } : {}) };
  } catch (e) {
    throw new UsageError(`${file} is not a kfkit tree description: ${(e as Error).message}; re-run \`kfkit synth\``);
  }
}

function timeoutOf(text: string): number {
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1) throw new UsageError(`--timeout: "${text}" must be a whole number of seconds >= 1`);
  return seconds;
}

interface ApplyOptions {
  readonly env: string;
  readonly out: string;
  readonly dryRun?: boolean;
  readonly context?: string;
  readonly timeout: string;
  readonly kubectl: string;
  readonly prune: boolean;
  readonly pruneData?: boolean;
}

function printKept(io: Io, kept: readonly KeptObject[]): void {
  for (const k of kept) io.out(`kept: ${describeRef(k.ref)} — ${k.reason}`);
}

function applyCommand(io: Io, opts: ApplyOptions): number {
  const timeoutSeconds = timeoutOf(opts.timeout);
  const dir = path.join(opts.out, opts.env);
  readyToRead(io, dir);
  const tree = readTree(path.resolve(io.cwd, dir));
  const steps = applyPlan(tree.waves, { dir, timeoutSeconds, context: opts.context, kubectl: opts.kubectl });
  const kubectl = new Kubectl({ cwd: io.cwd, context: opts.context, binary: opts.kubectl });
  const applySet = opts.prune ? tree.applySet : undefined;
  const first = applySet ? 2 : 1;
  const total = steps.length + (applySet ? 2 : 0);
  const fail = (n: number, what: string, why: string) => {
    io.err(`kfkit apply: step ${n} failed: ${what} (${why})`);
    return EXIT.applyFailed;
  };
  // What an earlier apply installed (the live ApplySet parent's group-kinds), read before this one rewrites it; the
  // first call to the cluster, so a wrong context fails here.
  let previousKinds: string[] = [];
  if (applySet) {
    const what = `read what an earlier apply installed (ConfigMap ${applySet.parent.namespace}/${applySet.parent.name})`;
    io.err(`[1/${total}] ${what}`);
    if (opts.dryRun) io.out(kubectl.argv(['get', 'configmap', applySet.parent.name, '-n', applySet.parent.namespace, '--ignore-not-found']).join(' '));
    else {
      try {
        previousKinds = liveGroupKinds(kubectl, applySet);
      } catch (e) {
        if (!(e instanceof LifecycleError)) throw e;
        return fail(1, what, e.message);
      }
    }
  }
  for (const [i, step] of steps.entries()) {
    io.err(`[${i + first}/${total}] ${step.description}`);
    if (opts.dryRun) {
      io.out(step.argv.join(' '));
      continue;
    }
    const [cmd, ...args] = step.argv;
    const r = spawnSync(cmd, args, { cwd: io.cwd, stdio: 'inherit' });
    if (r.error || r.status !== 0) return fail(i + first, step.description, r.error ? r.error.message : `exit ${r.status}`);
  }
  if (!applySet) return EXIT.ok;
  const what = `prune: delete the platform's objects (ApplySet ${applySet.id}) this tree no longer renders${opts.pruneData ? '' : '; keep protected data'}`;
  io.err(`[${total}/${total}] ${what}`);
  if (opts.dryRun) {
    io.out(`# prune: list the members of ApplySet ${applySet.id}, delete those not in ${dir}${opts.pruneData ? '' : ' (protected data kept)'}`);
    return EXIT.ok;
  }
  try {
    const manifests = loadDist(path.resolve(io.cwd, dir)).objects.map((o) => o.manifest);
    const live = listMembers(kubectl, applySet, [...manifests.map(groupKind), ...previousKinds]);
    const plan = prunePlan(manifests, live, opts.pruneData === true);
    for (const r of plan.delete) io.err(`  pruned: ${describeRef(r)}`);
    deleteObjects(kubectl, plan.delete, timeoutSeconds, false, io.out);
    printKept(io, plan.kept);
  } catch (e) {
    if (!(e instanceof LifecycleError)) throw e;
    return fail(total, 'prune', e.message);
  }
  return EXIT.ok;
}

interface UninstallOptions {
  readonly env: string;
  readonly out: string;
  readonly dryRun?: boolean;
  readonly context?: string;
  readonly timeout: string;
  readonly kubectl: string;
  readonly includeData?: boolean;
}

function uninstallCommand(io: Io, opts: UninstallOptions): number {
  const timeoutSeconds = timeoutOf(opts.timeout);
  const dir = path.join(opts.out, opts.env);
  readyToRead(io, dir);
  const tree = readTree(path.resolve(io.cwd, dir));
  const kubectl = new Kubectl({ cwd: io.cwd, context: opts.context, binary: opts.kubectl });
  try {
    const objects = loadDist(path.resolve(io.cwd, dir)).objects;
    const kinds = (set: ApplySetRef) => [...objects.map((o) => groupKind(o.manifest)), ...liveGroupKinds(kubectl, set)];
    const live = tree.applySet ? listMembers(kubectl, tree.applySet, kinds(tree.applySet)) : [];
    const plan = uninstallPlan(objects, tree.applySet, live, opts.includeData === true);
    const kept = [...plan.kept];
    const total = plan.steps.length + (tree.chartApis.length > 0 ? 1 : 0);
    for (const [i, step] of plan.steps.entries()) {
      const t0 = Date.now();
      io.err(`[${i + 1}/${total}] delete ${step.description}`);
      deleteObjects(kubectl, step.delete, timeoutSeconds, opts.dryRun === true, io.out);
      for (const crd of step.crds ?? []) {
        if (!opts.dryRun && crdHoldsObjects(kubectl, crd.resource)) {
          kept.push({ ref: crd.ref, reason: 'custom resources kfkit did not create remain; delete them, then the CRD' });
          continue;
        }
        deleteObjects(kubectl, [crd.ref], timeoutSeconds, opts.dryRun === true, io.out);
      }
      if (!opts.dryRun) io.err(`  gone in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    if (tree.chartApis.length > 0) {
      // Helm keeps the CRDs a chart installed; kfkit installed the chart, so it removes them — unless objects remain.
      io.err(`[${total}/${total}] delete the CRDs of the managed charts that no object uses`);
      for (const crd of crdsServing(kubectl, tree.chartApis)) {
        if (!opts.dryRun && crdHoldsObjects(kubectl, crd.resource)) {
          kept.push({ ref: crd.ref, reason: 'installed by a managed chart; custom resources kfkit did not create remain' });
          continue;
        }
        deleteObjects(kubectl, [crd.ref], timeoutSeconds, opts.dryRun === true, io.out);
      }
    }
    printKept(io, kept);
    io.err(`kfkit uninstall: ${opts.dryRun ? 'would keep' : 'kept'} ${kept.length} object(s)${kept.length > 0 && !opts.includeData ? ' (--include-data deletes the protected data too)' : ''}`);
  } catch (e) {
    if (!(e instanceof LifecycleError)) throw e;
    io.err(`kfkit uninstall: ${e.message}`);
    return EXIT.applyFailed;
  }
  return EXIT.ok;
}

function fmtCpu(cores: number | undefined): string {
  return cores === undefined ? 'unbounded' : `${Math.round(cores * 1000)}m`;
}
function fmtMem(bytes: number | undefined): string {
  return bytes === undefined ? 'unbounded' : `${Math.round(bytes / 2 ** 20)}Mi`;
}

/** Options of `kfkit images lock`. */
interface ImagesLockOptions { readonly imageLock: string; readonly endpoint: readonly string[]; readonly timeout: string }

async function imagesLockCommand(io: Io, opts: ImagesLockOptions): Promise<number> {
  const timeout = Number(opts.timeout);
  if (!/^\d+$/.test(opts.timeout) || timeout < 1 || timeout > 600) {
    io.err(`kfkit images lock: --timeout must be whole seconds 1-600 (got ${JSON.stringify(opts.timeout)})`);
    return EXIT.usage;
  }
  let endpoints: RegistryEndpoints;
  try {
    endpoints = parseEndpoints(opts.endpoint);
  } catch (e) {
    if (!(e instanceof ImageLockError)) throw e;
    io.err(`kfkit images lock: ${e.message}`);
    return EXIT.usage;
  }
  const file = path.resolve(io.cwd, opts.imageLock);
  const refs = catalogReferences();
  const t0 = Date.now();
  const { digests, errors } = await resolveAll(refs, { endpoints, timeoutMs: timeout * 1000 });
  if (errors.length > 0) {
    io.err(`kfkit images lock: ${errors.length} of ${refs.length} image(s) not resolved; ${path.relative(io.cwd, file) || file} left as it was`);
    for (const e of errors.slice(0, 50)) io.err(`  - ${e}`);
    if (errors.length > 50) io.err(`  … and ${errors.length - 50} more`);
    return EXIT.applyFailed;
  }
  try {
    writeImageLock(file, digests);
  } catch (e) {
    io.err(`kfkit images lock: cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return EXIT.usage;
  }
  io.err(`kfkit images lock: ${refs.length} images locked by digest in ${path.relative(io.cwd, file) || file} (${Date.now() - t0} ms)`);
  return EXIT.ok;
}

/** Builds the CLI program. `io` is injectable so tests run it in-process. */
export function program(io: Io, setExit: (code: number | Promise<number>) => void): Command {
  const envOption = () => new Option('-e, --env <name>', 'environment: an overlay in overlays/').default('local');
  const overlaysOption = () => new Option('--overlays <dir>', 'directory of overlay files').default('overlays');
  const imageLockOption = () => new Option('--image-lock <file>', `image lock: every image by digest (default: ${IMAGE_LOCK_FILE} when it exists)`);
  const cmd = new Command('kfkit')
    .description('Kubeflow as typed infrastructure-as-code: synthesize, validate and apply ordered manifests.')
    .version(KFKIT_VERSION, '-V, --version', 'print the kfkit version')
    .addHelpText('after', '\nExit codes: 0 ok, 1 validation findings, 2 usage or configuration error, 3 apply step (or registry lookup) failed.')
    .configureOutput({ writeOut: (s) => { io.out(s.trimEnd()); }, writeErr: (s) => { io.err(s.trimEnd()); } })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  cmd.command('synth')
    .description('synthesize overlays to dist/<env>/ (validated; written atomically, nothing written on error)')
    .addOption(envOption().conflicts('all'))
    .option('--all', 'synthesize every overlay')
    .addOption(overlaysOption())
    .addOption(imageLockOption())
    // cdk8s synth passes its output directory in CDK8S_OUTDIR.
    .option('-o, --out <dir>', 'output root', process.env.CDK8S_OUTDIR ?? 'dist')
    .action((opts: EnvOptions & { readonly all?: boolean; readonly out: string }) => { setExit(synthCommand(io, opts)); });

  cmd.command('validate')
    .description('run the validation harness on a synthesized tree (yours or kfkit\'s)')
    .argument('[dir]', 'synthesized tree', 'dist/local')
    .action((dir: string) => { setExit(validateCommand(io, dir)); });

  cmd.command('list-images')
    .description('every image an environment deploys or starts at run time, for air-gap mirroring (tag and, with an image lock, digest)')
    .addOption(envOption())
    .addOption(overlaysOption())
    .addOption(imageLockOption())
    .action((opts: EnvOptions) => {
      const { synthesized } = build(io, opts.env, opts.overlays, opts.imageLock);
      for (const image of listImages(synthesized.objects, synthesized.runtimeImages)) io.out(image);
      setExit(EXIT.ok);
    });

  cmd.command('images')
    .description('the image lock')
    .command('lock')
    .description(`resolve every image's tag to its digest through the registry API and write the image lock (${IMAGE_LOCK_FILE})`)
    .option('--image-lock <file>', 'lock file to write', IMAGE_LOCK_FILE)
    .option('--endpoint <host=url...>', 'reach a registry at a URL instead of https://<host> (a pull-through proxy); http only on loopback', [])
    .option('--timeout <seconds>', 'per request', '30')
    .action((opts: ImagesLockOptions) => {
      setExit(imagesLockCommand(io, opts));
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

  /** Options of the commands that act on a cluster with a synthesized tree. */
  const onCluster = (c: Command, dryRun: string, timeout: string): Command => c
    .addOption(envOption())
    .option('-o, --out <dir>', 'output root the tree was synthesized to', 'dist')
    .option('--dry-run', dryRun)
    .option('--context <name>', 'kubectl context')
    .option('--timeout <seconds>', timeout, '600')
    .option('--kubectl <path>', 'kubectl binary', 'kubectl');

  onCluster(cmd.command('apply'), 'print the kubectl commands instead of running them', 'wait per object')
    .description('install dist/<env>/ with kubectl in one ordered pass (server-side apply per wave, readiness waits between), then prune what the tree no longer renders')
    .option('--no-prune', 'keep the objects an earlier apply installed that this tree no longer renders')
    .option('--prune-data', 'prune protected data too (PVCs and the namespaces that hold them) when no longer rendered')
    .action((opts: ApplyOptions) => { setExit(applyCommand(io, opts)); });

  onCluster(cmd.command('uninstall'), 'print the kubectl commands instead of running them (reads the cluster)', 'wait per step')
    .description('delete what `apply` installed, in reverse wave order (waiting for finalizers); keeps protected data and lists it')
    .option('--include-data', 'delete protected data too: PVCs, the namespaces that hold them, their generated credentials')
    .action((opts: UninstallOptions) => { setExit(uninstallCommand(io, opts)); });

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
      onFiles(`write ${opts.out}`, () => {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, `${JSON.stringify(platformConfigJsonSchema(), null, 2)}\n`);
      });
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
    if (e instanceof OutputLockedError) {
      io.err(`kfkit: ${e.message}`);
      return EXIT.findings;
    }
    throw e;
  }
}
