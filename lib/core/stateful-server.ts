import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from './context';
import { ComponentIdentity, selectorLabels, standardLabels } from './labels';
import { serviceAccountWithRole } from './rbac';
import { clusterIpService, podTemplate, PodTemplateProps } from './workload';

/** The data volume of an in-cluster server (database, object store). */
export interface DataVolumeProps {
  /**
   * Size of the data volume.
   * @default '20Gi'
   */
  readonly storageSize?: string;
  /**
   * StorageClass of the data volume.
   * @default - the cluster's default StorageClass
   */
  readonly storageClass?: string;
}

/** Props of {@link singleInstanceServer}. */
export interface SingleInstanceServerProps {
  /** Namespace of every object. */
  readonly namespace: string;
  /** Identity of the server: name and labels of the StatefulSet, labels of every object, selector of the pods. */
  readonly identity: ComponentIdentity;
  /** Name of the server's ServiceAccount. */
  readonly serviceAccountName: string;
  /** Name and ports of the server's ClusterIP Service (also the StatefulSet's `serviceName`). */
  readonly service: { readonly name: string; readonly ports: readonly k8s.ServicePort[] };
  /** Name of the data volume's PersistentVolumeClaim (the pod's volumes refer to it). */
  readonly claimName: string;
  /** Size and class of the data volume. */
  readonly storage: DataVolumeProps;
  /**
   * Why the data volume must never be deleted with the output ({@link KfkitContext.protect}).
   * @default - not protected
   */
  readonly protectReason?: string;
  /** The pod: containers, volumes (the claim's among them), security. */
  readonly pod: Omit<PodTemplateProps, 'identity' | 'serviceAccountName'>;
}

/** The objects {@link singleInstanceServer} created. */
export interface SingleInstanceServer {
  readonly claim: k8s.KubePersistentVolumeClaim;
  readonly service: k8s.KubeService;
  readonly statefulSet: k8s.KubeStatefulSet;
}

/**
 * The objects of a single-instance server that keeps its data on a volume (a database, an object store): its
 * ServiceAccount (no token), the PersistentVolumeClaim, a ClusterIP Service and a StatefulSet of one replica — a
 * StatefulSet rather than a Deployment, so a rollout never runs two servers on one data directory. Created under
 * `scope` with the construct ids `ServiceAccount`, `Data`, `Service` and `Resource`.
 */
export function singleInstanceServer(scope: Construct, props: SingleInstanceServerProps): SingleInstanceServer {
  const { namespace, identity } = props;
  const labels = standardLabels(identity);
  serviceAccountWithRole(scope, { name: props.serviceAccountName, namespace, labels, automountServiceAccountToken: false });
  const claim = new k8s.KubePersistentVolumeClaim(scope, 'Data', {
    metadata: { name: props.claimName, namespace, labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: props.storage.storageClass,
      resources: { requests: { storage: k8s.Quantity.fromString(props.storage.storageSize ?? '20Gi') } },
    },
  });
  if (props.protectReason !== undefined) KfkitContext.of(scope).protect(claim, props.protectReason);
  const service = clusterIpService(scope, { name: props.service.name, namespace, identity, ports: props.service.ports });
  const statefulSet = new k8s.KubeStatefulSet(scope, 'Resource', {
    metadata: { name: identity.name, namespace, labels },
    spec: {
      replicas: 1,
      serviceName: props.service.name,
      selector: { matchLabels: selectorLabels(identity) },
      template: podTemplate(scope, { ...props.pod, identity, serviceAccountName: props.serviceAccountName }),
    },
  });
  return { claim, service, statefulSet };
}
