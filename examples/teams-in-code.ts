/**
 * Teams in code: an org stack that adds its teams to a multi-user platform with `addProfile` — from its own HR
 * export instead of an overlay list — each with a quota sized by headcount. Compiled and validated by
 * test/examples.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { parse } from 'yaml';
import { KubeflowPlatform, resolveConfig } from '../lib';
import { STACKS } from '../stacks';

/** One row of the org's team list. */
export interface Team {
  readonly name: string;
  readonly lead: string;
  readonly members: readonly string[];
}

export function buildTeamsInCode(teams: readonly Team[]): KubeflowPlatform {
  // The laptop multi-user overlay, without its own teams.
  const overlay = parse(fs.readFileSync(path.join(__dirname, '..', 'overlays', 'local-auth.yaml'), 'utf8')) as Record<string, unknown>;
  const platform = new KubeflowPlatform(new App(), 'platform', { config: resolveConfig({ ...overlay, tenancy: {} }, STACKS) });
  for (const team of teams) {
    const cpu = Math.max(2, 2 * (team.members.length + 1));
    platform.addProfile({
      name: team.name,
      owner: team.lead,
      contributors: team.members.map((user) => ({ user, role: 'edit' as const })),
      quota: { cpu: String(cpu), memory: `${cpu * 4}Gi`, memoryLimit: `${cpu * 8}Gi`, storage: '50Gi', gpus: 0 },
    });
  }
  return platform;
}
