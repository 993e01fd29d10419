import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { irsaTrustPolicy, PolicyDocument, prefixProblem, s3AccessPolicy, ServiceAccountRef } from './policy';
import { arnPattern, checkComponentName, checkPattern, fieldOf, known, listOf, OIDC_PROVIDER_ARN, Problems, throwIfInvalid } from './validation';

/**
 * The ServiceAccounts (in the platform namespace) that carry the pipelines role when the artifact store uses IRSA:
 * every ServiceAccount kfkit annotates with `store.serviceAccountAnnotations()` — the KFP API server
 * (`ml-pipeline`), the UI (`ml-pipeline-ui`) and its TensorBoard viewers (`kubeflow-pipelines-viewer`), pipeline run
 * pods (`pipeline-runner`), the database backup CronJob (`metadata-db-backup`) and the restore Job `kfkit restore`
 * prints (`metadata-db-restore`). The Argo workflow controller (`argo`) is not among them: it never touches
 * artifacts in KFP 2.17.0 (run pods upload and download with their own identity). Kept equal to what the platform
 * synthesizes by test/pulumi-aws.test.ts.
 */
export const PIPELINES_SERVICE_ACCOUNTS: readonly string[] = [
  'kubeflow-pipelines-viewer',
  'metadata-db-backup',
  'metadata-db-restore',
  'ml-pipeline',
  'ml-pipeline-ui',
  'pipeline-runner',
];

/** What an {@link IrsaRole} may do in the artifact bucket. */
export interface S3Access {
  /** ARN of the bucket. */
  readonly bucketArn: pulumi.Input<string>;
  /**
   * Key prefixes the role is limited to (`private-artifacts/team-a`): `ListBucket` only under them, object actions
   * only on `<bucket>/<prefix>/*`.
   * @default - the whole bucket
   */
  readonly prefixes?: readonly string[];
  /** The bucket's KMS key, when SSE-KMS: the role gets `kms:Decrypt` and `kms:GenerateDataKey` on it. @default - none (SSE-S3) */
  readonly kmsKeyArn?: pulumi.Input<string | undefined>;
}

/** Arguments of {@link IrsaRole}. */
export interface IrsaRoleArgs {
  /** ARN of the cluster's IAM OIDC provider (`arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>`). */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** Exactly the ServiceAccounts that may assume the role (no wildcards). */
  readonly serviceAccounts: readonly ServiceAccountRef[];
  /** An inline S3 policy scoped to one bucket (or prefixes of it). @default - none */
  readonly s3?: S3Access;
  /**
   * An inline policy for what the ServiceAccounts do besides the artifact bucket (a cluster add-on's AWS calls),
   * usually computed from ARNs the stack only knows once they exist.
   * @default - none
   */
  readonly policy?: pulumi.Input<PolicyDocument>;
  /** AWS-managed or customer policies to attach (e.g. `AmazonEBSCSIDriverPolicy` for the EBS CSI driver). @default - none */
  readonly managedPolicyArns?: readonly pulumi.Input<string>[];
  /** Description of the role. @default - the ServiceAccounts it is for */
  readonly description?: string;
  /** Tags of the role. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SA_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Problems of `args`, with paths relative to the args. */
export function validateIrsaRoleArgs(args: IrsaRoleArgs, problems: Problems): void {
  checkPattern(problems, 'oidcProviderArn', args.oidcProviderArn, OIDC_PROVIDER_ARN, 'an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>)');
  const serviceAccounts = listOf(args.serviceAccounts);
  if (serviceAccounts === undefined || serviceAccounts.length === 0) {
    problems.add('serviceAccounts', 'must list at least one ServiceAccount (namespace and name) that may assume the role');
  } else {
    serviceAccounts.forEach((sa, i) => {
      const namespace = fieldOf(sa, 'namespace');
      const name = fieldOf(sa, 'name');
      if (typeof namespace !== 'string' || !DNS_LABEL.test(namespace)) {
        problems.add(`serviceAccounts[${i}].namespace`, `must be a namespace name (DNS label), got ${JSON.stringify(namespace)}`);
      }
      if (typeof name !== 'string' || !SA_NAME.test(name)) {
        problems.add(`serviceAccounts[${i}].name`, `must be a ServiceAccount name (no wildcards), got ${JSON.stringify(name)}`);
      }
    });
  }
  if (args.s3 !== undefined) {
    checkPattern(problems, 's3.bucketArn', args.s3.bucketArn, /^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket ARN (arn:aws:s3:::<bucket>)');
    checkPattern(problems, 's3.kmsKeyArn', args.s3.kmsKeyArn, arnPattern('kms'), 'a KMS key ARN');
    if (args.s3.prefixes !== undefined) {
      if (args.s3.prefixes.length === 0) problems.add('s3.prefixes', 'must list at least one prefix (omit it for the whole bucket)');
      args.s3.prefixes.forEach((p, i) => {
        const problem = prefixProblem(p);
        if (problem !== undefined) problems.add(`s3.prefixes[${i}]`, problem);
      });
    }
  }
  (args.managedPolicyArns ?? []).forEach((arn, i) => {
    const v = known(arn);
    if (v !== undefined && (typeof v !== 'string' || !/^arn:aws[a-z-]*:iam::(aws|\d{12}):policy\/.+$/.test(v))) {
      problems.add(`managedPolicyArns[${i}]`, `must be an IAM policy ARN, got ${JSON.stringify(v)}`);
    }
  });
}

/**
 * An IAM role for Kubernetes ServiceAccounts (IRSA): trusted by the cluster's OIDC provider for exactly the given
 * `system:serviceaccount:<namespace>:<name>` subjects with the STS audience, with an inline S3 policy scoped to one
 * bucket (or to key prefixes of it), an optional inline policy and optional managed policies. Pods of those
 * ServiceAccounts get the role through the `eks.amazonaws.com/role-arn` annotation and the EKS pod identity webhook —
 * no keys anywhere.
 *
 * Children: `<name>` (the role), `<name>-s3` (the inline S3 policy), `<name>-inline` (the inline `policy`),
 * `<name>-policy-<i>` (attachments).
 */
export class IrsaRole extends pulumi.ComponentResource {
  /** The role's ARN (what `eks.amazonaws.com/role-arn` carries). */
  public readonly roleArn: pulumi.Output<string>;
  /** The role's name. */
  public readonly roleName: pulumi.Output<string>;
  /** The role resource. */
  public readonly role: aws.iam.Role;

  public constructor(name: string, args: IrsaRoleArgs, opts: pulumi.ComponentResourceOptions = {}, type = 'kfkit:aws:IrsaRole') {
    super(type, name, {}, opts);
    const problems = new Problems();
    checkComponentName(problems, name);
    validateIrsaRoleArgs(args, problems);
    throwIfInvalid(`${type} ${name}`, problems.all);

    const serviceAccounts = args.serviceAccounts.map((sa) => ({ namespace: sa.namespace, name: sa.name }));
    const description = args.description ?? `IRSA: ${serviceAccounts.map((sa) => `${sa.namespace}/${sa.name}`).join(', ')}`.slice(0, 1000);
    this.role = new aws.iam.Role(name, {
      description,
      assumeRolePolicy: pulumi.output(args.oidcProviderArn).apply((arn) => JSON.stringify(irsaTrustPolicy(arn, serviceAccounts))),
      tags: args.tags === undefined ? undefined : { ...args.tags },
    }, { parent: this });

    const s3 = args.s3;
    if (s3 !== undefined) {
      const prefixes = s3.prefixes === undefined ? undefined : [...s3.prefixes];
      new aws.iam.RolePolicy(`${name}-s3`, {
        role: this.role.name,
        policy: pulumi.all([s3.bucketArn, s3.kmsKeyArn]).apply(([bucketArn, kmsKeyArn]) =>
          JSON.stringify(s3AccessPolicy(bucketArn, { prefixes, kmsKeyArn: kmsKeyArn ?? undefined }))),
      }, { parent: this });
    }
    if (args.policy !== undefined) {
      new aws.iam.RolePolicy(`${name}-inline`, {
        role: this.role.name,
        policy: pulumi.output(args.policy).apply((doc) => JSON.stringify(doc)),
      }, { parent: this });
    }
    (args.managedPolicyArns ?? []).forEach((policyArn, i) => {
      new aws.iam.RolePolicyAttachment(`${name}-policy-${i}`, { role: this.role.name, policyArn }, { parent: this });
    });

    this.roleArn = this.role.arn;
    this.roleName = this.role.name;
    this.registerOutputs({ roleArn: this.roleArn, roleName: this.roleName });
  }
}

/** Arguments of {@link ProfileArtifactRole}. */
export interface ProfileArtifactRoleArgs {
  /** ARN of the cluster's IAM OIDC provider. */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** ARN of the artifact bucket. */
  readonly bucketArn: pulumi.Input<string>;
  /** The bucket's KMS key, when SSE-KMS. @default - none */
  readonly kmsKeyArn?: pulumi.Input<string | undefined>;
  /** The tenant's (Kubeflow profile's) namespace. */
  readonly namespace: string;
  /**
   * ServiceAccounts of the namespace that get the role.
   * @default ['default-editor'] — what a Kubeflow profile's notebooks and pipeline runs use
   */
  readonly serviceAccounts?: readonly string[];
  /**
   * Key prefixes of the tenant.
   * @default ['private-artifacts/<namespace>'] — where kfkit's Argo configuration writes a namespace's run artifacts
   */
  readonly prefixes?: readonly string[];
  /** Tags of the role. @default - none */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * The reusable per-tenant role: an {@link IrsaRole} for ServiceAccounts of one profile namespace, limited to that
 * tenant's key prefixes of the artifact bucket (`ListBucket` with an `s3:prefix` condition `<prefix>/*`, object
 * actions on `<bucket>/<prefix>/*`), so one tenant's pods cannot read another's artifacts.
 */
export class ProfileArtifactRole extends IrsaRole {
  /** The key prefixes the role is limited to. */
  public readonly prefixes: readonly string[];

  public constructor(name: string, args: ProfileArtifactRoleArgs, opts: pulumi.ComponentResourceOptions = {}) {
    const prefixes = args.prefixes ?? [`private-artifacts/${args.namespace}`];
    const serviceAccounts = (args.serviceAccounts ?? ['default-editor']).map((sa) => ({ namespace: args.namespace, name: sa }));
    super(name, {
      oidcProviderArn: args.oidcProviderArn,
      serviceAccounts,
      s3: { bucketArn: args.bucketArn, prefixes, kmsKeyArn: args.kmsKeyArn },
      description: `kfkit profile ${args.namespace}: artifacts under ${prefixes.join(', ')}`,
      tags: args.tags,
    }, opts, 'kfkit:aws:ProfileArtifactRole');
    this.prefixes = prefixes;
  }
}
