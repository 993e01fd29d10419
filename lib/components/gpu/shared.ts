import { k8s } from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { Wave } from '../../core/waves';
import { parseImage } from '../../validate/images';

/** Built-in priority class of node agents (upstream's choice for the device plugin and the DCGM exporter). */
export const SYSTEM_NODE_CRITICAL = 'system-node-critical';

/**
 * The wave of GPU node agents: after cluster-scoped configuration, before the controllers — so that the device
 * plugin has rolled out (and GPU nodes advertise `nvidia.com/gpu`) before anything that requests GPUs is installed.
 */
export function gpuWave(scope: IConstruct): Wave {
  const plan = KfkitContext.of(scope).plan;
  return plan.ensureWave('gpu', {
    description: 'GPU node agents (NVIDIA device plugin, DCGM exporter), rolled out before anything requests GPUs.',
    after: [plan.cluster],
    before: [plan.controllers],
  });
}

const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** The tag of an image reference as an `app.kubernetes.io/version` value, when it makes a valid label value. */
export function imageVersion(image: string): string | undefined {
  const tag = parseImage(image).tag;
  return tag !== undefined && LABEL_VALUE.test(tag) ? tag : undefined;
}

/**
 * Security context of a GPU node agent container: root (NVIDIA's images and the device files need it), no privilege
 * escalation, every capability dropped except SYS_ADMIN when asked, RuntimeDefault seccomp, and a writable root
 * filesystem (the NVIDIA container runtime and DCGM write inside the container, as upstream's manifests allow).
 */
export function gpuAgentSecurityContext(sysAdmin: boolean): k8s.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    capabilities: sysAdmin ? { add: ['SYS_ADMIN'], drop: ['ALL'] } : { drop: ['ALL'] },
    privileged: false,
    readOnlyRootFilesystem: false,
    runAsNonRoot: false,
    runAsUser: 0,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
