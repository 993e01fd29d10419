import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { z } from 'zod';
import { PlatformConfig, PlatformConfigInput, platformConfigSchema } from './schema';

/** One problem in a configuration, located by its field path (`database.storage.size`). */
export interface ConfigIssue {
  /** Dotted path of the field, `(root)` for the document itself. */
  readonly path: string;
  /** What is wrong and what is allowed. */
  readonly message: string;
}

/** A configuration that cannot be used. `issues` lists every problem found, not just the first. */
export class ConfigError extends Error {
  /** Issues printed in the message; the rest are counted ("and N more"), so a huge bad file gives bounded output. */
  public static readonly SHOWN = 50;

  public constructor(public readonly source: string, public readonly issues: readonly ConfigIssue[]) {
    const shown = issues.slice(0, ConfigError.SHOWN).map((i) => `  - ${clip(i.path, 200)}: ${clip(i.message, 1000)}`);
    const more = issues.length > ConfigError.SHOWN ? `\n  … and ${issues.length - ConfigError.SHOWN} more` : '';
    super(`${source}: invalid configuration\n${shown.join('\n')}${more}`);
    this.name = 'ConfigError';
  }
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** The largest overlay file kfkit reads (4 MiB): an environment's settings are a few kilobytes. */
export const MAX_OVERLAY_BYTES = 4 * 1024 * 1024;
/** Most YAML aliases an overlay may use (a guard against alias bombs: each is expanded when read). */
export const MAX_OVERLAY_ALIASES = 100;

/**
 * Reads a file kfkit takes as input (an overlay, the image lock; `kind` names it in messages): a regular file (a
 * symbolic link to one is followed) of at most {@link MAX_OVERLAY_BYTES}. A directory, a device, a FIFO, a dangling
 * link, an unreadable or oversized file is a {@link ConfigError} naming it — never a hang or an unbounded read.
 */
export function readInputFile(file: string, field: string, kind = 'an overlay'): string {
  const refuse = (message: string): never => { throw new ConfigError(field, [{ path: field, message: `${file}: ${message}` }]); };
  let fd: number | undefined;
  try {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (!stat) refuse('does not exist (a dangling link?)');
    else if (stat.isDirectory()) refuse(`is a directory, not ${kind} file`);
    else if (!stat.isFile()) refuse(`is not a regular file (a device, FIFO or socket); ${kind} is a file`);
    else if (stat.size > MAX_OVERLAY_BYTES) refuse(`is ${stat.size} bytes; ${kind} may be at most ${MAX_OVERLAY_BYTES} (4 MiB)`);
    // O_NONBLOCK: a FIFO swapped in after the check cannot block the open.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const buffer = Buffer.alloc(MAX_OVERLAY_BYTES + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (length > MAX_OVERLAY_BYTES) refuse(`is larger than ${MAX_OVERLAY_BYTES} bytes (4 MiB), the most ${kind} may be`);
    return buffer.subarray(0, length).toString('utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    return refuse(code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? (e as Error).message})`);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A value with every field optional, at every depth (lists are taken whole). */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Settings of one deployment target (`stacks/<target>.ts`) that overlays layer over. */
export interface StackDefinition {
  /** Name overlays refer to in `stack:`. */
  readonly name: string;
  /** One line for `--help` and README. */
  readonly description: string;
  /**
   * Values applied under the overlay's own (the overlay wins; schema defaults fill the rest). Partial at every
   * depth: a stack may leave to each environment what only it knows (a bucket, a host); {@link resolveConfig}
   * checks the merged document and names any missing field.
   */
  readonly defaults: DeepPartial<Omit<PlatformConfigInput, 'stack'>>;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Deep merge: objects merge key by key, anything else (arrays included) from `over` replaces `base`. An object whose
 * `type` differs from the base's (`database: { type: external }` over a stack's in-cluster database) replaces it:
 * the settings of one variant mean nothing to another.
 */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (!isPlain(base) || !isPlain(over)) return over;
  if (over.type !== undefined && base.type !== undefined && over.type !== base.type) return over;
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeValues(base[k], v);
  return out;
}

function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of p) out += typeof seg === 'number' ? `[${seg}]` : `${out ? '.' : ''}${String(seg)}`;
  return out || '(root)';
}

function valueAt(doc: unknown, p: readonly PropertyKey[]): unknown {
  let cur = doc;
  for (const seg of p) cur = isPlain(cur) && typeof seg === 'string' ? cur[seg] : Array.isArray(cur) && typeof seg === 'number' ? cur[seg] : undefined;
  return cur;
}

/** The union option a discriminated union picks for the input value at `p` (all options if it cannot tell). */
function unionOptions(union: z.ZodDiscriminatedUnion, doc: unknown, p: readonly PropertyKey[]): z.ZodObject[] {
  const options = union.options.filter((o): o is z.ZodObject => o instanceof z.ZodObject);
  const value = valueAt(doc, p);
  const discriminator = union.def.discriminator;
  const chosen = isPlain(value) ? options.filter((o) => {
    const field: unknown = o.shape[discriminator];
    return field instanceof z.ZodLiteral && field.values.has(value[discriminator] as never);
  }) : [];
  return chosen.length > 0 ? chosen : options;
}

/** The strict object schema reached by following `p` from the root, to list the keys allowed there. */
function objectShapeAt(p: readonly PropertyKey[], doc: unknown): string[] | undefined {
  let schema: z.ZodType = platformConfigSchema;
  const unwrap = (s: z.ZodType): z.ZodType => {
    let cur: z.ZodType = s;
    for (;;) {
      if (cur instanceof z.ZodDefault || cur instanceof z.ZodPrefault || cur instanceof z.ZodOptional) cur = cur.unwrap() as z.ZodType;
      else if (cur instanceof z.ZodPipe) cur = cur.in as z.ZodType;
      else return cur;
    }
  };
  for (const [i, seg] of p.entries()) {
    const cur = unwrap(schema);
    if (cur instanceof z.ZodObject && typeof seg === 'string' && seg in cur.shape) schema = cur.shape[seg] as z.ZodType;
    else if (cur instanceof z.ZodDiscriminatedUnion && typeof seg === 'string') {
      const opt = unionOptions(cur, doc, p.slice(0, i)).find((o) => seg in o.shape);
      if (!opt) return undefined;
      schema = opt.shape[seg] as z.ZodType;
    } else return undefined;
  }
  const last = unwrap(schema);
  if (last instanceof z.ZodObject) return Object.keys(last.shape).sort();
  if (last instanceof z.ZodDiscriminatedUnion) return [...new Set(unionOptions(last, doc, p).flatMap((o) => Object.keys(o.shape)))].sort();
  return undefined;
}

/** Turns zod issues into field-path messages that say what is allowed. */
export function describeIssues(error: z.ZodError, doc?: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = objectShapeAt(issue.path, doc);
      for (const key of issue.keys) {
        issues.push({
          path: formatPath([...issue.path, key]),
          message: `unknown key${allowed ? `; allowed keys here: ${allowed.join(', ')}` : ''}`,
        });
      }
    } else if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray(issue.options)) {
      // A discriminated union: zod already points the path at the discriminator field.
      issues.push({ path: formatPath(issue.path), message: `must be one of: ${issue.options.map((v) => JSON.stringify(v)).join(', ')}` });
    } else if (issue.code === 'invalid_value') {
      issues.push({ path: formatPath(issue.path), message: `must be one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}` });
    } else if (issue.code === 'invalid_type') {
      issues.push({ path: formatPath(issue.path), message: issue.input === undefined ? `required (${issue.expected})` : `must be a ${issue.expected}` });
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return issues.sort((a, b) => a.path.localeCompare(b.path) || a.message.localeCompare(b.message));
}

/**
 * Validates an overlay document (already parsed from YAML) against the stacks it may name, and returns the
 * configuration with stack values and defaults applied. Throws {@link ConfigError} listing every problem.
 */
export function resolveConfig(doc: unknown, stacks: readonly StackDefinition[], source = 'overlay'): PlatformConfig {
  if (!isPlain(doc)) {
    throw new ConfigError(source, [{ path: '(root)', message: `must be a mapping of settings, got ${doc === null ? 'an empty document' : Array.isArray(doc) ? 'a list' : typeof doc}` }]);
  }
  const names = stacks.map((s) => s.name).sort();
  if (typeof doc.stack !== 'string') {
    throw new ConfigError(source, [{ path: 'stack', message: `required: the stack this overlay layers over, one of: ${names.join(', ')}` }]);
  }
  const stack = stacks.find((s) => s.name === doc.stack);
  if (!stack) throw new ConfigError(source, [{ path: 'stack', message: `unknown stack "${doc.stack}"; allowed: ${names.join(', ')}` }]);
  const merged = mergeValues(stack.defaults, doc);
  const result = platformConfigSchema.safeParse(merged, { reportInput: true });
  if (!result.success) throw new ConfigError(source, describeIssues(result.error, merged));
  return Object.freeze(result.data);
}

/** Names of the overlays in a directory (`<env>.yaml`), sorted. */
export function listOverlays(overlaysDir: string): string[] {
  if (!fs.existsSync(overlaysDir)) return [];
  return fs.readdirSync(overlaysDir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

const ENV_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** An overlay file as written, before any stack value, default or cloud value is applied. */
export interface OverlayDocument {
  /** The file read, `<overlaysDir>/<env>.yaml`. */
  readonly file: string;
  /** Its parsed YAML. */
  readonly doc: unknown;
}

/**
 * Reads `overlays/<env>.yaml` without resolving it. A bad environment name, a missing file or a YAML error is a
 * {@link ConfigError}; `field` names where the environment came from (`--env`, `kfkit:env`).
 */
export function readOverlayDocument(overlaysDir: string, env: string, field = '--env'): OverlayDocument {
  const available = listOverlays(overlaysDir);
  if (!ENV_NAME.test(env)) {
    throw new ConfigError(field, [{ path: field, message: `"${env}" is not an environment name (lowercase letters, digits, '-'); available: ${available.join(', ')}` }]);
  }
  const file = path.join(overlaysDir, `${env}.yaml`);
  if (!available.includes(env)) {
    throw new ConfigError(field, [{ path: field, message: `no overlay "${env}" (looked for ${file}); available: ${available.join(', ') || 'none'}` }]);
  }
  // Duplicate keys are found by duplicateKeys (linear): the yaml library's own check is quadratic in a map's size.
  const parsed = YAML.parseDocument(readInputFile(file, field), { prettyErrors: true, uniqueKeys: false });
  if (parsed.errors.length > 0) {
    throw new ConfigError(file, parsed.errors.map((e) => ({ path: '(yaml)', message: e.message.split('\n')[0] ?? e.message })));
  }
  const duplicates = duplicateKeys(parsed);
  if (duplicates.length > 0) throw new ConfigError(file, duplicates);
  try {
    return { file, doc: parsed.toJS({ maxAliasCount: MAX_OVERLAY_ALIASES }) };
  } catch (e) {
    // The yaml library refuses an alias bomb (too many expanded aliases) with a ReferenceError.
    if (!(e instanceof ReferenceError)) throw e;
    throw new ConfigError(file, [{ path: '(yaml)', message: `${e.message.split('\n')[0]}: an overlay may expand at most ${MAX_OVERLAY_ALIASES} aliases` }]);
  }
}

/** Keys given twice in one mapping of a YAML document, with the path of the mapping. */
function duplicateKeys(doc: YAML.Document): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  YAML.visit(doc, {
    Map(_key, map, ancestors) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        if (seen.has(key)) {
          const where = ancestors.filter((a): a is YAML.Pair => YAML.isPair(a)).map((a) => (YAML.isScalar(a.key) ? String(a.key.value) : String(a.key)));
          issues.push({ path: formatPath([...where, key]), message: 'given twice in the same mapping; keep one' });
        }
        seen.add(key);
      }
    },
  });
  return issues;
}

/** Reads and resolves `overlays/<env>.yaml`. Every failure is a {@link ConfigError} naming the file and field. */
export function loadOverlay(overlaysDir: string, env: string, stacks: readonly StackDefinition[]): PlatformConfig {
  const { file, doc } = readOverlayDocument(overlaysDir, env);
  return resolveConfig(doc, stacks, file);
}
