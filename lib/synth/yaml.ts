/**
 * The YAML writer of synthesized manifests: block-style YAML for JSON values (objects, arrays, strings, finite numbers,
 * booleans, null), written directly from the values.
 *
 * Why not a general library: manifests are plain JSON data, and at tenant scale (a thousand profiles, twenty thousand
 * objects) writing them dominated synthesis — the `yaml` package builds a document tree per object (~15x slower than
 * this), `js-yaml` ~4x. What a general writer decides per value is decided here by three conservative rules, and
 * `test/yaml.test.ts` parses every manifest of every overlay back (with the `yaml` package) and compares it with the
 * value, plus the edge cases of each rule:
 *
 * - a string is written plain only when it cannot be read as anything else by a YAML 1.1 or 1.2 reader (kubectl and
 *   Flux read YAML 1.1: `yes`, `on`, `y` are booleans there): it starts with a letter, `_` or `/`, has only letters,
 *   digits and `_./=+-@`, a `:` that is not last, and is none of the 1.1/1.2 special words; otherwise double-quoted
 *   with JSON's escapes, which YAML's double-quoted style reads alike;
 * - a string with line breaks is a literal block (`|`, `|-`) when that keeps it exactly (printable characters, no
 *   trailing blanks on a line, no leading blank on the first line with content, at most one final line break); otherwise
 *   quoted;
 * - empty objects and arrays are written `{}` and `[]`; keys follow the string rules; undefined values are left out,
 *   as JSON leaves them out.
 */

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./=+@:-]*$/;
/** Words YAML 1.1 or 1.2 read as booleans or null (any case), which must stay strings. */
const SPECIAL = /^(y|n|yes|no|on|off|true|false|null)$/i;
/** What a literal block can hold exactly: printable characters and tabs. */
const BLOCK_SAFE = /^[\t\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]*$/;

function plain(s: string): boolean {
  return PLAIN.test(s) && !SPECIAL.test(s) && !s.endsWith(':');
}

/** A scalar string in flow position (a key or a one-line value). */
function quoted(s: string): string {
  return plain(s) ? s : JSON.stringify(s);
}

/** The lines of `s` as a literal block below `indent`, or undefined when a block would not keep it exactly. */
function literalBlock(s: string, indent: string): string[] | undefined {
  const trailing = s.endsWith('\n');
  const body = trailing ? s.slice(0, -1) : s;
  if (body.endsWith('\n') || body.length === 0) return undefined;
  const lines = body.split('\n');
  // The first line with content sets the block's indentation: it must not start with a blank.
  const first = lines.find((line) => line.length > 0) ?? '';
  if (first.startsWith(' ') || first.startsWith('\t')) return undefined;
  for (const line of lines) {
    if (!BLOCK_SAFE.test(line) || /[ \t]$/.test(line)) return undefined;
  }
  return [trailing ? '|' : '|-', ...lines.map((line) => (line.length === 0 ? '' : indent + line))];
}

function isEmptyCollection(v: unknown): boolean {
  return typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0);
}

function scalar(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return quoted(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as YAML: manifests hold finite numbers only`);
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return '[]';
  if (typeof v === 'object') return '{}';
  throw new Error(`cannot write a ${typeof v} as YAML`);
}

/** Writes `value` (after `head`, e.g. `key:` or `-`) into `out`, its nested lines indented by `indent`. */
function node(head: string, value: unknown, indent: string, out: string[]): void {
  if (typeof value === 'object' && value !== null && !isEmptyCollection(value)) {
    if (Array.isArray(value)) {
      out.push(head);
      items(value, indent, out);
    } else {
      out.push(head);
      entries(value as Record<string, unknown>, indent, out);
    }
    return;
  }
  if (typeof value === 'string' && value.includes('\n')) {
    const block = literalBlock(value, indent);
    if (block) {
      out.push(`${head} ${block[0]}`);
      for (let i = 1; i < block.length; i++) out.push(block[i]);
      return;
    }
  }
  out.push(`${head} ${scalar(value)}`);
}

function entries(map: Record<string, unknown>, indent: string, out: string[]): void {
  for (const key of Object.keys(map)) {
    const value = map[key];
    if (value === undefined) continue;
    node(`${indent}${quoted(key)}:`, value, `${indent}  `, out);
  }
}

function items(list: readonly unknown[], indent: string, out: string[]): void {
  for (const item of list) {
    if (typeof item === 'object' && item !== null && !isEmptyCollection(item)) {
      // The item's first line goes after the dash; the rest keep the item's indentation.
      const nested: string[] = [];
      if (Array.isArray(item)) items(item, `${indent}  `, nested);
      else entries(item as Record<string, unknown>, `${indent}  `, nested);
      out.push(`${indent}- ${nested[0].slice(indent.length + 2)}`);
      for (let i = 1; i < nested.length; i++) out.push(nested[i]);
    } else {
      node(`${indent}-`, item === undefined ? null : item, `${indent}  `, out);
    }
  }
}

/** `value` as a YAML document (ending in a line break). Top-level objects and arrays only. */
export function toYaml(value: unknown): string {
  if (typeof value !== 'object' || value === null) return `${scalar(value)}\n`;
  if (isEmptyCollection(value)) return `${scalar(value)}\n`;
  const out: string[] = [];
  if (Array.isArray(value)) items(value, '', out);
  else entries(value as Record<string, unknown>, '', out);
  return `${out.join('\n')}\n`;
}
