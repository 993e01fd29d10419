/**
 * IAM policies of the cluster add-ons kfkit's AWS platform runs in kube-system — the cluster-autoscaler and the AWS
 * Load Balancer Controller — as pure functions of plain strings, like ./policy.ts. Both follow their project's
 * reference policy (the actions carry over), scoped to this account, region, cluster and VPC wherever AWS allows it:
 * `Resource: "*"` only for the EC2, Auto Scaling and Elastic Load Balancing `Describe*` calls, which support no
 * resource-level permissions (the policy pack's `no-wildcard-iam` accepts exactly those; lib/policy/iam.ts).
 */
import { PolicyDocument, PolicyStatement } from './policy';

/** Where an add-on's permissions apply: one partition, account and region. */
export interface AwsScope {
  /** `aws`, `aws-cn` or `aws-us-gov`. */
  readonly partition: string;
  /** 12-digit account id. */
  readonly account: string;
  /** Region, e.g. `eu-west-1`. */
  readonly region: string;
}

/** The account id (fifth field) of an ARN such as an IAM OIDC provider's. */
export function accountOfArn(arn: string): string {
  const account = arn.split(':').at(4);
  if (!arn.startsWith('arn:') || account === undefined || !/^\d{12}$/.test(account)) throw new Error(`"${arn}" is not an ARN with an account id`);
  return account;
}

/** Read-only calls of the cluster-autoscaler (its documented "full features" policy), on `Resource: "*"`. */
export const CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS: readonly string[] = [
  'autoscaling:DescribeAutoScalingGroups',
  'autoscaling:DescribeAutoScalingInstances',
  'autoscaling:DescribeLaunchConfigurations',
  'autoscaling:DescribeScalingActivities',
  'ec2:DescribeImages',
  'ec2:DescribeInstanceTypes',
  'ec2:DescribeLaunchTemplateVersions',
];

/** The calls that change a node group: scale it, or remove one of its instances. */
export const CLUSTER_AUTOSCALER_SCALE_ACTIONS: readonly string[] = ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'];

/**
 * Actions of the reference policy kfkit leaves out, and why. `ec2:GetInstanceTypesFromInstanceRequirements` is
 * only called for Auto Scaling groups that choose instances by attributes (instance requirements); EKS managed node
 * groups — every group kfkit creates — list instance types, and the action supports only `Resource: "*"`.
 */
export const CLUSTER_AUTOSCALER_OMITTED_ACTIONS: Readonly<Record<string, string>> = {
  'ec2:GetInstanceTypesFromInstanceRequirements': 'attribute-based instance selection only; kfkit\'s managed node groups list instance types',
};

/** The tag EKS puts on the Auto Scaling group of every managed node group of a cluster (value `owned`). */
export function clusterAutoscalerOwnerTag(clusterName: string): string {
  return `k8s.io/cluster-autoscaler/${clusterName}`;
}

/**
 * The cluster-autoscaler's policy for one cluster: the `Describe*` calls it needs to find and template node groups;
 * `eks:DescribeNodegroup` (labels and taints of a managed node group that has no node yet) on the cluster's node
 * groups; and scaling only Auto Scaling groups of this account and region tagged
 * `k8s.io/cluster-autoscaler/<cluster>: owned` — the cluster's own node groups, never another cluster's.
 */
export function clusterAutoscalerPolicy(scope: AwsScope, clusterName: string): PolicyDocument {
  const { partition, account, region } = scope;
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'DiscoverNodeGroups', Effect: 'Allow', Action: [...CLUSTER_AUTOSCALER_DESCRIBE_ACTIONS], Resource: '*' },
      {
        Sid: 'DescribeClusterNodeGroups', Effect: 'Allow', Action: 'eks:DescribeNodegroup',
        Resource: `arn:${partition}:eks:${region}:${account}:nodegroup/${clusterName}/*/*`,
      },
      {
        Sid: 'ScaleClusterNodeGroups', Effect: 'Allow', Action: [...CLUSTER_AUTOSCALER_SCALE_ACTIONS],
        Resource: `arn:${partition}:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/*`,
        Condition: { StringEquals: { [`aws:ResourceTag/${clusterAutoscalerOwnerTag(clusterName)}`]: 'owned' } },
      },
    ],
  };
}

/** Tag the AWS Load Balancer Controller puts on everything it creates (value: the cluster name). */
export const LOAD_BALANCER_CONTROLLER_CLUSTER_TAG = 'elbv2.k8s.aws/cluster';

/** EC2 calls the controller reads subnets, security groups, ENIs and instances with (reference policy, `Resource: "*"`). */
export const LOAD_BALANCER_CONTROLLER_EC2_DESCRIBE_ACTIONS: readonly string[] = [
  'ec2:DescribeAccountAttributes', 'ec2:DescribeAddresses', 'ec2:DescribeAvailabilityZones', 'ec2:DescribeCoipPools',
  'ec2:DescribeInstances', 'ec2:DescribeInternetGateways', 'ec2:DescribeIpamPools', 'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeRouteTables', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSubnets', 'ec2:DescribeTags', 'ec2:DescribeVpcPeeringConnections',
  'ec2:DescribeVpcs',
];

/** Elastic Load Balancing calls the controller reads load balancers with (reference policy, `Resource: "*"`). */
export const LOAD_BALANCER_CONTROLLER_ELB_DESCRIBE_ACTIONS: readonly string[] = [
  'elasticloadbalancing:DescribeCapacityReservation', 'elasticloadbalancing:DescribeListenerAttributes',
  'elasticloadbalancing:DescribeListenerCertificates', 'elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeLoadBalancerAttributes',
  'elasticloadbalancing:DescribeLoadBalancers', 'elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeSSLPolicies',
  'elasticloadbalancing:DescribeTags', 'elasticloadbalancing:DescribeTargetGroupAttributes', 'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DescribeTrustStores',
];

/**
 * Actions of the reference policy (aws-load-balancer-controller v3.4.3 `docs/install/iam_policy.json`) kfkit leaves
 * out, and why. Two are never called by the controller's code. The rest serve ALB Ingress integrations kfkit does not
 * use — it runs the controller for the NLB in front of the Istio ingress gateway, which terminates TLS itself — and
 * kfkit's chart values turn the WAF, WAFv2 and Shield integrations off; their listing calls support only
 * `Resource: "*"`. An ALB Ingress still works with an explicit `certificate-arn`; give the role more (IrsaRole
 * `managedPolicyArns`) for host-based certificate discovery, Cognito authentication, WAF or Shield.
 */
export const LOAD_BALANCER_CONTROLLER_OMITTED_ACTIONS: Readonly<Record<string, string>> = {
  'ec2:GetCoipPoolUsage': 'not called by the controller (v3.4.3)',
  'ec2:GetSecurityGroupsForVpc': 'not called by the controller (v3.4.3)',
  'acm:ListCertificates': 'ALB certificate discovery by host name; Resource "*" only',
  'acm:DescribeCertificate': 'ALB certificate discovery by host name',
  'iam:ListServerCertificates': 'ALB certificate discovery among IAM server certificates; Resource "*" only',
  'iam:GetServerCertificate': 'ALB certificate discovery among IAM server certificates',
  'cognito-idp:DescribeUserPoolClient': 'ALB Cognito authentication',
  'waf-regional:GetWebACL': 'WAF Classic on ALBs (enableWaf: false)',
  'waf-regional:GetWebACLForResource': 'WAF Classic on ALBs (enableWaf: false)',
  'waf-regional:AssociateWebACL': 'WAF Classic on ALBs (enableWaf: false)',
  'waf-regional:DisassociateWebACL': 'WAF Classic on ALBs (enableWaf: false)',
  'wafv2:GetWebACL': 'WAFv2 on ALBs (enableWafv2: false)',
  'wafv2:GetWebACLForResource': 'WAFv2 on ALBs (enableWafv2: false)',
  'wafv2:AssociateWebACL': 'WAFv2 on ALBs (enableWafv2: false)',
  'wafv2:DisassociateWebACL': 'WAFv2 on ALBs (enableWafv2: false)',
  'shield:GetSubscriptionState': 'Shield Advanced (enableShield: false); Resource "*" only',
  'shield:DescribeProtection': 'Shield Advanced (enableShield: false)',
  'shield:CreateProtection': 'Shield Advanced (enableShield: false)',
  'shield:DeleteProtection': 'Shield Advanced (enableShield: false)',
};

/**
 * The AWS Load Balancer Controller's policy for one cluster in one VPC: the reference policy's statements (tag
 * conditions as upstream: the controller only modifies and deletes what carries its `elbv2.k8s.aws/cluster` tag,
 * and must tag what it creates), each `Resource: "*"` replaced by the ARNs of this account and region, and further
 * narrowed as the controller's installation guide recommends — security group rules only for groups in the cluster's
 * VPC (`ec2:Vpc`), new security groups only in that VPC. See {@link LOAD_BALANCER_CONTROLLER_OMITTED_ACTIONS}.
 */
export function loadBalancerControllerPolicy(scope: AwsScope, vpcId: string): PolicyDocument {
  const { partition, account, region } = scope;
  const ec2 = (resource: string) => `arn:${partition}:ec2:${region}:${account}:${resource}`;
  const elb = (resource: string) => `arn:${partition}:elasticloadbalancing:${region}:${account}:${resource}`;
  const securityGroups = ec2('security-group/*');
  const loadBalancers = [elb('loadbalancer/app/*/*'), elb('loadbalancer/net/*/*')];
  const targetGroups = elb('targetgroup/*/*');
  const listeners = [elb('listener/app/*/*/*'), elb('listener/net/*/*/*')];
  const rules = [elb('listener-rule/app/*/*/*'), elb('listener-rule/net/*/*/*')];
  const tagged = { Null: { [`aws:ResourceTag/${LOAD_BALANCER_CONTROLLER_CLUSTER_TAG}`]: 'false' } };
  const tagsOnCreate = { Null: { [`aws:RequestTag/${LOAD_BALANCER_CONTROLLER_CLUSTER_TAG}`]: 'false' } };
  // Tags of an owned resource may change, except the cluster tag itself (no request may carry it).
  const ownedNoClusterTag = {
    Null: { [`aws:RequestTag/${LOAD_BALANCER_CONTROLLER_CLUSTER_TAG}`]: 'true', [`aws:ResourceTag/${LOAD_BALANCER_CONTROLLER_CLUSTER_TAG}`]: 'false' },
  };
  const statements: PolicyStatement[] = [
    {
      Sid: 'ElbServiceLinkedRole', Effect: 'Allow', Action: 'iam:CreateServiceLinkedRole',
      Resource: `arn:${partition}:iam::${account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing`,
      Condition: { StringEquals: { 'iam:AWSServiceName': 'elasticloadbalancing.amazonaws.com' } },
    },
    {
      Sid: 'Describe', Effect: 'Allow',
      Action: [...LOAD_BALANCER_CONTROLLER_EC2_DESCRIBE_ACTIONS, ...LOAD_BALANCER_CONTROLLER_ELB_DESCRIBE_ACTIONS], Resource: '*',
    },
    {
      Sid: 'SecurityGroupRulesInClusterVpc', Effect: 'Allow', Action: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
      Resource: securityGroups, Condition: { ArnEquals: { 'ec2:Vpc': ec2(`vpc/${vpcId}`) } },
    },
    { Sid: 'CreateSecurityGroupInClusterVpc', Effect: 'Allow', Action: 'ec2:CreateSecurityGroup', Resource: [securityGroups, ec2(`vpc/${vpcId}`)] },
    {
      Sid: 'TagNewSecurityGroups', Effect: 'Allow', Action: 'ec2:CreateTags', Resource: securityGroups,
      Condition: { StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' }, ...tagsOnCreate },
    },
    { Sid: 'TagOwnedSecurityGroups', Effect: 'Allow', Action: ['ec2:CreateTags', 'ec2:DeleteTags'], Resource: securityGroups, Condition: ownedNoClusterTag },
    {
      Sid: 'ManageOwnedSecurityGroups', Effect: 'Allow',
      Action: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress', 'ec2:DeleteSecurityGroup'], Resource: securityGroups, Condition: tagged,
    },
    {
      Sid: 'CreateTaggedLoadBalancers', Effect: 'Allow', Action: ['elasticloadbalancing:CreateLoadBalancer', 'elasticloadbalancing:CreateTargetGroup'],
      Resource: [...loadBalancers, targetGroups], Condition: tagsOnCreate,
    },
    {
      Sid: 'ListenersAndRules', Effect: 'Allow',
      Action: ['elasticloadbalancing:CreateListener', 'elasticloadbalancing:DeleteListener', 'elasticloadbalancing:CreateRule', 'elasticloadbalancing:DeleteRule'],
      Resource: [...loadBalancers, ...listeners, ...rules],
    },
    {
      Sid: 'TagOwnedLoadBalancers', Effect: 'Allow', Action: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'],
      Resource: [targetGroups, ...loadBalancers], Condition: ownedNoClusterTag,
    },
    { Sid: 'TagListenersAndRules', Effect: 'Allow', Action: ['elasticloadbalancing:AddTags', 'elasticloadbalancing:RemoveTags'], Resource: [...listeners, ...rules] },
    {
      Sid: 'ManageOwnedLoadBalancers', Effect: 'Allow',
      Action: [
        'elasticloadbalancing:DeleteLoadBalancer', 'elasticloadbalancing:DeleteTargetGroup', 'elasticloadbalancing:ModifyCapacityReservation',
        'elasticloadbalancing:ModifyIpPools', 'elasticloadbalancing:ModifyListenerAttributes', 'elasticloadbalancing:ModifyLoadBalancerAttributes',
        'elasticloadbalancing:ModifyTargetGroup', 'elasticloadbalancing:ModifyTargetGroupAttributes', 'elasticloadbalancing:SetIpAddressType',
        'elasticloadbalancing:SetSecurityGroups', 'elasticloadbalancing:SetSubnets',
      ],
      Resource: [...loadBalancers, targetGroups, ...listeners], Condition: tagged,
    },
    {
      Sid: 'TagOnCreate', Effect: 'Allow', Action: 'elasticloadbalancing:AddTags', Resource: [targetGroups, ...loadBalancers],
      Condition: { StringEquals: { 'elasticloadbalancing:CreateAction': ['CreateTargetGroup', 'CreateLoadBalancer'] }, ...tagsOnCreate },
    },
    {
      Sid: 'Targets', Effect: 'Allow', Action: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'], Resource: targetGroups,
    },
    {
      Sid: 'ListenerSettings', Effect: 'Allow',
      Action: [
        'elasticloadbalancing:AddListenerCertificates', 'elasticloadbalancing:ModifyListener', 'elasticloadbalancing:ModifyRule',
        'elasticloadbalancing:RemoveListenerCertificates', 'elasticloadbalancing:SetRulePriorities', 'elasticloadbalancing:SetWebAcl',
      ],
      Resource: [...loadBalancers, ...listeners, ...rules],
    },
  ];
  return { Version: '2012-10-17', Statement: statements };
}
