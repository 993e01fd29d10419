import { z } from 'zod';
import { regexProblem } from '../core/patterns';

/**
 * Configuration of the cluster add-ons kfkit installs into kube-system on EKS: the cluster-autoscaler (node groups,
 * GPU pools from zero) and the AWS Load Balancer Controller (an NLB in front of the Kubeflow gateway). Both are off
 * by default; enabling one needs the facts of `cloud.aws` the cloud stack exports (cluster name, VPC, IRSA roles).
 * Cross-field rules live in {@link addonIssues}.
 */

const duration = (example: string) => z.string().regex(/^\d+(s|m|h)$/, `must be a duration such as ${example}`);
const CIDR = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/(3[0-2]|[12]?\d)$/;

/** The cluster-autoscaler. */
export const clusterAutoscalerSchema = z.strictObject({
  enabled: z.boolean().default(false).meta({
    description: 'Install the cluster-autoscaler (kube-system/cluster-autoscaler, IRSA role cloud.aws.roles.clusterAutoscaler): it scales the '
      + 'cluster\'s node groups, the GPU pools from zero. Default: false.',
  }),
  expander: z.enum(['least-waste', 'priority']).default('least-waste').meta({
    description: 'How it picks the node group to grow: least-waste (least idle CPU and memory after the pending pods fit) or priority '
      + '(the highest of `priorities`, least-waste among equals). Default: least-waste.',
  }),
  priorities: z.record(z.string().regex(/^\d{1,9}$/, 'must be a priority: a whole number'), z.array(z.string().min(1).superRefine((p, ctx) => {
    const problem = regexProblem(p);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })).min(1, 'must list at least one node group name pattern')).optional().meta({
    description: 'expander priority: priority (higher wins) → regular expressions of Auto Scaling group names (EKS names them '
      + 'eks-<node group>-<id>). Required with expander priority.',
  }),
  scaleDown: z.strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Remove nodes that stay unneeded. Default: true.' }),
    unneededTime: duration('10m').default('10m').meta({ description: 'How long a node must be unneeded before it is removed. Default: 10m.' }),
    delayAfterAdd: duration('10m').default('10m').meta({ description: 'How long after a scale-up scale-down resumes. Default: 10m.' }),
    utilizationThreshold: z.number().min(0, 'must be at least 0').max(1, 'must be at most 1').default(0.5)
      .meta({ description: 'A node whose requests are below this share of its capacity is a candidate for removal. Default: 0.5.' }),
  }).prefault({}).meta({ description: 'Scale-down settings.' }),
}).prefault({});

/** The AWS Load Balancer Controller. */
export const awsLoadBalancerControllerSchema = z.strictObject({
  enabled: z.boolean().default(false).meta({
    description: 'Install the AWS Load Balancer Controller (kube-system/aws-load-balancer-controller, IRSA role '
      + 'cloud.aws.roles.loadBalancerController): Services of type LoadBalancer annotated for it, such as the Kubeflow gateway\'s, get an NLB. '
      + 'Default: false.',
  }),
  replicas: z.number().int().min(1, 'must be at least 1').max(5, 'must be at most 5').default(2)
    .meta({ description: 'Controller replicas (leader-elected; the second serves the webhooks during a rollout). Default: 2.' }),
  gatewayLoadBalancer: z.strictObject({
    scheme: z.enum(['internal', 'internet-facing']).default('internal').meta({
      description: 'internal (reachable inside the VPC and its peered networks) or internet-facing (public subnets). Default: internal.',
    }),
    sourceRanges: z.array(z.string().regex(CIDR, 'must be an IPv4 CIDR such as 203.0.113.0/24')).default([])
      .meta({ description: 'Client address ranges the NLB admits. Default: none listed (every address that can reach it).' }),
  }).prefault({}).meta({ description: 'The NLB in front of the Kubeflow gateway (with gateway.service.type LoadBalancer).' }),
}).prefault({});

/** The `addons` section. */
export const addonsSchema = z.strictObject({
  clusterAutoscaler: clusterAutoscalerSchema.meta({ description: 'The cluster-autoscaler (EKS). Default: off.' }),
  awsLoadBalancerController: awsLoadBalancerControllerSchema.meta({ description: 'The AWS Load Balancer Controller (EKS). Default: off.' }),
}).prefault({});

/** The parts of the config {@link addonIssues} looks at. */
export interface AddonsConfigView {
  readonly addons: z.output<typeof addonsSchema>;
  readonly istio: { readonly mode: string };
  readonly gateway: { readonly service: { readonly type: string } };
  readonly objectStore: { readonly type: string; readonly credentials?: { readonly type: string } };
  readonly cloud: {
    readonly aws?: {
      readonly clusterName?: string;
      readonly vpcId?: string;
      readonly roles: { readonly clusterAutoscaler?: string; readonly loadBalancerController?: string };
    };
  };
}

/** One cross-field problem: a path from the config root and a message. */
export interface AddonIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Cross-field rules of the `addons` section: what an enabled add-on needs from `cloud.aws`. */
export function addonIssues(c: AddonsConfigView): AddonIssue[] {
  const out: AddonIssue[] = [];
  // The gateway's NLB exists only for a LoadBalancer gateway Service, which only a mesh deploys.
  const nlb = c.addons.awsLoadBalancerController.gatewayLoadBalancer;
  const lb = c.istio.mode !== 'none' && c.gateway.service.type === 'LoadBalancer';
  const why = c.istio.mode === 'none'
    ? 'applies to the NLB of the Kubeflow gateway, and with istio.mode none there is no gateway: remove it, or set istio.mode to external or managed'
    : 'applies to the NLB of the Kubeflow gateway\'s Service: set gateway.service.type to LoadBalancer, or remove it';
  if (!lb && nlb.scheme !== 'internal') out.push({ path: ['addons', 'awsLoadBalancerController', 'gatewayLoadBalancer', 'scheme'], message: why });
  if (!lb && nlb.sourceRanges.length > 0) out.push({ path: ['addons', 'awsLoadBalancerController', 'gatewayLoadBalancer', 'sourceRanges'], message: why });
  const aws = c.cloud.aws;
  // A missing cloud.aws is reported once: by the artifact store's rule when it uses IRSA (the aws stack), else here.
  let reported = c.objectStore.type === 'external' && c.objectStore.credentials?.type === 'irsa';
  const needs = (addon: string, fields: readonly (readonly [readonly string[], string | undefined, string])[]): void => {
    if (aws === undefined) {
      if (!reported) out.push({ path: ['cloud', 'aws'], message: `required when addons.${addon}.enabled is true: the EKS cluster's region, name and IRSA roles` });
      reported = true;
      return;
    }
    for (const [path, value, why] of fields) {
      if (value === undefined) out.push({ path: ['cloud', 'aws', ...path], message: `required when addons.${addon}.enabled is true: ${why}` });
    }
  };
  const ca = c.addons.clusterAutoscaler;
  if (ca.enabled) {
    needs('clusterAutoscaler', [
      [['clusterName'], aws?.clusterName, 'the EKS cluster whose node groups it discovers (cloud output cluster.name)'],
      [['roles', 'clusterAutoscaler'], aws?.roles.clusterAutoscaler, 'the IRSA role of kube-system/cluster-autoscaler (cloud output roles.clusterAutoscaler)'],
    ]);
  }
  if (ca.expander === 'priority' && ca.priorities === undefined) {
    out.push({ path: ['addons', 'clusterAutoscaler', 'priorities'], message: 'required with expander priority: priority → node group name patterns' });
  }
  if (ca.expander !== 'priority' && ca.priorities !== undefined) {
    out.push({ path: ['addons', 'clusterAutoscaler', 'priorities'], message: 'applies only with expander priority' });
  }
  if (c.addons.awsLoadBalancerController.enabled) {
    needs('awsLoadBalancerController', [
      [['clusterName'], aws?.clusterName, 'the EKS cluster the controller tags its load balancers with (cloud output cluster.name)'],
      [['vpcId'], aws?.vpcId, 'the VPC of the cluster (cloud output cluster.vpcId)'],
      [['roles', 'loadBalancerController'], aws?.roles.loadBalancerController,
        'the IRSA role of kube-system/aws-load-balancer-controller (cloud output roles.loadBalancerController)'],
    ]);
  }
  return out;
}
