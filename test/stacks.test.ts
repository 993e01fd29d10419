import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { listOverlays, loadOverlay, resolveConfig } from '../lib/config/load';
import { checkPlatform, synthesize } from '../lib/synth/index';
import { bundlesDevicePlugin, GpuAmiType } from '../pulumi/aws/gpu-node-group';
import { STACKS } from '../stacks';
import { cli, configIssuePaths, ROOT, tmpdir } from './helpers';

const OVERLAYS = path.join(ROOT, 'overlays');
const ENVS = listOverlays(OVERLAYS);

/** The `config:` of a Pulumi stack file. */
function stackFileConfig(file: string): Record<string, unknown> {
  return (YAML.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as { config: Record<string, unknown> }).config;
}

describe('every committed overlay stands on its own', () => {
  test('the overlays include every stack', () => {
    const stacks = new Set(ENVS.map((env) => loadOverlay(OVERLAYS, env, STACKS).stack));
    expect([...stacks].sort()).toEqual(STACKS.map((s) => s.name).sort());
  });

  test.each(ENVS)('%s resolves, synthesizes and passes the validation harness', (env) => {
    const config = loadOverlay(OVERLAYS, env, STACKS);
    const synthesized = synthesize(config);
    expect(synthesized.objects.length).toBeGreaterThan(0);
    expect(checkPlatform(synthesized, config)).toEqual([]);
  });

  test('`kfkit synth --all` writes every overlay and `kfkit validate` accepts each tree', () => {
    const dir = tmpdir();
    expect(cli(['synth', '--all', '--overlays', OVERLAYS, '--out', 'dist'], dir).code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'dist')).sort()).toEqual(ENVS);
    for (const env of ENVS) expect(cli(['validate', path.join('dist', env)], dir)).toMatchObject({ code: 0 });
  });
});

describe('the aws stack', () => {
  const dev = loadOverlay(OVERLAYS, 'aws-dev', STACKS);

  test('S3 through IRSA, RDS MySQL with TLS required, no in-cluster data layer and no kfkit backups', () => {
    expect(dev.objectStore).toMatchObject({ type: 'external', provider: 's3', credentials: { type: 'irsa' } });
    expect(dev.database).toMatchObject({
      type: 'external', engine: 'mysql', tls: { mode: 'required' }, credentialsSecret: { name: 'metadata-db-credentials' },
    });
    expect(dev.backup.enabled).toBe(false);
    expect(dev.apply.timeoutSeconds).toBe(900);
    const objects = synthesize(dev).objects.map((o) => o.manifest);
    const dataLayer = objects.filter((o) => ['StatefulSet', 'PersistentVolumeClaim', 'CronJob'].includes(o.kind));
    expect(dataLayer.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'ml-pipeline');
    expect(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::123456789012:role/kfkit-dev-pipelines');
  });

  test('the stack leaves the AWS resources to the overlay (or the cloud stack): without them, every missing one is named', () => {
    expect(configIssuePaths(() => resolveConfig({ stack: 'aws' }, STACKS))).toEqual(['database.host', 'objectStore.bucket']);
    const withResources = {
      stack: 'aws', database: { type: 'external', cidrs: ['198.51.100.0/24'], host: 'db.example.internal' }, objectStore: { type: 'external', bucket: 'kf-artifacts' },
    };
    expect(configIssuePaths(() => resolveConfig(withResources, STACKS))).toEqual(['cloud.aws', 'cluster.apiServer.cidrs', 'objectStore.cidrs', 'objectStore.region']);
  });

  test('verify-full is refused against RDS: the KFP servers cannot use a CA file, ML Metadata needs one', () => {
    const doc = YAML.parse(fs.readFileSync(path.join(OVERLAYS, 'aws-dev.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
    const verifyFull = (caSecret?: object) => ({ ...doc, database: { ...doc.database, tls: { mode: 'verify-full', ...(caSecret ? { caSecret } : {}) } } });
    expect(() => resolveConfig(verifyFull(), STACKS)).toThrow(/database\.tls\.caSecret: metadata-grpc-deployment .* only against a CA file/);
    expect(() => resolveConfig(verifyFull({ name: 'rds-ca', key: 'ca.pem' }), STACKS))
      .toThrow(/database\.tls\.caSecret: ml-pipeline .* cannot load a custom CA/);
  });

  test.each(['dev', 'prod'])('aws-%s: the overlay, the platform stack file and the cloud stack file agree', (env) => {
    const platform = stackFileConfig(`Pulumi.aws-${env}.yaml`);
    const cloud = stackFileConfig(`pulumi/aws/Pulumi.aws-${env}.yaml`);
    expect(platform['kfkit:env']).toBe(`aws-${env}`);
    expect(platform['kfkit:cloudStack']).toBe(`organization/kfkit-aws/aws-${env}`);
    const config = loadOverlay(OVERLAYS, `aws-${env}`, STACKS);
    expect(config.stack).toBe('aws');
    expect(cloud['kfkit:env']).toBe(env);
    expect(config.namespace).toBe(cloud['kfkit:namespace']);
    expect(config.cloud.aws?.region).toBe(cloud['aws:region']);
    expect(config.objectStore.type === 'external' && config.objectStore.region).toBe(cloud['aws:region']);
    // The example pools are the cloud stack's node groups, with the device plugin their AMI needs.
    const pools = cloud['kfkit:gpuPools'] as { name: string; amiType?: GpuAmiType }[];
    expect(config.gpu.pools.map((p) => [p.name, p.devicePlugin])).toEqual(
      pools.map((p) => [p.name, bundlesDevicePlugin(p.amiType ?? 'AL2023_x86_64_NVIDIA') ? 'bundled' : 'managed']));
    expect(config.database.type === 'external' && config.database.engine).toBe((cloud['kfkit:database'] as { engine: string }).engine);
  });
});

describe('Pulumi stack files', () => {
  test('every overlay has a platform stack example naming it', () => {
    for (const env of listOverlays(path.join(ROOT, 'overlays'))) {
      const file = path.join(ROOT, `Pulumi.${env}.yaml`);
      expect([env, fs.existsSync(file)]).toEqual([env, true]);
      expect(fs.readFileSync(file, 'utf8')).toMatch(new RegExp(`^\\s+kfkit:env: ${env}$`, 'm'));
    }
  });
});
