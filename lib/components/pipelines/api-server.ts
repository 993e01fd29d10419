import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { ML_PIPELINE_DB_CONSUMER } from '../../core/database-consumers';
import { DatabaseTlsMode } from '../../core/database';
import { standardLabels } from '../../core/labels';
import { allowKubeApi, allowTraffic, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { DB_DRIVER, PipelineInstallConfig } from './install-config';
import {
  BACKEND_POD_SECURITY, checkDatabaseConsumer, pipelinesIdentity, pipelinesPeer, PipelinesEndpoint, PipelinesPartProps, PROFILE_RUNNER_SERVICE_ACCOUNT,
  SAFE_TO_EVICT, waitForContainer,
} from './shared';

/** Upstream names and ports of the API server (kubeflow/pipelines 2.17.0 manifests/kustomize/base/pipeline). */
export const API_SERVER = {
  name: 'ml-pipeline',
  container: 'ml-pipeline-api-server',
  httpPort: 8888,
  grpcPort: 8887,
} as const;

/** Upstream's Deployment name of the visualization server, which the API server proxies visualization requests to. */
const VISUALIZATION_SERVER = { name: 'ml-pipeline-visualizationserver', port: 8888 } as const;
/**
 * The multi-user API server's extra settings (`MULTIUSER`, the profile runner ServiceAccount, the visualization
 * server's address). Upstream generates it with a content hash suffix; kfkit's names carry no hash.
 */
export const API_SERVER_CONFIG = 'pipeline-api-server-config';
/** Upstream's Deployment name of ML Metadata's gRPC server. */
const METADATA_GRPC_DEPLOYMENT = 'metadata-grpc-deployment';

/** Props of {@link PipelinesApiServer}. */
export interface PipelinesApiServerProps extends PipelinesPartProps {
  /** The install configuration the server reads (database address and names, bucket, feature flags). */
  readonly installConfig: PipelineInstallConfig;
  /**
   * Compute budget of the API server container.
   * @default - upstream's requests (250m CPU, 500Mi memory) and a 1Gi memory limit
   */
  readonly resources?: ResourceBudget;
  /**
   * Log level of the API server.
   * @default 'info'
   */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Log level of the v2 driver and launcher in pipeline runs (glog verbosity).
   * @default 1
   */
  readonly pipelineLogLevel?: number;
  /**
   * Upload component logs of runs to the artifact store.
   * @default true
   */
  readonly publishLogs?: boolean;
  /**
   * The cluster's DNS domain (the API server builds in-cluster URLs with it).
   * @default 'cluster.local'
   */
  readonly clusterDomain?: string;
}

function fail(message: string): never {
  throw new Error(`PipelinesApiServer: ${message}`);
}

/** `DBConfig.MySQLConfig.ExtraParams` (go-sql-driver/mysql `tls`) for a TLS mode the server supports. */
function mysqlTlsParam(mode: DatabaseTlsMode): string {
  const tls = mode === 'disabled' ? 'false' : mode === 'required' ? 'skip-verify' : 'true';
  return JSON.stringify({ tls });
}

/**
 * The Kubeflow Pipelines API server (`ml-pipeline`, KFP 2.17.0) as upstream's platform-agnostic install ships it:
 * Deployment, container, ServiceAccount and Service `ml-pipeline` (http 8888, grpc 8887), its namespaced Role
 * (31 permissions), environment names, probes and the `wait-for-database` / `wait-for-metadata-grpc` init containers.
 * The database address, driver and names come from the {@link IDatabase} through `pipeline-install-config`, its
 * credentials from the database's Secret; the store's address, TLS, region and bucket from the
 * {@link IArtifactStore}, its keys from the store's Secret. With PostgreSQL, the environment is upstream's
 * PostgreSQL install's (`DBCONFIG_POSTGRESQLCONFIG_*`), plus `DBDRIVERNAME`, the variable the 2.17.0 server
 * actually reads its driver from (upstream's `DB_DRIVER_NAME` is read by nothing).
 *
 * Differences from upstream, on purpose (facts/deviations.json):
 * - `OBJECTSTORECONFIG_REGION` is set from the store: without it the server signs for us-east-1, which S3 rejects
 *   for buckets in any other region;
 * - MySQL: `DBCONFIG_MYSQLCONFIG_EXTRAPARAMS` states the database's TLS mode (`{"tls":"false"}` in the cluster);
 * - the init containers run kfkit's own wait loop (same image, command and variables).
 *
 * With IRSA credentials the ServiceAccount carries the role and the server gets no key from any Secret; its two key
 * variables are explicitly empty, read from ConfigMap `ml-pipeline-empty-object-store-keys`: the server's built-in
 * `config.json` otherwise supplies `minio`/`minio123`, which would shadow the role (2.17.0 accepts both keys empty
 * as "use the AWS credential chain"; kubeflow/pipelines#12508). GCS Workload Identity is refused: the 2.17.0 server
 * reaches the store through the S3 API only.
 *
 * Multi-user (upstream's multi-user install): the user-id header and prefix from `pipeline-install-config`
 * (`KUBEFLOW_USERID_*`), ConfigMap `pipeline-api-server-config` read with envFrom (`MULTIUSER=true`, runs in profile
 * namespaces as `default-editor`, the visualization server's address), and a ClusterRole/ClusterRoleBinding
 * `ml-pipeline` beside the Role, with upstream's cluster-wide rules (the Role's but MLflow experiments).
 *
 * Security: restricted pod as UID 1000, GID 0 (upstream's; the image's default user is root), read-only root with
 * an emptyDir on `/tmp` (Go spools large pipeline uploads there); the ServiceAccount token is mounted because the
 * server manages Argo Workflows, ScheduledWorkflows and pods through the Kubernetes API.
 */
export class PipelinesApiServer extends Construct {
  /** `ml-pipeline`: the Service name clients use (in the same namespace). */
  public readonly serviceName = API_SERVER.name;
  /** HTTP (REST) port of the Service and the pods. */
  public readonly httpPort = API_SERVER.httpPort;
  /** gRPC port of the Service and the pods. */
  public readonly grpcPort = API_SERVER.grpcPort;
  /** `ml-pipeline`. */
  public readonly serviceAccountName = API_SERVER.name;
  /** Namespace of the server. */
  public readonly namespace: string;
  /** The API server pods, as a network peer: clients open their connections to it with `allowTraffic`. */
  public readonly peer: NetworkPeer;
  /** The REST endpoint: Service `ml-pipeline` port 8888. */
  public readonly http: PipelinesEndpoint;
  /** The gRPC endpoint: Service `ml-pipeline` port 8887. */
  public readonly grpc: PipelinesEndpoint;
  /** The Deployment. */
  public readonly resource: k8s.KubeDeployment;

  public constructor(scope: Construct, id: string, props: PipelinesApiServerProps) {
    super(scope, id);
    const { database, store, namespace, installConfig: config } = props;
    const engine = database.engine;
    if (config.dbType !== DB_DRIVER[engine]) {
      fail(`installConfig was made for database driver ${config.dbType}, but the database is ${engine}; give both the same IDatabase`);
    }
    checkDatabaseConsumer('PipelinesApiServer', database, ML_PIPELINE_DB_CONSUMER);
    if (store.credentials.type === 'workload-identity') {
      fail('the 2.17.0 API server reaches the artifact store through the S3 API only (aws-sdk-go-v2) and cannot use GKE Workload '
        + 'Identity; give the store HMAC keys (credentials type secret)');
    }

    const ctx = KfkitContext.of(this);
    const identity = pipelinesIdentity(API_SERVER.name);
    const labels = standardLabels(identity);
    this.namespace = namespace;
    this.peer = pipelinesPeer(namespace, API_SERVER.name);
    this.http = { serviceName: API_SERVER.name, servicePort: API_SERVER.httpPort, peer: this.peer, podPort: API_SERVER.httpPort };
    this.grpc = { serviceName: API_SERVER.name, servicePort: API_SERVER.grpcPort, peer: this.peer, podPort: API_SERVER.grpcPort };

    const fromConfig = (key: string): k8s.EnvVarSource => ({ configMapKeyRef: { name: config.name, key } });
    const fromDbSecret = (key: string): k8s.EnvVarSource => ({ secretKeyRef: { name: database.credentialsFor('pipelines').secretName, key } });
    const cfg = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: fromConfig(key) });
    const value = (name: string, v: string): k8s.EnvVar => ({ name, value: v });
    const k = config.keys;

    // The store: host and port of the S3 endpoint; keys from the store's Secret, or explicitly none (IRSA).
    const [storeHost] = store.endpoint.split(':');
    const storePort = store.endpoint.split(':').at(1) ?? (store.secure ? '443' : '80');
    let storeKeys: k8s.EnvVar[];
    if (store.credentials.type === 'secret') {
      const { secretName, accessKeyKey, secretKeyKey } = store.credentials;
      storeKeys = [
        { name: 'OBJECTSTORECONFIG_ACCESSKEY', valueFrom: { secretKeyRef: { name: secretName, key: accessKeyKey } } },
        { name: 'OBJECTSTORECONFIG_SECRETACCESSKEY', valueFrom: { secretKeyRef: { name: secretName, key: secretKeyKey } } },
      ];
    } else {
      const noKeys = new k8s.KubeConfigMap(this, 'EmptyObjectStoreKeys', {
        metadata: { name: 'ml-pipeline-empty-object-store-keys', namespace, labels },
        data: { accesskey: '', secretkey: '' },
      });
      const name = noKeys.metadata.name ?? '';
      storeKeys = [
        { name: 'OBJECTSTORECONFIG_ACCESSKEY', valueFrom: { configMapKeyRef: { name, key: 'accesskey' } } },
        { name: 'OBJECTSTORECONFIG_SECRETACCESSKEY', valueFrom: { configMapKeyRef: { name, key: 'secretkey' } } },
      ];
    }

    const { usernameKey, passwordKey } = database.credentialsFor('pipelines');
    const databaseEnv: k8s.EnvVar[] = engine === 'mysql'
      ? [
        // Upstream's "relic variables", kept as upstream has them.
        { name: 'DBCONFIG_USER', valueFrom: fromDbSecret(usernameKey) },
        { name: 'DBCONFIG_PASSWORD', valueFrom: fromDbSecret(passwordKey) },
        cfg('DBCONFIG_DBNAME', k.pipelineDb),
        cfg('DBCONFIG_HOST', config.databaseHostKey),
        cfg('DBCONFIG_PORT', config.databasePortKey),
        // What the server reads (DBConfig.MySQLConfig.*).
        { name: 'DBCONFIG_MYSQLCONFIG_USER', valueFrom: fromDbSecret(usernameKey) },
        { name: 'DBCONFIG_MYSQLCONFIG_PASSWORD', valueFrom: fromDbSecret(passwordKey) },
        cfg('DBCONFIG_MYSQLCONFIG_DBNAME', k.pipelineDb),
        cfg('DBCONFIG_MYSQLCONFIG_HOST', config.databaseHostKey),
        cfg('DBCONFIG_MYSQLCONFIG_PORT', config.databasePortKey),
        value('DBCONFIG_MYSQLCONFIG_EXTRAPARAMS', mysqlTlsParam(database.tls.mode)),
      ]
      : [
        { name: 'DBCONFIG_POSTGRESQLCONFIG_USER', valueFrom: fromDbSecret(usernameKey) },
        { name: 'DBCONFIG_POSTGRESQLCONFIG_PASSWORD', valueFrom: fromDbSecret(passwordKey) },
        cfg('DBCONFIG_POSTGRESQLCONFIG_DBNAME', k.pipelineDb),
        cfg('DBCONFIG_POSTGRESQLCONFIG_HOST', config.databaseHostKey),
        cfg('DBCONFIG_POSTGRESQLCONFIG_PORT', config.databasePortKey),
        // Config key DBDriverName (viper: env DBDRIVERNAME); the default in the image's config.json is mysql.
        cfg('DBDRIVERNAME', k.dbType),
      ];

    const multiUser = props.mode === 'multi-user';
    // Multi-user: the header the gateway puts the authenticated user in, read from the install config as upstream's.
    const userHeader: k8s.EnvVar[] = multiUser
      ? [
        { name: 'KUBEFLOW_USERID_HEADER', valueFrom: { configMapKeyRef: { name: config.name, key: k.userIdHeader, optional: true } } },
        { name: 'KUBEFLOW_USERID_PREFIX', valueFrom: { configMapKeyRef: { name: config.name, key: k.userIdPrefix, optional: true } } },
      ]
      : [];
    const env: k8s.EnvVar[] = [
      ...userHeader,
      value('PUBLISH_LOGS', String(props.publishLogs ?? true)),
      value('LOG_LEVEL', props.logLevel ?? 'info'),
      value('PIPELINE_LOG_LEVEL', String(props.pipelineLogLevel ?? 1)),
      cfg('AUTO_UPDATE_PIPELINE_DEFAULT_VERSION', k.autoUpdatePipelineDefaultVersion),
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      value('CLUSTER_DOMAIN', props.clusterDomain ?? 'cluster.local'),
      value('OBJECTSTORECONFIG_SECURE', String(store.secure)),
      cfg('OBJECTSTORECONFIG_BUCKETNAME', k.bucketName),
      value('OBJECTSTORECONFIG_HOST', storeHost),
      value('OBJECTSTORECONFIG_PORT', storePort),
      value('OBJECTSTORECONFIG_REGION', store.region),
      ...storeKeys,
      cfg('DBCONFIG_CONMAXLIFETIME', k.conMaxLifeTime),
      // Upstream sets it; no 2.17.0 component reads it (see DBDRIVERNAME).
      cfg('DB_DRIVER_NAME', k.dbType),
      ...databaseEnv,
      value('V2_DRIVER_IMAGE', ctx.runtimeImage('kfp-driver')),
      value('V2_LAUNCHER_IMAGE', ctx.runtimeImage('kfp-launcher')),
      value('COMPILED_PIPELINE_SPEC_PATCH', '{}'),
      cfg('DEFAULT_SECURITY_CONTEXT_RUN_AS_USER', k.defaultSecurityContextRunAsUser),
      cfg('DEFAULT_SECURITY_CONTEXT_RUN_AS_GROUP', k.defaultSecurityContextRunAsGroup),
      cfg('DEFAULT_SECURITY_CONTEXT_RUN_AS_NON_ROOT', k.defaultSecurityContextRunAsNonRoot),
      cfg('DEFAULT_SECURITY_CONTEXT_HOST_USERS', k.defaultSecurityContextHostUsers),
      cfg('BLOCK_V1_PIPELINES', k.blockV1Pipelines),
      cfg('V1_ALLOWED_NAMESPACES', k.v1AllowedNamespaces),
    ];

    const common: k8s.PolicyRule[] = [
      { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'delete'] },
      { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'] },
      { apiGroups: ['kubeflow.org'], resources: ['scheduledworkflows'], verbs: ['create', 'get', 'list', 'update', 'patch', 'delete'] },
      { apiGroups: ['kubeflow.org'], resources: ['scheduledworkflows/finalizers'], verbs: ['update'] },
      { apiGroups: ['pipelines.kubeflow.org'], resources: ['pipelines'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    ];
    const launcherConfig: k8s.PolicyRule = { apiGroups: [''], resources: ['configmaps'], resourceNames: [config.launcherConfigName], verbs: ['get'] };
    const mlflowSecret: k8s.PolicyRule = { apiGroups: [''], resources: ['secrets'], resourceNames: ['kfp-mlflow-credentials'], verbs: ['get'] };
    serviceAccountWithRole(this, {
      name: API_SERVER.name,
      namespace,
      labels,
      annotations: store.serviceAccountAnnotations(),
      automountServiceAccountToken: false,
      rules: [
        ...common,
        { apiGroups: ['mlflow.kubeflow.org'], resources: ['experiments'], verbs: ['get', 'list', 'create', 'update'] },
        launcherConfig,
        mlflowSecret,
      ],
      // Multi-user: the same but MLflow experiments in every namespace (upstream's ClusterRole ml-pipeline): runs,
      // recurring runs and the launcher configuration live in the profile namespaces.
      ...(multiUser ? { clusterRules: [...common, launcherConfig, mlflowSecret] } : {}),
    });
    let envFrom: k8s.EnvFromSource[] | undefined;
    if (multiUser) {
      // Upstream's params of the multi-user API server (a generated ConfigMap, read with envFrom).
      const serverConfig = new k8s.KubeConfigMap(this, 'MultiUserConfig', {
        metadata: { name: API_SERVER_CONFIG, namespace, labels },
        data: {
          MULTIUSER: 'true',
          DEFAULTPIPELINERUNNERSERVICEACCOUNT: PROFILE_RUNNER_SERVICE_ACCOUNT,
          VISUALIZATIONSERVICE_NAME: VISUALIZATION_SERVER.name,
          VISUALIZATIONSERVICE_PORT: String(VISUALIZATION_SERVER.port),
        },
      });
      envFrom = [{ configMapRef: { name: serverConfig.metadata.name } }];
    }
    clusterIpService(this, {
      name: API_SERVER.name,
      namespace,
      identity,
      annotations: { 'prometheus.io/port': String(API_SERVER.httpPort), 'prometheus.io/scheme': 'http', 'prometheus.io/scrape': 'true' },
      ports: [servicePort('http', API_SERVER.httpPort), servicePort('grpc', API_SERVER.grpcPort)],
    });

    const healthz = { httpGet: { path: '/apis/v1beta1/healthz', port: k8s.IntOrString.fromNumber(API_SERVER.httpPort) } };
    this.resource = deployment(this, {
      namespace,
      identity,
      pod: {
        annotations: SAFE_TO_EVICT,
        serviceAccountName: API_SERVER.name,
        automountServiceAccountToken: true,
        security: BACKEND_POD_SECURITY,
        initContainers: [
          waitForContainer(this, 'wait-for-database', 'attempts', fromConfig(config.databaseHostKey), fromConfig(config.databasePortKey)),
          waitForContainer(this, 'wait-for-metadata-grpc', 'attempts', config.metadataGrpc.name, config.metadataGrpc.port),
        ],
        containers: [{
          name: API_SERVER.container,
          image: ctx.images.image('kfp-api-server'),
          ports: [
            { name: 'http', containerPort: API_SERVER.httpPort, protocol: 'TCP' },
            { name: 'grpc', containerPort: API_SERVER.grpcPort, protocol: 'TCP' },
          ],
          env,
          envFrom,
          resources: props.resources ?? { cpu: { request: '250m' }, memory: { request: '500Mi', limit: '1Gi' } },
          volumeMounts: [
            // Trust bundle of the MLflow plugin (plugins.mlflow.tls.caBundlePath), when ConfigMap mlflow-tracking-ca exists.
            { name: 'mlflow-tracking-ca', mountPath: '/etc/mlflow-tracking-ca', readOnly: true },
            { name: 'tmp', mountPath: '/tmp' },
          ],
          readinessProbe: { ...healthz, initialDelaySeconds: 3, periodSeconds: 5, timeoutSeconds: 2 },
          livenessProbe: { ...healthz, initialDelaySeconds: 3, periodSeconds: 5, timeoutSeconds: 2 },
          // Up to 60 s before liveness takes over: the first start migrates the database schema.
          startupProbe: { ...healthz, failureThreshold: 12, periodSeconds: 5, timeoutSeconds: 2 },
        }],
        volumes: [
          { name: 'mlflow-tracking-ca', configMap: { name: 'mlflow-tracking-ca', optional: true } },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    });

    // Connections the server (and its init containers) open.
    database.allowFrom(this.peer);
    store.allowFrom(this.peer);
    allowKubeApi(this, this.peer);
    allowTraffic(this, this.peer, pipelinesPeer(namespace, METADATA_GRPC_DEPLOYMENT), [{ port: config.metadataGrpc.port }]);
    allowTraffic(this, this.peer, pipelinesPeer(namespace, VISUALIZATION_SERVER.name), [{ port: VISUALIZATION_SERVER.port }]);
  }
}
