import { z } from 'zod';

/** Building blocks shared by the configuration schemas. */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A DNS label (a Kubernetes name of most kinds); `what` names the field in messages. */
export const dnsLabel = (what: string) =>
  z.string().max(63, `${what} must be at most 63 characters`).regex(DNS_LABEL, `${what} must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit`);

/** A key of a named Secret. */
export const secretKeyRef = z.strictObject({
  name: dnsLabel('Secret name'),
  key: z.string().min(1).regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key (letters, digits, -, _, .)'),
});

/** A release number, major.minor[.patch]. */
export const RELEASE_PATTERN = /^\d+\.\d+(\.\d+)?$/;

/** Whether release `version` (major.minor[.patch]) is at least `min`. */
export function atLeast(version: string, min: string): boolean {
  const parts = (v: string) => v.split('.').map(Number);
  const [a, b] = [parts(version), parts(min)];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}
