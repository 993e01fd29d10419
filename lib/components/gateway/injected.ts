import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { ComponentIdentity } from '../../core/labels';
import { labelSelector } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { podTemplate } from '../../core/workload';
import { ISTIO_AUTO_IMAGE, ISTIO_INJECT_LABEL, ISTIO_PROXY_CONTAINER } from '../../validate/images';

/** UID and GID of Istio's proxy (the injector's default). */
export const PROXY_UID = 1337;

/** Props of {@link injectedGateway}. */
export interface InjectedGatewayProps {
  /** Name of the Deployment. */
  readonly name: string;
  readonly namespace: string;
  /** The gateway's ServiceAccount, made here with the secret-reading Role Envoy's SDS needs (`<name>-sds`). */
  readonly serviceAccountName: string;
  readonly identity: ComponentIdentity;
  /** Labels of the Deployment and its Role (the pods get the identity's and {@link podLabels}). */
  readonly labels: Readonly<Record<string, string>>;
  /** The labels Gateways and Services select the pods by (`app`, `istio`). */
  readonly podLabels: Readonly<Record<string, string>>;
  /** Container ports: status, listeners. */
  readonly ports: readonly number[];
  readonly replicas: number;
  readonly resources: ResourceBudget;
}

/**
 * An Istio gateway built by gateway injection (Istio docs, "Installing Gateways"): the pods are labelled
 * `sidecar.istio.io/inject: "true"` and annotated `inject.istio.io/templates: gateway`, and their container
 * `istio-proxy` has image `auto`, which the mesh's injector replaces with its pinned proxy and configuration — so the
 * gateway always matches the mesh it belongs to. Restricted security context, Istio's proxy user, no ServiceAccount
 * token mounted by Kubernetes (the injector projects its own). Returns the Deployment.
 */
export function injectedGateway(scope: Construct, props: InjectedGatewayProps): k8s.KubeDeployment {
  serviceAccountWithRole(scope, {
    name: props.serviceAccountName,
    namespace: props.namespace,
    labels: { ...props.labels },
    automountServiceAccountToken: false,
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'watch', 'list'] }],
    roleName: `${props.name}-sds`,
    roleBindingName: `${props.name}-sds`,
  });
  const template = podTemplate(scope, {
    identity: props.identity,
    serviceAccountName: props.serviceAccountName,
    automountServiceAccountToken: false,
    security: { user: PROXY_UID, group: PROXY_UID },
    annotations: { 'inject.istio.io/templates': 'gateway' },
    containers: [{
      name: ISTIO_PROXY_CONTAINER,
      image: ISTIO_AUTO_IMAGE,
      ports: props.ports.map((containerPort) => ({ containerPort, protocol: 'TCP' })),
      resources: props.resources,
      security: { user: PROXY_UID, group: PROXY_UID },
    }],
  });
  return new k8s.KubeDeployment(scope, 'Deployment', {
    metadata: { name: props.name, namespace: props.namespace, labels: { ...props.labels } },
    spec: {
      replicas: props.replicas,
      selector: labelSelector(props.podLabels),
      template: {
        ...template,
        metadata: {
          ...template.metadata,
          labels: { ...template.metadata?.labels, ...props.podLabels, [ISTIO_INJECT_LABEL]: 'true', 'istio.io/dataplane-mode': 'none' },
        },
      },
    },
  });
}
