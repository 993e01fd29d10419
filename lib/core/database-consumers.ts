import { DatabaseEngine, DatabaseTlsMode } from './database';

/**
 * What each upstream database consumer can use, as facts from its release. The configuration is checked against
 * this table, so a database setting a consumer cannot use fails before anything is written, naming the consumer.
 */
export interface DatabaseConsumer {
  /** Workload name and what it is, e.g. `ml-pipeline (Kubeflow Pipelines API server)`. */
  readonly name: string;
  /** Engines it can use. */
  readonly engines: readonly DatabaseEngine[];
  /** TLS modes it can use, per engine. */
  readonly tlsModes: Readonly<Record<DatabaseEngine, readonly DatabaseTlsMode[]>>;
  /** Whether it can trust a custom CA bundle (a mounted file), per engine. */
  readonly customCa: Readonly<Record<DatabaseEngine, boolean>>;
  /**
   * TLS modes it supports only with a CA file (`tls.caSecret`), per engine: it has no system roots to verify against.
   * @default - none: every mode in {@link tlsModes} also works against the system roots
   */
  readonly caFileRequired?: Readonly<Partial<Record<DatabaseEngine, readonly DatabaseTlsMode[]>>>;
  /** Where the facts come from: upstream repository, release tag and files. */
  readonly source: string;
  /**
   * How each mode is configured on the consumer, for the component that wires it.
   * @default - none
   */
  readonly notes?: string;
}

/**
 * `ml-pipeline`, the Kubeflow Pipelines API server. MySQL through go-sql-driver/mysql v1.9.3: the DSN carries
 * `DBConfig.MySQLConfig.ExtraParams` (env `DBCONFIG_MYSQLCONFIG_EXTRAPARAMS`, a JSON map), whose `tls` value the
 * driver reads — `false`, `skip-verify` (encrypted, unverified), `true` (certificate and host name verified against
 * the system roots); a CA file would need a `mysql.RegisterTLSConfig` call, which the server does not make, and no
 * value verifies the CA without the host name. PostgreSQL through pgx: `CreatePostgreSQLConfig` ends every DSN with
 * `sslmode=disable`, and DSN settings take precedence over `PGSSLMODE`.
 */
export const ML_PIPELINE_DB_CONSUMER: DatabaseConsumer = {
  name: 'ml-pipeline (Kubeflow Pipelines API server)',
  engines: ['mysql', 'postgresql'],
  tlsModes: { mysql: ['disabled', 'required', 'verify-full'], postgresql: ['disabled'] },
  customCa: { mysql: false, postgresql: false },
  source: 'kubeflow/pipelines 2.17.0: backend/src/apiserver/client/sql.go, backend/src/apiserver/client_manager/client_manager.go, '
    + 'go.mod (go-sql-driver/mysql v1.9.3 dsn.go, jackc/pgx/v5 v5.9.2)',
  notes: 'mysql: DBCONFIG_MYSQLCONFIG_EXTRAPARAMS={"tls":"false"|"skip-verify"|"true"}. '
    + 'postgresql: the driver is chosen by config key DBDriverName (env DBDRIVERNAME=pgx; upstream\'s DB_DRIVER_NAME is not read by viper).',
};

/**
 * `cache-server`, the Kubeflow Pipelines cache webhook. `initDBClient` accepts only `--db_driver=mysql` and exits
 * on any other driver — upstream's platform-agnostic-postgresql env passes `pgx` to it all the same. MySQL as for
 * `ml-pipeline` (same driver), with the extra parameters as JSON in `--db_extra_params`.
 */
export const CACHE_SERVER_DB_CONSUMER: DatabaseConsumer = {
  name: 'cache-server (Kubeflow Pipelines cache webhook)',
  engines: ['mysql'],
  tlsModes: { mysql: ['disabled', 'required', 'verify-full'], postgresql: [] },
  customCa: { mysql: false, postgresql: false },
  source: 'kubeflow/pipelines 2.17.0: backend/src/cache/client_manager.go, backend/src/cache/client/sql.go, backend/src/cache/main.go, '
    + 'go.mod (go-sql-driver/mysql v1.9.3)',
  notes: 'mysql: --db_extra_params={"tls":"false"|"skip-verify"|"true"}.',
};

/**
 * `metadata-grpc-deployment`, the ML Metadata store server (image ml_metadata_store_server:1.14.0, as KFP 2.17.0
 * pins it). MySQL through MariaDB Connector/C v3.0.8 (built with TLS): `MySQLDatabaseConfig.ssl_options` in the
 * server config file turns TLS on (`mysql_ssl_set` enforces it); a CA file makes the handshake verify the chain, and
 * `verify_server_cert` adds the host name check — without a CA file nothing is verified, and the runtime image
 * (plain ubuntu:20.04) ships no CA bundle. The server's MySQL flags (what KFP's manifests use) have no TLS options, so
 * every mode but `disabled` needs `--metadata_store_server_config_file`. PostgreSQL: libpq 12.1 is built without
 * OpenSSL (`USE_OPENSSL` undefined in postgresql.BUILD), so `--postgres_config_sslmode=require` and stricter fail.
 */
export const METADATA_DB_CONSUMER: DatabaseConsumer = {
  name: 'metadata-grpc-deployment (ML Metadata store server)',
  engines: ['mysql', 'postgresql'],
  tlsModes: { mysql: ['disabled', 'required', 'verify-ca', 'verify-full'], postgresql: ['disabled'] },
  customCa: { mysql: true, postgresql: false },
  caFileRequired: { mysql: ['verify-ca', 'verify-full'] },
  source: 'google/ml-metadata v1.14.0: ml_metadata/metadata_store/metadata_store_server_main.cc, ml_metadata/metadata_store/mysql_metadata_source.cc, '
    + 'ml_metadata/proto/metadata_store.proto, ml_metadata/mysql_configure.bzl (mariadb-connector-c v3.0.8-release: libmariadb/secure/openssl.c, '
    + 'libmariadb/ma_pvio.c), ml_metadata/postgresql.BUILD, ml_metadata/tools/docker_server/Dockerfile',
  notes: 'mysql: --metadata_store_server_config_file with connection_config.mysql.ssl_options — {} for required, { ca } for verify-ca, '
    + '{ ca, verify_server_cert: true } for verify-full; the file carries the password, so it is rendered in the pod from the Secret.',
};

/**
 * `katib-db-manager` (Katib v0.19.0). MySQL through go-sql-driver/mysql v1.5.0 with the fixed DSN
 * `user:password@tcp(host:port)/database?timeout=5s`: no TLS parameter. PostgreSQL through lib/pq v1.10.6:
 * `sslmode` from `KATIB_POSTGRESQL_SSL_MODE` (default `disable`; `require`, `verify-ca`, `verify-full`, verified
 * against the system roots), and — as the DSN sets no `sslrootcert` — a CA file from lib/pq's `PGSSLROOTCERT`.
 */
export const KATIB_DB_CONSUMER: DatabaseConsumer = {
  name: 'katib-db-manager (Katib DB manager)',
  engines: ['mysql', 'postgresql'],
  tlsModes: { mysql: ['disabled'], postgresql: ['disabled', 'required', 'verify-ca', 'verify-full'] },
  customCa: { mysql: false, postgresql: true },
  source: 'kubeflow/katib v0.19.0: cmd/db-manager/v1beta1/main.go, pkg/db/v1beta1/mysql/mysql.go, pkg/db/v1beta1/postgres/postgres.go, '
    + 'pkg/db/v1beta1/common/const.go, go.mod (go-sql-driver/mysql v1.5.0, lib/pq v1.10.6 ssl.go, connector.go, conn.go)',
  notes: 'postgresql: KATIB_POSTGRESQL_SSL_MODE=disable|require|verify-ca|verify-full, PGSSLROOTCERT=<mounted CA file>.',
};

/** Kubeflow Pipelines' consumers of the metadata database. Pipelines is always installed. */
export const PIPELINES_DB_CONSUMERS: readonly DatabaseConsumer[] = [ML_PIPELINE_DB_CONSUMER, METADATA_DB_CONSUMER, CACHE_SERVER_DB_CONSUMER];

/** Every consumer of the metadata database kfkit knows, installed or not yet (Katib). */
export const DATABASE_CONSUMERS: readonly DatabaseConsumer[] = [...PIPELINES_DB_CONSUMERS, KATIB_DB_CONSUMER];

/** Which optional components of the platform talk to the metadata database. */
export interface DatabaseConsumerSelection {
  /**
   * Katib is installed.
   * @default false
   */
  readonly katib?: boolean;
  /**
   * The database engine. With PostgreSQL, kfkit's Kubeflow Pipelines omits cache-server — the v1 caching webhook,
   * which in 2.17.0 accepts only MySQL and crash-loops in upstream's own PostgreSQL env; v2 pipelines cache through
   * the API server — so it is not a consumer.
   * @default 'mysql'
   */
  readonly engine?: DatabaseEngine;
}

/** The consumers a platform installs: Kubeflow Pipelines' always, plus those of the selected components. */
export function installedDatabaseConsumers(selection: DatabaseConsumerSelection = {}): readonly DatabaseConsumer[] {
  const pipelines = selection.engine === 'postgresql' ? PIPELINES_DB_CONSUMERS.filter((c) => c !== CACHE_SERVER_DB_CONSUMER) : PIPELINES_DB_CONSUMERS;
  return selection.katib === true ? [...pipelines, KATIB_DB_CONSUMER] : pipelines;
}

/** The settings of a database section that the consumers are checked against. */
export interface DatabaseSettings {
  readonly type: 'in-cluster' | 'external';
  readonly engine: DatabaseEngine;
  readonly tls?: { readonly mode: DatabaseTlsMode; readonly caSecret?: unknown };
}

/**
 * Problems of `db` for the consumers in `consumers`, with paths relative to the `database` section.
 * @param consumers the consumers the platform installs. @default - {@link installedDatabaseConsumers} for `db.engine` (Pipelines')
 */
export function databaseConsumerIssues(
  db: DatabaseSettings, consumers: readonly DatabaseConsumer[] = installedDatabaseConsumers({ engine: db.engine }),
): { path: string[]; message: string }[] {
  const issues: { path: string[]; message: string }[] = [];
  for (const consumer of consumers) {
    if (!consumer.engines.includes(db.engine)) {
      issues.push({ path: ['engine'], message: `${consumer.name} cannot use ${db.engine}; it supports ${consumer.engines.join(', ')} (${consumer.source})` });
      continue;
    }
    if (db.tls === undefined) continue;
    if (!consumer.tlsModes[db.engine].includes(db.tls.mode)) {
      issues.push({
        path: ['tls', 'mode'],
        message: `${consumer.name} cannot connect to ${db.engine} with TLS mode ${db.tls.mode}; it supports ${consumer.tlsModes[db.engine].join(', ')} (${consumer.source})`,
      });
    }
    if (db.tls.caSecret !== undefined && !consumer.customCa[db.engine]) {
      issues.push({ path: ['tls', 'caSecret'], message: `${consumer.name} cannot load a custom CA for ${db.engine}; use a certificate trusted by system roots (${consumer.source})` });
    }
    if (db.tls.caSecret === undefined && (consumer.caFileRequired?.[db.engine] ?? []).includes(db.tls.mode)) {
      issues.push({
        path: ['tls', 'caSecret'],
        message: `${consumer.name} verifies ${db.engine} certificates (TLS mode ${db.tls.mode}) only against a CA file it is given, not system roots; `
          + `set tls.caSecret (${consumer.source})`,
      });
    }
  }
  return issues;
}
