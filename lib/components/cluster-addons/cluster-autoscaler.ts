import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { HelmRelease } from '../../core/helm';
import { regexProblem } from '../../core/patterns';
import { Wave } from '../../core/waves';
import {
  ADDONS_NAMESPACE, AwsAddonProps, checkAddonProps, clusterAddonsWave, declareKubeSystem, imageValues, IRSA_ROLE_ANNOTATION,
} from './shared';
import { chartResources, ResourceBudget } from '../../core/security';

/** The ServiceAccount of the cluster-autoscaler: what its IRSA role trusts (pulumi/aws `CLUSTER_AUTOSCALER_SERVICE_ACCOUNT`). */
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = { namespace: ADDONS_NAMESPACE, name: 'cluster-autoscaler' } as const;

/** How the cluster-autoscaler picks the node group to grow. */
export type ClusterAutoscalerExpander = 'least-waste' | 'priority';

/** Scale-down settings of the cluster-autoscaler. */
export interface ClusterAutoscalerScaleDown {
  /** Remove nodes that stay unneeded. @default true */
  readonly enabled?: boolean;
  /** How long a node must be unneeded before it is removed (`10m`). @default '10m' */
  readonly unneededTime?: string;
  /** How long after a scale-up scale-down resumes. @default '10m' */
  readonly delayAfterAdd?: string;
  /** A node whose pods request less than this share of its capacity may be removed (0-1). @default 0.5 */
  readonly utilizationThreshold?: number;
}

/** Props of {@link ClusterAutoscaler}. */
export interface ClusterAutoscalerProps extends AwsAddonProps {
  /**
   * How it picks the node group to grow: `least-waste` (least idle CPU and memory once the pending pods fit) or
   * `priority` (the highest of {@link priorities}; least-waste among equals).
   * @default 'least-waste'
   */
  readonly expander?: ClusterAutoscalerExpander;
  /**
   * With the `priority` expander: priority (higher wins) → regular expressions of Auto Scaling group names.
   * @default - none (required with expander priority)
   */
  readonly priorities?: Readonly<Record<number, readonly string[]>>;
  /** Scale-down settings. @default - enabled, 10m unneeded, 10m after a scale-up, 0.5 utilization */
  readonly scaleDown?: ClusterAutoscalerScaleDown;
  /** Compute budget. @default - 100m CPU, 600Mi memory request and limit (the upstream AWS example) */
  readonly resources?: ResourceBudget;
  /** Install wave. @default - the `cluster-addons` wave (after the namespaces, before cluster configuration) */
  readonly wave?: Wave;
}

const RELEASE = 'cluster-autoscaler';
const DEFAULT_BUDGET: ResourceBudget = { cpu: { request: '100m' }, memory: { request: '600Mi', limit: '600Mi' } };
const DURATION = /^\d+(s|m|h)$/;

/** The tags the autoscaler discovers a cluster's Auto Scaling groups by (EKS sets both on managed node groups). */
export function autoDiscoveryTags(clusterName: string): string[] {
  return ['k8s.io/cluster-autoscaler/enabled', `k8s.io/cluster-autoscaler/${clusterName}`];
}

/**
 * The Kubernetes cluster-autoscaler on EKS, from its official chart (pinned in the chart catalog) into kube-system:
 * it discovers the cluster's Auto Scaling groups by their `k8s.io/cluster-autoscaler/enabled` and
 * `k8s.io/cluster-autoscaler/<cluster>` tags (EKS puts both on managed node groups) and grows or shrinks them as
 * pods wait or nodes idle — GPU pools from zero, templated from their `k8s.io/cluster-autoscaler/node-template/...`
 * tags. It authenticates with its IRSA role (ServiceAccount kube-system/cluster-autoscaler); the role may only scale
 * groups tagged `k8s.io/cluster-autoscaler/<cluster>: owned`.
 *
 * Flags: `--balance-similar-node-groups` (spread over equivalent groups in several zones), the expander,
 * `--skip-nodes-with-local-storage=false` (pods with emptyDir — most of Kubeflow's — do not pin a node forever) and
 * the scale-down settings. The pod runs as non-root with a read-only root file system, no capabilities and the
 * RuntimeDefault seccomp profile (the upstream AWS example's security context), is marked not safe to evict (it
 * would remove its own node), and has requests and a memory limit.
 */
export class ClusterAutoscaler extends Construct {
  /** The chart release. */
  public readonly release: HelmRelease;
  /** Name of the EKS cluster. */
  public readonly clusterName: string;
  /** The expander. */
  public readonly expander: ClusterAutoscalerExpander;

  public constructor(scope: Construct, id: string, props: ClusterAutoscalerProps) {
    super(scope, id);
    const budget = props.resources ?? DEFAULT_BUDGET;
    this.expander = props.expander ?? 'least-waste';
    this.clusterName = props.clusterName;
    const scaleDown = props.scaleDown ?? {};
    const problems: string[] = [];
    const expander: unknown = this.expander;
    if (expander !== 'least-waste' && expander !== 'priority') problems.push(`expander ${JSON.stringify(expander)} must be least-waste or priority`);
    if (this.expander === 'priority' && (props.priorities === undefined || Object.keys(props.priorities).length === 0)) {
      problems.push('priorities are required with expander priority: priority → Auto Scaling group name patterns');
    }
    if (this.expander !== 'priority' && props.priorities !== undefined) problems.push('priorities apply only with expander priority');
    for (const [priority, patterns] of Object.entries(props.priorities ?? {})) {
      if (!/^\d{1,9}$/.test(priority)) problems.push(`priority "${priority}" must be a whole number`);
      if (patterns.length === 0) problems.push(`priority ${priority} must list at least one pattern`);
      for (const p of patterns) {
        const problem = regexProblem(p);
        if (problem !== undefined) problems.push(`priority ${priority}: ${problem}`);
      }
    }
    for (const key of ['unneededTime', 'delayAfterAdd'] as const) {
      const v = scaleDown[key];
      if (v !== undefined && !DURATION.test(v)) problems.push(`scaleDown.${key} "${v}" must be a duration such as 10m`);
    }
    const threshold = scaleDown.utilizationThreshold ?? 0.5;
    if (!(threshold >= 0 && threshold <= 1)) problems.push(`scaleDown.utilizationThreshold ${threshold} must be between 0 and 1`);
    checkAddonProps(this.node.path, props, budget, problems);

    const ctx = KfkitContext.of(this);
    declareKubeSystem(this);
    const pullSecrets = ctx.images.pullSecrets;
    this.release = new HelmRelease(this, 'Release', {
      chart: 'cluster-autoscaler',
      releaseName: RELEASE,
      namespace: ADDONS_NAMESPACE,
      values: {
        cloudProvider: 'aws',
        awsRegion: props.region,
        autoDiscovery: { clusterName: props.clusterName, tags: autoDiscoveryTags(props.clusterName) },
        fullnameOverride: RELEASE,
        image: { ...imageValues(this, 'cluster-autoscaler'), ...(pullSecrets.length > 0 ? { pullSecrets: [...pullSecrets] } : {}) },
        rbac: {
          create: true,
          serviceAccount: { create: true, name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT.name, annotations: { [IRSA_ROLE_ANNOTATION]: props.roleArn } },
        },
        extraArgs: {
          'balance-similar-node-groups': true,
          'expander': this.expander === 'priority' ? 'priority,least-waste' : 'least-waste',
          'skip-nodes-with-local-storage': false,
          'scale-down-enabled': scaleDown.enabled ?? true,
          'scale-down-unneeded-time': scaleDown.unneededTime ?? '10m',
          'scale-down-delay-after-add': scaleDown.delayAfterAdd ?? '10m',
          'scale-down-utilization-threshold': threshold,
        },
        ...(this.expander === 'priority'
          ? { expanderPriorities: Object.fromEntries(Object.entries(props.priorities ?? {}).map(([k, v]) => [k, [...v]])) } : {}),
        podAnnotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
        resources: chartResources(budget),
        securityContext: { runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
        containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
      },
    });
    ctx.plan.assign(this.release, props.wave ?? clusterAddonsWave(this));
  }
}
