import * as fs from 'fs';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import * as YAML from 'yaml';
import { renderRestore } from '../lib/cli/restore';
import { GPU_POOL_LABEL as CORE_GPU_POOL_LABEL, GPU_RESOURCE as CORE_GPU_RESOURCE, GPU_TAINT_KEY as CORE_GPU_TAINT_KEY } from '../lib/core/gpu';
import {
  CLUSTER_AUTOSCALER_SERVICE_ACCOUNT as CORE_CLUSTER_AUTOSCALER_SA, LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT as CORE_LOAD_BALANCER_CONTROLLER_SA,
} from '../lib/components/cluster-addons';
import { resolveConfig } from '../lib/config/load';
import { policyDocumentViolations } from '../lib/policy';
import { synthesize } from '../lib/synth/index';
import { STACKS } from '../stacks';
import { localConfig, ROOT } from './helpers';

// Everything runs against Pulumi's unit-test mocks (no CLI, no cloud), once as `pulumi up` and once as
// `pulumi preview` — where the outputs providers compute (ARNs, endpoints) are unknown.

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const ISSUER = `oidc.eks.${REGION}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE`;
const OIDC_ARN = `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`;
const KMS_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6`;
const VPC_ID = 'vpc-0e1a2b3c4d5e6f708';
const ADDON_ROLES = {
  clusterAutoscaler: `arn:aws:iam::${ACCOUNT}:role/kfkit-dev-cluster-autoscaler`,
  loadBalancerController: `arn:aws:iam::${ACCOUNT}:role/kfkit-dev-lb-controller`,
};

/** An IAM policy document as the tests read it back. */
type PolicyDoc = import('../pulumi/aws').PolicyDocument;

/**
 * The actions of the cluster-autoscaler's documented "full features" policy (cluster-autoscaler 1.34.2,
 * cloudprovider/aws/README.md) and of the AWS Load Balancer Controller's reference policy (v3.4.3,
 * docs/install/iam_policy.json): facts kfkit's policies are checked against.
 */
const CLUSTER_AUTOSCALER_REFERENCE_ACTIONS = [
  'autoscaling:DescribeAutoScalingGroups', 'autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeScalingActivities', 'ec2:DescribeImages', 'ec2:DescribeInstanceTypes', 'ec2:DescribeLaunchTemplateVersions',
  'ec2:GetInstanceTypesFromInstanceRequirements', 'eks:DescribeNodegroup', 'autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup',
];
const LOAD_BALANCER_CONTROLLER_REFERENCE_ACTIONS = [
  'iam:CreateServiceLinkedRole',
  ...['DescribeAccountAttributes', 'DescribeAddresses', 'DescribeAvailabilityZones', 'DescribeInternetGateways', 'DescribeVpcs',
    'DescribeVpcPeeringConnections', 'DescribeSubnets', 'DescribeSecurityGroups', 'DescribeInstances', 'DescribeNetworkInterfaces', 'DescribeTags',
    'GetCoipPoolUsage', 'DescribeCoipPools', 'GetSecurityGroupsForVpc', 'DescribeIpamPools', 'DescribeRouteTables', 'AuthorizeSecurityGroupIngress',
    'RevokeSecurityGroupIngress', 'CreateSecurityGroup', 'CreateTags', 'DeleteTags', 'DeleteSecurityGroup'].map((a) => `ec2:${a}`),
  ...['DescribeLoadBalancers', 'DescribeLoadBalancerAttributes', 'DescribeListeners', 'DescribeListenerCertificates', 'DescribeSSLPolicies',
    'DescribeRules', 'DescribeTargetGroups', 'DescribeTargetGroupAttributes', 'DescribeTargetHealth', 'DescribeTags', 'DescribeTrustStores',
    'DescribeListenerAttributes', 'DescribeCapacityReservation', 'CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener', 'DeleteListener',
    'CreateRule', 'DeleteRule', 'AddTags', 'RemoveTags', 'ModifyLoadBalancerAttributes', 'SetIpAddressType', 'SetSecurityGroups', 'SetSubnets',
    'DeleteLoadBalancer', 'ModifyTargetGroup', 'ModifyTargetGroupAttributes', 'DeleteTargetGroup', 'ModifyListenerAttributes',
    'ModifyCapacityReservation', 'ModifyIpPools', 'RegisterTargets', 'DeregisterTargets', 'SetWebAcl', 'ModifyListener', 'AddListenerCertificates',
    'RemoveListenerCertificates', 'ModifyRule', 'SetRulePriorities'].map((a) => `elasticloadbalancing:${a}`),
  'cognito-idp:DescribeUserPoolClient', 'acm:ListCertificates', 'acm:DescribeCertificate', 'iam:ListServerCertificates', 'iam:GetServerCertificate',
  ...['GetWebACL', 'GetWebACLForResource', 'AssociateWebACL', 'DisassociateWebACL'].flatMap((a) => [`waf-regional:${a}`, `wafv2:${a}`]),
  'shield:GetSubscriptionState', 'shield:DescribeProtection', 'shield:CreateProtection', 'shield:DeleteProtection',
];

/** A resource the program registered, as the mock monitor saw it. */
interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
}

let registered: Registered[] = [];
let cloudStackOutput: unknown;

/** What the provider computes for a resource (only on `up`: in a preview these stay unknown). */
function computed(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'aws:s3/bucket:Bucket': {
      const bucket = typeof inputs.bucket === 'string' ? inputs.bucket : `${name}-a1b2c3d`;
      return { bucket, arn: `arn:aws:s3:::${bucket}`, region: REGION };
    }
    case 'aws:iam/role:Role': return { name: `${name}-r1`, arn: `arn:aws:iam::${ACCOUNT}:role/${name}-r1` };
    case 'aws:iam/openIdConnectProvider:OpenIdConnectProvider': return { arn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${String(inputs.url).replace('https://', '')}` };
    case 'aws:eks/cluster:Cluster': return {
      name, endpoint: `https://${name}.eks.example`, region: REGION, certificateAuthority: { data: 'Q0EK' },
      identities: [{ oidcs: [{ issuer: `https://${ISSUER}` }] }],
      vpcConfig: { ...(inputs.vpcConfig as Record<string, unknown>), clusterSecurityGroupId: 'sg-0c1a2b3c4d5e6f700', vpcId: 'vpc-0abc' },
    };
    case 'aws:eks/nodeGroup:NodeGroup': return { nodeGroupName: `${name}-ng`, resources: [{ autoscalingGroups: [{ name: `eks-${name}-asg` }] }] };
    case 'aws:rds/instance:Instance': return {
      address: `${name}.c0ffee.${REGION}.rds.amazonaws.com`,
      masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-1234`, secretStatus: 'active', kmsKeyId: 'k' }],
    };
    case 'aws:rds/subnetGroup:SubnetGroup':
    case 'aws:rds/parameterGroup:ParameterGroup': return { name: `${name}-x` };
    case 'aws:ec2/securityGroup:SecurityGroup': return { arn: `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/sg-${name}` };
    default: return {};
  }
}

function mocks(preview: boolean): pulumi.runtime.Mocks {
  return {
    newResource: (args) => {
      const inputs = args.inputs as Record<string, unknown>;
      registered.push({ type: args.type, name: args.name, inputs });
      if (args.type === 'pulumi:pulumi:StackReference') {
        const outputs = cloudStackOutput === undefined ? {} : { cloud: cloudStackOutput };
        return { id: String(inputs.name), state: { name: inputs.name, outputs, secretOutputNames: [] } };
      }
      return { id: `${args.name}-id`, state: { ...inputs, ...(preview ? {} : computed(args.type, args.name, inputs)) } };
    },
    call: (args) => {
      const inputs = args.inputs as Record<string, unknown>;
      switch (args.token) {
        case 'aws:index/getPartition:getPartition': return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
        case 'aws:eks/getCluster:getCluster': return {
          name: inputs.name, endpoint: 'https://existing.eks.example', region: REGION, certificateAuthorities: [{ data: 'Q0EK' }],
          identities: [{ oidcs: [{ issuer: `https://${ISSUER}` }] }],
          vpcConfig: { clusterSecurityGroupId: 'sg-0e1a2b3c4d5e6f700', vpcId: 'vpc-0e', subnetIds: ['subnet-0e1', 'subnet-0e2'] },
        };
        case 'aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider': return { arn: OIDC_ARN, url: inputs.url };
        case 'aws:ec2/getVpc:getVpc': return { id: inputs.id, cidrBlock: '10.42.0.0/16' };
        default: throw new Error(`unexpected call ${args.token}`);
      }
    },
  };
}

// Internals of Output the public API does not expose: its value and whether it is known (false in previews).
interface OutputInternals<T> { promise: (withUnknowns?: boolean) => Promise<T>; isKnown: Promise<boolean> }

async function valueOf<T>(o: pulumi.Output<T>): Promise<{ known: boolean; value: T }> {
  const impl = o as unknown as OutputInternals<T>;
  return { known: await impl.isKnown, value: await impl.promise(true) };
}

/**
 * Pulumi records the source position of every resource from `new Error().stack` with an unlimited stack depth;
 * under Jest each such stack is source-mapped, which makes constructing a resource ~30 ms. Those message-less
 * errors get V8's plain formatting instead; every other error keeps Jest's mapped stack.
 */
let fastStacks = false;
function fastResourceStacks(): void {
  if (fastStacks) return;
  fastStacks = true;
  const mapped = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace')?.value as ((error: Error, frames: NodeJS.CallSite[]) => unknown) | undefined;
  const frame = (f: NodeJS.CallSite): string =>
    `    at ${f.isConstructor() ? 'new ' : ''}${f.getFunctionName() ?? '<anonymous>'} (${f.getFileName() ?? '?'}:${f.getLineNumber() ?? 0}:${f.getColumnNumber() ?? 0})`;
  Error.prepareStackTrace = (error, frames) => (error.message === '' || mapped === undefined
    ? `${error.name}\n${frames.map(frame).join('\n')}`
    : mapped(error, frames));
}

/** Waits until every registration the program started has reached the mock monitor. */
async function settle(): Promise<void> {
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

function resourcesOf(pred: (r: Registered) => boolean = () => true): Registered[] {
  return registered.filter(pred);
}

function one(type: string, name?: string): Registered {
  const found = registered.filter((r) => r.type === type && (name === undefined || r.name === name));
  if (found.length !== 1) throw new Error(`expected one ${type} ${name ?? ''}, found ${found.map((r) => r.name).join(', ') || 'none'}`);
  return found[0];
}

/** The stack config of an example stack file, as the Pulumi CLI hands it to the program (objects as JSON). */
function exampleConfig(file: string): Record<string, string> {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as { config: Record<string, unknown> };
  return Object.fromEntries(Object.entries(doc.config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** A caught error of `fn`, asserted to be Pulumi's InputPropertiesError; its property paths. */
function invalidPaths(fn: () => unknown): { paths: string[]; message: string } {
  try {
    fn();
  } catch (e) {
    expect(pulumi.InputPropertiesError.isInstance(e)).toBe(true);
    const err = e as pulumi.InputPropertiesError;
    return { paths: err.errors.map((x) => x.propertyPath), message: err.message };
  }
  throw new Error('expected an InputPropertiesError');
}

let aws: typeof import('../pulumi/aws');
let program: typeof import('../pulumi/aws/program');

const DEV_GRAPH = [
  'aws:autoscaling/tag:Tag kfkit-dev-gpu-a10g-asg-tag-0',
  'aws:autoscaling/tag:Tag kfkit-dev-gpu-a10g-asg-tag-1',
  'aws:autoscaling/tag:Tag kfkit-dev-gpu-a10g-asg-tag-2',
  'aws:autoscaling/tag:Tag kfkit-dev-gpu-a10g-asg-tag-3',
  'aws:ec2/securityGroup:SecurityGroup kfkit-dev-cluster-endpoints',
  'aws:ec2/securityGroup:SecurityGroup kfkit-dev-db-sg',
  'aws:ec2/vpcEndpoint:VpcEndpoint kfkit-dev-cluster-s3',
  'aws:ec2/vpcEndpoint:VpcEndpoint kfkit-dev-cluster-sts',
  'aws:eks/nodeGroup:NodeGroup kfkit-dev-gpu-a10g',
  'aws:iam/role:Role kfkit-dev-cluster-autoscaler',
  'aws:iam/role:Role kfkit-dev-gpu-a10g-role',
  'aws:iam/role:Role kfkit-dev-lb-controller',
  'aws:iam/role:Role kfkit-dev-pipelines',
  'aws:iam/rolePolicy:RolePolicy kfkit-dev-cluster-autoscaler-inline',
  'aws:iam/rolePolicy:RolePolicy kfkit-dev-lb-controller-inline',
  'aws:iam/rolePolicy:RolePolicy kfkit-dev-pipelines-s3',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment kfkit-dev-gpu-a10g-role-amazonec2containerregistryreadonly',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment kfkit-dev-gpu-a10g-role-amazoneks-cni-policy',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment kfkit-dev-gpu-a10g-role-amazoneksworkernodepolicy',
  'aws:rds/instance:Instance kfkit-dev-db',
  'aws:rds/parameterGroup:ParameterGroup kfkit-dev-db-params',
  'aws:rds/subnetGroup:SubnetGroup kfkit-dev-db-subnets',
  'aws:s3/bucket:Bucket kfkit-dev-artifacts',
  'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration kfkit-dev-artifacts-lifecycle',
  'aws:s3/bucketOwnershipControls:BucketOwnershipControls kfkit-dev-artifacts-ownership',
  'aws:s3/bucketPolicy:BucketPolicy kfkit-dev-artifacts-tls-only',
  'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock kfkit-dev-artifacts-public-access',
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration kfkit-dev-artifacts-encryption',
  'aws:s3/bucketVersioning:BucketVersioning kfkit-dev-artifacts-versioning',
  'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule kfkit-dev-db-ingress-0',
  'kfkit:aws:ArtifactBucket kfkit-dev-artifacts',
  'kfkit:aws:AwsCloudStack kfkit-dev',
  'kfkit:aws:ClusterAutoscalerRole kfkit-dev-cluster-autoscaler',
  'kfkit:aws:GpuNodeGroup kfkit-dev-gpu-a10g',
  'kfkit:aws:LoadBalancerControllerRole kfkit-dev-lb-controller',
  'kfkit:aws:IrsaRole kfkit-dev-pipelines',
  'kfkit:aws:KfkitCluster kfkit-dev-cluster',
  'kfkit:aws:MetadataDatabase kfkit-dev-db',
  'kfkit:aws:NodeRole kfkit-dev-gpu-a10g-role',
];

const PROD_GRAPH = [
  ...['a10g', 'h100'].flatMap((pool) => [0, 1, 2, 3].map((i) => `aws:autoscaling/tag:Tag kfkit-prod-gpu-${pool}-asg-tag-${i}`)),
  'aws:ec2/securityGroup:SecurityGroup kfkit-prod-cluster-endpoints',
  'aws:ec2/securityGroup:SecurityGroup kfkit-prod-db-sg',
  'aws:ec2/vpcEndpoint:VpcEndpoint kfkit-prod-cluster-s3',
  'aws:ec2/vpcEndpoint:VpcEndpoint kfkit-prod-cluster-sts',
  'aws:eks/addon:Addon kfkit-prod-cluster-ebs-csi',
  'aws:eks/cluster:Cluster kfkit-prod-cluster',
  'aws:eks/nodeGroup:NodeGroup kfkit-prod-cluster-nodes',
  'aws:eks/nodeGroup:NodeGroup kfkit-prod-gpu-a10g',
  'aws:eks/nodeGroup:NodeGroup kfkit-prod-gpu-h100',
  'aws:iam/openIdConnectProvider:OpenIdConnectProvider kfkit-prod-cluster-oidc',
  'aws:iam/role:Role kfkit-prod-cluster-autoscaler',
  'aws:iam/role:Role kfkit-prod-cluster-cluster-role',
  'aws:iam/role:Role kfkit-prod-cluster-ebs-csi-role',
  'aws:iam/role:Role kfkit-prod-cluster-nodes-role',
  'aws:iam/role:Role kfkit-prod-lb-controller',
  'aws:iam/role:Role kfkit-prod-pipelines',
  'aws:iam/role:Role kfkit-prod-profile-team-a',
  'aws:iam/role:Role kfkit-prod-profile-team-b',
  'aws:iam/rolePolicy:RolePolicy kfkit-prod-cluster-autoscaler-inline',
  'aws:iam/rolePolicy:RolePolicy kfkit-prod-lb-controller-inline',
  'aws:iam/rolePolicy:RolePolicy kfkit-prod-pipelines-s3',
  'aws:iam/rolePolicy:RolePolicy kfkit-prod-profile-team-a-s3',
  'aws:iam/rolePolicy:RolePolicy kfkit-prod-profile-team-b-s3',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment kfkit-prod-cluster-cluster-policy',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment kfkit-prod-cluster-ebs-csi-role-policy-0',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment kfkit-prod-cluster-nodes-role-amazonec2containerregistryreadonly',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment kfkit-prod-cluster-nodes-role-amazoneks-cni-policy',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment kfkit-prod-cluster-nodes-role-amazoneksworkernodepolicy',
  'aws:rds/instance:Instance kfkit-prod-db',
  'aws:rds/parameterGroup:ParameterGroup kfkit-prod-db-params',
  'aws:rds/subnetGroup:SubnetGroup kfkit-prod-db-subnets',
  'aws:s3/bucket:Bucket kfkit-prod-artifacts',
  'aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration kfkit-prod-artifacts-lifecycle',
  'aws:s3/bucketOwnershipControls:BucketOwnershipControls kfkit-prod-artifacts-ownership',
  'aws:s3/bucketPolicy:BucketPolicy kfkit-prod-artifacts-tls-only',
  'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock kfkit-prod-artifacts-public-access',
  'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration kfkit-prod-artifacts-encryption',
  'aws:s3/bucketVersioning:BucketVersioning kfkit-prod-artifacts-versioning',
  'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule kfkit-prod-db-ingress-0',
  'kfkit:aws:ArtifactBucket kfkit-prod-artifacts',
  'kfkit:aws:AwsCloudStack kfkit-prod',
  'kfkit:aws:ClusterAutoscalerRole kfkit-prod-cluster-autoscaler',
  'kfkit:aws:GpuNodeGroup kfkit-prod-gpu-a10g',
  'kfkit:aws:GpuNodeGroup kfkit-prod-gpu-h100',
  'kfkit:aws:IrsaRole kfkit-prod-cluster-ebs-csi-role',
  'kfkit:aws:IrsaRole kfkit-prod-pipelines',
  'kfkit:aws:KfkitCluster kfkit-prod-cluster',
  'kfkit:aws:LoadBalancerControllerRole kfkit-prod-lb-controller',
  'kfkit:aws:MetadataDatabase kfkit-prod-db',
  'kfkit:aws:NodeRole kfkit-prod-cluster-nodes-role',
  'kfkit:aws:ProfileArtifactRole kfkit-prod-profile-team-a',
  'kfkit:aws:ProfileArtifactRole kfkit-prod-profile-team-b',
  'kubernetes:storage.k8s.io/v1:StorageClass kfkit-prod-cluster-gp3',
  'pulumi:providers:kubernetes kfkit-prod-cluster-k8s',
];

/** Runs the cloud program with the config of an example stack file; returns its output and what it registered. */
async function runExample(file: string): Promise<{ cloud: pulumi.Output<import('../pulumi/aws').CloudOutputs>; graph: string[] }> {
  registered = [];
  pulumi.runtime.setAllConfig(exampleConfig(file));
  const { cloud } = program.cloudProgram(path.basename(file, '.yaml').replace('Pulumi.', ''), new pulumi.Config('kfkit'));
  await settle();
  await valueOf(cloud);
  await settle();
  return { cloud, graph: registered.map((r) => `${r.type} ${r.name}`).sort() };
}

describe.each([false, true])('kfkit AWS cloud layer (preview: %s)', (preview) => {
  beforeAll(async () => {
    fastResourceStacks();
    await pulumi.runtime.setMocks(mocks(preview), 'kfkit-aws', 'test', preview);
    // Imported after setMocks, as Pulumi's unit-testing guide requires.
    aws = await import('../pulumi/aws');
    program = await import('../pulumi/aws/program');
  });

  test('resource graph of the dev and prod examples', async () => {
    const dev = await runExample('pulumi/aws/Pulumi.aws-dev.yaml');
    expect(dev.graph).toEqual([...DEV_GRAPH].sort());
    const prod = await runExample('pulumi/aws/Pulumi.aws-prod.yaml');
    expect(prod.graph).toEqual([...PROD_GRAPH].sort());
    const outputs = await valueOf(prod.cloud);
    expect(outputs.known).toBe(!preview);
    if (!preview) {
      expect(outputs.value.gpuPools.map((p) => [p.name, p.devicePlugin, p.gpusPerNode])).toEqual([['a10g', 'managed', 1], ['h100', 'bundled', 8]]);
      expect(Object.keys(outputs.value.roles.profiles)).toEqual(['team-a', 'team-b']);
      expect(outputs.value.database).toMatchObject({ engine: 'mysql', port: 3306, tlsMode: 'required', secretArn: expect.stringMatching(/^arn:aws:secretsmanager:/) });
      expect(JSON.parse(outputs.value.cluster.kubeconfig).users[0].user.exec.args).toEqual(
        ['eks', 'get-token', '--cluster-name', 'kfkit-prod-cluster', '--region', REGION, '--output', 'json']);
      // The add-ons' roles and the VPC, for cloud.aws.
      expect(outputs.value.cluster.vpcId).toBe('vpc-0abc');
      expect(outputs.value.roles).toMatchObject({
        clusterAutoscaler: `arn:aws:iam::${ACCOUNT}:role/kfkit-prod-cluster-autoscaler-r1`,
        loadBalancerController: `arn:aws:iam::${ACCOUNT}:role/kfkit-prod-lb-controller-r1`,
      });
      // Their policies are made from the stack's own cluster name and VPC.
      const ca = JSON.parse(one('aws:iam/rolePolicy:RolePolicy', 'kfkit-prod-cluster-autoscaler-inline').inputs.policy as string) as PolicyDoc;
      expect(ca.Statement.find((st) => st.Sid === 'ScaleClusterNodeGroups')?.Condition)
        .toEqual({ StringEquals: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/kfkit-prod-cluster': 'owned' } });
      const lbc = JSON.parse(one('aws:iam/rolePolicy:RolePolicy', 'kfkit-prod-lb-controller-inline').inputs.policy as string) as PolicyDoc;
      expect(lbc.Statement.find((st) => st.Sid === 'SecurityGroupRulesInClusterVpc')?.Condition)
        .toEqual({ ArnEquals: { 'ec2:Vpc': `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/vpc-0abc` } });
    } else {
      // Cluster name and VPC are the provider's: in a preview the policies are not known yet.
      expect(typeof one('aws:iam/rolePolicy:RolePolicy', 'kfkit-prod-lb-controller-inline').inputs.policy).not.toBe('string');
    }
  });

  test('bucket: encryption, versioning, every public access blocked, ACLs off, lifecycle, TLS-only policy', async () => {
    registered = [];
    const bucket = new aws.ArtifactBucket('artifacts', { backupExpiration: { prefix: 'backups/metadata-db', days: 60 } });
    const kms = new aws.ArtifactBucket('artifacts-kms', { kmsKeyArn: KMS_ARN, bucketName: 'kfkit-artifacts-kms' });
    await settle();
    expect(one('aws:s3/bucket:Bucket', 'artifacts').inputs.forceDestroy).toBe(false);
    expect(one('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', 'artifacts-encryption').inputs.rules)
      .toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }]);
    expect(one('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration', 'artifacts-kms-encryption').inputs.rules)
      .toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: KMS_ARN }, bucketKeyEnabled: true }]);
    expect(one('aws:s3/bucketVersioning:BucketVersioning', 'artifacts-versioning').inputs.versioningConfiguration).toEqual({ status: 'Enabled' });
    expect(one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock', 'artifacts-public-access').inputs).toMatchObject({
      blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    });
    expect(one('aws:s3/bucketOwnershipControls:BucketOwnershipControls', 'artifacts-ownership').inputs.rule).toEqual({ objectOwnership: 'BucketOwnerEnforced' });
    const rules = one('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration', 'artifacts-lifecycle').inputs.rules as Record<string, unknown>[];
    expect(rules.map((r) => [r.id, r.status])).toEqual([
      ['noncurrent-versions', 'Enabled'], ['abort-incomplete-multipart-uploads', 'Enabled'], ['backups-expiration', 'Enabled'],
    ]);
    expect(rules[0].noncurrentVersionExpiration).toEqual({ noncurrentDays: 30 });
    expect(rules[1].abortIncompleteMultipartUpload).toEqual({ daysAfterInitiation: 7 });
    expect(rules[2]).toMatchObject({ filter: { prefix: 'backups/metadata-db/' }, expiration: { days: 60 } });

    const policy = one('aws:s3/bucketPolicy:BucketPolicy', 'artifacts-tls-only').inputs.policy;
    const region = await valueOf(bucket.region);
    if (preview) {
      // The ARN is computed by AWS: unknown in a preview, and so is the policy made from it.
      expect(typeof policy).not.toBe('string');
      expect(region.known).toBe(false);
    } else {
      expect(JSON.parse(policy as string)).toEqual({
        Version: '2012-10-17',
        Statement: [{
          Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*',
          Resource: ['arn:aws:s3:::artifacts-a1b2c3d', 'arn:aws:s3:::artifacts-a1b2c3d/*'],
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }],
      });
      expect(region.value).toBe(REGION);
      expect((await valueOf(kms.kmsKeyArn)).value).toBe(KMS_ARN);
    }
  });

  test('IRSA: exact subjects and audience; whole-bucket and prefix-scoped S3 policies with no wildcard', async () => {
    registered = [];
    const bucketArn = 'arn:aws:s3:::kfkit-artifacts';
    new aws.IrsaRole('pipelines', {
      oidcProviderArn: OIDC_ARN,
      serviceAccounts: aws.PIPELINES_SERVICE_ACCOUNTS.map((name) => ({ namespace: 'kubeflow', name })),
      s3: { bucketArn, kmsKeyArn: KMS_ARN },
    });
    const tenant = new aws.ProfileArtifactRole('team-a', { oidcProviderArn: OIDC_ARN, bucketArn, namespace: 'team-a' });
    await settle();
    expect(tenant.prefixes).toEqual(['private-artifacts/team-a']);

    const trust = JSON.parse(one('aws:iam/role:Role', 'pipelines').inputs.assumeRolePolicy as string);
    expect(trust).toEqual({
      Version: '2012-10-17',
      Statement: [{
        Effect: 'Allow',
        Principal: { Federated: OIDC_ARN },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${ISSUER}:sub`]: [...aws.PIPELINES_SERVICE_ACCOUNTS].sort().map((sa) => `system:serviceaccount:kubeflow:${sa}`),
            [`${ISSUER}:aud`]: 'sts.amazonaws.com',
          },
        },
      }],
    });
    const tenantTrust = JSON.parse(one('aws:iam/role:Role', 'team-a').inputs.assumeRolePolicy as string);
    expect(tenantTrust.Statement[0].Condition.StringEquals[`${ISSUER}:sub`]).toBe('system:serviceaccount:team-a:default-editor');
    expect(JSON.stringify(tenantTrust)).not.toMatch(/StringLike|\*/);

    const pipelines = JSON.parse(one('aws:iam/rolePolicy:RolePolicy', 'pipelines-s3').inputs.policy as string) as import('../pulumi/aws').PolicyDocument;
    const scoped = JSON.parse(one('aws:iam/rolePolicy:RolePolicy', 'team-a-s3').inputs.policy as string) as import('../pulumi/aws').PolicyDocument;
    const p = aws.allowedActionsAndResources(pipelines);
    expect(p.actions.filter((a) => a.includes('*'))).toEqual([]);
    expect([...new Set(p.resources)].sort()).toEqual([KMS_ARN, bucketArn, `${bucketArn}/*`].sort());
    expect(p.actions).toEqual(expect.arrayContaining(['s3:ListBucket', 's3:GetObject', 's3:PutObject', 's3:DeleteObject', 'kms:GenerateDataKey', 'kms:Decrypt']));

    const s = aws.allowedActionsAndResources(scoped);
    expect(s.actions.filter((a) => a.includes('*'))).toEqual([]);
    expect([...new Set(s.resources)].sort()).toEqual([bucketArn, `${bucketArn}/private-artifacts/team-a/*`]);
    const list = scoped.Statement.find((st) => st.Action === 's3:ListBucket');
    expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['private-artifacts/team-a/*'] } });
    // Object actions only under the prefix; bucket-level actions only on the bucket.
    for (const st of scoped.Statement) {
      const resources = typeof st.Resource === 'string' ? [st.Resource] : [...(st.Resource ?? [])];
      const objectLevel = (typeof st.Action === 'string' ? [st.Action] : st.Action).some((a) => a.endsWith('Object') || a === 's3:AbortMultipartUpload');
      for (const r of resources) expect(r).toBe(objectLevel ? `${bucketArn}/private-artifacts/team-a/*` : bucketArn);
    }
  });

  test('RDS: encrypted, private, TLS forced, managed master password; Multi-AZ and deletion protection only in prod', async () => {
    registered = [];
    const base = { vpcId: 'vpc-0abc', subnetIds: ['subnet-1', 'subnet-2'], allowedSecurityGroupIds: ['sg-0nodes'] };
    const dev = new aws.MetadataDatabase('db-dev', { ...base, env: 'dev' });
    new aws.MetadataDatabase('db-prod', { ...base, env: 'prod', engine: 'postgresql', requireTls: true });
    await settle();
    const devDb = one('aws:rds/instance:Instance', 'db-dev').inputs;
    const prodDb = one('aws:rds/instance:Instance', 'db-prod').inputs;
    for (const db of [devDb, prodDb]) {
      expect(db).toMatchObject({ storageEncrypted: true, publiclyAccessible: false, manageMasterUserPassword: true, storageType: 'gp3' });
      expect(db.password).toBeUndefined();
    }
    expect(devDb).toMatchObject({ engine: 'mysql', engineVersion: '8.4', port: 3306, multiAz: false, deletionProtection: false, backupRetentionPeriod: 7, skipFinalSnapshot: true });
    expect(prodDb).toMatchObject({
      engine: 'postgres', port: 5432, multiAz: true, deletionProtection: true, backupRetentionPeriod: 30, skipFinalSnapshot: false, finalSnapshotIdentifier: 'db-prod-final',
    });
    expect(one('aws:rds/parameterGroup:ParameterGroup', 'db-dev-params').inputs).toMatchObject({ family: 'mysql8.4', parameters: [{ name: 'require_secure_transport', value: '1' }] });
    expect(one('aws:rds/parameterGroup:ParameterGroup', 'db-prod-params').inputs).toMatchObject({ family: 'postgres17', parameters: [{ name: 'rds.force_ssl', value: '1' }] });
    expect(one('aws:rds/subnetGroup:SubnetGroup', 'db-dev-subnets').inputs.subnetIds).toEqual(['subnet-1', 'subnet-2']);
    const sg = one('aws:ec2/securityGroup:SecurityGroup', 'db-dev-sg').inputs;
    expect(sg.ingress).toBeUndefined();
    expect(sg.egress).toBeUndefined();
    expect(one('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', 'db-dev-ingress-0').inputs).toMatchObject({
      referencedSecurityGroupId: 'sg-0nodes', ipProtocol: 'tcp', fromPort: 3306, toPort: 3306,
    });
    expect(resourcesOf((r) => r.type === 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').every((r) => r.inputs.cidrIpv4 === undefined)).toBe(true);
    expect(dev.tlsMode).toBe('required');
    const secret = await valueOf(dev.secretArn);
    expect(secret.known).toBe(!preview);
    if (!preview) expect(secret.value).toMatch(/^arn:aws:secretsmanager:/);
  });

  test('add-on roles: trusted by exactly their ServiceAccount; scoped policies the policy pack accepts', async () => {
    registered = [];
    new aws.ClusterAutoscalerRole('ca', { oidcProviderArn: OIDC_ARN, clusterName: 'kfkit-dev', region: REGION });
    new aws.LoadBalancerControllerRole('lbc', { oidcProviderArn: OIDC_ARN, region: REGION, vpcId: VPC_ID });
    await settle();
    const trust = (role: string) => JSON.parse(one('aws:iam/role:Role', role).inputs.assumeRolePolicy as string) as PolicyDoc;
    for (const [role, sa] of [['ca', 'kube-system:cluster-autoscaler'], ['lbc', 'kube-system:aws-load-balancer-controller']]) {
      expect(trust(role).Statement).toEqual([{
        Effect: 'Allow', Principal: { Federated: OIDC_ARN }, Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: { StringEquals: { [`${ISSUER}:sub`]: `system:serviceaccount:${sa}`, [`${ISSUER}:aud`]: 'sts.amazonaws.com' } },
      }]);
    }
    const policy = (role: string) => one('aws:iam/rolePolicy:RolePolicy', `${role}-inline`).inputs.policy as string;
    // The policy pack's own rule (no-wildcard-iam): no service wildcard, "*" resources only for Describe calls.
    expect(policyDocumentViolations(policy('ca'))).toEqual([]);
    expect(policyDocumentViolations(policy('lbc'))).toEqual([]);

    const ca = JSON.parse(policy('ca')) as PolicyDoc;
    expect(ca.Statement).toEqual([
      { Sid: 'DiscoverNodeGroups', Effect: 'Allow', Action: [...aws.CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS], Resource: '*' },
      {
        Sid: 'DescribeClusterNodeGroups', Effect: 'Allow', Action: 'eks:DescribeNodegroup',
        Resource: `arn:aws:eks:${REGION}:${ACCOUNT}:nodegroup/kfkit-dev/*/*`,
      },
      {
        Sid: 'ScaleClusterNodeGroups', Effect: 'Allow', Action: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
        Resource: `arn:aws:autoscaling:${REGION}:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/*`,
        Condition: { StringEquals: { 'aws:ResourceTag/k8s.io/cluster-autoscaler/kfkit-dev': 'owned' } },
      },
    ]);
    // The documented "full features" policy, less what kfkit's managed node groups never need.
    const caActions = aws.allowedActionsAndResources(ca).actions;
    expect([...caActions, ...Object.keys(aws.CLUSTER_AUTOSCALER_OMITTED_ACTIONS)].sort()).toEqual([...CLUSTER_AUTOSCALER_REFERENCE_ACTIONS].sort());

    const lbc = JSON.parse(policy('lbc')) as PolicyDoc;
    const lbcAllowed = aws.allowedActionsAndResources(lbc);
    // Every action of the reference policy is granted or deliberately left out (with a reason), nothing else.
    expect([...new Set([...lbcAllowed.actions, ...Object.keys(aws.LOAD_BALANCER_CONTROLLER_OMITTED_ACTIONS)])].sort())
      .toEqual([...LOAD_BALANCER_CONTROLLER_REFERENCE_ACTIONS].sort());
    expect(lbcAllowed.actions.filter((a) => a in aws.LOAD_BALANCER_CONTROLLER_OMITTED_ACTIONS)).toEqual([]);
    for (const st of lbc.Statement) {
      const actions = typeof st.Action === 'string' ? [st.Action] : [...st.Action];
      const resources = st.Resource === undefined ? [] : typeof st.Resource === 'string' ? [st.Resource] : [...st.Resource];
      if (resources.includes('*')) expect(actions.every((a) => /^(ec2|elasticloadbalancing):Describe/.test(a))).toBe(true);
      // Every ARN names this account and region (IAM's are global): nothing in another account or region.
      for (const r of resources.filter((x) => x !== '*')) expect(r).toMatch(new RegExp(`^arn:aws:[a-z0-9-]+:(${REGION})?:${ACCOUNT}:`));
    }
    const sid = (id: string) => lbc.Statement.find((st) => st.Sid === id);
    // Security group rules only in the cluster's VPC; new groups only there; owned groups (tagged) may be deleted.
    expect(sid('SecurityGroupRulesInClusterVpc')?.Condition).toEqual({ ArnEquals: { 'ec2:Vpc': `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/${VPC_ID}` } });
    expect(sid('CreateSecurityGroupInClusterVpc')?.Resource).toEqual([
      `arn:aws:ec2:${REGION}:${ACCOUNT}:security-group/*`, `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/${VPC_ID}`,
    ]);
    expect(sid('ManageOwnedSecurityGroups')?.Condition).toEqual({ Null: { 'aws:ResourceTag/elbv2.k8s.aws/cluster': 'false' } });
    // Load balancers and target groups: created only with the cluster tag, changed and deleted only when they carry it.
    expect(sid('CreateTaggedLoadBalancers')?.Condition).toEqual({ Null: { 'aws:RequestTag/elbv2.k8s.aws/cluster': 'false' } });
    expect(sid('ManageOwnedLoadBalancers')?.Condition).toEqual({ Null: { 'aws:ResourceTag/elbv2.k8s.aws/cluster': 'false' } });
    expect(sid('TagOwnedLoadBalancers')?.Condition).toEqual({
      Null: { 'aws:RequestTag/elbv2.k8s.aws/cluster': 'true', 'aws:ResourceTag/elbv2.k8s.aws/cluster': 'false' },
    });
    expect(sid('ElbServiceLinkedRole')).toMatchObject({
      Resource: `arn:aws:iam::${ACCOUNT}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`,
      Condition: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
    });
    // A statement with Resource "*" for a write action is what the pack refuses: the check has teeth.
    expect(policyDocumentViolations(JSON.stringify({ ...lbc, Statement: [{ ...sid('Targets'), Resource: '*' }] })))
      .toEqual([expect.stringMatching(/Statement\[0\] \(Targets\): Resource "\*" for elasticloadbalancing:RegisterTargets/)]);

    // The ServiceAccounts the roles trust are the ones the platform's charts name.
    expect([aws.CLUSTER_AUTOSCALER_SERVICE_ACCOUNT, aws.LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT])
      .toEqual([CORE_CLUSTER_AUTOSCALER_SA, CORE_LOAD_BALANCER_CONTROLLER_SA]);
  });

  test('GPU node group: taint, labels, scaling, scale-from-zero autoscaler tags; Bottlerocket bundles the device plugin', async () => {
    registered = [];
    const al2023 = new aws.GpuNodeGroup('gpu-a10g', { clusterName: 'kfkit', subnetIds: ['subnet-1'], instanceTypes: ['g5.xlarge', 'g5.2xlarge'], minSize: 0, maxSize: 3 });
    const br = new aws.GpuNodeGroup('gpu-h100', {
      clusterName: 'kfkit', subnetIds: ['subnet-1'], poolName: 'h100', amiType: 'BOTTLEROCKET_x86_64_NVIDIA', instanceTypes: ['p5.48xlarge'], minSize: 1, maxSize: 2,
      nodeRoleArn: `arn:aws:iam::${ACCOUNT}:role/nodes`,
    });
    await settle();
    expect([al2023.bundlesDevicePlugin, br.bundlesDevicePlugin]).toEqual([false, true]);
    const ng = one('aws:eks/nodeGroup:NodeGroup', 'gpu-a10g').inputs;
    expect(ng).toMatchObject({
      amiType: 'AL2023_x86_64_NVIDIA',
      instanceTypes: ['g5.xlarge', 'g5.2xlarge'],
      scalingConfig: { minSize: 0, maxSize: 3, desiredSize: 0 },
      taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NO_SCHEDULE' }],
      labels: { 'nvidia.com/gpu.present': 'true', 'kfkit.dev/gpu-pool': 'gpu-a10g' },
    });
    const tags = {
      'k8s.io/cluster-autoscaler/node-template/label/nvidia.com/gpu.present': 'true',
      'k8s.io/cluster-autoscaler/node-template/label/kfkit.dev/gpu-pool': 'gpu-a10g',
      'k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu': 'present:NoSchedule',
      'k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu': '1',
    };
    expect(ng.tags).toEqual(tags);
    // EKS does not copy node group tags to the Auto Scaling group the autoscaler reads: the component tags it.
    const asgTags = resourcesOf((r) => r.type === 'aws:autoscaling/tag:Tag' && r.name.startsWith('gpu-a10g-'));
    expect(Object.fromEntries(asgTags.map((r) => {
      const tag = r.inputs.tag as { key: string; value: string; propagateAtLaunch: boolean };
      expect(tag.propagateAtLaunch).toBe(false);
      return [tag.key, tag.value];
    }))).toEqual(tags);
    for (const r of asgTags) {
      if (preview) expect(r.inputs.autoscalingGroupName).not.toBe('eks-gpu-a10g-asg');
      else expect(r.inputs.autoscalingGroupName).toBe('eks-gpu-a10g-asg');
    }
    expect(one('aws:eks/nodeGroup:NodeGroup', 'gpu-h100').inputs).toMatchObject({
      amiType: 'BOTTLEROCKET_x86_64_NVIDIA', labels: { 'kfkit.dev/gpu-pool': 'h100' }, nodeRoleArn: `arn:aws:iam::${ACCOUNT}:role/nodes`,
    });
    expect(br.autoscalerTags['k8s.io/cluster-autoscaler/node-template/resources/nvidia.com/gpu']).toBe('8');
    // A created node role carries the three standard managed policies; a given one creates nothing.
    expect(resourcesOf((r) => r.type === 'aws:iam/rolePolicyAttachment:RolePolicyAttachment').map((r) => r.inputs.policyArn).sort()).toEqual([
      'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly', 'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy', 'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
    ]);
    // The vocabulary the platform's GPU consumers select and tolerate.
    expect([aws.GPU_RESOURCE, aws.GPU_TAINT_KEY, aws.GPU_POOL_LABEL]).toEqual([CORE_GPU_RESOURCE, CORE_GPU_TAINT_KEY, CORE_GPU_POOL_LABEL]);
  });

  test('an existing cluster is looked up: OIDC issuer, provider, node security group, VPC', async () => {
    registered = [];
    const cluster = new aws.KfkitCluster('existing', { existing: { name: 'kfkit-dev' } });
    await settle();
    expect(resourcesOf()).toEqual([expect.objectContaining({ type: 'kfkit:aws:KfkitCluster', name: 'existing' })]);
    expect(cluster.created).toBe(false);
    const values = await Promise.all([cluster.oidcIssuerUrl, cluster.oidcProviderArn, cluster.nodeSecurityGroupId, cluster.vpcId].map((o) => valueOf(o)));
    expect(values.map((v) => v.value)).toEqual([`https://${ISSUER}`, OIDC_ARN, 'sg-0e1a2b3c4d5e6f700', 'vpc-0e']);
  });

  test('S3 and STS through interface endpoints with private DNS: HTTPS from the VPC only, so the VPC\'s CIDR is all pods need', async () => {
    registered = [];
    const cluster = new aws.KfkitCluster('ep', { existing: { name: 'kfkit-dev' }, serviceEndpoints: true });
    await settle();
    await valueOf(cluster.vpcCidr);
    await settle();
    expect(cluster.serviceEndpoints).toBe(true);
    const sg = one('aws:ec2/securityGroup:SecurityGroup', 'ep-endpoints').inputs;
    expect(sg.ingress).toEqual([expect.objectContaining({ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['10.42.0.0/16'] })]);
    for (const service of ['s3', 'sts']) {
      expect(one('aws:ec2/vpcEndpoint:VpcEndpoint', `ep-${service}`).inputs).toMatchObject({
        vpcEndpointType: 'Interface', privateDnsEnabled: true, serviceName: `com.amazonaws.${REGION}.${service}`, vpcId: 'vpc-0e', securityGroupIds: ['ep-endpoints-id'],
      });
    }
    expect(one('aws:ec2/vpcEndpoint:VpcEndpoint', 'ep-s3').inputs.dnsOptions).toEqual({ privateDnsOnlyForInboundResolverEndpoint: false });
    // An existing cluster's VPC may have them already: none unless asked.
    registered = [];
    expect(new aws.KfkitCluster('plain', { existing: { name: 'kfkit-dev' } }).serviceEndpoints).toBe(false);
    await settle();
    expect(resourcesOf((r) => r.type.startsWith('aws:ec2/'))).toEqual([]);
  });

  test('validation: every bad property of every component, in one InputPropertiesError', () => {
    registered = [];
    const bucket = invalidPaths(() => new aws.ArtifactBucket('Bad_Name', {
      bucketName: 'UPPER', kmsKeyArn: 'key', noncurrentVersionExpirationDays: 0, backupExpiration: { prefix: '/backups/*', days: 1.5 },
    }));
    expect(bucket.paths).toEqual(['(name)', 'bucketName', 'kmsKeyArn', 'noncurrentVersionExpirationDays', 'backupExpiration.prefix', 'backupExpiration.days']);
    expect(bucket.message).toMatch(/kfkit:aws:ArtifactBucket Bad_Name: 6 invalid properties:\n {2}- \(name\): /);

    expect(invalidPaths(() => new aws.IrsaRole('role', {
      oidcProviderArn: 'arn:aws:iam::1:role/x', serviceAccounts: [{ namespace: 'Kubeflow', name: '*' }],
      s3: { bucketArn: 'arn:aws:s3:::b*', prefixes: ['a/*', '../b'] }, managedPolicyArns: ['AdministratorAccess'],
    })).paths).toEqual([
      'oidcProviderArn', 'serviceAccounts[0].namespace', 'serviceAccounts[0].name', 's3.bucketArn', 's3.prefixes[0]', 's3.prefixes[1]', 'managedPolicyArns[0]',
    ]);

    expect(invalidPaths(() => new aws.MetadataDatabase('db', {
      env: 'prod', engine: 'oracle' as 'mysql', vpcId: 'vpc-1', subnetIds: ['subnet-1'], allowedSecurityGroupIds: [], instanceClass: 'm5.large',
      allocatedStorageGiB: 10, multiAz: false, deletionProtection: false, username: 'Admin',
    })).paths).toEqual([
      'allowedSecurityGroupIds', 'engine', 'subnetIds', 'instanceClass', 'allocatedStorageGiB', 'multiAz', 'deletionProtection', 'username',
    ]);

    expect(invalidPaths(() => new aws.GpuNodeGroup('gpu', {
      clusterName: 'c', subnetIds: [], amiType: 'AL2_x86_64_GPU' as 'AL2023_x86_64_NVIDIA', instanceTypes: ['g5.xlarge', 'g5.12xlarge'],
      minSize: 3, maxSize: 2, desiredSize: 5, labels: { 'kfkit.dev/gpu-pool': 'x' },
    })).paths).toEqual(['subnetIds', 'amiType', 'instanceTypes', 'maxSize', 'desiredSize', 'labels.kfkit.dev/gpu-pool']);
    expect(invalidPaths(() => new aws.GpuNodeGroup('gpu', { clusterName: 'c', subnetIds: ['s'], instanceTypes: ['m7i.xlarge'], minSize: 0, maxSize: 1 })).message)
      .toMatch(/m7i\.xlarge: not a known x86_64 NVIDIA GPU instance type; set gpusPerNode/);

    expect(invalidPaths(() => new aws.KfkitCluster('c', { existing: { name: 'x' }, create: { subnetIds: ['subnet-1'], version: '1.2' } })).paths)
      .toEqual(['(args)', 'create.version', 'create.subnetIds']);

    expect(invalidPaths(() => new aws.ClusterAutoscalerRole('ca', {
      oidcProviderArn: 'arn:aws:iam::1:role/x', clusterName: 'my cluster', region: 'Ireland', serviceAccount: { namespace: 'kube-system', name: '*' },
    })).paths).toEqual(['oidcProviderArn', 'serviceAccounts[0].name', 'clusterName', 'region']);
    expect(invalidPaths(() => new aws.LoadBalancerControllerRole('lbc', { oidcProviderArn: OIDC_ARN, region: REGION, vpcId: 'vpc-XYZ' })).message)
      .toMatch(/kfkit:aws:LoadBalancerControllerRole lbc: 1 invalid property:\n {2}- vpcId: must be a VPC id/);
    // The stack's name leaves room for its add-on roles' names.
    expect(invalidPaths(() => new aws.AwsCloudStack(`k${'x'.repeat(40)}`, { env: 'dev', cluster: { existing: { name: 'c' } } })).message)
      .toMatch(/\(name\): kx+-cluster-autoscaler is too long for a component name/);

    // The stack checks its children's arguments too, before creating anything, and reports them all at once.
    const stack = invalidPaths(() => new aws.AwsCloudStack('kfkit', {
      env: 'staging' as 'dev',
      namespace: 'kube-system',
      cluster: { create: { subnetIds: ['subnet-1'] } },
      bucket: { noncurrentVersionExpirationDays: -1 },
      database: { engine: 'postgresql', subnetIds: ['subnet-1', 'subnet-2'] },
      gpuPools: [{ name: 'a10g', instanceTypes: ['g5.xlarge'], minSize: 0, maxSize: 1 }, { name: 'a10g', instanceTypes: [], minSize: 0, maxSize: 0 }],
      profiles: ['team-a', 'team-a'],
    }));
    expect(stack.paths).toEqual([
      'env', 'namespace', 'cluster.create.subnetIds', 'bucket.noncurrentVersionExpirationDays',
      'database.requireTls', 'database.requireTls',
      'gpuPools[1].name', 'gpuPools[1].instanceTypes', 'gpuPools[1].maxSize', 'profiles[1]',
    ]);
    // PostgreSQL with TLS forced: Kubeflow Pipelines' consumers cannot connect (lib/core/database-consumers.ts).
    expect(stack.message).toMatch(/ml-pipeline \(Kubeflow Pipelines API server\) cannot connect to postgresql with TLS mode required/);
    expect(registered).toEqual([]);
  });

  test('the platform stack reads the cloud stack through a StackReference, as plain values', async () => {
    registered = [];
    cloudStackOutput = cloudOutputs({});
    const config = new pulumi.Config('kfkit');
    pulumi.runtime.setAllConfig({ 'kfkit:cloudStack': 'organization/kfkit-aws/aws-dev' });
    const overlay = await aws.cloudOverlayFromConfig(config);
    expect(overlay?.cloud.aws?.oidcProviderArn).toBe(OIDC_ARN);
    expect(one('pulumi:pulumi:StackReference').inputs.name).toBe('organization/kfkit-aws/aws-dev');

    cloudStackOutput = { ...cloudOutputs({}), roles: undefined, bucket: { name: 'b' } };
    await expect(aws.readCloudOutputs('organization/kfkit-aws/broken')).rejects.toThrow(/bucket\.arn[\s\S]*bucket\.region[\s\S]*roles\.pipelines/);
    cloudStackOutput = undefined;
    await expect(aws.readCloudOutputs('organization/kfkit-aws/missing')).rejects.toThrow(/has no output "cloud": deploy the AWS cloud stack/);
    pulumi.runtime.setAllConfig({});
    await expect(aws.cloudOverlayFromConfig(new pulumi.Config('kfkit'))).resolves.toBeUndefined();
  });
});

// Pure functions and synthesis: the same with or without preview, so run once.
describe('kfkit AWS cloud layer and the platform', () => {
  beforeAll(async () => { aws = await import('../pulumi/aws'); });

  test('the pipelines role trusts exactly the ServiceAccounts the platform annotates with it', () => {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/kfkit-pipelines`;
    const overlay = aws.cloudOutputsToOverlay(cloudOutputs({ roles: { pipelines: roleArn, profiles: {}, ...ADDON_ROLES } }));
    // In-cluster database, so that the backup CronJob (and `kfkit restore`) are part of it.
    const config = localConfig({ namespace: overlay.namespace, objectStore: overlay.objectStore, cloud: overlay.cloud });
    const annotated = synthesize(config).objects.map((o) => o.manifest)
      .filter((m) => m.kind === 'ServiceAccount' && m.metadata.annotations?.['eks.amazonaws.com/role-arn'] === roleArn)
      .map((m) => `${m.metadata.namespace ?? ''}/${m.metadata.name}`);
    const restore = YAML.parseAllDocuments(renderRestore(config, '20261123T030000Z')).map((d) => d.toJS() as { kind: string; metadata: Record<string, never> })
      .filter((m) => m.kind === 'ServiceAccount' && (m.metadata.annotations as Record<string, string> | undefined)?.['eks.amazonaws.com/role-arn'] === roleArn)
      .map((m) => `${String(m.metadata.namespace)}/${String(m.metadata.name)}`);
    expect([...annotated, ...restore].sort()).toEqual(aws.PIPELINES_SERVICE_ACCOUNTS.map((sa) => `kubeflow/${sa}`));
  });


  test('cloud outputs carry what the add-ons need; those of an older cloud stack are refused, naming the fields and the fix', () => {
    const overlay = aws.cloudOutputsToOverlay(cloudOutputs({}));
    // The aws stack turns both add-ons on; the cloud stack's outputs alone complete them.
    const config = resolveConfig(aws.applyCloudOverlay({ stack: 'aws', database: { type: 'external', credentialsSecret: { name: 'db' } } }, overlay), STACKS);
    expect(config.addons.clusterAutoscaler.enabled).toBe(true);
    expect(config.addons.awsLoadBalancerController.enabled).toBe(true);
    expect(config.cloud.aws).toMatchObject({ clusterName: 'kfkit-dev', vpcId: VPC_ID, roles: ADDON_ROLES });

    // What a cloud stack deployed before the add-ons exports: no VPC, no add-on roles.
    const old = JSON.parse(JSON.stringify(cloudOutputs({}))) as { cluster: Record<string, unknown>; roles: Record<string, unknown> };
    delete old.cluster.vpcId;
    delete old.roles.clusterAutoscaler;
    delete old.roles.loadBalancerController;
    const refused = invalidPaths(() => aws.parseCloudOutputs(old, 'org/kfkit-aws/aws-dev'));
    expect(refused.paths).toEqual(['cluster.vpcId', 'roles.clusterAutoscaler', 'roles.loadBalancerController']);
    expect(refused.message).toMatch(/cluster\.vpcId: must be a non-empty string \(a cloud stack deployed by an older kfkit does not export it: run `pulumi up` in pulumi\/aws\)/);
  });

  test('cloud outputs become a valid kfkit overlay: external S3 with IRSA, cloud.aws, external database with TLS required', () => {
    const outputs = cloudOutputs({});
    const overlay = aws.cloudOutputsToOverlay(outputs, { credentialsSecretName: 'rds-credentials' });
    expect(overlay).toEqual({
      namespace: 'kubeflow',
      cluster: { apiServer: { cidrs: ['10.42.0.0/16'] } },
      objectStore: { type: 'external', provider: 's3', region: REGION, bucket: 'kfkit-dev-artifacts-a1b2c3d', credentials: { type: 'irsa' }, cidrs: ['10.42.0.0/16'] },
      cloud: {
        aws: {
          region: REGION, clusterName: 'kfkit-dev', vpcId: VPC_ID, oidcProviderArn: OIDC_ARN,
          roles: { pipelines: `arn:aws:iam::${ACCOUNT}:role/kfkit-dev-pipelines`, profiles: {}, ...ADDON_ROLES },
        },
      },
      gpu: { pools: [] },
      database: {
        type: 'external', engine: 'mysql', cidrs: ['10.42.0.0/16'], host: 'kfkit-dev-db.c0ffee.eu-west-1.rds.amazonaws.com', port: 3306,
        credentialsSecret: { name: 'rds-credentials' }, tls: { mode: 'required' },
      },
    });
    // The stack's in-cluster database is replaced by the external one (another `type`).
    const doc = aws.applyCloudOverlay({ stack: 'local', database: { type: 'in-cluster', engine: 'mysql' } }, overlay);
    const config = localConfig(doc);
    expect(config.database).toMatchObject({ type: 'external', host: 'kfkit-dev-db.c0ffee.eu-west-1.rds.amazonaws.com', tls: { mode: 'required' } });
    const apiServer = synthesize(config).objects.map((o) => o.manifest).find((m) => m.kind === 'ServiceAccount' && m.metadata.name === 'ml-pipeline');
    expect(apiServer?.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe(`arn:aws:iam::${ACCOUNT}:role/kfkit-dev-pipelines`);
    expect(aws.cloudOutputsToOverlay({ ...outputs, database: undefined }).database).toBeUndefined();
  });

});

/** Cloud outputs as a deployed dev stack exports them. */
function cloudOutputs(over: Partial<import('../pulumi/aws').CloudOutputs>): import('../pulumi/aws').CloudOutputs {
  return {
    env: 'dev',
    region: REGION,
    namespace: 'kubeflow',
    cluster: {
      name: 'kfkit-dev', endpoint: 'https://existing.eks.example', oidcIssuerUrl: `https://${ISSUER}`, oidcProviderArn: OIDC_ARN,
      nodeSecurityGroupId: 'sg-0e1a2b3c4d5e6f700', vpcId: VPC_ID, vpcCidr: '10.42.0.0/16', kubeconfig: '{}',
    },
    bucket: { name: 'kfkit-dev-artifacts-a1b2c3d', arn: 'arn:aws:s3:::kfkit-dev-artifacts-a1b2c3d', region: REGION },
    roles: { pipelines: `arn:aws:iam::${ACCOUNT}:role/kfkit-dev-pipelines`, profiles: {}, ...ADDON_ROLES },
    database: {
      engine: 'mysql', host: 'kfkit-dev-db.c0ffee.eu-west-1.rds.amazonaws.com', port: 3306, tlsMode: 'required',
      secretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-1234`,
    },
    gpuPools: [],
    ...over,
  };
}
