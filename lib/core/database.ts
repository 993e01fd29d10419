import { NetworkPeer } from './network';

/** SQL dialect a database speaks. */
export type DatabaseEngine = 'mysql' | 'postgresql';

/** Where a consumer finds the database credentials: a Secret and two keys. Never the values. */
export interface SecretKeyPair {
  readonly secretName: string;
  readonly usernameKey: string;
  readonly passwordKey: string;
}

/**
 * A reference to the metadata database that consumers (Kubeflow Pipelines, ML Metadata, Katib) depend on,
 * whether it runs in the cluster or is a managed service.
 */
export interface IDatabase {
  readonly engine: DatabaseEngine;
  /** Host name consumers connect to. */
  readonly host: string;
  readonly port: number;
  /** Credentials Secret (in the consumers' namespace). */
  readonly credentials: SecretKeyPair;
  /**
   * Opens the network path from `client` to the database (ingress and egress policies). A no-op for databases
   * outside the cluster's pod network.
   */
  allowFrom(client: NetworkPeer): void;
}
