import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeflowAuth } from './components/auth';
import { ManagedCertManager } from './components/cert-manager';
import { AwsLoadBalancerController, ClusterAutoscaler, nlbServiceAnnotations } from './components/cluster-addons';
import { CentralDashboard, pipelinesDashboardLinks } from './components/dashboard';
import { DatabaseBackup } from './components/database-backup';
import { ExternalArtifactStore } from './components/external-artifact-store';
import { ExternalDatabase } from './components/external-database';
import { KubeflowGateway } from './components/gateway';
import { GpuSupport } from './components/gpu';
import { IstioMesh } from './components/istio';
import { KnativeServing } from './components/knative';
import { Katib, katibDashboardLinks } from './components/katib';
import { KServe, kserveDashboardLinks } from './components/kserve';
import { Notebooks, notebooksDashboardLinks } from './components/notebooks';
import { TrainingOperator } from './components/training';
import { MysqlDatabase } from './components/mysql';
import { KubeflowPipelines } from './components/pipelines';
import { PostgresDatabase } from './components/postgresql';
import { Profile, ProfileArtifactKeys, ProfileProps } from './components/profile';
import { ProfilesController } from './components/profiles';
import { SeaweedfsArtifactStore } from './components/seaweedfs';
import { PlatformConfig } from './config/schema';
import { resolveProfile } from './config/tenancy-schema';
import { ApplySetParent } from './core/applyset';
import { ANY_ADDRESS } from './core/addresses';
import { ArtifactCredentials, IArtifactStore } from './core/artifact-store';
import { CertManagerRef, declareExternalCertManager } from './core/cert-manager';
import { KfkitContext } from './core/context';
import { IDatabase, SecretKeyPair } from './core/database';
import { DATABASE_CONSUMER_IDS, DatabaseConsumerId } from './core/database-users';
import { gpuPool } from './core/gpu';
import { HelmDelivery } from './core/helm';
import { ImageCatalog } from './core/images';
import { PlatformNamespace } from './core/namespace';
import { PROFILE_NAMESPACES } from './core/tenancy';

/** How the configuration says managed charts are delivered. */
function helmDelivery(config: PlatformConfig): HelmDelivery {
  const helm = config.gitops.helm;
  return helm.delivery === 'flux'
    ? { type: 'flux', namespace: helm.namespace ?? 'flux-system', interval: config.gitops.flux.interval }
    : { type: 'argocd', namespace: helm.namespace ?? 'argocd', project: helm.project };
}

/** A team added with {@link KubeflowPlatform.addProfile}: the Profile's props the platform does not wire itself. */
export type PlatformProfileProps = Omit<ProfileProps, 'controller' | 'gateway' | 'store' | 'extensions'>;

/** Props of {@link KubeflowPlatform}. */
export interface KubeflowPlatformProps {
  /** The validated configuration (see `resolveConfig` / `loadOverlay`). */
  readonly config: PlatformConfig;
  /**
   * Digests of the images, by upstream reference (`repository:tag`): the image lock (`images.lock.json`, written by
   * `kfkit images lock`). Images kfkit writes itself then carry `@sha256:…`.
   * @default - none: images are pinned by exact tag
   */
  readonly imageDigests?: Readonly<Record<string, string>>;
}

/**
 * The whole platform as one construct tree: configuration in, components wired by typed references, manifests
 * out. Data flows one way — the config is read here and turned into component props; components never read it.
 */
export class KubeflowPlatform extends Chart {
  /** The configuration the platform was built from. */
  public readonly config: PlatformConfig;
  /** Platform-wide services (image catalog, install plan). */
  public readonly context: KfkitContext;
  /** The platform namespace. */
  public readonly platformNamespace: PlatformNamespace;
  /** The metadata database. */
  public readonly database: IDatabase;
  /** The artifact store. */
  public readonly artifactStore: IArtifactStore;
  /** Scheduled backups of the in-cluster database, when enabled. */
  public readonly backup?: DatabaseBackup;
  /** Kubeflow Pipelines, when enabled. */
  public readonly pipelines?: KubeflowPipelines;
  /** cert-manager, when kfkit installs it (`certManager.mode: managed`). */
  public readonly certManager?: ManagedCertManager;
  /** The cluster-autoscaler (AWS), when enabled. */
  public readonly clusterAutoscaler?: ClusterAutoscaler;
  /** The AWS Load Balancer Controller, when enabled. */
  public readonly loadBalancerController?: AwsLoadBalancerController;
  /** The Istio mesh, when `istio.mode` is external or managed. */
  public readonly mesh?: IstioMesh;
  /** The Kubeflow gateway (with the mesh). */
  public readonly gateway?: KubeflowGateway;
  /** Authentication at the gateway, when `auth.mode` is dex or oidc. */
  public readonly auth?: KubeflowAuth;
  /** The profile controller and KFAM (multi-user). */
  public readonly profiles?: ProfilesController;
  /** The central dashboard (multi-user). */
  public readonly dashboard?: CentralDashboard;
  private keys?: ProfileArtifactKeys;
  private readonly tenantList: Profile[] = [];
  private tenantsScope?: Construct;
  /** Notebooks, when `notebooks.enabled` (multi-user). */
  public readonly notebooks?: Notebooks;
  /** Katib, when `katib.enabled`. */
  public readonly katib?: Katib;
  /** The training operator, when `training.enabled`. */
  public readonly training?: TrainingOperator;
  /** KServe, when `kserve.enabled`. */
  public readonly kserve?: KServe;
  /** Knative Serving, when `knative.mode` is external or managed. */
  public readonly knative?: KnativeServing;
  /** GPU pools and their node agents (device plugin, DCGM exporter), when GPU pools are configured. */
  public readonly gpu?: GpuSupport;

  /** Per-profile keys of the in-cluster artifact store, once a profile needs them. */
  public get profileArtifactKeys(): ProfileArtifactKeys | undefined {
    return this.keys;
  }

  /** The teams' profiles (`tenancy.profiles` and {@link addProfile}). */
  public get tenants(): readonly Profile[] {
    return this.tenantList;
  }

  public constructor(scope: Construct, id: string, props: KubeflowPlatformProps) {
    super(scope, id, { disableResourceNameHashes: true });
    const config = props.config;
    this.config = config;
    this.context = KfkitContext.create(this, {
      images: new ImageCatalog({ registryMirror: config.images.registryMirror, pullSecrets: config.images.pullSecrets, digests: props.imageDigests }),
      helmDelivery: helmDelivery(config),
      apiServerCidrs: addresses(config.cluster.apiServer),
    });
    // Standalone Pipelines runs users' pipeline steps (arbitrary images) in the platform namespace: enforce `baseline`
    // there, as upstream does for profile namespaces, and warn/audit `restricted`. Multi-user runs them in the profiles'
    // namespaces, so the platform namespace, where only kfkit's own pods run, enforces `restricted`.
    const stepsHere = config.pipelines.enabled && config.pipelines.mode === 'standalone';
    this.platformNamespace = new PlatformNamespace(this, 'Namespace', {
      name: config.namespace,
      podSecurity: stepsHere ? 'baseline' : 'restricted',
      podSecurityWarn: 'restricted',
      ...(stepsHere ? {
        podSecurityReason: 'standalone Pipelines runs users\' pipeline steps here, from images kfkit does not control (often root): baseline '
          + 'as upstream enforces where users\' pods run; kfkit\'s own pods meet restricted, which is warned and audited',
      } : {}),
    });
    this.context.protect(this.platformNamespace.resource, 'holds the platform data volumes');
    new ApplySetParent(this, 'ApplySet', { namespace: config.namespace });
    if (config.gpu.pools.length > 0) {
      this.gpu = new GpuSupport(this, 'Gpu', {
        namespace: config.gpu.namespace, pools: config.gpu.pools.map(gpuPool), devicePlugin: config.gpu.devicePlugin, dcgmExporter: config.gpu.dcgmExporter,
      });
    }
    // cert-manager installed by the cluster admins (kfkit emits only Kubeflow's own Issuers and Certificates), or by kfkit.
    let certManager: CertManagerRef | undefined;
    if (config.certManager.mode === 'external') {
      declareExternalCertManager(this.context, config.certManager.version);
      certManager = { issuer: config.certManager.issuer };
    } else if (config.certManager.mode === 'managed') {
      this.certManager = new ManagedCertManager(this, 'CertManager', {
        issuer: config.certManager.issuer,
        acmeCidrs: config.istio.mode !== 'none' && config.gateway.tls.type === 'acme' ? addresses(config.gateway.tls) : undefined,
      });
      certManager = this.certManager;
    }
    const aws = config.cloud.aws;
    const addons = config.addons;
    // The schema guarantees clusterName, vpcId and the roles of enabled add-ons.
    if (addons.clusterAutoscaler.enabled && aws) {
      const ca = addons.clusterAutoscaler;
      this.clusterAutoscaler = new ClusterAutoscaler(this, 'ClusterAutoscaler', {
        clusterName: aws.clusterName ?? '', region: aws.region, roleArn: aws.roles.clusterAutoscaler ?? '',
        expander: ca.expander, priorities: ca.priorities, scaleDown: ca.scaleDown,
      });
    }
    const lb = addons.awsLoadBalancerController;
    if (lb.enabled && aws) {
      this.loadBalancerController = new AwsLoadBalancerController(this, 'AwsLoadBalancerController', {
        clusterName: aws.clusterName ?? '', region: aws.region, vpcId: aws.vpcId ?? '', roleArn: aws.roles.loadBalancerController ?? '',
        replicas: lb.replicas,
        webhookCertificates: config.gitops.helm.delivery === 'argocd' && config.certManager.mode !== 'none' ? 'cert-manager' : 'chart',
      });
    }
    if (config.istio.mode !== 'none') {
      this.mesh = new IstioMesh(this, 'Istio', { mode: config.istio.mode, dataplane: config.istio.dataplane, version: config.istio.version });
      // Kubeflow's namespace is in the mesh, as upstream's: mTLS between its parts, identities for authorization policies.
      this.mesh.enrol(this.platformNamespace);
      const annotations = {
        ...(this.loadBalancerController && config.gateway.service.type === 'LoadBalancer'
          ? nlbServiceAnnotations({
            scheme: lb.gatewayLoadBalancer.scheme, sourceRanges: lb.gatewayLoadBalancer.sourceRanges, healthCheck: { port: 15021, path: '/healthz/ready' },
          })
          : {}),
        ...config.gateway.service.annotations,
      };
      this.gateway = new KubeflowGateway(this, 'Gateway', {
        mesh: this.mesh, namespace: this.platformNamespace.name, host: config.gateway.host, tls: config.gateway.tls, certManager,
        service: { type: config.gateway.service.type, annotations }, userHeaders: config.auth.mode !== 'none' ? config.auth.userHeaders : undefined,
      });
      if (config.auth.mode !== 'none') {
        this.auth = new KubeflowAuth(this, 'Auth', {
          gateway: this.gateway, mode: config.auth.mode, userHeaders: config.auth.userHeaders,
          machineTokens: { ...config.auth.machineTokens, cidrs: optionalAddresses(config.auth.machineTokens) },
          dex: config.auth.mode === 'dex'
            ? { ...config.auth.dex, connectors: config.auth.dex.connectors.map((c) => ({ ...c, cidrs: addresses(c) })) } : undefined,
          oidc: config.auth.oidc && { ...config.auth.oidc, cidrs: addresses(config.auth.oidc) },
          // cert-manager's HTTP-01 solver answers through the gateway, before anyone can log in.
          publicPaths: config.gateway.tls.type === 'acme' ? ['/.well-known/acme-challenge/*'] : undefined,
        });
        this.mesh.addExtensionProvider(this.auth.extensionProvider);
      }
      if (config.knative.mode !== 'none') {
        this.knative = new KnativeServing(this, 'Knative', { mode: config.knative.mode, version: config.knative.version, mesh: this.mesh, gateway: this.gateway });
      }
    }
    this.database = this.createDatabase(config);
    this.artifactStore = this.createArtifactStore(config);
    if (config.pipelines.enabled) {
      // Behind a gateway, Pipelines routes /pipeline (the UI's base path) and /ml_metadata itself.
      this.pipelines = new KubeflowPipelines(this, 'Pipelines', {
        namespace: this.platformNamespace.name, database: this.database, store: this.artifactStore, mode: config.pipelines.mode, certManager,
        gateway: this.gateway, userHeaders: this.auth?.userHeaders,
      });
    }
    // Multi-user: users' jobs run in the profiles' namespaces, where the job controllers' RBAC writes are fenced.
    const jobNamespaces = config.pipelines.enabled && config.pipelines.mode === 'multi-user' ? PROFILE_NAMESPACES : undefined;
    if (config.katib.enabled && certManager) {
      // The schema guarantees cert-manager and a database Katib's DB manager can use.
      this.katib = new Katib(this, 'Katib', {
        namespace: this.platformNamespace.name, database: this.database, certManager, gateway: this.gateway, ...(jobNamespaces ? { jobNamespaces } : {}),
      });
    }
    if (config.training.enabled) {
      this.training = new TrainingOperator(this, 'Training', { namespace: this.platformNamespace.name, ...(jobNamespaces ? { jobNamespaces } : {}) });
    }
    if (config.kserve.enabled && certManager) {
      // The schema guarantees cert-manager, and Knative for Serverless.
      this.kserve = new KServe(this, 'KServe', {
        namespace: this.platformNamespace.name, certManager, deploymentMode: config.kserve.deploymentMode, knative: this.knative, gateway: this.gateway,
        userHeaders: this.auth?.userHeaders, store: this.artifactStore, runtimes: config.kserve.runtimes,
      });
    }
    if (config.pipelines.enabled && config.pipelines.mode === 'multi-user' && this.gateway && this.auth && this.mesh) {
      // Profiles: the profile controller and KFAM, and the central dashboard in front of them.
      const irsa = this.artifactStore.credentials.type === 'irsa';
      this.profiles = new ProfilesController(this, 'Profiles', {
        namespace: this.platformNamespace.name, userHeaders: this.auth.userHeaders, mesh: this.mesh, gatewayPrincipal: this.gateway.ingressPrincipal,
        // Profiles' IAM roles trust their default-editor already (the cloud stack writes the trust): annotate only.
        plugins: irsa ? { aws: {} } : undefined,
      });
      if (config.notebooks.enabled && certManager) {
        this.notebooks = new Notebooks(this, 'Notebooks', {
          namespace: this.platformNamespace.name, certManager, gateway: this.gateway, userHeaders: this.auth.userHeaders,
          cullIdleMinutes: config.notebooks.cullIdleMinutes,
        });
      }
      this.dashboard = new CentralDashboard(this, 'Dashboard', {
        namespace: this.platformNamespace.name, gateway: this.gateway, userHeaders: this.auth.userHeaders, kfam: this.profiles.kfam,
        links: [
          ...(this.notebooks ? notebooksDashboardLinks() : []), pipelinesDashboardLinks('/pipeline'), ...(this.katib?.ui ? [katibDashboardLinks()] : []),
          ...(this.kserve?.webApp ? [kserveDashboardLinks()] : []),
        ], registrationFlow: config.tenancy.selfRegistration,
      });
      this.profiles.admitToKfam(this.dashboard.principal);
      const tenancy = config.tenancy;
      for (const p of tenancy.profiles) {
        const r = resolveProfile(tenancy, p);
        this.addProfile({
          name: r.name, owner: r.owner, podSecurity: r.podSecurity, quota: r.quota, limits: r.limits, contributors: r.contributors,
          egress: r.egress.map((e) => ({ cidr: e.cidr, ports: e.ports.map((port) => ({ port })) })),
          // The schema guarantees a role per profile when the store uses IRSA.
          awsRoleArn: irsa ? config.cloud.aws?.roles.profiles[r.name] : undefined,
        });
      }
    }
    if (this.database.inCluster && config.backup.enabled) {
      this.backup = new DatabaseBackup(this, 'DatabaseBackup', {
        namespace: this.platformNamespace.name,
        database: this.database,
        store: this.artifactStore,
        schedule: config.backup.schedule,
        retentionDays: config.backup.retentionDays,
        prefix: config.backup.prefix,
      });
    }
  }

  /**
   * Adds a team: a {@link Profile} wired to the platform's profile controller, gateway, artifact store and Pipelines,
   * with its own artifact keys on the in-cluster store (with IRSA, pass `awsRoleArn`). How `tenancy.profiles` are
   * built, and how an org stack adds teams in code. Multi-user platforms only.
   */
  public addProfile(props: PlatformProfileProps): Profile {
    const controller = this.profiles;
    if (!controller || !this.gateway) {
      throw new Error(`KubeflowPlatform.addProfile(${props.name}): profiles need multi-user Pipelines (pipelines.mode: multi-user, with Istio and auth)`);
    }
    this.tenantsScope ??= new Construct(this, 'Tenants');
    const profile = new Profile(this.tenantsScope, props.name, {
      ...props, controller, gateway: this.gateway, store: this.artifactStore,
      extensions: [
        ...(this.pipelines?.profileExtension ? [this.pipelines.profileExtension] : []),
        ...(this.kserve ? [this.kserve.profileExtension] : []),
        ...(this.katib ? [this.katib.profileExtension] : []),
        ...(this.notebooks ? [this.notebooks.profileExtension] : []),
      ],
    });
    if (this.artifactStore instanceof SeaweedfsArtifactStore && props.awsRoleArn === undefined) {
      // Each profile's own keys, limited to its prefix (with IRSA, each profile's role is the cloud stack's).
      this.keys ??= new ProfileArtifactKeys(this, 'ProfileArtifactKeys', { namespace: this.platformNamespace.name, store: this.artifactStore });
      this.keys.add(profile);
    }
    this.tenantList.push(profile);
    return profile;
  }

  private createArtifactStore(config: PlatformConfig): IArtifactStore {
    const store = config.objectStore;
    const namespace = this.platformNamespace.name;
    if (store.type === 'in-cluster') {
      return new SeaweedfsArtifactStore(this, 'ArtifactStore', {
        namespace, bucket: store.bucket, storageSize: store.storage.size, storageClass: store.storage.storageClass, resources: store.resources,
      });
    }
    const credentials: ArtifactCredentials = store.credentials.type === 'irsa'
      // The schema guarantees cloud.aws.roles.pipelines for irsa.
      ? { type: 'irsa', roleArn: config.cloud.aws?.roles.pipelines ?? '' }
      : store.credentials;
    return new ExternalArtifactStore(this, 'ArtifactStore', {
      namespace,
      provider: store.provider,
      endpoint: store.endpoint,
      region: store.region ?? (store.provider === 's3' ? config.cloud.aws?.region : undefined),
      bucket: store.bucket,
      pathStyle: store.pathStyle,
      secure: store.secure,
      credentials,
      cidrs: addresses(store),
    });
  }

  private createDatabase(config: PlatformConfig): IDatabase {
    const db = config.database;
    const namespace = this.platformNamespace.name;
    const secret = (c: { readonly name: string; readonly usernameKey: string; readonly passwordKey: string }): SecretKeyPair =>
      ({ secretName: c.name, usernameKey: c.usernameKey, passwordKey: c.passwordKey });
    if (db.type === 'external') {
      const users: Partial<Record<DatabaseConsumerId, SecretKeyPair>> = {};
      for (const c of DATABASE_CONSUMER_IDS) {
        const given = db.users[c];
        if (given !== undefined) users[c] = secret(given);
      }
      return new ExternalDatabase(this, 'MetadataDatabase', {
        namespace,
        engine: db.engine,
        host: db.host,
        port: db.port,
        cidrs: addresses(db),
        credentials: secret(db.credentialsSecret),
        consumerCredentials: users,
        tls: { mode: db.tls.mode, caSecret: db.tls.caSecret },
        databaseNames: db.names,
      });
    }
    // Who connects: a user each, created by the database's users Job (the Pipelines cache server speaks MySQL only).
    const consumers: DatabaseConsumerId[] = [
      ...(config.pipelines.enabled ? ['pipelines', 'metadata', ...(db.engine === 'mysql' ? ['cache'] as const : [])] as const : []),
      ...(config.katib.enabled && config.certManager.mode !== 'none' ? ['katib'] as const : []),
      ...(config.backup.enabled ? ['backup'] as const : []),
    ];
    const common = {
      namespace, storageSize: db.storage.size, storageClass: db.storage.storageClass, resources: db.resources, databaseNames: db.names, consumers,
    };
    switch (db.engine) {
      case 'mysql': return new MysqlDatabase(this, 'MetadataDatabase', common);
      case 'postgresql': return new PostgresDatabase(this, 'MetadataDatabase', common);
    }
  }
}

/** The blocks a destination's egress goes to: its `cidrs`, or every address where the config opts in with `anyAddress`. */
function addresses(a: { readonly cidrs: readonly string[]; readonly anyAddress: boolean }): readonly string[] {
  return a.anyAddress ? [ANY_ADDRESS] : a.cidrs;
}

/** {@link addresses}, or `undefined` where the config gives none (the destination may not be used). */
function optionalAddresses(a: { readonly cidrs: readonly string[]; readonly anyAddress: boolean }): readonly string[] | undefined {
  return a.anyAddress || a.cidrs.length > 0 ? addresses(a) : undefined;
}
