import * as path from 'path';
import { loadOverlay } from '../lib/config/load';
import { UPSTREAM_DATABASE_NAMES } from '../lib/core/database';
import { databaseUsers, grantSql, loginPlaceholder, passwordPlaceholder, withPasswords } from '../lib/core/database-users';
import { synthesize } from '../lib/synth/index';
import { podTemplateOf } from '../lib/validate/util';
import { STACKS } from '../stacks';
import { configIssuePaths, localConfig, ROOT } from './helpers';

/** The administrators' Secrets of the in-cluster databases. */
const ADMIN_SECRETS = ['mysql-secret', 'postgres-secret', 'postgres-secret-extended'];

/** Every pod template of `config` that reads one of `secrets` (env, envFrom, volumes), by workload name. */
function readers(config: ReturnType<typeof localConfig>, secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const { manifest } of synthesize(config).objects) {
    const template = podTemplateOf(manifest);
    if (!template) continue;
    const text = JSON.stringify(template.spec);
    if (secrets.some((s) => text.includes(`"name":"${s}"`) || text.includes(`"secretName":"${s}"`))) out.add(`${manifest.kind}/${manifest.metadata.name.replace(/-[0-9a-f]{8}$/, '')}`);
  }
  return [...out].sort();
}

describe('no consumer holds the database administrator\'s credentials', () => {
  test.each(['local', 'local-auth', 'full', 'onprem'])('%s: only the server and its users Job read the administrator\'s Secret', (env) => {
    expect(readers(loadOverlay(path.join(ROOT, 'overlays'), env, STACKS), ADMIN_SECRETS)).toEqual(['Job/mysql-users', 'StatefulSet/mysql']);
  });

  test('PostgreSQL likewise', () => {
    expect(readers(localConfig({ database: { type: 'in-cluster', engine: 'postgresql' } }), ADMIN_SECRETS)).toEqual(['Job/postgres-users', 'StatefulSet/postgres']);
  });

  test('each consumer reads its own Secret and no other consumer\'s', () => {
    const config = localConfig();
    const own: Record<string, string> = {
      'metadata-db-pipelines': 'Deployment/ml-pipeline', 'metadata-db-metadata': 'Deployment/metadata-grpc-deployment',
      'metadata-db-cache': 'Deployment/cache-server', 'metadata-db-backup': 'CronJob/metadata-db-backup',
    };
    for (const [secret, workload] of Object.entries(own)) expect(readers(config, [secret])).toEqual(['Job/mysql-users', workload].sort());
  });
});

describe('the grant SQL', () => {
  const users = databaseUsers(UPSTREAM_DATABASE_NAMES, ['pipelines', 'metadata', 'cache', 'katib', 'backup']);

  test('one owner per database; the backup reads them all', () => {
    expect(users.map((u) => [u.username, u.access, u.databases.join(',')])).toEqual([
      ['kf_pipelines', 'owner', 'mlpipeline'], ['kf_metadata', 'owner', 'metadb'], ['kf_cache', 'owner', 'cachedb'], ['kf_katib', 'owner', 'katib'],
      ['kf_backup', 'reader', 'cachedb,katib,metadb,mlpipeline'],
    ]);
    // Two logins each, for rotation; MySQL's limit of 32 characters holds.
    for (const u of users) expect(u.logins).toEqual([`${u.username}_a`, `${u.username}_b`]);
    expect(Math.max(...users.flatMap((u) => u.logins.map((l) => l.length)))).toBeLessThanOrEqual(32);
  });

  test.each(['mysql', 'postgresql'] as const)('%s: no password in the text, a placeholder per user that the job fills with base64', (engine) => {
    const sql = grantSql(engine, users);
    for (const u of users) expect(sql).toContain(passwordPlaceholder(u.consumer));
    for (const u of users) expect(sql).toContain(loginPlaceholder(u.consumer));
    const filled = withPasswords(sql, { pipelines: 'it\'s', metadata: 'm', cache: 'c', katib: 'k', backup: 'b' }, { pipelines: 'kf_pipelines_b' });
    expect(filled).toContain(Buffer.from('it\'s').toString('base64'));
    expect(filled).not.toContain('it\'s');
    expect(filled).not.toContain('{{');
    expect(() => withPasswords(sql, {}, { katib: 'root' })).toThrow(/root is not a login of katib/);
  });

  test('a database name that could break out of an identifier is refused; two consumers on one database too', () => {
    expect(() => grantSql('mysql', databaseUsers({ ...UPSTREAM_DATABASE_NAMES, katib: 'katib`; DROP DATABASE x; --' }, ['katib'])))
      .toThrow(/database name "katib`; DROP DATABASE x; --" must be lowercase letters, digits, _ and -/);
    expect(() => grantSql('postgresql', databaseUsers({ ...UPSTREAM_DATABASE_NAMES, cache: 'mlpipeline' }, ['pipelines', 'cache'])))
      .toThrow(/database "mlpipeline" is given to both pipelines and cache/);
    // What the config allows (DNS labels) is quoted, on both engines.
    expect(grantSql('postgresql', databaseUsers({ ...UPSTREAM_DATABASE_NAMES, pipelines: 'kfp-prod' }, ['pipelines']))).toContain('ALTER DATABASE "kfp-prod" OWNER TO kf_pipelines;');
    expect(configIssuePaths(() => localConfig({ database: { type: 'in-cluster', names: { cache: 'mlpipeline' } } }))).toEqual(['database.names.cache']);
  });
});
