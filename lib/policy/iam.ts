/**
 * IAM policy documents: parsing (JSON text or a `PolicyDocument` object, as @pulumi/aws accepts both) and the
 * checks of rule `no-wildcard-iam` and of the TLS-only bucket policy.
 */
import { list, record } from './common';

/** An action that may be granted on `Resource: "*"`, and why. */
export interface WildcardResourceAction {
  /** Action, or an action prefix ending in `*` (then every action starting with the prefix, wildcards included). */
  readonly action: string;
  readonly reason: string;
}

/**
 * Actions that support no resource-level permissions, so `Resource: "*"` is the only way to grant them. The list is
 * small on purpose: add an entry only for an action AWS documents as `*`-only, with the reason.
 */
export const WILDCARD_RESOURCE_ACTIONS: readonly WildcardResourceAction[] = [
  { action: 'sts:GetCallerIdentity', reason: 'returns the caller\'s own identity; no resource-level permissions' },
  { action: 'ecr:GetAuthorizationToken', reason: 'the registry login token is account-wide; the action supports only "*"' },
  { action: 's3:ListAllMyBuckets', reason: 'lists the account\'s buckets; an account-level action' },
  { action: 'ec2:Describe*', reason: 'EC2 Describe actions support no resource-level permissions (cluster autoscaler, load balancer controller, CSI drivers)' },
  { action: 'autoscaling:Describe*', reason: 'Auto Scaling Describe actions support no resource-level permissions (cluster autoscaler)' },
  { action: 'elasticloadbalancing:Describe*', reason: 'Elastic Load Balancing Describe actions support no resource-level permissions (load balancer controller)' },
  { action: 'route53:ListHostedZones', reason: 'lists the account\'s hosted zones; an account-level action (external-dns)' },
];

/** Whether `action` (as written in a policy, case-insensitive) is covered by {@link WILDCARD_RESOURCE_ACTIONS}. */
export function isWildcardResourceAction(action: string): boolean {
  const a = action.toLowerCase();
  return WILDCARD_RESOURCE_ACTIONS.some(({ action: entry }) => {
    const e = entry.toLowerCase();
    return e.endsWith('*') ? a.startsWith(e.slice(0, -1)) : a === e;
  });
}

/** A policy document as an object, or a message saying why it is not one. */
export function parsePolicyDocument(document: unknown): Readonly<Record<string, unknown>> | string {
  if (typeof document === 'string') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(document);
    } catch {
      return 'the policy document is not valid JSON';
    }
    return record(parsed) ?? 'the policy document is not a JSON object';
  }
  return record(document) ?? 'the policy document is neither JSON text nor an object';
}

/** The statements of a parsed policy document (`Statement` may be one object or a list). */
export function statementsOf(document: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>>[] {
  return list(document.Statement).map((s) => record(s) ?? {});
}

function stringList(value: unknown): string[] {
  return list(value).filter((v): v is string => typeof v === 'string');
}

/**
 * Rule `no-wildcard-iam` on one policy document; one message per problem of an `Allow` statement:
 * - `Action: "*"`, or a service-wide action such as `s3:*`;
 * - `NotAction` or `NotResource` (they allow everything not listed);
 * - `Resource: "*"` with an action not in {@link WILDCARD_RESOURCE_ACTIONS}.
 * `Deny` statements may use wildcards. A document that does not parse is a violation too.
 */
export function policyDocumentViolations(document: unknown): string[] {
  const parsed = parsePolicyDocument(document);
  if (typeof parsed === 'string') return [parsed];
  const out: string[] = [];
  statementsOf(parsed).forEach((s, i) => {
    if (s.Effect !== 'Allow') return;
    const where = typeof s.Sid === 'string' && s.Sid !== '' ? `Statement[${i}] (${s.Sid})` : `Statement[${i}]`;
    const actions = stringList(s.Action);
    for (const action of actions) {
      if (action === '*') out.push(`${where}: Action "*" allows every action of every service; list the actions needed`);
      else if (/^[^:]+:\*$/.test(action)) out.push(`${where}: Action "${action}" allows every action of the service; list the actions needed`);
    }
    if (s.NotAction !== undefined) out.push(`${where}: Allow with NotAction allows every action not listed; list the allowed actions instead`);
    if (s.NotResource !== undefined) out.push(`${where}: Allow with NotResource applies to every resource not listed; list the resources instead`);
    if (stringList(s.Resource).includes('*')) {
      const needsArns = actions.filter((a) => !isWildcardResourceAction(a));
      if (needsArns.length > 0 || actions.length === 0) {
        const which = needsArns.length > 0 ? needsArns.join(', ') : 'its actions';
        out.push(`${where}: Resource "*" for ${which}; name the resources (ARNs) — "*" is accepted only for actions without resource-level `
          + `permissions (${WILDCARD_RESOURCE_ACTIONS.map((a) => a.action).join(', ')})`);
      }
    }
  });
  return out;
}

/**
 * Whether a bucket policy document denies every S3 request made without TLS: a `Deny` statement for `s3:*` (or `*`)
 * with the condition `Bool` (or `BoolIfExists`) `aws:SecureTransport` = `false`. `false` when it does not parse.
 */
export function deniesInsecureTransport(document: unknown): boolean {
  const parsed = parsePolicyDocument(document);
  if (typeof parsed === 'string') return false;
  return statementsOf(parsed).some((s) => {
    if (s.Effect !== 'Deny') return false;
    if (!stringList(s.Action).some((a) => a === '*' || a.toLowerCase() === 's3:*')) return false;
    const condition = record(s.Condition) ?? {};
    return ['Bool', 'BoolIfExists'].some((operator) => {
      const tests = record(condition[operator]) ?? {};
      return Object.entries(tests).some(([key, value]) => key.toLowerCase() === 'aws:securetransport'
        && list(value).some((v) => v === false || (typeof v === 'string' && v.toLowerCase() === 'false')));
    });
  });
}
