import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { listOverlays } from '../lib/config/load';
import { changeOverlay } from '../e2e/lifecycle';
import { ROOT } from './helpers';

describe('the e2e prune phase has a change for every overlay', () => {
  for (const env of listOverlays(path.join(ROOT, 'overlays'))) {
    test(env, () => {
      const text = fs.readFileSync(path.join(ROOT, 'overlays', `${env}.yaml`), 'utf8');
      const change = changeOverlay(text);
      expect(change).toBeDefined();
      expect(change?.text).not.toBe(text);
      // Comments survive; the result is still one YAML document.
      expect(change?.text).toContain('# yaml-language-server');
      expect(() => { parse(change?.text ?? ''); }).not.toThrow();
    });
  }

  test('removes the last team and switches one component off', () => {
    const change = changeOverlay('stack: local\nkatib:\n  enabled: true\ntenancy:\n  profiles:\n    - name: a\n      owner: x\n    - name: b\n      owner: y\n');
    expect(change?.description).toBe('team b removed; Katib disabled');
    expect(parse(change?.text ?? '')).toEqual({ stack: 'local', katib: { enabled: false }, tenancy: { profiles: [{ name: 'a', owner: 'x' }] } });
  });

  test('an overlay with nothing to change has no change', () => {
    expect(changeOverlay('stack: aws\ndatabase: {type: external}\nbackup: {enabled: false}\n')).toBeUndefined();
  });
});
