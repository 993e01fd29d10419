import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, App, Chart } from 'cdk8s';
import * as api from '../lib';
import { cli, listFiles, localConfig, ROOT, tmpdir } from './helpers';
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

describe('several platforms in one App', () => {
  test('each platform has its own context and collects its own objects only', () => {
    const app = new App();
    const a = new api.KubeflowPlatform(app, 'team-a', { config: localConfig() });
    const b = new api.KubeflowPlatform(app, 'team-b', { config: localConfig({ namespace: 'kubeflow-b' }) });
    expect(api.KfkitContext.of(a)).not.toBe(api.KfkitContext.of(b));
    const namespaces = (s: api.Synthesized) => [...new Set(s.objects.map((o) => o.manifest.metadata.namespace).filter((n) => n !== undefined))];
    const sa = api.collect(a);
    const sb = api.collect(b);
    expect(namespaces(sa)).toContain('kubeflow');
    expect(namespaces(sa)).not.toContain('kubeflow-b');
    expect(namespaces(sb)).toContain('kubeflow-b');
    expect(namespaces(sb)).not.toContain('kubeflow');
    expect(api.checkPlatform(sb, b.config)).toEqual([]);
  });

  test('a second context on the same scope is refused; a construct outside any platform is told what to do', () => {
    const app = new App();
    api.KfkitContext.create(app);
    expect(() => api.KfkitContext.create(app)).toThrow(/already has a kfkit context/);
    expect(() => api.KfkitContext.of(new Chart(new App(), 'org'))).toThrow(/is not inside a kfkit platform/);
  });
});

describe('writeDist: an org stack writes what kfkit synth writes', () => {
  test('the same files, byte for byte, as the CLI for the same overlay', () => {
    const dir = tmpdir();
    expect(cli(['synth', '--env', 'local', '--overlays', path.join(ROOT, 'overlays'), '--out', path.join(dir, 'cli')]).code).toBe(0);
    const app = new App();
    const platform = new api.KubeflowPlatform(app, 'kfkit', { config: api.loadOverlay(path.join(ROOT, 'overlays'), 'local', api.STACKS) });
    api.writeDist(path.join(dir, 'org'), [{ env: 'local', platform }]);
    const files = listFiles(path.join(dir, 'cli', 'local'));
    expect(files.length).toBeGreaterThan(20);
    expect(listFiles(path.join(dir, 'org', 'local'))).toEqual(files);
    for (const f of files) {
      expect({ f, text: fs.readFileSync(path.join(dir, 'org', 'local', f), 'utf8') }).toEqual({ f, text: fs.readFileSync(path.join(dir, 'cli', 'local', f), 'utf8') });
    }
  });

  test('a finding in any platform writes nothing', () => {
    const dir = tmpdir();
    const app = new App();
    const good = new api.KubeflowPlatform(app, 'a', { config: localConfig() });
    const bad = new api.KubeflowPlatform(app, 'b', { config: localConfig({ namespace: 'kubeflow-b' }) });
    new ApiObject(bad, 'Unpinned', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unpinned', namespace: 'kubeflow-b' }, spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    let error: unknown;
    try {
      api.writeDist(dir, [{ env: 'a', platform: good }, { env: 'b', platform: bad }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(api.PlatformFindingsError);
    expect((error as api.PlatformFindingsError).message).toMatch(/^b: \d+ validation finding\(s\); nothing written/);
    expect((error as api.PlatformFindingsError).findings.map((f) => f.rule)).toContain('image-tag');
    expect(listFiles(dir)).toEqual([]);
    expect(() => api.writeDist(dir, [{ env: 'a', platform: good }, { env: 'a', platform: good }])).toThrow(/environment "a" is given twice/);
    expect(() => api.writeDist(dir, [{ env: '../x', platform: good }])).toThrow(/must be a DNS label/);
  });
});
