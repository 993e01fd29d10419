import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { ComponentIdentity, MANAGED_BY, standardLabels } from '../../core/labels';
import { IMesh } from '../../core/mesh';
import { PlatformNamespace } from '../../core/namespace';
import { labelSelector, NetworkPeer } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { injectedGateway } from '../gateway';
import { allowIstiod } from '../istio';
import { LOCAL_GATEWAY_LISTENER_PORT } from './shared';

/** Name of upstream Kubeflow's cluster-local gateway: Deployment and Service (kubeflow/manifests 26.03, istio-system). */
export const CLUSTER_LOCAL_GATEWAY = 'cluster-local-gateway';
/** Its pods' labels, which the `knative-local-gateway` Gateway and Service select (upstream's). */
export const CLUSTER_LOCAL_GATEWAY_LABELS: Readonly<Record<string, string>> = { app: CLUSTER_LOCAL_GATEWAY, istio: CLUSTER_LOCAL_GATEWAY };
/** Its ServiceAccount (upstream's). */
export const CLUSTER_LOCAL_GATEWAY_SERVICE_ACCOUNT = 'cluster-local-gateway-service-account';
/** Ports of the `cluster-local-gateway` Service (upstream's): status 15020, http2 80 → 8080. */
export const CLUSTER_LOCAL_GATEWAY_PORTS = { status: { port: 15020, targetPort: 15020 }, http: { port: 80, targetPort: 8080 } } as const;

const DEFAULT_RESOURCES: ResourceBudget = { cpu: { request: '100m', limit: '2' }, memory: { request: '128Mi', limit: '1Gi' } };

/** Props of {@link ClusterLocalGateway}. */
export interface ClusterLocalGatewayProps {
  /** The mesh kfkit manages: the gateway runs in its namespace and is injected by its istiod. */
  readonly mesh: IMesh;
  /**
   * Replicas.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Compute budget of each pod.
   * @default - 100m CPU and 128Mi memory requested, 2 CPU and 1Gi memory limits (as the Kubeflow ingress gateway)
   */
  readonly resources?: ResourceBudget;
}

/**
 * The cluster-local Istio gateway that upstream Kubeflow deploys for Knative (`istio-system/cluster-local-gateway`):
 * cluster-internal traffic to Serverless InferenceServices goes through the `knative-local-gateway` Service and
 * Gateway, which select these pods, to the activator or the revisions. Built like kfkit's ingress gateway, by gateway
 * injection (upstream renders the proxy's full pod spec, which the mesh's injector otherwise owns); upstream's names,
 * labels, ServiceAccount and Service ports. Network: istiod (xDS), and every pod of the cluster may reach the
 * cluster-local listener (8081) — it is the cluster's entry to its models; the rest of the path is opened by the
 * Knative policies.
 */
export class ClusterLocalGateway extends Construct {
  /** The gateway's pods, as a network peer. */
  public readonly pods: NetworkPeer;

  public constructor(scope: Construct, id: string, props: ClusterLocalGatewayProps) {
    super(scope, id);
    const ns = props.mesh.namespace;
    const identity: ComponentIdentity = { name: CLUSTER_LOCAL_GATEWAY, component: 'knative' };
    const labels = { ...standardLabels(identity), ...CLUSTER_LOCAL_GATEWAY_LABELS };
    this.pods = { peerName: CLUSTER_LOCAL_GATEWAY, namespace: ns, podLabels: CLUSTER_LOCAL_GATEWAY_LABELS };
    injectedGateway(this, {
      name: CLUSTER_LOCAL_GATEWAY, namespace: ns, serviceAccountName: CLUSTER_LOCAL_GATEWAY_SERVICE_ACCOUNT, identity, labels,
      podLabels: CLUSTER_LOCAL_GATEWAY_LABELS,
      ports: [CLUSTER_LOCAL_GATEWAY_PORTS.status.targetPort, CLUSTER_LOCAL_GATEWAY_PORTS.http.targetPort, LOCAL_GATEWAY_LISTENER_PORT],
      replicas: props.replicas ?? 1, resources: props.resources ?? DEFAULT_RESOURCES,
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name: CLUSTER_LOCAL_GATEWAY, namespace: ns, labels },
      spec: {
        type: 'ClusterIP',
        selector: { ...CLUSTER_LOCAL_GATEWAY_LABELS },
        ports: [
          { name: 'status-port', port: CLUSTER_LOCAL_GATEWAY_PORTS.status.port, targetPort: k8s.IntOrString.fromNumber(CLUSTER_LOCAL_GATEWAY_PORTS.status.targetPort), protocol: 'TCP' },
          { name: 'http2', port: CLUSTER_LOCAL_GATEWAY_PORTS.http.port, targetPort: k8s.IntOrString.fromNumber(CLUSTER_LOCAL_GATEWAY_PORTS.http.targetPort), protocol: 'TCP' },
        ],
      },
    });
    const network = new Construct(this, 'Network');
    KfkitContext.of(this).plan.assign(network, PlatformNamespace.isolationWave(this));
    allowIstiod(network, props.mesh, this.pods);
    new k8s.KubeNetworkPolicy(network, 'FromCluster', {
      metadata: { name: `${CLUSTER_LOCAL_GATEWAY}-from-cluster`, namespace: ns, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
      spec: {
        podSelector: labelSelector(CLUSTER_LOCAL_GATEWAY_LABELS),
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: k8s.IntOrString.fromNumber(LOCAL_GATEWAY_LISTENER_PORT), protocol: 'TCP' }] }],
      },
    });
  }
}
