import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import type { CloudOutputs } from '../pulumi/aws';
import { synthesize } from '../lib/synth/index';
import { K8sObject } from '../lib/validate/types';
import { localConfig, ROOT, withOverlays } from './helpers';

// Everything runs against Pulumi's unit-test mocks (no CLI, no cluster, no cloud). The program tests run once as
// `pulumi up` and once as `pulumi preview`.

/** A resource the program registered, as the mock monitor saw it. */
interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  /** Reference (`<urn>::<id>`) of the provider it was registered with; empty for the default provider. */
  readonly provider: string;
}

let registered: Registered[] = [];
/** The referenced cloud stack's output `cloud`: `undefined` = no such output, `pulumi.unknown` = not known yet. */
let cloudStackOutput: unknown;

function mocks(): pulumi.runtime.Mocks {
  return {
    newResource: (args) => {
      const inputs = args.inputs as Record<string, unknown>;
      registered.push({ type: args.type, name: args.name, inputs, provider: args.provider ?? '' });
      if (args.type === 'pulumi:pulumi:StackReference') {
        const outputs = cloudStackOutput === undefined ? {} : { cloud: cloudStackOutput };
        return { id: String(inputs.name), state: { name: inputs.name, outputs, secretOutputNames: [] } };
      }
      return { id: `${args.name}-id`, state: inputs };
    },
    call: (args) => args.inputs as Record<string, unknown>,
  };
}

/** Waits until every registration the program started has reached the mock monitor. */
async function settle(): Promise<void> {
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

function resourcesOf(type: string): Registered[] {
  return registered.filter((r) => r.type === type);
}

/** Every Kubernetes object handed to a ConfigGroup. */
function deployedObjects(): K8sObject[] {
  return resourcesOf('kubernetes:yaml/v2:ConfigGroup').flatMap((g) => g.inputs.objs as K8sObject[]);
}

const ACCOUNT = '210987654321';
const REGION = 'us-west-2';
const ISSUER = `oidc.eks.${REGION}.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/kfkit-dev-pipelines-7f3e2a1`;
const VPC_ID = 'vpc-0123456789abcdef0';
const ADDON_ROLES = {
  clusterAutoscaler: `arn:aws:iam::${ACCOUNT}:role/kfkit-dev-cluster-autoscaler-5e4d3c2`,
  loadBalancerController: `arn:aws:iam::${ACCOUNT}:role/kfkit-dev-lb-controller-1b2c3d4`,
};
const BUCKET = 'kfkit-dev-artifacts-9d8c7b6';
const DB_HOST = 'kfkit-dev-db-1a2b3c4.abcdefghijkl.us-west-2.rds.amazonaws.com';
const CLOUD_STACK = 'organization/kfkit-aws/aws-dev';
const KUBECONFIG = JSON.stringify({ apiVersion: 'v1', kind: 'Config', 'current-context': 'kfkit-kfkit-dev' });

/** The output `cloud` of a deployed cloud stack, with values that differ from every example in overlays/aws-dev.yaml. */
function cloudOutputs(over: Partial<CloudOutputs> = {}): CloudOutputs {
  return {
    env: 'dev',
    region: REGION,
    namespace: 'kubeflow',
    cluster: {
      name: 'kfkit-dev', endpoint: 'https://0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com', oidcIssuerUrl: `https://${ISSUER}`,
      oidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`, nodeSecurityGroupId: 'sg-0123456789abcdef0', vpcId: VPC_ID, vpcCidr: '10.42.0.0/16', kubeconfig: KUBECONFIG,
    },
    bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}`, region: REGION },
    roles: { pipelines: ROLE, profiles: {}, ...ADDON_ROLES },
    database: {
      engine: 'mysql', host: DB_HOST, port: 3306, tlsMode: 'required', secretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:rds!db-5678`,
    },
    gpuPools: [{ name: 'l4', nodeGroupName: 'kfkit-dev-gpu-l4-ng', amiType: 'AL2023_x86_64_NVIDIA', devicePlugin: 'managed', gpusPerNode: 1 }],
    ...over,
  };
}

let program: typeof import('../pulumi/program');

describe('Pulumi deployment of the waves', () => {
  beforeAll(async () => {
    await pulumi.runtime.setMocks(mocks(), 'kfkit', 'local', false);
    // Imported after setMocks, as Pulumi's unit-testing guide requires.
    program = await import('../pulumi/program');
  });

  test('one ConfigGroup per wave, each depending on the previous, carrying exactly the synthesized objects', () => {
    const s = synthesize(localConfig());
    const deployed = program.deployWaves(s);
    expect(deployed.map((d) => d.wave.dir)).toEqual(s.waves.map((w) => w.dir));
    expect(deployed[0]?.dependsOn).toEqual([]);
    for (let i = 1; i < deployed.length; i++) expect(deployed[i]?.dependsOn).toEqual(deployed[i - 1]?.groups);
    expect(deployed.flatMap((d) => d.objects).length).toBe(s.objects.length);
  });

  test('condition waits on custom resources become pulumi.com/waitFor; built-in kinds are left to Pulumi', () => {
    const s = synthesize(localConfig());
    const cert = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c', namespace: 'kubeflow' } };
    const wave = { index: 9, name: 'certs', dir: '09-certs', description: '', waits: [
      { kind: 'Certificate', namespace: 'kubeflow', name: 'c', readiness: { type: 'condition' as const, condition: 'Ready' } },
    ] };
    const objs = program.waveObjects({ ...s, objects: [{ manifest: cert, wave: 9, waveName: 'certs' }], waves: [wave] }, wave);
    expect(objs[0]?.metadata.annotations?.[program.PULUMI_WAIT_FOR]).toBe('condition=Ready');
    const credentials = s.waves.find((w) => w.name === 'credentials')!;
    for (const o of program.waveObjects(s, credentials)) expect(o.metadata.annotations?.[program.PULUMI_WAIT_FOR]).toBeUndefined();
  });

  test('data-holding objects get their own protected group in their wave', () => {
    const s = synthesize(localConfig());
    const deployed = program.deployWaves(s);
    const protectedNames = deployed.flatMap((d) => d.objects.filter(program.isProtected).map((o) => `${o.kind}/${o.metadata.name}`));
    expect(protectedNames).toEqual(expect.arrayContaining(['Namespace/kubeflow', 'PersistentVolumeClaim/mysql-pv-claim']));
    const namespaces = deployed.find((d) => d.wave.name === 'namespaces')!;
    // Only the platform namespace is in that wave, and it holds data: one group, the protected one.
    expect(namespaces.groups).toHaveLength(1);
    expect((namespaces.groups[0] as unknown as { __protect: boolean }).__protect).toBe(true);
    const controllers = deployed.find((d) => d.wave.name === 'controllers')!;
    // (__protect is how the Pulumi SDK records the option; children inherit it.)
    expect(controllers.groups.map((g) => (g as unknown as { __protect?: boolean }).__protect === true)).toEqual([false, true]);
  });
});

describe.each([false, true])('Pulumi program (preview: %s)', (preview) => {
  beforeAll(async () => {
    await pulumi.runtime.setMocks(mocks(), 'kfkit', 'aws-dev', preview);
    program = await import('../pulumi/program');
  });

  beforeEach(() => {
    registered = [];
    cloudStackOutput = undefined;
  });

  afterEach(() => { pulumi.runtime.setAllConfig({}); });

  /** The platform stack's config (namespace kfkit), as `pulumi config set` would hold it. */
  function stackConfig(values: Readonly<Record<string, string>>): pulumi.Config {
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(values).map(([k, v]) => [`kfkit:${k}`, v])));
    return new pulumi.Config('kfkit');
  }

  test('without kfkit:cloudStack: the overlay named by the stack, validated first, deployed with the default provider', async () => {
    const dir = withOverlays({ broken: 'stack: local\nnamespace: Bad\n' });
    await expect(program.program('broken', stackConfig({}), path.join(dir, 'overlays'))).rejects.toThrow(/namespace: .*DNS label/);
    await expect(program.program('staging', stackConfig({}))).rejects.toThrow(/kfkit:env: no overlay "staging" .*available: aws-dev, aws-prod, full, local, local-auth, onprem/);
    await settle();
    expect(registered).toEqual([]);

    expect((await program.program('local', stackConfig({}), path.join(ROOT, 'overlays'))).waves).toEqual([
      '00-crds', '01-namespaces', '02-isolation', '03-cluster', '04-credentials', '05-databases', '06-database-users', '07-certificates', '08-controllers', '09-storage-init',
    ]);
    // kfkit:env names another overlay than the stack's name.
    expect((await program.program('dev', stackConfig({ env: 'onprem' }))).waves).toContain('04-gpu');
    await settle();
    expect(resourcesOf('pulumi:pulumi:StackReference')).toEqual([]);
    expect(resourcesOf('pulumi:providers:kubernetes')).toEqual([]);
    const groups = resourcesOf('kubernetes:yaml/v2:ConfigGroup');
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) expect(g.provider).toBe('');
  });

  test('with kfkit:cloudStack: the cloud stack\'s outputs replace the overlay\'s example values before it is resolved', async () => {
    cloudStackOutput = cloudOutputs();
    const inputs = await program.platformInputs('aws-dev', stackConfig({ env: 'aws-dev', cloudStack: CLOUD_STACK }));
    expect(resourcesOf('pulumi:pulumi:StackReference').map((r) => r.inputs.name)).toEqual([CLOUD_STACK]);
    expect(inputs.cloud?.stack).toBe(CLOUD_STACK);
    const c = inputs.config;
    expect(c.objectStore).toMatchObject({ type: 'external', provider: 's3', bucket: BUCKET, region: REGION, credentials: { type: 'irsa' } });
    expect(c.cloud.aws).toEqual({
      region: REGION, clusterName: 'kfkit-dev', vpcId: VPC_ID, oidcProviderArn: `arn:aws:iam::${ACCOUNT}:oidc-provider/${ISSUER}`,
      roles: { pipelines: ROLE, profiles: {}, ...ADDON_ROLES },
    });
    expect(c.database).toMatchObject({
      type: 'external', engine: 'mysql', cidrs: ['10.42.0.0/16'], host: DB_HOST, port: 3306, tls: { mode: 'required' },
      credentialsSecret: { name: 'metadata-db-credentials', usernameKey: 'username', passwordKey: 'password' },
    });
    // The node groups the cloud stack reports, not the overlay's example pool (a10g).
    expect(c.gpu.pools).toEqual([{ name: 'l4', devicePlugin: 'managed', taint: true }]);
    expect(c.backup.enabled).toBe(false);
  });

  test('the deployed platform uses the cloud values, through a provider for the cloud stack\'s cluster', async () => {
    cloudStackOutput = cloudOutputs();
    const out = await program.program('aws-dev', stackConfig({ env: 'aws-dev', cloudStack: CLOUD_STACK }));
    await settle();
    expect(out.waves).toEqual([
      '00-crds', '01-chart-sources', '02-namespaces', '03-isolation', '04-cluster-addons', '05-cluster', '06-gpu', '07-credentials', '08-certificates',
      '09-controllers',
    ]);

    const objects = deployedObjects();
    const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'ml-pipeline');
    expect(sa?.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe(ROLE);
    const text = JSON.stringify(objects);
    for (const value of [BUCKET, DB_HOST, REGION]) expect(text).toContain(value);
    // None of overlays/aws-dev.yaml's example values reaches the cluster.
    for (const example of ['kfkit-dev-artifacts-3f9a1c2', 'kfkit-dev-db-8e2b4d1', '123456789012', 'eu-west-1']) expect(text).not.toContain(example);
    const plugin = objects.find((o) => o.kind === 'DaemonSet' && o.metadata.name === 'nvidia-device-plugin-daemonset');
    // kfkit's device plugin on the cloud stack's AL2023 pool (devicePlugin managed), selected by the node group's label.
    expect(JSON.stringify(plugin?.spec)).toContain('{"key":"kfkit.dev/gpu-pool","operator":"In","values":["l4"]}');

    const providers = resourcesOf('pulumi:providers:kubernetes');
    expect(providers.map((p) => [p.name, p.inputs.kubeconfig])).toEqual([['kfkit-eks', KUBECONFIG]]);
    const groups = resourcesOf('kubernetes:yaml/v2:ConfigGroup');
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) expect(g.provider).toMatch(/::pulumi:providers:kubernetes::kfkit-eks::/);
  });

  test('a bare `stack: aws` overlay is completed by the cloud stack; the Secret name stays the overlay\'s', async () => {
    const dir = withOverlays({ minimal: 'stack: aws\ndatabase:\n  type: external\n  credentialsSecret:\n    name: rds-master\n' });
    cloudStackOutput = cloudOutputs();
    const inputs = await program.platformInputs('minimal', stackConfig({ cloudStack: CLOUD_STACK }), path.join(dir, 'overlays'));
    expect(inputs.env).toBe('minimal');
    expect(inputs.config.database).toMatchObject({ host: DB_HOST, credentialsSecret: { name: 'rds-master' } });
  });

  test('cloud values the platform cannot use fail validation before anything is deployed', async () => {
    cloudStackOutput = cloudOutputs({ database: { ...cloudOutputs().database!, tlsMode: 'verify-full' } });
    await expect(program.program('aws-dev', stackConfig({ env: 'aws-dev', cloudStack: CLOUD_STACK })))
      .rejects.toThrow(/aws-dev\.yaml with the outputs of organization\/kfkit-aws\/aws-dev: invalid configuration[\s\S]*database\.tls/);
    await settle();
    expect(registered.map((r) => r.type)).toEqual(['pulumi:pulumi:StackReference']);
  });

  const missing: [string, () => unknown][] = [['no output "cloud" (never deployed)', () => undefined]];
  if (preview) missing.push(['an output not known in this preview', () => pulumi.unknown]);
  test.each(missing)('a cloud stack with %s: a clear error, and no platform from the overlay\'s example values', async (_, value) => {
    cloudStackOutput = value();
    await expect(program.program('aws-dev', stackConfig({ env: 'aws-dev', cloudStack: CLOUD_STACK }))).rejects.toThrow(
      'kfkit: stack organization/kfkit-aws/aws-dev has no output "cloud": deploy the AWS cloud stack (pulumi/aws) first — '
      + '`cd pulumi/aws && pulumi up --stack organization/kfkit-aws/aws-dev` — or fix kfkit:cloudStack.');
    await settle();
    expect(registered.map((r) => r.type)).toEqual(['pulumi:pulumi:StackReference']);
  });
});
