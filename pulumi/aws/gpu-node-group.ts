import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { serviceTrustPolicy } from './policy';
import { checkComponentName, checkInteger, checkList, checkPattern, known, listOf, Problems, throwIfInvalid } from './validation';

/** The extended resource of one NVIDIA GPU (lib/core/gpu.ts `GPU_RESOURCE`). */
export const GPU_RESOURCE = 'nvidia.com/gpu';
/** Key of the taint GPU nodes carry (lib/core/gpu.ts `GPU_TAINT_KEY`). */
export const GPU_TAINT_KEY = 'nvidia.com/gpu';
/** Value of that taint on kfkit's node groups. */
export const GPU_TAINT_VALUE = 'present';
/** Node label naming a kfkit GPU pool (lib/core/gpu.ts `GPU_POOL_LABEL`). */
export const GPU_POOL_LABEL = 'kfkit.dev/gpu-pool';
/** Node label GPU nodes carry (as NVIDIA GPU Feature Discovery sets it), for selectors that want any GPU node. */
export const GPU_PRESENT_LABEL = 'nvidia.com/gpu.present';
/** Prefix of the cluster-autoscaler tags that describe a node group's nodes while it has none (scale from zero). */
export const NODE_TEMPLATE_TAG = 'k8s.io/cluster-autoscaler/node-template';

/**
 * EKS-optimized accelerated AMIs for NVIDIA GPUs. Both ship the NVIDIA driver and container toolkit; only
 * Bottlerocket's NVIDIA variant also runs the NVIDIA device plugin (AL2023 nodes need one deployed).
 */
export type GpuAmiType = 'AL2023_x86_64_NVIDIA' | 'BOTTLEROCKET_x86_64_NVIDIA';

/** Whether nodes of `amiType` advertise `nvidia.com/gpu` on their own (the AMI bundles the NVIDIA device plugin). */
export function bundlesDevicePlugin(amiType: GpuAmiType): boolean {
  return amiType === 'BOTTLEROCKET_x86_64_NVIDIA';
}

/**
 * NVIDIA GPUs per instance of the x86_64 GPU instance types (EC2 accelerated computing documentation). The
 * cluster-autoscaler needs the count to scale a group up from zero nodes; other types need `gpusPerNode`.
 */
export const GPU_INSTANCE_GPUS: Readonly<Partial<Record<string, number>>> = {
  ...Object.fromEntries(['xlarge', '2xlarge', '4xlarge', '8xlarge', '16xlarge'].flatMap((size) =>
    ['g4dn', 'g5', 'g6', 'g6e'].map((family) => [`${family}.${size}`, 1]))),
  'g4dn.12xlarge': 4, 'g4dn.metal': 8,
  'g5.12xlarge': 4, 'g5.24xlarge': 4, 'g5.48xlarge': 8,
  'g6.12xlarge': 4, 'g6.24xlarge': 4, 'g6.48xlarge': 8,
  'g6e.12xlarge': 4, 'g6e.24xlarge': 4, 'g6e.48xlarge': 8,
  'p3.2xlarge': 1, 'p3.8xlarge': 4, 'p3.16xlarge': 8, 'p3dn.24xlarge': 8,
  'p4d.24xlarge': 8, 'p4de.24xlarge': 8,
  'p5.48xlarge': 8, 'p5e.48xlarge': 8, 'p5en.48xlarge': 8,
};

/** The three AWS-managed policies every EKS node role needs (kubelet, VPC CNI, image pulls). */
export const NODE_ROLE_POLICIES: readonly string[] = ['AmazonEKSWorkerNodePolicy', 'AmazonEKS_CNI_Policy', 'AmazonEC2ContainerRegistryReadOnly'];

/** Arguments of {@link NodeRole}. */
export interface NodeRoleArgs {
  /** Tags of the role. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * The IAM role of EKS managed nodes: trusted by EC2, with the three standard managed policies
 * ({@link NODE_ROLE_POLICIES}). Managed node groups register it with the cluster themselves (access entry).
 *
 * Children: `<name>` (the role), `<name>-<policy>` (attachments).
 */
export class NodeRole extends pulumi.ComponentResource {
  /** The role's ARN. */
  public readonly roleArn: pulumi.Output<string>;

  public constructor(name: string, args: NodeRoleArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    super('kfkit:aws:NodeRole', name, {}, opts);
    const problems = new Problems();
    checkComponentName(problems, name);
    throwIfInvalid(`kfkit:aws:NodeRole ${name}`, problems.all);
    const role = new aws.iam.Role(name, {
      description: `kfkit ${name}: EKS managed nodes`,
      assumeRolePolicy: JSON.stringify(serviceTrustPolicy('ec2.amazonaws.com')),
      tags: args.tags === undefined ? undefined : { ...args.tags },
    }, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;
    const attachments = NODE_ROLE_POLICIES.map((policy) => new aws.iam.RolePolicyAttachment(`${name}-${policy.toLowerCase().replace(/_/g, '-')}`, {
      role: role.name,
      policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`,
    }, { parent: this }));
    // Node groups must not start before their nodes may join: the ARN is released once every policy is attached.
    this.roleArn = pulumi.all([role.arn, ...attachments.map((a) => a.id)]).apply(([arn]) => arn);
    this.registerOutputs({ roleArn: this.roleArn });
  }
}

/** Arguments of {@link GpuNodeGroup}. */
export interface GpuNodeGroupArgs {
  /** Name of the EKS cluster. */
  readonly clusterName: pulumi.Input<string>;
  /** Subnets of the nodes (private subnets of the cluster's VPC). */
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * Pool name: the value of the `kfkit.dev/gpu-pool` label, and what kfkit's `gpu.pools[].name` refers to.
   * @default - the component name
   */
  readonly poolName?: string;
  /** Accelerated AMI. @default 'AL2023_x86_64_NVIDIA' */
  readonly amiType?: GpuAmiType;
  /** Instance types, all with the same GPU count (the autoscaler templates one node). */
  readonly instanceTypes: readonly string[];
  /** GPUs per node, for instance types missing from {@link GPU_INSTANCE_GPUS}. @default - from the table */
  readonly gpusPerNode?: number;
  /** Minimum nodes; 0 lets the cluster-autoscaler scale the group to zero when no GPU pod waits. */
  readonly minSize: number;
  /** Maximum nodes (at least 1). */
  readonly maxSize: number;
  /**
   * Nodes at creation; afterwards the cluster-autoscaler owns it (changes are ignored).
   * @default - minSize
   */
  readonly desiredSize?: number;
  /** `ON_DEMAND` or `SPOT`. @default 'ON_DEMAND' */
  readonly capacityType?: 'ON_DEMAND' | 'SPOT';
  /** Root (AL2023) or data (Bottlerocket) volume, GiB: GPU images are large. @default 100 */
  readonly diskSizeGiB?: number;
  /** ARN of the node role. @default - a {@link NodeRole} created for the group */
  readonly nodeRoleArn?: pulumi.Input<string>;
  /** More node labels (the pool label and `nvidia.com/gpu.present` cannot be overridden). @default - none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Tags of every AWS resource of the component. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

const AMI_TYPES: readonly GpuAmiType[] = ['AL2023_x86_64_NVIDIA', 'BOTTLEROCKET_x86_64_NVIDIA'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** GPUs per node of `args` (explicit, else from the table when every type agrees), or `undefined`. */
export function gpusPerNode(args: Pick<GpuNodeGroupArgs, 'instanceTypes' | 'gpusPerNode'>): number | undefined {
  if (args.gpusPerNode !== undefined) return args.gpusPerNode;
  const counts = new Set(args.instanceTypes.map((t) => GPU_INSTANCE_GPUS[t]));
  const [only] = [...counts];
  return counts.size === 1 ? only : undefined;
}

/** The settings of a {@link GpuNodeGroup} that do not come from the cluster. */
export type GpuPoolSettings = Omit<GpuNodeGroupArgs, 'clusterName' | 'subnetIds'>;

/** Problems of `args`, with paths relative to the args. */
export function validateGpuNodeGroupArgs(name: string, args: GpuNodeGroupArgs, problems: Problems): void {
  checkList(problems, 'subnetIds', args.subnetIds, 1, 'subnets');
  if (known(args.clusterName) === '') problems.add('clusterName', 'must not be empty');
  validateGpuPoolSettings(name, args, problems);
}

/** Problems of the settings of a GPU pool (named `name` unless `poolName`), with paths relative to them. */
export function validateGpuPoolSettings(name: string, args: GpuPoolSettings, problems: Problems): void {
  const pool = args.poolName ?? name;
  if (!DNS_LABEL.test(pool)) problems.add('poolName', `must be a DNS label (it is a node label value), got ${JSON.stringify(pool)}`);
  const amiType: unknown = args.amiType;
  if (amiType !== undefined && !AMI_TYPES.some((t) => t === amiType)) {
    problems.add('amiType', `must be one of ${AMI_TYPES.join(', ')} (NVIDIA accelerated AMIs), got ${JSON.stringify(amiType)}`);
  }
  const types = listOf(args.instanceTypes);
  if (types === undefined || types.length === 0 || !types.every((t) => typeof t === 'string')) {
    problems.add('instanceTypes', 'must list at least one GPU instance type, e.g. g5.xlarge');
  } else if (args.gpusPerNode === undefined) {
    const unknown = args.instanceTypes.filter((t) => GPU_INSTANCE_GPUS[t] === undefined);
    if (unknown.length > 0) {
      problems.add('instanceTypes', `${unknown.join(', ')}: not a known x86_64 NVIDIA GPU instance type; set gpusPerNode if it is one`);
    } else if (gpusPerNode(args) === undefined) {
      problems.add('instanceTypes', `must all have the same number of GPUs (the autoscaler templates one node): ${
        args.instanceTypes.map((t) => `${t}=${GPU_INSTANCE_GPUS[t] ?? '?'}`).join(', ')}`);
    }
  }
  checkInteger(problems, 'gpusPerNode', args.gpusPerNode, 1, 16);
  checkInteger(problems, 'minSize', args.minSize, 0, 1000);
  checkInteger(problems, 'maxSize', args.maxSize, 1, 1000);
  checkInteger(problems, 'desiredSize', args.desiredSize, 0, 1000);
  if (typeof args.minSize === 'number' && typeof args.maxSize === 'number' && args.maxSize < args.minSize) {
    problems.add('maxSize', `must be at least minSize (${args.minSize}), got ${args.maxSize}`);
  }
  if (args.desiredSize !== undefined && (args.desiredSize < args.minSize || args.desiredSize > args.maxSize)) {
    problems.add('desiredSize', `must be between minSize and maxSize (${args.minSize}-${args.maxSize}), got ${args.desiredSize}`);
  }
  const capacityType: unknown = args.capacityType;
  if (capacityType !== undefined && capacityType !== 'ON_DEMAND' && capacityType !== 'SPOT') {
    problems.add('capacityType', `must be ON_DEMAND or SPOT, got ${JSON.stringify(capacityType)}`);
  }
  checkInteger(problems, 'diskSizeGiB', args.diskSizeGiB, 20, 16384);
  checkPattern(problems, 'nodeRoleArn', args.nodeRoleArn, /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN');
  for (const key of Object.keys(args.labels ?? {})) {
    if (key === GPU_POOL_LABEL || key === GPU_PRESENT_LABEL) problems.add(`labels.${key}`, 'is set by the component and cannot be overridden');
  }
}

/**
 * An EKS managed node group of NVIDIA GPU nodes for one kfkit GPU pool: an accelerated AMI (AL2023 or Bottlerocket
 * NVIDIA), the given GPU instance types, nodes tainted `nvidia.com/gpu=present:NoSchedule` (only pods that asked for
 * GPUs land there) and labelled `nvidia.com/gpu.present=true` and `kfkit.dev/gpu-pool=<pool>` (what kfkit's GPU
 * consumers select), scaling between `minSize` (may be 0) and `maxSize`.
 *
 * Scale from zero: with no node to look at, the cluster-autoscaler learns a group's labels, taints and GPUs from
 * `k8s.io/cluster-autoscaler/node-template/...` tags on its Auto Scaling group. EKS does not copy node group tags to
 * the Auto Scaling group, so the component writes them there itself (one `aws.autoscaling.Tag` each). The
 * autoscaler's discovery tags (`k8s.io/cluster-autoscaler/enabled`, `.../<cluster>`) are added by EKS.
 *
 * {@link GpuNodeGroup.bundlesDevicePlugin} says whether the nodes run the NVIDIA device plugin themselves
 * (Bottlerocket): the platform must not deploy a second one there (kfkit's `devicePlugin: bundled` vs `managed`).
 *
 * Children: `<name>` (the node group), `<name>-role` (a {@link NodeRole}, unless `nodeRoleArn`), `<name>-asg-tag-<i>`.
 */
export class GpuNodeGroup extends pulumi.ComponentResource {
  /** The pool name (`kfkit.dev/gpu-pool` label value). */
  public readonly poolName: string;
  /** The AMI type. */
  public readonly amiType: GpuAmiType;
  /** Whether the nodes run the NVIDIA device plugin themselves. */
  public readonly bundlesDevicePlugin: boolean;
  /** GPUs per node. */
  public readonly gpusPerNode: number;
  /** Labels every node carries. */
  public readonly labels: Readonly<Record<string, string>>;
  /** The taint every node carries. */
  public readonly taint: { readonly key: string; readonly value: string; readonly effect: 'NoSchedule' };
  /** Cluster-autoscaler node-template tags (also on the Auto Scaling group). */
  public readonly autoscalerTags: Readonly<Record<string, string>>;
  /** The EKS node group name. */
  public readonly nodeGroupName: pulumi.Output<string>;
  /** The node role ARN. */
  public readonly nodeRoleArn: pulumi.Output<string>;
  /** The node group resource. */
  public readonly nodeGroup: aws.eks.NodeGroup;

  public constructor(name: string, args: GpuNodeGroupArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('kfkit:aws:GpuNodeGroup', name, {}, opts);
    const problems = new Problems();
    checkComponentName(problems, name);
    validateGpuNodeGroupArgs(name, args, problems);
    throwIfInvalid(`kfkit:aws:GpuNodeGroup ${name}`, problems.all);

    this.poolName = args.poolName ?? name;
    this.amiType = args.amiType ?? 'AL2023_x86_64_NVIDIA';
    this.bundlesDevicePlugin = bundlesDevicePlugin(this.amiType);
    this.gpusPerNode = gpusPerNode(args) ?? 1;
    this.labels = { ...args.labels, [GPU_PRESENT_LABEL]: 'true', [GPU_POOL_LABEL]: this.poolName };
    this.taint = { key: GPU_TAINT_KEY, value: GPU_TAINT_VALUE, effect: 'NoSchedule' };
    this.autoscalerTags = {
      ...Object.fromEntries(Object.entries(this.labels).map(([k, v]) => [`${NODE_TEMPLATE_TAG}/label/${k}`, v])),
      [`${NODE_TEMPLATE_TAG}/taint/${GPU_TAINT_KEY}`]: `${GPU_TAINT_VALUE}:NoSchedule`,
      [`${NODE_TEMPLATE_TAG}/resources/${GPU_RESOURCE}`]: String(this.gpusPerNode),
    };

    const roleArn = args.nodeRoleArn ?? new NodeRole(`${name}-role`, { tags: args.tags }, { parent: this }).roleArn;
    const desired = args.desiredSize ?? args.minSize;
    this.nodeGroup = new aws.eks.NodeGroup(name, {
      clusterName: args.clusterName,
      nodeRoleArn: roleArn,
      subnetIds: args.subnetIds,
      amiType: this.amiType,
      instanceTypes: [...args.instanceTypes],
      capacityType: args.capacityType ?? 'ON_DEMAND',
      diskSize: args.diskSizeGiB ?? 100,
      scalingConfig: { minSize: args.minSize, maxSize: args.maxSize, desiredSize: desired },
      updateConfig: { maxUnavailable: 1 },
      labels: { ...this.labels },
      taints: [{ key: this.taint.key, value: this.taint.value, effect: 'NO_SCHEDULE' }],
      tags: { ...args.tags, ...this.autoscalerTags },
    }, { parent: this, ignoreChanges: ['scalingConfig.desiredSize'] });

    const asgName = this.nodeGroup.resources.apply((resources) => {
      const asg = resources.at(0)?.autoscalingGroups.at(0)?.name;
      if (asg === undefined) throw new Error(`kfkit:aws:GpuNodeGroup ${name}: EKS reported no Auto Scaling group for the node group`);
      return asg;
    });
    Object.entries(this.autoscalerTags).sort(([a], [b]) => a.localeCompare(b)).forEach(([key, value], i) => {
      new aws.autoscaling.Tag(`${name}-asg-tag-${i}`, { autoscalingGroupName: asgName, tag: { key, value, propagateAtLaunch: false } }, { parent: this });
    });

    this.nodeGroupName = this.nodeGroup.nodeGroupName;
    this.nodeRoleArn = pulumi.output(roleArn);
    this.registerOutputs({ nodeGroupName: this.nodeGroupName, nodeRoleArn: this.nodeRoleArn, bundlesDevicePlugin: this.bundlesDevicePlugin });
  }
}
