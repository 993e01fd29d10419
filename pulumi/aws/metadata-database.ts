import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { databaseConsumerIssues, DatabaseConsumer, installedDatabaseConsumers } from '../../lib/core/database-consumers';
import { DatabaseEngine, DatabaseTlsMode } from '../../lib/core/database';
import { checkComponentName, checkInteger, checkList, checkPattern, known, Problems, throwIfInvalid, arnPattern } from './validation';

/** Deployment tier: `prod` turns on what a production database needs and costs more (Multi-AZ, deletion protection). */
export type CloudEnv = 'dev' | 'prod';

/** What each engine runs on RDS: version, parameter group family, port, and the parameter that forces TLS. */
export const RDS_ENGINES: Readonly<Record<DatabaseEngine, {
  readonly engine: string;
  readonly version: string;
  readonly family: string;
  readonly port: number;
  readonly tlsParameter: string;
}>> = {
  mysql: { engine: 'mysql', version: '8.4', family: 'mysql8.4', port: 3306, tlsParameter: 'require_secure_transport' },
  postgresql: { engine: 'postgres', version: '17', family: 'postgres17', port: 5432, tlsParameter: 'rds.force_ssl' },
};

/** Settings that differ between dev and prod. */
export const DATABASE_ENV_DEFAULTS: Readonly<Record<CloudEnv, {
  readonly backupRetentionDays: number;
  readonly multiAz: boolean;
  readonly deletionProtection: boolean;
}>> = {
  dev: { backupRetentionDays: 7, multiAz: false, deletionProtection: false },
  prod: { backupRetentionDays: 30, multiAz: true, deletionProtection: true },
};

/** Arguments of {@link MetadataDatabase}. */
export interface MetadataDatabaseArgs {
  /** `dev` or `prod`: backup retention (7 / 30 days), Multi-AZ and deletion protection (prod only), final snapshot. */
  readonly env: CloudEnv;
  /**
   * Engine: MySQL 8.4 (what Kubeflow Pipelines, ML Metadata and Katib use upstream) or PostgreSQL 17.
   * @default 'mysql'
   */
  readonly engine?: DatabaseEngine;
  /** The VPC of the cluster. */
  readonly vpcId: pulumi.Input<string>;
  /** Private subnets (in at least two Availability Zones, as RDS requires) for the DB subnet group. */
  readonly subnetIds: pulumi.Input<string>[];
  /** Security groups whose members may connect on the engine port: the cluster's node security group. */
  readonly allowedSecurityGroupIds: pulumi.Input<string>[];
  /** @default 'db.t4g.medium' */
  readonly instanceClass?: pulumi.Input<string>;
  /** Initial storage, GiB (gp3, encrypted). @default 20 */
  readonly allocatedStorageGiB?: number;
  /** Upper bound of storage autoscaling, GiB. @default 100 */
  readonly maxAllocatedStorageGiB?: number;
  /** Days of automated backups (point-in-time recovery). @default - 7 in dev, 30 in prod */
  readonly backupRetentionDays?: number;
  /** @default - true in prod, false in dev */
  readonly multiAz?: boolean;
  /** @default - true in prod, false in dev */
  readonly deletionProtection?: boolean;
  /**
   * Make the server refuse unencrypted connections (`require_secure_transport=1` for MySQL, `rds.force_ssl=1` for
   * PostgreSQL). Consumers must then connect with TLS: pair it with `database.tls.mode: required` in the kfkit
   * overlay ({@link cloudOutputsToOverlay} does). `false` writes the opposite value explicitly (RDS for PostgreSQL
   * 15+ forces TLS by default).
   * @default true
   */
  readonly requireTls?: boolean;
  /** KMS key for storage encryption. @default - the AWS-managed `aws/rds` key */
  readonly kmsKeyArn?: pulumi.Input<string>;
  /** Master user name. @default 'kfkit' */
  readonly username?: string;
  /** Tags of every AWS resource of the component. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * The TLS mode kfkit's database consumers use against an RDS instance with `requireTls`: `required` (encrypted,
 * certificate not verified) or `disabled`. Not `verify-full`: the Kubeflow Pipelines API server and cache server
 * verify only against system roots and cannot load a CA file, and RDS certificates chain to the RDS CAs, which are
 * not system roots; ML Metadata verifies only with a CA file (see lib/core/database-consumers.ts). `required` still
 * encrypts every connection, and the security group admits only the cluster's nodes.
 */
export function rdsTlsMode(requireTls: boolean): DatabaseTlsMode {
  return requireTls ? 'required' : 'disabled';
}

/**
 * Why the platform's database consumers cannot use the instance (engine or TLS), as messages; empty when they can.
 * PostgreSQL with TLS fails here: Kubeflow Pipelines 2.17.0's API server and ML Metadata connect to PostgreSQL only
 * without TLS.
 * @param consumers the consumers the platform installs. @default - Kubeflow Pipelines' for the engine
 */
export function databaseCompatibilityIssues(
  engine: DatabaseEngine, requireTls: boolean, consumers: readonly DatabaseConsumer[] = installedDatabaseConsumers({ engine }),
): string[] {
  return databaseConsumerIssues({ type: 'external', engine, tls: { mode: rdsTlsMode(requireTls) } }, consumers).map((i) => i.message);
}

/** The settings of a {@link MetadataDatabase} that do not come from the cluster. */
export type DatabaseSettings = Omit<MetadataDatabaseArgs, 'env' | 'vpcId' | 'allowedSecurityGroupIds'>;

/** Problems of the settings of a database for `env`, with paths relative to them. */
export function validateDatabaseSettings(env: CloudEnv, args: DatabaseSettings, problems: Problems): void {
  const engine: unknown = args.engine;
  if (engine !== undefined && engine !== 'mysql' && engine !== 'postgresql') problems.add('engine', `must be mysql or postgresql, got ${JSON.stringify(engine)}`);
  checkList(problems, 'subnetIds', args.subnetIds, 2, 'subnets (RDS needs subnets in at least two Availability Zones)');
  const instanceClass = known(args.instanceClass);
  if (instanceClass !== undefined && (typeof instanceClass !== 'string' || !/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceClass))) {
    problems.add('instanceClass', `must be an RDS instance class such as db.t4g.medium, got ${JSON.stringify(instanceClass)}`);
  }
  checkInteger(problems, 'allocatedStorageGiB', args.allocatedStorageGiB, 20, 65536);
  checkInteger(problems, 'maxAllocatedStorageGiB', args.maxAllocatedStorageGiB, 20, 65536);
  if ((args.maxAllocatedStorageGiB ?? 100) < (args.allocatedStorageGiB ?? 20)) {
    problems.add('maxAllocatedStorageGiB', `must be at least allocatedStorageGiB (${args.allocatedStorageGiB ?? 20})`);
  }
  checkInteger(problems, 'backupRetentionDays', args.backupRetentionDays, 1, 35);
  if (env === 'prod') {
    if (args.multiAz === false) problems.add('multiAz', 'must not be false in prod: a single-AZ database is down for every AZ failure and maintenance');
    if (args.deletionProtection === false) problems.add('deletionProtection', 'must not be false in prod');
    if (args.backupRetentionDays !== undefined && args.backupRetentionDays < 7) problems.add('backupRetentionDays', 'must be at least 7 in prod');
  }
  checkPattern(problems, 'kmsKeyArn', args.kmsKeyArn, arnPattern('kms'), 'a KMS key ARN');
  if (args.username !== undefined && !/^[a-z][a-z0-9_]{0,15}$/.test(args.username)) {
    problems.add('username', `must be 1-16 lowercase letters, digits and '_', starting with a letter, got ${JSON.stringify(args.username)}`);
  }
}

/** Problems of `args`, with paths relative to the args. */
export function validateMetadataDatabaseArgs(args: MetadataDatabaseArgs, problems: Problems): void {
  const env: unknown = args.env;
  if (env !== 'dev' && env !== 'prod') problems.add('env', `must be dev or prod, got ${JSON.stringify(env)}`);
  checkList(problems, 'allowedSecurityGroupIds', args.allowedSecurityGroupIds, 1, 'security groups');
  validateDatabaseSettings(args.env, args, problems);
}

/**
 * The platform's metadata database on Amazon RDS (MySQL 8.4 by default, or PostgreSQL 17): in private subnets (its
 * own DB subnet group), never publicly accessible, storage encrypted (gp3, autoscaling), automated backups (7 days in
 * dev, 30 in prod), Multi-AZ and deletion protection in prod, a final snapshot on delete in prod, and TLS required by
 * a parameter group. A security group admits the engine port only from the given security groups (the cluster's
 * nodes) and allows no egress.
 *
 * The master password is managed by RDS in AWS Secrets Manager (`manageMasterUserPassword`): it never passes
 * through Pulumi, its state or its outputs. {@link MetadataDatabase.secretArn} names the secret (JSON with
 * `username` and `password`, the keys kfkit's `database.credentialsSecret` defaults to); sync it into the platform
 * namespace with External Secrets. Kubeflow Pipelines creates its databases (`mlpipeline`, `metadb`, `cachedb`)
 * itself on first start, so none is created here.
 *
 * Children: `<name>` (the instance), `<name>-subnets`, `<name>-params`, `<name>-sg`, `<name>-ingress-<i>`.
 */
export class MetadataDatabase extends pulumi.ComponentResource {
  /** Host name clients connect to. */
  public readonly address: pulumi.Output<string>;
  /** Port of the engine. */
  public readonly port: pulumi.Output<number>;
  /** The engine, in kfkit's terms. */
  public readonly engine: DatabaseEngine;
  /** TLS mode consumers must use ({@link rdsTlsMode}). */
  public readonly tlsMode: DatabaseTlsMode;
  /** ARN of the Secrets Manager secret RDS keeps the master credentials in (`username`, `password`). */
  public readonly secretArn: pulumi.Output<string>;
  /** ID of the database's security group. */
  public readonly securityGroupId: pulumi.Output<string>;
  /** The instance resource. */
  public readonly instance: aws.rds.Instance;

  public constructor(name: string, args: MetadataDatabaseArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('kfkit:aws:MetadataDatabase', name, {}, opts);
    const problems = new Problems();
    checkComponentName(problems, name);
    validateMetadataDatabaseArgs(args, problems);
    throwIfInvalid(`kfkit:aws:MetadataDatabase ${name}`, problems.all);

    const engine = args.engine ?? 'mysql';
    const spec = RDS_ENGINES[engine];
    const envDefaults = DATABASE_ENV_DEFAULTS[args.env];
    const requireTls = args.requireTls ?? true;
    const tags = args.tags === undefined ? undefined : { ...args.tags };
    const parent = { parent: this };

    const subnets = new aws.rds.SubnetGroup(`${name}-subnets`, { description: `kfkit ${name}: private subnets`, subnetIds: args.subnetIds, tags }, parent);
    const params = new aws.rds.ParameterGroup(`${name}-params`, {
      family: spec.family,
      description: `kfkit ${name}: ${requireTls ? 'TLS required' : 'TLS optional'}`,
      parameters: [{ name: spec.tlsParameter, value: requireTls ? '1' : '0' }],
      tags,
    }, parent);
    const sg = new aws.ec2.SecurityGroup(`${name}-sg`, {
      vpcId: args.vpcId,
      description: `kfkit ${name}: ${spec.engine} from the cluster nodes only`,
      // No egress rule: the database initiates no connection (the provider removes AWS's default allow-all).
      tags,
    }, parent);
    args.allowedSecurityGroupIds.forEach((source, i) => {
      new aws.vpc.SecurityGroupIngressRule(`${name}-ingress-${i}`, {
        securityGroupId: sg.id,
        referencedSecurityGroupId: source,
        ipProtocol: 'tcp',
        fromPort: spec.port,
        toPort: spec.port,
        description: `${spec.engine} from the cluster nodes`,
        tags,
      }, parent);
    });

    const prod = args.env === 'prod';
    this.instance = new aws.rds.Instance(name, {
      engine: spec.engine,
      engineVersion: spec.version,
      instanceClass: args.instanceClass ?? 'db.t4g.medium',
      allocatedStorage: args.allocatedStorageGiB ?? 20,
      maxAllocatedStorage: args.maxAllocatedStorageGiB ?? 100,
      storageType: 'gp3',
      storageEncrypted: true,
      kmsKeyId: args.kmsKeyArn,
      username: args.username ?? 'kfkit',
      manageMasterUserPassword: true,
      port: spec.port,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [sg.id],
      publiclyAccessible: false,
      parameterGroupName: params.name,
      caCertIdentifier: 'rds-ca-rsa2048-g1',
      multiAz: args.multiAz ?? envDefaults.multiAz,
      deletionProtection: args.deletionProtection ?? envDefaults.deletionProtection,
      backupRetentionPeriod: args.backupRetentionDays ?? envDefaults.backupRetentionDays,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      skipFinalSnapshot: !prod,
      finalSnapshotIdentifier: prod ? `${name}-final` : undefined,
      tags,
    }, parent);

    this.engine = engine;
    this.tlsMode = rdsTlsMode(requireTls);
    this.address = this.instance.address;
    this.port = this.instance.port;
    this.securityGroupId = sg.id;
    this.secretArn = this.instance.masterUserSecrets.apply((secrets) => {
      const arn = secrets.at(0)?.secretArn;
      if (arn === undefined) throw new Error(`kfkit:aws:MetadataDatabase ${name}: RDS reported no managed master user secret`);
      return arn;
    });
    this.registerOutputs({ address: this.address, port: this.port, secretArn: this.secretArn, securityGroupId: this.securityGroupId });
  }
}
