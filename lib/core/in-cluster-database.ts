import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from './context';
import { DatabaseEngine, DatabaseNames, DatabaseTls, IDatabase, SecretKeyPair, UPSTREAM_DATABASE_NAMES } from './database';
import { DATABASE_CONSUMER_IDS, DatabaseConsumerId, databaseLogins, databaseUsers, grantSql, loginPlaceholder, passwordPlaceholder } from './database-users';
import { GeneratedSecret } from './generated-secret';
import { ImageKey } from './images';
import { oneShotJobName } from './job-name';
import { ComponentIdentity, selectorLabels, standardLabels } from './labels';
import { allowTraffic, NetworkPeer } from './network';
import { DataVolumeProps } from './stateful-server';
import { Wave } from './waves';
import { podTemplate } from './workload';

/** What every in-cluster database takes besides its compute budget. */
export interface InClusterDatabaseProps extends DataVolumeProps {
  /** Namespace the database runs in (the platform namespace: consumers read its credentials Secret there). */
  readonly namespace: string;
  /**
   * Database names consumers use.
   * @default - upstream's: mlpipeline, metadb, cachedb, katib
   */
  readonly databaseNames?: DatabaseNames;
  /**
   * The consumers that connect. Each gets its own user (`kf_<consumer>`, with two logins for rotation) with rights on
   * its own database only, and its own generated Secret `metadata-db-<consumer>` (`username`, `password`); the backup
   * reads every database.
   * @default - all: pipelines, metadata, cache, katib, backup
   */
  readonly consumers?: readonly DatabaseConsumerId[];
}

/** How the users Job reaches the server as its administrator. */
export interface DatabaseAdminClient {
  /** The administrator's credentials (the server's root or superuser). */
  readonly credentials: SecretKeyPair;
  /** Environment that points the engine's client at the server as the administrator (password by `secretKeyRef`). */
  readonly env: readonly k8s.EnvVar[];
  /** The client command reading SQL on stdin, as a shell word list (e.g. `mysql --protocol=TCP …`). */
  readonly command: string;
  /** UID/GID of the server image's user, which the Job runs as. */
  readonly user: number;
  /** ServiceAccount of the server (no rights), which the Job runs as. */
  readonly serviceAccountName: string;
}

/**
 * The users Job's program (POSIX sh, in the server's own image, which has the client): each consumer's login and
 * password from its Secret — the login checked to be one of the consumer's two — put into the SQL's placeholders, the
 * password base64-encoded (so no value can break out of a string), then the SQL into the client as the administrator.
 * `$1` is the SQL; `CONSUMERS` names the consumers; `LOGIN_<consumer>`, `PASSWORD_<consumer>` come from each Secret,
 * `LOGINS_<consumer>` lists its two logins; `DB_CLIENT` is the client command.
 */
const USERS_PROGRAM = `set -eu
sql=$1
for c in $CONSUMERS; do
  eval "password=\\\${PASSWORD_$c}; login=\\\${LOGIN_$c}; logins=\\\${LOGINS_$c}"
  case "$login" in
    *[!a-z0-9_]*|'') echo "the Secret of $c names the login '$login'; it must be one of: $logins" >&2; exit 1 ;;
  esac
  case " $logins " in
    *" $login "*) ;;
    *) echo "the Secret of $c names the login '$login'; it must be one of: $logins" >&2; exit 1 ;;
  esac
  if [ -z "$password" ]; then echo "the Secret of $c has an empty password" >&2; exit 1; fi
  encoded=$(printf '%s' "$password" | base64 | tr -d '\\n')
  sql=$(printf '%s\\n' "$sql" | sed -e "s|{{password-base64:$c}}|$encoded|g" -e "s|{{login:$c}}|$login|g")
done
printf '%s\\n' "$sql" | $DB_CLIENT
echo "database users in place: $CONSUMERS"
`;

/** Which server an {@link InClusterDatabase} runs. */
export interface InClusterDatabaseServer {
  /** Name of the workload (`app.kubernetes.io/name`) and of its network peer, e.g. `mysql`. */
  readonly name: string;
  /** Catalog key of the server image; its tag is the objects' version label. */
  readonly image: ImageKey;
}

/**
 * What the in-cluster databases (MySQL, PostgreSQL) have in common as an {@link IDatabase}: plain TCP inside the pod
 * network, the consumers' database names, the server pods as a network peer that admits exactly the clients given
 * to {@link allowFrom}, and the identity (labels) of the server's objects, component `metadata-db`.
 */
export abstract class InClusterDatabase extends Construct implements IDatabase {
  public abstract readonly engine: DatabaseEngine;
  public abstract readonly host: string;
  public abstract readonly port: number;
  /** The administrator's credentials (root, the superuser): read by the server and the users Job only. */
  public abstract readonly adminCredentials: SecretKeyPair;
  /** Inside the pod network, traffic is plain TCP, confined by network policy. */
  public readonly tls: DatabaseTls = { mode: 'disabled' };
  public readonly databaseNames: DatabaseNames;
  public readonly inCluster = true;
  /** The database pods, as a network peer. */
  public readonly peer: NetworkPeer;
  /** The consumers that have a user. */
  public readonly consumers: readonly DatabaseConsumerId[];
  /** Identity of the server's objects. */
  protected readonly identity: ComponentIdentity;
  private readonly namespace: string;
  private readonly image: ImageKey;
  private readonly consumerSecrets = new Map<DatabaseConsumerId, SecretKeyPair>();

  /** The wave of the database servers: after the credentials, before every consumer. */
  public static serversWave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.ensureWave('databases', {
      description: 'The in-cluster metadata database, serving before its users are created and before any consumer starts.',
      after: [GeneratedSecret.wave(scope)],
      before: [plan.controllers],
    });
  }

  /** The wave of the users Job: once the server serves, before every consumer. */
  public static usersWave(scope: Construct): Wave {
    return KfkitContext.of(scope).plan.ensureWave('database-users', {
      description: 'The one-shot Job that creates each consumer\'s database user and database (the only use of the administrator\'s credentials).',
      after: [InClusterDatabase.serversWave(scope)],
      before: [KfkitContext.of(scope).plan.controllers],
    });
  }

  protected constructor(scope: Construct, id: string, props: InClusterDatabaseProps, server: InClusterDatabaseServer) {
    super(scope, id);
    this.identity = { name: server.name, component: 'metadata-db', version: KfkitContext.of(this).images.entry(server.image).tag };
    this.databaseNames = props.databaseNames ?? UPSTREAM_DATABASE_NAMES;
    this.peer = { peerName: server.name, namespace: props.namespace, podLabels: selectorLabels(this.identity) };
    this.namespace = props.namespace;
    this.image = server.image;
    const consumers = props.consumers ?? DATABASE_CONSUMER_IDS;
    for (const c of consumers) {
      if (!DATABASE_CONSUMER_IDS.includes(c)) throw new Error(`${this.node.path}: consumers: "${c}" is not one of ${DATABASE_CONSUMER_IDS.join(', ')}`);
    }
    if (new Set(consumers).size !== consumers.length) throw new Error(`${this.node.path}: consumers lists a consumer twice`);
    this.consumers = DATABASE_CONSUMER_IDS.filter((c) => consumers.includes(c));
    KfkitContext.of(this).plan.assign(this, InClusterDatabase.serversWave(this));
  }

  /** The Secret (`username`, `password`) of `consumer`'s own user. Throws if the database was not given that consumer. */
  public credentialsFor(consumer: DatabaseConsumerId): SecretKeyPair {
    const found = this.consumerSecrets.get(consumer);
    if (!found) {
      throw new Error(`${this.node.path}: ${consumer} is not one of this database's consumers (${this.consumers.join(', ') || 'none'}); add it to consumers`);
    }
    return found;
  }

  /**
   * Creates each consumer's generated Secret and the one-shot Job that, as the administrator, creates (or updates) the
   * users and databases with {@link grantSql}. Called by the engine's construct once its server is defined.
   */
  protected createUsers(engine: DatabaseEngine, admin: DatabaseAdminClient): void {
    if (this.consumers.length === 0) return;
    const ctx = KfkitContext.of(this);
    for (const c of this.consumers) {
      const secret = new GeneratedSecret(this, `User-${c}`, {
        name: `metadata-db-${c}`,
        namespace: this.namespace,
        identity: this.identity,
        keys: { username: { literal: databaseLogins(c)[0] }, password: { randomBytes: 24 } },
      });
      this.consumerSecrets.set(c, { secretName: secret.secretName, usernameKey: 'username', passwordKey: 'password' });
    }
    const sql = grantSql(engine, databaseUsers(this.databaseNames, this.consumers));
    for (const c of this.consumers) {
      if (!sql.includes(passwordPlaceholder(c)) || !sql.includes(loginPlaceholder(c))) throw new Error(`${this.node.path}: the grant SQL has no login for ${c}`);
    }
    const name = `${this.identity.name}-users`;
    const identity: ComponentIdentity = { ...this.identity, name };
    const users = new Construct(this, 'Users');
    const spec: k8s.JobSpec = {
      backoffLimit: 6,
      template: podTemplate(users, {
        identity,
        serviceAccountName: admin.serviceAccountName,
        restartPolicy: 'OnFailure',
        security: { user: admin.user, group: admin.user },
        containers: [{
          name: 'users',
          image: ctx.images.image(this.image),
          command: ['sh', '-c', USERS_PROGRAM, 'users', sql],
          env: [
            ...admin.env,
            { name: 'DB_CLIENT', value: admin.command },
            { name: 'CONSUMERS', value: this.consumers.join(' ') },
            { name: 'HOME', value: '/tmp' },
            ...this.consumers.flatMap((c): k8s.EnvVar[] => [
              { name: `LOGIN_${c}`, valueFrom: { secretKeyRef: { name: this.credentialsFor(c).secretName, key: 'username' } } },
              { name: `LOGINS_${c}`, value: databaseLogins(c).join(' ') },
              { name: `PASSWORD_${c}`, valueFrom: { secretKeyRef: { name: this.credentialsFor(c).secretName, key: 'password' } } },
            ]),
          ],
          resources: { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '128Mi' } },
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        }],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      }),
    };
    new k8s.KubeJob(users, 'Job', {
      metadata: { name: oneShotJobName(name, spec), namespace: this.namespace, labels: standardLabels(identity) },
      spec,
    });
    ctx.plan.assign(users, InClusterDatabase.usersWave(this));
    this.allowFrom({ peerName: name, namespace: this.namespace, podLabels: selectorLabels(identity) });
  }

  /** Opens `client` → the database port (ingress and egress policies). */
  public allowFrom(client: NetworkPeer): void {
    allowTraffic(this, client, this.peer, [{ port: this.port }]);
  }
}
