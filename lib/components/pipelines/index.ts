import { Construct } from 'constructs';
import { IArtifactStore } from '../../core/artifact-store';
import { CertManagerRef } from '../../core/cert-manager';
import { IDatabase } from '../../core/database';
import { PipelinesApiServer } from './api-server';
import { ArgoWorkflowController } from './argo';
import { PipelinesCache } from './cache';
import { PipelinesCrds } from './crds';
import { PipelineInstallConfig } from './install-config';
import { MetadataService } from './metadata';
import { PersistenceAgent } from './persistence-agent';
import { ScheduledWorkflowController } from './scheduled-workflow';
import { PipelinesMode } from './shared';
import { PipelinesUi } from './ui';
import { ViewerController } from './viewer';
import { VisualizationServer } from './visualization';

/** Props of {@link KubeflowPipelines}. */
export interface KubeflowPipelinesProps {
  /** Namespace of the backend (the platform namespace). */
  readonly namespace: string;
  /** Metadata database (Pipelines, ML Metadata and, with MySQL, the cache). */
  readonly database: IDatabase;
  /** Artifact store. */
  readonly store: IArtifactStore;
  /**
   * Deployment mode.
   * @default 'standalone'
   */
  readonly mode?: PipelinesMode;
  /**
   * cert-manager already on the cluster: it issues the cache webhook's serving certificate, replacing the cache deployer.
   * @default - no cert-manager; the cache deployer issues the certificate
   */
  readonly certManager?: CertManagerRef;
}

/**
 * Kubeflow Pipelines 2.17.0 — what upstream's `platform-agnostic` kustomize env installs, as typed parts wired to
 * the data layer's references: the API server (`ml-pipeline`), persistence agent, ScheduledWorkflow controller, UI,
 * ML Metadata (gRPC server, Envoy, writer), visualization server, Viewer controller, the v1 cache (MySQL only —
 * in 2.17.0 cache-server speaks only MySQL, so with PostgreSQL kfkit leaves it out; v2 pipelines cache through the
 * API server), Argo Workflows as KFP pins it, and the KFP and Argo CRDs.
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

  public constructor(scope: Construct, id: string, props: KubeflowPipelinesProps) {
    super(scope, id);
    const part = { namespace: props.namespace, database: props.database, store: props.store, mode: props.mode ?? 'standalone' } as const;
    this.crds = new PipelinesCrds(this, 'Crds');
    this.installConfig = new PipelineInstallConfig(this, 'InstallConfig', part);
    this.metadata = new MetadataService(this, 'Metadata', part);
    this.apiServer = new PipelinesApiServer(this, 'ApiServer', { ...part, installConfig: this.installConfig });
    new PersistenceAgent(this, 'PersistenceAgent', { ...part, apiServer: this.apiServer });
    new ScheduledWorkflowController(this, 'ScheduledWorkflow', { ...part, apiServer: this.apiServer, installConfig: this.installConfig });
    this.ui = new PipelinesUi(this, 'Ui', { ...part, apiServer: this.apiServer.http, metadataEnvoy: this.metadata.envoy });
    new VisualizationServer(this, 'Visualization', part);
    new ViewerController(this, 'Viewer', part);
    if (props.database.engine === 'mysql') this.cache = new PipelinesCache(this, 'Cache', { ...part, certManager: props.certManager });
    this.argo = new ArgoWorkflowController(this, 'Argo', part);
  }
}
