import { KfkitContext } from '../lib/core/context';
import { collect } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { App } from 'cdk8s';
import { buildOrgStack, validateDefault } from '../examples/org-stack';
import { buildTeamsInCode } from '../examples/teams-in-code';
import { resolveConfig } from '../lib/config/load';
import { KubeflowPlatform } from '../lib/platform';
import { checkPlatform } from '../lib/synth/index';
import { STACKS } from '../stacks';

describe('examples/org-stack.ts', () => {
  test('synthesizes, validates, and opens the database to the org job only', () => {
    const app = buildOrgStack();
    const platform = app.node.findChild('platform');
    expect(KfkitContext.of(platform)).toBeDefined();
    const s = collect(platform);
    expect(validate(s)).toEqual([]);
    const names = s.objects.filter((o) => o.manifest.kind === 'NetworkPolicy').map((o) => o.manifest.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['mysql-from-usage-report', 'usage-report-to-mysql']));
    expect(validateDefault()).toBe(0);
  });
});

describe('examples/teams-in-code.ts', () => {
  const teams = [
    { name: 'search', lead: 'ann@example.com', members: ['ben@example.com', 'cy@example.com'] },
    { name: 'ads', lead: 'dee@example.com', members: [] },
  ];

  test('teams added in code get what overlay teams get, and their artifact keys', () => {
    const platform = buildTeamsInCode(teams);
    const s = collect(platform);
    expect(checkPlatform(s, platform.config)).toEqual([]);
    expect(platform.tenants.map((t) => t.name)).toEqual(['search', 'ads']);
    const quota = (name: string) => ((s.objects.find((o) => o.manifest.kind === 'Profile' && o.manifest.metadata.name === name)?.manifest as unknown as
      { spec: { resourceQuotaSpec: { hard: Record<string, string> } } }).spec.resourceQuotaSpec.hard);
    expect(quota('search')['requests.cpu']).toBe('6');
    expect(quota('ads')['requests.cpu']).toBe('2');
    expect(Object.keys(platform.profileArtifactKeys?.policies ?? {})).toEqual(['ads', 'search']);
    const job = s.objects.find((o) => o.manifest.kind === 'Job' && o.manifest.metadata.name.startsWith('profile-artifact-keys-'));
    expect(job?.manifest.metadata.name).toBe(platform.profileArtifactKeys?.jobName);
    expect(job?.manifest.metadata.annotations?.['kfkit.dev/provides']).toBe('Secret/ads/mlpipeline-minio-artifact,Secret/search/mlpipeline-minio-artifact');
  });

  test('a standalone platform refuses teams, naming the setting', () => {
    const platform = new KubeflowPlatform(new App(), 'p', { config: resolveConfig({ stack: 'local' }, STACKS) });
    expect(() => platform.addProfile({ name: 'x', owner: 'x@example.com' })).toThrow(/profiles need multi-user Pipelines \(pipelines.mode: multi-user/);
  });
});
