import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { CertManagerRef } from '../../core/cert-manager';
import { KfkitContext } from '../../core/context';
import { ComponentIdentity, MANAGED_BY, standardLabels } from '../../core/labels';
import { IKubeflowGateway, IMesh, ISTIO_NETWORKING_API, ISTIO_SECURITY_API, UserHeaders } from '../../core/mesh';
import { PlatformNamespace } from '../../core/namespace';
import { allowTraffic, labelSelector, NetworkPeer } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { allowIstiod } from '../istio';
import { exposeWebApp, ExposeWebAppProps, WebAppExposure } from './exposure';
import { injectedGateway } from './injected';
import { ACME_SOLVER_LABELS, ACME_SOLVER_PORT, checkTls, gatewayCertificate, GatewayTls } from './tls';

export { exposeWebApp } from './exposure';
export type { ExposeWebAppProps, WebAppBackend, WebAppExposure } from './exposure';
export { injectedGateway, PROXY_UID } from './injected';
export type { InjectedGatewayProps } from './injected';
export { GATEWAY_ACME_ISSUER, GATEWAY_CA, GATEWAY_CERTIFICATE, GATEWAY_SELF_SIGNED_ISSUER, GATEWAY_TLS_SECRET, LETS_ENCRYPT } from './tls';
export type { GatewayTls } from './tls';

/** The ingress gateway Service's type and annotations. */
export interface GatewayServiceProps {
  /**
   * Service type.
   * @default 'ClusterIP' (upstream's; reach it with `kubectl port-forward`)
   */
  readonly type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  /**
   * Annotations (e.g. for the AWS Load Balancer Controller).
   * @default - none
   */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Props of {@link KubeflowGateway}. */
export interface KubeflowGatewayProps {
  /** The mesh: the ingress gateway runs in its namespace, is injected by its istiod and reaches istiod on 15012. */
  readonly mesh: IMesh;
  /**
   * Namespace of the Istio Gateway `kubeflow-gateway` (upstream: `kubeflow`): the platform namespace, which must exist.
   * @default 'kubeflow'
   */
  readonly namespace?: string;
  /** Host name users reach Kubeflow at (a DNS name, optionally `*.`-prefixed), e.g. `kubeflow.example.com`. */
  readonly host: string;
  /** TLS of the gateway; always on, HTTP redirects to HTTPS. */
  readonly tls: GatewayTls;
  /**
   * cert-manager on the cluster (external or managed). Required for `self-signed` and `acme`.
   * @default - none (only tls type `secret` works)
   */
  readonly certManager?: CertManagerRef;
  /**
   * The ingress gateway's Service.
   * @default - ClusterIP, no annotations
   */
  readonly service?: GatewayServiceProps;
  /**
   * Identity headers apps receive once a user is authenticated (set by the authentication component).
   * @default - none (no authentication configured)
   */
  readonly userHeaders?: UserHeaders;
  /**
   * Replicas of the ingress gateway (a PodDisruptionBudget keeps all but one of them during voluntary disruptions).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Compute budget of each ingress gateway pod. The CPU limit also sizes Envoy's worker threads (`ISTIO_CPU_LIMIT`).
   * @default - 100m CPU and 128Mi memory requested, 2 CPU and 1Gi memory limits (kubeflow/manifests 26.03)
   */
  readonly resources?: ResourceBudget;
}

/** Name of the Istio Gateway (upstream's). */
export const GATEWAY_NAME = 'kubeflow-gateway';
/** Name of the ingress gateway Deployment, Service and PodDisruptionBudget (upstream's). */
export const INGRESS_GATEWAY = 'istio-ingressgateway';
/** The ingress gateway's ServiceAccount (upstream's; KFP's and other upstream policies name its principal). */
export const INGRESS_GATEWAY_SERVICE_ACCOUNT = 'istio-ingressgateway-service-account';
/** Labels of the ingress gateway pods that upstream's Gateway, policies and RequestAuthentications select on. */
export const INGRESS_GATEWAY_LABELS: Readonly<Record<string, string>> = { app: INGRESS_GATEWAY, istio: 'ingressgateway' };
/** Ports of the ingress gateway: Service port → the unprivileged port Envoy listens on (upstream's). */
export const INGRESS_PORTS = {
  http: { port: 80, targetPort: 8080 }, https: { port: 443, targetPort: 8443 }, status: { port: 15021, targetPort: 15021 },
} as const;
const DEFAULT_RESOURCES: ResourceBudget = { cpu: { request: '100m', limit: '2' }, memory: { request: '128Mi', limit: '1Gi' } };
const HOST = /^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'];

function checkHost(host: string): void {
  const labels = host.replace(/^\*\./, '').split('.');
  if (!HOST.test(host) || host.length > 253 || labels.some((l) => l.length === 0 || l.length > 63 || !DNS_LABEL.test(l))) {
    throw new Error(`KubeflowGateway: host "${host}" must be a DNS name such as kubeflow.example.com (optionally *.-prefixed), without scheme, port or path`);
  }
}

/**
 * The Kubeflow gateway: the ingress gateway workload, the Istio Gateway `kubeflow-gateway` with TLS always on, and the
 * certificate behind it; web apps attach to it with {@link exposeWebApp} ({@link KubeflowGateway.expose}).
 *
 * **Ingress gateway** (in the mesh's namespace, upstream's names, labels and ports): ServiceAccount
 * `istio-ingressgateway-service-account` with upstream's Role on Secrets (istiod serves a Gateway's `credentialName`
 * only to gateways whose ServiceAccount may list the Secrets of their namespace), Deployment `istio-ingressgateway`
 * built by Istio's gateway injection — the pod is labelled `sidecar.istio.io/inject: "true"` and annotated
 * `inject.istio.io/templates: gateway`, its container `istio-proxy` has image `auto`, which istiod's injector replaces
 * with the mesh's pinned proxy (so the image follows the mesh's upgrades; the harness's `image-tag` rule knows the
 * placeholder) and completes with args, env, readiness probe on 15021 and volumes. Pods labelled `app:
 * istio-ingressgateway`, `istio: ingressgateway` and `istio.io/dataplane-mode: none` (never captured by ztunnel), run as
 * 1337 with kfkit's restricted security context and no ServiceAccount token (the proxy uses its own projected token),
 * listen on 8080/8443 (no privileged port). A PodDisruptionBudget (`maxUnavailable: 1`), and Service
 * `istio-ingressgateway` of the configured type: `http2` 80 → 8080, `https` 443 → 8443, `status-port` 15021. An
 * AuthorizationPolicy `istio-ingressgateway` allows every request at the gateway (upstream's, for meshes with a global
 * deny-all; authentication adds its CUSTOM and DENY policies on top).
 *
 * **Gateway** `kubeflow-gateway` (`networking.istio.io/v1`, in {@link KubeflowGatewayProps.namespace}), selecting
 * `istio: ingressgateway`: server `http` on 80, hosts `*`, redirecting to HTTPS (`httpsRedirect`); server `https` on 443,
 * hosts `*`, TLS `SIMPLE` with `credentialName` the certificate's Secret (in the ingress gateway's namespace, where
 * istiod reads it). ACME HTTP-01 challenges still pass: cert-manager answers them through an Ingress of class `istio`,
 * which Istio turns into a route for the exact host on port 80 without the redirect, and exact hosts win over `*`.
 *
 * **TLS** (see {@link GatewayTls}): `self-signed` — a kfkit CA and the gateway certificate from cert-manager, in the
 * `certificates` wave, awaited until Ready before the ingress gateway rolls out; `acme` — a ClusterIssuer and the
 * Certificate (issued once DNS points at the gateway); `secret` — the admins' Secret, declared external.
 *
 * **Network.** A managed mesh's namespace is kfkit's and default-deny: ingress gateway ← anywhere on 8080, 8443 and 15021
 * (it is the edge: load balancers, node ports, port-forwards), → istiod 15012, → cert-manager's HTTP-01 solver pods on 8089
 * (acme); each exposed app adds ingress gateway → app. An external mesh's namespace belongs to the cluster admins: kfkit
 * writes no NetworkPolicy there (one selecting the gateway pods would isolate them from every connection not listed, such
 * as the routes Knative adds at run time), only the apps' side admitting the gateway; admins who isolate that namespace
 * admit the gateway themselves.
 *
 * The ingress gateway's namespace must allow injection: a managed mesh's does; an external mesh's namespace must not
 * be labelled `istio-injection: disabled` (istiod's object-selector webhook skips such namespaces, and `image: auto`
 * would never be replaced).
 */
export class KubeflowGateway extends Construct implements IKubeflowGateway {
  public readonly gatewayRef: string;
  public readonly host: string;
  public readonly url: string;
  public readonly ingress: NetworkPeer;
  public readonly ingressPrincipal: string;
  public readonly mesh: IMesh;
  public readonly userHeaders?: UserHeaders;
  /** Namespace of the Istio Gateway object. */
  public readonly namespace: string;
  /** In-cluster host of the ingress gateway Service (`istio-ingressgateway.<mesh namespace>.svc.cluster.local`), e.g. for Knative. */
  public readonly serviceHost: string;
  /** The Secret (in the mesh namespace) the gateway serves HTTPS with. */
  public readonly tlsSecretName: string;
  /** The gateway's Certificate, when cert-manager issues it. */
  public readonly certificate?: ApiObject;
  /** The Secret (in the mesh namespace) whose `ca.crt` users trust, when kfkit's CA signs the certificate. */
  public readonly caSecretName?: string;
  /** The ingress gateway Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  /** The Istio Gateway. */
  public readonly gateway: ApiObject;

  public constructor(scope: Construct, id: string, props: KubeflowGatewayProps) {
    super(scope, id);
    const mesh = props.mesh;
    this.namespace = props.namespace ?? 'kubeflow';
    if (!DNS_LABEL.test(this.namespace) || this.namespace.length > 63) throw new Error(`KubeflowGateway: namespace "${this.namespace}" must be a DNS label`);
    checkHost(props.host);
    checkTls(props.tls, props.host, props.certManager);
    const replicas = props.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`KubeflowGateway: replicas ${replicas} must be a whole number of at least 1`);
    const serviceType = props.service?.type ?? 'ClusterIP';
    if (!SERVICE_TYPES.includes(serviceType)) throw new Error(`KubeflowGateway: service.type "${serviceType}" must be one of ${SERVICE_TYPES.join(', ')}`);

    this.mesh = mesh;
    if (mesh.mode === 'external') {
      // kfkit's ingress gateway lives in the admins' mesh namespace under upstream's names.
      KfkitContext.of(this).addRequirements(() => [
        `namespace ${mesh.namespace} admits injected gateways (not labelled istio-injection=disabled) and runs no other istio-ingressgateway: `
        + 'kfkit installs Kubeflow\'s ingress gateway there under that name',
      ]);
    }
    this.host = props.host;
    this.url = `https://${props.host}`;
    this.userHeaders = props.userHeaders;
    this.gatewayRef = `${this.namespace}/${GATEWAY_NAME}`;
    this.ingress = { peerName: INGRESS_GATEWAY, namespace: mesh.namespace, podLabels: INGRESS_GATEWAY_LABELS };
    this.ingressPrincipal = `${mesh.trustDomain}/ns/${mesh.namespace}/sa/${INGRESS_GATEWAY_SERVICE_ACCOUNT}`;
    this.serviceHost = `${INGRESS_GATEWAY}.${mesh.namespace}.svc.cluster.local`;

    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { name: INGRESS_GATEWAY, component: 'gateway' };
    const labels = { ...standardLabels(identity), ...INGRESS_GATEWAY_LABELS };
    const configLabels = standardLabels({ name: GATEWAY_NAME, component: 'gateway' });

    const cert = gatewayCertificate(this, {
      tls: props.tls, certManager: props.certManager, namespace: mesh.namespace, host: props.host, labels: configLabels,
    });
    this.tlsSecretName = cert.secretName;
    this.certificate = cert.certificate;
    this.caSecretName = cert.caSecretName;

    this.deployment = injectedGateway(this, {
      name: INGRESS_GATEWAY, namespace: mesh.namespace, serviceAccountName: INGRESS_GATEWAY_SERVICE_ACCOUNT, identity, labels,
      podLabels: INGRESS_GATEWAY_LABELS, ports: [INGRESS_PORTS.status, INGRESS_PORTS.http, INGRESS_PORTS.https].map((p) => p.targetPort),
      replicas, resources: props.resources ?? DEFAULT_RESOURCES,
    });
    new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
      metadata: { name: INGRESS_GATEWAY, namespace: mesh.namespace, labels },
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: labelSelector(INGRESS_GATEWAY_LABELS) },
    });
    const annotations = props.service?.annotations;
    new k8s.KubeService(this, 'Service', {
      metadata: {
        name: INGRESS_GATEWAY, namespace: mesh.namespace, labels,
        annotations: annotations && Object.keys(annotations).length > 0 ? { ...annotations } : undefined,
      },
      spec: {
        type: serviceType,
        selector: { ...INGRESS_GATEWAY_LABELS },
        ports: [
          { name: 'status-port', port: INGRESS_PORTS.status.port, targetPort: k8s.IntOrString.fromNumber(INGRESS_PORTS.status.targetPort), protocol: 'TCP' },
          { name: 'http2', port: INGRESS_PORTS.http.port, targetPort: k8s.IntOrString.fromNumber(INGRESS_PORTS.http.targetPort), protocol: 'TCP' },
          { name: 'https', port: INGRESS_PORTS.https.port, targetPort: k8s.IntOrString.fromNumber(INGRESS_PORTS.https.targetPort), protocol: 'TCP' },
        ],
      },
    });
    new ApiObject(this, 'AuthorizationPolicy', {
      apiVersion: ISTIO_SECURITY_API,
      kind: 'AuthorizationPolicy',
      metadata: { name: INGRESS_GATEWAY, namespace: mesh.namespace, labels },
      spec: { action: 'ALLOW', selector: labelSelector(INGRESS_GATEWAY_LABELS), rules: [{}] },
    });
    this.gateway = new ApiObject(this, 'Gateway', {
      apiVersion: ISTIO_NETWORKING_API,
      kind: 'Gateway',
      metadata: { name: GATEWAY_NAME, namespace: this.namespace, labels: configLabels },
      spec: {
        selector: { istio: INGRESS_GATEWAY_LABELS.istio },
        servers: [
          { port: { number: INGRESS_PORTS.http.port, name: 'http', protocol: 'HTTP' }, hosts: ['*'], tls: { httpsRedirect: true } },
          { port: { number: INGRESS_PORTS.https.port, name: 'https', protocol: 'HTTPS' }, hosts: ['*'], tls: { mode: 'SIMPLE', credentialName: this.tlsSecretName } },
        ],
      },
    });
    if (mesh.mode === 'managed') this.network(ctx, props.tls.type === 'acme');
  }

  /** Exposes a web app through this gateway (see {@link exposeWebApp}). */
  public expose(scope: Construct, id: string, props: ExposeWebAppProps): WebAppExposure {
    return exposeWebApp(scope, id, this, props);
  }

  /** The ingress gateway's NetworkPolicies in kfkit's (default-deny) mesh namespace, in the isolation wave (before its pods start). */
  private network(ctx: KfkitContext, acme: boolean): void {
    const network = new Construct(this, 'Network');
    ctx.plan.assign(network, PlatformNamespace.isolationWave(this));
    const meta = (name: string): k8s.ObjectMeta => ({ name, namespace: this.mesh.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } });
    const port = (n: number): k8s.NetworkPolicyPort => ({ port: k8s.IntOrString.fromNumber(n), protocol: 'TCP' });
    // The edge: no `from`, so every source (load balancers, node ports, port-forwards, in-cluster clients) is admitted.
    new k8s.KubeNetworkPolicy(network, 'FromAnywhere', {
      metadata: meta(`${INGRESS_GATEWAY}-from-anywhere`),
      spec: {
        podSelector: labelSelector(INGRESS_GATEWAY_LABELS),
        policyTypes: ['Ingress'],
        ingress: [{ ports: [INGRESS_PORTS.http, INGRESS_PORTS.https, INGRESS_PORTS.status].map((p) => port(p.targetPort)) }],
      },
    });
    allowIstiod(network, this.mesh, this.ingress);
    if (acme) {
      const solver: NetworkPeer = { peerName: 'acme-http01-solver', namespace: this.mesh.namespace, podLabels: ACME_SOLVER_LABELS };
      allowTraffic(network, this.ingress, solver, [{ port: ACME_SOLVER_PORT }]);
    }
  }
}
