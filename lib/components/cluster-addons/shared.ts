import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { ImageKey } from '../../core/images';
import { Wave } from '../../core/waves';
import { budgetProblems, ResourceBudget } from '../../core/security';

/** Namespace of the cluster add-ons: the cluster's own, which kfkit neither creates nor isolates. */
export const ADDONS_NAMESPACE = 'kube-system';
/** Name of the install wave of the cluster add-ons. */
export const CLUSTER_ADDONS_WAVE = 'cluster-addons';
/** The ServiceAccount annotation the EKS pod identity webhook reads (IRSA). */
export { IRSA_ROLE_ANNOTATION } from '../../core/artifact-store';

/** Compute budget of an add-on's container. */
/** The AWS facts both add-ons need: the cluster, its region and the add-on's IRSA role. */
export interface AwsAddonProps {
  /** Name of the EKS cluster (cloud output `cluster.name`; kfkit's `cloud.aws.clusterName`). */
  readonly clusterName: string;
  /** Region of the cluster (kfkit's `cloud.aws.region`). */
  readonly region: string;
  /** ARN of the add-on's IRSA role, put on its ServiceAccount (`eks.amazonaws.com/role-arn`). */
  readonly roleArn: string;
}

const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

/** Throws, naming every problem and its fix, when the AWS facts or the budget of an add-on are malformed. */
export function checkAddonProps(path: string, props: AwsAddonProps, budget: ResourceBudget, more: readonly string[] = []): void {
  const problems: string[] = [...more];
  if (!CLUSTER_NAME.test(props.clusterName)) problems.push(`clusterName "${props.clusterName}" must be an EKS cluster name (cloud output cluster.name)`);
  if (!REGION.test(props.region)) problems.push(`region "${props.region}" must be an AWS region such as eu-west-1`);
  if (!ROLE_ARN.test(props.roleArn)) problems.push(`roleArn "${props.roleArn}" must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
  problems.push(...budgetProblems('resources', budget));
  if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`);
}


/** `repository` and `tag` of a catalog image (registry mirror applied), recorded for `kfkit list-images`. */
export function imageValues(scope: Construct, key: ImageKey): { repository: string; tag: string } {
  return KfkitContext.of(scope).chartImage(key);
}

/**
 * Declares what the add-ons rely on in kube-system without creating it: the namespace, and the image pull Secrets
 * of the catalog (the admins create them there, as in every namespace kfkit creates).
 */
export function declareKubeSystem(scope: Construct): void {
  const ctx = KfkitContext.of(scope);
  ctx.addExternalObject({ apiVersion: 'v1', kind: 'Namespace', name: ADDONS_NAMESPACE, reason: 'the cluster\'s system namespace, where the cluster add-ons run' });
  for (const secret of ctx.images.pullSecrets) {
    ctx.addExternalObject({
      apiVersion: 'v1', kind: 'Secret', name: secret, namespace: ADDONS_NAMESPACE,
      reason: `image pull Secret (images.pullSecrets) of the cluster add-ons; create it in ${ADDONS_NAMESPACE}`,
    });
  }
}

/**
 * The install wave of the cluster add-ons: after the namespaces (and after `after`, e.g. the managed cert-manager's
 * wave when a chart's webhook certificates come from cert-manager), before cluster RBAC and configuration — so their
 * controllers, CRDs and webhooks serve before the `controllers` wave, where Services of type LoadBalancer (the
 * Kubeflow gateway's) are created. The first caller creates it; a later caller whose `after` waves are not ordered
 * before it gets an error that says to create those first.
 */
export function clusterAddonsWave(scope: Construct, after: readonly Wave[] = []): Wave {
  const plan = KfkitContext.of(scope).plan;
  const existing = plan.find(CLUSTER_ADDONS_WAVE);
  if (existing === undefined) {
    return plan.addWave(CLUSTER_ADDONS_WAVE, {
      description: 'Cluster add-ons in kube-system (cluster-autoscaler, AWS Load Balancer Controller): ready before cluster configuration, '
        + 'workloads and Services of type LoadBalancer.',
      after: [plan.namespaces, ...after],
      before: [plan.cluster],
    });
  }
  const order = plan.order();
  for (const wave of after) {
    if (order.indexOf(wave) > order.indexOf(existing)) {
      throw new Error(`${scope.node.path}: the ${CLUSTER_ADDONS_WAVE} wave must come after the ${wave.name} wave; create what installs in `
        + `${wave.name} before the first cluster add-on`);
    }
  }
  return existing;
}
