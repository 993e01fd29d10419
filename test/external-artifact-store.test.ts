import { App, Chart } from 'cdk8s';
import { ExternalArtifactStore, ExternalArtifactStoreProps } from '../lib/components/external-artifact-store';
import { KfkitContext } from '../lib/core/context';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { K8sObject } from '../lib/validate/types';

type NetworkPolicy = K8sObject & { spec: { podSelector: unknown; policyTypes: string[]; egress: unknown[] } };

const CLIENT = { peerName: 'ml-pipeline', namespace: 'kubeflow', podLabels: { 'app.kubernetes.io/name': 'ml-pipeline' } };
const SECRET = { type: 'secret', secretName: 'artifact-keys', accessKeyKey: 'accesskey', secretKeyKey: 'secretkey' } as const;
const IRSA = { type: 'irsa', roleArn: 'arn:aws:iam::123456789012:role/kubeflow-pipelines' } as const;
const WORKLOAD_IDENTITY = { type: 'workload-identity', gcpServiceAccount: 'kfp@my-project.iam.gserviceaccount.com' } as const;

/** Where the tests' stores are (an AWS VPC with interface endpoints for S3 and STS). */
const VPC = '10.10.0.0/16';
type StoreInput = Omit<ExternalArtifactStoreProps, 'namespace' | 'cidrs'> & { readonly cidrs?: readonly string[] };

function build(props: StoreInput): { store: ExternalArtifactStore; s: Synthesized } {
  const app = new App();
  const chart = new Chart(app, 'kfkit', { disableResourceNameHashes: true });
  KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  new PlatformNamespace(chart, 'Namespace', { name: 'kubeflow' });
  const store = new ExternalArtifactStore(chart, 'ArtifactStore', { namespace: 'kubeflow', cidrs: [VPC], ...props });
  store.allowFrom(CLIENT);
  return { store, s: collect(chart) };
}

const values = (store: ExternalArtifactStore) => ({
  provider: store.provider, endpoint: store.endpoint, secure: store.secure, region: store.region, bucket: store.bucket,
  pathStyle: store.pathStyle, inCluster: store.inCluster, credentials: store.credentials, annotations: store.serviceAccountAnnotations(),
});
const egress = (s: Synthesized) => (s.objects.find((o) => o.manifest.metadata.name === 'ml-pipeline-to-artifact-store')?.manifest as NetworkPolicy).spec;

describe('external artifact store', () => {
  test('s3 with IRSA: regional endpoint, virtual-hosted, role annotation, no Secret and no key variables', () => {
    const { store, s } = build({ provider: 's3', region: 'eu-west-1', bucket: 'kf-artifacts', credentials: IRSA });
    expect(values(store)).toEqual({
      provider: 's3', endpoint: 's3.eu-west-1.amazonaws.com', secure: true, region: 'eu-west-1', bucket: 'kf-artifacts', pathStyle: false,
      inCluster: false, credentials: IRSA, annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/kubeflow-pipelines' },
    });
    expect(s.externalObjects).toEqual([]);
    const text = JSON.stringify(s.objects.map((o) => o.manifest));
    expect(text).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|secretKeyRef|"kind":"Secret"/);
    expect(egress(s)).toEqual({
      podSelector: { matchLabels: CLIENT.podLabels },
      policyTypes: ['Egress'],
      egress: [{ to: [{ ipBlock: { cidr: VPC } }], ports: [{ port: 443, protocol: 'TCP' }] }],
    });
    expect(validate(s)).toEqual([]);
  });

  test('s3 with Secret keys: the Secret is declared external, no annotations', () => {
    const { store, s } = build({ provider: 's3', region: 'us-east-1', bucket: 'kf-artifacts', credentials: SECRET });
    expect(values(store)).toMatchObject({ endpoint: 's3.us-east-1.amazonaws.com', pathStyle: false, credentials: SECRET, annotations: {} });
    expect(s.externalObjects).toEqual([expect.objectContaining({ apiVersion: 'v1', kind: 'Secret', namespace: 'kubeflow', name: 'artifact-keys' })]);
    expect(s.externalObjects[0].reason).toMatch(/accesskey, secretkey/);
    expect(s.objects.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
    expect(validate(s)).toEqual([]);
  });

  test('s3 with an explicit endpoint and path style', () => {
    const { store } = build({ provider: 's3', region: 'eu-west-1', endpoint: 's3.dualstack.eu-west-1.amazonaws.com', pathStyle: true, bucket: 'kfp', credentials: IRSA });
    expect(values(store)).toMatchObject({ endpoint: 's3.dualstack.eu-west-1.amazonaws.com', pathStyle: true });
  });

  test('gcs with Workload Identity: storage.googleapis.com, region auto, path style, GKE annotation and metadata server egress', () => {
    const { store, s } = build({ provider: 'gcs', bucket: 'kf-artifacts', credentials: WORKLOAD_IDENTITY });
    expect(values(store)).toEqual({
      provider: 'gcs', endpoint: 'storage.googleapis.com', secure: true, region: 'auto', bucket: 'kf-artifacts', pathStyle: true,
      inCluster: false, credentials: WORKLOAD_IDENTITY, annotations: { 'iam.gke.io/gcp-service-account': 'kfp@my-project.iam.gserviceaccount.com' },
    });
    expect(s.externalObjects).toEqual([]);
    expect(JSON.stringify(s.objects.map((o) => o.manifest))).not.toMatch(/GOOGLE_APPLICATION_CREDENTIALS|secretKeyRef/);
    expect(egress(s).egress).toEqual([
      { to: [{ ipBlock: { cidr: VPC } }], ports: [{ port: 443, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '169.254.169.254/32' } }], ports: [{ port: 80, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '169.254.169.252/32' } }], ports: [{ port: 988, protocol: 'TCP' }] },
    ]);
    expect(validate(s)).toEqual([]);
  });

  test('gcs with HMAC keys in a Secret', () => {
    const { store, s } = build({ provider: 'gcs', bucket: 'kf-artifacts', credentials: SECRET });
    expect(values(store)).toMatchObject({ endpoint: 'storage.googleapis.com', annotations: {}, credentials: SECRET });
    expect(s.externalObjects.map((o) => o.name)).toEqual(['artifact-keys']);
  });

  test('s3-compatible: the endpoint port is what clients may reach; plain HTTP when not secure', () => {
    const { store, s } = build({
      provider: 's3-compatible', endpoint: 'minio.storage.example:9000', region: 'us-east-1', secure: false, bucket: 'kfp', credentials: SECRET,
    });
    expect(values(store)).toMatchObject({ provider: 's3-compatible', endpoint: 'minio.storage.example:9000', secure: false, pathStyle: true, annotations: {} });
    expect(store.port).toBe(9000);
    expect(egress(s).egress).toEqual([{ to: [{ ipBlock: { cidr: VPC } }], ports: [{ port: 9000, protocol: 'TCP' }] }]);
    expect(build({ provider: 's3-compatible', endpoint: 'ceph.example', region: 'default', secure: false, bucket: 'kfp', credentials: SECRET }).store.port).toBe(80);
    expect(build({ provider: 's3-compatible', endpoint: 'ceph.example', region: 'default', bucket: 'kfp', credentials: SECRET }).store.port).toBe(443);
    expect(build({ provider: 's3-compatible', endpoint: 'ceph.example', region: 'default', pathStyle: false, bucket: 'kfp', credentials: SECRET }).store.pathStyle).toBe(false);
  });

  test('IRSA with a custom endpoint port still reaches STS on 443', () => {
    const { s } = build({ provider: 's3', region: 'eu-west-1', endpoint: 's3-proxy.example:8443', bucket: 'kfp', credentials: IRSA });
    expect(egress(s).egress).toEqual([{ to: [{ ipBlock: { cidr: VPC } }], ports: [{ port: 443, protocol: 'TCP' }, { port: 8443, protocol: 'TCP' }] }]);
  });

  describe('invalid combinations fail at construction with what to change', () => {
    const cases: [string, StoreInput, RegExp][] = [
      ['irsa with gcs', { provider: 'gcs', bucket: 'kfp', credentials: IRSA }, /irsa gives AWS identities and works only with provider s3, not gcs; use secret or workload-identity/],
      ['irsa with s3-compatible', { provider: 's3-compatible', endpoint: 'minio.example', region: 'us-east-1', bucket: 'kfp', credentials: IRSA },
        /irsa .* only with provider s3, not s3-compatible; use secret credentials/],
      ['workload-identity with s3', { provider: 's3', region: 'eu-west-1', bucket: 'kfp', credentials: WORKLOAD_IDENTITY },
        /workload-identity gives Google identities and works only with provider gcs, not s3; use irsa or secret/],
      ['workload-identity with s3-compatible', { provider: 's3-compatible', endpoint: 'minio.example', region: 'us-east-1', bucket: 'kfp', credentials: WORKLOAD_IDENTITY },
        /only with provider gcs, not s3-compatible/],
      ['an https:// endpoint', { provider: 's3-compatible', endpoint: 'https://minio.example:9000', region: 'us-east-1', bucket: 'kfp', credentials: SECRET },
        /endpoint "https:\/\/minio.example:9000" must be host\[:port\] without a scheme; write "minio.example:9000" and set secure: true/],
      ['an http:// endpoint', { provider: 's3-compatible', endpoint: 'http://minio.example/', region: 'us-east-1', bucket: 'kfp', credentials: SECRET },
        /write "minio.example" and set secure: false/],
      ['an endpoint with a path', { provider: 's3-compatible', endpoint: 'minio.example/bucket', region: 'us-east-1', bucket: 'kfp', credentials: SECRET },
        /must be host\[:port\] \(no path\)/],
      ['s3-compatible without endpoint', { provider: 's3-compatible', region: 'us-east-1', bucket: 'kfp', credentials: SECRET }, /provider s3-compatible needs an endpoint/],
      ['s3 without region', { provider: 's3', bucket: 'kfp', credentials: IRSA }, /provider s3 needs a region/],
      ['s3-compatible without region', { provider: 's3-compatible', endpoint: 'minio.example', bucket: 'kfp', credentials: SECRET }, /s3-compatible needs a region/],
      ['a bad bucket name', { provider: 's3', region: 'eu-west-1', bucket: 'Kf_Artifacts', credentials: IRSA }, /bucket "Kf_Artifacts" must be an S3 bucket name/],
      ['a role that is not an ARN', { provider: 's3', region: 'eu-west-1', bucket: 'kfp', credentials: { type: 'irsa', roleArn: 'kubeflow-pipelines' } },
        /roleArn "kubeflow-pipelines" must be an IAM role ARN/],
      ['no addresses', { provider: 's3', region: 'eu-west-1', bucket: 'kfp', credentials: IRSA, cidrs: [] },
        /cidrs is empty: give the IPv4 blocks of the destination's addresses/],
      ['an address that is not a block', { provider: 's3', region: 'eu-west-1', bucket: 'kfp', credentials: IRSA, cidrs: ['10.0.0.300/16'] },
        /cidrs 10.0.0.300\/16: .*0-255/],
      ['a Google account that is not an e-mail', { provider: 'gcs', bucket: 'kfp', credentials: { type: 'workload-identity', gcpServiceAccount: 'kfp' } },
        /gcpServiceAccount "kfp" must be a Google service account e-mail/],
    ];
    test.each(cases)('%s', (_, props, message) => {
      expect(() => build(props)).toThrow(message);
      expect(() => build(props)).toThrow(/^ExternalArtifactStore: /);
    });
  });
});
