import * as pulumi from '@pulumi/pulumi';
import { ArtifactBucketArgs } from './artifact-bucket';
import { KfkitClusterArgs } from './cluster';
import { DatabaseSettings } from './metadata-database';
import { AwsCloudStack, CloudGpuPool, CloudOutputs } from './stack';

/**
 * The cloud stack's program (pulumi/aws/Pulumi.yaml runs it through main.ts): reads the stack configuration
 * (namespace `kfkit`) into {@link AwsCloudStack} args and returns the stack output `cloud`.
 *
 * | key | meaning |
 * |---|---|
 * | `kfkit:env` | `dev` or `prod` (required): the prod-only settings (RDS Multi-AZ, deletion protection, 30-day backups) |
 * | `kfkit:namespace` | platform namespace the roles trust (default `kubeflow`); must equal the platform overlay's |
 * | `kfkit:cluster` | `{ existing: { name } }` or `{ create: { subnetIds, ... } }` (required) |
 * | `kfkit:bucket` | {@link ArtifactBucketArgs} (optional) |
 * | `kfkit:database` | {@link DatabaseSettings} — `engine`, `subnetIds`, ... (optional: without it, no RDS) |
 * | `kfkit:gpuPools` | list of {@link CloudGpuPool} (optional) |
 * | `kfkit:profiles` | tenant namespaces that get a prefix-scoped role (optional) |
 * | `kfkit:tags` | tags of every AWS resource (optional) |
 * | `aws:region` | the region (AWS provider configuration) |
 *
 * Every value is checked by the components before anything is created; all problems are reported together.
 */
export function cloudProgram(stack: string, config: pulumi.Config): { cloud: pulumi.Output<CloudOutputs> } {
  const env = config.require('env');
  const cloud = new AwsCloudStack(`kfkit-${env}`, {
    env: env as 'dev' | 'prod',
    namespace: config.get('namespace'),
    cluster: config.requireObject<KfkitClusterArgs>('cluster'),
    bucket: config.getObject<ArtifactBucketArgs>('bucket'),
    database: config.getObject<DatabaseSettings>('database'),
    gpuPools: config.getObject<CloudGpuPool[]>('gpuPools'),
    profiles: config.getObject<string[]>('profiles'),
    tags: { 'kfkit.dev/pulumi-stack': stack, ...config.getObject<Record<string, string>>('tags') },
  });
  return { cloud: cloud.outputs };
}
