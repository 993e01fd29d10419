import { KfkitContext } from '../lib/core/context';
import { collect } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { buildOrgStack, validateDefault } from '../examples/org-stack';

describe('examples/org-stack.ts', () => {
  test('synthesizes, validates, and opens the database to the org job only', () => {
    const app = buildOrgStack();
    const platform = app.node.findChild('platform');
    expect(KfkitContext.of(platform)).toBeDefined();
    const s = collect(platform);
    expect(validate(s)).toEqual([]);
    const names = s.objects.filter((o) => o.manifest.kind === 'NetworkPolicy').map((o) => o.manifest.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['mysql-from-usage-report', 'usage-report-to-mysql']));
    expect(validateDefault()).toBe(0);
  });
});
