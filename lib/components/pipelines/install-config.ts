import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ArtifactCredentials, IArtifactStore } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { DatabaseEngine } from '../../core/database';
import { standardLabels } from '../../core/labels';
import { pipelinesIdentity, PipelinesPartProps, PIPELINES_VERSION } from './shared';

/** Name of the ConfigMap every Kubeflow Pipelines backend part reads its install settings from (upstream's). */
export const PIPELINE_INSTALL_CONFIG = 'pipeline-install-config';
/** Name of the ConfigMap the v2 driver and launcher read the default pipeline root (and store access) from. */
export const KFP_LAUNCHER_CONFIG = 'kfp-launcher';
/** Name of the ConfigMap that tells clients where ML Metadata's gRPC server is. */
export const METADATA_GRPC_CONFIG = 'metadata-grpc-configmap';
/** ML Metadata's gRPC Service and port, as upstream names them (the metadata part creates the Service). */
export const METADATA_GRPC_SERVICE = { name: 'metadata-grpc-service', port: 8080 } as const;


/** The keys of `pipeline-install-config` that do not depend on the database engine (upstream's names). */
export const INSTALL_CONFIG_KEYS = {
  warning: 'warning',
  appName: 'appName',
  appVersion: 'appVersion',
  dbType: 'dbType',
  pipelineDb: 'pipelineDb',
  mlmdDb: 'mlmdDb',
  cacheDb: 'cacheDb',
  bucketName: 'bucketName',
  defaultPipelineRoot: 'defaultPipelineRoot',
  autoUpdatePipelineDefaultVersion: 'autoUpdatePipelineDefaultVersion',
  cronScheduleTimezone: 'cronScheduleTimezone',
  cacheImage: 'cacheImage',
  cacheNodeRestrictions: 'cacheNodeRestrictions',
  maximumCacheStaleness: 'MAXIMUM_CACHE_STALENESS',
  defaultCacheStaleness: 'DEFAULT_CACHE_STALENESS',
  conMaxLifeTime: 'ConMaxLifeTime',
  logLevel: 'LOG_LEVEL',
  artifactsProxyEnabled: 'ARTIFACTS_PROXY_ENABLED',
  artifactRetentionDays: 'ARTIFACT_RETENTION_DAYS',
  defaultSecurityContextRunAsUser: 'defaultSecurityContextRunAsUser',
  defaultSecurityContextRunAsGroup: 'defaultSecurityContextRunAsGroup',
  defaultSecurityContextRunAsNonRoot: 'defaultSecurityContextRunAsNonRoot',
  defaultSecurityContextHostUsers: 'defaultSecurityContextHostUsers',
  blockV1Pipelines: 'BLOCK_V1_PIPELINES',
  v1AllowedNamespaces: 'V1_ALLOWED_NAMESPACES',
  userIdHeader: 'USERID_HEADER',
  userIdPrefix: 'USERID_PREFIX',
} as const;

/**
 * The keys holding the database host and port: `mysqlHost`/`mysqlPort` in upstream's MySQL install,
 * `postgresHost`/`postgresPort` in its PostgreSQL one (manifests/kustomize/base/installs/generic and generic/postgres).
 */
export const DATABASE_ADDRESS_KEYS: Readonly<Record<DatabaseEngine, { readonly host: string; readonly port: string }>> = {
  mysql: { host: 'mysqlHost', port: 'mysqlPort' },
  postgresql: { host: 'postgresHost', port: 'postgresPort' },
};

/**
 * `dbType`: the database driver name. The 2.17.0 API server picks its driver from config key `DBDriverName`, which
 * accepts `mysql` or `pgx` (backend/src/apiserver/client_manager/client_manager.go `InitDBClient`); upstream's
 * PostgreSQL install writes `postgres` here, which no 2.17.0 component accepts.
 */
export const DB_DRIVER: Readonly<Record<DatabaseEngine, string>> = { mysql: 'mysql', postgresql: 'pgx' };

/** The settings Kubeflow Pipelines' own default security context applies to users' pipeline step containers. */
export interface WorkloadSecurityDefaults {
  /** `runAsUser` of every user container. @default - the SDK's or image's choice */
  readonly runAsUser?: number;
  /** `runAsGroup` of every user container. @default - the SDK's or image's choice */
  readonly runAsGroup?: number;
  /** `runAsNonRoot` of every user container. @default - the SDK's or image's choice */
  readonly runAsNonRoot?: boolean;
  /** Pod `hostUsers` (false: user namespaces, UID 0 in the pod is unprivileged on the host). @default - cluster default */
  readonly hostUsers?: boolean;
}

/** Props of {@link PipelineInstallConfig}. */
export interface PipelineInstallConfigProps extends PipelinesPartProps {
  /**
   * Where pipeline runs store artifacts unless a pipeline says otherwise (`minio://`, `s3://` or `gs://` URL).
   * @default - in the artifact store's bucket under `v2/artifacts`: `minio://<bucket>/v2/artifacts` for the
   * in-cluster SeaweedFS (the scheme upstream uses for it), `s3://<bucket>/v2/artifacts` for S3-API stores,
   * `gs://<bucket>/v2/artifacts` for Google Cloud Storage with Workload Identity
   */
  readonly defaultPipelineRoot?: string;
  /**
   * Time zone of recurring-run cron schedules: `UTC`, `Local` or an IANA name such as `Europe/Berlin`.
   * @default 'UTC'
   */
  readonly cronScheduleTimezone?: string;
  /**
   * Cache staleness applied when a pipeline sets none, as an ISO 8601 duration (e.g. `P7D`).
   * @default - none: cached results never go stale
   */
  readonly defaultCacheStaleness?: string;
  /**
   * Upper bound on any pipeline's cache staleness, as an ISO 8601 duration (e.g. `P30D`).
   * @default - none
   */
  readonly maximumCacheStaleness?: string;
  /**
   * Maximum lifetime of a database connection of the API server, as a Go duration (`120s`, `5m`). Set it below
   * the idle timeout of a managed database or proxy in front of it.
   * @default '120s'
   */
  readonly connectionMaxLifetime?: string;
  /**
   * Log level written to the install config (read by components that take it from there).
   * @default 'info'
   */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Whether uploading a new pipeline version makes it the pipeline's default version.
   * @default true
   */
  readonly autoUpdatePipelineDefaultVersion?: boolean;
  /**
   * Refuse to create and run v1 pipelines (except in {@link v1AllowedNamespaces}).
   * @default false
   */
  readonly blockV1Pipelines?: boolean;
  /**
   * Namespaces still allowed to use v1 pipelines when {@link blockV1Pipelines} is on.
   * @default - none
   */
  readonly v1AllowedNamespaces?: readonly string[];
  /**
   * Days after which the multi-user profile controller's lifecycle rule deletes artifacts; negative keeps them.
   * @default -1
   */
  readonly artifactRetentionDays?: number;
  /**
   * HTTP header carrying the authenticated user (multi-user mode).
   * @default 'kubeflow-userid'
   */
  readonly userIdHeader?: string;
  /**
   * Prefix stripped from {@link userIdHeader}'s value (multi-user mode).
   * @default ''
   */
  readonly userIdPrefix?: string;
  /**
   * Security context Kubeflow Pipelines forces on users' step containers (not on its driver, launcher or Argo's
   * executor), e.g. `{ runAsNonRoot: true, runAsUser: 1000 }` where runs must meet a restricted Pod Security level.
   * @default - none: upstream's empty values
   */
  readonly workloadSecurity?: WorkloadSecurityDefaults;
}

const TIMEZONE_SPECIAL = new Set(['UTC', 'Local']);
const ISO_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const PIPELINE_ROOT = /^(minio|s3|gs):\/\/[a-z0-9][a-z0-9._-]*[a-z0-9](\/\S*)?$/;

function fail(message: string): never {
  throw new Error(`PipelineInstallConfig: ${message}`);
}

function isTimeZone(zone: string): boolean {
  if (TIMEZONE_SPECIAL.has(zone)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function validate(props: PipelineInstallConfigProps): void {
  const zone = props.cronScheduleTimezone;
  if (zone !== undefined && !isTimeZone(zone)) {
    fail(`cronScheduleTimezone "${zone}" is not a time zone; use UTC, Local or an IANA name such as Europe/Berlin`);
  }
  for (const [name, value] of [['defaultCacheStaleness', props.defaultCacheStaleness], ['maximumCacheStaleness', props.maximumCacheStaleness]] as const) {
    if (value !== undefined && !ISO_DURATION.test(value)) fail(`${name} "${value}" must be an ISO 8601 duration such as P7D or PT12H`);
  }
  if (props.connectionMaxLifetime !== undefined && !GO_DURATION.test(props.connectionMaxLifetime)) {
    fail(`connectionMaxLifetime "${props.connectionMaxLifetime}" must be a Go duration such as 120s or 5m`);
  }
  if (props.defaultPipelineRoot !== undefined && !PIPELINE_ROOT.test(props.defaultPipelineRoot)) {
    fail(`defaultPipelineRoot "${props.defaultPipelineRoot}" must be a minio://, s3:// or gs:// URL of a bucket, e.g. s3://my-bucket/v2/artifacts`);
  }
  if (props.artifactRetentionDays !== undefined && !Number.isInteger(props.artifactRetentionDays)) {
    fail(`artifactRetentionDays ${props.artifactRetentionDays} must be a whole number of days (negative: keep artifacts)`);
  }
}

/** How the v2 driver and launcher reach the store: the pipeline-root scheme and the `providers` entry of kfp-launcher. */
export interface LauncherAccess {
  readonly scheme: 'minio' | 's3' | 'gs';
  readonly providers: Record<string, unknown>;
}

/**
 * The store access of the v2 driver and launcher (backend/src/v2/config in 2.17.0): `providers.<scheme>.default`.
 * Without it, `minio://` falls back to a fixed `seaweedfs.kubeflow:9000` endpoint and `s3://` to the pod's
 * environment (no keys there), so kfkit states the endpoint, region, TLS, addressing and credentials of the store.
 * `creds` are the credentials of the namespace the runs use (default: the store's own; a profile's in multi-user).
 */
export function launcherAccess(store: IArtifactStore, creds: ArtifactCredentials = store.credentials): LauncherAccess {
  if (creds.type === 'workload-identity') {
    return { scheme: 'gs', providers: { gs: { default: { credentials: { fromEnv: true } } } } };
  }
  const credentials = creds.type === 'secret'
    ? { fromEnv: false, secretRef: { secretName: creds.secretName, accessKeyKey: creds.accessKeyKey, secretKeyKey: creds.secretKeyKey } }
    : { fromEnv: true };
  const scheme = store.provider === 'seaweedfs' ? 'minio' : 's3';
  const defaults = { endpoint: store.endpoint, region: store.region, disableSSL: !store.secure, forcePathStyle: store.pathStyle, credentials };
  return { scheme, providers: { [scheme]: { default: defaults } } };
}

function flag(value: boolean | undefined): string {
  return value === undefined ? '' : String(value);
}

/**
 * The configuration of the Kubeflow Pipelines backend, as upstream's platform-agnostic install ships it
 * (kubeflow/pipelines 2.17.0): ConfigMap `pipeline-install-config` with upstream's keys — the database address,
 * driver and database names from the {@link IDatabase}, the bucket from the {@link IArtifactStore}, upstream's
 * defaults for the rest — plus `kfp-launcher` (default pipeline root) and `metadata-grpc-configmap` (where ML
 * Metadata's gRPC server is). No credentials: those stay in their Secrets.
 *
 * Differences from upstream, on purpose:
 * - values come from the typed references: the database host is the {@link IDatabase}'s (upstream: `mysql`), the
 *   bucket the store's, and `defaultPipelineRoot` is set from the store (upstream: empty, so the launcher falls back
 *   to `minio://mlpipeline/v2/artifacts` on `seaweedfs.kubeflow:9000`);
 * - with PostgreSQL, `dbType` is `pgx`, the driver name the API server accepts (upstream: `postgres`), and the
 *   address keys are `postgresHost`/`postgresPort` as in upstream's PostgreSQL install;
 * - `kfp-launcher` also carries `providers` (the store's endpoint, region, TLS, addressing and credential source for
 *   the v2 driver and launcher), so runs reach the store in any namespace and with any provider;
 * - `cacheImage` is pinned (catalog key `busybox`, a runtime image); `warning` is kfkit's own text.
 */
export class PipelineInstallConfig extends Construct {
  /** `pipeline-install-config`. */
  public readonly name = PIPELINE_INSTALL_CONFIG;
  /** Keys of `pipeline-install-config` (upstream's names). */
  public readonly keys = INSTALL_CONFIG_KEYS;
  /** Key holding the database host: `mysqlHost` or `postgresHost`. */
  public readonly databaseHostKey: string;
  /** Key holding the database port: `mysqlPort` or `postgresPort`. */
  public readonly databasePortKey: string;
  /** The driver name written to `dbType`: `mysql` or `pgx`. */
  public readonly dbType: string;
  /** The default pipeline root written to `defaultPipelineRoot` (both ConfigMaps). */
  public readonly defaultPipelineRoot: string;
  /** `kfp-launcher`, with key `defaultPipelineRoot` (and `providers`). */
  public readonly launcherConfigName = KFP_LAUNCHER_CONFIG;
  /** `metadata-grpc-configmap`, with keys `METADATA_GRPC_SERVICE_HOST` and `METADATA_GRPC_SERVICE_PORT`. */
  public readonly metadataGrpcConfigName = METADATA_GRPC_CONFIG;
  /** Keys of `metadata-grpc-configmap`. */
  public readonly metadataGrpcKeys = { host: 'METADATA_GRPC_SERVICE_HOST', port: 'METADATA_GRPC_SERVICE_PORT' } as const;
  /** ML Metadata's gRPC Service name and port, as written to `metadata-grpc-configmap`. */
  public readonly metadataGrpc = METADATA_GRPC_SERVICE;
  /** The `pipeline-install-config` ConfigMap. */
  public readonly resource: k8s.KubeConfigMap;

  public constructor(scope: Construct, id: string, props: PipelineInstallConfigProps) {
    super(scope, id);
    validate(props);
    const { database, store, namespace } = props;
    const labels = standardLabels(pipelinesIdentity('ml-pipeline'));
    const address = DATABASE_ADDRESS_KEYS[database.engine];
    this.databaseHostKey = address.host;
    this.databasePortKey = address.port;
    this.dbType = DB_DRIVER[database.engine];
    const access = launcherAccess(store);
    this.defaultPipelineRoot = props.defaultPipelineRoot ?? `${access.scheme}://${store.bucket}/v2/artifacts`;
    const k = INSTALL_CONFIG_KEYS;
    const security = props.workloadSecurity ?? {};

    this.resource = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: { name: PIPELINE_INSTALL_CONFIG, namespace, labels },
      data: {
        [k.warning]: 'Written by kfkit from the platform configuration: change the configuration and synthesize again instead of editing '
          + 'this ConfigMap. Components read it at start: restart the Kubeflow Pipelines Deployments after a change.\n',
        [k.appName]: 'pipeline',
        [k.appVersion]: PIPELINES_VERSION,
        [k.dbType]: this.dbType,
        [address.host]: database.host,
        [address.port]: String(database.port),
        [k.pipelineDb]: database.databaseNames.pipelines,
        [k.mlmdDb]: database.databaseNames.metadata,
        [k.cacheDb]: database.databaseNames.cache,
        [k.bucketName]: store.bucket,
        [k.defaultPipelineRoot]: this.defaultPipelineRoot,
        [k.autoUpdatePipelineDefaultVersion]: String(props.autoUpdatePipelineDefaultVersion ?? true),
        [k.cronScheduleTimezone]: props.cronScheduleTimezone ?? 'UTC',
        [k.cacheImage]: KfkitContext.of(this).runtimeImage('busybox'),
        [k.cacheNodeRestrictions]: 'false',
        [k.maximumCacheStaleness]: props.maximumCacheStaleness ?? '',
        [k.defaultCacheStaleness]: props.defaultCacheStaleness ?? '',
        [k.conMaxLifeTime]: props.connectionMaxLifetime ?? '120s',
        [k.logLevel]: props.logLevel ?? 'info',
        // The artifact proxy has known security flaws (upstream's own note); kfkit keeps it off.
        [k.artifactsProxyEnabled]: 'false',
        [k.artifactRetentionDays]: String(props.artifactRetentionDays ?? -1),
        [k.defaultSecurityContextRunAsUser]: security.runAsUser === undefined ? '' : String(security.runAsUser),
        [k.defaultSecurityContextRunAsGroup]: security.runAsGroup === undefined ? '' : String(security.runAsGroup),
        [k.defaultSecurityContextRunAsNonRoot]: flag(security.runAsNonRoot),
        [k.defaultSecurityContextHostUsers]: flag(security.hostUsers),
        [k.blockV1Pipelines]: String(props.blockV1Pipelines ?? false),
        [k.v1AllowedNamespaces]: (props.v1AllowedNamespaces ?? []).join(','),
        [k.userIdHeader]: props.userIdHeader ?? 'kubeflow-userid',
        [k.userIdPrefix]: props.userIdPrefix ?? '',
      },
    });

    new k8s.KubeConfigMap(this, 'Launcher', {
      metadata: { name: KFP_LAUNCHER_CONFIG, namespace, labels },
      data: {
        defaultPipelineRoot: this.defaultPipelineRoot,
        // sigs.k8s.io/yaml reads JSON as well; one line keeps the output stable.
        providers: JSON.stringify(access.providers),
      },
    });

    new k8s.KubeConfigMap(this, 'MetadataGrpc', {
      metadata: { name: METADATA_GRPC_CONFIG, namespace, labels: standardLabels(pipelinesIdentity('metadata-grpc-deployment')) },
      data: {
        [this.metadataGrpcKeys.host]: METADATA_GRPC_SERVICE.name,
        [this.metadataGrpcKeys.port]: String(METADATA_GRPC_SERVICE.port),
      },
    });
  }
}
