import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { RELEASE_PATTERN } from '../../config/primitives';
import { KfkitContext } from '../../core/context';
import { HelmRelease } from '../../core/helm';
import { IKubeflowGateway, IMesh } from '../../core/mesh';
import { PlatformNamespace } from '../../core/namespace';
import { NetworkPeer } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { Wave } from '../../core/waves';
import { enrolInMesh } from '../istio';
import {
  istioPolicies, KnativeServingSpec, KnativeWorkload, knativeServingResource, knativeServingSpec, ManagedKnativeSettings, OPERATOR_DEFAULT_RESOURCES,
  OPERATOR_WEBHOOK_DEFAULT_RESOURCES, operatorNetwork, operatorRelease, servingNetwork,
} from './managed';
import { CLUSTER_LOCAL_GATEWAY, CLUSTER_LOCAL_GATEWAY_LABELS, ClusterLocalGateway } from './local-gateway';
import { IServerless, KNATIVE_SERVING_GROUP, KNATIVE_SERVING_VERSION, knativePeer, MANAGED_KNATIVE_RELEASE } from './shared';

export { CLUSTER_LOCAL_GATEWAY, CLUSTER_LOCAL_GATEWAY_LABELS, CLUSTER_LOCAL_GATEWAY_PORTS, CLUSTER_LOCAL_GATEWAY_SERVICE_ACCOUNT, ClusterLocalGateway } from './local-gateway';
export type { ClusterLocalGatewayProps } from './local-gateway';
export { KNATIVE_WORKLOADS, OPERATOR_RELEASE, UNUSED_GATEWAY_SELECTOR } from './managed';
export type { IstioGatewayOverride, KnativeContainerResources, KnativeServingSpec, KnativeWorkload, KnativeWorkloadOverride } from './managed';
export * from './shared';

/** Props of {@link KnativeServing}. */
export interface KnativeServingProps {
  /**
   * Who provides Knative Serving: `managed` (kfkit installs the Knative operator's chart and a KnativeServing with
   * net-istio) or `external` (the cluster admins run Knative Serving with net-istio; kfkit declares the APIs it needs).
   */
  readonly mode: 'external' | 'managed';
  /**
   * Knative Serving release (`major.minor[.patch]`). Managed: the release line kfkit pins (1.21, installing
   * {@link MANAGED_KNATIVE_RELEASE}). External: the minimum release the cluster runs.
   * @default '1.21'
   */
  readonly version?: string;
  /** The mesh Knative's pods join and net-istio programs. */
  readonly mesh: IMesh;
  /** The Kubeflow gateway: Knative exposes routes on it (upstream Kubeflow: `kubeflow/kubeflow-gateway`). Must belong to `mesh`. */
  readonly gateway: IKubeflowGateway;
  /**
   * Domain of Knative routes (`config-domain`), also KServe's ingress domain.
   * @default 'example.com' (upstream Kubeflow's)
   */
  readonly domain?: string;
  /**
   * Namespace of Knative Serving (managed: created by kfkit, Pod Security `restricted`, enrolled in the mesh).
   * @default 'knative-serving'
   */
  readonly namespace?: string;
  /**
   * Managed: namespace of the Knative operator (created by kfkit, Pod Security `restricted`, not in the mesh).
   * @default 'knative-operator'
   */
  readonly operatorNamespace?: string;
  /**
   * Managed: host of the Kubeflow ingress gateway's Service, which net-istio maps the Kubeflow gateway to (`config-istio`).
   * @default - `istio-ingressgateway.<mesh namespace>.svc.cluster.local` (upstream Kubeflow's)
   */
  readonly ingressService?: string;
  /**
   * The Istio gateway pods that serve cluster-local traffic to Knative routes (`knative-local-gateway`); the
   * `knative-local-gateway` Service and Gateway select them.
   * @default - upstream Kubeflow's cluster-local-gateway pods (`app: cluster-local-gateway, istio: cluster-local-gateway`) in the mesh
   *   namespace, which kfkit deploys when it manages the mesh ({@link ClusterLocalGateway}; an external mesh must run them)
   */
  readonly localGateway?: NetworkPeer;
  /**
   * Managed: container ports of the Kubeflow ingress gateway pods its HTTP/HTTPS listeners bind (net-istio probes each
   * gateway pod there before it marks a route ready).
   * @default [80, 443, 8080, 8443] (the Istio gateway chart's and upstream Kubeflow's gateway layouts)
   */
  readonly gatewayListenerPorts?: readonly number[];
  /**
   * Managed: further `config-features` flags, e.g. `{ 'kubernetes.podspec-fieldref': 'enabled' }`.
   * @default - only the flags KServe needs to schedule predictors (`kubernetes.podspec-affinity`, `-nodeselector`, `-tolerations`: enabled)
   */
  readonly features?: Readonly<Record<string, 'enabled' | 'disabled' | 'allowed'>>;
  /**
   * Managed: compute budgets of Knative's Deployments, by Deployment.
   * @default - upstream Knative's budgets (every container has requests and a memory limit)
   */
  readonly resources?: Partial<Readonly<Record<KnativeWorkload, ResourceBudget>>>;
  /**
   * Managed: compute budget of the queue-proxy sidecar Knative adds to every revision pod (KServe predictors).
   * @default - 25m CPU (upstream's request); 64Mi memory request, 256Mi limit (upstream sets none)
   */
  readonly queueProxyResources?: ResourceBudget;
  /**
   * Managed: compute budget of the operator. The chart always sets a CPU limit: without one here, its default stays.
   * @default - the chart's: 100m CPU (limit 1), 100Mi memory request, 1000Mi limit
   */
  readonly operatorResources?: ResourceBudget;
  /**
   * Managed: compute budget of the operator's webhook (same CPU limit rule as `operatorResources`).
   * @default - the chart's: 100m CPU (limit 500m), 100Mi memory request, 500Mi limit
   */
  readonly operatorWebhookResources?: ResourceBudget;
  /**
   * Managed: waves that must be installed before Knative Serving's pods start (besides cluster configuration, which
   * comes after the mesh's control plane).
   * @default - none
   */
  readonly after?: readonly Wave[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const FEATURE_KEY = /^[a-z0-9][-a-z0-9.]*$/;
const MANAGED_ONLY = [
  'operatorNamespace', 'ingressService', 'gatewayListenerPorts', 'features', 'resources', 'queueProxyResources', 'operatorResources',
  'operatorWebhookResources', 'after',
] as const;
const DEFAULT_QUEUE_PROXY: ResourceBudget = { cpu: { request: '25m' }, memory: { request: '64Mi', limit: '256Mi' } };

function problems(props: KnativeServingProps, version: string): string[] {
  const out: string[] = [];
  const managedLine = MANAGED_KNATIVE_RELEASE.split('.').slice(0, 2).join('.');
  if (!RELEASE_PATTERN.test(version)) out.push(`version "${version}" must be a release such as 1.21 or 1.21.1`);
  else if (props.mode === 'managed' && version !== managedLine && version !== MANAGED_KNATIVE_RELEASE) {
    out.push(`version ${version}: managed mode installs Knative Serving ${MANAGED_KNATIVE_RELEASE} (pinned with the operator chart); `
      + `set the version to ${managedLine}, or use mode external with the release your cluster runs`);
  }
  if (props.gateway.mesh !== props.mesh) {
    out.push(`gateway ${props.gateway.gatewayRef} belongs to another mesh (namespace ${props.gateway.mesh.namespace}); pass the gateway of this mesh`);
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(props.gateway.gatewayRef)) {
    out.push(`gateway reference "${props.gateway.gatewayRef}" must be <namespace>/<name>`);
  }
  const domain = props.domain;
  if (domain !== undefined && (!DNS_NAME.test(domain) || domain.length > 253)) out.push(`domain "${domain}" must be a DNS name, e.g. models.example.org`);
  for (const [what, value] of [['namespace', props.namespace], ['operatorNamespace', props.operatorNamespace]] as const) {
    if (value !== undefined && (!DNS_LABEL.test(value) || value.length > 63)) out.push(`${what} "${value}" must be a DNS label`);
  }
  if (props.ingressService !== undefined && !DNS_NAME.test(props.ingressService)) {
    out.push(`ingressService "${props.ingressService}" must be a Service host such as istio-ingressgateway.istio-system.svc.cluster.local`);
  }
  const ports = props.gatewayListenerPorts;
  if (ports !== undefined && (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))) {
    out.push(`gatewayListenerPorts [${ports.join(', ')}] must list at least one port between 1 and 65535`);
  }
  for (const key of Object.keys(props.features ?? {})) {
    if (!FEATURE_KEY.test(key)) out.push(`features: "${key}" is not a config-features key (e.g. kubernetes.podspec-fieldref)`);
  }
  if (props.mode === 'external') {
    const given = MANAGED_ONLY.filter((key) => props[key] !== undefined);
    if (given.length > 0) {
      const one = given.length === 1;
      out.push(`${given.join(', ')} ${one ? 'applies' : 'apply'} only to mode managed (external: the cluster admins configure Knative); remove ${one ? 'it' : 'them'}`);
    }
  }
  return out;
}

/**
 * Knative Serving for KServe's serverless mode (scale to zero, canary rollouts), with net-istio as its ingress. Optional:
 * a platform adds it only when a stack enables serverless serving.
 *
 * **managed** — kfkit installs the official Knative operator from its Helm chart (pinned in the chart catalog, images
 * from the image catalog through values) into the operator namespace, in the `knative-operator` wave, and a
 * KnativeServing (`operator.knative.dev/v1beta1`) in the `knative-serving` wave after it, which the operator turns into
 * Knative Serving {@link MANAGED_KNATIVE_RELEASE} with net-istio. The KnativeServing carries upstream Kubeflow's
 * changes to Knative as operator overrides:
 * - routes are exposed on the Kubeflow gateway (`config-istio`: `gateway.<ns>.<name>` → the ingress gateway Service);
 *   the operator's own `knative-ingress-gateway` (which Kubeflow deletes) selects no pod;
 * - `knative-local-gateway` (Gateway and Service) selects the cluster-local gateway pods;
 * - `config-domain` (the domain), `config-deployment` (`progressDeadline: 600s`, large models start slowly), PDBs of the
 *   activator and webhook with `minAvailable: 0`, sidecar injection forced on every Deployment (sidecar dataplane);
 * - ALLOW AuthorizationPolicies for the control-plane pods and ISTIO_MUTUAL towards Knative's services.
 * kfkit adds: `config-features` flags KServe needs (affinity, node selector, tolerations), a queue-proxy budget with a
 * memory limit, and every image — Serving's, net-istio's and queue-proxy's — from the image catalog through the
 * KnativeServing's registry overrides, so a registry mirror applies to pods kfkit never writes.
 * The Knative Serving namespace enforces Pod Security `restricted` (Knative's pods meet it) and joins the mesh through
 * the mesh's enrolment. Both namespaces are default-deny; kfkit opens: every Knative pod and the operator → Kubernetes
 * API; the API server → Knative's webhooks and the operator's (8443); the Kubeflow and local gateways → activator
 * (8012/8013); activator → autoscaler and autoscaler → autoscaler (8080); activator → revision pods in any namespace
 * (8012/8013) and autoscaler → revision pods (9090); net-istio-controller → the gateways' listener ports (its route
 * probes). The revision namespaces must admit the activator and autoscaler themselves (their owner writes that). The
 * operator chart has no pull-Secret setting: with `images.pullSecrets`, the operator's own pods rely on node
 * credentials (Knative's pods get the Secrets).
 *
 * **external** — the cluster admins run Knative Serving with net-istio: kfkit declares the `serving.knative.dev/v1`
 * kinds KServe creates as external APIs and writes nothing else. Their net-istio must expose routes on the Kubeflow
 * gateway (as {@link IServerless.ingressGateway} says) for KServe's URLs to work.
 */
export class KnativeServing extends Construct implements IServerless {
  public readonly mode: 'external' | 'managed';
  public readonly version: string;
  public readonly apiGroup = KNATIVE_SERVING_GROUP;
  public readonly apiVersion = `${KNATIVE_SERVING_GROUP}/${KNATIVE_SERVING_VERSION}`;
  public readonly namespace: string;
  public readonly ingressGateway: string;
  public readonly localGateway: string;
  public readonly localGatewayService: string;
  public readonly domain: string;
  public readonly activator: NetworkPeer;
  public readonly autoscaler: NetworkPeer;
  /** Managed: the wave of the KnativeServing (Knative Serving is ready after it). */
  public readonly wave?: Wave;
  /** Managed: the operator chart's release. */
  public readonly release?: HelmRelease;
  /** Managed: the KnativeServing resource. */
  public readonly resource?: ApiObject;
  /** Managed: its spec. */
  public readonly spec?: KnativeServingSpec;

  public constructor(scope: Construct, id: string, props: KnativeServingProps) {
    super(scope, id);
    const version = props.version ?? '1.21';
    const found = problems(props, version);
    if (found.length > 0) throw new Error(`${this.node.path}: ${found.join('; ')}`);
    const ctx = KfkitContext.of(this);
    const mesh = props.mesh;
    this.mode = props.mode;
    this.namespace = props.namespace ?? 'knative-serving';
    this.domain = props.domain ?? 'example.com';
    this.ingressGateway = props.gateway.gatewayRef;
    this.localGateway = `${this.namespace}/knative-local-gateway`;
    this.localGatewayService = `knative-local-gateway.${mesh.namespace}.svc.cluster.local`;
    this.activator = knativePeer(this.namespace, 'activator');
    this.autoscaler = knativePeer(this.namespace, 'autoscaler');
    const kinds = ['Service', 'Configuration', 'Revision', 'Route'];

    if (props.mode === 'external') {
      this.version = version;
      for (const kind of kinds) {
        ctx.addExternalApi({
          group: KNATIVE_SERVING_GROUP, kind, versions: [KNATIVE_SERVING_VERSION],
          providedBy: `Knative Serving >= ${version} with net-istio (installed by the cluster admins)`,
        });
      }
      return;
    }

    this.version = MANAGED_KNATIVE_RELEASE;
    const plan = ctx.plan;
    const operatorNamespace = props.operatorNamespace ?? 'knative-operator';
    const settings: ManagedKnativeSettings = {
      mesh, gateway: props.gateway, namespace: this.namespace, operatorNamespace, domain: this.domain,
      ingressService: props.ingressService ?? `istio-ingressgateway.${mesh.namespace}.svc.cluster.local`,
      localGateway: props.localGateway ?? { peerName: CLUSTER_LOCAL_GATEWAY, namespace: mesh.namespace, podLabels: { ...CLUSTER_LOCAL_GATEWAY_LABELS } },
      localGatewayService: this.localGatewayService,
      gatewayListenerPorts: props.gatewayListenerPorts ?? [80, 443, 8080, 8443],
      features: props.features ?? {},
      resources: props.resources ?? {},
      queueProxyResources: props.queueProxyResources ?? DEFAULT_QUEUE_PROXY,
      operatorResources: props.operatorResources ?? OPERATOR_DEFAULT_RESOURCES,
      operatorWebhookResources: props.operatorWebhookResources ?? OPERATOR_WEBHOOK_DEFAULT_RESOURCES,
    };

    // The operator: its namespace, its chart in a wave of its own, its network.
    const operator = new Construct(this, 'Operator');
    new PlatformNamespace(operator, 'Namespace', { name: operatorNamespace });
    this.release = operatorRelease(operator, settings);
    plan.assign(this.release, plan.addWave('knative-operator', {
      description: 'The Knative operator (managed chart): its KnativeServing API and conversion webhook ready before any KnativeServing.',
      after: [plan.namespaces, PlatformNamespace.isolationWave(this)],
      before: [plan.cluster],
    }));
    const operatorPolicies = new Construct(operator, 'Network');
    plan.assign(operatorPolicies, PlatformNamespace.isolationWave(this));
    operatorNetwork(operatorPolicies, operatorNamespace);

    // Knative Serving: its namespace (in the mesh), the KnativeServing and Istio policy in a later wave, its network.
    const serving = new Construct(this, 'Serving');
    const namespace = new PlatformNamespace(serving, 'Namespace', { name: this.namespace });
    enrolInMesh(serving, mesh, namespace);
    this.wave = plan.addWave('knative-serving', {
      description: 'KnativeServing (the operator installs Knative Serving and net-istio), ready before the controllers that use it (KServe).',
      after: [plan.cluster, ...(props.after ?? [])],
      before: [plan.controllers],
    });
    this.spec = knativeServingSpec(this, settings);
    this.resource = knativeServingResource(serving, 'Resource', this.namespace, this.spec);
    plan.waitFor(this.resource, { type: 'condition', condition: 'Ready' });
    plan.assign(this.resource, this.wave);
    const istio = new Construct(serving, 'IstioPolicy');
    istioPolicies(istio, this.namespace);
    plan.assign(istio, this.wave);
    const network = new Construct(serving, 'Network');
    plan.assign(network, PlatformNamespace.isolationWave(this));
    servingNetwork(network, settings);
    // Upstream's cluster-local gateway, which knative-local-gateway selects: kfkit runs it in the mesh it manages; an
    // external mesh must have it.
    if (props.localGateway === undefined) {
      if (mesh.mode === 'managed') new ClusterLocalGateway(this, 'LocalGateway', { mesh });
      else {
        ctx.addRequirements(() => [`the mesh runs Istio gateway pods labelled app=${CLUSTER_LOCAL_GATEWAY}, istio=${CLUSTER_LOCAL_GATEWAY} in ${mesh.namespace} ` +
          '(upstream Kubeflow\'s cluster-local gateway, which knative-local-gateway selects), or Knative\'s localGateway names other gateway pods']);
      }
    }

    for (const kind of kinds) {
      ctx.addExternalApi({
        group: KNATIVE_SERVING_GROUP, kind, versions: [KNATIVE_SERVING_VERSION],
        providedBy: `Knative Serving ${MANAGED_KNATIVE_RELEASE} with net-istio (managed by kfkit through the Knative operator)`,
        installedBy: `KnativeServing/${this.namespace}/knative-serving`,
      });
    }
  }
}
