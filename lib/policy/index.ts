/**
 * kfkit's Pulumi policy pack: the rules `pulumi preview --policy-pack ./policy` enforces (the pack itself is
 * policy/index.js). The Kubernetes rules are the validation harness's own (lib/validate), run over the stack's
 * objects; the AWS rules guard the cloud resources of the stack.
 *
 * | policy | level | checks |
 * |---|---|---|
 * | `kfkit-platform` | mandatory | every harness rule except the wave ordering ones, on the stack's Kubernetes objects |
 * | `no-public-buckets` | mandatory | public access blocks set all four flags; no public bucket ACL or grant |
 * | `no-public-buckets-stack` | mandatory | every bucket has a public access block |
 * | `encrypted-rds` | mandatory | RDS storage encrypted; instances not publicly accessible |
 * | `no-wildcard-iam` | mandatory | no `*` / service-wide actions; `Resource: "*"` only for `*`-only actions |
 * | `s3-tls-only` | advisory | bucket policies deny requests without TLS |
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { awsPolicies } from './aws';
import { platformPolicy } from './platform';

export * from './aws';
export * from './common';
export * from './iam';
export * from './platform';

/** Every policy of the kfkit pack, in the order Pulumi lists them. */
export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [platformPolicy(), ...awsPolicies];
