import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { KfkitContext } from './context';
import { ComponentIdentity, selectorLabels, standardLabels } from './labels';
import { ResourceBudget, resourceRequirements, restrictedContainer, RestrictedOptions, restrictedPod, RestrictedPodOptions } from './security';

/** One container of a platform pod. Requests and memory limit are required by type. */
export interface ContainerProps {
  /** Container name (upstream's, for fidelity). */
  readonly name: string;
  /** Image reference, from the {@link ImageCatalog}. */
  readonly image: string;
  /** Entrypoint override. @default - the image's entrypoint */
  readonly command?: readonly string[];
  /** Arguments. @default - none */
  readonly args?: readonly string[];
  /** Ports. @default - none */
  readonly ports?: readonly k8s.ContainerPort[];
  /** Environment. @default - none */
  readonly env?: readonly k8s.EnvVar[];
  /** Environment from ConfigMaps/Secrets. @default - none */
  readonly envFrom?: readonly k8s.EnvFromSource[];
  /** Compute budget. */
  readonly resources: ResourceBudget;
  /** Volume mounts. @default - none */
  readonly volumeMounts?: readonly k8s.VolumeMount[];
  /** Readiness probe. @default - none */
  readonly readinessProbe?: k8s.Probe;
  /** Liveness probe. @default - none */
  readonly livenessProbe?: k8s.Probe;
  /** Startup probe. @default - none */
  readonly startupProbe?: k8s.Probe;
  /** Security context options; the result always meets the restricted profile. @default - restricted, read-only root */
  readonly security?: RestrictedOptions;
}

/** A pod template with kfkit's secure defaults. */
export interface PodTemplateProps {
  /** Identity: gives the pod its labels. */
  readonly identity: ComponentIdentity;
  /** ServiceAccount the pod runs as. */
  readonly serviceAccountName: string;
  /**
   * Mount the ServiceAccount token. Only pods that call the Kubernetes API need it.
   * @default false
   */
  readonly automountServiceAccountToken?: boolean;
  /** Containers. */
  readonly containers: readonly ContainerProps[];
  /** Init containers. @default - none */
  readonly initContainers?: readonly ContainerProps[];
  /** Volumes. @default - none */
  readonly volumes?: readonly k8s.Volume[];
  /** Pod-level security options. @default - restricted, image user */
  readonly security?: RestrictedPodOptions;
  /** Restart policy (Jobs need `Never` or `OnFailure`). @default - Kubernetes default (Always) */
  readonly restartPolicy?: 'Always' | 'OnFailure' | 'Never';
  /** Node selector. @default - none */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Tolerations. @default - none */
  readonly tolerations?: readonly k8s.Toleration[];
  /** PriorityClass of the pods. @default - the cluster's default priority */
  readonly priorityClassName?: string;
  /** Annotations of the pods. @default - none */
  readonly annotations?: Readonly<Record<string, string>>;
}

function container(props: ContainerProps): k8s.Container {
  return {
    name: props.name,
    image: props.image,
    command: props.command ? [...props.command] : undefined,
    args: props.args ? [...props.args] : undefined,
    ports: props.ports ? [...props.ports] : undefined,
    env: props.env ? [...props.env] : undefined,
    envFrom: props.envFrom ? [...props.envFrom] : undefined,
    resources: resourceRequirements(props.resources),
    volumeMounts: props.volumeMounts ? [...props.volumeMounts] : undefined,
    readinessProbe: props.readinessProbe,
    livenessProbe: props.livenessProbe,
    startupProbe: props.startupProbe,
    securityContext: restrictedContainer(props.security),
  };
}

/**
 * Builds a pod template that meets the restricted Pod Security Standard, carries requests and memory limits on
 * every container, mounts no ServiceAccount token unless asked, and pulls through the catalog's pull Secrets.
 */
export function podTemplate(scope: IConstruct, props: PodTemplateProps): k8s.PodTemplateSpec {
  const pullSecrets = KfkitContext.of(scope).images.pullSecrets;
  return {
    metadata: {
      labels: { ...standardLabels(props.identity), ...selectorLabels(props.identity) },
      annotations: props.annotations ? { ...props.annotations } : undefined,
    },
    spec: {
      serviceAccountName: props.serviceAccountName,
      automountServiceAccountToken: props.automountServiceAccountToken ?? false,
      securityContext: restrictedPod(props.security),
      imagePullSecrets: pullSecrets.length > 0 ? pullSecrets.map((name) => ({ name })) : undefined,
      initContainers: props.initContainers?.map(container),
      containers: props.containers.map(container),
      volumes: props.volumes ? [...props.volumes] : undefined,
      restartPolicy: props.restartPolicy,
      nodeSelector: props.nodeSelector ? { ...props.nodeSelector } : undefined,
      tolerations: props.tolerations ? [...props.tolerations] : undefined,
      priorityClassName: props.priorityClassName,
    },
  };
}

/** Props of {@link deployment}. */
export interface DeploymentProps {
  /** Namespace of the Deployment. */
  readonly namespace: string;
  /** Identity of the workload: the Deployment's name and labels, its pods' labels and their selector. */
  readonly identity: ComponentIdentity;
  /** The pods (a {@link podTemplate} of {@link identity}). */
  readonly pod: Omit<PodTemplateProps, 'identity'>;
  /** Replicas. @default - not written (Kubernetes' default: 1) */
  readonly replicas?: number;
  /** Rollout strategy. @default - not written (Kubernetes' default: RollingUpdate) */
  readonly strategy?: k8s.DeploymentStrategy;
  /** Annotations of the Deployment. @default - none */
  readonly annotations?: Record<string, string>;
}

/**
 * A Deployment (construct id `Resource`) of the pods of an identity: named and labelled after it, selecting its
 * pods by its selector labels, with kfkit's pod template ({@link podTemplate}).
 */
export function deployment(scope: Construct, props: DeploymentProps): k8s.KubeDeployment {
  const { identity } = props;
  return new k8s.KubeDeployment(scope, 'Resource', {
    metadata: { name: identity.name, namespace: props.namespace, labels: standardLabels(identity), annotations: props.annotations },
    spec: {
      replicas: props.replicas,
      strategy: props.strategy,
      selector: { matchLabels: selectorLabels(identity) },
      template: podTemplate(scope, { ...props.pod, identity }),
    },
  });
}

/** A TCP Service port: `port` forwarded to the pods' `targetPort` (by default the same number). */
export function servicePort(name: string | undefined, port: number, targetPort: number = port): k8s.ServicePort {
  return { name, port, targetPort: k8s.IntOrString.fromNumber(targetPort), protocol: 'TCP' };
}

/** Props of {@link clusterIpService}. */
export interface ClusterIpServiceProps {
  /** Name of the Service. */
  readonly name: string;
  /** Namespace of the Service. */
  readonly namespace: string;
  /** Identity of the pods behind the Service: its labels and selector. */
  readonly identity: ComponentIdentity;
  /** Ports. */
  readonly ports: readonly k8s.ServicePort[];
  /** Annotations. @default - none */
  readonly annotations?: Record<string, string>;
}

/** A ClusterIP Service (construct id `Service`) in front of the pods of an identity, labelled like them. */
export function clusterIpService(scope: Construct, props: ClusterIpServiceProps): k8s.KubeService {
  return new k8s.KubeService(scope, 'Service', {
    metadata: { name: props.name, namespace: props.namespace, labels: standardLabels(props.identity), annotations: props.annotations },
    spec: { type: 'ClusterIP', selector: selectorLabels(props.identity), ports: [...props.ports] },
  });
}
