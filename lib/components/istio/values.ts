import { ExtensionProvider } from '../../core/mesh';
import { ChartResources } from '../../core/security';

/**
 * Typed values of the Istio charts (istio/istio 1.29 `manifests/charts/{base,istio-control/istio-discovery,istio-cni,ztunnel}`):
 * only the keys kfkit sets. Every image is a full reference from kfkit's image catalog (the charts use a value containing
 * `/` as written), so a registry mirror applies and the `ambient` profile's `distroless` variant does not change it.
 */

/** A seccomp profile value (`type: RuntimeDefault`). */
export interface SeccompProfile {
  readonly type: 'RuntimeDefault';
}

/** Platform profile of the Istio charts (`global.platform`): CNI paths and quotas that differ per distribution. */
export type IstioPlatform = 'gke' | 'k3d' | 'k3s' | 'microk8s' | 'minikube' | 'openshift';

/** Chart values shared by every Istio chart (`global.*`). */
export interface IstioGlobalValues {
  /** Namespace of istiod (charts that look istiod up: base, istiod). */
  readonly istioNamespace?: string;
  /** Image pull Secrets of the charts' ServiceAccounts. */
  readonly imagePullSecrets?: readonly string[];
  /** Platform profile. */
  readonly platform?: IstioPlatform;
  /** Registry path of the Istio images, for any image a chart composes from hub and tag (kfkit sets each image in full). */
  readonly hub?: string;
  /** Tag of the Istio images, likewise. */
  readonly tag?: string;
}

/** Values of the `base` chart (CRDs, the default-revision validating webhook). */
export interface IstioBaseValues {
  readonly global: IstioGlobalValues;
  readonly base: {
    /**
     * `Fail` from the start, rather than `Ignore` until istiod flips it: GitOps tools render the chart with
     * `helm template` (never an upgrade) and would otherwise fight istiod over the field.
     */
    readonly validationFailurePolicy: 'Fail';
  };
}

/** An extension provider as meshConfig spells it: the mesh contract's type, which follows meshConfig's spelling. */
export type ExtensionProviderValues = ExtensionProvider;

/** The meshConfig keys kfkit sets (istiod's `meshConfig`). */
export interface MeshConfigValues {
  /** `/dev/stdout` (upstream) or empty (no access logs). */
  readonly accessLogFile: string;
  readonly defaultConfig: {
    /** `{}`: no tracer (upstream disables tracing, whose default Zipkin address does not resolve). */
    readonly tracing: Readonly<Record<string, never>>;
  };
  /** TCP keepalive of upstream connections (upstream's values). */
  readonly tcpKeepalive: { readonly time: string; readonly interval: string; readonly probes: number };
  readonly trustDomain: string;
  /** Kept as one array for the life of the construct: {@link IstioMesh.addExtensionProvider} appends to it. */
  readonly extensionProviders: readonly ExtensionProviderValues[];
}

/** Values of the `istiod` chart. */
export interface IstiodValues {
  /** `ambient` in ambient mode (PILOT_ENABLE_AMBIENT, HBONE). */
  readonly profile?: 'ambient';
  readonly global: IstioGlobalValues & {
    /** Pod disruption budgets off, as upstream (a single istiod with minAvailable 1 blocks node drains). */
    readonly defaultPodDisruptionBudget: { readonly enabled: false };
    /** Injected sidecars, and the proxies of gateways and waypoints. */
    readonly proxy: { readonly image: string; readonly resources: ChartResources; readonly seccompProfile: SeccompProfile };
    /** The injected `istio-validation` init container (with istio-cni it only checks the redirection; resources as the proxy's). */
    readonly proxy_init: { readonly image: string };
    /** Waypoint proxies (ambient). */
    readonly waypoint: { readonly resources: ChartResources };
  };
  readonly pilot: {
    readonly image: string;
    readonly resources: ChartResources;
    readonly seccompProfile: SeccompProfile;
    /** Injected pods rely on istio-cni: no `istio-init` container with NET_ADMIN/NET_RAW. */
    readonly cni: { readonly enabled: true };
    /** Ambient: the namespace of ztunnel, whose ServiceAccount istiod trusts to request certificates for its pods. */
    readonly trustedZtunnelNamespace?: string;
    readonly env: Readonly<Record<string, string>>;
  };
  /** Gateways and waypoints deployed by istiod (Gateway API) meet Pod Security `restricted`. */
  readonly gateways: { readonly seccompProfile: SeccompProfile };
  readonly meshConfig: MeshConfigValues;
  readonly base: { readonly validationFailurePolicy: 'Fail' };
}

/** Values of the `cni` chart (the istio-cni node agent). */
export interface IstioCniValues {
  readonly profile?: 'ambient';
  readonly global: IstioGlobalValues;
  readonly image: string;
  readonly resources: ChartResources;
  readonly seccompProfile: SeccompProfile;
}

/** Values of the `ztunnel` chart (the ambient node proxy). */
export interface ZtunnelValues {
  readonly profile: 'ambient';
  readonly global?: { readonly platform?: IstioPlatform };
  readonly istioNamespace: string;
  readonly image: string;
  readonly resources: ChartResources;
  readonly imagePullSecrets?: readonly string[];
}

/** An {@link ExtensionProvider} as meshConfig spells it (copies, optional lists only when given). */
export function extensionProviderValues(p: ExtensionProvider): ExtensionProviderValues {
  const e = p.envoyExtAuthzHttp;
  return {
    name: p.name,
    envoyExtAuthzHttp: {
      service: e.service,
      port: e.port,
      ...(e.headersToDownstreamOnDeny ? { headersToDownstreamOnDeny: [...e.headersToDownstreamOnDeny] } : {}),
      ...(e.headersToUpstreamOnAllow ? { headersToUpstreamOnAllow: [...e.headersToUpstreamOnAllow] } : {}),
      ...(e.includeRequestHeadersInCheck ? { includeRequestHeadersInCheck: [...e.includeRequestHeadersInCheck] } : {}),
    },
  };
}

/** The global values the charts share; `istioNamespace` only for the charts that have it. */
export function globalValues(pullSecrets: readonly string[], platform: IstioPlatform | undefined, istioNamespace?: string): IstioGlobalValues {
  return {
    ...(istioNamespace !== undefined ? { istioNamespace } : {}),
    ...(pullSecrets.length > 0 ? { imagePullSecrets: [...pullSecrets] } : {}),
    ...(platform !== undefined ? { platform } : {}),
  };
}
