import * as fs from 'fs';
import * as path from 'path';
import type { Policy, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from '@pulumi/policy';
import { resolveConfig } from '../lib/config/load';
import {
  AWS_TYPES, bucketAclViolations, bucketsWithoutPublicAccessBlock, bucketsWithoutTlsOnly, deniesInsecureTransport, iamViolations,
  isWildcardResourceAction, kubernetesTypeToken, manifestOf, ORDER_RULES, platformPolicy, platformPolicyConfig, platformViolations, policies,
  policyDocumentViolations, publicAccessBlockViolations, rdsClusterViolations, rdsInstanceViolations, StackResource, WILDCARD_RESOURCE_ACTIONS,
} from '../lib/policy';
import { synthesize } from '../lib/synth/index';
import { K8sObject } from '../lib/validate/types';
import { STACKS } from '../stacks';

const ROOT = path.resolve(__dirname, '..');
const PROVIDER = 'urn:pulumi:local::kfkit::pulumi:providers:kubernetes::default';

/** A stack resource as the policy engine hands it over. */
function resource(type: string, name: string, props: Record<string, unknown>, extra: Partial<StackResource> = {}): StackResource {
  return { type, name, urn: `urn:pulumi:local::kfkit::${type}::${name}`, props, ...extra };
}

/** A ConfigGroup child: the manifest as the resource's properties. */
function k8sResource(m: K8sObject, provider = PROVIDER): StackResource {
  return resource(kubernetesTypeToken(m.apiVersion, m.kind), `${m.metadata.namespace ?? ''}/${m.metadata.name}`, m, { provider: { urn: provider } });
}

interface Reported { message: string; urn?: string }

/** The part of a workload manifest the tests edit. */
interface WithLimits { spec: { template: { spec: { containers: { resources: { limits: Record<string, unknown> } }[] } } } }

function named(name: string): Policy {
  const found = policies.find((p) => p.name === name);
  if (!found) throw new Error(`no policy ${name}`);
  return found;
}
const stackPolicy = (name: string) => named(name) as StackValidationPolicy;
const resourcePolicy = (name: string) => named(name) as ResourceValidationPolicy;

/** Runs a stack policy on fake args, collecting what it reports. */
async function runStack(p: StackValidationPolicy, resources: readonly StackResource[], config: Record<string, unknown> = {}): Promise<Reported[]> {
  const out: Reported[] = [];
  const args = {
    resources, stackTags: new Map<string, string>(), getConfig: () => config,
    notApplicable: (reason?: string) => { throw new Error(`not applicable: ${reason ?? ''}`); },
  } as unknown as StackValidationArgs;
  await p.validateStack(args, (message, urn) => { out.push(urn === undefined ? { message } : { message, urn }); });
  return out;
}

/** Runs a resource policy on one resource's inputs, collecting the messages. */
async function runResource(p: ResourceValidationPolicy, type: string, props: Record<string, unknown>): Promise<string[]> {
  const out: string[] = [];
  const args = { type, props, urn: `urn:pulumi:local::kfkit::${type}::r`, name: 'r', stackTags: new Map<string, string>() } as unknown as ResourceValidationArgs;
  for (const v of [p.validateResource ?? []].flat()) await v(args, (message) => { out.push(message); });
  return out;
}

const local = synthesize(resolveConfig({ stack: 'local' }, STACKS));
const localResources = local.objects.map((o) => k8sResource(o.manifest));

function doc(...statements: Record<string, unknown>[]): string {
  return JSON.stringify({ Version: '2012-10-17', Statement: statements });
}

describe('policy pack project', () => {
  test('policy/ registers the pack from lib/policy; its version is the repository\'s', () => {
    const yaml = fs.readFileSync(path.join(ROOT, 'policy', 'PulumiPolicy.yaml'), 'utf8');
    expect(yaml).toMatch(/name: nodejs/);
    const index = fs.readFileSync(path.join(ROOT, 'policy', 'index.js'), 'utf8');
    expect(index).toContain('require(\'tsx/cjs\')');
    expect(index).toContain('new PolicyPack(\'kfkit\', { policies })');
    const version = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
    expect(version(path.join(ROOT, 'policy', 'package.json'))).toBe(version(path.join(ROOT, 'package.json')));
  });

  test('the pack: unique names, the documented levels', () => {
    expect(policies.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ['kfkit-platform', 'mandatory'], ['no-public-buckets', 'mandatory'], ['no-public-buckets-stack', 'mandatory'],
      ['encrypted-rds', 'mandatory'], ['no-wildcard-iam', 'mandatory'], ['s3-tls-only', 'advisory'],
    ]);
  });

  test('type tokens and input names are those of the installed @pulumi/aws', () => {
    const modules: Record<keyof typeof AWS_TYPES, string> = {
      bucket: 's3/bucket', bucketV2: 's3/bucketV2', bucketAcl: 's3/bucketAcl', bucketAclV2: 's3/bucketAclV2', bucketPolicy: 's3/bucketPolicy',
      bucketPublicAccessBlock: 's3/bucketPublicAccessBlock', accountPublicAccessBlock: 's3/accountPublicAccessBlock', rdsInstance: 'rds/instance',
      rdsCluster: 'rds/cluster', iamPolicy: 'iam/policy', iamRolePolicy: 'iam/rolePolicy', iamUserPolicy: 'iam/userPolicy',
      iamGroupPolicy: 'iam/groupPolicy', iamRole: 'iam/role',
    };
    const aws = path.join(ROOT, 'node_modules', '@pulumi', 'aws');
    for (const [key, module] of Object.entries(modules)) {
      const js = fs.readFileSync(path.join(aws, `${module}.js`), 'utf8');
      expect(js).toContain(`__pulumiType = '${AWS_TYPES[key as keyof typeof AWS_TYPES]}'`);
    }
    const args = (module: string) => fs.readFileSync(path.join(aws, `${module}.d.ts`), 'utf8').split(/^export interface \w+Args \{/m)[1] ?? '';
    for (const flag of ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets']) {
      expect(args('s3/bucketPublicAccessBlock')).toContain(`${flag}?:`);
    }
    expect(args('s3/bucket')).toMatch(/acl\?:[\s\S]*grants\?:[\s\S]*policy\?:/);
    expect(args('s3/bucketAcl')).toMatch(/accessControlPolicy\?:[\s\S]*acl\?:/);
    expect(args('rds/instance')).toMatch(/publiclyAccessible\?:[\s\S]*storageEncrypted\?:/);
    expect(args('iam/role')).toContain('inlinePolicies?:');
    expect(args('iam/rolePolicy')).toContain('policy:');
  });
});

describe('kfkit-platform', () => {
  const platform = () => stackPolicy('kfkit-platform');

  test('skips exactly the ordering rules', () => {
    expect([...ORDER_RULES].sort()).toEqual(['provider-order', 'wave-order', 'webhook-order']);
  });

  test('the synthesized local platform, as stack resources, has no violations', async () => {
    expect(localResources.length).toBe(local.objects.length);
    expect(localResources.map((r) => r.type)).toEqual(expect.arrayContaining(['kubernetes:apps/v1:Deployment', 'kubernetes:core/v1:Namespace',
      'kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition']));
    expect(await runStack(platform(), localResources)).toEqual([]);
  });

  test('a broken platform: violations name the rule, the object and the path, on the object\'s resource', async () => {
    const deployment = local.objects.map((o) => o.manifest).find((m) => m.kind === 'Deployment' && m.metadata.name === 'ml-pipeline');
    if (!deployment) throw new Error('no ml-pipeline Deployment');
    const noLimit = JSON.parse(JSON.stringify(deployment)) as WithLimits;
    delete noLimit.spec.template.spec.containers[0].resources.limits.memory;
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'leak', namespace: 'kubeflow' }, data: { password: 'aGVsbG8=' } };
    const dangling = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'ghost', namespace: 'kubeflow' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'ghost', namespace: 'kubeflow' }],
    };
    const broken = [
      ...localResources.filter((r) => r.name !== 'kubeflow/ml-pipeline' || r.type !== 'kubernetes:apps/v1:Deployment'),
      k8sResource(noLimit as unknown as K8sObject), k8sResource(secret), k8sResource(dangling),
    ];
    const reported = await runStack(platform(), broken);
    expect(reported).toEqual(expect.arrayContaining([
      { message: 'resources Deployment/kubeflow/ml-pipeline spec.template.spec.containers[0].resources.limits.memory: container "ml-pipeline-api-server" has no memory limit',
        urn: k8sResource(noLimit as unknown as K8sObject).urn },
      { message: expect.stringMatching(/^secret-values Secret\/kubeflow\/leak data: Secret carries values in data \(keys: password\)/),
        urn: k8sResource(secret).urn },
      { message: expect.stringMatching(/^dangling-reference RoleBinding\/kubeflow\/ghost subjects\[0\]\.name: ServiceAccount kubeflow\/ghost not found/),
        urn: k8sResource(dangling).urn },
    ]));
    expect(reported).toHaveLength(3);
  });

  test('external objects from the pack config resolve references; rules can be skipped', async () => {
    const consumer = {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'kubeflow' }, data: {},
    };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'b', namespace: 'kubeflow' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ kind: 'ServiceAccount', name: 'external-sa', namespace: 'kubeflow' }],
    };
    const resources = [...localResources, k8sResource(consumer), k8sResource(binding)];
    expect(await runStack(platform(), resources)).toHaveLength(1);
    const config = { externalObjects: [{ apiVersion: 'v1', kind: 'ServiceAccount', namespace: 'kubeflow', name: 'external-sa', reason: 'made by the admins' }] };
    expect(await runStack(platform(), resources, config)).toEqual([]);
    expect(await runStack(platform(), resources, { skipRules: ['dangling-reference'] })).toEqual([]);
    expect(await runStack(platformPolicy({ externalObjects: platformPolicyConfig(config).externalObjects }), resources)).toEqual([]);
    expect(() => platformPolicyConfig({ externalObjects: [{ kind: 'Secret' }] })).toThrow(/externalObjects\[0\]\.apiVersion/);
  });

  test('only Kubernetes objects count; provider bookkeeping, status and server metadata are left out; clusters are checked apart', () => {
    const ns = local.objects.map((o) => o.manifest).find((m) => m.kind === 'Namespace');
    if (!ns) throw new Error('no Namespace');
    const live = k8sResource({ ...ns, metadata: { ...ns.metadata, uid: 'u', resourceVersion: '1' }, status: { phase: 'Active' }, __fieldManager: 'pulumi' } as K8sObject);
    expect(manifestOf(live)?.manifest).toEqual(ns);
    const withInputs = k8sResource({ ...ns, metadata: { ...ns.metadata, labels: { live: 'yes' } }, __inputs: ns });
    expect(manifestOf(withInputs)?.manifest).toEqual(ns);
    expect(manifestOf(resource('kubernetes:yaml/v2:ConfigGroup', 'wave-00-crds', {}))).toBeUndefined();
    expect(manifestOf(resource('kubernetes:apps/v1:DeploymentPatch', 'p', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } }))).toBeUndefined();
    expect(manifestOf(resource('pulumi:providers:kubernetes', 'default', { kubeconfig: '' }))).toBeUndefined();
    // The same platform on two clusters is no duplicate.
    const second = local.objects.map((o) => k8sResource(o.manifest, `${PROVIDER}-2`));
    expect(platformViolations([...localResources, ...second])).toEqual([]);
  });

  test('properties unknown during preview: the object is kept for references, its own findings wait for the update', () => {
    // @pulumi/policy wraps properties in a proxy that throws UnknownValueError on unknown values (internal API).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const proxy = require('@pulumi/policy/proxy') as { unknownCheckingProxy: (o: unknown) => Record<string, unknown>; unknownStringValue: unknown };
    const target = localResources.find((r) => r.type === 'kubernetes:apps/v1:Deployment' && r.name === 'kubeflow/ml-pipeline')!;
    const deployment = JSON.parse(JSON.stringify(target.props)) as WithLimits;
    deployment.spec.template.spec.containers[0].resources.limits.memory = proxy.unknownStringValue;
    const previewed = { ...target, props: proxy.unknownCheckingProxy(deployment) };
    expect(manifestOf(previewed)?.unknown).toEqual(['spec.template.spec.containers[0].resources.limits.memory']);
    // Without the limit the Deployment would be a `resources` finding; unknown, it is judged at update time.
    const resources = localResources.map((r) => (r === target ? previewed : r));
    expect(platformViolations(resources)).toEqual([]);
    // Its ServiceAccount, Services etc. still resolve: removing it would leave the Service selecting nothing.
    expect(platformViolations(localResources.filter((r) => r !== target)).map((v) => v.finding.rule)).toContain('dangling-reference');
  });
});

describe('no-public-buckets', () => {
  const allOn = { bucket: 'b', blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };

  test('a public access block sets all four flags', async () => {
    expect(publicAccessBlockViolations(allOn)).toEqual([]);
    expect(publicAccessBlockViolations({ ...allOn, ignorePublicAcls: false, restrictPublicBuckets: undefined })).toEqual([
      'ignorePublicAcls must be true (is false)', 'restrictPublicBuckets must be true (is unset)',
    ]);
    const p = resourcePolicy('no-public-buckets');
    expect(await runResource(p, AWS_TYPES.bucketPublicAccessBlock, { ...allOn, blockPublicPolicy: false })).toEqual(['blockPublicPolicy must be true (is false)']);
    expect(await runResource(p, AWS_TYPES.bucketPublicAccessBlock, allOn)).toEqual([]);
    expect(await runResource(p, AWS_TYPES.rdsInstance, { blockPublicAcls: false })).toEqual([]);
  });

  test('no public canned ACL or grant to everyone, on the bucket or a BucketAcl', async () => {
    expect(bucketAclViolations({ acl: 'private' })).toEqual([]);
    expect(bucketAclViolations({ acl: 'public-read' })).toEqual([expect.stringMatching(/^acl "public-read" makes the bucket public/)]);
    expect(bucketAclViolations({ grants: [{ type: 'Group', uri: 'http://acs.amazonaws.com/groups/global/AllUsers', permissions: ['READ'] }] }))
      .toEqual(['grants[0] grants access to AllUsers; grant access with IAM']);
    const p = resourcePolicy('no-public-buckets');
    expect(await runResource(p, AWS_TYPES.bucket, { acl: 'public-read-write' })).toHaveLength(1);
    expect(await runResource(p, AWS_TYPES.bucketV2, { acl: 'public-read' })).toHaveLength(1);
    expect(await runResource(p, AWS_TYPES.bucketAcl, {
      bucket: 'b', accessControlPolicy: { owner: { id: 'o' }, grants: [{ permission: 'READ', grantee: { type: 'Group', uri: 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers' } }] },
    })).toEqual(['accessControlPolicy.grants[0] grants access to AuthenticatedUsers; grant access with IAM']);
  });

  test('stack: every bucket has a public access block (matched by dependency or name), or the account blocks public access', async () => {
    const bucket = resource(AWS_TYPES.bucket, 'artifacts', { bucket: 'artifacts-1a2b', id: 'artifacts-1a2b' });
    const other = resource(AWS_TYPES.bucketV2, 'logs', { bucket: 'logs-3c4d' });
    const byDependency = resource(AWS_TYPES.bucketPublicAccessBlock, 'artifacts-pab', allOn, { propertyDependencies: { bucket: [{ urn: bucket.urn }] } });
    const byName = resource(AWS_TYPES.bucketPublicAccessBlock, 'logs-pab', { ...allOn, bucket: 'logs-3c4d' });
    expect(bucketsWithoutPublicAccessBlock([bucket, other, byDependency, byName])).toEqual([]);
    const p = stackPolicy('no-public-buckets-stack');
    expect(await runStack(p, [bucket, other, byName])).toEqual([
      { message: 'bucket artifacts-1a2b has no BucketPublicAccessBlock in the stack (add one with all four flags true)', urn: bucket.urn },
    ]);
    const account = resource(AWS_TYPES.accountPublicAccessBlock, 'account', allOn);
    expect(await runStack(p, [bucket, other, account])).toEqual([]);
    expect(await runStack(p, [bucket, other, { ...account, props: { ...allOn, blockPublicAcls: false } }])).toHaveLength(2);
  });
});

describe('encrypted-rds', () => {
  test('storage encrypted, not publicly accessible', async () => {
    expect(rdsInstanceViolations({ engine: 'postgres', storageEncrypted: true, publiclyAccessible: false })).toEqual([]);
    expect(rdsInstanceViolations({ engine: 'postgres', storageEncrypted: true })).toEqual([]);
    expect(rdsInstanceViolations({ engine: 'mysql' })).toEqual([expect.stringMatching(/^storageEncrypted must be true/)]);
    expect(rdsInstanceViolations({ engine: 'mysql', storageEncrypted: true, publiclyAccessible: true })).toEqual([expect.stringMatching(/^publiclyAccessible must be false/)]);
    // Aurora instances take encryption from their cluster, which is checked instead.
    expect(rdsInstanceViolations({ engine: 'aurora-postgresql' })).toEqual([]);
    expect(rdsClusterViolations({ engine: 'aurora-postgresql', storageEncrypted: false })).toHaveLength(1);
    const p = resourcePolicy('encrypted-rds');
    expect(await runResource(p, AWS_TYPES.rdsInstance, { engine: 'postgres', storageEncrypted: false, publiclyAccessible: true })).toHaveLength(2);
    expect(await runResource(p, AWS_TYPES.rdsCluster, { engine: 'aurora-mysql', storageEncrypted: true })).toEqual([]);
  });
});

describe('no-wildcard-iam', () => {
  test('named actions on named resources pass', () => {
    expect(policyDocumentViolations(doc({ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::b/*' }))).toEqual([]);
    // Deny statements may be broad.
    expect(policyDocumentViolations(doc({ Effect: 'Deny', Action: '*', Resource: '*' }))).toEqual([]);
  });

  test('Action "*" and service-wide actions fail', () => {
    expect(policyDocumentViolations(doc({ Sid: 'All', Effect: 'Allow', Action: '*', Resource: 'arn:aws:s3:::b' }))).toEqual([
      'Statement[0] (All): Action "*" allows every action of every service; list the actions needed',
    ]);
    expect(policyDocumentViolations(doc({ Effect: 'Allow', Action: ['s3:*'], Resource: 'arn:aws:s3:::b' }))).toEqual([
      'Statement[0]: Action "s3:*" allows every action of the service; list the actions needed',
    ]);
    expect(policyDocumentViolations(doc({ Effect: 'Allow', NotAction: 'iam:*', Resource: 'arn:aws:s3:::b' }))).toHaveLength(1);
  });

  test('Resource "*" fails unless every action is allow-listed', () => {
    expect(policyDocumentViolations(doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }))).toEqual([
      expect.stringMatching(/^Statement\[0\]: Resource "\*" for s3:GetObject; name the resources/),
    ]);
    expect(policyDocumentViolations(doc({ Effect: 'Allow', Action: ['ecr:GetAuthorizationToken', 'sts:GetCallerIdentity'], Resource: '*' }))).toEqual([]);
    expect(policyDocumentViolations(doc({ Effect: 'Allow', Action: ['ec2:DescribeInstances', 'autoscaling:DescribeAutoScalingGroups'], Resource: ['*'] }))).toEqual([]);
    expect(policyDocumentViolations(doc({ Effect: 'Allow', Action: ['ecr:GetAuthorizationToken', 'ecr:BatchGetImage'], Resource: '*' }))).toEqual([
      expect.stringMatching(/Resource "\*" for ecr:BatchGetImage;/),
    ]);
    expect(isWildcardResourceAction('EC2:Describe*')).toBe(true);
    expect(isWildcardResourceAction('ec2:*')).toBe(false);
    for (const entry of WILDCARD_RESOURCE_ACTIONS) expect(entry.reason).not.toBe('');
  });

  test('every IAM resource kind, documents as JSON text or objects', async () => {
    const bad = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
    expect(iamViolations(AWS_TYPES.iamPolicy, { policy: bad })).toHaveLength(2);
    expect(iamViolations(AWS_TYPES.iamRolePolicy, { role: 'r', policy: JSON.stringify(bad) })).toHaveLength(2);
    expect(iamViolations(AWS_TYPES.iamRole, {
      assumeRolePolicy: doc({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }),
      inlinePolicies: [{ name: 'ok', policy: doc({ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }) }, { name: 'wide', policy: JSON.stringify(bad) }],
    })).toEqual([expect.stringMatching(/^inlinePolicies\[1\] \(wide\) Statement\[0\]: Action "\*"/), expect.stringMatching(/^inlinePolicies\[1\] \(wide\) Statement\[0\]: Resource "\*"/)]);
    expect(iamViolations(AWS_TYPES.iamPolicy, { policy: '{not json' })).toEqual(['the policy document is not valid JSON']);
    expect(iamViolations(AWS_TYPES.bucket, { policy: JSON.stringify(bad) })).toEqual([]);
    expect(await runResource(resourcePolicy('no-wildcard-iam'), AWS_TYPES.iamPolicy, { policy: JSON.stringify(bad) })).toHaveLength(2);
  });
});

describe('s3-tls-only', () => {
  const tlsOnly = doc({ Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } } });

  test('a bucket policy denies requests without TLS', async () => {
    expect(deniesInsecureTransport(tlsOnly)).toBe(true);
    expect(deniesInsecureTransport(doc({ Effect: 'Deny', Action: 's3:GetObject', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }))).toBe(false);
    expect(deniesInsecureTransport(doc({ Effect: 'Allow', Action: 's3:*', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }))).toBe(false);
    const bucket = resource(AWS_TYPES.bucket, 'b', { bucket: 'b' });
    const attached = resource(AWS_TYPES.bucketPolicy, 'b-tls', { bucket: 'b', policy: tlsOnly });
    expect(bucketsWithoutTlsOnly([bucket, attached])).toEqual([]);
    expect(bucketsWithoutTlsOnly([{ ...bucket, props: { bucket: 'b', policy: tlsOnly } }])).toEqual([]);
    const p = stackPolicy('s3-tls-only');
    expect(await runStack(p, [bucket])).toEqual([{ message: expect.stringMatching(/^bucket b accepts requests without TLS/), urn: bucket.urn }]);
  });
});
