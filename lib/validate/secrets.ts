/**
 * Rule `secret-values`: the output carries no secret values.
 */
import { Finding, HarnessInput } from './types';
import { apiGroup, asArray, asRecord, containersOf, finding, isRecord, podTemplateOf } from './util';

/** Rule id of {@link checkSecretValues}. */
export const SECRET_VALUES_RULE = 'secret-values';

/** Substrings (case-insensitive) of environment variable names that hold credentials. */
export const CREDENTIAL_NAME_PARTS: readonly string[] = [
  'PASSWORD', 'PASSWD', 'SECRET', 'TOKEN', 'ACCESS_KEY', 'SECRET_KEY', 'API_KEY', 'PRIVATE_KEY', 'CREDENTIAL',
];

/** Whether an environment variable name looks like it holds a credential. */
export function isCredentialName(name: string): boolean {
  const upper = name.toUpperCase();
  return CREDENTIAL_NAME_PARTS.some((part) => upper.includes(part));
}

const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * Whether a literal value of a credential-named variable is harmless: a file path, a boolean flag, or — for a
 * variable named `…_NAME` (KServe's `SECRET_NAME`) — the name of a Kubernetes object, a reference rather than a value.
 */
export function isHarmlessLiteral(value: string, name = ''): boolean {
  const lower = value.toLowerCase();
  return value.startsWith('/') || lower === 'true' || lower === 'false' || (name.toUpperCase().endsWith('_NAME') && OBJECT_NAME.test(value));
}

/**
 * Rule `secret-values`: GitOps output carries no secret values.
 *
 * - A core `Secret` with a non-empty `data` or `stringData` is a finding (at `data` / `stringData`, naming the keys).
 *   Secrets are created on the cluster (by a provider such as a Certificate or a credentials Job, or by the admins).
 * - An environment variable of a container, init container or ephemeral container of a pod template whose name
 *   contains (case-insensitive) PASSWORD, PASSWD, SECRET, TOKEN, ACCESS_KEY, SECRET_KEY, API_KEY, PRIVATE_KEY or
 *   CREDENTIAL and that has a literal `value` is a finding — whatever the value, the empty string included — unless
 *   the value starts with `/` (a path to a mounted file), is `true`/`false` (case-insensitive; a flag), or the name ends
 *   in `_NAME` and the value is an object name (a reference to a Secret, not its content). Use `valueFrom.secretKeyRef`
 *   instead.
 */
export function checkSecretValues(input: HarnessInput): Finding[] {
  const out: Finding[] = [];
  for (const placed of input.objects) {
    const { manifest } = placed;
    if (manifest.kind === 'Secret' && apiGroup(manifest.apiVersion) === '') {
      for (const field of ['data', 'stringData'] as const) {
        const keys = Object.keys(asRecord(manifest[field]) ?? {});
        if (keys.length > 0) {
          const message = `Secret carries values in ${field} (keys: ${keys.sort().join(', ')}); GitOps output must not`;
          out.push(finding(SECRET_VALUES_RULE, placed, [field], message));
        }
      }
    }
    const template = podTemplateOf(manifest);
    if (!template) continue;
    for (const { path, container } of containersOf(template, true)) {
      asArray(container.env).forEach((env, index) => {
        if (!isRecord(env) || typeof env.name !== 'string' || !isCredentialName(env.name)) return;
        if (env.value === undefined || env.value === null) return;
        const value = typeof env.value === 'string' ? env.value : JSON.stringify(env.value);
        if (isHarmlessLiteral(value, env.name)) return;
        out.push(finding(SECRET_VALUES_RULE, placed, [...path, 'env', index, 'value'],
          `env ${env.name} looks like a credential but has a literal value; use valueFrom.secretKeyRef`));
      });
    }
  }
  return out;
}
