import { DatabaseEngine, DatabaseNames } from './database';

/**
 * Least-privilege database users: every consumer of the metadata database connects as its own user, with rights on
 * its own database only; the administrator (root, the superuser) is used by nothing but the one-shot job that runs
 * the SQL below. The SQL is generated here, once, for both engines, and run by the tests against real MariaDB and
 * PostgreSQL servers (test/database-users.test.ts): each user can do its work and cannot read another's database.
 */

/** Who connects to the metadata database. */
export type DatabaseConsumerId = 'pipelines' | 'metadata' | 'cache' | 'katib' | 'backup';

/** Every consumer, in a fixed order. */
export const DATABASE_CONSUMER_IDS: readonly DatabaseConsumerId[] = ['pipelines', 'metadata', 'cache', 'katib', 'backup'];

/** What a consumer's user may do: own its database, or read every database (the backup). */
export type DatabaseAccess = 'owner' | 'reader';

/** One consumer's user. */
export interface DatabaseUser {
  readonly consumer: DatabaseConsumerId;
  /** Login name: `kf_<consumer>` (at most 32 characters, MySQL's limit). */
  readonly username: string;
  /** The databases it works on. */
  readonly databases: readonly string[];
  readonly access: DatabaseAccess;
}

/** Login name of a consumer's user. */
export function databaseUsername(consumer: DatabaseConsumerId): string {
  return `kf_${consumer}`;
}

/**
 * The users of `consumers`: the workloads own their database (`pipelines` → mlpipeline, `metadata` → metadb, `cache` →
 * cachedb, `katib` → katib); the backup reads every database of the other consumers given.
 */
export function databaseUsers(names: DatabaseNames, consumers: readonly DatabaseConsumerId[]): DatabaseUser[] {
  const own: Readonly<Record<Exclude<DatabaseConsumerId, 'backup'>, string>> = {
    pipelines: names.pipelines, metadata: names.metadata, cache: names.cache, katib: names.katib,
  };
  const owners = DATABASE_CONSUMER_IDS.filter((c): c is Exclude<DatabaseConsumerId, 'backup'> => c !== 'backup' && consumers.includes(c));
  const users: DatabaseUser[] = owners.map((c) => ({ consumer: c, username: databaseUsername(c), databases: [own[c]], access: 'owner' }));
  if (consumers.includes('backup')) {
    users.push({ consumer: 'backup', username: databaseUsername('backup'), databases: [...new Set(owners.map((c) => own[c]))].sort(), access: 'reader' });
  }
  return users;
}

/** The placeholder in {@link grantSql} that the job replaces with the base64 of a consumer's password. */
export function passwordPlaceholder(consumer: DatabaseConsumerId): string {
  return `{{password-base64:${consumer}}}`;
}

/** A name safe in a quoted identifier of both engines: a DNS label (what the config allows) or an underscore name. */
const SAFE_NAME = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

function checkName(what: string, name: string): void {
  if (!SAFE_NAME.test(name)) throw new Error(`database ${what} "${name}" must be lowercase letters, digits, _ and - (not at either end), at most 63`);
}

/**
 * The SQL that creates (or updates) every user and database, for `engine`, run by the administrator. Idempotent: run
 * again, it sets each password from its Secret (that is how a password rotates) and re-grants. Passwords never appear
 * in it: each is a {@link passwordPlaceholder} the job replaces with the base64 of the value, which the server
 * decodes and quotes itself (`FROM_BASE64`/`QUOTE`, `decode`/`format('%L')`), so no value can break out of its string.
 *
 * MySQL/MariaDB: `CREATE DATABASE IF NOT EXISTS`, a user `'kf_x'@'%'`, `ALL` on its database only; the backup gets
 * `SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT` on each database. PostgreSQL: a LOGIN role, its database created
 * `OWNER` it (an existing database and the objects in it are handed over), `CONNECT` revoked from `PUBLIC` so no
 * other role can enter; the backup is granted `pg_read_all_data` and `CONNECT` on each database. The PostgreSQL text is
 * for `psql` (it uses `\gexec` and `\connect`).
 */
export function grantSql(engine: DatabaseEngine, users: readonly DatabaseUser[]): string {
  const owners = new Map<string, string>();
  for (const u of users) {
    checkName('user', u.username);
    for (const d of u.databases) {
      checkName('name', d);
      const other = owners.get(d);
      if (u.access === 'owner' && other !== undefined) throw new Error(`database "${d}" is given to both ${other} and ${u.consumer}; each consumer needs a database of its own`);
      if (u.access === 'owner') owners.set(d, u.consumer);
    }
  }
  return engine === 'mysql' ? mysqlGrants(users) : postgresGrants(users);
}

function mysqlGrants(users: readonly DatabaseUser[]): string {
  const lines: string[] = ['-- kfkit: one user per consumer, rights on its own database only.'];
  const exec = (statement: string): string[] => [
    `SET @kfkit_sql = ${statement};`, 'PREPARE kfkit_stmt FROM @kfkit_sql;', 'EXECUTE kfkit_stmt;', 'DEALLOCATE PREPARE kfkit_stmt;',
  ];
  for (const u of users) {
    const account = `'${u.username}'@'%'`;
    lines.push('', `-- ${u.consumer}: ${u.access === 'owner' ? 'owns' : 'reads'} ${u.databases.join(', ')}`);
    lines.push(`SET @kfkit_password = FROM_BASE64('${passwordPlaceholder(u.consumer)}');`);
    lines.push(...exec(`CONCAT('CREATE USER IF NOT EXISTS ''${u.username}''@''%'' IDENTIFIED BY ', QUOTE(@kfkit_password))`));
    lines.push(...exec(`CONCAT('ALTER USER ''${u.username}''@''%'' IDENTIFIED BY ', QUOTE(@kfkit_password))`));
    for (const d of u.databases) {
      if (u.access === 'owner') {
        lines.push(`CREATE DATABASE IF NOT EXISTS \`${d}\`;`, `GRANT ALL PRIVILEGES ON \`${d}\`.* TO ${account};`);
      } else {
        lines.push(`GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON \`${d}\`.* TO ${account};`);
      }
    }
  }
  lines.push('SET @kfkit_password = NULL;', '');
  return lines.join('\n');
}

function postgresGrants(users: readonly DatabaseUser[]): string {
  const lines: string[] = ['-- kfkit: one role per consumer, rights on its own database only. For psql.', '\\set ON_ERROR_STOP on'];
  for (const u of users) {
    lines.push('', `-- ${u.consumer}: ${u.access === 'owner' ? 'owns' : 'reads'} ${u.databases.join(', ')}`);
    lines.push(
      `SELECT format('CREATE ROLE %I LOGIN', '${u.username}') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${u.username}') \\gexec`,
      `SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', '${u.username}', `
        + `convert_from(decode('${passwordPlaceholder(u.consumer)}', 'base64'), 'UTF8')) \\gexec`,
    );
    if (u.access === 'reader') lines.push(`GRANT pg_read_all_data TO ${u.username};`);
  }
  for (const u of users.filter((x) => x.access === 'owner')) {
    for (const d of u.databases) {
      lines.push(
        '',
        `SELECT format('CREATE DATABASE %I OWNER %I', '${d}', '${u.username}') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${d}') \\gexec`,
        `ALTER DATABASE "${d}" OWNER TO ${u.username};`,
        `REVOKE ALL ON DATABASE "${d}" FROM PUBLIC;`,
        `GRANT ALL ON DATABASE "${d}" TO ${u.username};`,
        ...users.filter((r) => r.access === 'reader' && r.databases.includes(d)).map((r) => `GRANT CONNECT ON DATABASE "${d}" TO ${r.username};`),
        // Objects an earlier install created as the superuser pass to the owner, so it can migrate them.
        `\\connect "${d}"`,
        `ALTER SCHEMA public OWNER TO ${u.username};`,
        'SELECT format(\'ALTER %s %I.%I OWNER TO %I\', CASE c.relkind WHEN \'S\' THEN \'SEQUENCE\' WHEN \'v\' THEN \'VIEW\' '
          + 'WHEN \'m\' THEN \'MATERIALIZED VIEW\' ELSE \'TABLE\' END, '
          + `n.nspname, c.relname, '${u.username}') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace `
          + `WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND pg_get_userbyid(c.relowner) <> '${u.username}' `
          + 'AND NOT (c.relkind = \'S\' AND EXISTS (SELECT FROM pg_depend dep WHERE dep.objid = c.oid AND dep.deptype IN (\'a\', \'i\'))) \\gexec',
        '\\connect postgres',
      );
    }
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * `sql` with each consumer's password in place of its placeholder (base64), as the job does it; for tests and for
 * admins who run the grants against an external server by hand.
 */
export function withPasswords(sql: string, passwords: Readonly<Partial<Record<DatabaseConsumerId, string>>>): string {
  let out = sql;
  for (const c of DATABASE_CONSUMER_IDS) {
    const value = passwords[c];
    if (value !== undefined) out = out.split(passwordPlaceholder(c)).join(Buffer.from(value, 'utf8').toString('base64'));
  }
  return out;
}
