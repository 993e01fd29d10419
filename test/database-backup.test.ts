import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import * as YAML from 'yaml';
import { renderRestore, RestoreError } from '../lib/cli/restore';
import { resolveConfig } from '../lib/config/load';
import {
  backupLocation, backupObjectKey, BackupReferenceError, backupTimestamp, backupUnsupportedReason, DatabaseBackup, DatabaseBackupProps,
  DatabaseRestore, isBackupTimestamp, parseBackupReference, restoreJob,
} from '../lib/components/database-backup';
import { ExternalDatabase } from '../lib/components/external-database';
import { MysqlDatabase } from '../lib/components/mysql';
import { PostgresDatabase } from '../lib/components/postgresql';
import { ArtifactCredentials, ArtifactProvider, identityAnnotations, IArtifactStore } from '../lib/core/artifact-store';
import { KfkitContext } from '../lib/core/context';
import { DatabaseEngine, DatabaseNames, DatabaseTls, IDatabase, SecretKeyPair, UPSTREAM_DATABASE_NAMES } from '../lib/core/database';
import { DatabaseConsumerId } from '../lib/core/database-users';
import { PlatformNamespace } from '../lib/core/namespace';
import { allowTraffic, EgressTarget, NetworkPeer } from '../lib/core/network';
import { collect } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { isCredentialName } from '../lib/validate/secrets';
import { K8sObject } from '../lib/validate/types';
import { localConfig, tmpdir } from './helpers';

const NS = 'kubeflow';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/kubeflow-backups';

/** A minimal IArtifactStore: an S3-compatible service outside the cluster, keys in a Secret the admins created. */
class TestStore extends Construct implements IArtifactStore {
  public readonly provider: ArtifactProvider;
  public readonly endpoint: string;
  public readonly secure: boolean;
  public readonly region: string;
  public readonly bucket = 'kfkit-artifacts';
  public readonly pathStyle: boolean;
  public readonly inCluster = false;

  public constructor(scope: Construct, id: string, public readonly credentials: ArtifactCredentials) {
    super(scope, id);
    const aws = credentials.type === 'irsa';
    this.provider = aws ? 's3' : 's3-compatible';
    this.endpoint = aws ? 's3.eu-west-1.amazonaws.com' : 'minio.storage.svc:9000';
    this.secure = aws;
    this.region = aws ? 'eu-west-1' : 'us-east-1';
    this.pathStyle = !aws;
    if (credentials.type === 'secret') {
      KfkitContext.of(this).addExternalObject({
        apiVersion: 'v1', kind: 'Secret', namespace: NS, name: credentials.secretName, reason: 'test store keys',
      });
    }
  }

  public serviceAccountAnnotations(): Record<string, string> {
    return identityAnnotations(this.credentials);
  }

  public allowFrom(client: NetworkPeer): void {
    new k8s.KubeNetworkPolicy(this, `Egress-${client.peerName}`, {
      metadata: { name: `${client.peerName}-to-test-store`, namespace: client.namespace },
      spec: {
        podSelector: { matchLabels: { ...client.podLabels } },
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: k8s.IntOrString.fromNumber(this.secure ? 443 : 9000), protocol: 'TCP' }] }],
      },
    });
  }

  public admitGroup(): EgressTarget {
    return { addresses: [{ cidr: '0.0.0.0/0', ports: [{ port: this.secure ? 443 : 9000 }] }] };
  }
}

const SECRET_KEYS: ArtifactCredentials = { type: 'secret', secretName: 'store-keys', accessKeyKey: 'accesskey', secretKeyKey: 'secretkey' };
const IRSA: ArtifactCredentials = { type: 'irsa', roleArn: ROLE_ARN };

/** An in-cluster PostgreSQL as IDatabase (the postgresql component is being written; its interface is final). */
class TestPostgres extends Construct implements IDatabase {
  public readonly engine: DatabaseEngine = 'postgresql';
  public readonly host = `postgres.${NS}.svc.cluster.local`;
  public readonly port = 5432;
  public readonly adminCredentials: SecretKeyPair = { secretName: 'postgres-credentials', usernameKey: 'username', passwordKey: 'password' };
  private readonly backupUser: SecretKeyPair = { secretName: 'postgres-backup', usernameKey: 'username', passwordKey: 'password' };
  public readonly tls: DatabaseTls = { mode: 'disabled' };
  public readonly databaseNames: DatabaseNames = UPSTREAM_DATABASE_NAMES;
  public readonly inCluster = true;
  private readonly peer: NetworkPeer = { peerName: 'postgres', namespace: NS, podLabels: { 'app.kubernetes.io/name': 'postgres' } };

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    for (const secret of [this.adminCredentials, this.backupUser]) {
      KfkitContext.of(this).addExternalObject({ apiVersion: 'v1', kind: 'Secret', namespace: NS, name: secret.secretName, reason: 'test' });
    }
  }

  public credentialsFor(consumer: DatabaseConsumerId): SecretKeyPair {
    if (consumer !== 'backup') throw new Error(`TestPostgres has no user for ${consumer}`);
    return this.backupUser;
  }

  public allowFrom(client: NetworkPeer): void {
    allowTraffic(this, client, this.peer, [{ port: this.port }]);
  }
}

interface Built {
  readonly chart: Chart;
  readonly database: IDatabase;
  readonly store: IArtifactStore;
  readonly backup: DatabaseBackup;
}

function build(options: { credentials?: ArtifactCredentials; engine?: DatabaseEngine; backup?: Partial<DatabaseBackupProps> } = {}): Built {
  const app = new App();
  const chart = new Chart(app, 'test', { disableResourceNameHashes: true });
  KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  new PlatformNamespace(chart, 'Namespace', { name: NS });
  const database: IDatabase = options.engine === 'postgresql' ? new TestPostgres(chart, 'Db') : new MysqlDatabase(chart, 'Db', { namespace: NS });
  const store = new TestStore(chart, 'Store', options.credentials ?? SECRET_KEYS);
  const backup = new DatabaseBackup(chart, 'Backup', { namespace: NS, database, store, ...options.backup });
  return { chart, database, store, backup };
}

type Obj = K8sObject & { spec: Record<string, unknown> };
type Container = { name: string; image: string; command: string[]; env?: k8s.EnvVar[] };
type PodSpec = {
  serviceAccountName: string; automountServiceAccountToken: boolean; initContainers: Container[]; containers: Container[];
  restartPolicy: string; securityContext: Record<string, unknown>; volumes: Record<string, unknown>[];
};

/** An object's annotations without the GitOps ones collect() adds. */
function ownAnnotations(o: K8sObject): Record<string, string> {
  return Object.fromEntries(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => !k.startsWith('argocd.argoproj.io/')));
}

function objects(chart: Chart): Obj[] {
  return collect(chart).objects.map((o) => o.manifest as Obj);
}

function find(list: readonly Obj[], kind: string, name: string | RegExp): Obj {
  const found = list.find((o) => o.kind === kind && (typeof name === 'string' ? o.metadata.name === name : name.test(o.metadata.name)));
  if (!found) throw new Error(`no ${kind} ${String(name)}`);
  return found;
}

function cronPod(list: readonly Obj[]): PodSpec {
  return (find(list, 'CronJob', 'metadata-db-backup').spec as { jobTemplate: { spec: { template: { spec: PodSpec } } } }).jobTemplate.spec.template.spec;
}

function jobPod(list: readonly Obj[]): PodSpec {
  return (find(list, 'Job', /^metadata-db-restore-/).spec as { template: { spec: PodSpec } }).template.spec;
}

function container(pod: PodSpec, name: string): Container {
  const c = [...pod.initContainers, ...pod.containers].find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

function envOf(c: Container): Map<string, k8s.EnvVar> {
  return new Map((c.env ?? []).map((e) => [e.name, e]));
}

/** What an S3 client container actually uses, read from the manifest: bucket, endpoint, addressing, credentials. */
function s3View(pod: PodSpec, containerName: string, list: readonly Obj[]) {
  const env = envOf(container(pod, containerName));
  const pick = (name: string) => env.get(name) ?? null;
  const sa = find(list, 'ServiceAccount', pod.serviceAccountName);
  return {
    bucket: pick('S3_BUCKET'),
    endpoint: pick('AWS_ENDPOINT_URL'),
    region: pick('AWS_REGION'),
    addressing: pick('S3_ADDRESSING_STYLE'),
    checksums: pick('AWS_REQUEST_CHECKSUM_CALCULATION'),
    accessKey: pick('AWS_ACCESS_KEY_ID'),
    secretKey: pick('AWS_SECRET_ACCESS_KEY'),
    sessionToken: pick('AWS_SESSION_TOKEN'),
    serviceAccountAnnotations: ownAnnotations(sa),
  };
}

const TS = '20250131T030000Z';

describe('DatabaseBackup', () => {
  test('backup and restore of in-cluster MySQL to a Secret-keyed store validate cleanly', () => {
    const { chart, database, store } = build();
    restoreJob(chart, 'Restore', { namespace: NS, database, store, from: TS });
    expect(validate(collect(chart))).toEqual([]);
  });

  test('with IRSA and with PostgreSQL they validate cleanly too', () => {
    for (const options of [{ credentials: IRSA }, { engine: 'postgresql' as const }]) {
      const { chart, database, store } = build(options);
      restoreJob(chart, 'Restore', { namespace: NS, database, store, from: TS });
      expect(validate(collect(chart))).toEqual([]);
    }
  });

  test('schedule, retention and prefix land in the CronJob; defaults are 03:00 UTC daily, 14 days, backups/metadata-db', () => {
    const defaults = objects(build().chart);
    const cron = find(defaults, 'CronJob', 'metadata-db-backup');
    expect(cron.metadata.namespace).toBe(NS);
    expect(cron.spec).toMatchObject({
      schedule: '0 3 * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3,
    });
    const upload = envOf(container(cronPod(defaults), 'upload'));
    expect(upload.get('RETENTION_DAYS')?.value).toBe('14');
    expect(upload.get('BACKUP_PREFIX')?.value).toBe('backups/metadata-db');

    const custom = objects(build({ backup: { schedule: '30 1 * * 0', retentionDays: 90, prefix: 'dr/kubeflow-db' } }).chart);
    expect(find(custom, 'CronJob', 'metadata-db-backup').spec.schedule).toBe('30 1 * * 0');
    const env = envOf(container(cronPod(custom), 'upload'));
    expect(env.get('RETENTION_DAYS')?.value).toBe('90');
    expect(env.get('BACKUP_PREFIX')?.value).toBe('dr/kubeflow-db');
  });

  test('the dump is one consistent transaction of every consumer database, and runs before the upload', () => {
    const pod = cronPod(objects(build().chart));
    expect(pod.initContainers.map((c) => c.name)).toEqual(['dump']);
    expect(pod.containers.map((c) => c.name)).toEqual(['upload']);
    const dump = container(pod, 'dump');
    expect(dump.image).toBe('docker.io/library/mysql:8.4.11');
    const script = dump.command[2];
    expect(script).toMatch(/^set -euo pipefail/);
    expect(script).toContain('mysqldump --defaults-extra-file=<(client_options) --single-transaction');
    expect(script).toContain('--databases "${dbs[@]}"');
    expect(envOf(dump).get('DB_NAMES')?.value).toBe('mlpipeline metadb cachedb katib');
    expect(container(pod, 'upload').image).toBe('docker.io/amazon/aws-cli:2.27.50');
    expect(container(pod, 'upload').command[2]).toMatch(/^set -euo pipefail/);
    expect(pod.restartPolicy).toBe('Never');
  });

  test('pods are restricted, read-only with emptyDirs, run as nobody, mount no token, and have requests and limits', () => {
    const { chart, database, store } = build();
    restoreJob(chart, 'Restore', { namespace: NS, database, store, from: TS });
    const list = objects(chart);
    for (const pod of [cronPod(list), jobPod(list)]) {
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.volumes).toEqual([{ name: 'backup', emptyDir: {} }, { name: 'tmp', emptyDir: {} }]);
      for (const c of [...pod.initContainers, ...pod.containers] as (Container & Record<string, unknown>)[]) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } });
        expect(envOf(c).get('HOME')?.value).toBe('/tmp');
      }
    }
  });

  test('network: the backup pods may reach the database and the store, nothing else', () => {
    const list = objects(build().chart);
    expect(find(list, 'NetworkPolicy', 'metadata-db-backup-to-mysql')).toBeDefined();
    expect(find(list, 'NetworkPolicy', 'mysql-from-metadata-db-backup')).toBeDefined();
    expect(find(list, 'NetworkPolicy', 'metadata-db-backup-to-test-store')).toBeDefined();
  });

  test('the restore reads exactly the bucket, key, endpoint and credential references the backup writes', () => {
    for (const credentials of [SECRET_KEYS, IRSA]) {
      const { chart, database, store, backup } = build({ credentials, backup: { prefix: 'dr/metadata' } });
      const restore = restoreJob(chart, 'Restore', { namespace: NS, database, store, prefix: 'dr/metadata', from: TS });
      const list = objects(chart);
      // The same description of the location on both sides…
      expect(restore.location).toEqual(backup.location);
      expect(backup.location).toEqual(backupLocation(store, 'dr/metadata'));
      // …and the same S3 client settings in the rendered pods.
      const written = s3View(cronPod(list), 'upload', list);
      const read = s3View(jobPod(list), 'download', list);
      expect(read).toEqual(written);
      expect(written.bucket?.value).toBe('kfkit-artifacts');
      // The key the restore reads is the key the backup script builds from BACKUP_PREFIX and the timestamp.
      const prefix = envOf(container(cronPod(list), 'upload')).get('BACKUP_PREFIX')?.value;
      expect(container(cronPod(list), 'upload').command[2]).toContain('key="$BACKUP_PREFIX/$timestamp.sql.gz"');
      const key = envOf(container(jobPod(list), 'download')).get('BACKUP_OBJECT_KEY')?.value;
      expect(key).toBe(`${prefix ?? ''}/${TS}.sql.gz`);
      expect(key).toBe(backupObjectKey('dr/metadata', TS));
      expect(envOf(container(jobPod(list), 'load')).get('BACKUP_OBJECT_KEY')?.value).toBe(key);
      // And the same database: client image, host; the backup reads as its read-only user, the restore (which replaces
      // whole databases) writes as the administrator.
      const dumpEnv = envOf(container(cronPod(list), 'dump'));
      const loadEnv = envOf(container(jobPod(list), 'load'));
      for (const name of ['DB_HOST', 'DB_PORT', 'DB_NAMES']) expect(loadEnv.get(name)).toEqual(dumpEnv.get(name));
      expect(dumpEnv.get('DB_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'metadata-db-backup', key: 'password' });
      expect(loadEnv.get('DB_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'mysql-secret', key: 'password' });
      expect(container(jobPod(list), 'load').image).toBe(container(cronPod(list), 'dump').image);
    }
  });

  test('Secret credentials: keys only as secretKeyRef; endpoint, path style and http from the store', () => {
    const list = objects(build().chart);
    const view = s3View(cronPod(list), 'upload', list);
    expect(view.accessKey).toEqual({ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'store-keys', key: 'accesskey' } } });
    expect(view.secretKey).toEqual({ name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'store-keys', key: 'secretkey' } } });
    expect(view.endpoint?.value).toBe('http://minio.storage.svc:9000');
    expect(view.addressing?.value).toBe('path');
    expect(view.checksums?.value).toBe('when_required');
    expect(view.serviceAccountAnnotations).toEqual({});
  });

  test('IRSA: no AWS key variables anywhere in backup or restore, and both ServiceAccounts carry the role', () => {
    const { chart, database, store } = build({ credentials: IRSA });
    restoreJob(chart, 'Restore', { namespace: NS, database, store, from: TS });
    const list = objects(chart);
    const text = JSON.stringify(list);
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) expect(text).not.toContain(name);
    for (const sa of ['metadata-db-backup', 'metadata-db-restore']) {
      expect(ownAnnotations(find(list, 'ServiceAccount', sa))).toEqual({ 'eks.amazonaws.com/role-arn': ROLE_ARN });
    }
    const view = s3View(cronPod(list), 'upload', list);
    expect(view.endpoint?.value).toBe('https://s3.eu-west-1.amazonaws.com');
    expect(view.addressing?.value).toBe('virtual');
    expect(view.region?.value).toBe('eu-west-1');
    expect(view.checksums).toBeNull();
  });

  test('no literal secrets: every credential-named variable comes from a Secret, and no Secret is emitted', () => {
    for (const options of [{}, { credentials: IRSA }, { engine: 'postgresql' as const }]) {
      const { chart, database, store } = build(options);
      restoreJob(chart, 'Restore', { namespace: NS, database, store, from: TS });
      const list = objects(chart);
      expect(list.filter((o) => o.kind === 'Secret')).toEqual([]);
      for (const pod of [cronPod(list), jobPod(list)]) {
        for (const c of [...pod.initContainers, ...pod.containers]) {
          for (const e of c.env ?? []) {
            if (isCredentialName(e.name)) {
              expect(e.value).toBeUndefined();
              expect(e.valueFrom?.secretKeyRef).toBeDefined();
            }
          }
        }
      }
    }
  });

  test('PostgreSQL: pg_dump per database and psql, from the postgres image, libpq variables from the Secret', () => {
    const { chart, database, store } = build({ engine: 'postgresql' });
    restoreJob(chart, 'Restore', { namespace: NS, database, store, from: TS });
    const list = objects(chart);
    const dump = container(cronPod(list), 'dump');
    expect(dump.image).toBe('docker.io/library/postgres:14.7-alpine3.17');
    expect(dump.command[2]).toContain('pg_dump --create --clean --if-exists --dbname="$db" | gzip -c >> "$dump.part"');
    expect(dump.command[2]).not.toContain('mysql');
    const load = container(jobPod(list), 'load');
    expect(load.image).toBe(dump.image);
    expect(load.command[2]).toContain('psql -X -q -v ON_ERROR_STOP=1 -d postgres');
    const env = envOf(dump);
    expect(env.get('PGHOST')?.value).toBe('postgres.kubeflow.svc.cluster.local');
    expect(env.get('PGPASSWORD')).toEqual({ name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: 'postgres-backup', key: 'password' } } });
    expect(find(list, 'NetworkPolicy', 'metadata-db-backup-to-postgres')).toBeDefined();
  });

  test('the postgresql component gets pg tools too', () => {
    const app = new App();
    const chart = new Chart(app, 'pg');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const database = new PostgresDatabase(chart, 'Db', { namespace: NS });
    const store = new TestStore(chart, 'Store', SECRET_KEYS);
    new DatabaseBackup(chart, 'Backup', { namespace: NS, database, store });
    const dump = container(cronPod(objects(chart)), 'dump');
    expect(dump.image).toMatch(/\/postgres:/);
    expect(dump.command[2]).toContain('pg_dump');
    expect(envOf(dump).get('PGUSER')?.valueFrom?.secretKeyRef?.name).toBe(database.credentialsFor('backup').secretName);
    expect(envOf(dump).get('PGUSER')?.valueFrom?.secretKeyRef?.name).toBe('metadata-db-backup');
  });

  test('an external database is refused: its managed service backs it up', () => {
    const app = new App();
    const chart = new Chart(app, 'ext');
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    const database = new ExternalDatabase(chart, 'Db', {
      cidrs: ['198.51.100.0/24'],
      namespace: NS, engine: 'mysql', host: 'db.example.com', credentials: { secretName: 'db', usernameKey: 'u', passwordKey: 'p' },
    });
    const store = new TestStore(chart, 'Store', SECRET_KEYS);
    expect(() => new DatabaseBackup(chart, 'Backup', { namespace: NS, database, store }))
      .toThrow(/DatabaseBackup: the mysql database at db\.example\.com is not in the cluster: managed databases are backed up by their service/);
    expect(() => restoreJob(chart, 'Restore', { namespace: NS, database, store, from: TS })).toThrow(/DatabaseRestore: .*not in the cluster/);
    expect(backupUnsupportedReason(database, store)).toMatch(/RDS snapshots/);
  });

  test('a Workload Identity store is refused with the fix (the S3 client cannot use Google tokens)', () => {
    expect(() => build({ credentials: { type: 'workload-identity', gcpServiceAccount: 'kf@p.iam.gserviceaccount.com' } }))
      .toThrow(/Workload Identity.*HMAC keys.*credentials of type secret/);
  });

  test('bad settings are refused', () => {
    expect(() => build({ backup: { schedule: 'daily' } })).toThrow(/schedule "daily" must be a cron schedule with five fields/);
    expect(() => build({ backup: { retentionDays: 0 } })).toThrow(/retentionDays 0/);
    expect(() => build({ backup: { retentionDays: 1.5 } })).toThrow(/retentionDays 1.5/);
    for (const prefix of ['/backups', 'backups/', 'Backups', 'a//b', 'a b']) expect(() => build({ backup: { prefix } })).toThrow(/backup prefix/);
  });
});

describe('backup references', () => {
  test('backupObjectKey and parseBackupReference agree on <prefix>/<timestamp>.sql.gz', () => {
    expect(backupObjectKey('backups/metadata-db', TS)).toBe('backups/metadata-db/20250131T030000Z.sql.gz');
    for (const from of [TS, `${TS}.sql.gz`, `backups/metadata-db/${TS}.sql.gz`]) {
      expect(parseBackupReference('backups/metadata-db', from)).toEqual({ timestamp: TS, key: 'backups/metadata-db/20250131T030000Z.sql.gz' });
    }
    expect(backupTimestamp(new Date(Date.UTC(2025, 0, 31, 3, 0, 0, 123)))).toBe(TS);
    expect(isBackupTimestamp('20240229T235959Z')).toBe(true);
  });

  test.each([
    '', 'latest', '2025-01-31', '2025-01-31T03:00:00Z', '20250131T030000', '20250131t030000z', ' 20250131T030000Z',
    '20251331T000000Z', '20250230T000000Z', '20250131T246000Z', '20230229T000000Z', `${TS}.tar.gz`, `${TS}.sql`,
    `other/prefix/${TS}.sql.gz`, `backups/metadata-db/sub/${TS}.sql.gz`, `../${TS}.sql.gz`, `s3://bucket/backups/metadata-db/${TS}.sql.gz`,
  ])('rejects %j with a one-line message', (from) => {
    expect(() => parseBackupReference('backups/metadata-db', from)).toThrow(BackupReferenceError);
    try {
      parseBackupReference('backups/metadata-db', from);
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
      expect((e as Error).message).toContain('20250131T030000Z');
    }
  });

  test('a restore Job is named after the timestamp and names its source', () => {
    const { chart, database, store } = build();
    const restore = restoreJob(chart, 'Restore', { namespace: NS, database, store, from: `backups/metadata-db/${TS}.sql.gz` });
    expect(restore).toBeInstanceOf(DatabaseRestore);
    expect(restore.jobName).toBe('metadata-db-restore-20250131t030000z');
    const job = find(objects(chart), 'Job', 'metadata-db-restore-20250131t030000z');
    expect(ownAnnotations(job)['kfkit.dev/restore-from']).toBe('s3://kfkit-artifacts/backups/metadata-db/20250131T030000Z.sql.gz');
    expect(job.spec.backoffLimit).toBe(0);
    expect(() => restoreJob(chart, 'Bad', { namespace: NS, database, store, from: 'yesterday' })).toThrow(BackupReferenceError);
  });
});

describe('renderRestore (kfkit restore)', () => {
  test('prints the Job, its ServiceAccount and network policies, deterministically', () => {
    const config = localConfig();
    const text = renderRestore(config, TS);
    expect(renderRestore(config, `backups/metadata-db/${TS}.sql.gz`)).toBe(text);
    const docs = YAML.parseAllDocuments(text).map((d) => d.toJS() as Obj);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'ServiceAccount/metadata-db-restore',
      'NetworkPolicy/metadata-db-restore-to-mysql',
      'NetworkPolicy/metadata-db-restore-to-seaweedfs',
      'NetworkPolicy/mysql-from-metadata-db-restore',
      'NetworkPolicy/seaweedfs-from-metadata-db-restore',
      'Job/metadata-db-restore-20250131t030000z',
    ]);
    const job = docs[docs.length - 1];
    expect(job.metadata.annotations).toEqual({ 'kfkit.dev/restore-from': 's3://mlpipeline/backups/metadata-db/20250131T030000Z.sql.gz' });
    expect(text).toMatch(/^# kfkit restore: loads s3:\/\/mlpipeline\/backups\/metadata-db\/20250131T030000Z\.sql\.gz/);
    expect(text).not.toContain('argocd.argoproj.io');
  });

  test('uses the configured prefix', () => {
    const text = renderRestore(localConfig({ backup: { prefix: 'dr/db' } }), TS);
    expect(text).toContain('value: dr/db/20250131T030000Z.sql.gz');
  });

  test('a bad --from is a RestoreError with one line', () => {
    for (const from of ['yesterday', '20250231T000000Z', `elsewhere/${TS}.sql.gz`]) {
      expect(() => renderRestore(localConfig(), from)).toThrow(RestoreError);
      try {
        renderRestore(localConfig(), from);
      } catch (e) {
        expect((e as Error).message).toMatch(/^--from: [^\n]+$/);
      }
    }
  });

  test('an external database is a RestoreError naming the managed service', () => {
    const config = resolveConfig({
      stack: 'bare', cluster: { apiServer: { cidrs: ['192.0.2.0/24'] } },
      database: { type: 'external', engine: 'mysql', cidrs: ['198.51.100.0/24'], host: 'db.example.com', credentialsSecret: { name: 'db-credentials' }, tls: { mode: 'disabled' } },
    }, [{ name: 'bare', description: 'no defaults', defaults: {} }]);
    expect(() => renderRestore(config, TS)).toThrow(RestoreError);
    expect(() => renderRestore(config, TS)).toThrow(/db\.example\.com is external: restore it with its service/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The scripts themselves, run with bash against stub clients and a directory standing in for the bucket.

const SCRIPT_RUNNER_OK = (() => {
  const r = spawnSync('bash', ['-c', 'date -u -d @0 +%Y && echo "${BASH_VERSINFO[0]}"'], { encoding: 'utf8' });
  const [year, major] = r.stdout.trim().split('\n');
  return r.status === 0 && year === '1970' && Number(major) >= 4;
})();
const scriptTest = SCRIPT_RUNNER_OK ? test : test.skip;

const STUBS: Record<string, string> = {
  // mysql: answers the queries the scripts make; without -e it is the restore and keeps what it reads.
  mysql: `
opts="\${1#--defaults-extra-file=}"; cat "$opts" >> "$FAKE_ROOT/mysql-options"; shift
query=''
while [ $# -gt 0 ]; do case "$1" in -e) query="$2"; shift 2 ;; *) shift ;; esac; done
if [ -z "$query" ]; then cat > "$FAKE_ROOT/restored.sql"; exit 0; fi
case "$query" in
  *information_schema.SCHEMATA*) for d in $FAKE_DATABASES; do echo "$d"; done ;;
  *PROCESSLIST*) echo "\${FAKE_BUSY:-0}" ;;
  *) echo "unexpected query: $query" >&2; exit 1 ;;
esac`,
  mysqldump: `
opts="\${1#--defaults-extra-file=}"; cat "$opts" > "$FAKE_ROOT/mysqldump-options"; shift
echo "$*" > "$FAKE_ROOT/mysqldump-args"
echo '-- MySQL dump 10.13'
echo "CREATE DATABASE /*!32312 IF NOT EXISTS*/ mlpipeline; -- $FAKE_CONTENT"
case "\${FAKE_DUMP:-ok}" in
  fail) echo 'mysqldump: Error 2013: Lost connection to MySQL server during query' >&2; exit 2 ;;
  truncated) exit 0 ;;
esac
echo '-- Dump completed on 2025-01-31  3:00:01'`,
  psql: `
query=''
while [ $# -gt 0 ]; do case "$1" in -c) query="$2"; shift 2 ;; *) shift ;; esac; done
if [ -z "$query" ]; then cat > "$FAKE_ROOT/restored.sql"; exit 0; fi
case "$query" in
  *pg_database*) for d in $FAKE_DATABASES; do echo "$d"; done ;;
  *pg_stat_activity*) echo "\${FAKE_BUSY:-0}" ;;
  *) echo "unexpected query: $query" >&2; exit 1 ;;
esac`,
  pg_dump: `
db=''; for a in "$@"; do case "$a" in --dbname=*) db="\${a#--dbname=}" ;; esac; done
echo "$PGUSER:$PGPASSWORD" > "$FAKE_ROOT/pg-credentials"
printf -- '--\\n-- PostgreSQL database dump\\n--\\nCREATE DATABASE %s; -- %s\\n' "$db" "$FAKE_CONTENT"
if [ "\${FAKE_DUMP:-ok}" = fail ] && [ "$db" = metadb ]; then echo 'pg_dump: error: connection lost' >&2; exit 1; fi
printf -- '--\\n-- PostgreSQL database dump complete\\n--\\n'`,
  // aws: a bucket is a directory below $FAKE_ROOT/s3.
  aws: `
echo "aws $* key=\${AWS_ACCESS_KEY_ID:-none}" >> "$FAKE_ROOT/aws.log"
root="$FAKE_ROOT/s3"
arg() { local name="$1"; shift; while [ $# -gt 0 ]; do if [ "$1" = "$name" ]; then echo "$2"; return; fi; shift; done; }
case "$1 $2" in
  "s3 cp")
    if [[ $3 == s3://* ]]; then
      f="$root/\${3#s3://}"; [ -f "$f" ] || { echo 'fatal error: An error occurred (404)' >&2; exit 1; }; cp "$f" "$4"
    else
      f="$root/\${4#s3://}"; mkdir -p "$(dirname "$f")"; cp "$3" "$f"
    fi ;;
  "s3 rm") rm "$root/\${3#s3://}" ;;
  "s3api head-object")
    f="$root/$(arg --bucket "$@")/$(arg --key "$@")"
    [ -f "$f" ] || { echo 'An error occurred (404) when calling the HeadObject operation: Not Found' >&2; exit 254; }
    size="$(wc -c < "$f" | tr -d ' ')"
    case "$(arg --query "$@")" in
      *LastModified*) printf '%s\\t%s\\n' "$size" "$(date -u -d "@$(( $(date -u +%s) + \${FAKE_SKEW:-0} ))" +%Y-%m-%dT%H:%M:%S+00:00)" ;;
      *) echo "$size" ;;
    esac ;;
  "s3api list-objects-v2")
    bucket="$(arg --bucket "$@")"; prefix="$(arg --prefix "$@")"
    keys="$(cd "$root/$bucket" 2>/dev/null && find . -type f | sed 's|^\\./||' | grep -F -- "$prefix" | grep -vxF -- "\${FAKE_HIDE:-}" | sort || true)"
    if [ -z "$keys" ]; then echo None; else echo "$keys"; fi ;;
  *) echo "unexpected: aws $*" >&2; exit 2 ;;
esac`,
};

const FAKE_SECRETS: Record<string, string> = {
  'mysql-secret/username': 'root', 'mysql-secret/password': 'r00t',
  'metadata-db-backup/username': 'kf_backup', 'metadata-db-backup/password': 'p4ss"w\\rd',
  'postgres-credentials/username': 'postgres', 'postgres-credentials/password': 'pgpass',
  'postgres-backup/username': 'kf_backup', 'postgres-backup/password': 'pgbackup',
  'store-keys/accesskey': 'AKIAFAKE', 'store-keys/secretkey': 'fake-secret',
};

class Sandbox {
  public readonly root = tmpdir('kfkit-backup-');
  public readonly bin = path.join(this.root, 'bin');
  public readonly bucket = path.join(this.root, 's3', 'kfkit-artifacts');
  public fake: Record<string, string> = { FAKE_DATABASES: 'cachedb metadb mlpipeline', FAKE_CONTENT: 'hello' };

  public constructor() {
    fs.mkdirSync(this.bin);
    fs.mkdirSync(this.bucket, { recursive: true });
    for (const [name, body] of Object.entries(STUBS)) {
      fs.writeFileSync(path.join(this.bin, name), `#!/usr/bin/env bash\nset -euo pipefail\n${body.trim()}\n`, { mode: 0o755 });
    }
  }

  /** Runs one container of a rendered pod: its script with its environment, values from Secrets faked. */
  public run(pod: PodSpec, name: string, scratch: string): { status: number | null; out: string } {
    const c = container(pod, name);
    const env: Record<string, string> = { PATH: `${this.bin}:${process.env.PATH ?? ''}`, FAKE_ROOT: this.root, ...this.fake };
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      env[e.name] = ref ? FAKE_SECRETS[`${ref.name}/${ref.key}`] : e.value ?? '';
    }
    Object.assign(env, { BACKUP_DIR: path.join(scratch, 'backup'), HOME: path.join(scratch, 'tmp'), AWS_CONFIG_FILE: path.join(scratch, 'tmp', 'aws-config') });
    fs.mkdirSync(env.BACKUP_DIR, { recursive: true });
    fs.mkdirSync(env.HOME, { recursive: true });
    expect(c.command.slice(0, 2)).toEqual(['/bin/bash', '-c']);
    const r = spawnSync('bash', ['-c', c.command[2]], { env, encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }

  /** Runs the backup pod (init container, then the main container only if it succeeded, as Kubernetes does). */
  public backup(pod: PodSpec): { dump: number | null; upload: number | null; out: string } {
    const scratch = fs.mkdtempSync(path.join(this.root, 'pod-'));
    const dump = this.run(pod, 'dump', scratch);
    if (dump.status !== 0) return { dump: dump.status, upload: null, out: dump.out };
    const upload = this.run(pod, 'upload', scratch);
    return { dump: 0, upload: upload.status, out: dump.out + upload.out };
  }

  public restore(pod: PodSpec): { download: number | null; load: number | null; out: string } {
    const scratch = fs.mkdtempSync(path.join(this.root, 'pod-'));
    const download = this.run(pod, 'download', scratch);
    if (download.status !== 0) return { download: download.status, load: null, out: download.out };
    const load = this.run(pod, 'load', scratch);
    return { download: 0, load: load.status, out: download.out + load.out };
  }

  /** Object keys in the bucket, sorted. */
  public keys(): string[] {
    return (fs.readdirSync(this.bucket, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(this.bucket, f)).isFile()).sort();
  }

  public put(key: string, content = 'old'): void {
    fs.mkdirSync(path.dirname(path.join(this.bucket, key)), { recursive: true });
    fs.writeFileSync(path.join(this.bucket, key), content);
  }

  public read(file: string): string {
    return fs.readFileSync(path.join(this.root, file), 'utf8');
  }
}

function daysAgo(days: number): string {
  return backupTimestamp(new Date(Date.now() - days * 86400 * 1000));
}

describe('backup and restore scripts (bash, stub clients, a directory as the bucket)', () => {
  scriptTest('MySQL round trip: the restore loads exactly what the backup uploaded, with the credentials from the Secrets', () => {
    const sb = new Sandbox();
    sb.fake.FAKE_CONTENT = 'round-trip-payload';
    const backupPod = cronPod(objects(build().chart));
    const result = sb.backup(backupPod);
    expect(result).toMatchObject({ dump: 0, upload: 0 });
    const keys = sb.keys();
    expect(keys).toHaveLength(1);
    const [, timestamp] = /^backups\/metadata-db\/(\d{8}T\d{6}Z)\.sql\.gz$/.exec(keys[0]) ?? [];
    expect(keys[0]).toBe(backupObjectKey('backups/metadata-db', timestamp));
    expect(sb.read('mysqldump-args')).toBe('--single-transaction --quick --routines --events --triggers --hex-blob --no-tablespaces '
      + '--set-gtid-purged=OFF --add-drop-database --databases cachedb metadb mlpipeline\n');
    // The password reaches the client through its option file, escaped for it; never on the command line.
    // The backup's own read-only user: never root.
    expect(sb.read('mysqldump-options')).toBe('[client]\nhost=mysql.kubeflow.svc.cluster.local\nport=3306\nuser=kf_backup\npassword="p4ss"w\\\\rd"\n');
    expect(sb.read('aws.log')).toContain('key=AKIAFAKE');
    expect(sb.read('aws.log')).not.toContain('p4ss');

    const { chart, database, store } = build();
    restoreJob(chart, 'Restore', { namespace: NS, database, store, from: timestamp });
    const restored = sb.restore(jobPod(objects(chart)));
    expect(restored).toMatchObject({ download: 0, load: 0 });
    expect(sb.read('restored.sql')).toContain('round-trip-payload');
    expect(sb.read('restored.sql').trimEnd().split('\n').pop()).toMatch(/^-- Dump completed/);
  });

  scriptTest('a failing dump fails the pod before the upload, and nothing reaches the bucket', () => {
    for (const mode of ['fail', 'truncated']) {
      const sb = new Sandbox();
      sb.fake.FAKE_DUMP = mode;
      const result = sb.backup(cronPod(objects(build().chart)));
      expect(result.dump).not.toBe(0);
      expect(result.upload).toBeNull();
      expect(sb.keys()).toEqual([]);
      // Even if the upload container ran on its own, it would refuse: no published dump.
      const upload = sb.run(cronPod(objects(build().chart)), 'upload', fs.mkdtempSync(path.join(sb.root, 'pod-')));
      expect(upload.status).toBe(1);
      expect(upload.out).toContain('the dump step did not finish; nothing uploaded');
      expect(sb.keys()).toEqual([]);
    }
  });

  scriptTest('retention deletes only backups older than retentionDays, never the newest, never other objects', () => {
    const sb = new Sandbox();
    const p = 'backups/metadata-db';
    const old = [`${p}/${daysAgo(40)}.sql.gz`, `${p}/${daysAgo(15)}.sql.gz`];
    const kept = [
      `${p}/${daysAgo(13)}.sql.gz`, `${p}/${daysAgo(1)}.sql.gz`, `${p}/notes.txt`, `${p}/${daysAgo(40)}.sql.gz.bak`,
      `${p}/manual/${daysAgo(40)}.sql.gz`, `backups/metadata-db-other/${daysAgo(40)}.sql.gz`, `elsewhere/${daysAgo(40)}.sql.gz`,
    ];
    for (const key of [...old, ...kept]) sb.put(key);
    const result = sb.backup(cronPod(objects(build().chart)));
    expect(result).toMatchObject({ dump: 0, upload: 0 });
    const after = sb.keys();
    for (const key of old) expect(after).not.toContain(key);
    for (const key of kept) expect(after).toContain(key);
    expect(after).toHaveLength(kept.length + 1);
    expect(result.out).toContain('2 deleted');
  });

  scriptTest('retention deletes nothing when the listing lags behind the new backup or the pod clock is off', () => {
    const p = 'backups/metadata-db';
    const oldKeys = [`${p}/${daysAgo(40)}.sql.gz`, `${p}/${daysAgo(30)}.sql.gz`];
    // The listing does not show the new backup yet.
    const lagging = new Sandbox();
    for (const key of oldKeys) lagging.put(key);
    const pod = cronPod(objects(build().chart));
    const scratch = fs.mkdtempSync(path.join(lagging.root, 'pod-'));
    expect(lagging.run(pod, 'dump', scratch).status).toBe(0);
    const timestamp = fs.readFileSync(path.join(scratch, 'backup', 'timestamp'), 'utf8').trim();
    lagging.fake.FAKE_HIDE = backupObjectKey(p, timestamp);
    const upload = lagging.run(pod, 'upload', scratch);
    expect(upload.status).toBe(0);
    expect(upload.out).toContain('retention skipped');
    expect(lagging.keys()).toEqual([...oldKeys, backupObjectKey(p, timestamp)].sort());
    // The store's clock says the pod is 30 days ahead: the pod's idea of "old" is not trusted.
    const skewed = new Sandbox();
    for (const key of oldKeys) skewed.put(key);
    skewed.fake.FAKE_SKEW = String(-30 * 86400);
    const result = skewed.backup(pod);
    expect(result).toMatchObject({ dump: 0, upload: 0 });
    expect(result.out).toContain('clock is');
    expect(skewed.keys()).toHaveLength(3);
  });

  scriptTest('no consumer database yet: nothing uploaded, nothing deleted, success', () => {
    const sb = new Sandbox();
    sb.fake.FAKE_DATABASES = '';
    sb.put(`backups/metadata-db/${daysAgo(40)}.sql.gz`);
    const result = sb.backup(cronPod(objects(build().chart)));
    expect(result).toMatchObject({ dump: 0, upload: 0 });
    expect(result.out).toContain('nothing to back up');
    expect(sb.keys()).toHaveLength(1);
  });

  scriptTest('the restore refuses while clients are connected, and fails clearly on a missing backup', () => {
    const sb = new Sandbox();
    sb.put(`backups/metadata-db/${TS}.sql.gz`, '');
    const { chart, database, store } = build();
    restoreJob(chart, 'Restore', { namespace: NS, database, store, from: TS });
    const pod = jobPod(objects(chart));
    // An empty object downloads but is not a dump: nothing is loaded.
    const empty = sb.restore(pod);
    expect(empty).toMatchObject({ download: 0, load: 1 });
    expect(empty.out).toContain('nothing restored');
    expect(fs.existsSync(path.join(sb.root, 'restored.sql'))).toBe(false);
    const missing = new Sandbox();
    const r = missing.restore(pod);
    expect(r.download).toBe(1);
    expect(r.out).toContain(`backup s3://kfkit-artifacts/backups/metadata-db/${TS}.sql.gz not found`);

    const busy = new Sandbox();
    busy.fake.FAKE_BUSY = '3';
    expect(busy.backup(cronPod(objects(build().chart)))).toMatchObject({ dump: 0, upload: 0 });
    const key = busy.keys()[0];
    const { chart: c2, database: d2, store: s2 } = build();
    restoreJob(c2, 'Restore', { namespace: NS, database: d2, store: s2, from: key });
    const refused = busy.restore(jobPod(objects(c2)));
    expect(refused.load).toBe(1);
    expect(refused.out).toContain('3 client connection(s) use the databases');
    expect(fs.existsSync(path.join(busy.root, 'restored.sql'))).toBe(false);
  });

  scriptTest('PostgreSQL: one pg_dump per existing database, a failing one fails the pod, the round trip loads the dump', () => {
    const sb = new Sandbox();
    const pod = cronPod(objects(build({ engine: 'postgresql' }).chart));
    expect(sb.backup(pod)).toMatchObject({ dump: 0, upload: 0 });
    // The dump as the read-only backup user.
    expect(sb.read('pg-credentials')).toBe('kf_backup:pgbackup\n');
    const key = sb.keys()[0];
    const { chart, database, store } = build({ engine: 'postgresql' });
    restoreJob(chart, 'Restore', { namespace: NS, database, store, from: key });
    expect(sb.restore(jobPod(objects(chart)))).toMatchObject({ download: 0, load: 0 });
    const restored = sb.read('restored.sql');
    for (const db of ['cachedb', 'metadb', 'mlpipeline']) expect(restored).toContain(`CREATE DATABASE ${db};`);
    expect(restored.match(/^-- PostgreSQL database dump complete$/gm)).toHaveLength(3);

    const failing = new Sandbox();
    failing.fake.FAKE_DUMP = 'fail';
    const result = failing.backup(pod);
    expect(result.dump).not.toBe(0);
    expect(failing.keys()).toEqual([]);
  });
});
