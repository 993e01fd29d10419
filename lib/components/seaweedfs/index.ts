import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ArtifactCredentials, ArtifactProvider, IArtifactStore } from '../../core/artifact-store';
import { KfkitContext } from '../../core/context';
import { GeneratedSecret } from '../../core/generated-secret';
import { oneShotJobName } from '../../core/job-name';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { allowIngressFromGroup, allowTraffic, EgressTarget, GroupPods, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { DataVolumeProps, singleInstanceServer } from '../../core/stateful-server';
import { Wave } from '../../core/waves';
import { podTemplate, servicePort } from '../../core/workload';

/** Props of {@link SeaweedfsArtifactStore}. */
export interface SeaweedfsArtifactStoreProps extends DataVolumeProps {
  /** Namespace the store runs in (the platform namespace: consumers read its credentials Secret there). */
  readonly namespace: string;
  /**
   * The artifact bucket, created on install.
   * @default 'mlpipeline'
   */
  readonly bucket?: string;
  /**
   * Compute budget of the SeaweedFS container.
   * @default - 100m CPU request; 256Mi memory request, 1Gi limit
   */
  readonly resources?: ResourceBudget;
}

/** Name of upstream's Deployment (kfkit: StatefulSet), Service and ServiceAccount. */
const NAME = 'seaweedfs';
/** The Secret KFP and Argo's artifact repository read (upstream's name, kept from the MinIO days). */
const SECRET = 'mlpipeline-minio-artifact';
const ACCESS_KEY = 'accesskey';
const SECRET_KEY = 'secretkey';
/** S3 API port of the pods. */
const S3_PORT = 8333;
/** Service port upstream's consumers use (KFP API server, v2 launcher, Argo); the Service maps it to {@link S3_PORT}. */
const S3_COMPAT_PORT = 9000;
/** IAM API port (`-iam`): users, access keys and policies, used by multi-user tenancy. */
const IAM_PORT = 8111;
/** The `seaweed` user and group of the image (uid/gid 1000; the image's default user is root). */
const SEAWEED_UID = 1000;
/** Region S3 clients sign with; SeaweedFS accepts any, KFP's API server defaults to this one. */
const REGION = 'us-east-1';
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The bucket Job's program (POSIX sh, AWS CLI v2). Idempotent: an existing bucket is left untouched, a bucket
 * created concurrently counts as success; any other failure (endpoint not reachable, wrong keys) exits non-zero so
 * the Job retries and `kfkit apply` stops naming it. Inputs come from the environment (BUCKET, AWS_*).
 */
const CREATE_BUCKET = `
printf '[default]\\ns3 =\\n    addressing_style = path\\n' > "$AWS_CONFIG_FILE"
if aws s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1; then
  echo "bucket $BUCKET exists; left unchanged"
  exit 0
fi
if out=$(aws s3api create-bucket --bucket "$BUCKET" 2>&1); then
  echo "created bucket $BUCKET"
  exit 0
fi
case "$out" in
  *BucketAlreadyOwnedByYou*|*BucketAlreadyExists*) echo "bucket $BUCKET exists; left unchanged"; exit 0 ;;
esac
echo "creating bucket $BUCKET at $AWS_ENDPOINT_URL failed: $out" >&2
exit 1
`.trim();

/**
 * In-cluster artifact storage: SeaweedFS (S3 API) for Kubeflow Pipelines, Argo's artifact repository, KServe and
 * backups, following the kubeflow/pipelines 2.17.0 platform-agnostic install — same names (`seaweedfs` workload,
 * Service and ServiceAccount, `seaweedfs-pvc`, the `mlpipeline-minio-artifact` Secret with keys
 * `accesskey`/`secretkey` that consumers read), image, server arguments, ports and Service ports (9000 kept as
 * upstream's consumers use it).
 *
 * Why SeaweedFS: it is upstream Kubeflow Pipelines' default object store since it replaced MinIO (kubeflow/pipelines
 * #11965, MinIO removed in #12613); it is actively maintained and its image is pinned in the catalog
 * (`ghcr.io/chrislusf/seaweedfs:4.34`, upstream's tag); and its identities can be scoped to a key prefix of a
 * bucket, which per-namespace artifact isolation (tenancy) needs. Verified in SeaweedFS 4.34 (`weed/s3api/auth_credentials.go`, `Identity.CanDo`): an
 * action with a wildcard, `Read:mlpipeline/private-artifacts/team-a/*`, grants only keys below that prefix
 * (tests `TestAuthorizeCopySource_PrefixScopedIdentity`, `TestObjectLevelListPermissions`); without a wildcard,
 * `Read:mlpipeline` grants the whole bucket and `Read:mlpipeline/prefix` matches nothing — write the `/*`. The IAM
 * API on port 8111 (`-iam`) also takes AWS-style user policies with `arn:aws:s3:::bucket/prefix/*` resources,
 * which is how upstream's multi-user profile controller isolates `private-artifacts/<namespace>/`.
 *
 * Credentials: upstream ships fixed keys (`minio`/`minio123`) and registers them from a `postStart` hook through
 * `weed shell`. kfkit generates both keys in the cluster ({@link GeneratedSecret} `mlpipeline-minio-artifact`,
 * `credentials` wave) and hands them to SeaweedFS as `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, which SeaweedFS
 * (4.34: `loadEnvironmentVariableCredentials`) loads as a static admin identity for the S3 and IAM APIs. Upstream
 * tried this with SeaweedFS 4.00 and reverted it (kubeflow/pipelines #12460, "admin credentials not loaded after
 * restart"): 4.00 used the variables only while the filer stored no identity, so the admin vanished after a restart
 * once any identity (a tenant's user) was stored. Since 4.08 (seaweedfs #8099) they are merged at every start and
 * re-added after every reload of the stored identities. No script, nothing written into the store, and a key
 * change takes effect on restart. The bucket is created by a Job in the `storage-init` wave (after the store's
 * rollout, before custom resources) through the S3 API with those keys, so `kfkit apply` waits for it and a failure
 * names the Job.
 *
 * Other differences from upstream, on purpose: a StatefulSet instead of a Deployment (never two servers on one data
 * directory during a rollout); a restricted, read-only pod running as the image's `seaweed` user; a startup probe
 * instead of the bucket-creating `postStart` hook; requests and limits; network policies admitting only the
 * clients given to {@link SeaweedfsArtifactStore.allowFrom} (S3) and {@link SeaweedfsArtifactStore.allowIamFrom}.
 */
export class SeaweedfsArtifactStore extends Construct implements IArtifactStore {
  /**
   * The wave of one-shot store initialisation Jobs (buckets): after `controllers`, so the stores' rollouts have
   * finished, and before `resources`, so nothing that writes artifacts starts without its bucket. Shared by name.
   */
  public static initWave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.ensureWave('storage-init', {
      description: 'Jobs that initialise stores (artifact buckets) once their servers are ready; completed before custom resources.',
      after: [plan.controllers],
      before: [plan.resources],
    });
  }

  public readonly provider: ArtifactProvider = 'seaweedfs';
  /** `seaweedfs.<namespace>:9000`, what upstream's consumers use (the Service maps 9000 to the S3 port 8333). */
  public readonly endpoint: string;
  /** Plain HTTP inside the pod network, confined by network policy. */
  public readonly secure = false;
  public readonly region = REGION;
  public readonly bucket: string;
  public readonly pathStyle = true;
  public readonly credentials: ArtifactCredentials;
  public readonly inCluster = true;
  /** URL of the IAM API (users, access keys, policies) for the tenancy controller, e.g. `http://seaweedfs.kubeflow:8111`. */
  public readonly iamEndpoint: string;
  /** The SeaweedFS pods, as a network peer. */
  public readonly peer: NetworkPeer;
  /**
   * Name of the Job that creates the bucket: `seaweedfs-create-bucket-<8 hex characters>`, the hash of its spec
   * ({@link oneShotJobName}), so a changed Job (image, script, bucket, endpoint) is a new Job rather than a
   * rejected update of an immutable pod template; creating the bucket again is harmless. Its ServiceAccount and pod
   * labels keep the stable name `seaweedfs-create-bucket`.
   */
  public readonly bucketJobName: string;
  private readonly admittedGroups = new Set<string>();

  public constructor(scope: Construct, id: string, props: SeaweedfsArtifactStoreProps) {
    super(scope, id);
    const bucket = props.bucket ?? 'mlpipeline';
    if (!BUCKET_NAME.test(bucket)) {
      throw new Error(`SeaweedfsArtifactStore bucket "${bucket}" must be an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'`);
    }
    const ctx = KfkitContext.of(this);
    const ns = props.namespace;
    const identity: ComponentIdentity = { name: NAME, component: 'artifact-store', version: ctx.images.entry('seaweedfs').tag };
    this.bucket = bucket;
    this.endpoint = `${NAME}.${ns}:${S3_COMPAT_PORT}`;
    this.iamEndpoint = `http://${NAME}.${ns}:${IAM_PORT}`;
    this.peer = { peerName: NAME, namespace: ns, podLabels: selectorLabels(identity) };

    const secret = new GeneratedSecret(this, 'Credentials', {
      name: SECRET,
      namespace: ns,
      identity,
      keys: { [ACCESS_KEY]: { randomBytes: 16 }, [SECRET_KEY]: { randomBytes: 32 } },
    });
    this.credentials = { type: 'secret', secretName: secret.secretName, accessKeyKey: ACCESS_KEY, secretKeyKey: SECRET_KEY };
    const keyEnv: k8s.EnvVar[] = [
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: secret.secretName, key: ACCESS_KEY } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: secret.secretName, key: SECRET_KEY } } },
    ];

    const status = { httpGet: { path: '/status', port: k8s.IntOrString.fromNumber(S3_PORT), scheme: 'HTTP' } };
    singleInstanceServer(this, {
      namespace: ns,
      identity,
      serviceAccountName: NAME,
      service: {
        name: NAME,
        ports: [
          servicePort('http-iam', IAM_PORT),
          servicePort('http-s3', S3_PORT),
          servicePort('http-filer', 8888),
          servicePort('http-s3-compat', S3_COMPAT_PORT, S3_PORT),
          servicePort('http-master', 9333),
          servicePort('grpc-filer', 18888),
          servicePort('grpc-master', 19333),
        ],
      },
      claimName: 'seaweedfs-pvc',
      storage: props,
      protectReason: 'artifact store volume',
      pod: {
        security: { user: SEAWEED_UID, group: SEAWEED_UID, fsGroup: SEAWEED_UID },
        containers: [{
          name: NAME,
          image: ctx.images.image('seaweedfs'),
          args: ['server', '-dir=/data', '-s3', '-iam', '-filer', '-master.volumePreallocate=false'],
          ports: [8111, 8333, 8888, 9333, 19333].map((containerPort) => ({ containerPort, protocol: 'TCP' })),
          env: keyEnv,
          resources: props.resources ?? { cpu: { request: '100m' }, memory: { request: '256Mi', limit: '1Gi' } },
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            // Unix sockets (/tmp/seaweedfs-*.sock) and glog files.
            { name: 'tmp', mountPath: '/tmp' },
          ],
          startupProbe: { ...status, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
          readinessProbe: { ...status, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
          livenessProbe: { ...status, periodSeconds: 30, timeoutSeconds: 10, failureThreshold: 3 },
        }],
        volumes: [
          { name: 'data', persistentVolumeClaim: { claimName: 'seaweedfs-pvc' } },
          { name: 'tmp', emptyDir: {} },
        ],
      },
    });

    // The bucket: a Job in the storage-init wave, through the S3 API with the generated admin keys. Only the Job's
    // name carries the hash of its spec; its ServiceAccount, labels and network peer keep the stable base name.
    const initName = 'seaweedfs-create-bucket';
    const jobIdentity: ComponentIdentity = { name: initName, component: 'artifact-store', version: ctx.images.entry('aws-cli').tag };
    const jobLabels = standardLabels(jobIdentity);
    const init = new Construct(this, 'CreateBucket');
    serviceAccountWithRole(init, { name: initName, namespace: ns, labels: jobLabels, automountServiceAccountToken: false });
    const jobSpec: k8s.JobSpec = {
      backoffLimit: 6,
      template: podTemplate(this, {
        identity: jobIdentity,
        serviceAccountName: initName,
        restartPolicy: 'OnFailure',
        security: { user: 65534, group: 65534 },
        containers: [{
          name: 'create-bucket',
          image: ctx.images.image('aws-cli'),
          command: ['/bin/sh', '-ec', CREATE_BUCKET],
          env: [
            { name: 'BUCKET', value: bucket },
            { name: 'AWS_ENDPOINT_URL', value: `http://${this.endpoint}` },
            { name: 'AWS_REGION', value: REGION },
            { name: 'AWS_CONFIG_FILE', value: '/tmp/aws-config' },
            { name: 'AWS_EC2_METADATA_DISABLED', value: 'true' },
            { name: 'HOME', value: '/tmp' },
            ...keyEnv,
          ],
          resources: { cpu: { request: '20m' }, memory: { request: '128Mi', limit: '256Mi' } },
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        }],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      }),
    };
    this.bucketJobName = oneShotJobName(initName, jobSpec);
    new k8s.KubeJob(init, 'Job', {
      metadata: { name: this.bucketJobName, namespace: ns, labels: jobLabels },
      spec: jobSpec,
    });
    ctx.plan.assign(init, SeaweedfsArtifactStore.initWave(this));
    // The Job's network path is opened with the store (controllers wave), before the Job starts.
    allowTraffic(this, { peerName: initName, namespace: ns, podLabels: selectorLabels(jobIdentity) }, this.peer, [{ port: S3_PORT }]);
  }

  /** No identity annotations: clients authenticate with the keys of `mlpipeline-minio-artifact`. */
  public serviceAccountAnnotations(): Record<string, string> {
    return {};
  }

  /** Opens `client` → SeaweedFS S3 API (pod port 8333, which the Service's ports 8333 and 9000 both reach). */
  public allowFrom(client: NetworkPeer): void {
    allowTraffic(this, client, this.peer, [{ port: S3_PORT }]);
  }

  /** Admits the S3 port to the pods of every namespace of `clients` (one policy per group). */
  public admitGroup(clients: GroupPods): EgressTarget {
    const name = `${clients.group.groupName}/${clients.podsName ?? ''}`;
    if (!this.admittedGroups.has(name)) {
      this.admittedGroups.add(name);
      allowIngressFromGroup(this, `Ingress-${name}`, this.peer, clients, [{ port: S3_PORT }]);
    }
    return { peer: this.peer, ports: [{ port: S3_PORT }] };
  }

  /** Opens `client` → SeaweedFS IAM API (port 8111): for the controller that manages per-namespace identities. */
  public allowIamFrom(client: NetworkPeer): void {
    allowTraffic(this, client, { ...this.peer, peerName: `${NAME}-iam` }, [{ port: IAM_PORT }]);
  }
}
