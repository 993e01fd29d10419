import * as path from 'path';
import { listOverlays, loadOverlay } from '../lib/config/load';
import { synthesize } from '../lib/synth/index';
import { ExternalObject } from '../lib/validate/types';
import { STACKS } from '../stacks';
import { readmePrerequisites } from '../e2e/prerequisites';
import { ROOT } from './helpers';

/** Namespaces every cluster has: nobody creates them. */
const BUILT_IN_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/**
 * What a README prerequisite block lacks to create an object kfkit expects from the cluster's admins. The e2e runs the
 * blocks on the control plane and checks the objects and keys exist; this is the fast, textual version of it.
 */
function lacks(script: string, o: ExternalObject): string | undefined {
  const where = `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
  if (o.kind === 'Namespace') {
    if (BUILT_IN_NAMESPACES.has(o.name)) return undefined;
    const made = script.includes(`create namespace ${o.name}`) || (o.name === 'flux-system' && /\bflux install\b/.test(script));
    return made ? undefined : `${where}: no \`kubectl create namespace ${o.name}\``;
  }
  if (o.kind === 'Secret') {
    if (!new RegExp(`create secret (generic|tls) ${o.name}\\b`).test(script)) return `${where}: no \`kubectl create secret … ${o.name}\``;
    const missing = (o.keys ?? []).filter((k) => !script.includes(`--from-literal=${k}=`) && !script.includes(`--from-file=${k}=`));
    return missing.length === 0 ? undefined : `${where}: keys ${missing.join(', ')} not created`;
  }
  return `${where}: the test does not know how the README would create a ${o.kind}`;
}

describe('README prerequisite blocks (run by the e2e) create what each environment expects from its admins', () => {
  for (const env of listOverlays(path.join(ROOT, 'overlays'))) {
    test(env, () => {
      const externals = synthesize(loadOverlay(path.join(ROOT, 'overlays'), env, STACKS)).externalObjects;
      const needed = externals.filter((o) => !(o.kind === 'Namespace' && BUILT_IN_NAMESPACES.has(o.name)));
      const script = readmePrerequisites(env);
      if (needed.length === 0) return;
      expect(script).toBeDefined();
      expect(externals.map((o) => lacks(script ?? '', o)).filter((x) => x !== undefined)).toEqual([]);
    });
  }

  test('the check fires: a block without a key, without the Secret, without the namespace', () => {
    const secret: ExternalObject = { apiVersion: 'v1', kind: 'Secret', name: 'dex-users', namespace: 'auth', keys: ['alice-hash', 'bob-hash'], reason: 'r' };
    const ns: ExternalObject = { apiVersion: 'v1', kind: 'Namespace', name: 'argocd', reason: 'r' };
    expect(lacks('kubectl -n auth create secret generic dex-users --from-literal=user-hash=x', secret)).toBe('Secret auth/dex-users: keys alice-hash, bob-hash not created');
    expect(lacks('kubectl create namespace auth', secret)).toMatch(/no `kubectl create secret … dex-users`/);
    expect(lacks('flux install', ns)).toMatch(/no `kubectl create namespace argocd`/);
    expect(lacks('flux install', { ...ns, name: 'flux-system' })).toBeUndefined();
  });

  test('a marker must be followed by an sh block', () => {
    expect(() => readmePrerequisites('x', '<!-- e2e-prerequisites: x -->\ntext\n')).toThrow(/must be followed by a ```sh block/);
    expect(readmePrerequisites('y', '<!-- e2e-prerequisites: x,y -->\n\n```sh\necho hi\n```\n')).toBe('echo hi');
    expect(readmePrerequisites('z', '<!-- e2e-prerequisites: x,y -->\n\n```sh\necho hi\n```\n')).toBeUndefined();
  });
});
