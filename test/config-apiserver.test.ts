import * as fs from 'fs';
import * as path from 'path';
import { cronProblem } from '../lib/config/cron';
import { ConfigError } from '../lib/config/load';
import { ipv4CidrProblem } from '../lib/core/network';
import { MAX_USER_ID_LENGTH } from '../lib/config/tenancy-schema';
import { cli, configIssuePaths, listFiles, localConfig, withOverlays } from './helpers';

/**
 * What the API server refuses is refused in the configuration, at the field: found by the e2e control plane, where these
 * configurations synthesized as valid and failed at apply.
 */
const multiUser = {
  pipelines: { mode: 'multi-user' }, istio: { mode: 'managed' }, certManager: { mode: 'managed' }, gateway: { host: 'kf.example.com' },
  auth: { mode: 'dex', dex: { staticUsers: [{ email: 'a@example.com', hashSecret: { name: 'u', key: 'h' } }] } },
};
const team = (extra: Record<string, unknown>) => ({ ...multiUser, tenancy: { profiles: [{ name: 'team-a', owner: 'a@example.com', ...extra }] } });

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.message + e.issues.map((i) => `${i.path}: ${i.message}`).join('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration mirrors the API server\'s validation', () => {
  test('a backup schedule the CronJob would refuse', () => {
    expect(configIssuePaths(() => localConfig({ backup: { schedule: '99 99 * * *' } }))).toEqual(['backup.schedule']);
    expect(messageOf(() => localConfig({ backup: { schedule: '99 99 * * *' } }))).toMatch(/minute \(field 1\): 99 is outside 0-59/);
    expect(localConfig({ backup: { schedule: '30 2 * * MON-FRI' } }).backup.schedule).toBe('30 2 * * MON-FRI');
  });

  test('a profile egress CIDR the NetworkPolicy would refuse', () => {
    expect(configIssuePaths(() => localConfig(team({ egress: [{ cidr: '999.1.1.1/33', ports: [443] }] })))).toEqual(['tenancy.profiles[0].egress[0].cidr']);
    expect(messageOf(() => localConfig(team({ egress: [{ cidr: '10.0.0.0/33', ports: [443] }] })))).toMatch(/prefix length of an IPv4 block is 0-32/);
  });

  test('an owner too long for the names and annotations it ends up in', () => {
    expect(configIssuePaths(() => localConfig(team({ owner: 'x'.repeat(300000) })))).toEqual(['tenancy.profiles[0].owner']);
    expect(configIssuePaths(() => localConfig(team({ owner: 'x'.repeat(MAX_USER_ID_LENGTH + 1) })))).toEqual(['tenancy.profiles[0].owner']);
    expect(localConfig(team({ owner: `${'x'.repeat(MAX_USER_ID_LENGTH - 12)}@example.com` })).tenancy.profiles[0].owner).toHaveLength(MAX_USER_ID_LENGTH);
  });

  test('an annotation key that is not a qualified name', () => {
    const config = (annotations: Record<string, string>) => localConfig({ ...multiUser, gateway: { host: 'kf.example.com', service: { annotations } } });
    expect(configIssuePaths(() => config({ 'bad key': 'x' }))).toEqual(['gateway.service.annotations.bad key']);
    expect(configIssuePaths(() => config({ 'example.com/': 'x' }))).toEqual(['gateway.service.annotations.example.com/']);
    expect(configIssuePaths(() => config({ big: 'x'.repeat(300000) }))).toEqual(['gateway.service.annotations']);
    expect(config({ 'service.beta.kubernetes.io/aws-load-balancer-type': 'external' }).gateway.service.annotations).toBeDefined();
  });

  test('through the CLI: exit 2, the field named, nothing written', () => {
    const dir = withOverlays({ bad: 'stack: local\nbackup:\n  schedule: "99 99 * * *"\n' });
    const r = cli(['synth', '--env', 'bad'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/backup\.schedule: must be a cron schedule Kubernetes accepts/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(listFiles(path.join(dir, 'dist'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'dist', 'bad'))).toBe(false);
  });
});

describe('cron schedules as Kubernetes parses them', () => {
  test.each([
    '0 3 * * *', '*/15 * * * *', '0 0 1,15 * *', '0 9-17/2 * * 1-5', '0 0 * JAN,jul SUN', '5 4 ? * ?', '@daily', '@hourly', '@every 1h30m',
  ])('accepts %s', (s) => { expect(cronProblem(s)).toBeUndefined(); });

  test.each([
    ['99 99 * * *', /minute/], ['0 24 * * *', /hour \(field 2\): 24 is outside 0-23/], ['0 0 0 * *', /day of month.*0 is outside 1-31/],
    ['0 0 * 13 *', /month.*13 is outside 1-12/], ['0 0 * * 7', /day of week.*7 is outside 0-6/], ['0 3 * *', /five fields.*it has 4/],
    ['*/0 * * * *', /step.*above 0/], ['5-1 * * * *', /ends before it starts/], ['0 0 * FOO *', /not a number or a month name/],
    ['? * * * *', /not a number/], ['TZ=UTC 0 3 * * *', /time zone/], ['@sometimes', /not a descriptor/], ['@every soon', /not a descriptor/],
  ])('refuses %s', (s, why) => { expect(cronProblem(s)).toMatch(why); });
});

describe('IPv4 CIDR blocks', () => {
  test.each(['0.0.0.0/0', '10.20.30.40/32', '192.168.0.0/16'])('accepts %s', (c) => { expect(ipv4CidrProblem(c)).toBeUndefined(); });
  test.each(['999.1.1.1/33', '10.0.0.0/33', '256.0.0.0/8', '10.0.0/8', '10.0.0.0', 'fd00::/8'])('refuses %s', (c) => { expect(ipv4CidrProblem(c)).toBeDefined(); });
});
