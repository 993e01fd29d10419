import * as fs from 'fs';
import * as path from 'path';
import { ORDER_RULES, validate } from './harness';
import { DIST_METADATA_FILE, loadDist, loadManifestFiles } from './load';
import { Finding, HarnessInput } from './types';
import { objectId } from './util';

/**
 * The part of cdk8s-cli's validation context kfkit uses (structural, so cdk8s-cli need not be a dependency).
 * See cdk8s-cli `src/plugins/validation.ts`.
 */
export interface Cdk8sValidationContext {
  readonly manifests: readonly string[];
  readonly report: {
    addViolation(violation: {
      readonly ruleName: string;
      readonly recommendation: string;
      readonly fix: string;
      readonly violatingResources: { readonly resourceName: string; readonly locations: string[]; readonly manifestPath: string }[];
    }): void;
    submit(status: 'success' | 'failure', metadata?: Record<string, string>): void;
  };
}

/** Properties from cdk8s.yaml (`validations[].properties`). */
export interface KfkitValidationProps {
  /**
   * Rule ids to skip.
   * @default - none; for manifests outside a kfkit tree, `wave-order` and `provider-order` are always skipped (plain
   *   cdk8s output has no waves)
   */
  readonly skipRules?: readonly string[];
}


const FIX: Readonly<Record<string, string>> = {
  'openapi': 'Fix the field so the object matches the Kubernetes API schema.',
  'crd': 'Fix the field to match the CRD schema, install the CRD, or declare the API external (KfkitContext.addExternalApi).',
  'duplicate': 'Remove one of the objects or rename it.',
  'dangling-reference': 'Create the referenced object, declare its provider (kfkit.dev/provides) or declare it external.',
  'provider-order': 'Move the provider into an earlier wave than its consumers (InstallPlan.addWave/assign).',
  'resources': 'Set cpu and memory requests and a memory limit on the container.',
  'image-tag': 'Pin the image to a tag or digest.',
  'secret-values': 'Reference a Secret instead of a literal; generate credentials in the cluster.',
  'wave-order': 'Install the CRD / Namespace in an earlier wave.',
  'webhook-order': 'Install the webhook and its workload in a wave before the objects it intercepts (InstallPlan.addWave).',
};

/** Finds the kfkit tree (a directory holding kfkit.json) a manifest belongs to, if any. */
function treeOf(file: string): string | undefined {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (fs.existsSync(path.join(dir, DIST_METADATA_FILE))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * kfkit's validation harness as a cdk8s validation plugin, so `cdk8s synth` in an org's stack runs it:
 *
 * ```yaml
 * validations:
 *   - package: ./node_modules/kfkit   # or ./ inside kfkit itself
 *     version: 0.1.0
 *     class: KfkitValidation
 * ```
 *
 * Manifests inside a kfkit tree (kfkit.json) are validated as that tree, waves included; any other manifests
 * together, without the ordering rules.
 */
export class KfkitValidation {
  private readonly skip: ReadonlySet<string>;

  public constructor(props: KfkitValidationProps = {}) {
    this.skip = new Set(props.skipRules ?? []);
  }

  public validate(context: Cdk8sValidationContext): Promise<void> {
    const trees = new Set<string>();
    const loose: string[] = [];
    for (const file of context.manifests) {
      const tree = treeOf(file);
      if (tree) trees.add(tree);
      else loose.push(file);
    }
    const findings: { finding: Finding; root: string; input: HarnessInput }[] = [];
    for (const tree of [...trees].sort()) {
      const input = loadDist(tree);
      for (const finding of validate(input)) findings.push({ finding, root: tree, input });
    }
    if (loose.length > 0) {
      const root = process.cwd();
      const input: HarnessInput = { objects: loadManifestFiles(root, loose) };
      for (const finding of validate(input)) if (!ORDER_RULES.includes(finding.rule)) findings.push({ finding, root, input });
    }
    const byRule = new Map<string, typeof findings>();
    for (const f of findings.filter((x) => !this.skip.has(x.finding.rule))) byRule.set(f.finding.rule, [...(byRule.get(f.finding.rule) ?? []), f]);
    for (const [rule, list] of [...byRule.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      context.report.addViolation({
        ruleName: rule,
        recommendation: list.map((f) => `${f.finding.object}: ${f.finding.message}`).join('\n'),
        fix: FIX[rule] ?? 'See the message.',
        violatingResources: list.map(({ finding, root, input }) => {
          const placed = input.objects.find((o) => objectId(o.manifest) === finding.object);
          return {
            resourceName: finding.object,
            locations: finding.path ? [finding.path] : [],
            // Sources are `file`, `file#doc` or `file[#doc].items[i]`.
            manifestPath: placed?.source ? path.join(root, placed.source.replace(/(#\d+)?(\.items\[\d+\])?$/, '')) : root,
          };
        }),
      });
    }
    context.report.submit(byRule.size === 0 ? 'success' : 'failure', { findings: String(findings.length) });
    return Promise.resolve();
  }
}
