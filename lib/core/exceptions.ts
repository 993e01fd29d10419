import { k8s } from 'cdk8s-plus-28';
import { PlatformNamespace } from './namespace';

/**
 * Exceptions to the restricted Pod Security profile.
 *
 * Every pod kfkit writes meets `restricted` — except node agents that cannot work without the host (a device
 * plugin registers a socket in the kubelet's directory on the node). Such a pod is an explicit, reviewed exception:
 * its workload and pod template carry {@link PRIVILEGED_REASON_ANNOTATION} with the reason, it runs in a namespace
 * that enforces `privileged` and says why on the Namespace (`kfkit.dev/pod-security-reason`), and the platform security
 * test lists every exception.
 */

/** Annotation on an exceptional workload, its pod template and its namespace: why it runs outside `restricted`. */
export const PRIVILEGED_REASON_ANNOTATION = 'kfkit.dev/privileged-reason';

function checkedReason(reason: string): string {
  const trimmed = reason.trim();
  if (trimmed.length < 10) throw new Error(`a privileged exception needs its reason (a sentence), got "${reason}"`);
  return trimmed;
}

/** The annotation that records why an object is a privileged exception. Throws for an empty reason. */
export function privilegedReasonAnnotation(reason: string): Record<string, string> {
  return { [PRIVILEGED_REASON_ANNOTATION]: checkedReason(reason) };
}

/** Options of {@link privilegedPod}. */
export interface PrivilegedPodOptions {
  /** Why the pod cannot meet `restricted` (a sentence: what on the host it needs, for what). */
  readonly reason: string;
  /**
   * Pod security context replacing the restricted one.
   * @default - RuntimeDefault seccomp only
   */
  readonly podSecurityContext?: k8s.PodSecurityContext;
  /** Security context per container name, replacing the restricted one. Containers not listed keep theirs. */
  readonly containerSecurityContexts: Readonly<Record<string, k8s.SecurityContext>>;
}

/**
 * Turns a restricted pod template (from `podTemplate`) into a privileged exception: the given security contexts
 * replace the restricted ones, and the template carries {@link PRIVILEGED_REASON_ANNOTATION}. Put the same
 * annotation on the workload ({@link privilegedReasonAnnotation}) and run it in a namespace marked with
 * {@link privilegedNamespace}. Throws for an empty reason or a container name the template does not have.
 */
export function privilegedPod(template: k8s.PodTemplateSpec, options: PrivilegedPodOptions): k8s.PodTemplateSpec {
  const annotations = privilegedReasonAnnotation(options.reason);
  const spec = template.spec;
  if (!spec) throw new Error('privilegedPod needs a pod template with a spec');
  const names = new Set([...spec.containers, ...(spec.initContainers ?? [])].map((c) => c.name));
  for (const name of Object.keys(options.containerSecurityContexts)) {
    if (!names.has(name)) throw new Error(`privilegedPod: the pod template has no container "${name}"`);
  }
  const secure = (c: k8s.Container): k8s.Container => {
    const contexts: Readonly<Partial<Record<string, k8s.SecurityContext>>> = options.containerSecurityContexts;
    const sc = contexts[c.name];
    return sc ? { ...c, securityContext: sc } : c;
  };
  return {
    ...template,
    metadata: { ...template.metadata, annotations: { ...template.metadata?.annotations, ...annotations } },
    spec: {
      ...spec,
      securityContext: options.podSecurityContext ?? { seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: spec.initContainers?.map(secure),
      containers: spec.containers.map(secure),
    },
  };
}

/**
 * Records on a namespace kfkit created why it enforces the `privileged` Pod Security level
 * ({@link PlatformNamespace.explainPodSecurity}). Throws unless the namespace enforces `privileged` (a privileged
 * exception in a stricter namespace would be rejected anyway).
 */
export function privilegedNamespace(namespace: PlatformNamespace, reason: string): void {
  if (namespace.podSecurity !== 'privileged') {
    throw new Error(`namespace ${namespace.name} enforces ${namespace.podSecurity}; a privileged exception needs podSecurity: 'privileged'`);
  }
  namespace.explainPodSecurity(checkedReason(reason));
}
