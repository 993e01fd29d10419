import * as pulumi from '@pulumi/pulumi';
import { accountOfArn, clusterAutoscalerPolicy, loadBalancerControllerPolicy } from './addon-policies';
import { IrsaRole, IrsaRoleArgs, validateIrsaRoleArgs } from './irsa-role';
import { partitionOfArn, ServiceAccountRef } from './policy';
import { checkComponentName, checkPattern, Problems, throwIfInvalid } from './validation';

/**
 * The ServiceAccount of the cluster-autoscaler that kfkit's chart values name (kube-system/cluster-autoscaler);
 * lib/components/cluster-addons uses the same (kept equal by test/pulumi-aws.test.ts).
 */
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT: ServiceAccountRef = { namespace: 'kube-system', name: 'cluster-autoscaler' };
/** The ServiceAccount of the AWS Load Balancer Controller (kube-system/aws-load-balancer-controller), as the chart values name it. */
export const LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT: ServiceAccountRef = { namespace: 'kube-system', name: 'aws-load-balancer-controller' };

/** Pattern of an EKS cluster name. */
export const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
/** Pattern of a VPC id. */
export const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
/** Pattern of an AWS region. */
export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Arguments of {@link ClusterAutoscalerRole}. */
export interface ClusterAutoscalerRoleArgs {
  /** ARN of the cluster's IAM OIDC provider (its partition and account scope the policy). */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** Name of the EKS cluster whose node groups the autoscaler may scale. */
  readonly clusterName: pulumi.Input<string>;
  /** Region of the cluster. */
  readonly region: pulumi.Input<string>;
  /** The autoscaler's ServiceAccount. @default {@link CLUSTER_AUTOSCALER_SERVICE_ACCOUNT} */
  readonly serviceAccount?: ServiceAccountRef;
  /** Tags of the role. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Arguments of {@link LoadBalancerControllerRole}. */
export interface LoadBalancerControllerRoleArgs {
  /** ARN of the cluster's IAM OIDC provider (its partition and account scope the policy). */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** Region of the cluster. */
  readonly region: pulumi.Input<string>;
  /** The cluster's VPC: the only VPC the controller may create security groups in and change rules of. */
  readonly vpcId: pulumi.Input<string>;
  /** The controller's ServiceAccount. @default {@link LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT} */
  readonly serviceAccount?: ServiceAccountRef;
  /** Tags of the role. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

function checkAddonRole(type: string, name: string, role: IrsaRoleArgs, check: (problems: Problems) => void): void {
  const problems = new Problems();
  checkComponentName(problems, name);
  validateIrsaRoleArgs(role, problems);
  check(problems);
  throwIfInvalid(`${type} ${name}`, problems.all);
}

/**
 * The cluster-autoscaler's IRSA role: trusted by the cluster's OIDC provider for exactly its ServiceAccount, with
 * {@link clusterAutoscalerPolicy} — node groups are found with `Describe*` calls, and only Auto Scaling groups tagged
 * `k8s.io/cluster-autoscaler/<cluster>: owned` (the ones EKS creates for the cluster's managed node groups, GPU pools
 * included) may be scaled or have instances terminated.
 *
 * Children: `<name>` (the role), `<name>-inline` (the policy).
 */
export class ClusterAutoscalerRole extends IrsaRole {
  public constructor(name: string, args: ClusterAutoscalerRoleArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const type = 'kfkit:aws:ClusterAutoscalerRole';
    const role: IrsaRoleArgs = {
      oidcProviderArn: args.oidcProviderArn,
      serviceAccounts: [args.serviceAccount ?? CLUSTER_AUTOSCALER_SERVICE_ACCOUNT],
      description: 'kfkit: cluster-autoscaler (scales the cluster\'s own node groups)',
      tags: args.tags,
    };
    checkAddonRole(type, name, role, (problems) => {
      checkPattern(problems, 'clusterName', args.clusterName, EKS_CLUSTER_NAME, 'an EKS cluster name');
      checkPattern(problems, 'region', args.region, AWS_REGION, 'an AWS region such as eu-west-1');
    });
    // Made only once the arguments are known to be valid.
    const policy = pulumi.all([args.oidcProviderArn, args.region, args.clusterName]).apply(([provider, region, clusterName]) =>
      clusterAutoscalerPolicy({ partition: partitionOfArn(provider), account: accountOfArn(provider), region }, clusterName));
    super(name, { ...role, policy }, opts, type);
  }
}

/**
 * The AWS Load Balancer Controller's IRSA role: trusted by the cluster's OIDC provider for exactly its
 * ServiceAccount, with {@link loadBalancerControllerPolicy} — the reference policy's actions scoped to this account,
 * region and the cluster's VPC, without the ALB integrations kfkit does not use.
 *
 * Children: `<name>` (the role), `<name>-inline` (the policy).
 */
export class LoadBalancerControllerRole extends IrsaRole {
  public constructor(name: string, args: LoadBalancerControllerRoleArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const type = 'kfkit:aws:LoadBalancerControllerRole';
    const role: IrsaRoleArgs = {
      oidcProviderArn: args.oidcProviderArn,
      serviceAccounts: [args.serviceAccount ?? LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT],
      description: 'kfkit: AWS Load Balancer Controller (load balancers of the cluster, in its VPC)',
      tags: args.tags,
    };
    checkAddonRole(type, name, role, (problems) => {
      checkPattern(problems, 'vpcId', args.vpcId, VPC_ID, 'a VPC id (vpc-...)');
      checkPattern(problems, 'region', args.region, AWS_REGION, 'an AWS region such as eu-west-1');
    });
    // Made only once the arguments are known to be valid.
    const policy = pulumi.all([args.oidcProviderArn, args.region, args.vpcId]).apply(([provider, region, vpcId]) =>
      loadBalancerControllerPolicy({ partition: partitionOfArn(provider), account: accountOfArn(provider), region }, vpcId));
    super(name, { ...role, policy }, opts, type);
  }
}
