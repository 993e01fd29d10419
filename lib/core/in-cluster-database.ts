import { Construct } from 'constructs';
import { KfkitContext } from './context';
import { DatabaseEngine, DatabaseNames, DatabaseTls, IDatabase, SecretKeyPair, UPSTREAM_DATABASE_NAMES } from './database';
import { ImageKey } from './images';
import { ComponentIdentity, selectorLabels } from './labels';
import { allowTraffic, NetworkPeer } from './network';
import { DataVolumeProps } from './stateful-server';

/** What every in-cluster database takes besides its compute budget. */
export interface InClusterDatabaseProps extends DataVolumeProps {
  /** Namespace the database runs in (the platform namespace: consumers read its credentials Secret there). */
  readonly namespace: string;
  /**
   * Database names consumers use.
   * @default - upstream's: mlpipeline, metadb, cachedb, katib
   */
  readonly databaseNames?: DatabaseNames;
}

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
  public abstract readonly credentials: SecretKeyPair;
  /** Inside the pod network, traffic is plain TCP, confined by network policy. */
  public readonly tls: DatabaseTls = { mode: 'disabled' };
  public readonly databaseNames: DatabaseNames;
  public readonly inCluster = true;
  /** The database pods, as a network peer. */
  public readonly peer: NetworkPeer;
  /** Identity of the server's objects. */
  protected readonly identity: ComponentIdentity;

  protected constructor(scope: Construct, id: string, props: InClusterDatabaseProps, server: InClusterDatabaseServer) {
    super(scope, id);
    this.identity = { name: server.name, component: 'metadata-db', version: KfkitContext.of(this).images.entry(server.image).tag };
    this.databaseNames = props.databaseNames ?? UPSTREAM_DATABASE_NAMES;
    this.peer = { peerName: server.name, namespace: props.namespace, podLabels: selectorLabels(this.identity) };
  }

  /** Opens `client` → the database port (ingress and egress policies). */
  public allowFrom(client: NetworkPeer): void {
    allowTraffic(this, client, this.peer, [{ port: this.port }]);
  }
}
