import * as api from '../lib';
import { cli } from './helpers';
import { version } from '../package.json';

/** What the README and the examples tell an org stack to use is exported from the package's entry point. */
describe('the public API', () => {
  test.each([
    // README "GPUs": helpers for org stacks' own workloads.
    'gpuResources', 'gpuTolerations', 'gpuNodeSelector', 'withGpus', 'gpuPool',
    // Classes that appear in public props and types.
    'DatabaseBackup', 'DatabaseRestore', 'ClusterAutoscaler', 'AwsLoadBalancerController', 'KubeflowAuth',
    // Resolving a config without the CLI needs the stacks.
    'STACKS', 'resolveConfig', 'loadOverlay', 'KubeflowPlatform', 'synthesize', 'checkPlatform',
    // Least-privilege database users for an external database, and the image lock.
    'grantSql', 'withPasswords', 'retireSql', 'databaseUsers', 'parseImageLock', 'KFKIT_VERSION',
  ])('%s is exported', (name) => {
    expect((api as Record<string, unknown>)[name]).toBeDefined();
  });

  test('a config resolves from the entry point alone: STACKS lists the stacks resolveConfig needs', () => {
    expect(api.STACKS.map((s) => s.name).sort()).toEqual(['aws', 'local', 'onprem']);
    expect(api.resolveConfig({ stack: 'local' }, api.STACKS).stack).toBe('local');
  });

  test('kfkit --version prints the package version and exits 0', () => {
    const r = cli(['--version']);
    expect({ code: r.code, out: r.out.trim() }).toEqual({ code: 0, out: version });
    expect(api.KFKIT_VERSION).toBe(version);
  });
});
