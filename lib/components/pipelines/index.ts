import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { IArtifactStore } from '../../core/artifact-store';
import { CertManagerRef } from '../../core/cert-manager';
import { IDatabase } from '../../core/database';
import { standardLabels } from '../../core/labels';
import { IKubeflowGateway, ISTIO_SECURITY_API, UserHeaders } from '../../core/mesh';
import { labelSelector } from '../../core/network';
import { exposeWebApp } from '../gateway';
import { PipelinesApiServer } from './api-server';
import { ArgoWorkflowController } from './argo';
import { PipelinesCache } from './cache';
import { PipelinesCrds } from './crds';
import { PipelineInstallConfig } from './install-config';
import { MetadataService } from './metadata';
import { PipelinesMultiUserAccess } from './multi-user';
import { PersistenceAgent } from './persistence-agent';
import { PipelinesProfileResources } from './profile';
import { ScheduledWorkflowController } from './scheduled-workflow';
import { PipelinesMode, pipelinesIdentity } from './shared';
import { PipelinesUi } from './ui';
import { ViewerController } from './viewer';
import { VisualizationServer } from './visualization';

export { PipelinesMultiUserAccess } from './multi-user';
export type { PipelinesMultiUserAccessProps } from './multi-user';
export { ARTIFACT_REPOSITORIES, PipelinesProfileResources, PROFILE_ARTIFACT_SECRET } from './profile';
export type { PipelinesProfileResourcesProps } from './profile';
export { PROFILE_RUNNER_SERVICE_ACCOUNT } from './shared';
export type { PipelinesMode } from './shared';

/** Props of {@link KubeflowPipelines}. */
export interface KubeflowPipelinesProps {
  /** Namespace of the backend (the platform namespace). */
  readonly namespace: string;
  /** Metadata database (Pipelines, ML Metadata and, with MySQL, the cache). */
  readonly database: IDatabase;
  /** Artifact store. */
  readonly store: IArtifactStore;
  /**
   * Deployment mode: `standalone` (one namespace, no authentication) or `multi-user` (runs in profile namespaces,
   * the user taken from the gateway's identity header; needs {@link gateway} with authentication and the sidecar
   * dataplane).
   * @default 'standalone'
   */
  readonly mode?: PipelinesMode;
  /**
   * cert-manager already on the cluster: it issues the cache webhook's serving certificate, replacing the cache deployer.
   * @default - no cert-manager; the cache deployer issues the certificate
   */
  readonly certManager?: CertManagerRef;
  /**
   * The Kubeflow gateway. Pipelines then serves its UI at `/pipeline` (VirtualService `ml-pipeline-ui`, 300 s timeout)
   * and ML Metadata's gRPC-web proxy at `/ml_metadata` (`metadata-grpc`, which the UI's browser code calls) behind
   * it. Required in multi-user mode.
   * @default - no routes (reach the UI with a port-forward)
   */
  readonly gateway?: IKubeflowGateway;
  /**
   * The identity headers the gateway writes after authentication (multi-user: the API server, UI and
   * ScheduledWorkflow controller read the user id and its prefix through `pipeline-install-config`).
   * @default - the gateway's ({@link IKubeflowGateway.userHeaders}); in multi-user mode one of the two is required
   */
  readonly userHeaders?: UserHeaders;
}

/** ML Metadata's gRPC-web proxy route: upstream's VirtualService name and the path the UI's browser code calls. */
const METADATA_ROUTE = { name: 'metadata-grpc', prefix: '/ml_metadata' } as const;

/**
 * Kubeflow Pipelines 2.17.0 — what upstream's `platform-agnostic` kustomize env installs, as typed parts wired to
 * the data layer's references: the API server (`ml-pipeline`), persistence agent, ScheduledWorkflow controller, UI,
 * ML Metadata (gRPC server, Envoy, writer), visualization server, Viewer controller, the v1 cache (MySQL only —
 * in 2.17.0 cache-server speaks only MySQL, so with PostgreSQL kfkit leaves it out; v2 pipelines cache through the
 * API server), Argo Workflows as KFP pins it, and the KFP and Argo CRDs.
 *
 * Multi-user mode follows upstream's `platform-agnostic-multi-user` env: every part watches all namespaces with
 * cluster-wide permissions, Argo runs cluster-wide, the API server and UI authorize each request for the user in the
 * gateway's header ({@link PipelinesMultiUserAccess}: the aggregated roles of profile members and the Istio policies
 * that keep that header trustworthy), and each profile namespace gets its launcher, ML Metadata and Argo repository
 * configuration and network paths from {@link profileExtension} — kfkit's constructs in place of upstream's
 * metacontroller and its `sync.py` hook (facts/deviations.json).
 */
export class KubeflowPipelines extends Construct {
  public readonly installConfig: PipelineInstallConfig;
  public readonly apiServer: PipelinesApiServer;
  public readonly metadata: MetadataService;
  public readonly ui: PipelinesUi;
  public readonly argo: ArgoWorkflowController;
  public readonly crds: PipelinesCrds;
  /** The v1 cache, when the database is MySQL. */
  public readonly cache?: PipelinesCache;
  /** Multi-user: the roles of profile members and the mesh policies. */
  public readonly multiUser?: PipelinesMultiUserAccess;
  /**
   * Multi-user: what Pipelines puts into each profile namespace; hand it to the profiles
   * (`IProfileExtension.addToProfile`).
   */
  public readonly profileExtension?: PipelinesProfileResources;

  public constructor(scope: Construct, id: string, props: KubeflowPipelinesProps) {
    super(scope, id);
    const mode = props.mode ?? 'standalone';
    const userHeaders = props.userHeaders ?? props.gateway?.userHeaders;
    let gateway: IKubeflowGateway | undefined;
    if (mode === 'multi-user') gateway = checkMultiUser(props.gateway, userHeaders);
    const part = { namespace: props.namespace, database: props.database, store: props.store, mode } as const;
    this.crds = new PipelinesCrds(this, 'Crds');
    this.installConfig = new PipelineInstallConfig(this, 'InstallConfig', {
      ...part,
      ...(mode === 'multi-user' && userHeaders ? { userIdHeader: userHeaders.userId, userIdPrefix: userHeaders.userIdPrefix } : {}),
    });
    this.metadata = new MetadataService(this, 'Metadata', part);
    this.apiServer = new PipelinesApiServer(this, 'ApiServer', { ...part, installConfig: this.installConfig });
    const agent = new PersistenceAgent(this, 'PersistenceAgent', { ...part, apiServer: this.apiServer });
    const swf = new ScheduledWorkflowController(this, 'ScheduledWorkflow', { ...part, apiServer: this.apiServer, installConfig: this.installConfig });
    this.ui = new PipelinesUi(this, 'Ui', { ...part, apiServer: this.apiServer.http, metadataEnvoy: this.metadata.envoy });
    const visualization = new VisualizationServer(this, 'Visualization', part);
    const viewer = new ViewerController(this, 'Viewer', part);
    if (props.database.engine === 'mysql') this.cache = new PipelinesCache(this, 'Cache', { ...part, certManager: props.certManager });
    this.argo = new ArgoWorkflowController(this, 'Argo', part);

    if (gateway && userHeaders) {
      this.multiUser = new PipelinesMultiUserAccess(this, 'MultiUser', {
        namespace: props.namespace,
        gateway,
        userHeaders,
        apiServer: this.apiServer.peer,
        ui: this.ui.endpoint.peer,
        metadataGrpc: this.metadata.grpc,
        visualization: visualization.endpoint.peer,
        cache: this.cache?.endpoint.peer,
        backendServiceAccounts: [
          this.apiServer.serviceAccountName, this.ui.serviceAccountName, agent.serviceAccountName, swf.serviceAccountName,
          viewer.serviceAccountName, ...(this.cache ? [this.cache.serviceAccountName] : []),
        ],
      });
      this.profileExtension = new PipelinesProfileResources(this, 'Profiles', {
        namespace: props.namespace,
        store: props.store,
        apiServer: this.apiServer,
        ui: this.ui.endpoint,
        uiServiceAccount: this.ui.serviceAccountName,
        metadataGrpc: this.metadata.grpc,
        mesh: gateway.mesh,
      });
    }
    if (props.gateway) this.expose(props.gateway);
  }

  /**
   * The UI (`/pipeline`, upstream's 300 s timeout) and ML Metadata's gRPC-web proxy (`/ml_metadata`) behind the
   * gateway; the proxy also admits the UI server, which forwards the same calls (its route's policy admits only the
   * ingress gateway).
   */
  private expose(gateway: IKubeflowGateway): void {
    exposeWebApp(this, 'UiRoute', gateway, { name: 'ml-pipeline-ui', prefix: '/pipeline', backend: this.ui.endpoint, timeout: '300s' });
    exposeWebApp(this, 'MetadataRoute', gateway, { name: METADATA_ROUTE.name, prefix: METADATA_ROUTE.prefix, backend: this.metadata.envoy });
    const envoy = this.metadata.envoy.peer;
    new ApiObject(this, 'MetadataEnvoyFromUi', {
      apiVersion: ISTIO_SECURITY_API,
      kind: 'AuthorizationPolicy',
      metadata: { name: 'metadata-envoy-from-ui', namespace: envoy.namespace, labels: standardLabels(pipelinesIdentity('metadata-envoy-deployment')) },
      spec: {
        action: 'ALLOW',
        selector: labelSelector(envoy.podLabels),
        rules: [{ from: [{ source: { principals: [`${gateway.mesh.trustDomain}/ns/${this.ui.endpoint.peer.namespace}/sa/${this.ui.serviceAccountName}`] } }] }],
      },
    });
  }
}

/** What multi-user mode needs: the gateway (with the sidecar dataplane) and the identity headers it writes. */
function checkMultiUser(gateway: IKubeflowGateway | undefined, userHeaders: UserHeaders | undefined): IKubeflowGateway {
  const where = 'KubeflowPipelines: multi-user mode';
  if (!gateway) throw new Error(`${where} needs the Kubeflow gateway (gateway): users reach Pipelines through it, and its mesh guards the user-id header`);
  if (!userHeaders) {
    throw new Error(`${where} needs the identity headers the gateway writes after authentication: configure authentication (auth.mode dex `
      + 'or oidc) so the gateway has userHeaders, or pass userHeaders');
  }
  if (gateway.mesh.dataplane !== 'sidecar') {
    throw new Error(`${where} trusts the user-id header only from the gateway, through AuthorizationPolicies matching request headers, which `
      + `the ${gateway.mesh.dataplane} dataplane does not enforce without waypoints; use the sidecar dataplane (istio.dataplane sidecar)`);
  }
  return gateway;
}
