/** Addresses outside the pod network, as NetworkPolicy `ipBlock`s take them. */

/** Every IPv4 address: only ever written where a config's `anyAddress` opt-in or a construct's caller asks for it. */
export const ANY_ADDRESS = '0.0.0.0/0';

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

/**
 * Why `cidrs` cannot be the addresses of a destination outside the cluster, or `undefined`: it needs at least one
 * block, each an IPv4 CIDR — kfkit never falls back to every address.
 */
export function cidrsProblem(cidrs: readonly string[] | undefined): string | undefined {
  if (cidrs === undefined || cidrs.length === 0) {
    return `is empty: give the IPv4 blocks of the destination's addresses (${ANY_ADDRESS} only to open every address on purpose)`;
  }
  for (const cidr of cidrs) {
    const problem = ipv4CidrProblem(cidr);
    if (problem !== undefined) return `${cidr}: ${problem}`;
  }
  return undefined;
}

/** `cidrs` checked by {@link cidrsProblem}; throws `<what> <problem>` (e.g. `ExternalDatabase db.example: cidrs is empty: …`). */
export function checkedCidrs(what: string, cidrs: readonly string[] | undefined): readonly string[] {
  const problem = cidrsProblem(cidrs);
  if (problem !== undefined) throw new Error(`${what} ${problem}`);
  return [...(cidrs ?? [])];
}
