import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { DatabaseEngine, SecretKeyPair } from '../../core/database';
import { GeneratedSecret } from '../../core/generated-secret';
import { InClusterDatabase, InClusterDatabaseProps } from '../../core/in-cluster-database';
import { ResourceBudget } from '../../core/security';
import { singleInstanceServer } from '../../core/stateful-server';
import { servicePort } from '../../core/workload';

/** Props of {@link MysqlDatabase}. */
export interface MysqlDatabaseProps extends InClusterDatabaseProps {
  /**
   * Compute budget of the mysqld container.
   * @default - 100m CPU request; 800Mi memory request, 1Gi limit
   */
  readonly resources?: ResourceBudget;
}

const PORT = 3306;
/** UID/GID of the `mysql` user in the official image: mysqld runs as it without the entrypoint's root step. */
const MYSQL_UID = 999;

/**
 * In-cluster MySQL 8 for the platform metadata (Kubeflow Pipelines, ML Metadata, Katib), following the
 * kubeflow/pipelines platform-agnostic install: same names (`mysql` Service and ServiceAccount, `mysql-pv-claim`,
 * `mysql-secret` with `username`/`password`), image and server arguments.
 *
 * Consumers never connect as root: each has its own user and Secret ({@link InClusterDatabase.credentialsFor}),
 * created by a one-shot Job that alone reads `mysql-secret`.
 *
 * Differences from upstream, on purpose: a StatefulSet instead of a Deployment (never two mysqld on one data
 * directory during a rollout); a root password generated in the cluster by a {@link GeneratedSecret} instead of an
 * empty one; a restricted, read-only pod running as the image's `mysql` user; probes; requests and limits; a
 * network policy that admits only the clients given to {@link MysqlDatabase.allowFrom}.
 */
export class MysqlDatabase extends InClusterDatabase {
  public readonly engine: DatabaseEngine = 'mysql';
  public readonly host: string;
  public readonly port = PORT;
  public readonly adminCredentials: SecretKeyPair;

  public constructor(scope: Construct, id: string, props: MysqlDatabaseProps) {
    super(scope, id, props, { name: 'mysql', image: 'mysql' });
    const ctx = KfkitContext.of(this);
    const ns = props.namespace;
    const identity = this.identity;
    this.host = `mysql.${ns}.svc.cluster.local`;

    const secret = new GeneratedSecret(this, 'Credentials', {
      name: 'mysql-secret',
      namespace: ns,
      identity,
      keys: { username: { literal: 'root' }, password: { randomBytes: 24 } },
    });
    this.adminCredentials = { secretName: secret.secretName, usernameKey: 'username', passwordKey: 'password' };

    const ping = { exec: { command: ['mysqladmin', 'ping', '--host=127.0.0.1', '--silent'] } };
    singleInstanceServer(this, {
      namespace: ns,
      identity,
      serviceAccountName: 'mysql',
      service: { name: 'mysql', ports: [servicePort('mysql', PORT)] },
      claimName: 'mysql-pv-claim',
      storage: props,
      protectReason: 'metadata database volume',
      pod: {
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
      },
    });
    this.createUsers('mysql', {
      credentials: this.adminCredentials,
      env: [{ name: 'MYSQL_PWD', valueFrom: { secretKeyRef: { name: secret.secretName, key: 'password' } } }],
      command: `mysql --protocol=TCP --host=${this.host} --port=${PORT} --user=root --batch`,
      user: MYSQL_UID,
      serviceAccountName: 'mysql',
    });
  }
}
