import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { applyPlan } from '../lib/synth/apply';
import { ARGO_SYNC_OPTIONS, ARGO_SYNC_WAVE } from '../lib/synth/collect';
import { synthesize } from '../lib/synth/index';
import { writeTreeAtomically } from '../lib/synth/output';
import { renderTree } from '../lib/synth/write';
import { validate } from '../lib/validate/harness';
import { loadDist } from '../lib/validate/load';
import { cli, listFiles, localConfig, ROOT, tmpdir } from './helpers';

const FLUX = { sourceRef: { kind: 'GitRepository', name: 'kfkit', namespace: 'flux-system' }, path: './dist/local', interval: '10m', timeoutSeconds: 600 };

describe('local stack synthesis', () => {
  const synthesized = synthesize(localConfig());
  const files = renderTree(synthesized, { env: 'local', stack: 'local', flux: FLUX });

  test('passes the validation harness', () => {
    expect(validate(synthesized)).toEqual([]);
  });

  test('waves are numbered folders in install order, each with its kustomization', () => {
    expect(synthesized.waves.map((w) => w.dir)).toEqual([
      '00-crds', '01-namespaces', '02-isolation', '03-cluster', '04-credentials', '05-databases', '06-database-users', '07-certificates', '08-controllers', '09-storage-init',
    ]);
    const root = YAML.parse(files.get('kustomization.yaml') as string);
    expect(root.resources).toEqual(synthesized.waves.map((w) => w.dir));
    for (const wave of synthesized.waves) {
      const k = YAML.parse(files.get(`${wave.dir}/kustomization.yaml`) as string);
      const inWave = [...files.keys()].filter((f) => f.startsWith(`${wave.dir}/`) && !f.endsWith('/kustomization.yaml')).map((f) => f.slice(wave.dir.length + 1));
      expect(k.resources).toEqual(inWave);
    }
  });

  test('every object carries its Argo CD sync wave', () => {
    for (const o of synthesized.objects) expect(o.manifest.metadata.annotations?.[ARGO_SYNC_WAVE]).toBe(String(o.wave));
    // Only custom resources skip the dry run; the local stack has none.
    expect(synthesized.objects.filter((o) => o.manifest.metadata.annotations?.[ARGO_SYNC_OPTIONS]?.includes('SkipDryRun'))).toEqual([]);
  });

  test('data-holding objects are protected from pruning by Argo CD and Flux (and marked for Pulumi)', () => {
    const protectedObjects = synthesized.objects.filter((o) => o.manifest.metadata.annotations?.['kfkit.dev/protected'] !== undefined);
    expect(protectedObjects.map((o) => `${o.manifest.kind}/${o.manifest.metadata.name}`)).toEqual(expect.arrayContaining([
      'Namespace/kubeflow', 'PersistentVolumeClaim/mysql-pv-claim',
    ]));
    for (const o of protectedObjects) {
      expect(o.manifest.metadata.annotations?.[ARGO_SYNC_OPTIONS]).toBe('Prune=false,Delete=false');
      expect(o.manifest.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
    }
    const sts = synthesized.objects.find((o) => o.manifest.kind === 'StatefulSet');
    expect(sts?.manifest.metadata.annotations?.[ARGO_SYNC_OPTIONS]).toBeUndefined();
  });

  test('Flux Kustomizations chain the waves with dependsOn and wait', () => {
    interface FluxDoc { metadata: { name: string }; spec: { path: string; wait: boolean; prune: boolean; dependsOn?: { name: string }[] } }
    const docs = synthesized.waves.map((w) => YAML.parse(files.get(`flux/${w.dir}.yaml`) as string) as FluxDoc);
    expect(docs.map((d) => d.spec.path)).toEqual(synthesized.waves.map((w) => `./dist/local/${w.dir}`));
    expect(docs.every((d) => d.spec.wait && d.spec.prune)).toBe(true);
    expect(docs[0].spec.dependsOn).toBeUndefined();
    for (let i = 1; i < docs.length; i++) expect(docs[i].spec.dependsOn).toEqual([{ name: docs[i - 1].metadata.name }]);
  });

  test('no object lands in the same wave as (or before) its namespace', () => {
    const ns = synthesized.objects.find((o) => o.manifest.kind === 'Namespace');
    for (const o of synthesized.objects.filter((x) => x.manifest.metadata.namespace)) expect(o.wave).toBeGreaterThan(ns!.wave);
  });

  test('rendering is deterministic: a second synthesis is byte-identical', () => {
    const again = renderTree(synthesize(localConfig()), { env: 'local', stack: 'local', flux: FLUX });
    expect([...again.entries()]).toEqual([...files.entries()]);
  });

  test('the apply plan applies server-side per wave and waits between waves', () => {
    const steps = applyPlan(synthesized.waves, { dir: 'dist/local', timeoutSeconds: 300, context: 'kind-kfkit' }).map((x) => x.argv.join(' '));
    const k = 'kubectl --context kind-kfkit';
    const applies = steps.filter((x) => x.includes(' apply '));
    expect(applies).toEqual(synthesized.waves.map((w) => `${k} apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/${w.dir}`));
    const at = (pattern: RegExp) => {
      const i = steps.findIndex((x) => pattern.test(x));
      expect([pattern.source, i]).not.toEqual([pattern.source, -1]);
      return i;
    };
    const applyOf = (dir: string) => steps.indexOf(`${k} apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/${dir}`);
    // CRDs are Established before anything else is applied.
    expect(at(/wait --for=condition=Established crd\/workflows\.argoproj\.io --timeout=300s$/)).toBeLessThan(applyOf('01-namespaces'));
    // Credentials exist before the database and the servers start (one-shot Jobs are named after their spec).
    expect(at(/wait -n kubeflow --for=condition=Complete job\/mysql-secret-generator-[0-9a-f]{8} --timeout=300s$/)).toBeLessThan(applyOf('05-databases'));
    // The database serves, then its users exist, before any consumer starts.
    expect(at(/rollout status -n kubeflow statefulset\/mysql/)).toBeLessThan(applyOf('06-database-users'));
    expect(at(/wait -n kubeflow --for=condition=Complete job\/mysql-users-[0-9a-f]{8} --timeout=300s$/)).toBeLessThan(applyOf('08-controllers'));
    // The cache webhook's certificate is issued (by the deployer) before cache-server mounts it.
    expect(at(/rollout status -n kubeflow deployment\/cache-deployer-deployment/)).toBeLessThan(applyOf('08-controllers'));
    // Servers are rolled out before the bucket is created through the S3 API.
    expect(at(/rollout status -n kubeflow statefulset\/seaweedfs/)).toBeLessThan(applyOf('09-storage-init'));
    expect(at(/rollout status -n kubeflow deployment\/ml-pipeline --timeout=300s$/)).toBeGreaterThan(applyOf('08-controllers'));
    expect(at(/wait -n kubeflow --for=condition=Complete job\/seaweedfs-create-bucket-[0-9a-f]{8}/)).toBe(steps.length - 1);
  });
});

describe('writing dist/<env>', () => {
  test('npm run synth path: writes dist/local, byte-identical on a second run, and the tree validates', () => {
    const dir = tmpdir();
    expect(cli(['synth', '--env', 'local', '--overlays', path.join(ROOT, 'overlays'), '--out', 'dist'], dir).code).toBe(0);
    const out = path.join(dir, 'dist/local');
    const first = listFiles(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')]);
    expect(first.map(([f]) => f)).toContain('kfkit.json');
    expect(cli(['synth', '--overlays', path.join(ROOT, 'overlays'), '--out', 'dist'], dir).code).toBe(0);
    const second = listFiles(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')]);
    expect(second).toEqual(first);
    expect(validate(loadDist(out))).toEqual([]);
    const result = cli(['validate', 'dist/local'], dir);
    expect(result.code).toBe(0);
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.kfkit-tmp'))).toEqual([]);
  });

  test('a failed write leaves the previous tree untouched and no temporary directory', () => {
    const dir = tmpdir();
    const out = path.join(dir, 'dist', 'local');
    writeTreeAtomically(out, new Map([['a.yaml', 'old\n']]));
    // A path that cannot be created (a file where a directory is needed) fails mid-write.
    expect(() => { writeTreeAtomically(out, new Map([['b.yaml', 'new\n'], ['b.yaml/c.yaml', 'x']])); }).toThrow();
    expect(listFiles(out)).toEqual(['a.yaml']);
    expect(fs.readFileSync(path.join(out, 'a.yaml'), 'utf8')).toBe('old\n');
    expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual(['local']);
  });

  test('unchanged files are carried over from the previous tree, changed ones written; a failed write still changes nothing', () => {
    const dir = tmpdir();
    const out = path.join(dir, 'local');
    writeTreeAtomically(out, new Map([['w/same.yaml', 'same\n'], ['w/changed.yaml', 'v1\n']]));
    const before = { same: fs.statSync(path.join(out, 'w/same.yaml')).ino, changed: fs.statSync(path.join(out, 'w/changed.yaml')).ino };
    writeTreeAtomically(out, new Map([['w/same.yaml', 'same\n'], ['w/changed.yaml', 'v2\n'], ['w/new.yaml', 'n\n']]));
    expect(fs.statSync(path.join(out, 'w/same.yaml')).ino).toBe(before.same);
    expect(fs.statSync(path.join(out, 'w/changed.yaml')).ino).not.toBe(before.changed);
    expect(listFiles(out).map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')])).toEqual([
      ['w/changed.yaml', 'v2\n'], ['w/new.yaml', 'n\n'], ['w/same.yaml', 'same\n'],
    ]);
    expect(() => { writeTreeAtomically(out, new Map([['w/same.yaml', 'same\n'], ['w/same.yaml/x', 'x']])); }).toThrow();
    expect(fs.readFileSync(path.join(out, 'w/same.yaml'), 'utf8')).toBe('same\n');
    expect(fs.readdirSync(dir)).toEqual(['local']);
  });

  test('stale files from an earlier synthesis disappear (the tree is replaced, not merged)', () => {
    const dir = tmpdir();
    const out = path.join(dir, 'local');
    writeTreeAtomically(out, new Map([['old.yaml', 'x']]));
    writeTreeAtomically(out, new Map([['new.yaml', 'y']]));
    expect(listFiles(out)).toEqual(['new.yaml']);
  });
});
