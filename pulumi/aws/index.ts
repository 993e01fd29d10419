/**
 * kfkit's AWS cloud layer as Pulumi components (type tokens `kfkit:aws:<Name>`): the EKS cluster, artifact bucket,
 * IRSA roles (the pipelines', tenants' and cluster add-ons'), RDS metadata database and GPU node groups, composed by
 * {@link AwsCloudStack}.
 */
export * from './addon-policies';
export * from './addon-roles';
export * from './artifact-bucket';
export * from './cluster';
export * from './gpu-node-group';
export * from './irsa-role';
export * from './metadata-database';
export * from './policy';
export * from './stack';
export { type PropertyProblem, Problems, throwIfInvalid } from './validation';
