import { z } from 'zod';
import { annotationsBytes, MAX_ANNOTATIONS_BYTES, qualifiedKeyProblem } from '../core/labels';

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

/**
 * Why `cidr` is not an IPv4 CIDR block the API server accepts (NetworkPolicy `ipBlock.cidr`), or `undefined`: four
 * octets of 0-255, a prefix length of 0-32.
 */
export function ipv4CidrProblem(cidr: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return 'must be an IPv4 CIDR block such as 203.0.113.0/24';
  if (m.slice(1, 5).some((o) => Number(o) > 255)) return `"${cidr}": each of the four numbers of an IPv4 address is 0-255`;
  if (Number(m[5]) > 32) return `"${cidr}": the prefix length of an IPv4 block is 0-32`;
  return undefined;
}

/** An IPv4 CIDR block the API server accepts ({@link ipv4CidrProblem}). */
export const ipv4Cidr = z.string().superRefine((value, ctx) => {
  const problem = ipv4CidrProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * Annotations (of an object kfkit writes): every key a qualified name, all of them together within the API server's
 * limit of 256 KiB.
 */
export const annotationMap = z.record(z.string(), z.string()).superRefine((value, ctx) => {
  for (const key of Object.keys(value)) {
    const problem = qualifiedKeyProblem(key, 'annotation key');
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `"${key.length > 80 ? `${key.slice(0, 80)}…` : key}": ${problem}` });
  }
  const bytes = annotationsBytes(value);
  if (bytes > MAX_ANNOTATIONS_BYTES) ctx.addIssue({ code: 'custom', message: `annotations take ${bytes} bytes; Kubernetes accepts at most ${MAX_ANNOTATIONS_BYTES} (256 KiB)` });
});
