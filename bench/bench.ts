/**
 * `npm run bench`: synthesis figures per environment. Prints, never asserts (timing belongs in notes, not tests).
 *
 * - process: wall time of `kfkit synth --env <env>` as a fresh process (what a user or CI waits for), best of 3;
 * - in-process: load overlay + build + validate + render, median of 10 after 2 warm-ups;
 * - rss: resident set size after the in-process runs.
 *
 * Then tenancy at scale: the local-auth overlay with 10, 100 and 1000 profiles (one contributor each), as a fresh
 * process (best of 3: what `kfkit synth` costs, validation and writing included) and in-process per phase (median of
 * 3): configuration, constructs, collection, checks (harness and fidelity), rendering, writing. Writing is the disk's:
 * on a slow or busy disk it varies most.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listOverlays, loadOverlay } from '../lib/config/load';
import { synthesize } from '../lib/synth/index';
import { checkPlatform } from '../lib/synth/index';
import { writeTreeAtomically } from '../lib/synth/output';
import { renderTree } from '../lib/synth/write';
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import { KubeflowPlatform } from '../lib/platform';
import { collect } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { STACKS } from '../stacks';

const root = path.resolve(__dirname, '..');
const overlays = path.join(root, 'overlays');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function inProcess(env: string): { objects: number; ms: number } {
  const t0 = process.hrtime.bigint();
  const config = loadOverlay(overlays, env, STACKS);
  const s = synthesize(config);
  const findings = validate(s);
  if (findings.length > 0) throw new Error(`${env}: ${findings.length} findings`);
  renderTree(s, { env, stack: config.stack, flux: { sourceRef: config.gitops.flux.sourceRef, path: `./dist/${env}`, interval: '10m', timeoutSeconds: 600 } });
  return { objects: s.objects.length, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

// The fresh-process figures are those of the bundled CLI (what `npm ci` builds): bring it up to date first.
const bundled = spawnSync(process.execPath, [path.join(root, 'tools', 'bundle-cli.js')], { encoding: 'utf8' });
if (bundled.status !== 0) throw new Error(`bundling the CLI failed: ${bundled.stderr}`);

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'kfkit-bench-'));
console.log(`node ${process.version}, ${os.cpus().length} cpus`);
console.log(['env', 'objects', 'process_ms(best of 3)', 'in_process_ms(median of 10)', 'rss_mb'].join('\t'));
for (const env of listOverlays(overlays)) {
  const wall: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [path.join(root, 'bin/kfkit.js'), 'synth', '--env', env, '--overlays', overlays, '--out', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`synth ${env} failed: ${r.stderr}`);
    wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  inProcess(env);
  inProcess(env);
  const runs = Array.from({ length: 10 }, () => inProcess(env));
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log([env, runs[0]?.objects, Math.min(...wall).toFixed(0), median(runs.map((r) => r.ms)).toFixed(1), rss.toFixed(0)].join('\t'));
}

/** An overlays directory with `profiles-<n>`: local-auth with `n` profiles. */
function tenancyOverlays(counts: readonly number[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kfkit-bench-overlays-'));
  const base = fs.readFileSync(path.join(overlays, 'local-auth.yaml'), 'utf8').replace(/^tenancy:[\s\S]*$/m, '');
  for (const n of counts) {
    const profiles = Array.from({ length: n }, (_, i) => ({
      name: `team-${String(i).padStart(4, '0')}`, owner: `owner${i}@example.com`, contributors: [{ user: `lead${i % 7}@example.com`, role: 'edit' }],
    }));
    fs.writeFileSync(path.join(dir, `profiles-${n}.yaml`), `${base}\n${stringify({ tenancy: { profiles } })}`);
  }
  return dir;
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

function phases(dir: string, env: string): Record<string, number> {
  let t = process.hrtime.bigint();
  const config = loadOverlay(dir, env, STACKS);
  const configMs = ms(t);
  t = process.hrtime.bigint();
  const platform = new KubeflowPlatform(new App(), 'kfkit', { config });
  const constructMs = ms(t);
  t = process.hrtime.bigint();
  const s = collect(platform);
  const collectMs = ms(t);
  t = process.hrtime.bigint();
  const findings = checkPlatform(s, config);
  if (findings.length > 0) throw new Error(`${env}: ${findings.length} findings`);
  const checkMs = ms(t);
  t = process.hrtime.bigint();
  const flux = { sourceRef: config.gitops.flux.sourceRef, path: `./dist/${env}`, interval: '10m', timeoutSeconds: 600 };
  const files = renderTree(s, { env, stack: config.stack, flux });
  const renderMs = ms(t);
  t = process.hrtime.bigint();
  writeTreeAtomically(path.join(out, env), files);
  return {
    objects: s.objects.length, files: files.size, config: configMs, construct: constructMs, collect: collectMs, check: checkMs, render: renderMs, write: ms(t),
  };
}

const counts = [10, 100, 1000];
const tenancyDir = tenancyOverlays(counts);
console.log('');
console.log(['profiles', 'objects', 'files', 'process_ms(best of 3)', 'config', 'construct', 'collect', 'check', 'render', 'write (in-process ms, median of 3)'].join('\t'));
for (const n of counts) {
  const env = `profiles-${n}`;
  const wall: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [path.join(root, 'bin/kfkit.js'), 'synth', '--env', env, '--overlays', tenancyDir, '--out', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`synth ${env} failed: ${r.stderr}`);
    wall.push(ms(t0));
  }
  const runs = Array.from({ length: 3 }, () => phases(tenancyDir, env));
  const med = (k: string) => median(runs.map((r) => r[k] ?? NaN)).toFixed(0);
  console.log([n, runs[0]?.objects, runs[0]?.files, Math.min(...wall).toFixed(0), med('config'), med('construct'), med('collect'), med('check'), med('render'), med('write')].join('\t'));
}
fs.rmSync(tenancyDir, { recursive: true, force: true });
fs.rmSync(out, { recursive: true, force: true });
