import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { chartEntry } from '../../core/charts';
import { KfkitContext } from '../../core/context';
import { privilegedNamespace, privilegedReasonAnnotation } from '../../core/exceptions';
import { HelmRelease } from '../../core/helm';
import { KFKIT_KEYS } from '../../core/labels';
import { ExtensionProvider, IMesh } from '../../core/mesh';
import { PlatformNamespace } from '../../core/namespace';
import { allowFromKubeApi, allowKubeApi, allowTraffic, NetworkPeer } from '../../core/network';
import { chartResources, ResourceBudget } from '../../core/security';
import { Wave } from '../../core/waves';
import { addWaypoint, allowIstiod, AMBIENT_LABEL, enrolInMesh, INJECTION_LABEL, MeshNamespace, WaypointOptions } from './enrolment';
import { GATEWAY_API_GROUP, GATEWAY_API_MIN_VERSION, ISTIO_APIS, ISTIOD_POD_LABELS, ISTIOD_WEBHOOK_PORT, ISTIOD_XDS_PORT } from './shared';
import {
  extensionProviderValues, ExtensionProviderValues, globalValues, IstioBaseValues, IstioCniValues, IstiodValues, IstioPlatform,
  ZtunnelValues,
} from './values';

export * from './enrolment';
export * from './shared';
export * from './values';

/** Compute budgets of the Istio components kfkit installs or configures (managed mode). */
export interface IstioResources {
  /**
   * istiod.
   * @default - 500m CPU and 2Gi memory requested (the chart's), 4Gi memory limit
   */
  readonly istiod?: ResourceBudget;
  /**
   * The istio-cni node agent (per node).
   * @default - 100m CPU and 100Mi memory requested (the chart's), 512Mi memory limit
   */
  readonly cni?: ResourceBudget;
  /**
   * ztunnel, the ambient node proxy (per node).
   * @default - 200m CPU and 512Mi memory requested (the chart's), 1Gi memory limit
   */
  readonly ztunnel?: ResourceBudget;
  /**
   * Each injected sidecar proxy and each gateway proxy istiod deploys.
   * @default - 10m CPU and 40Mi memory requested, 2 CPU and 1Gi memory limits (kubeflow/manifests 26.03)
   */
  readonly proxy?: ResourceBudget;
  /**
   * Each waypoint proxy (ambient).
   * @default - 10m CPU and 128Mi memory requested, 2 CPU and 1Gi memory limits (kubeflow/manifests 26.03)
   */
  readonly waypoint?: ResourceBudget;
}

/** Props of {@link IstioMesh}. */
export interface IstioMeshProps {
  /**
   * `managed`: kfkit installs Istio from its official Helm charts (pinned in the chart catalog). `external`: Istio is
   * already on the cluster; kfkit declares what it needs ({@link IstioMesh.requirements}) and adds only Kubeflow's objects.
   * @default 'managed'
   */
  readonly mode?: 'external' | 'managed';
  /**
   * `sidecar`: Envoy sidecars injected with istio-cni (no privileged init container). `ambient`: ztunnel node proxies,
   * and waypoints where L7 policy is needed.
   * @default 'sidecar'
   */
  readonly dataplane?: 'sidecar' | 'ambient';
  /**
   * The minimum Istio release kfkit needs (`1.29` or `1.29.3`): recorded in the external API declaration (external), and
   * checked against the pinned charts (managed).
   * @default '1.29'
   */
  readonly version?: string;
  /**
   * Namespace of istiod (and of the Kubeflow ingress gateway). Managed: created by kfkit.
   * @default 'istio-system'
   */
  readonly namespace?: string;
  /**
   * Namespace of Istio's node agents (istio-cni, and ztunnel in ambient): the only part of the mesh that needs the host,
   * so it alone enforces Pod Security `privileged` and {@link namespace}, where istiod and the gateways run, enforces
   * `restricted`. istiod trusts ztunnel there (`pilot.trustedZtunnelNamespace`). Managed only: created by kfkit.
   * @default 'istio-cni'
   */
  readonly nodeAgentNamespace?: string;
  /**
   * Trust domain of workload identities (`spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`).
   * @default 'cluster.local'
   */
  readonly trustDomain?: string;
  /**
   * Extension providers the mesh config defines (oauth2-proxy as `envoyExtAuthzHttp` for CUSTOM AuthorizationPolicies).
   * Managed: rendered into istiod's `meshConfig.extensionProviders`. External: listed in {@link IstioMesh.requirements}.
   * More can be added with {@link IstioMesh.addExtensionProvider}.
   * @default - none
   */
  readonly extensionProviders?: readonly ExtensionProvider[];
  /**
   * Proxies log every request to stdout (`meshConfig.accessLogFile: /dev/stdout`, as upstream). Managed only.
   * @default true
   */
  readonly accessLogs?: boolean;
  /**
   * Platform profile of the Istio charts (`global.platform`), for distributions whose CNI paths or quotas differ (GKE's
   * read-only /opt/cni/bin and its quota on `system-node-critical` pods outside kube-system). Managed only.
   * @default - none (generic Kubernetes: kind, EKS, kubeadm)
   */
  readonly platform?: IstioPlatform;
  /**
   * Compute budgets. Managed only.
   * @default - see {@link IstioResources}
   */
  readonly resources?: IstioResources;
}

/** The managed charts' releases. */
export interface IstioReleases {
  /** istio-base: the Istio CRDs and the default-revision validating webhook. */
  readonly base: HelmRelease;
  /** istiod: the control plane, sidecar injector and CA. */
  readonly istiod: HelmRelease;
  /** istio-cni: the node agent that sets up traffic redirection (sidecar and ambient). */
  readonly cni: HelmRelease;
  /** ztunnel: the ambient node proxy (ambient only). */
  readonly ztunnel?: HelmRelease;
}

const DEFAULTS = {
  istiod: { cpu: { request: '500m' }, memory: { request: '2Gi', limit: '4Gi' } },
  cni: { cpu: { request: '100m' }, memory: { request: '100Mi', limit: '512Mi' } },
  ztunnel: { cpu: { request: '200m' }, memory: { request: '512Mi', limit: '1Gi' } },
  proxy: { cpu: { request: '10m', limit: '2' }, memory: { request: '40Mi', limit: '1Gi' } },
  waypoint: { cpu: { request: '10m', limit: '2' }, memory: { request: '128Mi', limit: '1Gi' } },
} as const satisfies Record<string, ResourceBudget>;

/** Minimum Istio release kfkit supports. */
export const ISTIO_MIN_VERSION = '1.29';
const RELEASE = /^\d+\.\d+(\.\d+)?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function atLeast(version: string, min: string): boolean {
  const a = version.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

const CNI_REASON = 'istio-cni is a node agent: it installs Istio\'s CNI plugin into the host\'s CNI directories (hostPath /opt/cni/bin, '
  + '/etc/cni/net.d) and, as root with NET_ADMIN, NET_RAW, SYS_PTRACE, SYS_ADMIN and DAC_OVERRIDE, programs traffic redirection inside '
  + 'pod network namespaces, so that meshed pods need no privileged istio-init container';
const ZTUNNEL_REASON = 'ztunnel is the ambient node proxy: as root with NET_ADMIN, SYS_ADMIN and NET_RAW it enters pod network namespaces '
  + 'to proxy their traffic (setns, TPROXY), sharing the host directory /var/run/ztunnel with istio-cni';

/**
 * The Istio service mesh as the rest of kfkit sees it ({@link IMesh}): who provides it, the dataplane, and how a namespace
 * joins it ({@link IstioMesh.enrol}).
 *
 * **managed** — kfkit installs Istio (istio/istio 1.29, pinned in the chart catalog) from its official charts as
 * {@link HelmRelease}s: istio-base and istiod in its namespace (Pod Security `restricted`, default-deny), the node agents
 * in theirs ({@link IstioMeshProps.nodeAgentNamespace}, `privileged`, default-deny): `istio-base` (the Istio CRDs) in the
 * `mesh-crds` wave, then `istiod`, `istio-cni` and, in ambient mode, `ztunnel` in the `mesh` wave — both after the
 * namespaces and their isolation policies and before cluster configuration, so the sidecar injector serves before any
 * Kubeflow pod is created and no Istio object is applied before its CRD. Values follow kubeflow/manifests 26.03
 * (`common/istio`): sidecars through istio-cni (`pilot.cni.enabled`), native sidecars, the debug HTTP endpoint off,
 * access logs to stdout, tracing off, TCP keepalive 10s/5s/3, JWKS refreshed every minute, RuntimeDefault seccomp for
 * istiod, sidecars, gateways and waypoints, no PodDisruptionBudgets. Every image comes from the image catalog (a
 * registry mirror applies). istio-cni and ztunnel are privileged node agents inside the charts: their releases carry
 * `kfkit.dev/privileged-reason`, and their namespace says why it is privileged. Network: istiod → Kubernetes API, the API server → istiod's
 * webhooks (15017, from any address), istio-cni → Kubernetes API, ztunnel → istiod (15012); enrolled namespaces reach
 * istiod through their enrolment.
 *
 * **external** — the cluster admins run Istio: the Istio kinds kfkit emits are declared external (`Istio >= <version>`),
 * istiod's namespace an external object, and {@link IstioMesh.requirements} lists what their Istio must provide.
 */
export class IstioMesh extends Construct implements IMesh {
  /** The wave of the Istio CRDs (istio-base): after the namespaces and their isolation, before cluster configuration. */
  public static crdWave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.ensureWave('mesh-crds', {
      description: 'Istio CRDs (istio-base chart), established before istiod and before any Istio object.',
      after: [plan.namespaces, PlatformNamespace.isolationWave(scope)],
      before: [plan.cluster],
    });
  }

  /** The wave of the Istio control plane and node agents: after the CRDs, before cluster configuration and every workload. */
  public static wave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.ensureWave('mesh', {
      description: 'Istio control plane and node agents (istiod, istio-cni, ztunnel), serving before any meshed pod is created.',
      after: [IstioMesh.crdWave(scope)],
      before: [plan.cluster],
    });
  }

  /** Namespace of istiod. */
  public readonly namespace: string;
  /** sidecar or ambient. */
  public readonly dataplane: 'sidecar' | 'ambient';
  /** Who provides Istio. */
  public readonly mode: 'external' | 'managed';
  /** Trust domain of workload identities. */
  public readonly trustDomain: string;
  /** `istio-injection: enabled` (sidecar) or `istio.io/dataplane-mode: ambient` (ambient). */
  public readonly enrollmentLabels: Readonly<Record<string, string>>;
  /** istiod's pods (`app: istiod` in the mesh namespace). */
  public readonly istiod: NetworkPeer;
  /** External: the minimum release required. Managed: the pinned release installed. */
  public readonly version: string;
  /** The managed charts, in managed mode. */
  public readonly releases?: IstioReleases;
  /** istiod's namespace, in managed mode (Pod Security `restricted`). */
  public readonly meshNamespace?: PlatformNamespace;
  /** The node agents' namespace (istio-cni, ztunnel), in managed mode: the mesh's only `privileged` namespace. */
  public readonly nodeAgentNamespace?: PlatformNamespace;

  private readonly providers: ExtensionProvider[] = [];
  /** The array istiod's values render (managed): appended to by {@link addExtensionProvider}. */
  private readonly renderedProviders: ExtensionProviderValues[] = [];

  public constructor(scope: Construct, id: string, props: IstioMeshProps = {}) {
    super(scope, id);
    this.mode = props.mode ?? 'managed';
    this.dataplane = props.dataplane ?? 'sidecar';
    this.namespace = props.namespace ?? 'istio-system';
    this.trustDomain = props.trustDomain ?? 'cluster.local';
    const minimum = props.version ?? ISTIO_MIN_VERSION;
    if (!['external', 'managed'].includes(this.mode)) throw new Error(`IstioMesh: mode "${this.mode}" must be external or managed`);
    if (!['sidecar', 'ambient'].includes(this.dataplane)) throw new Error(`IstioMesh: dataplane "${this.dataplane}" must be sidecar or ambient`);
    if (!DNS_LABEL.test(this.namespace) || this.namespace.length > 63) throw new Error(`IstioMesh: namespace "${this.namespace}" must be a DNS label`);
    if (!DNS_NAME.test(this.trustDomain) || this.trustDomain.length > 253) {
      throw new Error(`IstioMesh: trustDomain "${this.trustDomain}" must be a DNS name such as cluster.local`);
    }
    if (!RELEASE.test(minimum)) throw new Error(`IstioMesh: version "${minimum}" must be a release such as 1.29 or 1.29.3`);
    if (!atLeast(minimum, ISTIO_MIN_VERSION)) throw new Error(`IstioMesh: kfkit needs Istio ${ISTIO_MIN_VERSION} or later, not ${minimum}; upgrade Istio`);
    const pinned = chartEntry('istiod').version;
    if (this.mode === 'managed' && !atLeast(pinned, minimum)) {
      throw new Error(`IstioMesh: managed mode installs Istio ${pinned}, older than the required ${minimum}; lower version or use mode external`);
    }
    this.version = this.mode === 'managed' ? pinned : minimum;
    this.enrollmentLabels = this.dataplane === 'sidecar' ? { [INJECTION_LABEL]: 'enabled' } : { [AMBIENT_LABEL]: 'ambient' };
    this.istiod = { peerName: 'istiod', namespace: this.namespace, podLabels: ISTIOD_POD_LABELS };
    for (const p of props.extensionProviders ?? []) this.addExtensionProvider(p);

    const ctx = KfkitContext.of(this);
    ctx.addRequirements(() => this.requirements);
    if (this.mode === 'external') {
      for (const api of ISTIO_APIS) {
        for (const kind of api.kinds) {
          ctx.addExternalApi({ group: api.group, kind, versions: [...api.versions], providedBy: `Istio >= ${minimum} (installed by the cluster admins)` });
        }
      }
      ctx.addExternalObject({
        apiVersion: 'v1', kind: 'Namespace', name: this.namespace, reason: 'the namespace of istiod, created by the cluster admins with Istio',
      });
      return;
    }
    const agents = props.nodeAgentNamespace ?? 'istio-cni';
    if (!DNS_LABEL.test(agents) || agents.length > 63) throw new Error(`IstioMesh: nodeAgentNamespace "${agents}" must be a DNS label`);
    if (agents === this.namespace) {
      throw new Error(`IstioMesh: nodeAgentNamespace "${agents}" must differ from namespace: istiod's namespace enforces restricted, the node agents need privileged`);
    }
    this.meshNamespace = new PlatformNamespace(this, 'Namespace', {
      name: this.namespace, labels: { [KFKIT_KEYS.namespaceRole]: 'service-mesh' },
    });
    this.nodeAgentNamespace = new PlatformNamespace(this, 'NodeAgentNamespace', {
      name: agents, podSecurity: 'privileged', labels: { [KFKIT_KEYS.namespaceRole]: 'service-mesh-node-agents' },
    });
    this.releases = this.installCharts(ctx, props, agents);
    const reasons = this.dataplane === 'ambient' ? [CNI_REASON, ZTUNNEL_REASON] : [CNI_REASON];
    privilegedNamespace(this.nodeAgentNamespace, `Istio's node agents need the host: ${reasons.join('; ')}`);
    this.allowControlPlaneTraffic(agents);
  }

  /**
   * What the cluster's Istio must provide for kfkit's objects to work: for an external mesh, the release, dataplane,
   * trust domain and extension providers; in both modes, the Kubernetes Gateway API CRDs once a waypoint is added (no
   * Istio chart ships them). Shown by the README and the CLI.
   */
  public get requirements(): string[] {
    const out: string[] = [];
    if (this.mode === 'external') {
      out.push(`Istio >= ${this.version}, istiod in namespace ${this.namespace}`);
      out.push(this.dataplane === 'sidecar'
        ? 'sidecar dataplane with istio-cni (istiod value pilot.cni.enabled: true): kfkit namespaces enforce Pod Security restricted, '
          + 'which rejects the NET_ADMIN/NET_RAW istio-init container'
        : 'ambient dataplane: istiod, istio-cni and ztunnel installed with profile ambient');
      out.push(`trust domain ${this.trustDomain} (meshConfig.trustDomain)`);
      for (const p of this.providers) {
        out.push(`meshConfig.extensionProviders: ${p.name} (envoyExtAuthzHttp, service ${p.envoyExtAuthzHttp.service} port ${p.envoyExtAuthzHttp.port})`);
      }
    }
    if (KfkitContext.of(this).externalApis.some((a) => a.group === GATEWAY_API_GROUP)) {
      out.push(`Kubernetes Gateway API >= ${GATEWAY_API_MIN_VERSION} CRDs, standard channel (for the ambient waypoints)`);
    }
    return out;
  }

  /** Extension providers of the mesh config, in the order added. */
  public get extensionProviders(): readonly ExtensionProvider[] {
    return [...this.providers];
  }

  /**
   * Adds an extension provider (e.g. oauth2-proxy, by the auth component): rendered into istiod's meshConfig (managed) or
   * listed in {@link requirements} (external). Names are unique.
   */
  public addExtensionProvider(provider: ExtensionProvider): void {
    const e = provider.envoyExtAuthzHttp;
    if (!/^[a-zA-Z0-9]([-a-zA-Z0-9._]*[a-zA-Z0-9])?$/.test(provider.name)) {
      throw new Error(`IstioMesh: extension provider name "${provider.name}" must be letters, digits, -, . or _`);
    }
    if (this.providers.some((p) => p.name === provider.name)) throw new Error(`IstioMesh: extension provider "${provider.name}" is defined twice`);
    if (e.service.trim() === '') throw new Error(`IstioMesh: extension provider "${provider.name}" needs envoyExtAuthzHttp.service (a Service host name)`);
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
      throw new Error(`IstioMesh: extension provider "${provider.name}" has port ${e.port}; use 1-65535`);
    }
    this.providers.push(provider);
    this.renderedProviders.push(extensionProviderValues(provider));
  }

  /** Enrols a namespace (see {@link enrolInMesh}); its objects are created under this mesh. */
  public enrol(namespace: MeshNamespace): Construct {
    return enrolInMesh(this, this, namespace);
  }

  /** Adds an ambient waypoint to a namespace (see {@link addWaypoint}); its objects are created under this mesh. */
  public waypoint(namespace: MeshNamespace, options: WaypointOptions = {}): ApiObject {
    return addWaypoint(this, this, namespace, options);
  }

  /** Lets `client` (a gateway's pods) reach istiod's xDS/CA port (see {@link allowIstiod}), with the policies under `scope`. */
  public allowControlPlane(scope: Construct, client: NetworkPeer): void {
    allowIstiod(scope, this, client);
  }

  private installCharts(ctx: KfkitContext, props: IstioMeshProps, agents: string): IstioReleases {
    const r = props.resources ?? {};
    const ambient = this.dataplane === 'ambient';
    const profile = ambient ? { profile: 'ambient' as const } : {};
    const global = globalValues(ctx.images.pullSecrets, props.platform, this.namespace);
    const pilot = ctx.runtimeImage('istio-pilot');
    const proxy = ctx.runtimeImage('istio-proxyv2');
    // Every image is set in full; hub and tag too, from istiod's image, for any image a chart would compose itself.
    const pilotParts = ctx.images.parts('istio-pilot');
    const imageDefaults = { hub: pilotParts.repository.replace(/\/[^/]+$/, ''), tag: pilotParts.tag };
    const runtimeDefault = { type: 'RuntimeDefault' as const };

    const baseValues: IstioBaseValues = { global, base: { validationFailurePolicy: 'Fail' } };
    const base = new HelmRelease(this, 'Base', {
      chart: 'istio-base', releaseName: 'istio-base', namespace: this.namespace, values: { ...baseValues }, provides: ISTIO_APIS,
    });
    ctx.plan.assign(base, IstioMesh.crdWave(this));

    const istiodValues: IstiodValues = {
      ...profile,
      global: {
        ...global,
        ...imageDefaults,
        defaultPodDisruptionBudget: { enabled: false },
        proxy: { image: proxy, resources: chartResources(r.proxy ?? DEFAULTS.proxy), seccompProfile: runtimeDefault },
        proxy_init: { image: proxy },
        waypoint: { resources: chartResources(r.waypoint ?? DEFAULTS.waypoint) },
      },
      pilot: {
        image: pilot,
        resources: chartResources(r.istiod ?? DEFAULTS.istiod),
        seccompProfile: runtimeDefault,
        cni: { enabled: true },
        ...(ambient ? { trustedZtunnelNamespace: agents } : {}),
        env: {
          ENABLE_NATIVE_SIDECARS: 'true',
          ENABLE_DEBUG_ON_HTTP: 'false',
          // Upstream (oauth2-proxy component): fetch JWKS every minute, not every 20, so a RequestAuthentication applied
          // before its issuer (Dex) serves recovers quickly.
          PILOT_JWT_PUB_KEY_REFRESH_INTERVAL: '1m',
        },
      },
      gateways: { seccompProfile: runtimeDefault },
      meshConfig: {
        accessLogFile: (props.accessLogs ?? true) ? '/dev/stdout' : '',
        defaultConfig: { tracing: {} },
        tcpKeepalive: { time: '10s', interval: '5s', probes: 3 },
        trustDomain: this.trustDomain,
        extensionProviders: this.renderedProviders,
      },
      base: { validationFailurePolicy: 'Fail' },
    };
    const istiod = new HelmRelease(this, 'Istiod', {
      chart: 'istiod', releaseName: 'istiod', namespace: this.namespace, values: { ...istiodValues }, dependsOn: [base],
    });

    const cniValues: IstioCniValues = {
      ...profile,
      global: { ...globalValues(ctx.images.pullSecrets, props.platform), ...imageDefaults },
      image: ctx.runtimeImage('istio-install-cni'),
      resources: chartResources(r.cni ?? DEFAULTS.cni),
      seccompProfile: runtimeDefault,
    };
    const cni = new HelmRelease(this, 'Cni', {
      chart: 'istio-cni', releaseName: 'istio-cni', namespace: agents, values: { ...cniValues }, dependsOn: [base],
    });
    cni.resource.metadata.addAnnotation(...annotation(CNI_REASON));

    let ztunnel: HelmRelease | undefined;
    if (ambient) {
      const ztunnelValues: ZtunnelValues = {
        profile: 'ambient',
        ...(props.platform !== undefined ? { global: { platform: props.platform } } : {}),
        istioNamespace: this.namespace,
        image: ctx.runtimeImage('istio-ztunnel'),
        resources: chartResources(r.ztunnel ?? DEFAULTS.ztunnel),
        ...(ctx.images.pullSecrets.length > 0 ? { imagePullSecrets: [...ctx.images.pullSecrets] } : {}),
      };
      ztunnel = new HelmRelease(this, 'Ztunnel', {
        chart: 'ztunnel', releaseName: 'ztunnel', namespace: agents, values: { ...ztunnelValues }, dependsOn: [istiod],
      });
      ztunnel.resource.metadata.addAnnotation(...annotation(ZTUNNEL_REASON));
    }
    for (const release of [istiod, cni, ztunnel]) if (release) ctx.plan.assign(release, IstioMesh.wave(this));
    return { base, istiod, cni, ztunnel };
  }

  /** Policies of the mesh namespaces (default-deny): what istiod and the node agents need, in the isolation wave. */
  private allowControlPlaneTraffic(agents: string): void {
    const network = new Construct(this, 'Network');
    KfkitContext.of(this).plan.assign(network, PlatformNamespace.isolationWave(this));
    allowKubeApi(network, this.istiod);
    // The API server calls istiod's injection and validation webhooks; it is not a pod and its address differs per cluster.
    allowFromKubeApi(network, 'WebhooksFromApiServer', this.istiod, [{ port: ISTIOD_WEBHOOK_PORT }]);
    allowKubeApi(network, { peerName: 'istio-cni', namespace: agents, podLabels: { 'k8s-app': 'istio-cni-node' } });
    if (this.dataplane === 'ambient') {
      allowTraffic(network, { peerName: 'ztunnel', namespace: agents, podLabels: { app: 'ztunnel' } }, this.istiod, [{ port: ISTIOD_XDS_PORT }]);
    }
  }
}

function annotation(reason: string): [string, string] {
  const [entry] = Object.entries(privilegedReasonAnnotation(reason));
  return entry;
}
