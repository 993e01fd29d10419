import * as pulumi from '@pulumi/pulumi';
import { mergeValues } from '../../lib/config/load';
import { PlatformConfigInput } from '../../lib/config/schema';
import { DatabaseEngine, DatabaseTlsMode } from '../../lib/core/database';
import { ClusterAutoscalerRole, LoadBalancerControllerRole } from './addon-roles';
import { ArtifactBucket, ArtifactBucketArgs, validateArtifactBucketArgs } from './artifact-bucket';
import { KfkitCluster, KfkitClusterArgs, validateKfkitClusterArgs } from './cluster';
import { GpuAmiType, GpuNodeGroup, GpuPoolSettings, validateGpuPoolSettings } from './gpu-node-group';
import { IrsaRole, PIPELINES_SERVICE_ACCOUNTS, ProfileArtifactRole } from './irsa-role';
import { CloudEnv, DatabaseSettings, databaseCompatibilityIssues, MetadataDatabase, validateDatabaseSettings } from './metadata-database';
import { checkComponentName, COMPONENT_NAME, fieldOf, listOf, Problems, throwIfInvalid } from './validation';

/** A GPU pool of the cloud stack: a {@link GpuNodeGroup} named `name`, in the cluster's node subnets by default. */
export interface CloudGpuPool extends Omit<GpuPoolSettings, 'poolName'> {
  /** Pool name (`kfkit.dev/gpu-pool` label value; kfkit's `gpu.pools[].name`). */
  readonly name: string;
  /** Subnets of the nodes. @default - the cluster's node subnets */
  readonly subnetIds?: pulumi.Input<string>[];
}

/** Arguments of {@link AwsCloudStack}. */
export interface AwsCloudStackArgs {
  /** `dev` or `prod`: prod turns on the database's Multi-AZ, deletion protection, 30-day backups and final snapshot. */
  readonly env: CloudEnv;
  /**
   * The platform namespace (kfkit's `namespace`): the namespace of the ServiceAccounts the pipelines role trusts.
   * @default 'kubeflow'
   */
  readonly namespace?: string;
  /** The EKS cluster: an existing one by name, or a new one. */
  readonly cluster: KfkitClusterArgs;
  /** The artifact bucket. @default - an auto-named bucket with the secure defaults of {@link ArtifactBucket} */
  readonly bucket?: ArtifactBucketArgs;
  /** The metadata database on RDS. @default - none: the platform keeps its in-cluster database */
  readonly database?: DatabaseSettings;
  /** GPU node groups. @default - none */
  readonly gpuPools?: readonly CloudGpuPool[];
  /** Tenant (Kubeflow profile) namespaces that each get a {@link ProfileArtifactRole}. @default - none */
  readonly profiles?: readonly string[];
  /** Tags of every AWS resource. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** A GPU pool as the cloud stack exports it. */
export interface CloudGpuPoolOutput {
  readonly name: string;
  readonly nodeGroupName: string;
  readonly amiType: GpuAmiType;
  /** `bundled` when the nodes run the NVIDIA device plugin themselves (Bottlerocket), `managed` when kfkit must deploy it. */
  readonly devicePlugin: 'bundled' | 'managed';
  readonly gpusPerNode: number;
}

/**
 * What the cloud stack exports (as its stack output `cloud`) and the platform stack reads: plain, serializable
 * values, no secret among them (the database password stays in Secrets Manager; the kubeconfig authenticates with
 * `aws eks get-token`).
 */
export interface CloudOutputs {
  readonly env: CloudEnv;
  /** The region of the cluster. */
  readonly region: string;
  /** The platform namespace the roles trust. */
  readonly namespace: string;
  readonly cluster: {
    readonly name: string;
    readonly endpoint: string;
    readonly oidcIssuerUrl: string;
    readonly oidcProviderArn: string;
    readonly nodeSecurityGroupId: string;
    /** The cluster's VPC (the AWS Load Balancer Controller's `vpcId`). */
    readonly vpcId: string;
    /** The VPC's CIDR block, where the control plane's addresses are drawn from (kfkit's `cluster.apiServer.cidrs`). */
    readonly vpcCidr: string;
    /** kubeconfig (JSON) for the platform stack's Kubernetes provider. */
    readonly kubeconfig: string;
  };
  readonly bucket: { readonly name: string; readonly arn: string; readonly region: string };
  readonly roles: {
    /** The role of {@link PIPELINES_SERVICE_ACCOUNTS} (kfkit's `cloud.aws.roles.pipelines`). */
    readonly pipelines: string;
    /** Per-tenant roles by profile namespace. */
    readonly profiles: Readonly<Record<string, string>>;
    /** The cluster-autoscaler's role (kube-system/cluster-autoscaler; kfkit's `cloud.aws.roles.clusterAutoscaler`). */
    readonly clusterAutoscaler: string;
    /** The AWS Load Balancer Controller's role (kube-system/aws-load-balancer-controller; `cloud.aws.roles.loadBalancerController`). */
    readonly loadBalancerController: string;
  };
  readonly database?: {
    readonly engine: DatabaseEngine;
    readonly host: string;
    readonly port: number;
    /** The TLS mode consumers must use (`required` when the server forces TLS). */
    readonly tlsMode: DatabaseTlsMode;
    /** Secrets Manager secret with the master credentials (`username`, `password`). */
    readonly secretArn: string;
  };
  readonly gpuPools: readonly CloudGpuPoolOutput[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const RESERVED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** Name suffixes of the cluster add-on roles every stack creates. */
const ADDON_ROLE_CHILDREN = ['cluster-autoscaler', 'lb-controller'];

/** Problems of `args` for a stack named `name` (including every child's), with paths relative to the args. */
export function validateAwsCloudStackArgs(name: string, args: AwsCloudStackArgs, problems: Problems): void {
  checkComponentName(problems, name);
  const env = args.env;
  const envValue: unknown = env;
  if (envValue !== 'dev' && envValue !== 'prod') problems.add('env', `must be dev or prod, got ${JSON.stringify(envValue)}`);
  const namespace = args.namespace ?? 'kubeflow';
  if (!DNS_LABEL.test(namespace) || RESERVED_NAMESPACES.includes(namespace)) {
    problems.add('namespace', `must be a namespace name (DNS label) other than ${RESERVED_NAMESPACES.join(', ')}, got ${JSON.stringify(namespace)}`);
  }
  const cluster: unknown = args.cluster;
  if (typeof cluster !== 'object' || cluster === null) problems.add('cluster', 'required: { existing: { name } } or { create: { subnetIds, ... } }');
  else validateKfkitClusterArgs(args.cluster, problems.at('cluster'));
  validateArtifactBucketArgs(args.bucket ?? {}, problems.at('bucket'));
  if (args.database !== undefined) {
    validateDatabaseSettings(env, args.database, problems.at('database'));
    const engine = args.database.engine ?? 'mysql';
    const engineValue: unknown = engine;
    if (engineValue === 'mysql' || engineValue === 'postgresql') {
      const fix = engine === 'postgresql' ? 'use engine mysql, or set requireTls: false (plaintext inside the VPC)' : 'keep requireTls';
      for (const message of databaseCompatibilityIssues(engine, args.database.requireTls ?? true)) problems.add('database.requireTls', `${message}; ${fix}`);
    }
  }
  const pools = listOf(args.gpuPools ?? []);
  if (pools === undefined) problems.add('gpuPools', 'must be a list of GPU pools');
  else {
    const seen = new Set<string>();
    pools.forEach((pool, i) => {
      const at = problems.at(`gpuPools[${i}]`);
      const poolName = fieldOf(pool, 'name');
      if (typeof poolName !== 'string' || !DNS_LABEL.test(poolName)) {
        at.add('name', `must be a DNS label, got ${JSON.stringify(poolName)}`);
        return;
      }
      if (seen.has(poolName)) at.add('name', `${poolName} is listed twice`);
      else if (!COMPONENT_NAME.test(`${name}-gpu-${poolName}`)) at.add('name', `${name}-gpu-${poolName} is too long for a component name (48 characters)`);
      seen.add(poolName);
      validateGpuPoolSettings(poolName, { ...(pool as CloudGpuPool), poolName }, at);
    });
  }
  const profiles = listOf(args.profiles ?? []);
  if (profiles === undefined) problems.add('profiles', 'must be a list of namespaces');
  else {
    profiles.forEach((ns, i) => {
      if (typeof ns !== 'string' || !DNS_LABEL.test(ns) || RESERVED_NAMESPACES.includes(ns)) problems.add(`profiles[${i}]`, `must be a namespace name, got ${JSON.stringify(ns)}`);
      else if (ns === namespace) problems.add(`profiles[${i}]`, `${ns} is the platform namespace, not a tenant`);
      else if (profiles.indexOf(ns) !== i) problems.add(`profiles[${i}]`, `${ns} is listed twice`);
      else if (!COMPONENT_NAME.test(`${name}-profile-${ns}`)) problems.add(`profiles[${i}]`, `${name}-profile-${ns} is too long for a component name (48 characters)`);
    });
  }
  for (const child of ADDON_ROLE_CHILDREN) {
    if (COMPONENT_NAME.test(name) && !COMPONENT_NAME.test(`${name}-${child}`)) problems.add('(name)', `${name}-${child} is too long for a component name (48 characters)`);
  }
}

/**
 * The AWS cloud layer of a kfkit platform, composed from a typed args object: the EKS cluster ({@link KfkitCluster}),
 * the artifact bucket ({@link ArtifactBucket}), the pipelines IRSA role for {@link PIPELINES_SERVICE_ACCOUNTS} on
 * the whole bucket ({@link IrsaRole}), per-tenant roles on their prefixes ({@link ProfileArtifactRole}), the RDS
 * metadata database admitting only the cluster's nodes ({@link MetadataDatabase}), GPU node groups
 * ({@link GpuNodeGroup}) and the IRSA roles of the cluster add-ons the platform installs in kube-system: the
 * cluster-autoscaler ({@link ClusterAutoscalerRole}, which scales the node groups, GPU pools from zero) and the AWS
 * Load Balancer Controller ({@link LoadBalancerControllerRole}, the NLB in front of the Kubeflow gateway). Every
 * property (the children's too) is checked before anything is created, and every problem is reported in one error.
 *
 * Two stacks: this one (project `pulumi/aws`, `pulumi up` once per environment) exports {@link AwsCloudStack.outputs}
 * as `cloud`; the platform stack reads it with {@link readCloudOutputs} (a StackReference, awaited before the
 * program builds anything) and layers {@link cloudOutputsToOverlay} over its overlay. The platform's resources then
 * depend on plain values only, so its `pulumi preview` shows every Kubernetes object — none is created inside an
 * `apply`, where previews cannot see it.
 *
 * Children: `<name>-cluster`, `<name>-artifacts`, `<name>-pipelines`, `<name>-profile-<ns>`, `<name>-db`, `<name>-gpu-<pool>`,
 * `<name>-cluster-autoscaler`, `<name>-lb-controller`.
 */
export class AwsCloudStack extends pulumi.ComponentResource {
  /** The cluster. */
  public readonly cluster: KfkitCluster;
  /** The artifact bucket. */
  public readonly bucket: ArtifactBucket;
  /** The pipelines role. */
  public readonly pipelinesRole: IrsaRole;
  /** Per-tenant roles by namespace. */
  public readonly profileRoles: Readonly<Record<string, ProfileArtifactRole>>;
  /** The RDS database, if any. */
  public readonly database: MetadataDatabase | undefined;
  /** GPU node groups by pool name. */
  public readonly gpuPools: Readonly<Record<string, GpuNodeGroup>>;
  /** The cluster-autoscaler's role. */
  public readonly clusterAutoscalerRole: ClusterAutoscalerRole;
  /** The AWS Load Balancer Controller's role. */
  public readonly loadBalancerControllerRole: LoadBalancerControllerRole;
  /** Everything the platform stack needs; export it as the stack output `cloud`. */
  public readonly outputs: pulumi.Output<CloudOutputs>;

  public constructor(name: string, args: AwsCloudStackArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('kfkit:aws:AwsCloudStack', name, {}, opts);
    const problems = new Problems();
    validateAwsCloudStackArgs(name, args, problems);
    throwIfInvalid(`kfkit:aws:AwsCloudStack ${name}`, problems.all);

    const parent = { parent: this };
    const namespace = args.namespace ?? 'kubeflow';
    const tags = { 'kfkit.dev/stack': name, 'kfkit.dev/env': args.env, ...args.tags };
    this.cluster = new KfkitCluster(`${name}-cluster`, { ...args.cluster, tags: { ...tags, ...args.cluster.tags } }, parent);
    this.bucket = new ArtifactBucket(`${name}-artifacts`, { ...args.bucket, tags: { ...tags, ...args.bucket?.tags } }, parent);
    this.pipelinesRole = new IrsaRole(`${name}-pipelines`, {
      oidcProviderArn: this.cluster.oidcProviderArn,
      serviceAccounts: PIPELINES_SERVICE_ACCOUNTS.map((sa) => ({ namespace, name: sa })),
      s3: { bucketArn: this.bucket.arn, kmsKeyArn: this.bucket.kmsKeyArn },
      description: `kfkit ${name}: Kubeflow Pipelines artifacts and database backups (${namespace})`,
      tags,
    }, parent);
    this.profileRoles = Object.fromEntries((args.profiles ?? []).map((ns) => [ns, new ProfileArtifactRole(`${name}-profile-${ns}`, {
      oidcProviderArn: this.cluster.oidcProviderArn, bucketArn: this.bucket.arn, kmsKeyArn: this.bucket.kmsKeyArn, namespace: ns, tags,
    }, parent)]));
    this.database = args.database === undefined ? undefined : new MetadataDatabase(`${name}-db`, {
      ...args.database,
      env: args.env,
      vpcId: this.cluster.vpcId,
      allowedSecurityGroupIds: [this.cluster.nodeSecurityGroupId],
      tags: { ...tags, ...args.database.tags },
    }, parent);
    this.gpuPools = Object.fromEntries((args.gpuPools ?? []).map((pool) => {
      const { name: poolName, subnetIds, ...settings } = pool;
      return [poolName, new GpuNodeGroup(`${name}-gpu-${poolName}`, {
        ...settings,
        poolName,
        clusterName: this.cluster.clusterName,
        subnetIds: subnetIds ?? this.cluster.nodeSubnetIds,
        nodeRoleArn: settings.nodeRoleArn ?? this.cluster.nodeRoleArn,
        tags: { ...tags, ...settings.tags },
      }, parent)];
    }));

    this.clusterAutoscalerRole = new ClusterAutoscalerRole(`${name}-cluster-autoscaler`, {
      oidcProviderArn: this.cluster.oidcProviderArn, clusterName: this.cluster.clusterName, region: this.cluster.region, tags,
    }, parent);
    this.loadBalancerControllerRole = new LoadBalancerControllerRole(`${name}-lb-controller`, {
      oidcProviderArn: this.cluster.oidcProviderArn, region: this.cluster.region, vpcId: this.cluster.vpcId, tags,
    }, parent);

    const db = this.database;
    const database = db === undefined ? undefined : pulumi.all([db.address, db.port, db.secretArn]).apply(([host, port, secretArn]) => ({
      engine: db.engine, host, port, tlsMode: db.tlsMode, secretArn,
    }));
    const gpuPools = pulumi.all(Object.values(this.gpuPools).map((g) => g.nodeGroupName.apply((nodeGroupName): CloudGpuPoolOutput => ({
      name: g.poolName, nodeGroupName, amiType: g.amiType, devicePlugin: g.bundlesDevicePlugin ? 'bundled' : 'managed', gpusPerNode: g.gpusPerNode,
    }))));
    const profiles = pulumi.all(Object.fromEntries(Object.entries(this.profileRoles).map(([ns, role]) => [ns, role.roleArn])));
    const c = this.cluster;
    const cluster = pulumi.all([c.clusterName, c.endpoint, c.oidcIssuerUrl, c.oidcProviderArn, c.nodeSecurityGroupId, c.vpcId, c.vpcCidr, c.kubeconfig])
      .apply(([name, endpoint, oidcIssuerUrl, oidcProviderArn, nodeSecurityGroupId, vpcId, vpcCidr, kubeconfig]) => ({
        name, endpoint, oidcIssuerUrl, oidcProviderArn, nodeSecurityGroupId, vpcId, vpcCidr, kubeconfig,
      }));
    const addonRoles = pulumi.all([this.clusterAutoscalerRole.roleArn, this.loadBalancerControllerRole.roleArn])
      .apply(([clusterAutoscaler, loadBalancerController]) => ({ clusterAutoscaler, loadBalancerController }));
    const bucket = pulumi.all([this.bucket.bucketName, this.bucket.arn, this.bucket.region])
      .apply(([bucketName, arn, region]) => ({ name: bucketName, arn, region }));
    const noDatabase: pulumi.Output<CloudOutputs['database']> = pulumi.output(undefined);
    this.outputs = pulumi.all([c.region, cluster, bucket, this.pipelinesRole.roleArn, profiles, addonRoles, database ?? noDatabase, gpuPools])
      .apply(([region, clusterOut, bucketOut, pipelines, profileRoles, addonRoleArns, databaseOut, gpuPoolsOut]): CloudOutputs => ({
        env: args.env,
        region,
        namespace,
        cluster: clusterOut,
        bucket: bucketOut,
        roles: { pipelines, profiles: profileRoles, ...addonRoleArns },
        ...(databaseOut === undefined ? {} : { database: databaseOut }),
        gpuPools: gpuPoolsOut,
      }));
    this.registerOutputs({ outputs: this.outputs });
  }
}

/** The overlay values the cloud stack determines, in kfkit's configuration shape. */
export type CloudOverlay = Required<Pick<PlatformConfigInput, 'namespace' | 'cluster' | 'objectStore' | 'cloud' | 'gpu'>> & Pick<PlatformConfigInput, 'database'>;

/** Options of {@link cloudOutputsToOverlay}. */
export interface CloudOverlayOptions {
  /**
   * The Secret (in the platform namespace) consumers read the database credentials from; create it from the RDS
   * secret ({@link CloudOutputs} `database.secretArn`, keys `username` and `password`) with External Secrets.
   * @default 'metadata-db-credentials'
   */
  readonly credentialsSecretName?: string;
}

/**
 * The values the platform stack takes from the cloud stack, as a kfkit overlay fragment: the platform namespace
 * (the one the roles trust), the API server's range (`cluster.apiServer.cidrs`: the VPC's CIDR), the artifact store (external
 * S3 with IRSA, the bucket and its region), `cloud.aws`
 * (region, cluster name, VPC, OIDC provider, the pipelines role and the cluster add-ons' roles), the GPU pools
 * (`gpu.pools`: one per node group, selected by its `kfkit.dev/gpu-pool` label, tainted, with the device plugin the
 * nodes need — the list replaces the overlay's) and —
 * with an RDS database — the external database (engine, host, port, credentials Secret, TLS `required` as the server
 * enforces it). Layer it over the environment's overlay with {@link applyCloudOverlay}.
 */
export function cloudOutputsToOverlay(outputs: CloudOutputs, options: CloudOverlayOptions = {}): CloudOverlay {
  const overlay: CloudOverlay = {
    namespace: outputs.namespace,
    // EKS's control-plane addresses rotate within the cluster's VPC: the range kfkit's policies allow.
    cluster: { apiServer: { cidrs: [outputs.cluster.vpcCidr] } },
    // S3 and STS through the VPC's interface endpoints (KfkitCluster serviceEndpoints): at addresses in the VPC.
    objectStore: {
      type: 'external', provider: 's3', region: outputs.bucket.region, bucket: outputs.bucket.name, credentials: { type: 'irsa' }, cidrs: [outputs.cluster.vpcCidr],
    },
    cloud: {
      aws: {
        region: outputs.region,
        clusterName: outputs.cluster.name,
        vpcId: outputs.cluster.vpcId,
        oidcProviderArn: outputs.cluster.oidcProviderArn,
        roles: {
          pipelines: outputs.roles.pipelines,
          profiles: outputs.roles.profiles,
          clusterAutoscaler: outputs.roles.clusterAutoscaler,
          loadBalancerController: outputs.roles.loadBalancerController,
        },
      },
    },
    // The node groups carry the pool label and the nvidia.com/gpu taint: the pools' defaults (nodeSelector, taint).
    gpu: { pools: outputs.gpuPools.map((p) => ({ name: p.name, devicePlugin: p.devicePlugin })) },
  };
  const db = outputs.database;
  if (db === undefined) return overlay;
  return {
    ...overlay,
    database: {
      type: 'external',
      engine: db.engine,
      host: db.host,
      port: db.port,
      // The RDS instance is in the cluster's VPC; its address may change within it.
      cidrs: [outputs.cluster.vpcCidr],
      credentialsSecret: { name: options.credentialsSecretName ?? 'metadata-db-credentials' },
      tls: { mode: db.tlsMode },
    },
  };
}

/**
 * An overlay document with the cloud stack's values layered over it (they win: they describe what exists), merged
 * like stacks and overlays are (objects key by key; an object of another `type` replaces).
 */
export function applyCloudOverlay(overlay: Readonly<Record<string, unknown>>, cloud: CloudOverlay): Record<string, unknown> {
  return mergeValues(overlay, cloud) as Record<string, unknown>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks that `value` (a stack output read back) has the shape of {@link CloudOutputs}; throws naming every missing field. */
export function parseCloudOutputs(value: unknown, source: string): CloudOutputs {
  const problems = new Problems();
  const str = (o: unknown, path: string, hint = ''): void => {
    const v = path.split('.').reduce<unknown>((cur, k) => (isRecord(cur) ? cur[k] : undefined), o);
    if (typeof v !== 'string' || v === '') problems.add(path, `must be a non-empty string${hint}`);
  };
  if (!isRecord(value)) {
    problems.add('(cloud)', `must be an object (the output \`cloud\` of the kfkit AWS cloud stack), got ${JSON.stringify(value)}`);
  } else {
    if (value.env !== 'dev' && value.env !== 'prod') problems.add('env', 'must be dev or prod');
    for (const p of ['region', 'namespace', 'cluster.name', 'cluster.endpoint', 'cluster.oidcIssuerUrl', 'cluster.oidcProviderArn',
      'cluster.nodeSecurityGroupId', 'cluster.kubeconfig', 'bucket.name', 'bucket.arn', 'bucket.region', 'roles.pipelines']) str(value, p);
    // Exported since the cluster add-ons: a cloud stack deployed before lacks them.
    for (const p of ['cluster.vpcId', 'cluster.vpcCidr', 'roles.clusterAutoscaler', 'roles.loadBalancerController']) {
      str(value, p, ' (a cloud stack deployed by an older kfkit does not export it: run `pulumi up` in pulumi/aws)');
    }
    if (!isRecord(value.roles) || !isRecord(value.roles.profiles)) problems.add('roles.profiles', 'must be an object');
    if (!Array.isArray(value.gpuPools)) problems.add('gpuPools', 'must be a list');
    if (value.database !== undefined) {
      for (const p of ['database.engine', 'database.host', 'database.tlsMode', 'database.secretArn']) str(value, p);
      if (!isRecord(value.database) || typeof value.database.port !== 'number') problems.add('database.port', 'must be a number');
    }
  }
  throwIfInvalid(`kfkit cloud outputs of ${source}`, problems.all);
  return value as CloudOutputs;
}

/**
 * Reads the cloud stack's output `cloud` through a StackReference (a plain value, awaited: the platform program is
 * async and builds its resources afterwards, never inside an `apply`). Throws when the stack has no such output, or
 * its value is not known (in a preview), telling the user to run `pulumi up` in pulumi/aws first.
 * @param stackName fully qualified name of the cloud stack, `<org>/kfkit-aws/<stack>`
 */
export async function readCloudOutputs(stackName: string, opts: pulumi.CustomResourceOptions = {}): Promise<CloudOutputs> {
  const ref = new pulumi.StackReference(`kfkit-cloud-${stackName.replace(/[^A-Za-z0-9-]/g, '-')}`, { name: stackName }, opts);
  const details = await ref.getOutputDetails('cloud');
  const value: unknown = details.value ?? details.secretValue;
  if (value === undefined) {
    // A stack that was never deployed has no outputs; in a preview, an output not known yet reads the same way.
    throw new Error(`kfkit: stack ${stackName} has no output "cloud": deploy the AWS cloud stack (pulumi/aws) first — `
      + `\`cd pulumi/aws && pulumi up --stack ${stackName}\` — or fix kfkit:cloudStack. The platform is not built from placeholder values.`);
  }
  return parseCloudOutputs(value, stackName);
}

/**
 * The overlay fragment of the platform stack's cloud stack, when stack config `kfkit:cloudStack` names one
 * (`undefined` otherwise): what the platform program layers over `overlays/<env>.yaml` with {@link applyCloudOverlay}.
 */
export async function cloudOverlayFromConfig(config: pulumi.Config, options: CloudOverlayOptions = {}): Promise<CloudOverlay | undefined> {
  const stackName = config.get('cloudStack');
  if (stackName === undefined) return undefined;
  return cloudOutputsToOverlay(await readCloudOutputs(stackName), options);
}
