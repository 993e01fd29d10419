import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { APPLYSET_GROUP_KINDS, APPLYSET_NAMESPACES, APPLYSET_PART_OF, ApplySetRef } from '../core/applyset';
import { KfkitContext } from '../core/context';
import { HelmReleaseSpec } from '../core/helm';
import { Readiness } from '../core/waves';
import { isBuiltInApiVersion } from '../validate/util';
import { ExternalApi, ExternalObject, K8sObject, PlacedObject } from '../validate/types';

/** Argo CD annotation carrying the wave index. */
export const ARGO_SYNC_WAVE = 'argocd.argoproj.io/sync-wave';
/** Argo CD annotation with sync options (dry-run of custom resources, pruning). */
export const ARGO_SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
/** Flux annotation that exempts an object from garbage collection. */
export const FLUX_PRUNE = 'kustomize.toolkit.fluxcd.io/prune';
/** kfkit annotation on data-holding objects: why they are protected from deletion (read by the Pulumi program). */
export const PROTECTED_ANNOTATION = 'kfkit.dev/protected';

/** Something `kfkit apply` waits for after a wave. */
export interface WaveWait {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly readiness: Exclude<Readiness, { type: 'none' }>;
}

/** One non-empty wave of the output. */
export interface SynthesizedWave {
  readonly index: number;
  readonly name: string;
  /** Output folder, `NN-<name>`. */
  readonly dir: string;
  readonly description: string;
  readonly waits: readonly WaveWait[];
}

/** A managed Helm release, placed in its wave. */
export interface SynthesizedHelmRelease extends HelmReleaseSpec {
  /** Index of the wave of its GitOps object. */
  readonly wave: number;
  /**
   * `Kind/namespace/name` of the GitOps objects that deliver it (its Flux HelmRelease and HelmRepository, or its Argo CD
   * Application); the Pulumi program deploys a Helm release resource in their place.
   */
  readonly objects: readonly string[];
}

/** The synthesized platform, in memory. */
export interface Synthesized {
  readonly waves: readonly SynthesizedWave[];
  /** Every object, sorted by wave, then kind, namespace and name. */
  readonly objects: readonly PlacedObject[];
  readonly externalApis: readonly ExternalApi[];
  readonly externalObjects: readonly ExternalObject[];
  /** Images started at run time through configuration. */
  readonly runtimeImages: readonly string[];
  /** Managed Helm releases, sorted by `<namespace>/<releaseName>`. */
  readonly helmReleases: readonly SynthesizedHelmRelease[];
  /** What the cluster must provide beyond the external APIs (an external mesh's configuration, CRDs of waypoints). */
  readonly requirements: readonly string[];
  /** The ApplySet every object belongs to, when the tree has one (a platform always does). */
  readonly applySet?: ApplySetRef;
}

/** `<Kind>.<group>` of an object, as ApplySets list group-kinds (core group: just the kind). */
export function groupKind(m: { readonly apiVersion: string; readonly kind: string }): string {
  const slash = m.apiVersion.indexOf('/');
  return slash < 0 ? m.kind : `${m.kind}.${m.apiVersion.slice(0, slash)}`;
}

function objectKey(m: K8sObject): string {
  return `${m.kind}\u0000${m.metadata.namespace ?? ''}\u0000${m.metadata.name}`;
}

/**
 * Resolves every ApiObject of the tree `root` belongs to, places it in its wave and adds the GitOps annotations.
 * Empty waves are dropped; the remaining ones are numbered from 0 in install order.
 */
export function collect(root: IConstruct): Synthesized {
  const ctx = KfkitContext.of(root);
  const order = ctx.plan.order();
  // The platform's objects: everything under the scope its context serves (other platforms of the App are their own).
  const apiObjects = ctx.platformScope.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
  const byWave = new Map<string, { obj: ApiObject; manifest: K8sObject }[]>();
  for (const obj of apiObjects) {
    const wave = ctx.plan.waveOf(obj);
    const manifest = obj.toJson() as K8sObject;
    const list = byWave.get(wave.name) ?? [];
    list.push({ obj, manifest });
    byWave.set(wave.name, list);
  }
  const waves: SynthesizedWave[] = [];
  const objects: PlacedObject[] = [];
  const applySet = ctx.applySet;
  for (const wave of order) {
    const members = byWave.get(wave.name);
    if (!members) continue;
    const index = waves.length;
    // Code-unit order (not the locale's): stable everywhere and cheap for tens of thousands of objects.
    const keyed = members.map((m) => ({ ...m, key: objectKey(m.manifest) }));
    keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const waits: WaveWait[] = [];
    for (const { obj, manifest } of keyed) {
      const annotations: Record<string, string> = { ...manifest.metadata.annotations, [ARGO_SYNC_WAVE]: String(index) };
      const syncOptions: string[] = [];
      if (!isBuiltInApiVersion(manifest.apiVersion)) syncOptions.push('SkipDryRunOnMissingResource=true');
      const protection = ctx.protectionOf(obj);
      if (protection !== undefined) {
        syncOptions.push('Prune=false', 'Delete=false');
        annotations[FLUX_PRUNE] = 'disabled';
        annotations[PROTECTED_ANNOTATION] = protection;
      }
      if (syncOptions.length > 0) annotations[ARGO_SYNC_OPTIONS] = syncOptions.join(',');
      const labels = applySet && obj !== applySet.parent ? { ...manifest.metadata.labels, [APPLYSET_PART_OF]: applySet.ref.id } : manifest.metadata.labels;
      const placed: K8sObject = { ...manifest, metadata: { ...manifest.metadata, ...(labels ? { labels } : {}), annotations } };
      objects.push({ manifest: placed, wave: index, waveName: wave.name, source: obj.node.path });
      const readiness = ctx.plan.readinessOf(obj);
      if (readiness.type !== 'none') {
        waits.push({ kind: manifest.kind, namespace: manifest.metadata.namespace, name: manifest.metadata.name, readiness });
      }
    }
    waves.push({ index, name: wave.name, dir: `${String(index).padStart(2, '0')}-${wave.name}`, description: wave.description, waits });
  }
  if (applySet) describeApplySet(objects, applySet.ref);
  const waveIndex = new Map(waves.map((w) => [w.name, w.index]));
  const idOf = (m: K8sObject) => (m.metadata.namespace ? `${m.kind}/${m.metadata.namespace}/${m.metadata.name}` : `${m.kind}/${m.metadata.name}`);
  const helmReleases = ctx.helmReleases.map((r): SynthesizedHelmRelease => {
    const manifest = r.resource.toJson() as K8sObject;
    const spec = manifest.spec as { chart?: { spec?: { sourceRef?: { name: string; namespace: string } } } };
    const source = spec.chart?.spec?.sourceRef;
    return {
      ...r.spec,
      wave: waveIndex.get(ctx.plan.waveOf(r.resource).name) ?? 0,
      objects: [idOf(manifest), ...(source ? [`HelmRepository/${source.namespace}/${source.name}`] : [])],
    };
  });
  return {
    waves,
    objects,
    helmReleases,
    requirements: ctx.requirements,
    externalApis: ctx.externalApis,
    externalObjects: ctx.externalObjects,
    runtimeImages: ctx.runtimeImages,
    ...(applySet ? { applySet: applySet.ref } : {}),
  };
}

/** Writes the members' group-kinds and namespaces on the ApplySet's parent (placed in `objects`). */
function describeApplySet(objects: PlacedObject[], ref: ApplySetRef): void {
  const index = objects.findIndex((o) => o.manifest.kind === 'ConfigMap' && o.manifest.metadata.name === ref.parent.name &&
    o.manifest.metadata.namespace === ref.parent.namespace);
  if (index < 0) throw new Error(`the ApplySet parent ConfigMap ${ref.parent.namespace}/${ref.parent.name} is not in the tree`);
  const members = objects.filter((_, i) => i !== index).map((o) => o.manifest);
  const sorted = (values: Iterable<string>) => [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(',');
  const parent = objects[index];
  objects[index] = {
    ...parent,
    manifest: {
      ...parent.manifest,
      metadata: {
        ...parent.manifest.metadata,
        annotations: {
          ...parent.manifest.metadata.annotations,
          [APPLYSET_GROUP_KINDS]: sorted(members.map(groupKind)),
          [APPLYSET_NAMESPACES]: sorted(members.flatMap((m) => {
            const ns = m.metadata.namespace;
            return ns && ns !== ref.parent.namespace ? [ns] : [];
          })),
        },
      },
    },
  };
}
