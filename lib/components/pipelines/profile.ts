import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ArtifactCredentials, IArtifactStore } from '../../core/artifact-store';
import { standardLabels } from '../../core/labels';
import { IMesh, ISTIO_SECURITY_API } from '../../core/mesh';
import { allowEgressToGroup, allowIngressFromGroup, EgressTarget, GroupPods, kubeApi, labelSelector } from '../../core/network';
import { IProfile, IProfileExtension, PROFILE_NAMESPACES, ProfilePods } from '../../core/tenancy';
import { ArgoArtifactRepository, KEY_FORMAT_AFTER_PREFIX, RUN_POD_LABEL, s3Credentials } from './argo';
import { KFP_LAUNCHER_CONFIG, launcherAccess, METADATA_GRPC_CONFIG } from './install-config';
import { endpointHost, pipelinesIdentity, PipelinesEndpoint, PROFILE_RUNNER_SERVICE_ACCOUNT } from './shared';
import { VIEWER_POD_LABELS, VIEWER_PORT } from './ui';

/**
 * The Secret with a profile's own artifact store keys, in the profile namespace (upstream's name and keys, which the
 * v2 launcher also assumes). The profile construct creates it — keys scoped to `IProfile.artifactPrefix` — unless the
 * profile uses IRSA (`IProfile.awsRoleArn`); Pipelines' per-namespace objects only refer to it.
 */
export const PROFILE_ARTIFACT_SECRET = { name: 'mlpipeline-minio-artifact', accessKeyKey: 'accesskey', secretKeyKey: 'secretkey' } as const;
const PROFILE_SECRET_KEYS = { accessKeyKey: PROFILE_ARTIFACT_SECRET.accessKeyKey, secretKeyKey: PROFILE_ARTIFACT_SECRET.secretKeyKey } as const;

/** ConfigMap through which Argo finds a namespace's default artifact repository, and its key (upstream's). */
export const ARTIFACT_REPOSITORIES = { name: 'artifact-repositories', key: 'default-namespaced' } as const;

/** Props of {@link PipelinesProfileResources}. */
export interface PipelinesProfileResourcesProps {
  /** Namespace of the Pipelines backend. */
  readonly namespace: string;
  /** The artifact store (endpoint, bucket, region, TLS; its network paths). */
  readonly store: IArtifactStore;
  /** The API server: REST (SDK clients) and gRPC (the v2 driver and launcher) endpoints. */
  readonly apiServer: { readonly http: PipelinesEndpoint; readonly grpc: PipelinesEndpoint };
  /** The UI server: SDK clients in profiles reach the API through it; it proxies TensorBoard viewers in profiles. */
  readonly ui: PipelinesEndpoint;
  /** The UI server's ServiceAccount (in {@link namespace}), the mesh identity viewers admit. */
  readonly uiServiceAccount: string;
  /** ML Metadata's gRPC server, which pipeline pods record their executions in. */
  readonly metadataGrpc: PipelinesEndpoint;
  /**
   * The mesh the profile namespaces are enrolled in: TensorBoard viewers then admit the UI server's identity only.
   * @default - no AuthorizationPolicy
   */
  readonly mesh?: IMesh;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** The pods of a pipeline run (the v2 driver, launcher and executor), which record executions in ML Metadata. */
const RUN_PODS: ProfilePods = { name: 'pipeline-runs', podLabels: { [RUN_POD_LABEL]: 'true' } };
/** TensorBoard viewer pods, which the UI server proxies. */
const VIEWER_PODS: ProfilePods = { name: 'tensorboard-viewers', podLabels: VIEWER_POD_LABELS };
/** An S3 key prefix: no leading slash, ends in one, no empty segment, the safe characters of S3 keys. */
const KEY_PREFIX = /^([A-Za-z0-9!_.*'()-]+\/)+$/;

/**
 * Kubeflow Pipelines' objects in one profile namespace (multi-user mode), as kfkit constructs in place of upstream's
 * metacontroller hook. Implements {@link IProfileExtension}: the profile construct calls {@link addToProfile} for every
 * profile, and the objects install with the profile (`tenants` wave).
 *
 * Upstream facts (kubeflow/pipelines 2.17.0, `manifests/kustomize/base/installs/multi-user/pipelines-profile-controller`:
 * a DecoratorController on namespaces labelled `pipelines.kubeflow.org/enabled: "true"` calling `sync.py`): in each
 * such namespace the hook keeps
 * - ConfigMap `kfp-launcher`: `defaultPipelineRoot` = `minio://mlpipeline/private-artifacts/<ns>/v2/artifacts`
 *   (and `clusterDomain`, which no 2.17.0 component reads);
 * - ConfigMap `metadata-grpc-configmap`: `METADATA_GRPC_SERVICE_HOST` = `metadata-grpc-service.kubeflow`,
 *   `METADATA_GRPC_SERVICE_PORT` = `8080`;
 * - ConfigMap `artifact-repositories`, annotated `workflows.argoproj.io/default-artifact-repository: default-namespaced`,
 *   key `default-namespaced`: Argo's S3 repository (SeaweedFS `:9000`, bucket `mlpipeline`, key format
 *   `private-artifacts/<ns>/{{workflow.name}}/<date>/{{pod.name}}`, log archiving, keys from the Secret below);
 * - Secret `mlpipeline-minio-artifact` (`accesskey`, `secretkey`): an access key of a SeaweedFS IAM user named after
 *   the namespace, whose policy allows `s3:Put*`, `s3:Get*`, `s3:List*`, `s3:DeleteObject` on `mlpipeline/artifacts/*`,
 *   `private-artifacts/<ns>/*`, `private/<ns>/*`, `shared/*` (plus a bucket policy isolating listings and a lifecycle
 *   rule from `ARTIFACT_RETENTION_DAYS`);
 * - only with `ARTIFACTS_PROXY_ENABLED` (off by default; kfkit keeps it off): Deployment and Service
 *   `ml-pipeline-ui-artifact` (the UI image as `default-editor`). The per-namespace visualization server of older
 *   releases no longer exists in 2.17.0, and the hook writes no DestinationRule or AuthorizationPolicy although it
 *   may own them.
 *
 * kfkit writes the three ConfigMaps from the typed store and the profile: the bucket, endpoint, region and TLS are the
 * store's, the prefix is `IProfile.artifactPrefix` (upstream's `private-artifacts/<ns>/`), `kfp-launcher` also names the
 * store access of the v2 driver and launcher (`providers`), and credentials are the profile's Secret
 * {@link PROFILE_ARTIFACT_SECRET} or, with `IProfile.awsRoleArn`, the SDK chain (IRSA on the runner ServiceAccount
 * `default-editor`, which the profile side creates and annotates with the role — upstream: the Kubeflow profile
 * controller and its `AwsIamForServiceAccount` plugin). The Secret and the store identity behind it are the profile
 * side's, not this class's.
 *
 * Network (default-deny everywhere): every pod of the profile → API server (REST 8888, gRPC 8887) and → UI server
 * (3000, the SDK's default endpoint); pipeline run pods (`pipelines.kubeflow.org/v2_component: "true"`) → ML Metadata
 * (8080), → the store and → the Kubernetes API; UI server → TensorBoard viewer pods (6006); viewers → the store. With a
 * mesh, the viewers admit the UI server's principal (`ml-pipeline-ui-to-tensorboard`). The profile side of these paths
 * goes into the profile's consolidated policies (`IProfile.network`); the servers' side admits every profile namespace
 * ({@link PROFILE_NAMESPACES}) once, written when this construct is created.
 */
export class PipelinesProfileResources extends Construct implements IProfileExtension {
  private readonly props: PipelinesProfileResourcesProps;
  private readonly storeForRuns: EgressTarget;
  private readonly storeForViewers: EgressTarget;
  private readonly profiles = new Set<string>();

  public constructor(scope: Construct, id: string, props: PipelinesProfileResourcesProps) {
    super(scope, id);
    if (props.store.credentials.type === 'workload-identity') {
      throw new Error('PipelinesProfileResources: the 2.17.0 backend and Argo reach the artifact store through the S3 API with keys or IRSA, '
        + 'not GKE Workload Identity; give the store HMAC keys');
    }
    this.props = props;
    // The platform side of every profile's paths, once: the servers admit the pods of all profile namespaces.
    const everyPod: GroupPods = { group: PROFILE_NAMESPACES };
    const runs: GroupPods = { group: PROFILE_NAMESPACES, podsName: RUN_PODS.name, podLabels: RUN_PODS.podLabels };
    const viewers: GroupPods = { group: PROFILE_NAMESPACES, podsName: VIEWER_PODS.name, podLabels: VIEWER_PODS.podLabels };
    const { apiServer, ui, metadataGrpc } = props;
    allowIngressFromGroup(this, 'ApiServerFromProfiles', apiServer.http.peer, everyPod, [{ port: apiServer.http.podPort }, { port: apiServer.grpc.podPort }]);
    allowIngressFromGroup(this, 'UiFromProfiles', ui.peer, everyPod, [{ port: ui.podPort }]);
    allowIngressFromGroup(this, 'MetadataFromProfileRuns', metadataGrpc.peer, runs, [{ port: metadataGrpc.podPort }]);
    allowEgressToGroup(this, 'UiToProfileViewers', ui.peer, viewers, [{ port: VIEWER_PORT }]);
    this.storeForRuns = props.store.admitGroup(runs);
    this.storeForViewers = props.store.admitGroup(viewers);
  }

  /** Writes Pipelines' per-namespace objects for `profile` under `profile.scope`. */
  public addToProfile(profile: IProfile): void {
    const { store, namespace: platform } = this.props;
    const ns = profile.namespace;
    const where = `PipelinesProfileResources(${profile.name})`;
    if (!DNS_LABEL.test(ns) || ns.length > 63) throw new Error(`${where}: namespace "${ns}" is not a namespace name`);
    if (ns === platform) throw new Error(`${where}: a profile cannot live in the Pipelines namespace ${platform}`);
    if (this.profiles.has(ns)) throw new Error(`${where}: namespace ${ns} already has Pipelines' objects; add each profile once`);
    if (!KEY_PREFIX.test(profile.artifactPrefix)) {
      throw new Error(`${where}: artifactPrefix "${profile.artifactPrefix}" must be a key prefix ending in / without a leading /, `
        + `e.g. private-artifacts/${ns}/`);
    }
    if (store.credentials.type === 'irsa' && profile.awsRoleArn === undefined) {
      throw new Error(`${where}: the artifact store uses IRSA, so the profile needs awsRoleArn: its pipeline pods (${PROFILE_RUNNER_SERVICE_ACCOUNT}) `
        + 'would have no identity for the bucket');
    }
    this.profiles.add(ns);

    const scope = new Construct(profile.scope, 'Pipelines');
    const labels = standardLabels(pipelinesIdentity('ml-pipeline'));
    const credentials: ArtifactCredentials = profile.awsRoleArn !== undefined
      ? { type: 'irsa', roleArn: profile.awsRoleArn }
      : { type: 'secret', secretName: PROFILE_ARTIFACT_SECRET.name, ...PROFILE_SECRET_KEYS };

    // Where runs of this namespace keep their artifacts, and how the v2 driver and launcher reach the store.
    const access = launcherAccess(store, credentials);
    new k8s.KubeConfigMap(scope, 'LauncherConfig', {
      metadata: { name: KFP_LAUNCHER_CONFIG, namespace: ns, labels },
      data: {
        defaultPipelineRoot: `${access.scheme}://${store.bucket}/${profile.artifactPrefix}v2/artifacts`,
        providers: JSON.stringify(access.providers),
      },
    });
    const grpc = this.props.metadataGrpc;
    new k8s.KubeConfigMap(scope, 'MetadataGrpcConfig', {
      metadata: { name: METADATA_GRPC_CONFIG, namespace: ns, labels },
      data: { METADATA_GRPC_SERVICE_HOST: endpointHost(grpc), METADATA_GRPC_SERVICE_PORT: String(grpc.servicePort) },
    });
    // Argo's repository for workflows of this namespace (preferred to the controller's default).
    const repository: ArgoArtifactRepository = {
      archiveLogs: true,
      s3: {
        endpoint: store.endpoint,
        bucket: store.bucket,
        region: store.region,
        insecure: !store.secure,
        keyFormat: `${profile.artifactPrefix}${KEY_FORMAT_AFTER_PREFIX}`,
        ...s3Credentials(credentials),
      },
    };
    new k8s.KubeConfigMap(scope, 'ArtifactRepositories', {
      metadata: {
        name: ARTIFACT_REPOSITORIES.name, namespace: ns, labels,
        annotations: { 'workflows.argoproj.io/default-artifact-repository': ARTIFACT_REPOSITORIES.key },
      },
      data: { [ARTIFACT_REPOSITORIES.key]: JSON.stringify(repository) },
    });

    // Network paths of Pipelines' pods in the namespace (the platform side admits every profile once, see the constructor).
    const { apiServer, ui } = this.props;
    profile.network.allowEgress({ peer: apiServer.http.peer, ports: [{ port: apiServer.http.podPort }, { port: apiServer.grpc.podPort }] });
    profile.network.allowEgress({ peer: ui.peer, ports: [{ port: ui.podPort }] });
    profile.network.allowEgress({ peer: grpc.peer, ports: [{ port: grpc.podPort }] }, RUN_PODS);
    profile.network.allowEgress(kubeApi(this), RUN_PODS);
    profile.network.allowEgress(this.storeForRuns, RUN_PODS);
    profile.network.allowIngress(ui.peer, [{ port: VIEWER_PORT }], VIEWER_PODS);
    profile.network.allowEgress(this.storeForViewers, VIEWER_PODS);

    if (this.props.mesh) {
      const principal = `${this.props.mesh.trustDomain}/ns/${platform}/sa/${this.props.uiServiceAccount}`;
      new ApiObject(scope, 'ViewerPolicy', {
        apiVersion: ISTIO_SECURITY_API,
        kind: 'AuthorizationPolicy',
        metadata: { name: 'ml-pipeline-ui-to-tensorboard', namespace: ns, labels },
        spec: { action: 'ALLOW', selector: labelSelector(VIEWER_POD_LABELS), rules: [{ from: [{ source: { principals: [principal] } }] }] },
      });
    }
  }
}
