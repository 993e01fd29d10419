import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { HelmRelease } from '../../core/helm';
import { ImageKey } from '../../core/images';
import { MANAGED_BY, PART_OF } from '../../core/labels';
import { IKubeflowGateway, IMesh, ISTIO_NETWORKING_API, ISTIO_SECURITY_API } from '../../core/mesh';
import { allowFromKubeApi, allowKubeApi, allowTraffic, labelSelector, NetworkPeer, NetworkPort } from '../../core/network';
import { chartResources, ResourceBudget } from '../../core/security';
import {
  ACTIVATOR_PORTS, AUTOSCALER_WEBSOCKET_PORT, KNATIVE_OPERATOR_GROUP, KNATIVE_OPERATOR_VERSION, KNATIVE_WEBHOOK_PORT, knativePeer,
  LOCAL_GATEWAY_LISTENER_PORT, MANAGED_KNATIVE_RELEASE, QUEUE_PROXY_PORTS,
} from './shared';

/** The Deployments the operator creates for Knative Serving with net-istio, by name. */
export type KnativeWorkload =
  | 'activator' | 'autoscaler' | 'autoscaler-hpa' | 'controller' | 'webhook' | 'net-istio-controller' | 'net-istio-webhook';

/** Each Deployment's container, and the catalog image it runs. */
const WORKLOADS: Readonly<Record<KnativeWorkload, { readonly container: string; readonly image: ImageKey }>> = {
  'activator': { container: 'activator', image: 'knative-serving-activator' },
  'autoscaler': { container: 'autoscaler', image: 'knative-serving-autoscaler' },
  'autoscaler-hpa': { container: 'autoscaler-hpa', image: 'knative-serving-autoscaler-hpa' },
  'controller': { container: 'controller', image: 'knative-serving-controller' },
  'webhook': { container: 'webhook', image: 'knative-serving-webhook' },
  'net-istio-controller': { container: 'controller', image: 'knative-net-istio-controller' },
  'net-istio-webhook': { container: 'webhook', image: 'knative-net-istio-webhook' },
};

/** Every workload name, in a stable order. */
export const KNATIVE_WORKLOADS = Object.keys(WORKLOADS) as KnativeWorkload[];

/** Label selecting no pod: the selector kfkit gives the operator's unused `knative-ingress-gateway`. */
export const UNUSED_GATEWAY_SELECTOR: Readonly<Record<string, string>> = { 'kfkit.dev/unused-gateway': 'knative-ingress-gateway' };

/** Name of the operator's Helm release. */
export const OPERATOR_RELEASE = 'knative-operator';

/** Pod labels of the operator chart's two Deployments. */
const OPERATOR_PODS = { operator: { name: 'knative-operator' }, webhook: { app: 'operator-webhook' } } as const;

/** The operator chart's default budgets (values.yaml of knative/operator v1.21.1); its template always sets a CPU limit. */
export const OPERATOR_DEFAULT_RESOURCES: ResourceBudget = { cpu: { request: '100m', limit: '1000m' }, memory: { request: '100Mi', limit: '1000Mi' } };
export const OPERATOR_WEBHOOK_DEFAULT_RESOURCES: ResourceBudget = { cpu: { request: '100m', limit: '500m' }, memory: { request: '100Mi', limit: '500Mi' } };

/** `spec.ingress.istio.<gateway>` of a KnativeServing. */
export interface IstioGatewayOverride {
  /** Pod labels of the Istio gateway the Gateway object selects (also set on the `knative-local-gateway` Service). */
  readonly selector: Readonly<Record<string, string>>;
}

/** One container budget of `spec.workloads[].resources`. */
export interface KnativeContainerResources {
  readonly container: string;
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits: { readonly cpu?: string; readonly memory: string };
}

/** One entry of `spec.workloads`. */
export interface KnativeWorkloadOverride {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly resources?: readonly KnativeContainerResources[];
}

/** The fields of a KnativeServing (`operator.knative.dev/v1beta1`) spec kfkit writes. */
export interface KnativeServingSpec {
  /** The Knative Serving release the operator installs (one it bundles). */
  readonly version: string;
  readonly ingress: {
    readonly istio: {
      readonly 'enabled': true;
      readonly 'knative-ingress-gateway': IstioGatewayOverride;
      readonly 'knative-local-gateway': IstioGatewayOverride;
    };
  };
  /** Entries of Knative's ConfigMaps, by ConfigMap name without the `config-` prefix. */
  readonly config: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Images: `<deployment>/<container>`, container, or caching Image name → image. */
  readonly registry: { readonly override: Readonly<Record<string, string>>; readonly imagePullSecrets?: readonly { readonly name: string }[] };
  readonly workloads?: readonly KnativeWorkloadOverride[];
  readonly podDisruptionBudgets: readonly { readonly name: string; readonly minAvailable: number }[];
}

/** What the managed install needs, resolved by the construct. */
export interface ManagedKnativeSettings {
  readonly mesh: IMesh;
  readonly gateway: IKubeflowGateway;
  readonly namespace: string;
  readonly operatorNamespace: string;
  readonly domain: string;
  readonly ingressService: string;
  readonly localGateway: NetworkPeer;
  readonly localGatewayService: string;
  readonly gatewayListenerPorts: readonly number[];
  readonly features: Readonly<Record<string, string>>;
  readonly resources: Partial<Readonly<Record<KnativeWorkload, ResourceBudget>>>;
  readonly queueProxyResources: ResourceBudget;
  readonly operatorResources: ResourceBudget;
  readonly operatorWebhookResources: ResourceBudget;
}

/** A budget as chart values, with the fallback's CPU limit when the budget sets none (the operator chart's defaults have one). */
function operatorResources(budget: ResourceBudget, fallback: ResourceBudget): Record<string, unknown> {
  return { ...chartResources({ ...budget, cpu: { ...budget.cpu, limit: budget.cpu.limit ?? fallback.cpu.limit } }) };
}

/** `image` and `tag` values of the operator chart (it joins them with `:`). */
function chartImage(ctx: KfkitContext, key: ImageKey): { image: string; tag: string } {
  const { repository, tag } = ctx.chartImage(key);
  return { image: repository, tag };
}

const POD_SECURITY = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
const CONTAINER_SECURITY = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true };

/**
 * The Knative operator chart: the operator and its conversion webhook in `operatorNamespace`, images from the catalog,
 * restricted security contexts and budgets through values. It provides the KnativeServing and KnativeEventing APIs.
 */
export function operatorRelease(scope: Construct, s: ManagedKnativeSettings): HelmRelease {
  const ctx = KfkitContext.of(scope);
  const component = (image: ImageKey, budget: ResourceBudget, fallback: ResourceBudget) => ({
    ...chartImage(ctx, image),
    resources: operatorResources(budget, fallback),
    securityContext: POD_SECURITY,
    containerSecurityContext: CONTAINER_SECURITY,
  });
  return new HelmRelease(scope, 'Release', {
    chart: 'knative-operator',
    releaseName: OPERATOR_RELEASE,
    namespace: s.operatorNamespace,
    provides: [{ group: KNATIVE_OPERATOR_GROUP, kinds: ['KnativeServing', 'KnativeEventing'], versions: [KNATIVE_OPERATOR_VERSION] }],
    values: {
      knative_operator: {
        knative_operator: component('knative-operator', s.operatorResources, OPERATOR_DEFAULT_RESOURCES),
        operator_webhook: component('knative-operator-webhook', s.operatorWebhookResources, OPERATOR_WEBHOOK_DEFAULT_RESOURCES),
      },
    },
  });
}

/** Network of the operator's namespace: both Deployments → Kubernetes API; the API server → the conversion webhook. */
export function operatorNetwork(scope: Construct, operatorNamespace: string): void {
  const operator: NetworkPeer = { peerName: 'knative-operator', namespace: operatorNamespace, podLabels: OPERATOR_PODS.operator };
  const webhook: NetworkPeer = { peerName: 'knative-operator-webhook', namespace: operatorNamespace, podLabels: OPERATOR_PODS.webhook };
  allowKubeApi(scope, operator);
  allowKubeApi(scope, webhook);
  allowFromKubeApi(scope, 'OperatorWebhookFromApiServer', webhook, [{ port: KNATIVE_WEBHOOK_PORT }]);
}

function workloadResources(name: KnativeWorkload, budget: ResourceBudget): KnativeContainerResources {
  return {
    container: WORKLOADS[name].container,
    requests: { cpu: budget.cpu.request, memory: budget.memory.request },
    limits: budget.cpu.limit !== undefined ? { cpu: budget.cpu.limit, memory: budget.memory.limit } : { memory: budget.memory.limit },
  };
}

/** The KnativeServing spec: upstream Kubeflow's settings expressed as operator overrides (see the component documentation). */
export function knativeServingSpec(scope: Construct, s: ManagedKnativeSettings): KnativeServingSpec {
  const ctx = KfkitContext.of(scope);
  const override: Record<string, string> = {};
  for (const name of KNATIVE_WORKLOADS) override[`${name}/${WORKLOADS[name].container}`] = ctx.runtimeImage(WORKLOADS[name].image);
  const queue = ctx.runtimeImage('knative-serving-queue');
  override['queue-proxy'] = queue;
  override.migrate = ctx.runtimeImage('knative-serving-migrate');
  override.cleanup = ctx.runtimeImage('knative-serving-cleanup');
  const [gatewayNamespace, gatewayName] = s.gateway.gatewayRef.split('/');
  const q = s.queueProxyResources;
  const deployment: Record<string, string> = {
    'progressDeadline': '600s',
    'queue-sidecar-image': queue,
    'queue-sidecar-cpu-request': q.cpu.request,
    'queue-sidecar-memory-request': q.memory.request,
    'queue-sidecar-memory-limit': q.memory.limit,
  };
  if (q.cpu.limit !== undefined) deployment['queue-sidecar-cpu-limit'] = q.cpu.limit;
  const sidecar = s.mesh.dataplane === 'sidecar';
  const workloads: KnativeWorkloadOverride[] = [];
  for (const name of KNATIVE_WORKLOADS) {
    const budget = s.resources[name];
    if (!sidecar && budget === undefined) continue;
    workloads.push({
      name,
      ...(sidecar ? { labels: { 'sidecar.istio.io/inject': 'true' } } : {}),
      ...(budget !== undefined ? { resources: [workloadResources(name, budget)] } : {}),
    });
  }
  const pullSecrets = ctx.images.pullSecrets.map((name) => ({ name }));
  return {
    version: MANAGED_KNATIVE_RELEASE,
    ingress: {
      istio: {
        'enabled': true,
        'knative-ingress-gateway': { selector: { ...UNUSED_GATEWAY_SELECTOR } },
        'knative-local-gateway': { selector: { ...s.localGateway.podLabels } },
      },
    },
    config: {
      istio: {
        [`gateway.${gatewayNamespace}.${gatewayName}`]: s.ingressService,
        [`local-gateway.${s.namespace}.knative-local-gateway`]: s.localGatewayService,
      },
      domain: { [s.domain]: '' },
      deployment,
      features: {
        'kubernetes.podspec-affinity': 'enabled',
        'kubernetes.podspec-nodeselector': 'enabled',
        'kubernetes.podspec-tolerations': 'enabled',
        ...s.features,
      },
    },
    registry: { override, ...(pullSecrets.length > 0 ? { imagePullSecrets: pullSecrets } : {}) },
    ...(workloads.length > 0 ? { workloads } : {}),
    podDisruptionBudgets: [{ name: 'activator-pdb', minAvailable: 0 }, { name: 'webhook-pdb', minAvailable: 0 }],
  };
}

/** The KnativeServing custom resource (`knative-serving` in `namespace`). */
export function knativeServingResource(scope: Construct, id: string, namespace: string, spec: KnativeServingSpec): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: `${KNATIVE_OPERATOR_GROUP}/${KNATIVE_OPERATOR_VERSION}`,
    kind: 'KnativeServing',
    metadata: { name: 'knative-serving', namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': PART_OF } },
    spec,
  });
}

/**
 * Istio policy of the Knative Serving namespace, as upstream Kubeflow writes it: ALLOW policies for the control-plane
 * pods (the mesh denies by default) and mutual TLS towards Knative's services.
 */
export function istioPolicies(scope: Construct, namespace: string): void {
  const labels = { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': PART_OF };
  const allow: readonly [string, Record<string, string>][] = [
    ['activator-service', { app: 'activator' }],
    ['autoscaler', { app: 'autoscaler' }],
    ['controller', { app: 'controller' }],
    ['webhook', { role: 'webhook' }],
    ['istio-webhook', { app: 'net-istio-webhook' }],
  ];
  for (const [name, selector] of allow) {
    new ApiObject(scope, `Allow-${name}`, {
      apiVersion: ISTIO_SECURITY_API, kind: 'AuthorizationPolicy', metadata: { name, namespace, labels },
      spec: { action: 'ALLOW', selector: { matchLabels: selector }, rules: [{}] },
    });
  }
  new ApiObject(scope, 'MutualTls', {
    apiVersion: ISTIO_NETWORKING_API, kind: 'DestinationRule', metadata: { name: 'knative', namespace, labels },
    spec: { host: `*.${namespace}.svc.cluster.local`, trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
  });
}

/** Pods of Knative revisions (in any namespace): the queue-proxy sidecar's traffic and metrics ports. */
function toRevisions(scope: Construct, id: string, from: NetworkPeer, ports: readonly number[]): void {
  new k8s.KubeNetworkPolicy(scope, id, {
    metadata: { name: `${from.peerName}-to-knative-revisions`, namespace: from.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: {
      podSelector: labelSelector(from.podLabels),
      policyTypes: ['Egress'],
      egress: [{
        to: [{ namespaceSelector: {}, podSelector: { matchExpressions: [{ key: 'serving.knative.dev/revision', operator: 'Exists' }] } }],
        ports: ports.map((port) => ({ port: k8s.IntOrString.fromNumber(port), protocol: 'TCP' })),
      }],
    },
  });
}

/** A connection from pods kfkit does not own the namespace of (an external mesh's gateways): only this side's ingress rule. */
function ingressOnly(scope: Construct, id: string, from: NetworkPeer, to: NetworkPeer, ports: readonly NetworkPort[]): void {
  new k8s.KubeNetworkPolicy(scope, id, {
    metadata: { name: `${to.peerName}-from-${from.peerName}`, namespace: to.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: {
      podSelector: labelSelector(to.podLabels),
      policyTypes: ['Ingress'],
      ingress: [{
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': from.namespace } }, podSelector: labelSelector(from.podLabels) }],
        ports: ports.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' })),
      }],
    },
  });
}

/** A connection to pods kfkit does not own the namespace of: only this side's egress rule. */
function egressOnly(scope: Construct, id: string, from: NetworkPeer, to: NetworkPeer, ports: readonly NetworkPort[]): void {
  new k8s.KubeNetworkPolicy(scope, id, {
    metadata: { name: `${from.peerName}-to-${to.peerName}`, namespace: from.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
    spec: {
      podSelector: labelSelector(from.podLabels),
      policyTypes: ['Egress'],
      egress: [{
        to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': to.namespace } }, podSelector: labelSelector(to.podLabels) }],
        ports: ports.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' })),
      }],
    },
  });
}

/**
 * Network of Knative Serving's data and control plane (pods the operator creates), in a default-deny namespace:
 *
 * - every pod → Kubernetes API (controllers, webhooks, the activator and the post-install jobs all watch it);
 * - the API server → `webhook` and `net-istio-webhook` on 8443;
 * - the Kubeflow ingress gateway and the local gateway → activator on 8012/8013 (requests to revisions at zero);
 * - activator → autoscaler on 8080 (request statistics), autoscaler → autoscaler on 8080 (forwarding between replicas);
 * - activator → revision pods (any namespace) on 8012/8013, autoscaler → revision pods on 9090 (metrics);
 * - net-istio-controller → gateway pods on their listener ports (net-istio probes each gateway pod before it marks a
 *   route ready).
 *
 * With an external mesh only the knative-serving side of a gateway connection is written: the gateway's namespace
 * belongs to the cluster admins, who must admit it there. The revision namespaces' ingress side belongs to their owner
 * (KServe, profiles). Metrics scraping (9090 on Knative's pods) is not opened.
 */
export function servingNetwork(scope: Construct, s: ManagedKnativeSettings): void {
  const all: NetworkPeer = { peerName: 'knative-serving', namespace: s.namespace, podLabels: {} };
  const activator = knativePeer(s.namespace, 'activator');
  const autoscaler = knativePeer(s.namespace, 'autoscaler');
  const netIstio = knativePeer(s.namespace, 'netIstioController');
  allowKubeApi(scope, all);
  for (const name of ['webhook', 'netIstioWebhook'] as const) {
    const webhook = knativePeer(s.namespace, name);
    allowFromKubeApi(scope, `${webhook.peerName}FromApiServer`, webhook, [{ port: KNATIVE_WEBHOOK_PORT }]);
  }
  const activatorPorts = [{ port: ACTIVATOR_PORTS.http }, { port: ACTIVATOR_PORTS.h2c }];
  // One set of gateway pods may serve both the Kubeflow gateway and the local gateway (then on both listeners).
  const gateways: readonly (readonly [NetworkPeer, readonly number[]])[] = samePods(s.localGateway, s.gateway.ingress)
    ? [[s.gateway.ingress, [...s.gatewayListenerPorts, LOCAL_GATEWAY_LISTENER_PORT]]]
    : [[s.gateway.ingress, s.gatewayListenerPorts], [s.localGateway, [LOCAL_GATEWAY_LISTENER_PORT]]];
  for (const [pods, listeners] of gateways) {
    const listenerPorts = listeners.map((port) => ({ port }));
    if (s.mesh.mode === 'managed') {
      allowTraffic(scope, pods, activator, activatorPorts);
      allowTraffic(scope, netIstio, pods, listenerPorts);
    } else {
      ingressOnly(scope, `Ingress-${pods.peerName}-${activator.peerName}`, pods, activator, activatorPorts);
      egressOnly(scope, `Egress-${netIstio.peerName}-${pods.peerName}`, netIstio, pods, listenerPorts);
    }
  }
  allowTraffic(scope, activator, autoscaler, [{ port: AUTOSCALER_WEBSOCKET_PORT }]);
  allowTraffic(scope, autoscaler, autoscaler, [{ port: AUTOSCALER_WEBSOCKET_PORT }]);
  toRevisions(scope, 'ActivatorToRevisions', activator, [QUEUE_PROXY_PORTS.http, QUEUE_PROXY_PORTS.h2c]);
  toRevisions(scope, 'AutoscalerToRevisions', autoscaler, [QUEUE_PROXY_PORTS.metrics]);
}

function samePods(a: NetworkPeer, b: NetworkPeer): boolean {
  const key = (p: NetworkPeer) => `${p.namespace}/${JSON.stringify(Object.entries(p.podLabels).sort(([x], [y]) => x.localeCompare(y)))}`;
  return key(a) === key(b);
}
