import { k8s } from 'cdk8s-plus-28';
import { IArtifactStore } from '../../core/artifact-store';

/**
 * Where database backups live and how the S3 client reaches them: pure functions shared by the backup CronJob and
 * the restore Job, so that what a restore reads is by construction what a backup writes.
 */

/** Default cron schedule of backups: 03:00 UTC daily. */
export const DEFAULT_BACKUP_SCHEDULE = '0 3 * * *';
/** Default number of days backups are kept. */
export const DEFAULT_RETENTION_DAYS = 14;
/** Default key prefix of backups in the artifact bucket. */
export const DEFAULT_BACKUP_PREFIX = 'backups/metadata-db';
/** Suffix of every backup object: a gzip-compressed SQL dump. */
export const BACKUP_OBJECT_SUFFIX = '.sql.gz';
/** Format of backup timestamps (UTC, ISO 8601 basic): `20250131T030000Z`. They sort lexicographically in time order. */
export const BACKUP_TIMESTAMP_FORMAT = 'YYYYMMDDTHHMMSSZ';

const TIMESTAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** Key prefixes: what the configuration schema allows (`backup.prefix`), without empty path segments. */
const PREFIX = /^[a-z0-9][-a-z0-9/]*[a-z0-9]$/;

/** A malformed backup reference, timestamp or prefix. The message is one line and says what is expected. */
export class BackupReferenceError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'BackupReferenceError';
  }
}

/** Whether `timestamp` is a backup timestamp (`YYYYMMDDTHHMMSSZ`) naming a real UTC instant. */
export function isBackupTimestamp(timestamp: string): boolean {
  const m = TIMESTAMP.exec(timestamp);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
}

/** The backup timestamp of `date` (what the backup Job writes: `date -u +%Y%m%dT%H%M%SZ`). */
export function backupTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** Throws unless `prefix` is a valid backup key prefix (lowercase letters, digits, `-` and `/`, no empty segment). */
export function checkBackupPrefix(prefix: string): void {
  if (!PREFIX.test(prefix) || prefix.includes('//')) {
    throw new BackupReferenceError(
      `backup prefix "${prefix}" must be an object key prefix: lowercase letters, digits, '-' and '/', no leading, trailing or double '/'`,
    );
  }
}

/**
 * The object key of the backup taken at `timestamp`: `<prefix>/<timestamp>.sql.gz`. The backup Job's script builds
 * its key the same way; the restore Job reads exactly this key.
 */
export function backupObjectKey(prefix: string, timestamp: string): string {
  checkBackupPrefix(prefix);
  if (!isBackupTimestamp(timestamp)) {
    throw new BackupReferenceError(`backup timestamp "${timestamp}" must be a UTC time as ${BACKUP_TIMESTAMP_FORMAT}, e.g. 20250131T030000Z`);
  }
  return `${prefix}/${timestamp}${BACKUP_OBJECT_SUFFIX}`;
}

/** A backup chosen for restore. */
export interface BackupReference {
  /** The backup's timestamp, e.g. `20250131T030000Z`. */
  readonly timestamp: string;
  /** Its object key, `<prefix>/<timestamp>.sql.gz`. */
  readonly key: string;
}

/**
 * Resolves what an operator names as the backup to restore: a bare timestamp (`20250131T030000Z`), an object name
 * (`20250131T030000Z.sql.gz`, as `aws s3 ls` lists it) or the full key (`<prefix>/20250131T030000Z.sql.gz`).
 * Throws a {@link BackupReferenceError} with a one-line message for anything else, including a key under another
 * prefix.
 */
export function parseBackupReference(prefix: string, from: string): BackupReference {
  checkBackupPrefix(prefix);
  const example = `e.g. 20250131T030000Z or ${prefix}/20250131T030000Z${BACKUP_OBJECT_SUFFIX}`;
  let name = from;
  if (from.includes('/')) {
    if (!from.startsWith(`${prefix}/`)) {
      throw new BackupReferenceError(`backup "${from}" is not under the backup prefix "${prefix}/"; name a backup as a timestamp or a key, ${example}`);
    }
    name = from.slice(prefix.length + 1);
  }
  const timestamp = name.endsWith(BACKUP_OBJECT_SUFFIX) ? name.slice(0, -BACKUP_OBJECT_SUFFIX.length) : name;
  if (!TIMESTAMP.test(timestamp)) {
    throw new BackupReferenceError(`backup "${from}" is not a backup timestamp (${BACKUP_TIMESTAMP_FORMAT}, UTC) or key; ${example}`);
  }
  if (!isBackupTimestamp(timestamp)) throw new BackupReferenceError(`backup "${from}" names no real UTC time (${BACKUP_TIMESTAMP_FORMAT}); ${example}`);
  return { timestamp, key: backupObjectKey(prefix, timestamp) };
}

/** A key of a Secret, as an environment variable's `secretKeyRef` names it. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

/**
 * Everything the S3 client of a backup or restore pod uses: where the objects are, how to address the endpoint and
 * where its credentials come from. Backup and restore derive their environment and ServiceAccount from it.
 */
export interface BackupLocation {
  readonly bucket: string;
  readonly prefix: string;
  /** Keys backups are written as and restored from: `<prefix>/<timestamp>.sql.gz`. */
  readonly keyPattern: string;
  /** `http(s)://<endpoint>` (`AWS_ENDPOINT_URL`). */
  readonly endpointUrl: string;
  readonly region: string;
  /** `s3.addressing_style` of the AWS CLI. */
  readonly addressingStyle: 'path' | 'virtual';
  /**
   * Checksums only where the S3 API requires them (`AWS_REQUEST_CHECKSUM_CALCULATION` and
   * `AWS_RESPONSE_CHECKSUM_VALIDATION` = `when_required`): for stores other than Amazon S3, which may reject the
   * CRC headers the AWS CLI sends by default since 2.23.
   */
  readonly relaxedChecksums: boolean;
  /** Static keys (from a Secret), or `undefined` when the ServiceAccount carries the identity (IRSA). */
  readonly keys?: { readonly accessKeyId: SecretKeyRef; readonly secretAccessKey: SecretKeyRef };
  /** Annotations of the pod's ServiceAccount (IRSA role). */
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
}

/**
 * Why backups cannot go to `store`, or `undefined` when they can. The backup's S3 client (AWS CLI) signs requests
 * with AWS keys or an IRSA role; GKE Workload Identity gives Google OAuth tokens, which the S3 interoperability API
 * of Cloud Storage does not accept (it needs HMAC keys).
 */
export function storeUnsupportedReason(store: IArtifactStore): string | undefined {
  if (store.credentials.type === 'workload-identity') {
    return 'the backup\'s S3 client (AWS CLI) cannot authenticate with GKE Workload Identity: Cloud Storage\'s S3 API needs HMAC keys; ' +
      'give the store credentials of type secret (an HMAC key pair) or disable backup';
  }
  return undefined;
}

/** The {@link BackupLocation} of backups under `prefix` in `store`. Throws when the store cannot be used. */
export function backupLocation(store: IArtifactStore, prefix: string): BackupLocation {
  checkBackupPrefix(prefix);
  const unsupported = storeUnsupportedReason(store);
  if (unsupported !== undefined) throw new Error(`database backup: ${unsupported}`);
  const c = store.credentials;
  return {
    bucket: store.bucket,
    prefix,
    keyPattern: `${prefix}/<${BACKUP_TIMESTAMP_FORMAT}>${BACKUP_OBJECT_SUFFIX}`,
    endpointUrl: `${store.secure ? 'https' : 'http'}://${store.endpoint}`,
    region: store.region,
    addressingStyle: store.pathStyle ? 'path' : 'virtual',
    relaxedChecksums: store.provider !== 's3',
    keys: c.type === 'secret'
      ? { accessKeyId: { name: c.secretName, key: c.accessKeyKey }, secretAccessKey: { name: c.secretName, key: c.secretKeyKey } }
      : undefined,
    serviceAccountAnnotations: { ...store.serviceAccountAnnotations() },
  };
}

/** Path of the AWS CLI configuration file the scripts write (`s3.addressing_style`), on the pod's `tmp` volume. */
export const AWS_CONFIG_FILE = '/tmp/aws-config';

/**
 * The S3 client's environment for `location`: bucket, endpoint, region, addressing style, and — only for Secret
 * credentials — the keys as `secretKeyRef`s. With IRSA there is no key variable at all (the pod identity webhook
 * injects the role's web identity token).
 */
export function s3Env(location: BackupLocation): k8s.EnvVar[] {
  const env: k8s.EnvVar[] = [
    { name: 'S3_BUCKET', value: location.bucket },
    { name: 'S3_ADDRESSING_STYLE', value: location.addressingStyle },
    { name: 'AWS_ENDPOINT_URL', value: location.endpointUrl },
    // AWS CLI v2 reads AWS_REGION; botocore-based tools AWS_DEFAULT_REGION.
    { name: 'AWS_REGION', value: location.region },
    { name: 'AWS_DEFAULT_REGION', value: location.region },
    { name: 'AWS_CONFIG_FILE', value: AWS_CONFIG_FILE },
    // Never fall back to the node's instance profile: missing credentials fail fast and visibly.
    { name: 'AWS_EC2_METADATA_DISABLED', value: 'true' },
  ];
  if (location.relaxedChecksums) {
    env.push({ name: 'AWS_REQUEST_CHECKSUM_CALCULATION', value: 'when_required' }, { name: 'AWS_RESPONSE_CHECKSUM_VALIDATION', value: 'when_required' });
  }
  if (location.keys) {
    env.push(
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { ...location.keys.accessKeyId } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { ...location.keys.secretAccessKey } } },
    );
  }
  return env;
}
