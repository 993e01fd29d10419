import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { applyPlan } from '../lib/synth/apply';
import { ARGO_SYNC_OPTIONS, ARGO_SYNC_WAVE } from '../lib/synth/collect';
import { synthesize } from '../lib/synth/index';
import { renderTree, writeTreeAtomically } from '../lib/synth/write';
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
    expect(synthesized.waves.map((w) => w.dir)).toEqual(['00-namespaces', '01-isolation', '02-credentials', '03-controllers', '04-storage-init']);
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
    const steps = applyPlan(synthesized.waves, { dir: 'dist/local', timeoutSeconds: 300, context: 'kind-kfkit' });
    expect(steps.map((s) => s.argv.join(' '))).toEqual([
      'kubectl --context kind-kfkit apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/00-namespaces',
      'kubectl --context kind-kfkit apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/01-isolation',
      'kubectl --context kind-kfkit apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/02-credentials',
      // One-shot Jobs are named after their spec (lib/core/job-name.ts).
      expect.stringMatching(/^kubectl --context kind-kfkit wait -n kubeflow --for=condition=Complete job\/mlpipeline-minio-artifact-generator-[0-9a-f]{8} --timeout=300s$/),
      expect.stringMatching(/^kubectl --context kind-kfkit wait -n kubeflow --for=condition=Complete job\/mysql-secret-generator-[0-9a-f]{8} --timeout=300s$/),
      'kubectl --context kind-kfkit apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/03-controllers',
      'kubectl --context kind-kfkit rollout status -n kubeflow statefulset/mysql --timeout=300s',
      'kubectl --context kind-kfkit rollout status -n kubeflow statefulset/seaweedfs --timeout=300s',
      'kubectl --context kind-kfkit apply --server-side --field-manager=kfkit --force-conflicts -k dist/local/04-storage-init',
      expect.stringMatching(/^kubectl --context kind-kfkit wait -n kubeflow --for=condition=Complete job\/seaweedfs-create-bucket-[0-9a-f]{8} --timeout=300s$/),
    ]);
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

  test('stale files from an earlier synthesis disappear (the tree is replaced, not merged)', () => {
    const dir = tmpdir();
    const out = path.join(dir, 'local');
    writeTreeAtomically(out, new Map([['old.yaml', 'x']]));
    writeTreeAtomically(out, new Map([['new.yaml', 'y']]));
    expect(listFiles(out)).toEqual(['new.yaml']);
  });
});
