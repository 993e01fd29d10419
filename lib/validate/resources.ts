/**
 * Rule `resources`: containers declare their resource requests and memory limit.
 */
import { Finding, HarnessInput } from './types';
import { asRecord, containersOf, finding, podTemplateOf } from './util';

/** Rule id of {@link checkResources}. */
export const RESOURCES_RULE = 'resources';

const REQUIRED: readonly { readonly section: 'requests' | 'limits'; readonly resource: 'cpu' | 'memory' }[] = [
  { section: 'requests', resource: 'cpu' },
  { section: 'requests', resource: 'memory' },
  { section: 'limits', resource: 'memory' },
];

function present(value: unknown): boolean {
  return (typeof value === 'string' && value.trim() !== '') || typeof value === 'number';
}

/**
 * Rule `resources`: every container and init container of every pod template (Pod, Deployment, StatefulSet,
 * DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate) sets `resources.requests.cpu`,
 * `resources.requests.memory` and `resources.limits.memory` explicitly — a request the API server would default from
 * a limit does not count. One finding per missing value, at its path.
 */
export function checkResources(input: HarnessInput): Finding[] {
  const out: Finding[] = [];
  for (const placed of input.objects) {
    const template = podTemplateOf(placed.manifest);
    if (!template) continue;
    for (const { path, container } of containersOf(template)) {
      const resources = asRecord(container.resources);
      const name = typeof container.name === 'string' ? container.name : '?';
      for (const { section, resource } of REQUIRED) {
        if (present(asRecord(resources?.[section])?.[resource])) continue;
        const what = section === 'requests' ? `${resource} request` : `${resource} limit`;
        out.push(finding(RESOURCES_RULE, placed, [...path, 'resources', section, resource], `container "${name}" has no ${what}`));
      }
    }
  }
  return out;
}
