import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { cli, cliAsync, listFiles, ROOT, tmpdir } from './helpers';

const OVERLAYS = path.join(ROOT, 'overlays');

describe('kfkit CLI', () => {
  test('--help lists the commands and exit codes', () => {
    const r = cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['synth', 'validate', 'list-images', 'footprint', 'apply', 'schema']) expect(r.out).toContain(c);
    expect(r.out).toContain('Exit codes');
  });

  test('list-images prints every deployed image once, sorted, runtime images included', () => {
    const r = cli(['list-images', '--overlays', OVERLAYS]);
    expect(r.code).toBe(0);
    const images = r.out.split('\n');
    expect(images).toEqual([...new Set(images)].sort());
    // Runtime images (started by controllers through configuration) are listed next to the pod images.
    expect(images).toEqual(expect.arrayContaining([
      'docker.io/library/mysql:8.4.11', 'ghcr.io/kubeflow/kfp-api-server:2.17.0', 'ghcr.io/kubeflow/kfp-driver:2.17.0', 'ghcr.io/kubeflow/kfp-launcher:2.17.0',
      'quay.io/argoproj/argoexec:v4.0.5', 'docker.io/library/busybox:1.37.0',
    ]));
    for (const image of images) expect(image).toMatch(/^[a-z0-9.-]+\.[a-z]+\/[\w./-]+:[\w.-]+$/);
  });

  test('footprint sums requests and limits per component', () => {
    const r = cli(['footprint', '--overlays', OVERLAYS]);
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').map((l) => l.split('\t'));
    expect(rows[0]).toEqual(['NAMESPACE', 'COMPONENT', 'PODS', 'CPU_REQ', 'CPU_LIM', 'MEM_REQ', 'MEM_LIM']);
    // The metadata-db component: mysqld (100m, 512Mi/1Gi) and its generator Job (10m, 32Mi/64Mi).
    expect(rows).toContainEqual(['kubeflow', 'metadata-db', '7', '160m', 'unbounded', '704Mi', '1472Mi']);
    expect(rows[rows.length - 1][0]).toBe('total');
  });

  test('apply --dry-run prints the ordered kubectl plan of a synthesized tree', () => {
    const dir = tmpdir();
    expect(cli(['synth', '--overlays', OVERLAYS, '--out', 'dist'], dir).code).toBe(0);
    const r = cli(['apply', '--dry-run', '--timeout', '120'], dir);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    // First what an earlier apply installed (the ApplySet parent), then the waves, then the prune.
    expect(lines[0]).toBe('kubectl get configmap kfkit-applyset -n kubeflow --ignore-not-found');
    expect(lines[1]).toBe('kubectl apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/00-crds');
    expect(lines).toContainEqual(expect.stringMatching(/^kubectl wait -n kubeflow --for=condition=Complete job\/mysql-secret-generator-[0-9a-f]{8} --timeout=120s$/));
    expect(lines[lines.length - 1]).toMatch(/^# prune: list the members of ApplySet applyset-[\w-]+-v1, delete those not in dist\/local \(protected data kept\)$/);
    expect(r.err).toMatch(/\[2\/\d+\] wave 0 \(crds\): apply/);
    const plain = cli(['apply', '--dry-run', '--no-prune'], dir);
    expect(plain.out.split('\n')[0]).toBe('kubectl apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/00-crds');
    expect(plain.out).not.toContain('prune');
  });

  test('apply without a synthesized tree says what to run', () => {
    const r = cli(['apply', '--dry-run'], tmpdir());
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/kfkit\.json not found: run `kfkit synth` for this env first/);
  });

  test('apply --timeout must be a number', () => {
    const r = cli(['apply', '--dry-run', '--timeout', 'soon'], tmpdir());
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--timeout: "soon" must be a whole number of seconds/);
  });

  test('apply stops at the first failing step and names it', () => {
    const dir = tmpdir();
    expect(cli(['synth', '--overlays', OVERLAYS, '--out', 'dist'], dir).code).toBe(0);
    const r = cli(['apply', '--context', 'does-not-exist'], dir);
    // Either kubectl is missing or the context does not exist: both fail the first step, the first call to the cluster.
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/step 1 failed: read what an earlier apply installed \(ConfigMap kubeflow\/kfkit-applyset\)/);
    expect(r.err).not.toMatch(/\n\s+at /);
    const plain = cli(['apply', '--context', 'does-not-exist', '--no-prune'], dir);
    expect(plain.code).toBe(3);
    expect(plain.err).toMatch(/step 1 failed: wave 0 \(crds\): apply/);
  });

  test('validate on a missing directory is a usage error', () => {
    const r = cli(['validate', path.join(tmpdir(), 'nope')]);
    expect(r.code).toBe(2);
  });
});

describe('kfkit restore', () => {
  test('prints the restore Job for a backup timestamp', () => {
    const r = cli(['restore', '--overlays', OVERLAYS, '--from', '20261123T030000Z']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# kfkit restore: loads s3:\/\/mlpipeline\/backups\/metadata-db\/20261123T030000Z\.sql\.gz/);
    expect(r.out).toContain('kind: Job');
    expect(r.out).toContain('name: metadata-db-restore-20261123t030000z');
  });

  test('a malformed --from is a usage error with one line', () => {
    const r = cli(['restore', '--overlays', OVERLAYS, '--from', 'yesterday']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^kfkit: --from: /);
  });

  test('--from is required', () => {
    const r = cli(['restore', '--overlays', OVERLAYS]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/required option '--from <backup>'/);
  });
});

describe('kfkit smoke (wiring; the check itself is tested in smoke.test.ts)', () => {
  test('bad input is a one-line usage error', async () => {
    const badTimeout = await cliAsync(['smoke', '--overlays', OVERLAYS, '--timeout', 'soon']);
    expect(badTimeout.code).toBe(2);
    expect(badTimeout.err).toMatch(/timeout/);
    const badUrl = await cliAsync(['smoke', '--overlays', OVERLAYS, '--url', 'ftp://x']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.err.split('\n')).toHaveLength(1);
  });

  test('a synchronous caller is told to await it', () => {
    expect(() => cli(['smoke', '--overlays', OVERLAYS, '--timeout', 'soon'])).toThrow(/asynchronous/);
  });
});

describe('npm run synth', () => {
  test('`npm run synth -- --all` passes --all through (the script does not pin --env; local is the default)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.synth).toBe('node bin/kfkit.js synth');
    const dir = tmpdir();
    const all = cli(['synth', '--all', '--overlays', OVERLAYS, '--out', 'dist'], dir);
    expect(all.code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'dist')).sort()).toEqual(fs.readdirSync(OVERLAYS).map((f) => f.replace(/\.yaml$/, '')).sort());
    const dflt = cli(['synth', '--overlays', OVERLAYS, '--out', 'only'], dir);
    expect(dflt.code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'only'))).toEqual(['local']);
  });
});

describe('the bundled CLI (build/kfkit.cjs, made by npm ci)', () => {
  test('exists and writes the same tree as the TypeScript CLI', () => {
    const bundle = path.join(ROOT, 'build', 'kfkit.cjs');
    expect(fs.existsSync(bundle)).toBe(true);
    const dir = tmpdir();
    const args = JSON.stringify(['synth', '--env', 'local', '--out', path.join(dir, 'bundled')]);
    const r = spawnSync(process.execPath, ['-e', `Promise.resolve(require(${JSON.stringify(bundle)}).run(${args})).then((c) => { process.exitCode = c; })`],
      { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(cli(['synth', '--env', 'local', '--out', path.join(dir, 'ts')]).code).toBe(0);
    const read = (base: string) => listFiles(base).map((f) => [f, fs.readFileSync(path.join(base, f), 'utf8')]);
    expect(read(path.join(dir, 'bundled', 'local'))).toEqual(read(path.join(dir, 'ts', 'local')));
    expect(listFiles(path.join(dir, 'ts', 'local')).length).toBeGreaterThan(100);
  });
});
