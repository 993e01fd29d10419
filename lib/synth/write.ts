import { K8sObject } from '../validate/types';
import { Synthesized } from './collect';
import { toYaml } from './yaml';

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
  return toYaml(value);
}

/** File name of an object inside its wave folder: `<kind>_<namespace>_<name>.yaml` (`_` never occurs in names). */
export function objectFileName(m: K8sObject): string {
  const parts = [m.kind.toLowerCase(), m.metadata.namespace, m.metadata.name].filter((p): p is string => p !== undefined);
  return `${parts.join('_')}.yaml`;
}

/** File name of a tenant's objects in one wave: `profile_<namespace>.yaml`, one YAML document per object. */
export function tenantFileName(namespace: string): string {
  return `profile_${namespace}.yaml`;
}

/**
 * The tenant an object belongs to, if any: a Kubeflow Profile (cluster-scoped, named after its namespace), the profile's
 * Namespace, or an object in a profile namespace.
 */
function tenantOf(m: K8sObject, tenants: ReadonlySet<string>): string | undefined {
  const ns = m.metadata.namespace ?? (m.kind === 'Namespace' || isProfile(m) ? m.metadata.name : undefined);
  return ns !== undefined && tenants.has(ns) ? ns : undefined;
}

function isProfile(m: K8sObject): boolean {
  return m.kind === 'Profile' && m.apiVersion.startsWith('kubeflow.org/');
}

/** Where an object is written inside its wave folder: its own file, or its tenant's file. */
export function objectFile(m: K8sObject, tenants: ReadonlySet<string>): string {
  const tenant = tenantOf(m, tenants);
  return tenant !== undefined ? tenantFileName(tenant) : objectFileName(m);
}

/** The profile namespaces of a synthesized platform (names of its Kubeflow Profiles). */
export function tenantNamespaces(s: Synthesized): Set<string> {
  return new Set(s.objects.filter((o) => isProfile(o.manifest)).map((o) => o.manifest.metadata.name));
}

function kustomization(resources: readonly string[]): string {
  return yamlDoc({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: [...resources] });
}

/**
 * Renders the synthesized platform to files (relative path → content), in memory. Layout:
 * `kustomization.yaml` (all waves, for `kubectl apply -k` and Argo CD), `kfkit.json` (waves, waits, externals),
 * `NN-<wave>/` with one file per object — except a tenant's objects, one file per profile and wave
 * ({@link tenantFileName}), so a thousand teams stay a few thousand files and a team's objects read together — and
 * its own kustomization.yaml, and `flux/` with one Flux Kustomization per wave chained by `dependsOn` with `wait: true`.
 */
export function renderTree(s: Synthesized, options: RenderOptions): Map<string, string> {
  const files = new Map<string, string>();
  const tenants = tenantNamespaces(s);
  const byWave = new Map<number, (typeof s.objects)[number][]>();
  for (const o of s.objects) {
    const list = byWave.get(o.wave) ?? [];
    list.push(o);
    byWave.set(o.wave, list);
  }
  for (const wave of s.waves) {
    const docs = new Map<string, string[]>();
    for (const o of byWave.get(wave.index) ?? []) {
      const tenant = tenantOf(o.manifest, tenants);
      const name = tenant !== undefined ? tenantFileName(tenant) : objectFileName(o.manifest);
      const list = docs.get(name);
      if (list && tenant === undefined) throw new Error(`two objects render to ${wave.dir}/${name}: ${o.source ?? ''}`);
      if (list) list.push(yamlDoc(o.manifest));
      else docs.set(name, [yamlDoc(o.manifest)]);
    }
    for (const [name, texts] of docs) files.set(`${wave.dir}/${name}`, texts.join('---\n'));
    files.set(`${wave.dir}/kustomization.yaml`, kustomization([...docs.keys()].sort(byCodeUnit)));
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
    ...(s.applySet ? { applySet: s.applySet } : {}),
  };
  files.set(TREE_METADATA, `${JSON.stringify(metadata, null, 2)}\n`);
  return new Map([...files.entries()].sort(([a], [b]) => byCodeUnit(a, b)));
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
