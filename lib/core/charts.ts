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
// The latest 1.29 patch (kubeflow/manifests 26.03 ships 1.29.1; later patches add base.validationFailurePolicy, which
// keeps GitOps tools from fighting istiod over the validating webhook's failurePolicy).
const ISTIO_VERSION = '1.29.6';
const ISTIO = `istio/istio ${ISTIO_VERSION} (kubeflow/manifests 26.03 ships 1.29.1)`;

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
  // Knative's operator (lib/components/knative): its 1.21.1 chart bundles Knative Serving 1.21.1 and net-istio 1.21.1, the releases
  // kubeflow/manifests 26.03 ships. The index lists versions with a v prefix.
  'knative-operator': {
    repository: 'https://knative.github.io/operator', repositoryName: 'knative-operator', chart: 'knative-operator', version: 'v1.21.1',
    upstream: 'knative/operator v1.21.1 (Knative Serving 1.21.1, as kubeflow/manifests 26.03)',
  },
  // EKS cluster add-ons (lib/components/cluster-addons). cluster-autoscaler: the chart of the 1.34 release (its minor follows
  // Kubernetes'); aws-load-balancer-controller: the latest patch of v3.4.
  'cluster-autoscaler': {
    repository: 'https://kubernetes.github.io/autoscaler', repositoryName: 'autoscaler', chart: 'cluster-autoscaler', version: '9.53.0',
    upstream: 'kubernetes/autoscaler cluster-autoscaler 1.34.2 (chart cluster-autoscaler-chart-9.53.0)',
  },
  'aws-load-balancer-controller': {
    repository: 'https://aws.github.io/eks-charts', repositoryName: 'eks', chart: 'aws-load-balancer-controller', version: '3.4.3',
    upstream: 'kubernetes-sigs/aws-load-balancer-controller v3.4.3 (aws/eks-charts)',
  },
} as const satisfies Record<string, ChartEntry>;

/** Key of a chart in the catalog. */
export type ChartKey = keyof typeof CHARTS;

/** The catalog entry of a chart. */
export function chartEntry(key: ChartKey): ChartEntry {
  return CHARTS[key];
}
