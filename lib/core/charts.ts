/**
 * The chart catalog: every Helm chart kfkit installs in `managed` mode, pinned, in one place — the counterpart of
 * the image catalog for software kfkit does not rebuild as constructs (cert-manager, Istio, Knative's operator,
 * cluster add-ons). Components refer to a chart by key; `kfkit list-charts` prints what an environment installs.
 *
 * No chart archive or template is ever part of this repository: kfkit renders a GitOps object (Flux HelmRelease or
 * Argo CD Application) or a Pulumi Helm release that names the chart, its version and typed values.
 */

/** One upstream Helm chart. */
export interface ChartEntry {
  /** Chart repository: an `https://` Helm repository index or an `oci://` registry path. */
  readonly repository: string;
  /** Short name of the repository, used for the Flux HelmRepository object (a DNS label). */
  readonly repositoryName: string;
  /** Chart name inside the repository. */
  readonly chart: string;
  /** Pinned chart version. */
  readonly version: string;
  /** The upstream release the chart installs, e.g. `cert-manager v1.19.4`. */
  readonly upstream: string;
}

const ISTIO_REPO = 'https://istio-release.storage.googleapis.com/charts';
const ISTIO_VERSION = '1.29.1';
const ISTIO = `istio/istio ${ISTIO_VERSION} (kubeflow/manifests 26.03)`;

/** Every chart kfkit knows, by key. Keys are API: components and tests refer to them. */
export const CHARTS = {
  'cert-manager': {
    repository: 'https://charts.jetstack.io', repositoryName: 'jetstack', chart: 'cert-manager', version: 'v1.19.4',
    upstream: 'cert-manager v1.19.4 (kubeflow/manifests 26.03)',
  },
  'istio-base': { repository: ISTIO_REPO, repositoryName: 'istio', chart: 'base', version: ISTIO_VERSION, upstream: ISTIO },
  'istiod': { repository: ISTIO_REPO, repositoryName: 'istio', chart: 'istiod', version: ISTIO_VERSION, upstream: ISTIO },
  'istio-cni': { repository: ISTIO_REPO, repositoryName: 'istio', chart: 'cni', version: ISTIO_VERSION, upstream: ISTIO },
  'ztunnel': { repository: ISTIO_REPO, repositoryName: 'istio', chart: 'ztunnel', version: ISTIO_VERSION, upstream: ISTIO },
  'istio-gateway': { repository: ISTIO_REPO, repositoryName: 'istio', chart: 'gateway', version: ISTIO_VERSION, upstream: ISTIO },
} as const satisfies Record<string, ChartEntry>;

/** Key of a chart in the catalog. */
export type ChartKey = keyof typeof CHARTS;

/** The catalog entry of a chart. */
export function chartEntry(key: ChartKey): ChartEntry {
  return CHARTS[key];
}
