/**
 * The validation harness: runs every check over placed manifests and reports sorted findings.
 */
import { APPLY_STABLE_RULE, checkApplyStable } from './apply-stable';
import { checkStaticCloudKeys, STATIC_CLOUD_KEYS_RULE } from './cloud-identity';
import { checkCustomResources, CRD_RULE } from './crd';
import { checkDuplicates, DUPLICATE_RULE } from './duplicate';
import { checkImageTags, IMAGE_TAG_RULE } from './images';
import { checkMetadata, METADATA_RULE } from './metadata';
import { checkGatewayAuthorization, checkGatewayHosts, GATEWAY_AUTHZ_RULE, GATEWAY_HOSTS_RULE } from './mesh';
import { checkOpenApi, OPENAPI_RULE } from './openapi';
import { checkReferences, DANGLING_REFERENCE_RULE, PROVIDER_ORDER_RULE, PROVIDES_ANNOTATION_RULE } from './references';
import { checkResources, RESOURCES_RULE } from './resources';
import { checkSecretValues, SECRET_VALUES_RULE } from './secrets';
import { Finding, HarnessInput } from './types';
import { compareStrings } from './util';
import { checkWaveOrder, WAVE_ORDER_RULE } from './waves';
import { checkWebhookOrder, WEBHOOK_ORDER_RULE } from './webhooks';

/** A check of the harness. */
export interface Check {
  /** Rule ids the check reports. */
  readonly rules: readonly string[];
  /** Runs the check. */
  readonly run: (input: HarnessInput) => Finding[];
}

/** Every check {@link validate} runs, in order. */
export const CHECKS: readonly Check[] = [
  { rules: [OPENAPI_RULE], run: checkOpenApi },
  { rules: [CRD_RULE], run: checkCustomResources },
  { rules: [DUPLICATE_RULE], run: checkDuplicates },
  { rules: [DANGLING_REFERENCE_RULE, PROVIDER_ORDER_RULE, PROVIDES_ANNOTATION_RULE], run: checkReferences },
  { rules: [RESOURCES_RULE], run: checkResources },
  { rules: [IMAGE_TAG_RULE], run: checkImageTags },
  { rules: [SECRET_VALUES_RULE], run: checkSecretValues },
  { rules: [WAVE_ORDER_RULE], run: checkWaveOrder },
  { rules: [WEBHOOK_ORDER_RULE], run: checkWebhookOrder },
  { rules: [STATIC_CLOUD_KEYS_RULE], run: checkStaticCloudKeys },
  { rules: [GATEWAY_AUTHZ_RULE], run: checkGatewayAuthorization },
  { rules: [GATEWAY_HOSTS_RULE], run: checkGatewayHosts },
  { rules: [APPLY_STABLE_RULE], run: checkApplyStable },
  { rules: [METADATA_RULE], run: checkMetadata },
];

/**
 * Rules that need kfkit's install waves. Output without waves (plain cdk8s output, a Pulumi stack ordered by
 * dependsOn) is validated without them.
 */
export const ORDER_RULES: readonly string[] = [WAVE_ORDER_RULE, PROVIDER_ORDER_RULE, WEBHOOK_ORDER_RULE];

/** Every rule id the harness can report. */
export const RULES: readonly string[] = CHECKS.flatMap((c) => c.rules);

/** Orders findings by object, rule, path and message, dropping exact duplicates. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const sorted = [...findings].sort((a, b) =>
    compareStrings(a.object, b.object) || compareStrings(a.rule, b.rule) || compareStrings(a.path ?? '', b.path ?? '')
    || compareStrings(a.message, b.message));
  return sorted.filter((f, i) => {
    if (i === 0) return true;
    const prev = sorted[i - 1];
    return prev.object !== f.object || prev.rule !== f.rule || prev.path !== f.path || prev.message !== f.message;
  });
}

/**
 * Validates placed manifests: runs every check of {@link CHECKS} (rules `openapi`, `crd`, `duplicate`,
 * `dangling-reference`, `provider-order`, `provides-annotation`, `resources`, `image-tag`, `secret-values`,
 * `wave-order`, `webhook-order`, `static-cloud-keys`, `gateway-authz`, `gateway-hosts`) and returns their findings sorted by
 * object, rule, path and message. An empty array means valid.
 */
export function validate(input: HarnessInput): Finding[] {
  return sortFindings(CHECKS.flatMap((check) => check.run(input)));
}

/** Renders findings for a terminal, one line each: `rule  object  path: message` (`rule  object  message` without a path). */
export function formatFindings(findings: readonly Finding[]): string {
  return findings.map((f) => (f.path ? `${f.rule}  ${f.object}  ${f.path}: ${f.message}` : `${f.rule}  ${f.object}  ${f.message}`)).join('\n');
}
