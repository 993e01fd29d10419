import { execFileSync, spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DatabaseEngine } from '../lib/core/database';

/**
 * Real database servers for the tests, from Debian's packages, on loopback: MariaDB (`mariadb-server`) and PostgreSQL
 * (`postgresql`), each in a fresh data directory with a random port, run as the packages' own users (neither server
 * runs as root). `.ci/run` installs the packages; a missing server fails the tests with the package to install.
 */

/** A running server: how to reach it as the administrator, and how to stop it. */
export interface TestServer {
  readonly engine: 'mysql' | 'postgresql';
  readonly port: number;
  readonly adminUser: string;
  readonly adminPassword: string;
  /** Runs `sql` as `user` (the administrator by default) and returns stdout; throws with the server's error. */
  run(sql: string, options?: { user?: string; password?: string; database?: string }): string;
  stop(): Promise<void>;
}

const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

function need(file: string, pkg: string): void {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: install Debian's ${pkg} (apt-get install -y ${pkg}); .ci/run does`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => { resolve(port); });
    });
  });
}

async function waitFor(what: string, check: () => boolean, child: ChildProcess, log: () => string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${log()}`);
    if (check()) return;
    if (Date.now() > until) throw new Error(`${what} did not start in ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function dataDir(prefix: string, owner: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  execFileSync('chown', [`${owner}:${owner}`, dir]);
  return dir;
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null as number | null) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

/** MariaDB on 127.0.0.1, administrator `root` with a password. */
export async function startMariadb(): Promise<TestServer> {
  need('/usr/sbin/mariadbd', 'mariadb-server');
  const dir = dataDir('kfkit-mariadb-', 'mysql');
  const data = path.join(dir, 'data');
  const port = await freePort();
  execFileSync('mariadb-install-db', ['--user=mysql', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: 'pipe' });
  let log = '';
  const child = spawn('/usr/sbin/mariadbd', [
    '--no-defaults', '--user=mysql', `--datadir=${data}`, `--socket=${dir}/mysqld.sock`, `--pid-file=${dir}/mysqld.pid`,
    '--bind-address=127.0.0.1', `--port=${port}`, '--skip-log-bin', '--innodb-buffer-pool-size=16M',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (b: Buffer) => { log += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { log += b.toString(); });
  const sock = `${dir}/mysqld.sock`;
  await waitFor('mariadbd', () => fs.existsSync(sock), child, () => log);
  const adminPassword = 'root-Pw_1';
  // A fresh install lets root in over the socket without a password; give it one, then use TCP like the cluster does.
  execFileSync('mariadb', ['--no-defaults', `--socket=${sock}`, '-uroot', '-e', [
    `ALTER USER 'root'@'localhost' IDENTIFIED BY '${adminPassword}';`,
    `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '${adminPassword}';`,
    'GRANT ALL ON *.* TO \'root\'@\'127.0.0.1\' WITH GRANT OPTION;',
  ].join(' ')]);
  const run: TestServer['run'] = (sql, options = {}) => execFileSync('mariadb', [
    '--no-defaults', '--protocol=TCP', '-h127.0.0.1', `-P${port}`, `-u${options.user ?? 'root'}`, '--batch', '--skip-column-names',
    ...(options.database ? [options.database] : []),
  ], { input: sql, env: { ...process.env, MYSQL_PWD: options.password ?? adminPassword }, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  return { engine: 'mysql', port, adminUser: 'root', adminPassword, run, stop: stopper(child, dir) };
}

/** PostgreSQL on 127.0.0.1, administrator `user` (upstream's superuser name) with a password. */
export async function startPostgres(): Promise<TestServer> {
  need(`${POSTGRES_BIN}/postgres`, 'postgresql');
  const dir = dataDir('kfkit-postgres-', 'postgres');
  const data = path.join(dir, 'data');
  const port = await freePort();
  const adminPassword = 'user-Pw_1';
  fs.writeFileSync(path.join(dir, 'pw'), adminPassword);
  execFileSync('chown', ['postgres:postgres', path.join(dir, 'pw')]);
  execFileSync('runuser', ['-u', 'postgres', '--', `${POSTGRES_BIN}/initdb`, '-D', data, '-U', 'user', `--pwfile=${dir}/pw`, '--auth=scram-sha-256', '-E', 'UTF8'], { stdio: 'pipe' });
  let log = '';
  const child = spawn('runuser', ['-u', 'postgres', '--', `${POSTGRES_BIN}/postgres`, '-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (b: Buffer) => { log += b.toString(); });
  child.stderr.on('data', (b: Buffer) => { log += b.toString(); });
  await waitFor('postgres', () => fs.existsSync(path.join(dir, `.s.PGSQL.${port}`)) && log.includes('ready to accept connections'), child, () => log);
  const run: TestServer['run'] = (sql, options = {}) => execFileSync('psql', [
    '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', options.user ?? 'user', '-d', options.database ?? 'postgres',
  ], { input: sql, env: { ...process.env, PGPASSWORD: options.password ?? adminPassword }, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  return { engine: 'postgresql', port, adminUser: 'user', adminPassword, run, stop: stopper(child, dir) };
}

/** The engines the tests run against, each with the server that stands for it. */
export const ENGINES: readonly [DatabaseEngine, () => Promise<TestServer>][] = [['mysql', startMariadb], ['postgresql', startPostgres]];

/**
 * A server for the enclosing `describe`: started (then `prepare`d) before its tests, stopped after them. Returns the
 * getter the tests use.
 */
export function useServer(start: () => Promise<TestServer>, prepare: (server: TestServer) => void = () => undefined): () => TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await start();
    prepare(server);
  }, 120_000);
  afterAll(async () => { await server?.stop(); });
  return () => {
    if (server === undefined) throw new Error('the database server did not start');
    return server;
  };
}
