import { Construct } from 'constructs';
import { ArtifactCredentials, endpointHostPort, identityAnnotations, IArtifactStore } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { AddressRule, addressRulesFor, allowEgressToAddresses, checkedCidrs, EgressTarget, NetworkPeer } from '../../core/network';

/** Kind of service behind an {@link ExternalArtifactStore}. */
export type ExternalArtifactProvider = 's3' | 'gcs' | 's3-compatible';

/** Props of {@link ExternalArtifactStore}. */
export interface ExternalArtifactStoreProps {
  /** Namespace of the consumers (where a credentials Secret must exist). */
  readonly namespace: string;
  /** Amazon S3, Google Cloud Storage (S3 interoperability API) or another S3-compatible service. */
  readonly provider: ExternalArtifactProvider;
  /**
   * S3 API host and optional port, without scheme (e.g. `minio.storage.example:9000`).
   * @default - `s3.<region>.amazonaws.com` for s3, `storage.googleapis.com` for gcs; required for s3-compatible
   */
  readonly endpoint?: string;
  /**
   * Region clients sign requests for.
   * @default - `auto` for gcs; required for s3 and s3-compatible
   */
  readonly region?: string;
  /** The artifact bucket (must exist; kfkit does not create buckets outside the cluster). */
  readonly bucket: string;
  /**
   * Path-style addressing (`endpoint/bucket/key`) instead of virtual-hosted buckets.
   * @default - false for s3, true for gcs and s3-compatible
   */
  readonly pathStyle?: boolean;
  /**
   * TLS to the endpoint.
   * @default true
   */
  readonly secure?: boolean;
  /**
   * How workloads authenticate: keys in an existing Secret, IRSA (s3 only) or GKE Workload Identity (gcs only).
   * kfkit never sees key values.
   */
  readonly credentials: ArtifactCredentials;
  /**
   * IPv4 blocks where the clients reach the endpoint — and, with IRSA, AWS STS: the only destinations of their egress.
   * On AWS, give the VPC's CIDR and reach S3 and STS through interface VPC endpoints with private DNS (the AWS cloud
   * stack creates them); another service: its addresses. `0.0.0.0/0` opens every address: give it only on purpose.
   */
  readonly cidrs: readonly string[];
}

const HOST_PORT = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?$/i;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION_NAME = /^[a-z0-9-]+$/;
const GCS_ENDPOINT = 'storage.googleapis.com';
/** GKE metadata server: 169.254.169.254:80 with Dataplane V2, 169.254.169.252:988 with Calico (GKE 1.21+). */
const GKE_METADATA: readonly { readonly cidr: string; readonly port: number }[] = [
  { cidr: '169.254.169.254/32', port: 80 },
  { cidr: '169.254.169.252/32', port: 988 },
];

function fail(message: string): never {
  throw new Error(`ExternalArtifactStore: ${message}`);
}

function validate(props: ExternalArtifactStoreProps): void {
  const { provider, credentials } = props;
  if (props.endpoint !== undefined) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(props.endpoint);
    if (scheme) {
      const tls = scheme[1].toLowerCase() === 'https' ? 'secure: true (the default)' : scheme[1].toLowerCase() === 'http' ? 'secure: false' : 'secure';
      fail(`endpoint "${props.endpoint}" must be host[:port] without a scheme; write "${props.endpoint.slice(scheme[0].length).replace(/\/+$/, '')}" and set ${tls}`);
    }
    if (!HOST_PORT.test(props.endpoint)) fail(`endpoint "${props.endpoint}" must be host[:port] (no path), e.g. minio.storage.example:9000`);
    const port = Number(props.endpoint.split(':').at(1) ?? '443');
    if (port < 1 || port > 65535) fail(`endpoint "${props.endpoint}" has port ${port}; use 1-65535`);
  } else if (provider === 's3-compatible') {
    fail('provider s3-compatible needs an endpoint (host[:port] of the S3 API, e.g. minio.storage.example:9000)');
  }
  if (props.region === undefined && provider !== 'gcs') {
    fail(provider === 's3'
      ? 'provider s3 needs a region (the bucket\'s AWS region, e.g. eu-west-1)'
      : 'provider s3-compatible needs a region (the one the service expects, often us-east-1)');
  }
  if (props.region !== undefined && !REGION_NAME.test(props.region)) fail(`region "${props.region}" must be a region name such as eu-west-1`);
  if (!BUCKET_NAME.test(props.bucket)) fail(`bucket "${props.bucket}" must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'`);
  if (credentials.type === 'irsa') {
    if (provider !== 's3') fail(`irsa gives AWS identities and works only with provider s3, not ${provider}; use secret${provider === 'gcs' ? ' or workload-identity' : ''} credentials`);
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(credentials.roleArn)) {
      fail(`irsa roleArn "${credentials.roleArn}" must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/kubeflow-pipelines`);
    }
  }
  if (credentials.type === 'workload-identity') {
    if (provider !== 'gcs') fail(`workload-identity gives Google identities and works only with provider gcs, not ${provider}; use ${provider === 's3' ? 'irsa or ' : ''}secret credentials`);
    if (!/^[a-z][-a-z0-9]*@[-a-z0-9.]+\.iam\.gserviceaccount\.com$/.test(credentials.gcpServiceAccount)) {
      fail(`gcpServiceAccount "${credentials.gcpServiceAccount}" must be a Google service account e-mail (name@project.iam.gserviceaccount.com)`);
    }
  }
}

/**
 * An artifact store kfkit does not run — Amazon S3, Google Cloud Storage through its S3 interoperability API, or
 * another S3-compatible service: a typed reference and nothing to install.
 *
 * Credentials never pass through kfkit. With `secret`, the Secret is declared as an external object, so the harness
 * accepts references to it and `kfkit validate` states the assumption. With `irsa` (AWS) or `workload-identity`
 * (GKE), consumers put {@link ExternalArtifactStore.serviceAccountAnnotations} on their ServiceAccount and the cloud
 * SDK obtains short-lived credentials: no Secret and no key variables anywhere (static keys would shadow the role).
 * Clients get an egress rule to the endpoint's port on the store's address blocks ({@link ExternalArtifactStoreProps.cidrs}),
 * plus the STS port there for IRSA and the GKE metadata server for Workload Identity.
 */
export class ExternalArtifactStore extends Construct implements IArtifactStore {
  public readonly provider: ExternalArtifactProvider;
  public readonly endpoint: string;
  public readonly secure: boolean;
  public readonly region: string;
  public readonly bucket: string;
  public readonly pathStyle: boolean;
  public readonly credentials: ArtifactCredentials;
  public readonly inCluster = false;
  /** Where the clients reach the endpoint (and STS with IRSA). */
  public readonly cidrs: readonly string[];

  public constructor(scope: Construct, id: string, props: ExternalArtifactStoreProps) {
    super(scope, id);
    validate(props);
    this.cidrs = checkedCidrs('ExternalArtifactStore: cidrs', props.cidrs);
    this.provider = props.provider;
    this.region = props.region ?? 'auto';
    this.endpoint = props.endpoint ?? (props.provider === 'gcs' ? GCS_ENDPOINT : `s3.${this.region}.amazonaws.com`);
    this.secure = props.secure ?? true;
    this.bucket = props.bucket;
    this.pathStyle = props.pathStyle ?? props.provider !== 's3';
    this.credentials = props.credentials;
    if (props.credentials.type === 'secret') {
      KfkitContext.of(this).addExternalObject({
        apiVersion: 'v1', kind: 'Secret', namespace: props.namespace, name: props.credentials.secretName,
        keys: [props.credentials.accessKeyKey, props.credentials.secretKeyKey],
        reason: `keys of the external ${props.provider} artifact store ${this.endpoint}/${this.bucket} ` +
          `(keys ${props.credentials.accessKeyKey}, ${props.credentials.secretKeyKey})`,
      });
    }
  }

  /** Port of the endpoint: explicit, else 443 (TLS) or 80. */
  public get port(): number {
    return endpointHostPort(this).port;
  }

  /** The IRSA role or Workload Identity binding for consuming ServiceAccounts; none for Secret keys. */
  public serviceAccountAnnotations(): Record<string, string> {
    return identityAnnotations(this.credentials);
  }

  /**
   * Opens egress from `client` to the endpoint's port on the store's blocks; with IRSA also 443 there (AWS STS, where
   * the SDK exchanges the ServiceAccount token), with Workload Identity also the GKE metadata server.
   */
  public allowFrom(client: NetworkPeer): void {
    const target = this.egressTarget();
    allowEgressToAddresses(this, `Egress-${client.peerName}`, client, 'artifact-store', 'addresses' in target ? target.addresses : []);
  }

  /** A store outside the cluster has no side to open: the clients' egress to its addresses is all it takes. */
  public admitGroup(): EgressTarget {
    return this.egressTarget();
  }

  private egressTarget(): EgressTarget {
    const ports = [...new Set([this.port, ...(this.credentials.type === 'irsa' ? [443] : [])])].sort((a, b) => a - b);
    const rules: AddressRule[] = addressRulesFor(this.cidrs, ports.map((port) => ({ port })));
    if (this.credentials.type === 'workload-identity') {
      for (const m of GKE_METADATA) rules.push({ cidr: m.cidr, ports: [{ port: m.port }] });
    }
    return { addresses: rules };
  }
}
