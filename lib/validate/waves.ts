/**
 * Rule `wave-order`: objects are installed after the CRDs and Namespaces they need.
 */
import { catalogOf } from './catalog';
import { Finding, HarnessInput } from './types';
import { apiGroup, describePlacement, finding, isBuiltInApiVersion } from './util';

/** Rule id of {@link checkWaveOrder}. */
export const WAVE_ORDER_RULE = 'wave-order';

/**
 * Rule `wave-order`: every custom resource is in a strictly later wave than its CustomResourceDefinition, and every
 * object with a namespace is in a strictly later wave than its Namespace — when that CRD / Namespace is in the
 * output (otherwise `crd` and `dangling-reference` speak). Same wave is not enough: a CRD must be Established and a
 * Namespace created before objects of it are accepted.
 */
export function checkWaveOrder(input: HarnessInput): Finding[] {
  const catalog = catalogOf(input);
  const namespaces = new Map(input.objects
    .filter((p) => p.manifest.kind === 'Namespace' && p.manifest.apiVersion === 'v1')
    .map((p) => [p.manifest.metadata.name, p] as const));
  const out: Finding[] = [];
  for (const placed of input.objects) {
    const { apiVersion, kind, metadata } = placed.manifest;
    if (!isBuiltInApiVersion(apiVersion)) {
      const crd = catalog.crds.get(`${apiGroup(apiVersion)}/${kind}`);
      if (crd && crd.placed.wave >= placed.wave) {
        out.push(finding(WAVE_ORDER_RULE, placed, 'apiVersion',
          `${kind} is in ${describePlacement(placed)}, not after its CustomResourceDefinition ${crd.placed.manifest.metadata.name} `
          + `in ${describePlacement(crd.placed)}`));
      }
    }
    if (metadata.namespace && catalog.scopeOf(apiVersion, kind) !== 'Cluster') {
      const namespace = namespaces.get(metadata.namespace);
      if (namespace && namespace.wave >= placed.wave) {
        out.push(finding(WAVE_ORDER_RULE, placed, 'metadata.namespace',
          `object is in ${describePlacement(placed)}, not after its Namespace ${metadata.namespace} in ${describePlacement(namespace)}`));
      }
    }
  }
  return out;
}
