import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { DatabaseEngine, DatabaseNames, DatabaseTls, IDatabase, SecretKeyPair, UPSTREAM_DATABASE_NAMES } from '../../core/database';
import { DATABASE_CONSUMER_IDS, DatabaseConsumerId } from '../../core/database-users';
import { addressRulesFor, allowEgressToAddresses, checkedCidrs, NetworkPeer } from '../../core/network';

/** Props of {@link ExternalDatabase}. */
export interface ExternalDatabaseProps {
  /** Namespace of the consumers (where the credentials Secret must exist). */
  readonly namespace: string;
  readonly engine: DatabaseEngine;
  /** Server host name. */
  readonly host: string;
  /** Port. @default - 3306 for mysql, 5432 for postgresql */
  readonly port?: number;
  /**
   * IPv4 blocks the server's addresses are in: the only destinations of the consumers' egress (RDS: the VPC's CIDR).
   * `0.0.0.0/0` opens every address: give it only on purpose.
   */
  readonly cidrs: readonly string[];
  /**
   * The existing Secret with the credentials every consumer uses unless {@link consumerCredentials} gives it its own
   * (created by an admin or External Secrets; kfkit never sees values).
   */
  readonly credentials: SecretKeyPair;
  /**
   * A Secret per consumer: its own user, with the grants `docs/database-users.md` lists (one database each; the backup
   * reads them all). A consumer not listed uses {@link credentials}.
   * @default - none: every consumer uses {@link credentials}
   */
  readonly consumerCredentials?: Readonly<Partial<Record<DatabaseConsumerId, SecretKeyPair>>>;
  /** TLS consumers use. @default - verify-full against system roots */
  readonly tls?: DatabaseTls;
  /** Database names. @default - upstream's */
  readonly databaseNames?: DatabaseNames;
}

const DEFAULT_PORT: Readonly<Record<DatabaseEngine, number>> = { mysql: 3306, postgresql: 5432 };

/**
 * A database kfkit does not run (Amazon RDS, Cloud SQL, an existing server): a typed reference and nothing to
 * install. The credentials Secret is declared as an external object, so the harness accepts references to it and
 * `kfkit validate` states the assumption. Clients get an egress rule to the database port on the server's address
 * blocks ({@link ExternalDatabaseProps.cidrs}).
 */
export class ExternalDatabase extends Construct implements IDatabase {
  public readonly engine: DatabaseEngine;
  public readonly host: string;
  public readonly port: number;
  /** The shared credentials Secret (consumers without one of their own). */
  public readonly credentials: SecretKeyPair;
  private readonly perConsumer: Readonly<Partial<Record<DatabaseConsumerId, SecretKeyPair>>>;
  public readonly tls: DatabaseTls;
  public readonly databaseNames: DatabaseNames;
  public readonly inCluster = false;
  /** The server's address blocks. */
  public readonly cidrs: readonly string[];

  public constructor(scope: Construct, id: string, props: ExternalDatabaseProps) {
    super(scope, id);
    if (props.host.includes('://')) throw new Error(`ExternalDatabase host "${props.host}" must be a host name, without scheme`);
    this.engine = props.engine;
    this.host = props.host;
    this.port = props.port ?? DEFAULT_PORT[props.engine];
    this.credentials = props.credentials;
    this.perConsumer = props.consumerCredentials ?? {};
    this.tls = props.tls ?? { mode: 'verify-full' };
    this.databaseNames = props.databaseNames ?? UPSTREAM_DATABASE_NAMES;
    this.cidrs = checkedCidrs(`ExternalDatabase ${props.host}: cidrs`, props.cidrs);
    const ctx = KfkitContext.of(this);
    ctx.addExternalObject({
      apiVersion: 'v1', kind: 'Secret', namespace: props.namespace, name: props.credentials.secretName,
      keys: [props.credentials.usernameKey, props.credentials.passwordKey],
      reason: `credentials of the external ${props.engine} database ${props.host} (keys ${props.credentials.usernameKey}, ${props.credentials.passwordKey})`,
    });
    for (const consumer of DATABASE_CONSUMER_IDS) {
      const c = this.perConsumer[consumer];
      if (c === undefined) continue;
      ctx.addExternalObject({
        apiVersion: 'v1', kind: 'Secret', namespace: props.namespace, name: c.secretName, keys: [c.usernameKey, c.passwordKey],
        reason: `credentials of ${consumer}'s own user on the external ${props.engine} database ${props.host} (keys ${c.usernameKey}, ${c.passwordKey})`,
      });
    }
    // The CA may live in the credentials Secret: declaring it again adds its key to that Secret's.
    if (this.tls.caSecret) {
      ctx.addExternalObject({
        apiVersion: 'v1', kind: 'Secret', namespace: props.namespace, name: this.tls.caSecret.name, keys: [this.tls.caSecret.key],
        reason: `CA bundle (key ${this.tls.caSecret.key}) of the external database ${props.host}`,
      });
    }
  }

  /** The Secret of `consumer`'s own user, or the shared one. */
  public credentialsFor(consumer: DatabaseConsumerId): SecretKeyPair {
    return this.perConsumer[consumer] ?? this.credentials;
  }

  public allowFrom(client: NetworkPeer): void {
    allowEgressToAddresses(this, `Egress-${client.peerName}`, client, 'external-database', addressRulesFor(this.cidrs, [{ port: this.port }]));
  }
}
