import * as aws from '@pulumi/aws';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { IrsaRole } from './irsa-role';
import { NodeRole } from './gpu-node-group';
import { serviceTrustPolicy } from './policy';
import { arnPattern, checkComponentName, checkInteger, checkList, checkPattern, known, OIDC_PROVIDER_ARN, Problems, throwIfInvalid } from './validation';

/** Use an EKS cluster that exists already. */
export interface ExistingClusterSettings {
  /** Name of the cluster (looked up with `aws.eks.getCluster`). */
  readonly name: pulumi.Input<string>;
  /**
   * ARN of the cluster's IAM OIDC provider (IRSA must be set up on the cluster).
   * @default - looked up by the cluster's OIDC issuer URL
   */
  readonly oidcProviderArn?: pulumi.Input<string>;
  /**
   * Security group of the nodes, the one the database admits.
   * @default - the cluster security group, which EKS puts on managed nodes without a custom launch template
   */
  readonly nodeSecurityGroupId?: pulumi.Input<string>;
  /**
   * Subnets for new node groups (GPU pools).
   * @default - the cluster's subnets
   */
  readonly nodeSubnetIds?: pulumi.Input<string>[];
}

/** The default (CPU) managed node group of a new cluster. */
export interface DefaultNodeGroupSettings {
  /** @default ['m7i.xlarge'] */
  readonly instanceTypes?: readonly string[];
  /** @default 2 */
  readonly minSize?: number;
  /** @default 4 */
  readonly maxSize?: number;
}

/** Create a new EKS cluster (in an existing VPC). */
export interface NewClusterSettings {
  /** Kubernetes version. @default - EKS's default version when the cluster is created */
  readonly version?: string;
  /** Subnets of the control plane's network interfaces (at least two Availability Zones). */
  readonly subnetIds: pulumi.Input<string>[];
  /** Private subnets of the nodes. @default - subnetIds */
  readonly nodeSubnetIds?: pulumi.Input<string>[];
  /** Whether the API server is reachable from outside the VPC. @default true */
  readonly endpointPublicAccess?: boolean;
  /** Addresses allowed to reach the public endpoint. @default ['0.0.0.0/0'] */
  readonly publicAccessCidrs?: readonly string[];
  /** KMS key encrypting Kubernetes Secrets (envelope encryption). @default - none (EKS default encryption) */
  readonly secretsKmsKeyArn?: pulumi.Input<string>;
  /** The default node group. */
  readonly defaultNodeGroup?: DefaultNodeGroupSettings;
  /**
   * The default StorageClass `gp3` (EBS CSI, encrypted, `WaitForFirstConsumer`), created in the cluster: EKS clusters
   * since 1.30 have no default StorageClass, so PVCs without a class would stay Pending. `false` leaves it out.
   * @default { reclaimPolicy: 'Delete' }
   */
  readonly storageClass?: false | { readonly reclaimPolicy: 'Delete' | 'Retain' };
}

/** Arguments of {@link KfkitCluster}: exactly one of `existing` or `create`. */
export interface KfkitClusterArgs {
  readonly existing?: ExistingClusterSettings;
  readonly create?: NewClusterSettings;
  /**
   * Interface VPC endpoints for S3 and STS, with private DNS, in the node subnets (one per Availability Zone), behind a
   * security group that admits HTTPS from the VPC: pods then reach S3 and STS at addresses inside the VPC, the only
   * range kfkit's egress policies allow (`objectStore.cidrs` is the VPC's CIDR). Without them, artifact and IRSA
   * traffic to the public endpoints is refused by those policies.
   * @default - true for a new cluster; false for an existing one (its VPC may have them already: check, or set true)
   */
  readonly serviceEndpoints?: boolean;
  /** Tags of every AWS resource of the component. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Name of the EBS CSI driver's controller ServiceAccount (kube-system), which its IRSA role trusts. */
export const EBS_CSI_SERVICE_ACCOUNT = { namespace: 'kube-system', name: 'ebs-csi-controller-sa' };

/** Problems of `args`, with paths relative to the args. */
export function validateKfkitClusterArgs(args: KfkitClusterArgs, problems: Problems): void {
  if ((args.existing === undefined) === (args.create === undefined)) {
    problems.add('(args)', 'set exactly one of existing (use a cluster by name) or create (a new cluster)');
  }
  if (args.serviceEndpoints !== undefined && typeof args.serviceEndpoints !== 'boolean') {
    problems.add('serviceEndpoints', `must be true or false, got ${JSON.stringify(args.serviceEndpoints)}`);
  }
  const e = args.existing;
  if (e !== undefined) {
    const name = known(e.name);
    if (name !== undefined && (typeof name !== 'string' || !/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(name))) {
      problems.add('existing.name', `must be an EKS cluster name, got ${JSON.stringify(name)}`);
    }
    checkPattern(problems, 'existing.oidcProviderArn', e.oidcProviderArn, OIDC_PROVIDER_ARN, 'an IAM OIDC provider ARN');
    checkPattern(problems, 'existing.nodeSecurityGroupId', e.nodeSecurityGroupId, /^sg-[0-9a-f]+$/, 'a security group ID (sg-...)');
    if (e.nodeSubnetIds !== undefined) checkList(problems, 'existing.nodeSubnetIds', e.nodeSubnetIds, 1, 'subnets');
  }
  const c = args.create;
  if (c !== undefined) {
    if (c.version !== undefined && !/^1\.\d{2}$/.test(c.version)) problems.add('create.version', `must be a Kubernetes minor version such as 1.33, got ${JSON.stringify(c.version)}`);
    checkList(problems, 'create.subnetIds', c.subnetIds, 2, 'subnets (EKS needs two Availability Zones)');
    if (c.nodeSubnetIds !== undefined) checkList(problems, 'create.nodeSubnetIds', c.nodeSubnetIds, 1, 'subnets');
    (c.publicAccessCidrs ?? []).forEach((cidr, i) => {
      if (!/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/.test(cidr)) problems.add(`create.publicAccessCidrs[${i}]`, `must be an IPv4 CIDR, got ${JSON.stringify(cidr)}`);
    });
    if (c.endpointPublicAccess === false && c.publicAccessCidrs !== undefined) {
      problems.add('create.publicAccessCidrs', 'is meaningless with endpointPublicAccess: false');
    }
    checkPattern(problems, 'create.secretsKmsKeyArn', c.secretsKmsKeyArn, arnPattern('kms'), 'a KMS key ARN');
    const ng = c.defaultNodeGroup ?? {};
    if (ng.instanceTypes !== undefined && ng.instanceTypes.length === 0) problems.add('create.defaultNodeGroup.instanceTypes', 'must list at least one instance type');
    checkInteger(problems, 'create.defaultNodeGroup.minSize', ng.minSize, 1, 1000);
    checkInteger(problems, 'create.defaultNodeGroup.maxSize', ng.maxSize, 1, 1000);
    if ((ng.maxSize ?? 4) < (ng.minSize ?? 2)) problems.add('create.defaultNodeGroup.maxSize', `must be at least minSize (${ng.minSize ?? 2})`);
    if (c.storageClass !== undefined && c.storageClass !== false && !['Delete', 'Retain'].includes(c.storageClass.reclaimPolicy)) {
      problems.add('create.storageClass.reclaimPolicy', 'must be Delete or Retain');
    }
  }
}

/** A kubeconfig (JSON) for the cluster that authenticates with `aws eks get-token` (AWS credentials of the caller). */
export function kubeconfigFor(cluster: { name: string; endpoint: string; certificateAuthorityData: string; region: string }): string {
  const id = `kfkit-${cluster.name}`;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: id, cluster: { server: cluster.endpoint, 'certificate-authority-data': cluster.certificateAuthorityData } }],
    contexts: [{ name: id, context: { cluster: id, user: id } }],
    'current-context': id,
    users: [{
      name: id,
      user: {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          command: 'aws',
          args: ['eks', 'get-token', '--cluster-name', cluster.name, '--region', cluster.region, '--output', 'json'],
          interactiveMode: 'Never',
        },
      },
    }],
  });
}

/** A Kubernetes provider for a kubeconfig (e.g. the cloud stack's `cluster.kubeconfig`, read by the platform stack). */
export function kubernetesProvider(name: string, kubeconfig: pulumi.Input<string>, opts: pulumi.CustomResourceOptions = {}): k8s.Provider {
  return new k8s.Provider(name, { kubeconfig }, opts);
}

/**
 * The EKS cluster the platform runs on, either an existing one (looked up by name: endpoint, CA, OIDC issuer and
 * provider, VPC and cluster security group) or a new one: the cluster (API authentication, control plane logs,
 * optional Secrets envelope encryption) with its role, the IAM OIDC provider for IRSA, a default managed node
 * group, the `aws-ebs-csi-driver` add-on with its IRSA role (volumes for PVCs) and a default `gp3` StorageClass.
 *
 * It does not create a VPC: give it subnets of an existing one.
 *
 * Children of a new cluster: `<name>-cluster-role`, `<name>` (the cluster), `<name>-oidc`, `<name>-nodes-role`
 * (a {@link NodeRole}), `<name>-nodes`, `<name>-ebs-csi-role` (an {@link IrsaRole}), `<name>-ebs-csi`, and with the
 * StorageClass `<name>-k8s` (provider) and `<name>-gp3`. With {@link KfkitClusterArgs.serviceEndpoints} (either kind
 * of cluster): `<name>-endpoints` (security group), `<name>-s3` and `<name>-sts` (interface VPC endpoints).
 */
export class KfkitCluster extends pulumi.ComponentResource {
  /** The cluster name. */
  public readonly clusterName: pulumi.Output<string>;
  /** The API server endpoint. */
  public readonly endpoint: pulumi.Output<string>;
  /** The cluster's CA bundle, base64. */
  public readonly certificateAuthorityData: pulumi.Output<string>;
  /** The cluster's region. */
  public readonly region: pulumi.Output<string>;
  /** The OIDC issuer URL (`https://oidc.eks.<region>.amazonaws.com/id/<id>`). */
  public readonly oidcIssuerUrl: pulumi.Output<string>;
  /** The IAM OIDC provider ARN IRSA roles trust. */
  public readonly oidcProviderArn: pulumi.Output<string>;
  /** The security group of the nodes. */
  public readonly nodeSecurityGroupId: pulumi.Output<string>;
  /** The VPC. */
  public readonly vpcId: pulumi.Output<string>;
  /**
   * The VPC's CIDR block: where EKS places the control plane's network interfaces, whose addresses rotate, so the
   * range kfkit's policies allow the API server at (`cluster.apiServer.cidrs`).
   */
  public readonly vpcCidr: pulumi.Output<string>;
  /** Subnets for node groups. */
  public readonly nodeSubnetIds: pulumi.Output<string[]>;
  /** Node role of the default node group (new clusters only), for more node groups. */
  public readonly nodeRoleArn: pulumi.Output<string> | undefined;
  /** A kubeconfig (JSON, `aws eks get-token` authentication; no secret in it). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** Whether this component created the cluster. */
  public readonly created: boolean;
  /** Whether this component created the S3 and STS interface endpoints ({@link KfkitClusterArgs.serviceEndpoints}). */
  public readonly serviceEndpoints: boolean;

  public constructor(name: string, args: KfkitClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('kfkit:aws:KfkitCluster', name, {}, opts);
    const problems = new Problems();
    checkComponentName(problems, name);
    validateKfkitClusterArgs(args, problems);
    throwIfInvalid(`kfkit:aws:KfkitCluster ${name}`, problems.all);
    const tags = args.tags === undefined ? undefined : { ...args.tags };

    if (args.existing !== undefined) {
      const e = args.existing;
      const cluster = aws.eks.getClusterOutput({ name: e.name }, { parent: this });
      this.created = false;
      this.clusterName = cluster.name;
      this.endpoint = cluster.endpoint;
      this.certificateAuthorityData = cluster.certificateAuthorities.apply((cas) => cas.at(0)?.data ?? '');
      this.region = cluster.region;
      this.oidcIssuerUrl = cluster.identities.apply((ids) => {
        const issuer = ids.at(0)?.oidcs.at(0)?.issuer;
        if (issuer === undefined) throw new Error(`kfkit:aws:KfkitCluster ${name}: the cluster has no OIDC issuer`);
        return issuer;
      });
      this.oidcProviderArn = e.oidcProviderArn !== undefined
        ? pulumi.output(e.oidcProviderArn)
        : aws.iam.getOpenIdConnectProviderOutput({ url: this.oidcIssuerUrl }, { parent: this }).arn;
      this.nodeSecurityGroupId = e.nodeSecurityGroupId !== undefined ? pulumi.output(e.nodeSecurityGroupId) : cluster.vpcConfig.clusterSecurityGroupId;
      this.vpcId = cluster.vpcConfig.vpcId;
      this.nodeSubnetIds = e.nodeSubnetIds !== undefined ? pulumi.output(e.nodeSubnetIds) : cluster.vpcConfig.subnetIds;
      this.nodeRoleArn = undefined;
    } else {
      const c = args.create as NewClusterSettings;
      this.created = true;
      const partition = aws.getPartitionOutput({}, { parent: this }).partition;
      const clusterRole = new aws.iam.Role(`${name}-cluster-role`, {
        description: `kfkit ${name}: EKS control plane`,
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy('eks.amazonaws.com')),
        tags,
      }, { parent: this });
      const clusterPolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster-policy`, {
        role: clusterRole.name,
        policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/AmazonEKSClusterPolicy`,
      }, { parent: this });
      const publicAccess = c.endpointPublicAccess ?? true;
      const cluster = new aws.eks.Cluster(name, {
        roleArn: clusterRole.arn,
        version: c.version,
        vpcConfig: {
          subnetIds: c.subnetIds,
          endpointPrivateAccess: true,
          endpointPublicAccess: publicAccess,
          publicAccessCidrs: publicAccess ? [...(c.publicAccessCidrs ?? ['0.0.0.0/0'])] : undefined,
        },
        accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: true },
        enabledClusterLogTypes: ['api', 'audit', 'authenticator'],
        encryptionConfig: c.secretsKmsKeyArn === undefined ? undefined : { resources: ['secrets'], provider: { keyArn: c.secretsKmsKeyArn } },
        tags,
      }, { parent: this, dependsOn: [clusterPolicy] });
      this.clusterName = cluster.name;
      this.endpoint = cluster.endpoint;
      this.certificateAuthorityData = cluster.certificateAuthority.data;
      this.region = cluster.region;
      this.oidcIssuerUrl = cluster.identities.apply((ids) => {
        const issuer = ids.at(0)?.oidcs.at(0)?.issuer;
        if (issuer === undefined) throw new Error(`kfkit:aws:KfkitCluster ${name}: EKS reported no OIDC issuer`);
        return issuer;
      });
      const oidc = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, { url: this.oidcIssuerUrl, clientIdLists: ['sts.amazonaws.com'], tags }, { parent: this });
      this.oidcProviderArn = oidc.arn;
      this.nodeSecurityGroupId = cluster.vpcConfig.clusterSecurityGroupId;
      this.vpcId = cluster.vpcConfig.vpcId;
      const nodeSubnets = c.nodeSubnetIds ?? c.subnetIds;
      this.nodeSubnetIds = pulumi.output(nodeSubnets);

      const nodeRole = new NodeRole(`${name}-nodes-role`, { tags: args.tags }, { parent: this });
      this.nodeRoleArn = nodeRole.roleArn;
      const ng = c.defaultNodeGroup ?? {};
      const minSize = ng.minSize ?? 2;
      const nodes = new aws.eks.NodeGroup(`${name}-nodes`, {
        clusterName: cluster.name,
        nodeRoleArn: nodeRole.roleArn,
        subnetIds: nodeSubnets,
        amiType: 'AL2023_x86_64_STANDARD',
        instanceTypes: [...(ng.instanceTypes ?? ['m7i.xlarge'])],
        scalingConfig: { minSize, maxSize: ng.maxSize ?? 4, desiredSize: minSize },
        updateConfig: { maxUnavailable: 1 },
        tags,
      }, { parent: this, ignoreChanges: ['scalingConfig.desiredSize'] });

      const ebsRole = new IrsaRole(`${name}-ebs-csi-role`, {
        oidcProviderArn: oidc.arn,
        serviceAccounts: [EBS_CSI_SERVICE_ACCOUNT],
        managedPolicyArns: [pulumi.interpolate`arn:${partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy`],
        description: 'kfkit: EBS CSI driver controller',
        tags: args.tags,
      }, { parent: this });
      // The add-on becomes ACTIVE only once its controller runs: after the nodes exist.
      const ebs = new aws.eks.Addon(`${name}-ebs-csi`, {
        clusterName: cluster.name,
        addonName: 'aws-ebs-csi-driver',
        serviceAccountRoleArn: ebsRole.roleArn,
        resolveConflictsOnCreate: 'OVERWRITE',
        resolveConflictsOnUpdate: 'OVERWRITE',
        tags,
      }, { parent: this, dependsOn: [nodes] });

      if (c.storageClass !== false) {
        const provider = kubernetesProvider(`${name}-k8s`, this.kubeconfigOf(), { parent: this });
        new k8s.storage.v1.StorageClass(`${name}-gp3`, {
          metadata: { name: 'gp3', annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
          provisioner: 'ebs.csi.aws.com',
          parameters: { type: 'gp3', encrypted: 'true' },
          volumeBindingMode: 'WaitForFirstConsumer',
          allowVolumeExpansion: true,
          reclaimPolicy: c.storageClass?.reclaimPolicy ?? 'Delete',
        }, { parent: this, provider, dependsOn: [ebs] });
      }
    }
    this.kubeconfig = this.kubeconfigOf();
    this.vpcCidr = aws.ec2.getVpcOutput({ id: this.vpcId }, { parent: this }).cidrBlock;
    this.serviceEndpoints = args.serviceEndpoints ?? this.created;
    if (this.serviceEndpoints) {
      const endpoints = new aws.ec2.SecurityGroup(`${name}-endpoints`, {
        vpcId: this.vpcId,
        description: `kfkit ${name}: HTTPS from the VPC to the S3 and STS interface endpoints`,
        ingress: [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: [this.vpcCidr] }],
        tags,
      }, { parent: this });
      for (const service of ['s3', 'sts']) {
        new aws.ec2.VpcEndpoint(`${name}-${service}`, {
          vpcId: this.vpcId,
          serviceName: pulumi.interpolate`com.amazonaws.${this.region}.${service}`,
          vpcEndpointType: 'Interface',
          privateDnsEnabled: true,
          // S3's private names answer for the whole VPC, not only for on-premises resolvers (which would need a gateway endpoint).
          dnsOptions: service === 's3' ? { privateDnsOnlyForInboundResolverEndpoint: false } : undefined,
          subnetIds: this.nodeSubnetIds,
          securityGroupIds: [endpoints.id],
          tags,
        }, { parent: this });
      }
    }
    this.registerOutputs({
      clusterName: this.clusterName, endpoint: this.endpoint, region: this.region, oidcIssuerUrl: this.oidcIssuerUrl,
      oidcProviderArn: this.oidcProviderArn, nodeSecurityGroupId: this.nodeSecurityGroupId, vpcId: this.vpcId, vpcCidr: this.vpcCidr,
      kubeconfig: this.kubeconfig,
    });
  }

  private kubeconfigOf(): pulumi.Output<string> {
    return pulumi.all([this.clusterName, this.endpoint, this.certificateAuthorityData, this.region])
      .apply(([name, endpoint, certificateAuthorityData, region]) => kubeconfigFor({ name, endpoint, certificateAuthorityData, region }));
  }
}
