/**
 * Kubernetes resource quantities (`500m`, `1.5`, `512Mi`, `2Gi`, `1G`) parsed to numbers, so config can be
 * validated (a request above its limit) and converted to cdk8s-plus resource types.
 */

const SUFFIX: ReadonlyMap<string, number> = new Map([
  ['m', 1e-3], ['k', 1e3], ['M', 1e6], ['G', 1e9], ['T', 1e12], ['P', 1e15],
  ['Ki', 2 ** 10], ['Mi', 2 ** 20], ['Gi', 2 ** 30], ['Ti', 2 ** 40], ['Pi', 2 ** 50],
]);

/** Matches a quantity kfkit accepts: a non-negative decimal with an optional SI or binary suffix. */
export const QUANTITY_PATTERN = /^(\d+(?:\.\d+)?)(m|k|M|G|T|P|Ki|Mi|Gi|Ti|Pi)?$/;

/** The value of a quantity in base units (cores, bytes). Throws on a malformed quantity. */
export function parseQuantity(quantity: string): number {
  const m = QUANTITY_PATTERN.exec(quantity);
  if (!m) throw new Error(`"${quantity}" is not a Kubernetes quantity (e.g. 500m, 2, 512Mi, 1Gi)`);
  const [, amount, suffix = ''] = m;
  return Number(amount) * (SUFFIX.get(suffix) ?? 1);
}

/** Like {@link parseQuantity}, but `undefined` for a malformed quantity (for checks that run after a format check). */
export function tryParseQuantity(quantity: string): number | undefined {
  return QUANTITY_PATTERN.test(quantity) ? parseQuantity(quantity) : undefined;
}
