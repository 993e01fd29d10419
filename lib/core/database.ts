import type { DatabaseConsumerId } from './database-users';
import { NetworkPeer } from './network';

/** SQL dialect a database speaks. */
export type DatabaseEngine = 'mysql' | 'postgresql';

/** Where a consumer finds the database credentials: a Secret and two keys. Never the values. */
export interface SecretKeyPair {
  readonly secretName: string;
  readonly usernameKey: string;
  readonly passwordKey: string;
}

/** How consumers secure the connection. */
export type DatabaseTlsMode =
  /** Plain TCP (in-cluster databases, inside the pod network). */
  | 'disabled'
  /** TLS without certificate verification. */
  | 'required'
  /** TLS, server certificate verified against a CA. */
  | 'verify-ca'
  /** TLS, certificate and host name verified. */
  | 'verify-full';

/** TLS settings consumers use to connect. */
export interface DatabaseTls {
  readonly mode: DatabaseTlsMode;
  /** CA bundle for `verify-ca`/`verify-full`: a Secret key in the consumers' namespace. @default - system roots */
  readonly caSecret?: { readonly name: string; readonly key: string };
}

/** Names of the databases each consumer uses (upstream defaults: mlpipeline, metadb, cachedb, katib). */
export interface DatabaseNames {
  readonly pipelines: string;
  readonly metadata: string;
  readonly cache: string;
  readonly katib: string;
}

/** Upstream's database names (kubeflow/pipelines pipeline-install-config, Katib). */
export const UPSTREAM_DATABASE_NAMES: DatabaseNames = { pipelines: 'mlpipeline', metadata: 'metadb', cache: 'cachedb', katib: 'katib' };

/**
 * A reference to the metadata database that consumers (Kubeflow Pipelines, ML Metadata, Katib) depend on,
 * whether it runs in the cluster or is a managed service. Swapping one for the other changes config, not consumers.
 */
export interface IDatabase {
  readonly engine: DatabaseEngine;
  /** Host name consumers connect to. */
  readonly host: string;
  readonly port: number;
  /**
   * The credentials Secret (in the consumers' namespace) of one consumer: its own user, with rights on its own
   * database only (in-cluster: generated; external: what the admins give per consumer).
   */
  credentialsFor(consumer: DatabaseConsumerId): SecretKeyPair;
  /**
   * The administrator's credentials (root, the superuser), for one-shot administrative Jobs only (creating the users,
   * a restore). `undefined` for a database outside the cluster, whose administrator kfkit never holds.
   */
  readonly adminCredentials?: SecretKeyPair;
  readonly tls: DatabaseTls;
  readonly databaseNames: DatabaseNames;
  /** Whether the database runs in the cluster (then backups and network policies apply). */
  readonly inCluster: boolean;
  /**
   * Opens the network path from `client` to the database (ingress and egress policies). For a database outside
   * the cluster, an egress rule to its port.
   */
  allowFrom(client: NetworkPeer): void;
}
