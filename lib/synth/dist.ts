import * as path from 'path';
import type { PlatformConfig } from '../config/schema';
import type { KubeflowPlatform } from '../platform';
import { Finding } from '../validate/types';
import { collect, Synthesized } from './collect';
import { checkPlatform } from './index';
import { OutputLockOptions, recoverOutput, withOutputLock, writeTreeAtomically } from './output';
import { renderTree } from './write';

/**
 * Writing a platform's `dist/<env>` tree from an org stack, exactly as `kfkit synth` writes it: validated by the
 * harness and the fidelity checks, numbered wave folders with their kustomizations, Flux objects and `kfkit.json`,
 * written atomically under the output root's lock. The CLI uses the same two calls.
 */

/** The platform did not validate: nothing was written. */
export class PlatformFindingsError extends Error {
  public readonly findings: readonly Finding[];

  public constructor(env: string, findings: readonly Finding[]) {
    super(`${env}: ${findings.length} validation finding(s); nothing written\n${findings.slice(0, 50).map((f) => `  ${f.rule} ${f.object}: ${f.message}`).join('\n')}`
      + (findings.length > 50 ? `\n  … and ${findings.length - 50} more` : ''));
    this.findings = findings;
  }
}

/** One environment's validated files, ready to write. */
export interface RenderedPlatform {
  readonly env: string;
  readonly synthesized: Synthesized;
  readonly files: ReadonlyMap<string, string>;
}

/**
 * Validates and renders `synthesized` (of a platform built from `config`) as the tree of environment `env`. Throws
 * {@link PlatformFindingsError} with every finding when it does not validate.
 */
export function renderPlatformTree(env: string, config: PlatformConfig, synthesized: Synthesized): RenderedPlatform {
  const findings = checkPlatform(synthesized, config);
  if (findings.length > 0) throw new PlatformFindingsError(env, findings);
  const flux = config.gitops.flux;
  const files = renderTree(synthesized, {
    env,
    stack: config.stack,
    flux: { sourceRef: flux.sourceRef, path: flux.path ?? `./dist/${env}`, interval: flux.interval, timeoutSeconds: config.apply.timeoutSeconds },
  });
  return { env, synthesized, files };
}

/** What {@link writePlatformTrees} reports as it goes. */
export interface WriteListener {
  /** An interrupted earlier write was repaired (what was done). */
  readonly onRecovered?: (line: string) => void;
  /** `env`'s tree is in place at `dir`. */
  readonly onWrote?: (env: string, dir: string) => void;
}

/**
 * Writes rendered environments below `outDir` (`<outDir>/<env>/`), each swapped in atomically, under the output
 * root's lock, after recovering an interrupted earlier write.
 */
export function writePlatformTrees(outDir: string, rendered: readonly RenderedPlatform[], options: OutputLockOptions & WriteListener = {}): void {
  withOutputLock(outDir, () => {
    for (const line of recoverOutput(outDir)) options.onRecovered?.(line);
    for (const { env, files } of rendered) {
      const dir = path.join(outDir, env);
      writeTreeAtomically(dir, files);
      options.onWrote?.(env, dir);
    }
  }, options);
}

/**
 * Collects, validates and writes the platforms of an org stack: `<outDir>/<env>/` for each `{ env, platform }`.
 * Every platform is validated before anything is written; a finding anywhere writes nothing
 * ({@link PlatformFindingsError}).
 */
export function writeDist(outDir: string, platforms: readonly { readonly env: string; readonly platform: KubeflowPlatform }[],
  options: OutputLockOptions = {}): RenderedPlatform[] {
  const envs = platforms.map((p) => p.env);
  const twice = envs.find((e, i) => envs.indexOf(e) !== i);
  if (twice !== undefined) throw new Error(`writeDist: environment "${twice}" is given twice`);
  for (const env of envs) if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(env)) throw new Error(`writeDist: environment "${env}" must be a DNS label (it names a folder)`);
  const rendered = platforms.map(({ env, platform }) => renderPlatformTree(env, platform.config, collect(platform)));
  writePlatformTrees(path.resolve(outDir), rendered, options);
  return rendered;
}
