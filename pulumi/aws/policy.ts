/**
 * IAM policy documents kfkit's AWS components write, as pure functions of plain strings (so they can be checked
 * without Pulumi): the IRSA trust policy, the S3 access policies scoped to a bucket or to key prefixes, and the
 * TLS-only bucket policy. Components call them inside `apply` on the ARNs they receive.
 */

/** One statement of an IAM policy document. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | Readonly<Record<string, string | readonly string[]>>;
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/** An IAM policy document (identity, resource or trust policy). */
export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** A Kubernetes ServiceAccount, as IRSA subjects name it. */
export interface ServiceAccountRef {
  readonly namespace: string;
  readonly name: string;
}

/** The audience EKS-issued ServiceAccount tokens carry for IRSA. */
export const STS_AUDIENCE = 'sts.amazonaws.com';

/** The `sub` claim of a ServiceAccount token: `system:serviceaccount:<namespace>:<name>`. */
export function serviceAccountSubject(sa: ServiceAccountRef): string {
  return `system:serviceaccount:${sa.namespace}:${sa.name}`;
}

/**
 * The OIDC issuer (host and path, no scheme) of an IAM OIDC provider ARN — the prefix of the condition keys of an
 * IRSA trust policy (`<issuer>:sub`, `<issuer>:aud`).
 */
export function issuerOfProviderArn(oidcProviderArn: string): string {
  const i = oidcProviderArn.indexOf(':oidc-provider/');
  if (i < 0) throw new Error(`"${oidcProviderArn}" is not an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>)`);
  return oidcProviderArn.slice(i + ':oidc-provider/'.length);
}

/** The partition (`aws`, `aws-cn`, `aws-us-gov`) of an ARN. */
export function partitionOfArn(arn: string): string {
  const partition = arn.split(':').at(1);
  if (!arn.startsWith('arn:') || partition === undefined || partition === '') throw new Error(`"${arn}" is not an ARN`);
  return partition;
}

/**
 * The trust policy of an IRSA role: only tokens issued by the cluster's OIDC provider, for exactly the listed
 * ServiceAccounts (`StringEquals` on `<issuer>:sub`) and with the STS audience (`StringEquals` on `<issuer>:aud`),
 * may assume it with `sts:AssumeRoleWithWebIdentity`. No wildcard: a pattern on `sub` would let any ServiceAccount
 * matching it (in any namespace a tenant controls) take the role.
 */
export function irsaTrustPolicy(oidcProviderArn: string, serviceAccounts: readonly ServiceAccountRef[]): PolicyDocument {
  const issuer = issuerOfProviderArn(oidcProviderArn);
  const subjects = [...new Set(serviceAccounts.map(serviceAccountSubject))].sort();
  return {
    Version: '2012-10-17',
    Statement: [{
      Effect: 'Allow',
      Principal: { Federated: oidcProviderArn },
      Action: 'sts:AssumeRoleWithWebIdentity',
      Condition: {
        StringEquals: {
          [`${issuer}:sub`]: subjects.length === 1 ? subjects[0] : subjects,
          [`${issuer}:aud`]: STS_AUDIENCE,
        },
      },
    }],
  };
}

/** The trust policy of a role an AWS service assumes (EKS control plane, EC2 nodes). */
export function serviceTrustPolicy(service: string): PolicyDocument {
  return { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] };
}

/** Object actions artifact consumers use: read, write, delete, and abort their own multipart uploads. */
export const S3_OBJECT_ACTIONS: readonly string[] = ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:PutObject'];
/** Bucket actions artifact consumers use: list keys, and find the bucket's region (minio-go and the AWS CLI ask). */
export const S3_BUCKET_ACTIONS: readonly string[] = ['s3:GetBucketLocation', 's3:ListBucket'];
/** KMS actions needed to read and write objects encrypted with a customer-managed key (SSE-KMS). */
export const KMS_OBJECT_ACTIONS: readonly string[] = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * A key prefix an access policy is scoped to: no leading or trailing '/', no wildcard or IAM policy variable, no
 * empty or relative segment. Returns why it is not, or `undefined`.
 */
export function prefixProblem(prefix: string): string | undefined {
  if (!/^[A-Za-z0-9!_.'()-]+(\/[A-Za-z0-9!_.'()-]+)*$/.test(prefix)) {
    return `"${prefix}" must be a key prefix such as private-artifacts/team-a: segments of letters, digits and !_.'()- separated by single '/', `
      + 'without leading or trailing \'/\', wildcards (* ?) or policy variables ($)';
  }
  if (prefix.split('/').some((s) => s === '.' || s === '..')) return `"${prefix}" must not contain '.' or '..' segments`;
  return undefined;
}

/**
 * The access policy of artifact consumers. Without `prefixes`: the whole bucket (`ListBucket` on the bucket, object
 * actions on `<bucket>/*`). With `prefixes`: `ListBucket` only for `s3:prefix` values under them, object actions
 * only on `<bucket>/<prefix>/*` — a tenant's role reaches nothing outside its prefixes. With `kmsKeyArn` (SSE-KMS),
 * the key actions on that key alone. No `*` action and no resource outside the bucket.
 */
export function s3AccessPolicy(bucketArn: string, options: { readonly prefixes?: readonly string[]; readonly kmsKeyArn?: string } = {}): PolicyDocument {
  const statements: PolicyStatement[] = [];
  const prefixes = options.prefixes;
  if (prefixes === undefined) {
    statements.push(
      { Sid: 'Bucket', Effect: 'Allow', Action: [...S3_BUCKET_ACTIONS], Resource: bucketArn },
      { Sid: 'Objects', Effect: 'Allow', Action: [...S3_OBJECT_ACTIONS], Resource: `${bucketArn}/*` },
    );
  } else {
    for (const p of prefixes) {
      const problem = prefixProblem(p);
      if (problem !== undefined) throw new Error(problem);
    }
    const sorted = [...new Set(prefixes)].sort();
    statements.push(
      { Sid: 'BucketLocation', Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: bucketArn },
      {
        Sid: 'ListPrefixes', Effect: 'Allow', Action: 's3:ListBucket', Resource: bucketArn,
        Condition: { StringLike: { 's3:prefix': sorted.map((p) => `${p}/*`) } },
      },
      { Sid: 'PrefixObjects', Effect: 'Allow', Action: [...S3_OBJECT_ACTIONS], Resource: sorted.map((p) => `${bucketArn}/${p}/*`) },
    );
  }
  if (options.kmsKeyArn !== undefined) statements.push({ Sid: 'ObjectKey', Effect: 'Allow', Action: [...KMS_OBJECT_ACTIONS], Resource: options.kmsKeyArn });
  return { Version: '2012-10-17', Statement: statements };
}

/**
 * The bucket policy that refuses every request not made over TLS (`aws:SecureTransport` false), for every
 * principal, on the bucket and its objects.
 */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{
      Sid: 'DenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [bucketArn, `${bucketArn}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    }],
  };
}

/** The actions and resources of a policy's Allow statements, flattened (for audits and tests). */
export function allowedActionsAndResources(doc: PolicyDocument): { actions: string[]; resources: string[] } {
  const list = (v: string | readonly string[] | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : [...v]);
  const allows = doc.Statement.filter((s) => s.Effect === 'Allow');
  return { actions: allows.flatMap((s) => list(s.Action)), resources: allows.flatMap((s) => list(s.Resource)) };
}
