/**
 * kfkit facts tool: turns an upstream render into kfkit's facts file.
 *
 *   npx tsx tools/facts/extract.ts --render /tmp/upstream/render/kfp.yaml --source kfp \
 *     --upstream kubeflow/pipelines --version 2.17.0 --ref <commit> \
 *     [--render-path 'manifests/kustomize/...'] [--note '...'] --out facts/upstream.json [--merge]
 *
 * Errors print one line to stderr and exit with status 2. See tools/facts/README.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadFacts } from '../../lib/validate/fidelity';
import { emptyFacts, extractFacts, mergeFacts, parseRender, serializeFacts } from './facts';

const USAGE =
  'usage: extract.ts --render <file.yaml> --source <id> --upstream <owner/repo> --version <v> --ref <commit> ' +
  '--out <facts.json> [--render-path <what was rendered>] [--note <text>] [--merge]';

const VALUE_OPTIONS = ['render', 'source', 'upstream', 'version', 'ref', 'out', 'render-path', 'note'] as const;
type ValueOption = (typeof VALUE_OPTIONS)[number];

/** Parsed command line. */
export interface ExtractArgs {
  readonly values: Readonly<Partial<Record<ValueOption, string>>>;
  readonly merge: boolean;
}

/** A usage or input error: printed as one line, exit status 2. */
export class ToolError extends Error {}

/** Parses the command line (without `node` and the script). */
export function parseArgs(argv: readonly string[]): ExtractArgs {
  const values: Partial<Record<ValueOption, string>> = {};
  let merge = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--merge') {
      merge = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)) as ValueOption;
    if (!arg.startsWith('--') || !VALUE_OPTIONS.includes(name)) throw new ToolError(`unknown argument ${arg}; ${USAGE}`);
    let value: string | undefined;
    if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      i += 1;
      value = argv.at(i);
    }
    if (value === undefined || value === '') throw new ToolError(`--${name} needs a value; ${USAGE}`);
    values[name] = value;
  }
  return { values, merge };
}

/**
 * Runs the tool; returns the exit status (0, 2 for a usage or input error, 1 for an internal error). Messages go to
 * `log` (stdout) and `fail` (stderr), one line each, never a stack trace.
 */
export function main(
  argv: readonly string[],
  log: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  fail: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): number {
  try {
    const { values, merge } = parseArgs(argv);
    const need = (name: ValueOption): string => {
      const v = values[name];
      if (!v) throw new ToolError(`--${name} is required; ${USAGE}`);
      return v;
    };
    const render = need('render');
    const meta = {
      source: need('source'),
      upstream: need('upstream'),
      version: need('version'),
      ref: need('ref'),
      renderPath: values['render-path'] ?? basename(render),
      ...(values.note ? { note: values.note } : {}),
    };
    const out = need('out');
    let text: string;
    try {
      text = readFileSync(render, 'utf8');
    } catch (e) {
      throw new ToolError(`cannot read ${render}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let objects;
    try {
      objects = parseRender(text);
    } catch (e) {
      throw new ToolError(`${render}: ${(e as Error).message}`);
    }
    if (objects.length === 0) throw new ToolError(`${render} holds no Kubernetes objects`);
    const update = extractFacts(objects, meta);
    let base = emptyFacts();
    if (merge && existsSync(out)) {
      try {
        base = loadFacts(out);
      } catch (e) {
        throw new ToolError((e as Error).message);
      }
    }
    const facts = mergeFacts(base, update);
    try {
      writeFileSync(out, serializeFacts(facts));
    } catch (e) {
      throw new ToolError(`cannot write ${out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    log(
      `facts: ${meta.source}: ${update.workloads.length} workloads, ${update.serviceAccounts.length} service accounts, ` +
        `${update.services.length} services, ${update.crds.length} CRDs -> ${out}`,
    );
    return 0;
  } catch (e) {
    if (e instanceof ToolError) {
      fail(`facts: ${e.message}`);
      return 2;
    }
    fail(`facts: internal error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
