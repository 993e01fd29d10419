import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { IArtifactStore } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { DatabaseEngine, DatabaseTlsMode, IDatabase, SecretKeyPair } from '../../core/database';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { ContainerProps, podTemplate } from '../../core/workload';
import {
  BackupLocation, backupLocation, BackupReference, DEFAULT_BACKUP_PREFIX, DEFAULT_BACKUP_SCHEDULE, DEFAULT_RETENTION_DAYS,
  parseBackupReference, s3Env, storeUnsupportedReason,
} from './location';
import { DOWNLOAD_SCRIPT, dumpScript, loadScript, UPLOAD_SCRIPT } from './scripts';

export {
  BACKUP_OBJECT_SUFFIX, BACKUP_TIMESTAMP_FORMAT, backupLocation, backupObjectKey, BackupReferenceError, backupTimestamp,
  checkBackupPrefix, DEFAULT_BACKUP_PREFIX, DEFAULT_BACKUP_SCHEDULE, DEFAULT_RETENTION_DAYS, isBackupTimestamp, parseBackupReference,
  s3Env, storeUnsupportedReason,
} from './location';
export type { BackupLocation, BackupReference, SecretKeyRef } from './location';

/** Name of the backup CronJob and its ServiceAccount. */
export const BACKUP_NAME = 'metadata-db-backup';
/** Name of the restore ServiceAccount, and prefix of restore Job names (`metadata-db-restore-<timestamp>`). */
export const RESTORE_NAME = 'metadata-db-restore';
/** Annotation on a restore Job: the `s3://bucket/key` it loads. */
export const RESTORE_FROM_ANNOTATION = 'kfkit.dev/restore-from';

/** What backups and restores share: the database, the store, the key prefix and the pods' compute budget. */
export interface BackupStorageProps {
  /** Namespace of the pods (the platform namespace, where the database and store credentials Secrets are). */
  readonly namespace: string;
  /** The database to back up or restore; it must run in the cluster. */
  readonly database: IDatabase;
  /** The artifact store backups are written to and read from. */
  readonly store: IArtifactStore;
  /**
   * Key prefix of backups in the store's bucket; each backup is `<prefix>/<YYYYMMDDTHHMMSSZ>.sql.gz`.
   * @default 'backups/metadata-db'
   */
  readonly prefix?: string;
  /**
   * Compute budget of each container of the pod (database client; AWS CLI).
   * @default - 50m CPU request; 128Mi memory request, 512Mi limit
   */
  readonly resources?: ResourceBudget;
}

/** Props of {@link DatabaseBackup}. */
export interface DatabaseBackupProps extends BackupStorageProps {
  /**
   * Cron schedule (five fields, UTC).
   * @default '0 3 * * *'
   */
  readonly schedule?: string;
  /**
   * Days backups are kept; older ones are deleted after each successful backup (never the newest).
   * @default 14
   */
  readonly retentionDays?: number;
}

/** Props of {@link DatabaseRestore}. */
export interface DatabaseRestoreProps extends BackupStorageProps {
  /**
   * The backup to load: its timestamp (`20250131T030000Z`), object name (`20250131T030000Z.sql.gz`) or full key
   * (`<prefix>/20250131T030000Z.sql.gz`).
   */
  readonly from: string;
}

const DEFAULT_RESOURCES: ResourceBudget = { cpu: { request: '50m' }, memory: { request: '128Mi', limit: '512Mi' } };
/** `nobody`: none of the images needs its own user, and the AWS CLI image's default user is root. */
const POD_USER = 65534;
const BACKUP_DIR = '/backup';
const CA_DIR = '/etc/kfkit/db-ca';
const CRON = /^(\S+\s+){4}\S+$/;
/** Database names go into SQL string literals and shell words: plain identifiers only. */
const DATABASE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const MYSQL_SSL_MODE: Readonly<Record<DatabaseTlsMode, string | undefined>> = {
  'disabled': undefined, 'required': 'REQUIRED', 'verify-ca': 'VERIFY_CA', 'verify-full': 'VERIFY_IDENTITY',
};
const POSTGRES_SSL_MODE: Readonly<Record<DatabaseTlsMode, string | undefined>> = {
  'disabled': undefined, 'required': 'require', 'verify-ca': 'verify-ca', 'verify-full': 'verify-full',
};
const IMAGE_KEY: Readonly<Record<DatabaseEngine, 'mysql' | 'postgres'>> = { mysql: 'mysql', postgresql: 'postgres' };

/**
 * Why a database in `database` cannot be backed up to `store` by kfkit, or `undefined` when it can. Lets the platform
 * turn a configuration it cannot back up into a configuration error rather than an exception.
 */
export function backupUnsupportedReason(database: IDatabase, store: IArtifactStore): string | undefined {
  if (!database.inCluster) {
    return `the ${database.engine} database at ${database.host} is not in the cluster: managed databases are backed up by their service ` +
      '(RDS snapshots, Cloud SQL backups, point-in-time recovery); kfkit backs up only the in-cluster database';
  }
  return storeUnsupportedReason(store);
}

/** The checked, defaulted settings backup and restore share. */
interface Resolved {
  readonly namespace: string;
  readonly database: IDatabase;
  readonly store: IArtifactStore;
  readonly location: BackupLocation;
  readonly resources: ResourceBudget;
  readonly databaseNames: readonly string[];
}

function resolve(what: string, props: BackupStorageProps): Resolved {
  const fail = (message: string): never => { throw new Error(`${what}: ${message}`); };
  if (!NAMESPACE.test(props.namespace)) fail(`namespace "${props.namespace}" must be a DNS label`);
  const unsupported = backupUnsupportedReason(props.database, props.store);
  if (unsupported !== undefined) fail(unsupported);
  const n = props.database.databaseNames;
  const names = [...new Set([n.pipelines, n.metadata, n.cache, n.katib])];
  for (const name of names) {
    if (!DATABASE_NAME.test(name)) fail(`database name "${name}" must be a plain identifier (letters, digits, '_' and '-')`);
  }
  const locate = (): BackupLocation => {
    try {
      return backupLocation(props.store, props.prefix ?? DEFAULT_BACKUP_PREFIX);
    } catch (e) {
      return fail((e as Error).message);
    }
  };
  return {
    namespace: props.namespace,
    database: props.database,
    store: props.store,
    location: locate(),
    resources: props.resources ?? DEFAULT_RESOURCES,
    databaseNames: names,
  };
}

/** Environment, volumes and mounts of the database client container. */
function databaseClient(r: Resolved, as: SecretKeyPair): { env: k8s.EnvVar[]; volumes: k8s.Volume[]; mounts: k8s.VolumeMount[] } {
  const db = r.database;
  const { secretName, usernameKey, passwordKey } = as;
  const user = { valueFrom: { secretKeyRef: { name: secretName, key: usernameKey } } };
  const password = { valueFrom: { secretKeyRef: { name: secretName, key: passwordKey } } };
  const ca = db.tls.mode !== 'disabled' && db.tls.caSecret ? `${CA_DIR}/ca.crt` : undefined;
  const env: k8s.EnvVar[] = db.engine === 'mysql'
    ? [
      { name: 'DB_HOST', value: db.host },
      { name: 'DB_PORT', value: String(db.port) },
      { name: 'DB_USER', ...user },
      { name: 'DB_PASSWORD', ...password },
    ]
    : [
      { name: 'PGHOST', value: db.host },
      { name: 'PGPORT', value: String(db.port) },
      { name: 'PGUSER', ...user },
      { name: 'PGPASSWORD', ...password },
    ];
  const sslMode = (db.engine === 'mysql' ? MYSQL_SSL_MODE : POSTGRES_SSL_MODE)[db.tls.mode];
  if (sslMode !== undefined) env.push({ name: db.engine === 'mysql' ? 'DB_SSL_MODE' : 'PGSSLMODE', value: sslMode });
  if (ca !== undefined) env.push({ name: db.engine === 'mysql' ? 'DB_SSL_CA' : 'PGSSLROOTCERT', value: ca });
  env.push(
    { name: 'DB_NAMES', value: r.databaseNames.join(' ') },
    { name: 'BACKUP_DIR', value: BACKUP_DIR },
    { name: 'HOME', value: '/tmp' },
  );
  const volumes: k8s.Volume[] = [];
  const mounts: k8s.VolumeMount[] = [];
  if (ca !== undefined && db.tls.caSecret) {
    volumes.push({ name: 'db-ca', secret: { secretName: db.tls.caSecret.name, items: [{ key: db.tls.caSecret.key, path: 'ca.crt' }] } });
    mounts.push({ name: 'db-ca', mountPath: CA_DIR, readOnly: true });
  }
  return { env, volumes, mounts };
}

/** One container of a backup or restore pod: a database client or the S3 client, with its script. */
interface Step {
  readonly name: string;
  readonly kind: 'database' | 's3';
  readonly script: string;
  /** Variables besides the client's own. */
  readonly env: readonly k8s.EnvVar[];
}

/**
 * Builds the ServiceAccount, network paths and pod template shared by backup and restore: `first` runs as the init
 * container, `second` only once it succeeded.
 */
function workload(scope: Construct, r: Resolved, name: string, as: SecretKeyPair, first: Step, second: Step): {
  labels: Record<string, string>; template: k8s.PodTemplateSpec; peer: NetworkPeer;
} {
  const ctx = KfkitContext.of(scope);
  const identity: ComponentIdentity = { name, component: 'metadata-db-backup' };
  const labels = standardLabels(identity);
  const peer: NetworkPeer = { peerName: name, namespace: r.namespace, podLabels: selectorLabels(identity) };
  serviceAccountWithRole(scope, {
    name, namespace: r.namespace, labels, annotations: r.location.serviceAccountAnnotations, automountServiceAccountToken: false,
  });
  r.database.allowFrom(peer);
  r.store.allowFrom(peer);

  const client = databaseClient(r, as);
  const s3 = s3Env(r.location);
  const scratch: k8s.VolumeMount[] = [{ name: 'backup', mountPath: BACKUP_DIR }, { name: 'tmp', mountPath: '/tmp' }];
  const container = (step: Step): ContainerProps => step.kind === 'database'
    ? {
      name: step.name,
      image: ctx.images.image(IMAGE_KEY[r.database.engine]),
      command: ['/bin/bash', '-c', step.script],
      env: [...client.env, ...step.env],
      resources: r.resources,
      volumeMounts: [...scratch, ...client.mounts],
    }
    : {
      name: step.name,
      image: ctx.images.image('aws-cli'),
      command: ['/bin/bash', '-c', step.script],
      env: [...s3, { name: 'BACKUP_DIR', value: BACKUP_DIR }, { name: 'HOME', value: '/tmp' }, ...step.env],
      resources: r.resources,
      volumeMounts: scratch,
    };
  const template = podTemplate(scope, {
    identity,
    serviceAccountName: name,
    restartPolicy: 'Never',
    security: { user: POD_USER, group: POD_USER, fsGroup: POD_USER },
    initContainers: [container(first)],
    containers: [container(second)],
    volumes: [{ name: 'backup', emptyDir: {} }, { name: 'tmp', emptyDir: {} }, ...client.volumes],
  });
  return { labels, template, peer };
}

/**
 * Scheduled logical backups of the in-cluster metadata database to the artifact store.
 *
 * A CronJob `metadata-db-backup` (UTC schedule, `Forbid` concurrency, a deadline so a hung run never blocks the
 * next ones) runs a pod of two steps sharing an emptyDir:
 *
 * 1. `dump` (the database image): dumps every consumer database that exists (`database.databaseNames`) — MySQL with
 *    `mysqldump --single-transaction --databases …` (one consistent InnoDB snapshot of all of them, clients not
 *    locked out), PostgreSQL with `pg_dump --create --clean` per database — gzip-compressed; checks the gzip
 *    stream and the dump tool's completion marker, and only then publishes the dump and its timestamp. Any failure
 *    (`set -o pipefail`) fails the pod before anything is uploaded.
 * 2. `upload` (AWS CLI): uploads `s3://<bucket>/<prefix>/<YYYYMMDDTHHMMSSZ>.sql.gz` ({@link backupObjectKey}),
 *    verifies the stored size, then deletes backups older than `retentionDays` — only objects named exactly like
 *    backups, never the one just written, never the newest, and nothing unless the listing shows the new backup and
 *    the pod's clock agrees with the store's (the time of the upload) to within an hour.
 *
 * Credentials: the backup user's password by `secretKeyRef` (`database.credentialsFor('backup')`: read-only); store keys by `secretKeyRef`
 * from the store's Secret, or, with IRSA, none at all — the ServiceAccount carries the role annotation. The pod is
 * restricted, read-only, runs as `nobody`, mounts no API token, and reaches only the database and the store
 * (`allowFrom`). Managed databases are refused: their service backs them up.
 */
export class DatabaseBackup extends Construct {
  /** Name of the CronJob (and ServiceAccount). */
  public readonly cronJobName = BACKUP_NAME;
  /** Where backups are written. */
  public readonly location: BackupLocation;
  /** The cron schedule. */
  public readonly schedule: string;
  /** Days backups are kept. */
  public readonly retentionDays: number;
  /** The backup pods, as a network peer. */
  public readonly peer: NetworkPeer;

  public constructor(scope: Construct, id: string, props: DatabaseBackupProps) {
    super(scope, id);
    const r = resolve('DatabaseBackup', props);
    this.schedule = props.schedule ?? DEFAULT_BACKUP_SCHEDULE;
    this.retentionDays = props.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!CRON.test(this.schedule)) throw new Error(`DatabaseBackup: schedule "${this.schedule}" must be a cron schedule with five fields, e.g. "0 3 * * *"`);
    if (!Number.isInteger(this.retentionDays) || this.retentionDays < 1 || this.retentionDays > 3650) {
      throw new Error(`DatabaseBackup: retentionDays ${this.retentionDays} must be a whole number of days from 1 to 3650`);
    }
    this.location = r.location;
    const w = workload(this, r, BACKUP_NAME, r.database.credentialsFor('backup'),
      { name: 'dump', kind: 'database', script: dumpScript(r.database.engine), env: [] },
      {
        name: 'upload',
        kind: 's3',
        script: UPLOAD_SCRIPT,
        env: [{ name: 'BACKUP_PREFIX', value: r.location.prefix }, { name: 'RETENTION_DAYS', value: String(this.retentionDays) }],
      });
    this.peer = w.peer;
    new k8s.KubeCronJob(this, 'CronJob', {
      metadata: { name: BACKUP_NAME, namespace: r.namespace, labels: w.labels },
      spec: {
        schedule: this.schedule,
        timeZone: 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        // A run missed by up to an hour (controller down, cluster upgrade) still starts.
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels: w.labels },
          spec: {
            // Each retry is a new dump with a new timestamp; a failed attempt uploads nothing.
            backoffLimit: 2,
            // Forbid concurrency: a hung run would block every later one.
            activeDeadlineSeconds: 4 * 3600,
            template: w.template,
          },
        },
      },
    });
  }
}

/**
 * A one-shot Job `metadata-db-restore-<timestamp>` that loads one backup into the in-cluster database: `download`
 * (AWS CLI) fetches exactly `<prefix>/<timestamp>.sql.gz` ({@link backupObjectKey}, the key {@link DatabaseBackup}
 * writes) with the same bucket, endpoint and credentials as the backup, and checks its size; `load` (database
 * image) checks the gzip stream, refuses to run while clients are connected to the consumer databases, and loads
 * the dump, which replaces every database it contains. No retries (`backoffLimit: 0`): a failed restore is for an
 * operator to look at.
 */
export class DatabaseRestore extends Construct {
  /** Name of the Job, `metadata-db-restore-<timestamp in lowercase>`. */
  public readonly jobName: string;
  /** The backup it loads. */
  public readonly backup: BackupReference;
  /** Where it reads from. */
  public readonly location: BackupLocation;
  /** The restore pods, as a network peer. */
  public readonly peer: NetworkPeer;

  public constructor(scope: Construct, id: string, props: DatabaseRestoreProps) {
    super(scope, id);
    const r = resolve('DatabaseRestore', props);
    this.location = r.location;
    this.backup = parseBackupReference(r.location.prefix, props.from);
    this.jobName = `${RESTORE_NAME}-${this.backup.timestamp.toLowerCase()}`;
    const key = { name: 'BACKUP_OBJECT_KEY', value: this.backup.key };
    // A restore replaces whole databases: the administrator's one-shot work, like creating the users.
    const admin = r.database.adminCredentials;
    if (admin === undefined) throw new Error(`DatabaseRestore: the ${r.database.engine} database at ${r.database.host} has no administrator credentials kfkit holds`);
    const w = workload(this, r, RESTORE_NAME, admin,
      { name: 'download', kind: 's3', script: DOWNLOAD_SCRIPT, env: [key] },
      { name: 'load', kind: 'database', script: loadScript(r.database.engine), env: [key] });
    this.peer = w.peer;
    new k8s.KubeJob(this, 'Job', {
      metadata: {
        name: this.jobName,
        namespace: r.namespace,
        labels: w.labels,
        annotations: { [RESTORE_FROM_ANNOTATION]: `s3://${r.location.bucket}/${this.backup.key}` },
      },
      spec: { backoffLimit: 0, template: w.template },
    });
  }
}

/** Creates a {@link DatabaseRestore} of the backup `props.from`. */
export function restoreJob(scope: Construct, id: string, props: DatabaseRestoreProps): DatabaseRestore {
  return new DatabaseRestore(scope, id, props);
}
