import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { DatabaseEngine, SecretKeyPair } from '../../core/database';
import { GeneratedSecret } from '../../core/generated-secret';
import { InClusterDatabase, InClusterDatabaseProps } from '../../core/in-cluster-database';
import { ResourceBudget } from '../../core/security';
import { singleInstanceServer } from '../../core/stateful-server';
import { servicePort } from '../../core/workload';

/** Props of {@link PostgresDatabase}. */
export interface PostgresDatabaseProps extends InClusterDatabaseProps {
  /**
   * Compute budget of the postgres container.
   * @default - 100m CPU request; 512Mi memory request, 1Gi limit
   */
  readonly resources?: ResourceBudget;
}

const PORT = 5432;
/** UID/GID of the `postgres` user in the official Alpine image: the entrypoint runs initdb and postgres as it. */
const POSTGRES_UID = 70;
/** The superuser upstream creates (`POSTGRES_USER`) and its clients log in as (`postgres-secret-extended` username). */
const SUPERUSER = 'user';
/** Mount point of the data volume, and PGDATA one level below it (initdb wants an empty directory it owns). */
const DATA_MOUNT = '/var/lib/postgresql/data';
const PGDATA = `${DATA_MOUNT}/pgdata`;
/** Upstream names (kubeflow/pipelines 2.17.0 manifests/kustomize/third-party/postgresql). */
const NAMES = {
  workload: 'postgres',
  serviceAccount: 'postgresql',
  service: 'postgres-service',
  claim: 'postgres-pvc',
  volume: 'postgres-stateful-data',
  /** What the server reads: key `root_password`. */
  serverSecret: 'postgres-secret',
  /** What the clients read: keys `username`, `password`. */
  clientSecret: 'postgres-secret-extended',
} as const;

/**
 * In-cluster PostgreSQL 14 for the platform metadata (Kubeflow Pipelines, ML Metadata, Katib), following the
 * kubeflow/pipelines platform-agnostic-postgresql install: same names (`postgres` workload and container,
 * `postgresql` ServiceAccount, `postgres-service`, `postgres-pvc`), image, port and environment — PGDATA below the
 * volume, database `postgres`, superuser `user` whose password the server reads from `postgres-secret`
 * (`root_password`) and clients from `postgres-secret-extended` (`username`, `password`).
 *
 * Consumers never connect as the superuser: each has its own role and Secret ({@link InClusterDatabase.credentialsFor}),
 * created by a one-shot Job that alone reads the superuser's password.
 *
 * Differences from upstream, on purpose: a StatefulSet instead of a Deployment (never two servers on one data
 * directory); both Secrets generated in the cluster by one {@link GeneratedSecret} Job from one random password
 * (upstream commits fixed values), so they cannot drift apart; a restricted, read-only pod running as the image's
 * `postgres` user; pg_isready probes; requests and limits; a network policy that admits only the clients given to
 * {@link PostgresDatabase.allowFrom}.
 */
export class PostgresDatabase extends InClusterDatabase {
  public readonly engine: DatabaseEngine = 'postgresql';
  public readonly host: string;
  public readonly port = PORT;
  /** `postgres-secret-extended` (`username`, `password`): the superuser, which upstream's clients read; here only the users Job. */
  public readonly adminCredentials: SecretKeyPair;

  public constructor(scope: Construct, id: string, props: PostgresDatabaseProps) {
    super(scope, id, props, { name: NAMES.workload, image: 'postgres' });
    const ctx = KfkitContext.of(this);
    const ns = props.namespace;
    const identity = this.identity;
    this.host = `${NAMES.service}.${ns}.svc.cluster.local`;

    // One generated password under both upstream names: the server's root_password is the clients' password.
    const secret = new GeneratedSecret(this, 'Credentials', {
      name: NAMES.clientSecret,
      namespace: ns,
      identity,
      keys: { username: { literal: SUPERUSER }, password: { randomBytes: 24 } },
      sharedWith: [{ name: NAMES.serverSecret, keys: { root_password: 'password' } }],
    });
    this.adminCredentials = { secretName: secret.secretName, usernameKey: 'username', passwordKey: 'password' };

    // Over TCP on purpose: during first-start initialisation the entrypoint's temporary server listens on the
    // socket only, so the pod turns ready once the real server accepts network connections.
    const ready = { exec: { command: ['pg_isready', '--host=127.0.0.1', `--port=${PORT}`, `--username=${SUPERUSER}`, '--dbname=postgres', '--quiet'] } };
    singleInstanceServer(this, {
      namespace: ns,
      identity,
      serviceAccountName: NAMES.serviceAccount,
      service: { name: NAMES.service, ports: [servicePort(undefined, PORT)] },
      claimName: NAMES.claim,
      protectReason: 'metadata database volume',
      storage: props,
      pod: {
        security: { user: POSTGRES_UID, group: POSTGRES_UID, fsGroup: POSTGRES_UID },
        containers: [{
          name: 'postgres',
          image: ctx.images.image('postgres'),
          ports: [{ name: 'postgres', containerPort: PORT, protocol: 'TCP' }],
          env: [
            { name: 'POSTGRES_DB', value: 'postgres' },
            { name: 'POSTGRES_USER', value: SUPERUSER },
            { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: NAMES.serverSecret, key: 'root_password' } } },
            { name: 'PGDATA', value: PGDATA },
          ],
          resources: props.resources ?? { cpu: { request: '100m' }, memory: { request: '512Mi', limit: '1Gi' } },
          volumeMounts: [
            { name: NAMES.volume, mountPath: DATA_MOUNT },
            { name: 'run', mountPath: '/var/run/postgresql' },
            { name: 'tmp', mountPath: '/tmp' },
          ],
          startupProbe: { ...ready, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
          readinessProbe: { ...ready, periodSeconds: 10, timeoutSeconds: 5 },
          livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromNumber(PORT) }, periodSeconds: 20 },
        }],
        volumes: [
          { name: NAMES.volume, persistentVolumeClaim: { claimName: NAMES.claim } },
          { name: 'run', emptyDir: {} },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    });
    this.createUsers('postgresql', {
      credentials: this.adminCredentials,
      env: [
        { name: 'PGHOST', value: this.host },
        { name: 'PGPORT', value: String(PORT) },
        { name: 'PGUSER', value: SUPERUSER },
        { name: 'PGDATABASE', value: 'postgres' },
        { name: 'PGPASSWORD', valueFrom: { secretKeyRef: { name: NAMES.serverSecret, key: 'root_password' } } },
      ],
      command: 'psql -X -q -v ON_ERROR_STOP=1',
      user: POSTGRES_UID,
      serviceAccountName: NAMES.serviceAccount,
    });
  }
}
