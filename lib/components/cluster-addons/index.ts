/**
 * EKS cluster add-ons in kube-system, from their official charts: the cluster-autoscaler ({@link ClusterAutoscaler})
 * and the AWS Load Balancer Controller ({@link AwsLoadBalancerController}, with {@link nlbServiceAnnotations} for the
 * Services it fronts with an NLB), in the `cluster-addons` wave ({@link clusterAddonsWave}).
 */
export {
  autoDiscoveryTags, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT, ClusterAutoscaler, type ClusterAutoscalerExpander, type ClusterAutoscalerProps,
  type ClusterAutoscalerScaleDown,
} from './cluster-autoscaler';
export {
  AwsLoadBalancerController, type AwsLoadBalancerControllerProps, LOAD_BALANCER_CONTROLLER_APIS, LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
  LOAD_BALANCER_CONTROLLER_WEBHOOKS, nlbServiceAnnotations, type NlbServiceOptions, type WebhookCertificates,
} from './load-balancer-controller';
export { ADDONS_NAMESPACE, type AwsAddonProps, CLUSTER_ADDONS_WAVE, clusterAddonsWave } from './shared';
