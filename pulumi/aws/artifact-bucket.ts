import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { prefixProblem, tlsOnlyBucketPolicy } from './policy';
import { arnPattern, checkComponentName, checkInteger, checkPattern, known, Problems, throwIfInvalid } from './validation';

/** Expiration of the database backups kfkit's backup CronJob writes under a prefix of the bucket. */
export interface BackupExpiration {
  /** Key prefix of the backups (kfkit's `backup.prefix`, default `backups/metadata-db`), without trailing '/'. */
  readonly prefix: string;
  /**
   * Days after which a backup object expires. A safety net under kfkit's own retention (`backup.retentionDays`,
   * which never deletes the newest backup): make it longer than that, or S3 may delete the only backup left.
   */
  readonly days: number;
}

/** Arguments of {@link ArtifactBucket}. */
export interface ArtifactBucketArgs {
  /**
   * The bucket's name (globally unique).
   * @default - the component name plus a random suffix (Pulumi auto-naming)
   */
  readonly bucketName?: pulumi.Input<string>;
  /**
   * A customer-managed KMS key for server-side encryption (SSE-KMS, with an S3 Bucket Key to keep KMS requests low).
   * Roles that read or write the bucket then also need `kms:Decrypt` and `kms:GenerateDataKey` on it
   * ({@link IrsaRole} adds them when given the key).
   * @default - SSE-S3 (AES256, keys managed by S3)
   */
  readonly kmsKeyArn?: pulumi.Input<string>;
  /**
   * Days a noncurrent object version (overwritten or deleted) is kept before it expires. Versioning is always on:
   * this bounds what it costs.
   * @default 30
   */
  readonly noncurrentVersionExpirationDays?: number;
  /**
   * Days after which incomplete multipart uploads are aborted (their parts are billed until then).
   * @default 7
   */
  readonly abortIncompleteMultipartUploadDays?: number;
  /**
   * Expiration of the database backups under a prefix.
   * @default - none (kfkit's backup CronJob applies its own retention)
   */
  readonly backupExpiration?: BackupExpiration;
  /**
   * Delete the bucket with its objects on `pulumi destroy`.
   * @default false — a bucket holding artifacts is not emptied by a destroy
   */
  readonly forceDestroy?: boolean;
  /** Tags of every AWS resource of the component. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Problems of `args`, with paths relative to the args (prefixed by `problems`' prefix). */
export function validateArtifactBucketArgs(args: ArtifactBucketArgs, problems: Problems): void {
  const name = known(args.bucketName);
  if (name !== undefined && (typeof name !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes('..'))) {
    problems.add('bucketName', `must be an S3 bucket name (3-63 lowercase letters, digits, '.' and '-'), got ${JSON.stringify(name)}`);
  }
  checkPattern(problems, 'kmsKeyArn', args.kmsKeyArn, arnPattern('kms'), 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)');
  checkInteger(problems, 'noncurrentVersionExpirationDays', args.noncurrentVersionExpirationDays, 1, 3650);
  checkInteger(problems, 'abortIncompleteMultipartUploadDays', args.abortIncompleteMultipartUploadDays, 1, 365);
  if (args.backupExpiration !== undefined) {
    const problem = prefixProblem(args.backupExpiration.prefix);
    if (problem !== undefined) problems.add('backupExpiration.prefix', problem);
    checkInteger(problems, 'backupExpiration.days', args.backupExpiration.days, 1, 3650);
  }
}

/**
 * The S3 bucket of the platform's artifacts (pipeline outputs, database backups), secure by default: server-side
 * encryption (SSE-S3, or SSE-KMS with a given key), versioning on, every public access blocked, ACLs disabled
 * (`BucketOwnerEnforced`), lifecycle rules that bound what versioning and failed uploads cost, and a bucket policy
 * that refuses any request made without TLS.
 *
 * Children (named after the component): `<name>` (the bucket), `<name>-encryption`, `<name>-versioning`,
 * `<name>-public-access`, `<name>-ownership`, `<name>-lifecycle`, `<name>-tls-only`.
 */
export class ArtifactBucket extends pulumi.ComponentResource {
  /** The bucket's name. */
  public readonly bucketName: pulumi.Output<string>;
  /** The bucket's ARN. */
  public readonly arn: pulumi.Output<string>;
  /** The bucket's region. */
  public readonly region: pulumi.Output<string>;
  /** The KMS key objects are encrypted with, when SSE-KMS. */
  public readonly kmsKeyArn: pulumi.Output<string | undefined>;
  /** The bucket resource. */
  public readonly bucket: aws.s3.Bucket;

  public constructor(name: string, args: ArtifactBucketArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    super('kfkit:aws:ArtifactBucket', name, {}, opts);
    const problems = new Problems();
    checkComponentName(problems, name);
    validateArtifactBucketArgs(args, problems);
    throwIfInvalid(`kfkit:aws:ArtifactBucket ${name}`, problems.all);

    const parent = { parent: this };
    const tags = args.tags === undefined ? undefined : { ...args.tags };
    this.bucket = new aws.s3.Bucket(name, { bucket: args.bucketName, forceDestroy: args.forceDestroy ?? false, tags }, parent);
    const bucket = this.bucket.id;

    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
      bucket,
      rules: [args.kmsKeyArn === undefined
        ? { applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }
        : { applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: args.kmsKeyArn }, bucketKeyEnabled: true }],
    }, parent);
    const versioning = new aws.s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: 'Enabled' } }, parent);
    const publicAccess = new aws.s3.BucketPublicAccessBlock(`${name}-public-access`, {
      bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    }, parent);
    const ownership = new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket, rule: { objectOwnership: 'BucketOwnerEnforced' } }, parent);

    const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
      {
        id: 'noncurrent-versions',
        status: 'Enabled',
        filter: {},
        noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays ?? 30 },
        // Delete markers left alone once their last noncurrent version expired.
        expiration: { expiredObjectDeleteMarker: true },
      },
      {
        id: 'abort-incomplete-multipart-uploads',
        status: 'Enabled',
        filter: {},
        abortIncompleteMultipartUpload: { daysAfterInitiation: args.abortIncompleteMultipartUploadDays ?? 7 },
      },
    ];
    if (args.backupExpiration !== undefined) {
      rules.push({
        id: 'backups-expiration',
        status: 'Enabled',
        filter: { prefix: `${args.backupExpiration.prefix}/` },
        expiration: { days: args.backupExpiration.days },
      });
    }
    // Lifecycle rules on a bucket whose versioning is still being enabled can be rejected: order them after it.
    new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket, rules }, { parent: this, dependsOn: [versioning] });

    // The policy after the public access block: with BlockPublicPolicy on, S3 checks every later policy put.
    new aws.s3.BucketPolicy(`${name}-tls-only`, {
      bucket,
      policy: this.bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))),
    }, { parent: this, dependsOn: [publicAccess, ownership, encryption] });

    this.bucketName = this.bucket.bucket;
    this.arn = this.bucket.arn;
    this.region = this.bucket.region;
    this.kmsKeyArn = pulumi.output(args.kmsKeyArn);
    this.registerOutputs({ bucketName: this.bucketName, arn: this.arn, region: this.region, kmsKeyArn: this.kmsKeyArn });
  }
}
