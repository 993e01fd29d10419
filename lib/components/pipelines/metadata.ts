import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { KfkitContext } from '../../core/context';
import { METADATA_DB_CONSUMER } from '../../core/database-consumers';
import { ComponentIdentity, standardLabels } from '../../core/labels';
import { allowKubeApi, allowTraffic, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, ContainerProps, deployment } from '../../core/workload';
import { METADATA_GRPC_CONFIG, METADATA_GRPC_SERVICE } from './install-config';
import {
  checkDatabaseConsumer, endpointHost, PIPELINES_UID, PipelinesEndpoint, pipelinesIdentity, PipelinesPartProps, pipelinesPeer, waitForContainer,
  watchedNamespace,
} from './shared';

/** Props of {@link MetadataService}. */
export interface MetadataServiceProps extends PipelinesPartProps {
  /**
   * Compute budget of the ML Metadata gRPC server (`metadata-grpc-deployment`).
   * @default - 50m CPU; 128Mi memory request, 1Gi limit
   */
  readonly grpcResources?: ResourceBudget;
  /**
   * Compute budget of the gRPC-web proxy (`metadata-envoy-deployment`).
   * @default - 10m CPU; 32Mi memory request, 256Mi limit
   */
  readonly envoyResources?: ResourceBudget;
  /**
   * Compute budget of the metadata writer (`metadata-writer`).
   * @default - 20m CPU; 128Mi memory request, 512Mi limit
   */
  readonly writerResources?: ResourceBudget;
}

const GRPC = 'metadata-grpc-deployment';
const GRPC_SERVICE = METADATA_GRPC_SERVICE.name;
const GRPC_SA = 'metadata-grpc-server';
const GRPC_PORT = METADATA_GRPC_SERVICE.port;
const ENVOY = 'metadata-envoy-deployment';
const ENVOY_SERVICE = 'metadata-envoy-service';
const ENVOY_CONFIGMAP = 'metadata-envoy-configmap';
const ENVOY_CONFIG_KEY = 'envoy-config.yaml';
const ENVOY_PORT = 9090;
const ENVOY_ADMIN_PORT = 9901;
const WRITER = 'metadata-writer';
const WRITER_SA = 'kubeflow-pipelines-metadata-writer';
/** Where the TLS variant renders the server configuration (a memory-backed emptyDir: the file holds the password). */
const TLS_CONFIG_DIR = '/etc/mlmd';
const TLS_CONFIG_FILE = `${TLS_CONFIG_DIR}/server_config.pbtxt`;
const TLS_CA_DIR = '/etc/mlmd-ca';
/** gRPC limits upstream passes (16 KiB metadata, 100 MiB messages). */
const GRPC_CHANNEL_ARGUMENTS = 'grpc.max_metadata_size=16384,grpc.max_receive_message_length=104857600,grpc.max_send_message_length=104857600';

/**
 * The `render-tls-config` program (POSIX sh, in the ML Metadata image): writes an ASCII `MetadataStoreServerConfig`
 * with the MySQL connection, `$SSL_OPTIONS` and upgrade migration to `$CONFIG_FILE`, quoting `\` and `"` in values.
 * Inputs come from the environment (connection values, credentials from the Secret).
 */
const RENDER_TLS_CONFIG = `
umask 077
q() { printf '%s' "$1" | sed -e 's/\\\\/\\\\\\\\/g' -e 's/"/\\\\"/g'; }
{
  printf 'connection_config {\\n  mysql {\\n'
  printf '    host: "%s"\\n    port: %s\\n    database: "%s"\\n' "$(q "$MYSQL_HOST")" "$MYSQL_PORT" "$(q "$MYSQL_DATABASE")"
  printf '    user: "%s"\\n    password: "%s"\\n' "$(q "$DBCONFIG_USER")" "$(q "$DBCONFIG_PASSWORD")"
  printf '    ssl_options { %s }\\n  }\\n}\\n' "$SSL_OPTIONS"
  printf 'migration_options {\\n  enable_upgrade_migration: true\\n}\\n'
} > "$CONFIG_FILE"
echo "wrote $CONFIG_FILE"
`.trim();

/**
 * kfkit's Envoy configuration for the gRPC-web proxy, as a typed object (Envoy v3 API): one listener on 9090 that
 * translates gRPC-web (what the UI server forwards from the browser) to gRPC on the ML Metadata Service over HTTP/2,
 * without a stream timeout; the admin interface on 9901 (readiness probe). No CORS filter: the browser reaches the
 * proxy only through the UI server (same origin), so cross-origin access stays denied.
 */
export function metadataEnvoyConfig(grpc: PipelinesEndpoint): Record<string, unknown> {
  const address = (host: string, port: number) => ({ socket_address: { address: host, port_value: port } });
  return {
    admin: { address: address('0.0.0.0', ENVOY_ADMIN_PORT) },
    static_resources: {
      listeners: [{
        name: 'grpc-web',
        address: address('0.0.0.0', ENVOY_PORT),
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'metadata_grpc_web',
              codec_type: 'AUTO',
              route_config: {
                name: 'metadata',
                virtual_hosts: [{
                  name: 'metadata',
                  domains: ['*'],
                  routes: [{ match: { prefix: '/' }, route: { cluster: 'metadata-grpc', max_stream_duration: { grpc_timeout_header_max: '0s' } } }],
                }],
              },
              http_filters: [
                { name: 'envoy.filters.http.grpc_web', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb' } },
                { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
              ],
            },
          }],
        }],
      }],
      clusters: [{
        name: 'metadata-grpc',
        type: 'STRICT_DNS',
        connect_timeout: '5s',
        lb_policy: 'ROUND_ROBIN',
        typed_extension_protocol_options: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
            '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
            explicit_http_config: { http2_protocol_options: {} },
          },
        },
        load_assignment: {
          cluster_name: 'metadata-grpc',
          endpoints: [{ lb_endpoints: [{ endpoint: { address: address(endpointHost(grpc), grpc.servicePort) } }] }],
        },
      }],
    },
  };
}

/**
 * ML Metadata for Kubeflow Pipelines 2.17.0, as the platform-agnostic install has it: the gRPC server
 * `metadata-grpc-deployment` (Service `metadata-grpc-service`, 8080) on the metadata database, the gRPC-web proxy
 * `metadata-envoy-deployment` (Service `metadata-envoy-service`, 9090) the UI talks to, and `metadata-writer`, which
 * records Argo pods of v1 pipelines in ML Metadata. Upstream names, images, ports, env var names and arguments;
 * RBAC as upstream (the writer's namespaced Role).
 *
 * The database comes from the typed {@link IDatabase} (host, port, database name and credentials Secret as env
 * values and Secret references, instead of upstream's `pipeline-install-config` keys). MySQL uses upstream's flags;
 * with TLS (`required`, `verify-ca`, `verify-full`) the server needs a configuration file — MLMD's flags have no TLS
 * options — which the init container `render-tls-config` writes into a memory volume from the Secret, and
 * `--metadata_store_server_config_file` points the server at it (the file takes precedence over the flags).
 * PostgreSQL follows upstream's PostgreSQL variant, on kfkit's single database server (`metadb` beside the others)
 * instead of a second PostgreSQL for ML Metadata alone; only plain connections (MLMD 1.14's libpq has no TLS).
 *
 * Differences from upstream, on purpose (facts/deviations.json): the wait-for-* init containers run kfkit's own
 * program; the writer gets `POD_NAMESPACE` (upstream's writer assumes `kubeflow`); the PostgreSQL and TLS variants
 * above. Every pod restricted and read-only, requests and memory limits, no ServiceAccount token but the writer's
 * (it watches pods), network policies for exactly the connections made: gRPC server → database, proxy → gRPC server,
 * writer → gRPC server and the Kubernetes API. Clients of the gRPC server (API server, pipeline pods) and of the
 * proxy (UI) open their side with {@link MetadataService.grpc} / {@link MetadataService.envoy}.
 *
 * Multi-user (upstream's multi-user install): the writer watches every namespace (`NAMESPACE_TO_WATCH` empty) with
 * its permissions granted cluster-wide too; pipeline pods of the profile namespaces reach the gRPC server through the
 * paths PipelinesProfileResources writes.
 */
export class MetadataService extends Construct {
  /** The ML Metadata gRPC server (Service `metadata-grpc-service`, port 8080). */
  public readonly grpc: PipelinesEndpoint;
  /** The gRPC-web proxy the UI server calls (Service `metadata-envoy-service`, port 9090). */
  public readonly envoy: PipelinesEndpoint;
  /** The metadata writer's pods. */
  public readonly writerPeer: NetworkPeer;

  public constructor(scope: Construct, id: string, props: MetadataServiceProps) {
    super(scope, id);
    const ns = props.namespace;
    const db = props.database;
    checkDatabaseConsumer('MetadataService', db, METADATA_DB_CONSUMER);
    this.grpc = { serviceName: GRPC_SERVICE, servicePort: GRPC_PORT, peer: pipelinesPeer(ns, GRPC), podPort: GRPC_PORT };
    this.envoy = { serviceName: ENVOY_SERVICE, servicePort: ENVOY_PORT, peer: pipelinesPeer(ns, ENVOY), podPort: ENVOY_PORT };
    this.writerPeer = pipelinesPeer(ns, WRITER);

    this.grpcServer(props);
    this.envoyProxy(props);
    this.writer(props);

    db.allowFrom(this.grpc.peer);
    allowTraffic(this, this.envoy.peer, this.grpc.peer, [{ port: GRPC_PORT }]);
    allowTraffic(this, this.writerPeer, this.grpc.peer, [{ port: GRPC_PORT }]);
    allowKubeApi(this, this.writerPeer);
  }

  private grpcServer(props: MetadataServiceProps): void {
    const ns = props.namespace;
    const db = props.database;
    const identity = pipelinesIdentity(GRPC);
    const ctx = KfkitContext.of(this);
    serviceAccountWithRole(this, { name: GRPC_SA, namespace: ns, labels: standardLabels(identity), automountServiceAccountToken: false });
    clusterIpService(this, { name: GRPC_SERVICE, namespace: ns, identity, ports: [{ name: 'grpc-api', port: GRPC_PORT, protocol: 'TCP' }] });

    const secret = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: db.credentialsFor('metadata').secretName, key } } });
    const tcp = { tcpSocket: { port: k8s.IntOrString.fromString('grpc-api') }, initialDelaySeconds: 3, periodSeconds: 5, timeoutSeconds: 2 };
    const volumes: k8s.Volume[] = [{ name: 'tmp', emptyDir: {} }];
    const mounts: k8s.VolumeMount[] = [{ name: 'tmp', mountPath: '/tmp' }];
    const initContainers: ContainerProps[] = [waitForContainer(this, 'wait-for-database', 'deadline', db.host, db.port)];
    let env: k8s.EnvVar[];
    let envFrom: k8s.EnvFromSource[] | undefined;
    let args: string[];
    if (db.engine === 'postgresql') {
      // Upstream's PostgreSQL variant reads these from the ConfigMap/Secret of its second PostgreSQL; kfkit's come
      // from the one database's typed reference. The gRPC port still comes from metadata-grpc-configmap.
      env = [
        { name: 'POSTGRES_PORT', value: String(db.port) },
        { name: 'POSTGRES_DBNAME', value: db.databaseNames.metadata },
        secret('POSTGRES_USER', db.credentialsFor('metadata').usernameKey),
        secret('POSTGRES_PASSWORD', db.credentialsFor('metadata').passwordKey),
      ];
      envFrom = [{ configMapRef: { name: METADATA_GRPC_CONFIG } }];
      args = [
        '--grpc_port=$(METADATA_GRPC_SERVICE_PORT)',
        '--metadata_source_config_type=postgresql',
        `--postgres_config_host=${db.host}`,
        '--postgres_config_port=$(POSTGRES_PORT)',
        '--postgres_config_dbname=$(POSTGRES_DBNAME)',
        '--postgres_config_user=$(POSTGRES_USER)',
        '--postgres_config_password=$(POSTGRES_PASSWORD)',
        '--enable_database_upgrade=true',
      ];
    } else {
      env = [
        secret('DBCONFIG_USER', db.credentialsFor('metadata').usernameKey),
        secret('DBCONFIG_PASSWORD', db.credentialsFor('metadata').passwordKey),
        { name: 'MYSQL_DATABASE', value: db.databaseNames.metadata },
        { name: 'MYSQL_HOST', value: db.host },
        { name: 'MYSQL_PORT', value: String(db.port) },
      ];
      args = [
        `--grpc_port=${GRPC_PORT}`,
        '--mysql_config_database=$(MYSQL_DATABASE)',
        '--mysql_config_host=$(MYSQL_HOST)',
        '--mysql_config_port=$(MYSQL_PORT)',
        '--mysql_config_user=$(DBCONFIG_USER)',
        '--mysql_config_password=$(DBCONFIG_PASSWORD)',
        '--enable_database_upgrade=true',
        `--grpc_channel_arguments=${GRPC_CHANNEL_ARGUMENTS}`,
      ];
      if (db.tls.mode !== 'disabled') {
        const ca = db.tls.caSecret;
        const sslOptions = db.tls.mode === 'required' ? ''
          : `ca: "${TLS_CA_DIR}/ca.crt"${db.tls.mode === 'verify-full' ? ' verify_server_cert: true' : ''}`;
        volumes.push({ name: 'server-config', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } });
        mounts.push({ name: 'server-config', mountPath: TLS_CONFIG_DIR, readOnly: true });
        const initMounts: k8s.VolumeMount[] = [{ name: 'server-config', mountPath: TLS_CONFIG_DIR }];
        if (ca && db.tls.mode !== 'required') {
          volumes.push({ name: 'database-ca', secret: { secretName: ca.name, items: [{ key: ca.key, path: 'ca.crt' }] } });
          mounts.push({ name: 'database-ca', mountPath: TLS_CA_DIR, readOnly: true });
        }
        initContainers.push({
          name: 'render-tls-config',
          image: ctx.images.image('ml-metadata-store-server'),
          command: ['/bin/sh', '-ec', RENDER_TLS_CONFIG],
          env: [...env, { name: 'SSL_OPTIONS', value: sslOptions }, { name: 'CONFIG_FILE', value: TLS_CONFIG_FILE }],
          resources: { cpu: { request: '10m', limit: '100m' }, memory: { request: '16Mi', limit: '64Mi' } },
          volumeMounts: initMounts,
        });
        args.push(`--metadata_store_server_config_file=${TLS_CONFIG_FILE}`);
      }
    }

    deployment(this, {
      namespace: ns,
      identity,
      replicas: 1,
      pod: {
        serviceAccountName: GRPC_SA,
        security: { user: PIPELINES_UID },
        initContainers,
        containers: [{
          name: 'container',
          image: ctx.images.image('ml-metadata-store-server'),
          command: ['/bin/metadata_store_server'],
          args,
          ports: [{ name: 'grpc-api', containerPort: GRPC_PORT, protocol: 'TCP' }],
          env,
          envFrom,
          resources: props.grpcResources ?? { cpu: { request: '50m' }, memory: { request: '128Mi', limit: '1Gi' } },
          // glog writes its log files below /tmp.
          volumeMounts: mounts,
          readinessProbe: tcp,
          livenessProbe: tcp,
        }],
        volumes,
      },
    });
  }

  private envoyProxy(props: MetadataServiceProps): void {
    const ns = props.namespace;
    const identity = pipelinesIdentity(ENVOY);
    const labels = standardLabels(identity);
    const scope = new Construct(this, 'Envoy');
    new k8s.KubeConfigMap(scope, 'Config', {
      metadata: { name: ENVOY_CONFIGMAP, namespace: ns, labels },
      data: { [ENVOY_CONFIG_KEY]: stringify(metadataEnvoyConfig(this.grpc), { lineWidth: 0 }) },
    });
    clusterIpService(scope, { name: ENVOY_SERVICE, namespace: ns, identity, ports: [{ name: 'md-envoy', port: ENVOY_PORT, protocol: 'TCP' }] });
    deployment(scope, {
      namespace: ns,
      identity,
      replicas: 1,
      pod: {
        // Upstream's pod names no ServiceAccount; kfkit keeps `default` (fidelity) and mounts no token.
        serviceAccountName: 'default',
        security: { user: PIPELINES_UID },
        containers: [{
          name: 'container',
          image: KfkitContext.of(this).images.image('kfp-metadata-envoy'),
          args: [`/etc/envoy/${ENVOY_CONFIG_KEY}`],
          ports: [
            { name: 'md-envoy', containerPort: ENVOY_PORT, protocol: 'TCP' },
            { name: 'envoy-admin', containerPort: ENVOY_ADMIN_PORT, protocol: 'TCP' },
          ],
          resources: props.envoyResources ?? { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '256Mi' } },
          volumeMounts: [{ name: 'envoy-config', mountPath: '/etc/envoy', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }],
          readinessProbe: { httpGet: { path: '/ready', port: k8s.IntOrString.fromNumber(ENVOY_ADMIN_PORT) }, periodSeconds: 5, timeoutSeconds: 2 },
        }],
        volumes: [{ name: 'envoy-config', configMap: { name: ENVOY_CONFIGMAP } }, { name: 'tmp', emptyDir: {} }],
      },
    });
  }

  private writer(props: MetadataServiceProps): void {
    const ns = props.namespace;
    const identity: ComponentIdentity = pipelinesIdentity(WRITER);
    const scope = new Construct(this, 'Writer');
    const rules: k8s.PolicyRule[] = [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    ];
    const names = { roleName: 'kubeflow-pipelines-metadata-writer-role', roleBindingName: 'kubeflow-pipelines-metadata-writer-binding' } as const;
    serviceAccountWithRole(scope, {
      name: WRITER_SA,
      namespace: ns,
      labels: standardLabels(identity),
      rules,
      ...names,
      // Multi-user: pods and Workflows of every profile namespace (upstream's ClusterRole of the same name and binding).
      ...(props.mode === 'multi-user' ? { clusterRules: rules, clusterRoleName: names.roleName, clusterRoleBindingName: names.roleBindingName } : {}),
    });
    deployment(scope, {
      namespace: ns,
      identity,
      replicas: 1,
      pod: {
        serviceAccountName: WRITER_SA,
        automountServiceAccountToken: true,
        security: { user: PIPELINES_UID },
        initContainers: [waitForContainer(this, 'wait-for-metadata-grpc', 'deadline', endpointHost(this.grpc), GRPC_PORT)],
        containers: [{
          name: 'main',
          image: KfkitContext.of(this).images.image('kfp-metadata-writer'),
          env: [
            watchedNamespace('NAMESPACE_TO_WATCH', props.mode),
            // The writer connects to metadata-grpc-service.$POD_NAMESPACE, defaulting to `kubeflow` when unset.
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          ],
          resources: props.writerResources ?? { cpu: { request: '20m' }, memory: { request: '128Mi', limit: '512Mi' } },
          // Debug copies of the pods it handled go to /tmp.
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        }],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    });
  }
}
