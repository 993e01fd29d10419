/**
 * Rule `duplicate`: no two objects share API group, kind, namespace and name.
 */
import { catalogOf } from './catalog';
import { Finding, HarnessInput, PlacedObject } from './types';
import { apiGroup, describePlacement, finding } from './util';

/** Rule id of {@link checkDuplicates}. */
export const DUPLICATE_RULE = 'duplicate';

/**
 * Rule `duplicate`: no two objects with the same API group, kind, namespace and name. The version does not matter
 * (`apps/v1` and `apps/v1beta2` Deployments of the same name are the same object), nor does a namespace set on a
 * cluster-scoped kind (the API server ignores it). Every object after the first of its identity is reported,
 * naming where the first one is.
 */
export function checkDuplicates(input: HarnessInput): Finding[] {
  const catalog = catalogOf(input);
  const first = new Map<string, PlacedObject>();
  const out: Finding[] = [];
  for (const placed of input.objects) {
    const { apiVersion, kind, metadata } = placed.manifest;
    const key = JSON.stringify([apiGroup(apiVersion), kind, catalog.namespaceOf(placed), metadata.name]);
    const earlier = first.get(key);
    if (earlier) {
      out.push(finding(DUPLICATE_RULE, placed, undefined,
        `duplicate object (${describePlacement(placed)}); the same object is already in ${describePlacement(earlier)}`));
    } else {
      first.set(key, placed);
    }
  }
  return out;
}
