/**
 * Rewrites the deviations table in README.md from facts/deviations.json (between the deviations markers).
 * `npx tsx tools/readme-deviations.ts`; test/fidelity-platform.test.ts fails when the README is out of date.
 */
import * as fs from 'fs';
import * as path from 'path';
import { deviationsMarkdown, loadDeviations } from '../lib/validate/fidelity';

export const START = '<!-- deviations:start -->';
export const END = '<!-- deviations:end -->';

/** README text with the table between the markers replaced by the rendering of `deviationsFile`. */
export function renderReadme(readme: string, deviationsFile: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n${deviationsMarkdown(loadDeviations(deviationsFile))}${readme.slice(end)}`;
}

if (require.main === module) {
  const root = path.resolve(__dirname, '..');
  const file = path.join(root, 'README.md');
  fs.writeFileSync(file, renderReadme(fs.readFileSync(file, 'utf8'), path.join(root, 'facts/deviations.json')));
}
