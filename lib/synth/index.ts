import * as path from 'path';
import { App } from 'cdk8s';
import { PlatformConfig } from '../config/schema';
import { packageRoot } from '../core/package-root';
import { KubeflowPlatform } from '../platform';
import { checkFidelity, Deviation, Facts, loadDeviations, loadFacts } from '../validate/fidelity';
import { validate } from '../validate/harness';
import { Finding } from '../validate/types';
import { collect, Synthesized } from './collect';

let committedFacts: { facts: Facts; deviations: Deviation[] } | undefined;

/** The committed upstream facts and kfkit's documented deviations (`facts/`), loaded once. */
export function upstreamFacts(): { facts: Facts; deviations: Deviation[] } {
  committedFacts ??= {
    facts: loadFacts(path.join(packageRoot(), 'facts', 'upstream.json')),
    deviations: loadDeviations(path.join(packageRoot(), 'facts', 'deviations.json')),
  };
  return committedFacts;
}

/**
 * Everything kfkit checks before writing a platform: the validation harness, plus fidelity of every workload that
 * follows an upstream one to the committed facts (deviations documented in facts/deviations.json).
 */
export function checkPlatform(s: Synthesized, config: PlatformConfig): Finding[] {
  const { facts, deviations } = upstreamFacts();
  return [...validate(s), ...checkFidelity(s.objects, facts, deviations, { mirror: config.images.registryMirror })];
}

/** Builds the platform for a configuration and collects its objects, in memory. */
export function synthesize(config: PlatformConfig, options: { readonly imageDigests?: Readonly<Record<string, string>> } = {}): Synthesized {
  const app = new App();
  const platform = new KubeflowPlatform(app, 'kfkit', { config, imageDigests: options.imageDigests });
  return collect(platform);
}
