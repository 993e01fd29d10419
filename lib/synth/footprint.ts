import { tryParseQuantity } from '../core/quantity';
import { isInjectedProxyImage } from '../validate/images';
import { PlacedObject } from '../validate/types';
import { asRecord, asString, containersOf, getIn, podTemplateOf } from '../validate/util';

/** Summed compute of one group of containers. cpu in cores, memory in bytes; `undefined` limit = unbounded somewhere. */
export interface FootprintRow {
  readonly namespace: string;
  readonly component: string;
  readonly pods: number;
  readonly cpuRequest: number;
  readonly cpuLimit?: number;
  readonly memoryRequest: number;
  readonly memoryLimit?: number;
}

interface Sums { pods: number; cpuR: number; cpuL?: number; memR: number; memL?: number }

function quantity(resources: unknown, kind: 'requests' | 'limits', resource: 'cpu' | 'memory'): number | undefined {
  const value = asString(getIn(resources, [kind, resource]));
  return value === undefined ? undefined : tryParseQuantity(value);
}

/**
 * Summed requests and limits per namespace and component (`app.kubernetes.io/component`), replicas included.
 * Init containers are not added (they do not run alongside the main containers). DaemonSets count one pod.
 */
export function footprint(objects: readonly PlacedObject[]): FootprintRow[] {
  const rows = new Map<string, Sums & { namespace: string; component: string }>();
  for (const { manifest } of objects) {
    const template = podTemplateOf(manifest);
    if (!template) continue;
    const replicasValue = getIn(manifest, ['spec', 'replicas']);
    const replicas = typeof replicasValue === 'number' ? replicasValue : 1;
    const namespace = manifest.metadata.namespace ?? '';
    const component = manifest.metadata.labels?.['app.kubernetes.io/component'] ?? manifest.metadata.name;
    const key = `${namespace}/${component}`;
    const row = rows.get(key) ?? { namespace, component, pods: 0, cpuR: 0, cpuL: 0, memR: 0, memL: 0 };
    row.pods += replicas;
    for (const { container, field } of containersOf(template)) {
      if (field !== 'containers') continue;
      const resources = asRecord(container.resources);
      const times = (v: number | undefined) => (v === undefined ? undefined : v * replicas);
      row.cpuR += times(quantity(resources, 'requests', 'cpu')) ?? 0;
      row.memR += times(quantity(resources, 'requests', 'memory')) ?? 0;
      const cpuL = times(quantity(resources, 'limits', 'cpu'));
      const memL = times(quantity(resources, 'limits', 'memory'));
      row.cpuL = row.cpuL === undefined || cpuL === undefined ? undefined : row.cpuL + cpuL;
      row.memL = row.memL === undefined || memL === undefined ? undefined : row.memL + memL;
    }
    rows.set(key, row);
  }
  return [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => ({
    namespace: r.namespace, component: r.component, pods: r.pods, cpuRequest: r.cpuR, cpuLimit: r.cpuL, memoryRequest: r.memR, memoryLimit: r.memL,
  }));
}

/**
 * Images of every pod template in the output plus `runtime` images, sorted and unique. An injected Istio proxy's
 * `auto` placeholder is not an image (istiod's injector puts the mesh's proxy image there, listed with the mesh).
 */
export function listImages(objects: readonly PlacedObject[], runtime: readonly string[]): string[] {
  const images = new Set(runtime);
  for (const { manifest } of objects) {
    const template = podTemplateOf(manifest);
    if (!template) continue;
    for (const { container, field } of containersOf(template)) {
      const image = asString(container.image);
      if (image && !isInjectedProxyImage(template, container, field)) images.add(image);
    }
  }
  return [...images].sort();
}
