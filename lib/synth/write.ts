import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { K8sObject } from '../validate/types';
import { Synthesized } from './collect';

/** Flux settings of the rendered tree. */
export interface FluxOptions {
  readonly sourceRef: { readonly kind: string; readonly name: string; readonly namespace: string };
  /** Path of the env's tree inside the source, e.g. `./dist/local`. */
  readonly path: string;
  readonly interval: string;
  /** Per-wave timeout, seconds. */
  readonly timeoutSeconds: number;
}

/** Options of {@link renderTree}. */
export interface RenderOptions {
  readonly env: string;
  readonly stack: string;
  readonly flux: FluxOptions;
}

/** Name of the metadata file at the root of a synthesized tree. */
export const TREE_METADATA = 'kfkit.json';

function yamlDoc(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** File name of an object inside its wave folder: `<kind>_<namespace>_<name>.yaml` (`_` never occurs in names). */
export function objectFileName(m: K8sObject): string {
  const parts = [m.kind.toLowerCase(), m.metadata.namespace, m.metadata.name].filter((p): p is string => p !== undefined);
  return `${parts.join('_')}.yaml`;
}

function kustomization(resources: readonly string[]): string {
  return yamlDoc({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...resources] });
}

/**
 * Renders the synthesized platform to files (relative path → content), in memory. Layout:
 * `kustomization.yaml` (all waves, for `kubectl apply -k` and Argo CD), `kfkit.json` (waves, waits, externals),
 * `NN-<wave>/` with one file per object and its own kustomization.yaml, and `flux/` with one Flux Kustomization
 * per wave chained by `dependsOn` with `wait: true`.
 */
export function renderTree(s: Synthesized, options: RenderOptions): Map<string, string> {
  const files = new Map<string, string>();
  for (const wave of s.waves) {
    const names: string[] = [];
    for (const o of s.objects.filter((x) => x.wave === wave.index)) {
      const name = objectFileName(o.manifest);
      if (files.has(`${wave.dir}/${name}`)) throw new Error(`two objects render to ${wave.dir}/${name}: ${o.source ?? ''}`);
      files.set(`${wave.dir}/${name}`, yamlDoc(o.manifest));
      names.push(name);
    }
    files.set(`${wave.dir}/kustomization.yaml`, kustomization(names.sort()));
  }
  files.set('kustomization.yaml', kustomization(s.waves.map((w) => w.dir)));

  const fluxNames: string[] = [];
  s.waves.forEach((wave, i) => {
    const name = `kfkit-${options.env}-${wave.dir}`;
    const previous = i > 0 ? s.waves[i - 1] : undefined;
    const doc = {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name, namespace: options.flux.sourceRef.namespace },
      spec: {
        interval: options.flux.interval,
        path: `${options.flux.path.replace(/\/+$/, '')}/${wave.dir}`,
        prune: true,
        wait: true,
        timeout: `${options.flux.timeoutSeconds}s`,
        sourceRef: { ...options.flux.sourceRef },
        dependsOn: previous ? [{ name: `kfkit-${options.env}-${previous.dir}` }] : undefined,
      },
    };
    files.set(`flux/${wave.dir}.yaml`, yamlDoc(doc));
    fluxNames.push(`${wave.dir}.yaml`);
  });
  files.set('flux/kustomization.yaml', kustomization(fluxNames));

  const metadata = {
    env: options.env,
    stack: options.stack,
    waves: s.waves,
    externalApis: s.externalApis,
    externalObjects: s.externalObjects,
    requirements: s.requirements,
    helmReleases: s.helmReleases.map((r) => ({
      namespace: r.namespace, releaseName: r.releaseName, repository: r.chart.repository, chart: r.chart.chart, version: r.chart.version, wave: r.wave,
    })),
    runtimeImages: s.runtimeImages,
  };
  files.set(TREE_METADATA, `${JSON.stringify(metadata, null, 2)}\n`);
  return new Map([...files.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Writes `files` to `outDir` atomically: everything goes to a temporary sibling directory first, which then
 * replaces `outDir` by rename. A failure before the rename leaves the previous tree untouched.
 */
export function writeTreeAtomically(outDir: string, files: ReadonlyMap<string, string>): void {
  const parent = path.dirname(path.resolve(outDir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, '.kfkit-tmp-'));
  try {
    for (const [rel, content] of files) {
      const target = path.join(tmp, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    const old = fs.existsSync(outDir) ? `${tmp}-old` : undefined;
    if (old) fs.renameSync(outDir, old);
    fs.renameSync(tmp, outDir);
    if (old) fs.rmSync(old, { recursive: true, force: true });
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
