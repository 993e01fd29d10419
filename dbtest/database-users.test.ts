import { execFileSync } from 'node:child_process';
import { App, Chart } from 'cdk8s';
import { MysqlDatabase } from '../lib/components/mysql';
import { PostgresDatabase } from '../lib/components/postgresql';
import { KfkitContext } from '../lib/core/context';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect } from '../lib/synth/collect';
import { DatabaseEngine, UPSTREAM_DATABASE_NAMES } from '../lib/core/database';
import { DATABASE_CONSUMER_IDS, DatabaseConsumerId, databaseUsers, grantSql, retireSql, withPasswords } from '../lib/core/database-users';
import { ENGINES, useServer } from './servers';

/**
 * The grant SQL kfkit generates, run by the administrator against real servers on loopback; then each consumer, as
 * its own user: it can do its work in its database, and fails to read (or write) another consumer's.
 */

const NAMES = UPSTREAM_DATABASE_NAMES;
const OWN: Readonly<Record<Exclude<DatabaseConsumerId, 'backup'>, string>> = {
  pipelines: NAMES.pipelines, metadata: NAMES.metadata, cache: NAMES.cache, katib: NAMES.katib,
};
const OWNERS = Object.keys(OWN) as (keyof typeof OWN)[];
/** Passwords with every character that could break out of a string literal. */
const PASSWORDS: Record<DatabaseConsumerId, string> = {
  pipelines: 'p1\'; DROP DATABASE metadb; -- \\',
  metadata: 'm2"`$(reboot)`\\\'',
  cache: 'c3 ünïcødé {{password-base64:katib}}',
  katib: 'k4-plain_password',
  backup: 'b5\\\\x27 OR 1=1',
};

const DENIED: Record<DatabaseEngine, RegExp> = {
  mysql: /denied|not allowed/i,
  postgresql: /permission denied|must be owner|not have CONNECT/i,
};

function sqlFor(engine: DatabaseEngine, passwords: Record<DatabaseConsumerId, string>, logins: Partial<Record<DatabaseConsumerId, string>> = {}): string {
  return withPasswords(grantSql(engine, databaseUsers(NAMES, DATABASE_CONSUMER_IDS)), passwords, logins);
}

/** The error output of a statement that must fail. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return String((e as { stderr?: Buffer }).stderr ?? e);
  }
  throw new Error('the statement succeeded, and it should have been refused');
}

describe.each(ENGINES)('%s: one user per consumer', (engine, start) => {
  const server = useServer(start, (s) => {
    // An earlier install, where everything connected as the administrator: a table it created in mlpipeline.
    if (engine === 'mysql') s.run('CREATE DATABASE mlpipeline; CREATE TABLE mlpipeline.legacy (id INT PRIMARY KEY); INSERT INTO mlpipeline.legacy VALUES (7);');
    else {
      s.run('CREATE DATABASE mlpipeline;');
      s.run('CREATE TABLE legacy (id SERIAL PRIMARY KEY, v INT); INSERT INTO legacy (v) VALUES (7);', { database: 'mlpipeline' });
    }
    s.run(sqlFor(engine, PASSWORDS));
  });
  const as = (c: DatabaseConsumerId, database?: string, password = PASSWORDS[c], login = `kf_${c}_a`) => (sql: string) =>
    server().run(sql, { user: login, password, database: database ?? (engine === 'postgresql' ? 'postgres' : undefined) });

  test.each(OWNERS)('%s works in its own database: create, write, read, migrate what was there', (c) => {
    const run = as(c, OWN[c]);
    run('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
    run('INSERT INTO t VALUES (1, \'ok\')');
    expect(run('SELECT v FROM t').trim()).toBe('ok');
    // What the consumers run at start: create the database if it is missing. The KFP API server on PostgreSQL runs a
    // plain CREATE DATABASE and ignores only "already exists", which PostgreSQL reports after checking CREATEDB.
    if (engine === 'mysql') as(c)(`CREATE DATABASE IF NOT EXISTS \`${OWN[c]}\``);
    else if (c === 'pipelines') expect(failure(() => as(c)(`CREATE DATABASE ${OWN[c]}`))).toMatch(/already exists/);
    if (c === 'pipelines') {
      run('ALTER TABLE legacy ADD COLUMN note VARCHAR(10)');
      expect(run('SELECT count(*) FROM legacy').trim()).toBe('1');
    }
  });

  test.each(OWNERS)('%s cannot read, write or enter another consumer\'s database', (c) => {
    for (const other of OWNERS.filter((o) => o !== c)) {
      const message = engine === 'mysql'
        ? failure(() => as(c)(`SELECT * FROM \`${OWN[other]}\`.t`))
        : failure(() => as(c, OWN[other])('SELECT * FROM t'));
      expect({ c, other, message }).toEqual({ c, other, message: expect.stringMatching(DENIED[engine]) });
    }
    // Creating databases: refused, but for the KFP API server on PostgreSQL (CREATEDB, which its start needs).
    if (engine === 'postgresql' && c === 'pipelines') return;
    expect(failure(() => as(c)('CREATE DATABASE kfkit_extra'))).toMatch(DENIED[engine]);
  });

  test('the backup reads every consumer\'s database, and writes none', () => {
    for (const c of OWNERS) {
      const read = engine === 'mysql' ? as('backup')(`SELECT v FROM \`${OWN[c]}\`.t`) : as('backup', OWN[c])('SELECT v FROM t');
      expect(read.trim()).toBe('ok');
      const write = engine === 'mysql' ? `INSERT INTO \`${OWN[c]}\`.t VALUES (2, 'x')` : 'INSERT INTO t VALUES (2, \'x\')';
      expect(failure(() => as('backup', engine === 'postgresql' ? OWN[c] : undefined)(write))).toMatch(DENIED[engine]);
      const create = engine === 'mysql' ? `CREATE TABLE \`${OWN[c]}\`.backup_was_here (id INT)` : 'CREATE TABLE backup_was_here (id INT)';
      expect(failure(() => as('backup', engine === 'postgresql' ? OWN[c] : undefined)(create))).toMatch(DENIED[engine]);
    }
  });

  test('the backup user runs the backup job\'s own dump command to completion', () => {
    const env = { ...process.env, MYSQL_PWD: PASSWORDS.backup, PGPASSWORD: PASSWORDS.backup };
    const dbs = Object.values(OWN).sort();
    // The flags of lib/components/database-backup/scripts.ts (mariadb-dump is MariaDB's mysqldump).
    const dumps = engine === 'mysql'
      ? [execFileSync('mariadb-dump', ['--no-defaults', '--protocol=TCP', '-h127.0.0.1', `-P${server().port}`, '-ukf_backup_a', '--single-transaction', '--quick',
        '--routines', '--events', '--triggers', '--hex-blob', '--no-tablespaces', '--add-drop-database', '--databases', ...dbs], { env }).toString()]
      : dbs.map((d) => execFileSync('pg_dump', ['-h', '127.0.0.1', '-p', String(server().port), '-U', 'kf_backup_a', '--create', '--clean', '--if-exists', `--dbname=${d}`], { env }).toString());
    // The completion lines the backup script checks for (pg_dump may print a \\unrestrict line after its own).
    for (const dump of dumps) {
      if (engine === 'mysql') expect(dump.trimEnd().split('\n').at(-1)).toMatch(/^-- Dump completed/);
      else expect(dump.split('\n')).toContain('-- PostgreSQL database dump complete');
    }
    expect(dumps.join('\n')).toMatch(/INSERT INTO|COPY /);
  });

  test('no password broke out of its string: every database is still there, no user is an administrator', () => {
    const databases = engine === 'mysql' ? server().run('SHOW DATABASES') : server().run('SELECT datname FROM pg_database');
    for (const d of Object.values(OWN)) expect(databases.split('\n')).toContain(d);
    if (engine === 'postgresql') {
      expect(server().run('SELECT rolname FROM pg_roles WHERE rolname LIKE \'kf\\_%\' AND (rolsuper OR rolcreaterole OR rolbypassrls)')).toBe('');
      expect(server().run('SELECT rolname FROM pg_roles WHERE rolname LIKE \'kf\\_%\' AND rolcreatedb').trim()).toBe('kf_pipelines');
    }
    else expect(server().run('SELECT user FROM mysql.user WHERE user LIKE \'kf\\_%\' AND (Super_priv = \'Y\' OR Grant_priv = \'Y\' OR Create_user_priv = \'Y\')')).toBe('');
  });

  test('a second login is locked until a rotation moves the Secret to it', () => {
    expect(failure(() => as('katib', OWN.katib, PASSWORDS.katib, 'kf_katib_b')('SELECT 1'))).toMatch(/denied|authentication failed|not permitted|locked/i);
  });

  test('rotation without downtime: the old login works until retired, the new one at once, on the same data', () => {
    const login = (l: 'a' | 'b', password: string) => as('katib', OWN.katib, password, `kf_katib_${l}`);
    // 1-2. The Secret moves to login b with a new password; the users Job runs.
    server().run(sqlFor(engine, { ...PASSWORDS, katib: 'k4-rotated' }, { katib: 'kf_katib_b' }));
    // Pods not yet restarted still connect with a and the old password; restarted ones with b.
    expect(login('a', PASSWORDS.katib)('SELECT v FROM t').trim()).toBe('ok');
    expect(login('b', 'k4-rotated')('SELECT v FROM t').trim()).toBe('ok');
    // b works on what a created, and a on what b creates (one owner).
    login('b', 'k4-rotated')('CREATE TABLE after_rotation (id INT)');
    login('a', PASSWORDS.katib)('INSERT INTO after_rotation VALUES (1)');
    login('b', 'k4-rotated')('ALTER TABLE t ADD COLUMN rotated INT');
    // 4. Once every pod runs with b: retire a.
    server().run(retireSql(engine, 'katib', 'kf_katib_a'));
    expect(failure(() => login('a', PASSWORDS.katib)('SELECT 1'))).toMatch(/denied|authentication failed|not permitted|locked/i);
    expect(login('b', 'k4-rotated')('SELECT count(*) FROM after_rotation').trim()).toBe('1');
    // The next rotation moves back to a, with a fresh password; the old one of a stays refused.
    server().run(sqlFor(engine, { ...PASSWORDS, katib: 'k4-third' }, { katib: 'kf_katib_a' }));
    expect(login('a', 'k4-third')('SELECT v FROM t').trim()).toBe('ok');
    expect(failure(() => login('a', PASSWORDS.katib)('SELECT 1'))).toMatch(/denied|authentication failed/i);
    expect(login('b', 'k4-rotated')('SELECT 1').trim()).toBe('1');
    // Back to the start, so the other tests' passwords hold whatever the order.
    server().run(sqlFor(engine, PASSWORDS));
    server().run(retireSql(engine, 'katib', 'kf_katib_b'));
    expect(as('katib', OWN.katib)('SELECT v FROM t').trim()).toBe('ok');
  });

  test('retiring a login that is not the consumer\'s is refused before any SQL', () => {
    expect(() => retireSql(engine, 'katib', 'kf_pipelines_a')).toThrow(/kf_pipelines_a is not a login of katib \(kf_katib_a, kf_katib_b\)/);
  });
});

/** The users Job as kfkit synthesizes it: its command and environment. */
/** An environment variable as the Job writes it. */
interface JobEnv { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }

function usersJob(engine: DatabaseEngine): { command: string[]; env: JobEnv[] } {
  const app = new App();
  const chart = new Chart(app, 'kfkit', { disableResourceNameHashes: true });
  KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  new PlatformNamespace(chart, 'Namespace', { name: 'kubeflow' });
  if (engine === 'mysql') new MysqlDatabase(chart, 'Db', { namespace: 'kubeflow' });
  else new PostgresDatabase(chart, 'Db', { namespace: 'kubeflow' });
  const job = collect(chart).objects.map((o) => o.manifest).find((m) => m.kind === 'Job' && m.metadata.name.includes('-users-'));
  if (!job) throw new Error('no users Job');
  const c = (job as unknown as { spec: { template: { spec: { containers: { command: string[]; env: [] }[] } } } }).spec.template.spec.containers[0];
  return { command: c.command, env: c.env };
}

describe.each(ENGINES)('%s: the users Job\'s own program, run as the Job runs it', (engine, start) => {
  const server = useServer(start);

  test('every consumer\'s password from its Secret reaches its user; the administrator\'s is used for nothing else', () => {
    const { command, env } = usersJob(engine);
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    // The Job's environment with this test's values: Secrets resolved, the client pointed at the loopback server.
    const values: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const e of env) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref === undefined) values[e.name] = e.value ?? '';
      else if (ref.name.startsWith('metadata-db-')) {
        const c = ref.name.slice('metadata-db-'.length) as DatabaseConsumerId;
        values[e.name] = ref.key === 'username' ? `kf_${c}_a` : PASSWORDS[c];
      }
      else values[e.name] = server().adminPassword;
    }
    expect(Object.keys(values).filter((k) => k.startsWith('PASSWORD_')).sort()).toEqual(DATABASE_CONSUMER_IDS.map((c) => `PASSWORD_${c}`).sort());
    if (engine === 'mysql') {
      expect(values.DB_CLIENT).toMatch(/^mysql --protocol=TCP --host=mysql\.kubeflow\.svc\.cluster\.local --port=3306 --user=root --batch$/);
      values.DB_CLIENT = `mariadb --no-defaults --protocol=TCP --host=127.0.0.1 --port=${server().port} --user=root --batch`;
    } else {
      expect(values).toMatchObject({ PGHOST: 'postgres-service.kubeflow.svc.cluster.local', PGUSER: 'user', PGDATABASE: 'postgres' });
      Object.assign(values, { PGHOST: '127.0.0.1', PGPORT: String(server().port) });
    }
    const out = execFileSync(command[0], command.slice(1), { env: values }).toString();
    expect(out).toContain(`database users in place: ${DATABASE_CONSUMER_IDS.join(' ')}`);
    for (const c of OWNERS) {
      const run = (sql: string) => server().run(sql, { user: `kf_${c}_a`, password: PASSWORDS[c], database: OWN[c] });
      run('CREATE TABLE job_check (id INT)');
      expect(run('SELECT count(*) FROM job_check').trim()).toBe('0');
    }
    // Run again (a re-apply, or a rotation after a Secret changed): the same result, no error.
    expect(execFileSync(command[0], command.slice(1), { env: values }).toString()).toContain('database users in place');
    // A Secret naming a login that is not the consumer's: the Job fails, naming it, and changes nothing.
    const run = (extra: Record<string, string>) => failure(() => execFileSync(command[0], command.slice(1), { env: { ...values, ...extra }, stdio: 'pipe' }));
    expect(run({ LOGIN_katib: 'root' })).toMatch(/the Secret of katib names the login 'root'; it must be one of: kf_katib_a kf_katib_b/);
    expect(run({ LOGIN_katib: 'kf_katib_a kf_katib_b' })).toMatch(/the Secret of katib names the login 'kf_katib_a kf_katib_b'/);
    expect(run({ PASSWORD_katib: '' })).toMatch(/the Secret of katib has an empty password/);
    // Nothing ran: katib's password is still the one set above.
    expect(server().run('SELECT 1', { user: 'kf_katib_a', password: PASSWORDS.katib, database: OWN.katib }).trim()).toBe('1');
  });
});
