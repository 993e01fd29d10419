/**
 * Policies for the AWS resources of a kfkit stack (S3, RDS, IAM). Type tokens and property names are those of
 * @pulumi/aws 7.48 (checked by test/policy.test.ts against the installed package).
 *
 * Resource policies read a resource's inputs before it is created or updated; stack policies read every resource's
 * outputs after the plan, for rules that relate resources (a bucket and its public access block).
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { known, list, prop, read, StackResource } from './common';
import { deniesInsecureTransport, policyDocumentViolations } from './iam';

/** Pulumi type tokens of the AWS resources the policies check (@pulumi/aws 7.48). */
export const AWS_TYPES = {
  /** The S3 bucket of @pulumi/aws v7 (the former BucketV2, with the deprecated inline `acl`, `grants`, `policy`). */
  bucket: 'aws:s3/bucket:Bucket',
  /** Deprecated alias of `bucket` in v7, still creatable. */
  bucketV2: 'aws:s3/bucketV2:BucketV2',
  bucketAcl: 'aws:s3/bucketAcl:BucketAcl',
  bucketAclV2: 'aws:s3/bucketAclV2:BucketAclV2',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  bucketPublicAccessBlock: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  accountPublicAccessBlock: 'aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock',
  rdsInstance: 'aws:rds/instance:Instance',
  rdsCluster: 'aws:rds/cluster:Cluster',
  iamPolicy: 'aws:iam/policy:Policy',
  iamRolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  iamUserPolicy: 'aws:iam/userPolicy:UserPolicy',
  iamGroupPolicy: 'aws:iam/groupPolicy:GroupPolicy',
  iamRole: 'aws:iam/role:Role',
} as const;

const BUCKET_TYPES: ReadonlySet<string> = new Set([AWS_TYPES.bucket, AWS_TYPES.bucketV2]);
const BUCKET_ACL_TYPES: ReadonlySet<string> = new Set([AWS_TYPES.bucketAcl, AWS_TYPES.bucketAclV2]);
const IAM_POLICY_TYPES: ReadonlySet<string> = new Set([AWS_TYPES.iamPolicy, AWS_TYPES.iamRolePolicy, AWS_TYPES.iamUserPolicy, AWS_TYPES.iamGroupPolicy]);

/** The four settings of an S3 public access block, all of which must be `true`. */
export const PUBLIC_ACCESS_BLOCK_FLAGS: readonly string[] = ['blockPublicAcls', 'blockPublicPolicy', 'ignorePublicAcls', 'restrictPublicBuckets'];

/** Canned ACLs that open a bucket to everyone (`authenticated-read`: to every AWS account). */
export const PUBLIC_CANNED_ACLS: ReadonlySet<string> = new Set(['public-read', 'public-read-write', 'authenticated-read']);

/** Grantee groups that stand for everyone (`AuthenticatedUsers`: every AWS account). */
export const PUBLIC_GRANTEE_URIS: ReadonlySet<string> = new Set([
  'http://acs.amazonaws.com/groups/global/AllUsers',
  'http://acs.amazonaws.com/groups/global/AuthenticatedUsers',
]);

/** A violation a stack policy reports on one resource. */
export interface ResourceViolation {
  readonly urn: string;
  readonly message: string;
}

/** Rule `no-public-buckets` on a BucketPublicAccessBlock (or AccountPublicAccessBlock): every flag is `true`. */
export function publicAccessBlockViolations(props: unknown): string[] {
  return PUBLIC_ACCESS_BLOCK_FLAGS.filter((flag) => prop(props, flag) !== true).map((flag) => {
    const value = prop(props, flag);
    return `${flag} must be true (is ${value === undefined || value === null ? 'unset' : JSON.stringify(value)})`;
  });
}

/**
 * Rule `no-public-buckets` on a bucket (its deprecated inline `acl` and `grants`) or a BucketAcl (`acl`,
 * `accessControlPolicy.grants`): no public canned ACL, no grant to the AllUsers or AuthenticatedUsers group.
 */
export function bucketAclViolations(props: unknown): string[] {
  const out: string[] = [];
  const acl = prop(props, 'acl');
  if (typeof acl === 'string' && PUBLIC_CANNED_ACLS.has(acl)) out.push(`acl "${acl}" makes the bucket public; use "private" and grant access with IAM`);
  const grants: { path: string; uri: unknown }[] = [
    ...list(prop(props, 'grants')).map((g, i) => ({ path: `grants[${i}]`, uri: prop(g, 'uri') })),
    ...list(prop(prop(props, 'accessControlPolicy'), 'grants'))
      .map((g, i) => ({ path: `accessControlPolicy.grants[${i}]`, uri: prop(prop(g, 'grantee'), 'uri') })),
  ];
  for (const { path, uri } of grants) {
    if (typeof uri === 'string' && PUBLIC_GRANTEE_URIS.has(uri)) out.push(`${path} grants access to ${uri.slice(uri.lastIndexOf('/') + 1)}; grant access with IAM`);
  }
  return out;
}

function nameOf(resource: StackResource): string {
  const bucket = read(resource.props, 'bucket');
  return typeof bucket === 'string' ? bucket : resource.name;
}

/**
 * The buckets of `buckets` a bucket-scoped resource (public access block, bucket policy) belongs to: the bucket its
 * `bucket` input depends on, or else the bucket whose name or id equals its `bucket` property.
 */
export function bucketsOf(resource: StackResource, buckets: readonly StackResource[]): StackResource[] {
  const deps = new Set((resource.propertyDependencies?.bucket ?? []).map((d) => d.urn));
  const byDependency = buckets.filter((b) => deps.has(b.urn));
  if (byDependency.length > 0) return byDependency;
  const name = read(resource.props, 'bucket');
  if (typeof name !== 'string') return [];
  return buckets.filter((b) => read(b.props, 'bucket') === name || read(b.props, 'id') === name);
}

/**
 * Rule `no-public-buckets-stack`: every bucket of the stack has a BucketPublicAccessBlock (whose flags rule
 * `no-public-buckets` checks), unless the stack sets an AccountPublicAccessBlock with all four flags `true`.
 */
export function bucketsWithoutPublicAccessBlock(resources: readonly StackResource[]): ResourceViolation[] {
  const accountBlocked = resources.some((r) => r.type === AWS_TYPES.accountPublicAccessBlock
    && PUBLIC_ACCESS_BLOCK_FLAGS.every((flag) => read(r.props, flag) === true));
  if (accountBlocked) return [];
  const buckets = resources.filter((r) => BUCKET_TYPES.has(r.type));
  const blocked = new Set(resources.filter((r) => r.type === AWS_TYPES.bucketPublicAccessBlock).flatMap((r) => bucketsOf(r, buckets).map((b) => b.urn)));
  return buckets.filter((b) => !blocked.has(b.urn)).map((b) => ({
    urn: b.urn,
    message: `bucket ${nameOf(b)} has no BucketPublicAccessBlock in the stack (add one with all four flags true)`,
  }));
}

/**
 * Rule `s3-tls-only`: every bucket's policy (a BucketPolicy of the stack or the bucket's inline `policy`) denies
 * requests without TLS (see {@link deniesInsecureTransport}). A policy not known yet (preview) is given the benefit
 * of the doubt; it is checked again at update time.
 */
export function bucketsWithoutTlsOnly(resources: readonly StackResource[]): ResourceViolation[] {
  const buckets = resources.filter((r) => BUCKET_TYPES.has(r.type));
  const secured = new Set<string>();
  for (const bucket of buckets) {
    const denies = known(() => deniesInsecureTransport(prop(bucket.props, 'policy')));
    if (denies !== false) secured.add(bucket.urn);
  }
  for (const policy of resources.filter((r) => r.type === AWS_TYPES.bucketPolicy)) {
    const denies = known(() => deniesInsecureTransport(prop(policy.props, 'policy')));
    if (denies !== false) for (const b of bucketsOf(policy, buckets)) secured.add(b.urn);
  }
  return buckets.filter((b) => !secured.has(b.urn)).map((b) => ({
    urn: b.urn,
    message: `bucket ${nameOf(b)} accepts requests without TLS: add a bucket policy statement that denies s3:* when aws:SecureTransport is false`,
  }));
}

/**
 * Rule `encrypted-rds` on an RDS instance: `storageEncrypted` is `true` (Aurora instances: the cluster's setting
 * applies, see {@link rdsClusterViolations}) and `publiclyAccessible` is not `true`.
 */
export function rdsInstanceViolations(props: unknown): string[] {
  const out: string[] = [];
  const engine = prop(props, 'engine');
  const aurora = typeof engine === 'string' && engine.startsWith('aurora');
  if (!aurora && prop(props, 'storageEncrypted') !== true) out.push('storageEncrypted must be true (storage, backups and snapshots encrypted at rest)');
  if (prop(props, 'publiclyAccessible') === true) out.push('publiclyAccessible must be false: reach the database from inside the VPC');
  return out;
}

/** Rule `encrypted-rds` on an RDS (Aurora) cluster: `storageEncrypted` is `true`. */
export function rdsClusterViolations(props: unknown): string[] {
  return prop(props, 'storageEncrypted') === true ? [] : ['storageEncrypted must be true (storage, backups and snapshots encrypted at rest)'];
}

/**
 * Rule `no-wildcard-iam` on an IAM resource's inputs: the `policy` of a Policy, RolePolicy, UserPolicy or
 * GroupPolicy, and each `inlinePolicies[].policy` of a Role (see {@link policyDocumentViolations}). A Role's trust
 * policy (`assumeRolePolicy`) is not a permission policy and is not checked. Other types: no violations.
 */
export function iamViolations(type: string, props: unknown): string[] {
  if (IAM_POLICY_TYPES.has(type)) return policyDocumentViolations(prop(props, 'policy'));
  if (type !== AWS_TYPES.iamRole) return [];
  return list(prop(props, 'inlinePolicies')).flatMap((p, i) => {
    const name = prop(p, 'name');
    const where = typeof name === 'string' ? `inlinePolicies[${i}] (${name})` : `inlinePolicies[${i}]`;
    const document = prop(p, 'policy');
    return document === undefined ? [] : policyDocumentViolations(document).map((m) => `${where} ${m}`);
  });
}

/** Policy `no-public-buckets` (mandatory, per resource): public access blocks fully on, no public bucket ACL or grant. */
export const noPublicBuckets: ResourceValidationPolicy = {
  name: 'no-public-buckets',
  description: 'S3 public access blocks set all four flags; buckets have no public ACL or grant.',
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => {
    const messages = args.type === AWS_TYPES.bucketPublicAccessBlock || args.type === AWS_TYPES.accountPublicAccessBlock
      ? publicAccessBlockViolations(args.props)
      : BUCKET_TYPES.has(args.type) || BUCKET_ACL_TYPES.has(args.type) ? bucketAclViolations(args.props) : [];
    for (const m of messages) reportViolation(m);
  },
};

/** Policy `no-public-buckets-stack` (mandatory, per stack): every bucket has a public access block. */
export const noPublicBucketsStack: StackValidationPolicy = {
  name: 'no-public-buckets-stack',
  description: 'Every S3 bucket of the stack has a BucketPublicAccessBlock (or the stack blocks public access account-wide).',
  enforcementLevel: 'mandatory',
  validateStack: (args, reportViolation) => {
    for (const v of bucketsWithoutPublicAccessBlock(args.resources)) reportViolation(v.message, v.urn);
  },
};

/** Policy `encrypted-rds` (mandatory): RDS storage encrypted, instances not publicly accessible. */
export const encryptedRds: ResourceValidationPolicy = {
  name: 'encrypted-rds',
  description: 'RDS instances and clusters encrypt their storage; instances are not publicly accessible.',
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => {
    const messages = args.type === AWS_TYPES.rdsInstance ? rdsInstanceViolations(args.props)
      : args.type === AWS_TYPES.rdsCluster ? rdsClusterViolations(args.props) : [];
    for (const m of messages) reportViolation(m);
  },
};

/** Policy `no-wildcard-iam` (mandatory): no `*` actions, no `*` resources except for `*`-only actions. */
export const noWildcardIam: ResourceValidationPolicy = {
  name: 'no-wildcard-iam',
  description: 'IAM policies grant named actions on named resources: no "Action": "*" or service-wide actions, no "Resource": "*" '
    + 'except for actions that support only "*".',
  enforcementLevel: 'mandatory',
  validateResource: (args, reportViolation) => {
    for (const m of iamViolations(args.type, args.props)) reportViolation(m);
  },
};

/** Policy `s3-tls-only` (advisory): bucket policies deny requests without TLS. */
export const s3TlsOnly: StackValidationPolicy = {
  name: 's3-tls-only',
  description: 'Every S3 bucket has a policy that denies requests made without TLS (aws:SecureTransport false).',
  enforcementLevel: 'advisory',
  validateStack: (args, reportViolation) => {
    for (const v of bucketsWithoutTlsOnly(args.resources)) reportViolation(v.message, v.urn);
  },
};

/** Every AWS policy of the pack. */
export const awsPolicies: readonly (ResourceValidationPolicy | StackValidationPolicy)[] = [
  noPublicBuckets, noPublicBucketsStack, encryptedRds, noWildcardIam, s3TlsOnly,
];
