import { StackDefinition } from '../lib/config/load';

/**
 * The values of the `aws` stack. They leave out what only an environment knows — the bucket, the RDS host, the
 * region, the OIDC provider and role ARNs — so they are typed as a partial configuration: `resolveConfig` checks the
 * merged document (stack ← overlay ← cloud stack outputs), and a missing value fails there with its field path.
 */
const defaults: StackDefinition['defaults'] = {
  // RDS MySQL (the cloud stack's MetadataDatabase). TLS `required`: RDS forces TLS, and no stricter mode works for
  // every consumer — the KFP API server and cache server verify only against the system roots (which do not hold
  // the RDS CA) and ML Metadata verifies only with a CA file (lib/core/database-consumers.ts). The Secret is made
  // from the RDS master secret (cloud output `database.secretArn`) by External Secrets.
  database: {
    type: 'external',
    engine: 'mysql',
    credentialsSecret: { name: 'metadata-db-credentials' },
    tls: { mode: 'required' },
  },
  // RDS backs itself up (automated backups and snapshots; the cloud stack sets their retention per environment).
  backup: { enabled: false },
  // The artifact bucket (the cloud stack's ArtifactBucket), reached with the pipelines role through IRSA: no keys.
  objectStore: {
    type: 'external',
    provider: 's3',
    credentials: { type: 'irsa' },
  },
  // Waves may wait for nodes: the cluster autoscaler adds them (GPU pools scale from zero) and they pull every image
  // from public registries on first use.
  apply: { timeoutSeconds: 900 },
  // The cluster add-ons, in kube-system with the cloud stack's IRSA roles (cloud.aws.roles.clusterAutoscaler and
  // .loadBalancerController): the cluster-autoscaler grows and shrinks the node groups, GPU pools from zero; the AWS Load
  // Balancer Controller puts an NLB in front of Services of type LoadBalancer (the Kubeflow gateway's).
  addons: {
    clusterAutoscaler: { enabled: true },
    awsLoadBalancerController: { enabled: true },
  },
};

/**
 * `aws`: Kubeflow Pipelines on Amazon EKS with a managed data layer — artifacts in S3 through IRSA (the pipelines
 * role, `cloud.aws.roles.pipelines`), metadata in RDS MySQL with TLS `required`, no in-cluster database and so no
 * kfkit backups (RDS takes them). GPU pools are the EKS node groups the cloud stack reports (`gpu.pools`, each
 * selected by the `kfkit.dev/gpu-pool` label and tainted `nvidia.com/gpu`, with `devicePlugin` bundled on
 * Bottlerocket and managed on AL2023). The cluster-autoscaler and the AWS Load Balancer Controller run in kube-system
 * (`addons`). The environment's overlay (`overlays/aws-<env>.yaml`) gives the bucket, RDS host, region, cluster name,
 * VPC, OIDC provider and role ARNs; deployed with Pulumi (`kfkit:cloudStack`), the cloud stack's outputs (pulumi/aws)
 * replace them. Synthesizes with no cluster and no AWS credentials.
 */
export const aws: StackDefinition = {
  name: 'aws',
  description: 'Amazon EKS: KFP with artifacts in S3 (IRSA) and metadata in RDS MySQL (TLS required), GPU node groups from the cloud stack',
  defaults,
};
