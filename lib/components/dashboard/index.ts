import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { IKubeflowGateway, UserHeaders } from '../../core/mesh';
import { allowKubeApi, allowTraffic, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { exposeWebApp, WebAppBackend } from '../gateway';
import { checkAppLinks, checkDistinctMenus, DashboardAppLinks, linksDocument } from './links';

export { pipelinesDashboardLinks } from './links';
export type { DashboardAppLinks, DashboardCard, DashboardMenuItem, DashboardMenuLink } from './links';

/** Where the dashboard reaches the Kubeflow Access Management API (KFAM, part of the profile controller's Deployment). */
export interface KfamEndpoint {
  /** Name of KFAM's Service (upstream: `profiles-kfam`), in the namespace of {@link peer}. */
  readonly serviceName: string;
  /** Port of the Service (upstream: 8081). */
  readonly servicePort: number;
  /** KFAM's pods, for the NetworkPolicies dashboard → KFAM. */
  readonly peer: NetworkPeer;
  /** Port KFAM's pods listen on (upstream: 8081). */
  readonly podPort: number;
}

/** Props of {@link CentralDashboard}. */
export interface CentralDashboardProps {
  /**
   * Namespace of the dashboard: the platform namespace, enrolled in the mesh, which must exist.
   * @default 'kubeflow'
   */
  readonly namespace?: string;
  /** The Kubeflow gateway: the dashboard serves at `/` behind it. */
  readonly gateway: IKubeflowGateway;
  /**
   * The identity headers the gateway writes after authentication; the dashboard reads the user from `userId` (minus
   * `userIdPrefix`) and forwards it to KFAM.
   * @default - the gateway's ({@link IKubeflowGateway.userHeaders}); one of the two is required
   */
  readonly userHeaders?: UserHeaders;
  /** KFAM, which the dashboard asks for the user's profiles and role bindings (and through which it creates profiles). */
  readonly kfam: KfamEndpoint;
  /**
   * Whether users without a profile may create their own namespace from the dashboard's registration page (upstream
   * `REGISTRATION_FLOW`). Off, profiles are created by the platform's admins only.
   * @default false (upstream's setting)
   */
  readonly registrationFlow?: boolean;
  /**
   * The installed web apps' links (side menu, home-page quick links, documentation). More can be added with
   * {@link CentralDashboard.addLinks}.
   * @default - none: an empty menu
   */
  readonly links?: readonly DashboardAppLinks[];
  /**
   * Where the dashboard's logout button sends the browser (upstream `LOGOUT_URL`): a path through the gateway or an
   * `https://` URL.
   * @default '/oauth2/sign_out' (oauth2-proxy's sign-out, as upstream's oauth2-proxy component sets it)
   */
  readonly logoutUrl?: string;
  /**
   * Whether the dashboard shows every app inside its iframe, with its menu around it (`settings` key
   * `DASHBOARD_FORCE_IFRAME`).
   * @default true (upstream's setting)
   */
  readonly forceIframe?: boolean;
  /**
   * Whether the dashboard serves Prometheus metrics of its own process at `/prometheus/metrics` (upstream
   * `COLLECT_METRICS`).
   * @default false (what upstream's manifests do in effect: they leave the value at the placeholder `CD_COLLECT_METRICS`, which the server reads as false)
   */
  readonly collectMetrics?: boolean;
  /**
   * Replicas of the dashboard (it keeps no state).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Compute budget of the dashboard's container.
   * @default - 10m CPU; 128Mi memory requested, 512Mi limit (upstream sets none)
   */
  readonly resources?: ResourceBudget;
}

/** The dashboard's name: its Deployment, Service, ServiceAccount, Role, ClusterRole and route (upstream's). */
export const DASHBOARD_NAME = 'centraldashboard';
/** The ConfigMap with the dashboard's `links` and `settings` (upstream's name). */
export const DASHBOARD_CONFIGMAP = 'centraldashboard-config';
/** Port the dashboard's server listens on (upstream's). */
export const DASHBOARD_PORT = 8082;
/** The Kubeflow release the dashboard image follows. */
const DASHBOARD_VERSION = '1.10.0';
/** UID of the image's `node` user, which upstream runs it as. */
const NODE_UID = 1000;
const DEFAULT_RESOURCES: ResourceBudget = { cpu: { request: '10m' }, memory: { request: '128Mi', limit: '512Mi' } };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HEADER = /^[A-Za-z0-9][-A-Za-z0-9]*$/;
const PREFIX = /^[\x21-\x7e]*$/;
const LOGOUT = /^(\/(?!\/)\S*|https:\/\/[^\s/?#]+(\/\S*)?)$/;
const PORT_MAX = 65535;

/**
 * The Kubeflow central dashboard 1.10.0 (`centraldashboard` in the platform namespace), as kubeflow/manifests 26.03
 * installs it (`applications/centraldashboard/overlays/oauth2-proxy`): the home page at `/` of the gateway, with the
 * side menu of the installed apps, the user's namespaces (from KFAM) and, when allowed, the registration of a profile.
 *
 * - Deployment `centraldashboard` (image `ghcr.io/kubeflow/kubeflow/central-dashboard`, port 8082, liveness and readiness
 *   on `/healthz`), run as the image's `node` user (1000) with kfkit's restricted security context and a read-only root
 *   file system (npm, which starts the server, writes its cache and logs to an emptyDir); upstream's env: the user-id
 *   header and prefix, KFAM's host, the registration flow, the ConfigMap name, the logout URL, the pod's namespace and
 *   metrics collection — plus `PROFILES_KFAM_SERVICE_PORT` from the typed endpoint (upstream relies on the server's
 *   default 8081 or on the variables Kubernetes injects for a Service created before the pod).
 * - ServiceAccount `centraldashboard` (token mounted: the server reads the API) with upstream's permissions, all of them:
 *   a Role (get/list/watch applications, pods, pods/exec, pods/log in the core and `app.k8s.io` groups; get Secrets and
 *   ConfigMaps) and a ClusterRole (get/list/watch events, namespaces, nodes).
 * - Service `centraldashboard` port 80 → 8082.
 * - ConfigMap `centraldashboard-config`: `links`, built from the installed apps' {@link DashboardAppLinks} (upstream's
 *   static list names apps that may not be installed), and `settings` (`DASHBOARD_FORCE_IFRAME`).
 * - Route through the gateway ({@link exposeWebApp}): VirtualService `centraldashboard`, prefix `/`, hosts `*`; an ALLOW
 *   AuthorizationPolicy `centraldashboard` for the ingress gateway's principal (upstream's `central-dashboard`); the
 *   NetworkPolicies gateway → dashboard. The catch-all route never shadows the apps' routes (`/pipeline`, `/oauth2`,
 *   `/dex`) in their own VirtualServices: on a gateway, istiod merges the routes of every VirtualService for a host into
 *   one virtual host and moves catch-all routes (prefix `/` without header or query matches) behind all others
 *   (istio/istio 1.29 `pilot/pkg/networking/core/gateway.go`, `route.SortVHostRoutes`) — the same behaviour upstream's
 *   route relies on. Hosts stay `*` like every route of the gateway (harness rule `gateway-hosts`).
 * - Network: dashboard → KFAM (the endpoint's pod port) and → the Kubernetes API. KFAM must admit the dashboard's
 *   identity ({@link principal}) in its own AuthorizationPolicy (upstream's `profiles-kfam` policy names it).
 *
 * The dashboard does not read GKE's Stackdriver metrics (it would need egress to Google's API) nor a Prometheus.
 */
export class CentralDashboard extends Construct {
  /** Namespace of the dashboard. */
  public readonly namespace: string;
  /** The dashboard's Service (`centraldashboard`, port 80 → 8082) and pods. */
  public readonly endpoint: WebAppBackend;
  /** SPIFFE principal of the dashboard's ServiceAccount, for the AuthorizationPolicies of the services it calls (KFAM). */
  public readonly principal: string;
  /** The identity headers the dashboard reads. */
  public readonly userHeaders: UserHeaders;
  /** The Deployment. */
  public readonly deployment: k8s.KubeDeployment;
  private readonly apps: DashboardAppLinks[] = [];

  public constructor(scope: Construct, id: string, props: CentralDashboardProps) {
    super(scope, id);
    const where = `CentralDashboard ${this.node.path}`;
    const bad: (message: string) => never = (message) => {
      throw new Error(`${where}: ${message}`);
    };
    const ns = props.namespace ?? 'kubeflow';
    if (!DNS_LABEL.test(ns) || ns.length > 63) bad(`namespace "${ns}" must be a DNS label`);
    const headers = props.userHeaders ?? props.gateway.userHeaders;
    if (!headers) {
      bad('the dashboard reads the user from the identity header the gateway writes after authentication: configure authentication '
        + '(auth.mode dex or oidc) so the gateway has userHeaders, or pass userHeaders');
    }
    if (!HEADER.test(headers.userId)) bad(`userHeaders.userId "${headers.userId}" must be an HTTP header name, e.g. kubeflow-userid`);
    if (!PREFIX.test(headers.userIdPrefix)) bad(`userHeaders.userIdPrefix "${headers.userIdPrefix}" must be printable characters without spaces (or empty)`);
    const kfam = props.kfam;
    if (!DNS_LABEL.test(kfam.serviceName)) bad(`kfam.serviceName "${kfam.serviceName}" must be a Service name`);
    for (const [what, port] of [['servicePort', kfam.servicePort], ['podPort', kfam.podPort]] as const) {
      if (!Number.isInteger(port) || port < 1 || port > PORT_MAX) bad(`kfam.${what} ${port} must be a port number (1-${PORT_MAX})`);
    }
    if (Object.keys(kfam.peer.podLabels).length === 0) bad(`kfam.peer has no pod labels; the NetworkPolicies would open every pod of ${kfam.peer.namespace}`);
    const logoutUrl = props.logoutUrl ?? '/oauth2/sign_out';
    if (!LOGOUT.test(logoutUrl)) bad(`logoutUrl "${logoutUrl}" must be a path through the gateway (e.g. /oauth2/sign_out) or an https:// URL`);
    const replicas = props.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1) bad(`replicas ${replicas} must be a whole number of at least 1`);
    for (const app of props.links ?? []) this.addLinks(app);

    this.namespace = ns;
    this.userHeaders = headers;
    this.principal = `${props.gateway.mesh.trustDomain}/ns/${ns}/sa/${DASHBOARD_NAME}`;
    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { name: DASHBOARD_NAME, component: 'dashboard', version: DASHBOARD_VERSION };
    const labels = standardLabels(identity);
    const peer: NetworkPeer = { peerName: DASHBOARD_NAME, namespace: ns, podLabels: selectorLabels(identity) };
    this.endpoint = { serviceName: DASHBOARD_NAME, servicePort: 80, peer, podPort: DASHBOARD_PORT };

    serviceAccountWithRole(this, {
      name: DASHBOARD_NAME,
      namespace: ns,
      labels,
      rules: [
        // Upstream also grants pods/exec and Secrets, which the v1.10.0 server never calls (app/k8s_service.ts, app/api*.ts):
        // left out (facts/deviations.json), since `get pods/exec` opens an exec session on clusters before 1.31.
        { apiGroups: ['', 'app.k8s.io'], resources: ['applications', 'pods', 'pods/log'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      ],
      clusterRules: [{ apiGroups: [''], resources: ['events', 'namespaces', 'nodes'], verbs: ['get', 'list', 'watch'] }],
    });
    clusterIpService(this, { name: DASHBOARD_NAME, namespace: ns, identity, ports: [servicePort('http', 80, DASHBOARD_PORT)] });
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: DASHBOARD_CONFIGMAP, namespace: ns, labels },
      data: {
        // Resolved at synthesis, so apps added with addLinks() after construction are listed too.
        links: Lazy.any({ produce: () => linksDocument(this.apps) }) as string,
        settings: `${JSON.stringify({ DASHBOARD_FORCE_IFRAME: props.forceIframe ?? true }, undefined, 2)}\n`,
      },
    });

    const healthz: k8s.Probe = { httpGet: { path: '/healthz', port: k8s.IntOrString.fromNumber(DASHBOARD_PORT) }, periodSeconds: 30, timeoutSeconds: 5 };
    this.deployment = deployment(this, {
      namespace: ns,
      identity,
      replicas,
      pod: {
        serviceAccountName: DASHBOARD_NAME,
        // The server lists namespaces, nodes and events and reads its ConfigMap.
        automountServiceAccountToken: true,
        security: { user: NODE_UID, group: NODE_UID },
        containers: [{
          name: DASHBOARD_NAME,
          image: ctx.images.image('central-dashboard'),
          ports: [{ containerPort: DASHBOARD_PORT, protocol: 'TCP' }],
          env: [
            { name: 'USERID_HEADER', value: headers.userId },
            { name: 'USERID_PREFIX', value: headers.userIdPrefix },
            { name: 'PROFILES_KFAM_SERVICE_HOST', value: `${kfam.serviceName}.${kfam.peer.namespace}` },
            { name: 'PROFILES_KFAM_SERVICE_PORT', value: String(kfam.servicePort) },
            { name: 'REGISTRATION_FLOW', value: String(props.registrationFlow ?? false) },
            { name: 'DASHBOARD_CONFIGMAP', value: DASHBOARD_CONFIGMAP },
            { name: 'LOGOUT_URL', value: logoutUrl },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'COLLECT_METRICS', value: String(props.collectMetrics ?? false) },
          ],
          resources: props.resources ?? DEFAULT_RESOURCES,
          volumeMounts: [{ name: 'npm', mountPath: '/home/node/.npm' }, { name: 'tmp', mountPath: '/tmp' }],
          readinessProbe: { ...healthz, periodSeconds: 10 },
          livenessProbe: { ...healthz, initialDelaySeconds: 30 },
        }],
        volumes: [{ name: 'npm', emptyDir: {} }, { name: 'tmp', emptyDir: {} }],
      },
    });

    exposeWebApp(this, 'Route', props.gateway, { name: DASHBOARD_NAME, prefix: '/', backend: this.endpoint });
    allowTraffic(this, peer, kfam.peer, [{ port: kfam.podPort }]);
    allowKubeApi(this, peer);
  }

  /** Adds an installed web app's links to the dashboard's menu and home page (in the order added). */
  public addLinks(app: DashboardAppLinks): void {
    const where = `CentralDashboard ${this.node.path}`;
    checkAppLinks(where, app);
    checkDistinctMenus(where, [...this.apps, app]);
    this.apps.push(app);
  }
}
