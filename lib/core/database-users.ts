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
  /**
   * The consumer's name in the database: `kf_<consumer>` (at most 32 characters, MySQL's limit). On PostgreSQL a role
   * without login that owns the database; the logins are its members and act as it.
   */
  readonly username: string;
  /**
   * Its two logins, `<username>_a` and `<username>_b`: the consumer's Secret names the one in use. A rotation moves the
   * Secret to the other with a new password while pods still connected with the first keep working, then retires it.
   */
  readonly logins: readonly [string, string];
  /** The databases it works on. */
  readonly databases: readonly string[];
  readonly access: DatabaseAccess;
}

/** The consumer's name in the database (PostgreSQL: the role owning its database). */
export function databaseUsername(consumer: DatabaseConsumerId): string {
  return `kf_${consumer}`;
}

/** The two logins of a consumer; the first is the one a new install uses. */
export function databaseLogins(consumer: DatabaseConsumerId): readonly [string, string] {
  const base = databaseUsername(consumer);
  return [`${base}_a`, `${base}_b`];
}

/**
 * The users of `consumers`: the workloads own their database (`pipelines` → mlpipeline, `metadata` → metadb, `cache` →
 * cachedb, `katib` → katib); the backup reads every database of the other consumers given.
 */
export function databaseUsers(names: DatabaseNames, consumers: readonly DatabaseConsumerId[]): DatabaseUser[] {
  const own: Readonly<Record<Exclude<DatabaseConsumerId, 'backup'>, string>> = {
    pipelines: names.pipelines, metadata: names.metadata, cache: names.cache, katib: names.katib,
  };
  const user = (c: DatabaseConsumerId, databases: string[], access: DatabaseAccess): DatabaseUser =>
    ({ consumer: c, username: databaseUsername(c), logins: databaseLogins(c), databases, access });
  const owners = DATABASE_CONSUMER_IDS.filter((c): c is Exclude<DatabaseConsumerId, 'backup'> => c !== 'backup' && consumers.includes(c));
  const users: DatabaseUser[] = owners.map((c) => user(c, [own[c]], 'owner'));
  if (consumers.includes('backup')) users.push(user('backup', [...new Set(owners.map((c) => own[c]))].sort(), 'reader'));
  return users;
}

/** The placeholder in {@link grantSql} that the job replaces with the base64 of a consumer's password. */
export function passwordPlaceholder(consumer: DatabaseConsumerId): string {
  return `{{password-base64:${consumer}}}`;
}

/**
 * The placeholder in {@link grantSql} that the job replaces with the login the consumer's Secret names — after checking
 * it is one of the consumer's two {@link DatabaseUser.logins}, so it is a plain identifier.
 */
export function loginPlaceholder(consumer: DatabaseConsumerId): string {
  return `{{login:${consumer}}}`;
}

/** A name safe in a quoted identifier of both engines: a DNS label (what the config allows) or an underscore name. */
const SAFE_NAME = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

function checkName(what: string, name: string): void {
  if (!SAFE_NAME.test(name)) throw new Error(`database ${what} "${name}" must be lowercase letters, digits, _ and - (not at either end), at most 63`);
}

/**
 * The SQL that creates (or updates) every user and database, for `engine`, run by the administrator. Idempotent: run
 * again, it sets the password of each consumer's login in use from its Secret, unlocks it, and re-grants; the other
 * login is left as it is (a rotation retires it with {@link retireSql} once no pod uses it). Passwords never appear in
 * it: each is a {@link passwordPlaceholder} the job replaces with the base64 of the value, which the server decodes
 * and quotes itself (`FROM_BASE64`/`QUOTE`, `decode`/`format('%L')`), so no value can break out of its string.
 *
 * MySQL/MariaDB: `CREATE DATABASE IF NOT EXISTS`; both logins `'kf_x_a'@'%'`, `'kf_x_b'@'%'` (created locked), `ALL` on
 * its database only; the backup gets `SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT` on each database. PostgreSQL: a
 * role `kf_x` without login owns the database (created `OWNER` it; an existing one and the objects in it are handed
 * over), its logins are members that act as it (`SET role`), `CONNECT` is revoked from `PUBLIC` so no other role can
 * enter; the backup's role is granted `pg_read_all_data` and `CONNECT` on each database. The PostgreSQL text is for
 * `psql` (it uses `\gexec` and `\connect`).
 */
export function grantSql(engine: DatabaseEngine, users: readonly DatabaseUser[]): string {
  const owners = new Map<string, string>();
  for (const u of users) {
    for (const name of [u.username, ...u.logins]) checkName('user', name);
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
  for (const u of users) {
    lines.push('', `-- ${u.consumer}: ${u.access === 'owner' ? 'owns' : 'reads'} ${u.databases.join(', ')}; logins ${u.logins.join(', ')}`);
    for (const login of u.logins) lines.push(`CREATE USER IF NOT EXISTS '${login}'@'%' ACCOUNT LOCK;`);
    for (const d of u.databases) {
      if (u.access === 'owner') lines.push(`CREATE DATABASE IF NOT EXISTS \`${d}\`;`);
      // In a GRANT, _ in a database name is a wildcard (one character): escaped, it names this database only.
      const exact = d.replace(/_/g, '\\_');
      for (const login of u.logins) {
        lines.push(u.access === 'owner'
          ? `GRANT ALL PRIVILEGES ON \`${exact}\`.* TO '${login}'@'%';`
          : `GRANT SELECT, SHOW VIEW, TRIGGER, LOCK TABLES, EVENT ON \`${exact}\`.* TO '${login}'@'%';`);
      }
    }
    lines.push(
      `SET @kfkit_password = FROM_BASE64('${passwordPlaceholder(u.consumer)}');`,
      `SET @kfkit_sql = CONCAT('ALTER USER ''${loginPlaceholder(u.consumer)}''@''%'' IDENTIFIED BY ', QUOTE(@kfkit_password), ' ACCOUNT UNLOCK');`,
      'PREPARE kfkit_stmt FROM @kfkit_sql;', 'EXECUTE kfkit_stmt;', 'DEALLOCATE PREPARE kfkit_stmt;',
    );
  }
  lines.push('SET @kfkit_password = NULL;', '');
  return lines.join('\n');
}

function postgresGrants(users: readonly DatabaseUser[]): string {
  const lines: string[] = ['-- kfkit: one role per consumer, rights on its own database only. For psql.', '\\set ON_ERROR_STOP on'];
  const createRole = (name: string, options: string): string =>
    `SELECT format('CREATE ROLE %I ${options}', '${name}') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${name}') \\gexec`;
  for (const u of users) {
    lines.push('', `-- ${u.consumer}: ${u.access === 'owner' ? 'owns' : 'reads'} ${u.databases.join(', ')}; logins ${u.logins.join(', ')}`);
    // The KFP API server runs CREATE DATABASE at every start and ignores only "already exists", which PostgreSQL reports
    // after checking CREATEDB: without it the server cannot start.
    const createdb = u.consumer === 'pipelines' ? 'CREATEDB' : 'NOCREATEDB';
    lines.push(createRole(u.username, 'NOLOGIN'), `ALTER ROLE ${u.username} NOLOGIN NOSUPERUSER ${createdb} NOCREATEROLE;`);
    for (const login of u.logins) {
      lines.push(
        createRole(login, 'NOLOGIN'),
        `ALTER ROLE ${login} NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT;`,
        `GRANT ${u.username} TO ${login};`,
        // What a login creates belongs to the consumer's role, so the other login can use it after a rotation.
        `ALTER ROLE ${login} SET role = '${u.username}';`,
      );
    }
    lines.push(
      `SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', '${loginPlaceholder(u.consumer)}', `
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
        // Before PostgreSQL 15 every role may create in public: only the owner may (the backup reads, nothing more).
        'REVOKE CREATE ON SCHEMA public FROM PUBLIC;',
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
 * The SQL that retires one login of a consumer once no pod uses it (the last step of a rotation): it can no longer
 * connect; sessions already open run on. The other login, and everything the consumer owns, stay.
 */
export function retireSql(engine: DatabaseEngine, consumer: DatabaseConsumerId, login: string): string {
  if (!databaseLogins(consumer).includes(login)) throw new Error(`${login} is not a login of ${consumer} (${databaseLogins(consumer).join(', ')})`);
  return engine === 'mysql' ? `ALTER USER '${login}'@'%' ACCOUNT LOCK;\n` : `ALTER ROLE ${login} NOLOGIN;\n`;
}

/**
 * `sql` with each consumer's password in place of its placeholder (base64) and the login in use (default: the first)
 * in place of its own, as the job does it; for tests and for admins who run the grants against an external server by hand.
 */
export function withPasswords(
  sql: string, passwords: Readonly<Partial<Record<DatabaseConsumerId, string>>>, logins: Readonly<Partial<Record<DatabaseConsumerId, string>>> = {},
): string {
  let out = sql;
  for (const c of DATABASE_CONSUMER_IDS) {
    const value = passwords[c];
    if (value === '') throw new Error(`the password of ${c} is empty`);
    if (value !== undefined) out = out.split(passwordPlaceholder(c)).join(Buffer.from(value, 'utf8').toString('base64'));
    const login = logins[c] ?? databaseLogins(c)[0];
    if (!databaseLogins(c).includes(login)) throw new Error(`${login} is not a login of ${c} (${databaseLogins(c).join(', ')})`);
    out = out.split(loginPlaceholder(c)).join(login);
  }
  return out;
}
