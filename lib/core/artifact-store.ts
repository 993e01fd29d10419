import { EgressTarget, GroupPods, NetworkPeer } from './network';

/** How workloads authenticate to the artifact store. Never the key values. */
export type ArtifactCredentials =
  /** Static keys from a Secret in the consumers' namespace. */
  | { readonly type: 'secret'; readonly secretName: string; readonly accessKeyKey: string; readonly secretKeyKey: string }
  /** AWS IAM Roles for Service Accounts: the ServiceAccount carries the role ARN; no key env vars anywhere. */
  | { readonly type: 'irsa'; readonly roleArn: string }
  /** GKE Workload Identity: the ServiceAccount is bound to a Google service account. */
  | { readonly type: 'workload-identity'; readonly gcpServiceAccount: string };

/** What kind of store sits behind the S3 API. */
export type ArtifactProvider = 's3' | 'gcs' | 's3-compatible' | 'seaweedfs';

/** S3-compatible artifact storage that pipelines, KServe and backups use, in-cluster or managed. */
export interface IArtifactStore {
  readonly provider: ArtifactProvider;
  /** S3 API host (and port), without scheme, e.g. `seaweedfs.kubeflow:8333`, `s3.amazonaws.com`. */
  readonly endpoint: string;
  /** Whether the endpoint speaks TLS. */
  readonly secure: boolean;
  readonly region: string;
  readonly bucket: string;
  /** Path-style addressing (`endpoint/bucket/key`) instead of virtual-hosted buckets. */
  readonly pathStyle: boolean;
  readonly credentials: ArtifactCredentials;
  /** Whether the store runs in the cluster. */
  readonly inCluster: boolean;
  /** Annotations a consuming ServiceAccount needs (IRSA role ARN, Workload Identity binding). */
  serviceAccountAnnotations(): Record<string, string>;
  /** Opens the network path from `client` to the store. */
  allowFrom(client: NetworkPeer): void;
  /**
   * Admits the pods of a group of namespaces (every tenant profile) on the store's side, once per group, and returns
   * what each of those namespaces must allow in its own egress policy.
   */
  admitGroup(clients: GroupPods): EgressTarget;
}

/** The ServiceAccount annotation that gives a pod an AWS IAM role on EKS (IRSA). */
export const IRSA_ROLE_ANNOTATION = 'eks.amazonaws.com/role-arn';
/** The ServiceAccount annotation that binds a GKE Workload Identity. */
export const GKE_SERVICE_ACCOUNT_ANNOTATION = 'iam.gke.io/gcp-service-account';

/** ServiceAccount annotations that give pods the identity of `credentials`. */
export function identityAnnotations(credentials: ArtifactCredentials): Record<string, string> {
  switch (credentials.type) {
    case 'irsa': return { [IRSA_ROLE_ANNOTATION]: credentials.roleArn };
    case 'workload-identity': return { [GKE_SERVICE_ACCOUNT_ANNOTATION]: credentials.gcpServiceAccount };
    case 'secret': return {};
  }
}

/** Host and port of a store's endpoint (`host[:port]`; without a port, 443 with TLS, else 80). */
export function endpointHostPort(store: Pick<IArtifactStore, 'endpoint' | 'secure'>): { host: string; port: number } {
  const parts = store.endpoint.split(':');
  const port = parts.at(1);
  return { host: parts[0], port: port !== undefined ? Number(port) : store.secure ? 443 : 80 };
}
