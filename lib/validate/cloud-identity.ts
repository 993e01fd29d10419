/**
 * Rule `static-cloud-keys`: pods that run with a cloud identity bound to their ServiceAccount (AWS IRSA, GKE
 * Workload Identity) must not also carry static credentials, which take precedence in the cloud SDKs' credential
 * chains and silently shadow the role — a known upstream trap (KFP's object-store keys next to IRSA).
 */
import { GKE_SERVICE_ACCOUNT_ANNOTATION, IRSA_ROLE_ANNOTATION } from '../core/artifact-store';
import { Finding, HarnessInput, PlacedObject } from './types';
import { asArray, asRecord, containersOf, finding, isRecord, podTemplateOf } from './util';

/** Rule id of {@link checkStaticCloudKeys}. */
export const STATIC_CLOUD_KEYS_RULE = 'static-cloud-keys';

/** ServiceAccount annotation → environment variables that override that identity. */
const IDENTITIES: readonly { readonly annotation: string; readonly what: string; readonly shadowing: readonly string[] }[] = [
  { annotation: IRSA_ROLE_ANNOTATION, what: 'IRSA role', shadowing: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'] },
  { annotation: GKE_SERVICE_ACCOUNT_ANNOTATION, what: 'Workload Identity', shadowing: ['GOOGLE_APPLICATION_CREDENTIALS'] },
];

/** One environment variable that sets static cloud credentials. */
export interface CloudKeyEnv {
  readonly placed: PlacedObject;
  readonly path: readonly (string | number)[];
  readonly name: string;
  readonly serviceAccount: string;
}

/** Every container env var, in any pod template, named like static AWS or Google credentials. */
export function staticCloudKeyEnvs(input: HarnessInput, names: readonly string[] = IDENTITIES.flatMap((i) => i.shadowing)): CloudKeyEnv[] {
  const out: CloudKeyEnv[] = [];
  for (const placed of input.objects) {
    const template = podTemplateOf(placed.manifest);
    if (!template) continue;
    const serviceAccount = typeof template.spec.serviceAccountName === 'string' ? template.spec.serviceAccountName : 'default';
    for (const { path, container } of containersOf(template, true)) {
      asArray(container.env).forEach((env, index) => {
        if (isRecord(env) && typeof env.name === 'string' && names.includes(env.name)) {
          out.push({ placed, path: [...path, 'env', index], name: env.name, serviceAccount });
        }
      });
    }
  }
  return out;
}

/**
 * Rule `static-cloud-keys`: a pod whose ServiceAccount (in the output) carries `eks.amazonaws.com/role-arn` must not
 * set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_SESSION_TOKEN (literal or from a Secret); one whose ServiceAccount
 * carries `iam.gke.io/gcp-service-account` must not set GOOGLE_APPLICATION_CREDENTIALS.
 */
export function checkStaticCloudKeys(input: HarnessInput): Finding[] {
  const annotations = new Map<string, Record<string, unknown>>();
  for (const { manifest } of input.objects) {
    if (manifest.kind === 'ServiceAccount' && manifest.apiVersion === 'v1') {
      annotations.set(`${manifest.metadata.namespace ?? ''}/${manifest.metadata.name}`, asRecord(manifest.metadata.annotations) ?? {});
    }
  }
  const out: Finding[] = [];
  for (const env of staticCloudKeyEnvs(input)) {
    const sa = annotations.get(`${env.placed.manifest.metadata.namespace ?? ''}/${env.serviceAccount}`) ?? {};
    for (const identity of IDENTITIES) {
      if (typeof sa[identity.annotation] === 'string' && identity.shadowing.includes(env.name)) {
        out.push(finding(STATIC_CLOUD_KEYS_RULE, env.placed, env.path,
          `env ${env.name} shadows the ${identity.what} of ServiceAccount ${env.serviceAccount}; remove it and let the SDK use the role`));
      }
    }
  }
  return out;
}
