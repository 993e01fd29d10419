import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { DatabaseEngine, DatabaseNames, DatabaseTls, IDatabase, SecretKeyPair, UPSTREAM_DATABASE_NAMES } from '../../core/database';
import { GeneratedSecret } from '../../core/generated-secret';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { allowTraffic, NetworkPeer } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { podTemplate } from '../../core/workload';

/** Props of {@link MysqlDatabase}. */
export interface MysqlDatabaseProps {
  /** Namespace the database runs in (the platform namespace: consumers read its Secret there). */
  readonly namespace: string;
  /**
   * Size of the data volume.
   * @default '20Gi'
   */
  readonly storageSize?: string;
  /**
   * StorageClass of the data volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClass?: string;
  /**
   * Compute budget of the mysqld container.
   * @default - 100m CPU request; 800Mi memory request, 1Gi limit
   */
  readonly resources?: ResourceBudget;
  /**
   * Database names consumers use.
   * @default - upstream's: mlpipeline, metadb, cachedb, katib
   */
  readonly databaseNames?: DatabaseNames;
}

const PORT = 3306;
/** UID/GID of the `mysql` user in the official image: mysqld runs as it without the entrypoint's root step. */
const MYSQL_UID = 999;

/**
 * In-cluster MySQL 8 for the platform metadata (Kubeflow Pipelines, ML Metadata, Katib), following the
 * kubeflow/pipelines platform-agnostic install: same names (`mysql` Service and ServiceAccount, `mysql-pv-claim`,
 * `mysql-secret` with `username`/`password`), image and server arguments.
 *
 * Differences from upstream, on purpose: a StatefulSet instead of a Deployment (never two mysqld on one data
 * directory during a rollout); a root password generated in the cluster by a {@link GeneratedSecret} instead of an
 * empty one; a restricted, read-only pod running as the image's `mysql` user; probes; requests and limits; a
 * network policy that admits only the clients given to {@link MysqlDatabase.allowFrom}.
 */
export class MysqlDatabase extends Construct implements IDatabase {
  public readonly engine: DatabaseEngine = 'mysql';
  public readonly host: string;
  public readonly port = PORT;
  public readonly credentials: SecretKeyPair;
  /** Inside the pod network, traffic is plain TCP, confined by network policy. */
  public readonly tls: DatabaseTls = { mode: 'disabled' };
  public readonly databaseNames: DatabaseNames;
  public readonly inCluster = true;
  /** The database pods, as a network peer. */
  public readonly peer: NetworkPeer;

  public constructor(scope: Construct, id: string, props: MysqlDatabaseProps) {
    super(scope, id);
    const ctx = KfkitContext.of(this);
    const ns = props.namespace;
    const identity: ComponentIdentity = { name: 'mysql', component: 'metadata-db', version: ctx.images.entry('mysql').tag };
    const labels = standardLabels(identity);
    this.host = `mysql.${ns}.svc.cluster.local`;
    this.databaseNames = props.databaseNames ?? UPSTREAM_DATABASE_NAMES;
    this.peer = { peerName: 'mysql', namespace: ns, podLabels: selectorLabels(identity) };

    const secret = new GeneratedSecret(this, 'Credentials', {
      name: 'mysql-secret',
      namespace: ns,
      identity,
      keys: { username: { literal: 'root' }, password: { randomBytes: 24 } },
    });
    this.credentials = { secretName: secret.secretName, usernameKey: 'username', passwordKey: 'password' };

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: 'mysql', namespace: ns, labels },
      automountServiceAccountToken: false,
    });
    const data = new k8s.KubePersistentVolumeClaim(this, 'Data', {
      metadata: { name: 'mysql-pv-claim', namespace: ns, labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: props.storageClass,
        resources: { requests: { storage: k8s.Quantity.fromString(props.storageSize ?? '20Gi') } },
      },
    });
    ctx.protect(data, 'metadata database volume');
    new k8s.KubeService(this, 'Service', {
      metadata: { name: 'mysql', namespace: ns, labels },
      spec: {
        type: 'ClusterIP',
        selector: selectorLabels(identity),
        ports: [{ name: 'mysql', port: PORT, targetPort: k8s.IntOrString.fromNumber(PORT), protocol: 'TCP' }],
      },
    });
    const ping = { exec: { command: ['mysqladmin', 'ping', '--host=127.0.0.1', '--silent'] } };
    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: { name: 'mysql', namespace: ns, labels },
      spec: {
        replicas: 1,
        serviceName: 'mysql',
        selector: { matchLabels: selectorLabels(identity) },
        template: podTemplate(this, {
          identity,
          serviceAccountName: 'mysql',
          security: { user: MYSQL_UID, group: MYSQL_UID, fsGroup: MYSQL_UID },
          containers: [{
            name: 'mysql',
            image: ctx.images.image('mysql'),
            args: ['--datadir', '/var/lib/mysql', '--authentication-policy=mysql_native_password', '--mysql-native-password=ON', '--disable-log-bin'],
            ports: [{ name: 'mysql', containerPort: PORT, protocol: 'TCP' }],
            env: [{ name: 'MYSQL_ROOT_PASSWORD', valueFrom: { secretKeyRef: { name: secret.secretName, key: 'password' } } }],
            resources: props.resources ?? { cpu: { request: '100m' }, memory: { request: '800Mi', limit: '1Gi' } },
            volumeMounts: [
              { name: 'mysql-persistent-storage', mountPath: '/var/lib/mysql' },
              { name: 'run', mountPath: '/var/run/mysqld' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
            startupProbe: { ...ping, periodSeconds: 5, failureThreshold: 60 },
            readinessProbe: { ...ping, periodSeconds: 10 },
            livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(PORT) }, periodSeconds: 20 },
          }],
          volumes: [
            { name: 'mysql-persistent-storage', persistentVolumeClaim: { claimName: 'mysql-pv-claim' } },
            { name: 'run', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
          ],
        }),
      },
    });
  }

  public allowFrom(client: NetworkPeer): void {
    allowTraffic(this, client, this.peer, [{ port: PORT }]);
  }
}
