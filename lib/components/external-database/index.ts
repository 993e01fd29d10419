import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { DatabaseEngine, DatabaseNames, DatabaseTls, IDatabase, SecretKeyPair, UPSTREAM_DATABASE_NAMES } from '../../core/database';
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
  /** The existing Secret with the credentials (created by an admin or External Secrets; kfkit never sees values). */
  readonly credentials: SecretKeyPair;
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
  public readonly credentials: SecretKeyPair;
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
    this.tls = props.tls ?? { mode: 'verify-full' };
    this.databaseNames = props.databaseNames ?? UPSTREAM_DATABASE_NAMES;
    this.cidrs = checkedCidrs(`ExternalDatabase ${props.host}: cidrs`, props.cidrs);
    const ctx = KfkitContext.of(this);
    ctx.addExternalObject({
      apiVersion: 'v1', kind: 'Secret', namespace: props.namespace, name: props.credentials.secretName,
      keys: [props.credentials.usernameKey, props.credentials.passwordKey],
      reason: `credentials of the external ${props.engine} database ${props.host} (keys ${props.credentials.usernameKey}, ${props.credentials.passwordKey})`,
    });
    // The CA may live in the credentials Secret: declaring it again adds its key to that Secret's.
    if (this.tls.caSecret) {
      ctx.addExternalObject({
        apiVersion: 'v1', kind: 'Secret', namespace: props.namespace, name: this.tls.caSecret.name, keys: [this.tls.caSecret.key],
        reason: `CA bundle (key ${this.tls.caSecret.key}) of the external database ${props.host}`,
      });
    }
  }

  public allowFrom(client: NetworkPeer): void {
    allowEgressToAddresses(this, `Egress-${client.peerName}`, client, 'external-database', addressRulesFor(this.cidrs, [{ port: this.port }]));
  }
}
