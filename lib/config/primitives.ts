import { z } from 'zod';
import { annotationsBytes, MAX_ANNOTATIONS_BYTES, qualifiedKeyProblem } from '../core/labels';
import { ipv4CidrProblem } from '../core/addresses';

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

/** An IPv4 CIDR block the API server accepts ({@link ipv4CidrProblem}). */
export const ipv4Cidr = z.string().superRefine((value, ctx) => {
  const problem = ipv4CidrProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * `cidrs` and `anyAddress` of one destination outside the cluster (`what`): where the platform's egress to it may go.
 * Which of them a config must give is checked with the whole config (`egressDestinations` in schema.ts).
 */
export const egressFields = (what: string, how: string) => ({
  cidrs: z.array(ipv4Cidr).default([]).meta({
    description: `IPv4 blocks of ${what}: the only destinations of the egress to it (${how}). Required unless anyAddress.`,
  }),
  anyAddress: z.boolean().default(false).meta({
    description: `Allow the egress to ${what} on every address (0.0.0.0/0) instead of cidrs: an explicit opt-in, warned about at every synth. Default: false.`,
  }),
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

/** Options of {@link dnsNameProblem}. */
export interface DnsNameOptions {
  /** Accept a leading `*.` (a wildcard host). */
  readonly wildcard?: boolean;
  /** Accept upper-case letters (host names are case-insensitive; Kubernetes names are not). */
  readonly upperCase?: boolean;
}

/**
 * Why `name` is not a DNS name (a host name, or a Kubernetes DNS subdomain), or `undefined`: dot-separated labels of
 * 1-63 letters, digits and '-' that start and end with a letter or digit, at most 253 characters in all.
 */
export function dnsNameProblem(name: string, options: DnsNameOptions = {}): string | undefined {
  const bare = options.wildcard && name.startsWith('*.') ? name.slice(2) : name;
  if (bare.length === 0) return 'must not be empty';
  if (name.length > 253) return `is ${name.length} characters; a DNS name is at most 253`;
  const label = options.upperCase ? /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/ : /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  for (const part of bare.split('.')) {
    if (part.length === 0) return `"${name}" has an empty label (a leading, trailing or doubled '.')`;
    if (part.length > 63) return `"${name}": the label "${part.slice(0, 20)}…" is ${part.length} characters; a DNS label is at most 63`;
    if (!label.test(part)) {
      return `"${name}": the label "${part}" must be ${options.upperCase ? 'letters' : 'lowercase letters'}, digits and '-', starting and ending with a letter or digit`;
    }
  }
  return undefined;
}

/** A DNS name ({@link dnsNameProblem}); `what` names the field in messages. */
export const dnsName = (what: string, options: DnsNameOptions = {}) => z.string().superRefine((value, ctx) => {
  const problem = dnsNameProblem(value, options);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${what} ${problem}` });
});

/**
 * Why `value` is not `host[:port]` with a DNS host name (or IPv4 address) and a port of 1-65535, or `undefined`.
 */
export function hostPortProblem(value: string): string | undefined {
  const m = /^([^:/]*)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return 'must be host[:port], without a scheme or path';
  const problem = dnsNameProblem(m[1], { upperCase: true });
  if (problem !== undefined) return `host ${problem}`;
  const port = m[2] as string | undefined;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `port ${port} must be 1-65535`;
  return undefined;
}

/** A registry with an optional path (`registry.corp.example:5000/kubeflow`), as image references use it. */
export function registryProblem(value: string): string | undefined {
  const [host, ...segments] = value.split('/');
  const hostProblem = hostPortProblem(host);
  if (hostProblem !== undefined) return `${hostProblem} (a registry host with an optional path, without a scheme, e.g. registry.corp.example/kubeflow)`;
  if (host !== host.toLowerCase()) return 'the registry host must be lowercase';
  for (const s of segments) {
    if (!/^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/.test(s)) {
      return `path segment "${s}" must be lowercase letters and digits, separated by '.', '_', '__' or '-' (no empty segment, no '..')`;
    }
  }
  return undefined;
}
