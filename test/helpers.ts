import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run } from '../lib/cli/main';
import { ConfigError, resolveConfig } from '../lib/config/load';
import { PlatformConfig } from '../lib/config/schema';
import { STACKS } from '../stacks';

/** Repository root. */
export const ROOT = path.resolve(__dirname, '..');

/** Result of an in-process CLI run. */
export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the kfkit CLI in-process with `cwd`, capturing its output. */
export function cli(args: readonly string[], cwd: string = ROOT): CliResult {
  const out: string[] = [];
  const err: string[] = [];
  const code = run(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd });
  if (typeof code !== 'number') throw new Error(`${args.join(' ')} is asynchronous: use cliAsync`);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Runs an asynchronous kfkit command (`smoke`) in-process. */
export async function cliAsync(args: readonly string[], cwd: string = ROOT): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, { out: (l) => out.push(l), err: (l) => err.push(l), cwd });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A fresh temporary directory. */
export function tmpdir(prefix = 'kfkit-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A temporary directory with `overlays/<env>.yaml` files holding the given texts. */
export function withOverlays(overlays: Readonly<Record<string, string>>): string {
  const dir = tmpdir();
  fs.mkdirSync(path.join(dir, 'overlays'));
  for (const [env, text] of Object.entries(overlays)) fs.writeFileSync(path.join(dir, 'overlays', `${env}.yaml`), text);
  return dir;
}

/** Every file below `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

/** A resolved configuration for `stack: local` plus overrides. */
export function localConfig(overrides: Record<string, unknown> = {}): PlatformConfig {
  return resolveConfig({ stack: 'local', ...overrides }, STACKS);
}

/** The field paths of the ConfigError `fn` throws (fails the test if it throws none, or something else). */
export function configIssuePaths(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => i.path);
    throw e;
  }
  throw new Error('expected a ConfigError');
}
