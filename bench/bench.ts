/**
 * `npm run bench`: synthesis figures per environment. Prints, never asserts (timing belongs in notes, not tests).
 *
 * - process: wall time of `kfkit synth --env <env>` as a fresh process (what a user or CI waits for), best of 3;
 * - in-process: load overlay + build + validate + render, median of 10 after 2 warm-ups;
 * - rss: resident set size after the in-process runs.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listOverlays, loadOverlay } from '../lib/config/load';
import { synthesize } from '../lib/synth/index';
import { renderTree } from '../lib/synth/write';
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
fs.rmSync(out, { recursive: true, force: true });
