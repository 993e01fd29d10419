/** Why `pattern` is not a valid JavaScript regular expression, or undefined when it is. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch {
    return `"${pattern}" is not a regular expression`;
  }
}
