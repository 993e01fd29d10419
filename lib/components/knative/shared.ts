import { NetworkPeer } from '../../core/network';
import { Wave } from '../../core/waves';

/** API group of Knative Serving's resources (Service, Configuration, Revision, Route). */
export const KNATIVE_SERVING_GROUP = 'serving.knative.dev';
/** The Knative Serving API version KServe emits and kfkit declares. */
export const KNATIVE_SERVING_VERSION = 'v1';
/** API group of the Knative operator's resources (KnativeServing, KnativeEventing). */
export const KNATIVE_OPERATOR_GROUP = 'operator.knative.dev';
/** The operator API version kfkit writes. */
export const KNATIVE_OPERATOR_VERSION = 'v1beta1';
/**
 * The Knative Serving release kfkit installs in `managed` mode: the release kubeflow/manifests 26.03 ships, which is
 * also the newest one bundled by the pinned operator chart (`knative-operator` v1.21.1 in the chart catalog).
 */
export const MANAGED_KNATIVE_RELEASE = '1.21.1';

/** Ports of the queue-proxy sidecar Knative adds to every revision pod (knative/serving `pkg/networking` constants). */
export const QUEUE_PROXY_PORTS = {
  /** HTTP/1 traffic from the activator and the gateways. */
  http: 8012,
  /** HTTP/2 cleartext traffic from the activator and the gateways. */
  h2c: 8013,
  /** Autoscaling metrics, scraped by the autoscaler. */
  metrics: 9090,
} as const;

/** Ports of the activator pods: HTTP/1 and HTTP/2 cleartext, the targets of the `activator-service`. */
export const ACTIVATOR_PORTS = { http: 8012, h2c: 8013 } as const;
/** Port of the autoscaler's websocket, where activators report request statistics (and replicas forward them). */
export const AUTOSCALER_WEBSOCKET_PORT = 8080;
/** Port of Knative's admission webhooks (serving `webhook`, `net-istio-webhook`) and of the operator's conversion webhook. */
export const KNATIVE_WEBHOOK_PORT = 8443;
/**
 * Port of net-istio's `knative-local-gateway` listener on the local gateway pods: the Gateway's server port, kept as the
 * container port because its Service disables Istio's port translation (`experimental.istio.io/disable-gateway-port-translation`).
 */
export const LOCAL_GATEWAY_LISTENER_PORT = 8081;

/**
 * Knative Serving as the serving components see it (KServe's serverless mode): who provides it, the API to use, and the
 * gateways and pods KServe's configuration and tenant network policies refer to.
 */
export interface IServerless {
  /** Who provides Knative Serving: kfkit (managed) or the cluster admins (external). */
  readonly mode: 'external' | 'managed';
  /** Knative Serving release: the installed one (managed) or the minimum the cluster runs (external), e.g. `1.21.1` or `1.21`. */
  readonly version: string;
  /** `serving.knative.dev`. */
  readonly apiGroup: string;
  /** `serving.knative.dev/v1`: the `apiVersion` of Knative Services. */
  readonly apiVersion: string;
  /** Namespace of Knative Serving's control plane (`knative-serving`). */
  readonly namespace: string;
  /** `<namespace>/<name>` of the Istio Gateway Knative exposes routes on (upstream Kubeflow: `kubeflow/kubeflow-gateway`); KServe's `ingressGateway`. */
  readonly ingressGateway: string;
  /** `<namespace>/<name>` of the cluster-local Gateway (`knative-serving/knative-local-gateway`); KServe's `localGateway`. */
  readonly localGateway: string;
  /** Host of the cluster-local gateway Service (`knative-local-gateway.istio-system.svc.cluster.local`); KServe's `localGatewayService`. */
  readonly localGatewayService: string;
  /** Domain of Knative routes (`<service>.<namespace>.<domain>`); KServe's `ingressDomain`. */
  readonly domain: string;
  /** The activator pods, which proxy requests to revisions scaled to zero: revision pods accept them on {@link QUEUE_PROXY_PORTS}. */
  readonly activator: NetworkPeer;
  /** The autoscaler pods, which scrape revision pods' queue-proxy metrics port. */
  readonly autoscaler: NetworkPeer;
  /**
   * The wave after which Knative Serving is ready (managed: its KnativeServing reports Ready). KServe's controller must
   * start later: it looks for Knative's CRDs once, at start-up.
   */
  readonly wave?: Wave;
}

/** Pod labels of Knative Serving's deployments (upstream `app` labels). */
export const KNATIVE_POD_LABELS = {
  activator: { app: 'activator' },
  autoscaler: { app: 'autoscaler' },
  controller: { app: 'controller' },
  webhook: { app: 'webhook' },
  netIstioController: { app: 'net-istio-controller' },
  netIstioWebhook: { app: 'net-istio-webhook' },
} as const;

/** A peer for Knative pods in `namespace` (peer names are prefixed `knative-` so policy names say what they are for). */
export function knativePeer(namespace: string, name: keyof typeof KNATIVE_POD_LABELS): NetworkPeer {
  const names: Record<keyof typeof KNATIVE_POD_LABELS, string> = {
    activator: 'knative-activator', autoscaler: 'knative-autoscaler', controller: 'knative-controller', webhook: 'knative-webhook',
    netIstioController: 'net-istio-controller', netIstioWebhook: 'net-istio-webhook',
  };
  return { peerName: names[name], namespace, podLabels: { ...KNATIVE_POD_LABELS[name] } };
}
