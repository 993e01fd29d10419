/**
 * The image catalog: every upstream image:tag kfkit deploys or configures, in one place.
 *
 * Components never write an image reference themselves; they ask the {@link ImageCatalog} for a key. That gives
 * one place to bump versions, one registry-mirror rewrite for air-gapped clusters, and an exact list of images to
 * mirror (`kfkit list-images`).
 */

/** One upstream image. */
export interface ImageEntry {
  /** Repository including registry host, e.g. `ghcr.io/kubeflow/kfp-api-server`. Docker Hub images are written in full (`docker.io/library/mysql`). */
  readonly repository: string;
  /** Pinned tag. */
  readonly tag: string;
  /** The upstream release this image follows, e.g. `kubeflow/pipelines 2.17.0`. */
  readonly upstream: string;
  /**
   * Whether the image is started at run time by a controller through configuration (a pipeline driver, an
   * executor sidecar) rather than appearing in a pod template kfkit writes.
   */
  readonly runtime: boolean;
}

const KFP = 'kubeflow/pipelines 2.17.0';
const CERT_MANAGER = 'cert-manager v1.19.4 (kubeflow/manifests 26.03)';
const ARGO = 'argoproj/argo-workflows v4.0.5 (as pinned by kubeflow/pipelines 2.17.0)';
const KATIB = 'kubeflow/manifests 26.03 (kubeflow/katib v0.19.0)';
const NOTEBOOKS = 'kubeflow/manifests 26.03 (kubeflow/kubeflow v1.10.0)';
const KSERVE = 'kubeflow/manifests 26.03 (kserve/kserve v0.16.0)';
const KNATIVE_SERVING = 'knative/serving v1.21.1 (kubeflow/manifests 26.03; knative/operator v1.21.1)';
const KNATIVE_NET_ISTIO = 'knative-extensions/net-istio v1.21.1 (kubeflow/manifests 26.03; knative/operator v1.21.1)';

/** Every image kfkit knows, by key. Keys are API: components and tests refer to them. */
export const IMAGES = {
  // Metadata database (kubeflow/pipelines platform-agnostic env ships MySQL 8.4, by the floating tag `8.4`; kfkit pins
  // the patch release, facts/deviations.json).
  'mysql': { repository: 'docker.io/library/mysql', tag: '8.4.11', upstream: KFP, runtime: false },
  'postgres': { repository: 'docker.io/library/postgres', tag: '14.7-alpine3.17', upstream: KFP, runtime: false },
  // Artifact store (kubeflow/pipelines platform-agnostic env ships SeaweedFS).
  'seaweedfs': { repository: 'ghcr.io/chrislusf/seaweedfs', tag: '4.34', upstream: KFP, runtime: false },
  // S3 client for database backups and restores.
  'aws-cli': { repository: 'docker.io/amazon/aws-cli', tag: '2.27.50', upstream: 'aws/aws-cli', runtime: false },
  // kfkit's own one-shot jobs (credential generation) run Python's standard library only.
  'kfkit-python': { repository: 'docker.io/library/python', tag: '3.13.15-alpine3.23', upstream: 'kfkit', runtime: false },
  // Kubeflow Pipelines backend.
  'kfp-api-server': { repository: 'ghcr.io/kubeflow/kfp-api-server', tag: '2.17.0', upstream: KFP, runtime: false },
  'kfp-persistence-agent': { repository: 'ghcr.io/kubeflow/kfp-persistence-agent', tag: '2.17.0', upstream: KFP, runtime: false },
  'kfp-scheduled-workflow-controller': {
    repository: 'ghcr.io/kubeflow/kfp-scheduled-workflow-controller', tag: '2.17.0', upstream: KFP, runtime: false,
  },
  'kfp-frontend': { repository: 'ghcr.io/kubeflow/kfp-frontend', tag: '2.17.0', upstream: KFP, runtime: false },
  'kfp-viewer-crd-controller': { repository: 'ghcr.io/kubeflow/kfp-viewer-crd-controller', tag: '2.17.0', upstream: KFP, runtime: false },
  'kfp-visualization-server': { repository: 'ghcr.io/kubeflow/kfp-visualization-server', tag: '2.17.0', upstream: KFP, runtime: false },
  'kfp-cache-server': { repository: 'ghcr.io/kubeflow/kfp-cache-server', tag: '2.17.0', upstream: KFP, runtime: false },
  'kfp-cache-deployer': { repository: 'ghcr.io/kubeflow/kfp-cache-deployer', tag: '2.17.0', upstream: KFP, runtime: false },
  'kfp-metadata-envoy': { repository: 'ghcr.io/kubeflow/kfp-metadata-envoy', tag: '2.17.0', upstream: KFP, runtime: false },
  'kfp-metadata-writer': { repository: 'ghcr.io/kubeflow/kfp-metadata-writer', tag: '2.17.0', upstream: KFP, runtime: false },
  // Upstream's wait-for-* init containers (upstream: the floating `alpine:3.23`; kfkit pins the patch release).
  'alpine': { repository: 'docker.io/library/alpine', tag: '3.23.5', upstream: KFP, runtime: false },
  'ml-metadata-store-server': { repository: 'gcr.io/tfx-oss-public/ml_metadata_store_server', tag: '1.14.0', upstream: KFP, runtime: false },
  // What the v1 cache webhook runs in place of a cached step (upstream writes `busybox`, untagged; kfkit pins a release).
  'busybox': { repository: 'docker.io/library/busybox', tag: '1.37.0', upstream: KFP, runtime: true },
  'kfp-driver': { repository: 'ghcr.io/kubeflow/kfp-driver', tag: '2.17.0', upstream: KFP, runtime: true },
  'kfp-launcher': { repository: 'ghcr.io/kubeflow/kfp-launcher', tag: '2.17.0', upstream: KFP, runtime: true },
  // Argo Workflows, as pinned by KFP.
  'argo-workflow-controller': { repository: 'quay.io/argoproj/workflow-controller', tag: 'v4.0.5', upstream: ARGO, runtime: false },
  'argo-exec': { repository: 'quay.io/argoproj/argoexec', tag: 'v4.0.5', upstream: ARGO, runtime: true },
  // GPU node agents (lib/components/gpu): the NVIDIA device plugin and DCGM exporter, at their latest stable releases.
  'nvidia-device-plugin': {
    repository: 'nvcr.io/nvidia/k8s-device-plugin', tag: 'v0.20.0', upstream: 'NVIDIA/k8s-device-plugin v0.20.0', runtime: false,
  },
  'dcgm-exporter': {
    repository: 'nvcr.io/nvidia/k8s/dcgm-exporter', tag: '4.5.3-4.8.2-distroless', upstream: 'NVIDIA/dcgm-exporter 4.5.3-4.8.2', runtime: false,
  },
  // cert-manager (managed mode): the images its chart deploys, set through the chart's values.
  'cert-manager-controller': { repository: 'quay.io/jetstack/cert-manager-controller', tag: 'v1.19.4', upstream: CERT_MANAGER, runtime: true },
  'cert-manager-webhook': { repository: 'quay.io/jetstack/cert-manager-webhook', tag: 'v1.19.4', upstream: CERT_MANAGER, runtime: true },
  'cert-manager-cainjector': { repository: 'quay.io/jetstack/cert-manager-cainjector', tag: 'v1.19.4', upstream: CERT_MANAGER, runtime: true },
  'cert-manager-startupapicheck': { repository: 'quay.io/jetstack/cert-manager-startupapicheck', tag: 'v1.19.4', upstream: CERT_MANAGER, runtime: true },
  'cert-manager-acmesolver': { repository: 'quay.io/jetstack/cert-manager-acmesolver', tag: 'v1.19.4', upstream: CERT_MANAGER, runtime: true },
  // Istio (managed mode): the images its charts deploy or inject (istiod, sidecar/gateway/waypoint proxies, istio-cni, ztunnel),
  // set through the charts' values; registry as kubeflow/manifests 26.03 (gcr.io/istio-release), version as the istio charts.
  'istio-pilot': { repository: 'gcr.io/istio-release/pilot', tag: '1.29.6', upstream: 'istio/istio 1.29.6', runtime: true },
  'istio-proxyv2': { repository: 'gcr.io/istio-release/proxyv2', tag: '1.29.6', upstream: 'istio/istio 1.29.6', runtime: true },
  'istio-install-cni': { repository: 'gcr.io/istio-release/install-cni', tag: '1.29.6', upstream: 'istio/istio 1.29.6', runtime: true },
  'istio-ztunnel': { repository: 'gcr.io/istio-release/ztunnel', tag: '1.29.6', upstream: 'istio/istio 1.29.6', runtime: true },
  // Knative (lib/components/knative, managed mode): the operator's images (set through its chart's values) and the Serving and
  // net-istio images the operator deploys (set through the KnativeServing's registry overrides). Knative tags release images vX.Y.Z.
  'knative-operator': {
    repository: 'gcr.io/knative-releases/knative.dev/operator/cmd/operator', tag: 'v1.21.1', upstream: 'knative/operator v1.21.1', runtime: true,
  },
  'knative-operator-webhook': {
    repository: 'gcr.io/knative-releases/knative.dev/operator/cmd/webhook', tag: 'v1.21.1', upstream: 'knative/operator v1.21.1', runtime: true,
  },
  'knative-serving-activator': {
    repository: 'gcr.io/knative-releases/knative.dev/serving/cmd/activator', tag: 'v1.21.1', upstream: KNATIVE_SERVING, runtime: true,
  },
  'knative-serving-autoscaler': {
    repository: 'gcr.io/knative-releases/knative.dev/serving/cmd/autoscaler', tag: 'v1.21.1', upstream: KNATIVE_SERVING, runtime: true,
  },
  'knative-serving-autoscaler-hpa': {
    repository: 'gcr.io/knative-releases/knative.dev/serving/cmd/autoscaler-hpa', tag: 'v1.21.1', upstream: KNATIVE_SERVING, runtime: true,
  },
  'knative-serving-controller': {
    repository: 'gcr.io/knative-releases/knative.dev/serving/cmd/controller', tag: 'v1.21.1', upstream: KNATIVE_SERVING, runtime: true,
  },
  'knative-serving-webhook': {
    repository: 'gcr.io/knative-releases/knative.dev/serving/cmd/webhook', tag: 'v1.21.1', upstream: KNATIVE_SERVING, runtime: true,
  },
  'knative-serving-queue': { repository: 'gcr.io/knative-releases/knative.dev/serving/cmd/queue', tag: 'v1.21.1', upstream: KNATIVE_SERVING, runtime: true },
  'knative-serving-cleanup': {
    repository: 'gcr.io/knative-releases/knative.dev/serving/pkg/cleanup/cmd/cleanup', tag: 'v1.21.1', upstream: KNATIVE_SERVING, runtime: true,
  },
  'knative-serving-migrate': {
    repository: 'gcr.io/knative-releases/knative.dev/pkg/apiextensions/storageversion/cmd/migrate', tag: 'v1.21.1', upstream: KNATIVE_SERVING, runtime: true,
  },
  'knative-net-istio-controller': {
    repository: 'gcr.io/knative-releases/knative.dev/net-istio/cmd/controller', tag: 'v1.21.1', upstream: KNATIVE_NET_ISTIO, runtime: true,
  },
  'knative-net-istio-webhook': {
    repository: 'gcr.io/knative-releases/knative.dev/net-istio/cmd/webhook', tag: 'v1.21.1', upstream: KNATIVE_NET_ISTIO, runtime: true,
  },
  // EKS cluster add-ons (lib/components/cluster-addons): set through their charts' values.
  'cluster-autoscaler': {
    repository: 'registry.k8s.io/autoscaling/cluster-autoscaler', tag: 'v1.34.2', upstream: 'kubernetes/autoscaler cluster-autoscaler 1.34.2', runtime: true,
  },
  'aws-load-balancer-controller': {
    repository: 'public.ecr.aws/eks/aws-load-balancer-controller', tag: 'v3.4.3', upstream: 'kubernetes-sigs/aws-load-balancer-controller v3.4.3', runtime: true,
  },
  // Authentication at the gateway (lib/components/auth), as kubeflow/manifests 26.03 pins them (common/dex, common/oauth2-proxy).
  'dex': { repository: 'ghcr.io/dexidp/dex', tag: 'v2.45.0', upstream: 'kubeflow/manifests 26.03', runtime: false },
  'oauth2-proxy': { repository: 'quay.io/oauth2-proxy/oauth2-proxy', tag: 'v7.14.3', upstream: 'kubeflow/manifests 26.03', runtime: false },
  // Kubeflow central dashboard (lib/components/dashboard), as kubeflow/manifests 26.03 pins it (applications/centraldashboard).
  'central-dashboard': {
    repository: 'ghcr.io/kubeflow/kubeflow/central-dashboard', tag: 'v1.10.0', upstream: 'kubeflow/manifests 26.03 (kubeflow/kubeflow v1.10.0)', runtime: false,
  },
  // Profile controller and KFAM (lib/components/profiles), as kubeflow/manifests 26.03 pins them (applications/profiles).
  'profile-controller': {
    repository: 'ghcr.io/kubeflow/kubeflow/profile-controller', tag: 'v1.10.0', upstream: 'kubeflow/manifests 26.03 (kubeflow/kubeflow v1.10.0)', runtime: false,
  },
  'kfam': { repository: 'ghcr.io/kubeflow/kubeflow/kfam', tag: 'v1.10.0', upstream: 'kubeflow/manifests 26.03 (kubeflow/kubeflow v1.10.0)', runtime: false },
  // KServe (lib/components/kserve), as kubeflow/manifests 26.03 pins it (applications/kserve: KServe v0.16.0, models web app 0.16.1).
  'kserve-controller': { repository: 'docker.io/kserve/kserve-controller', tag: 'v0.16.0', upstream: KSERVE, runtime: false },
  'kube-rbac-proxy': { repository: 'quay.io/brancz/kube-rbac-proxy', tag: 'v0.18.0', upstream: KSERVE, runtime: false },
  'kserve-models-web-app': { repository: 'ghcr.io/kserve/models-web-app', tag: '0.16.1', upstream: KSERVE, runtime: false },
  'kserve-agent': { repository: 'docker.io/kserve/agent', tag: 'v0.16.0', upstream: KSERVE, runtime: true },
  'kserve-router': { repository: 'docker.io/kserve/router', tag: 'v0.16.0', upstream: KSERVE, runtime: true },
  'kserve-storage-initializer': { repository: 'docker.io/kserve/storage-initializer', tag: 'v0.16.0', upstream: KSERVE, runtime: true },
  'kserve-sklearnserver': { repository: 'docker.io/kserve/sklearnserver', tag: 'v0.16.0', upstream: KSERVE, runtime: true },
  'kserve-xgbserver': { repository: 'docker.io/kserve/xgbserver', tag: 'v0.16.0', upstream: KSERVE, runtime: true },
  'kserve-huggingfaceserver': { repository: 'docker.io/kserve/huggingfaceserver', tag: 'v0.16.0', upstream: KSERVE, runtime: true },
  'kserve-torchserve': { repository: 'docker.io/pytorch/torchserve-kfs', tag: '0.9.0', upstream: KSERVE, runtime: true },
  'kserve-tensorflow-serving': { repository: 'docker.io/tensorflow/serving', tag: '2.6.2', upstream: KSERVE, runtime: true },
  // Training operator v1 (lib/components/training), as kubeflow/manifests 26.03 pins it (applications/training-operator: v1.9.2).
  'training-operator': {
    repository: 'ghcr.io/kubeflow/training-v1/training-operator', tag: 'v1-3f15cb8', upstream: 'kubeflow/manifests 26.03 (kubeflow/training-operator v1.9.2)', runtime: false,
  },
  // Katib (lib/components/katib), as kubeflow/manifests 26.03 pins it (applications/katib: v0.19.0).
  'katib-controller': { repository: 'ghcr.io/kubeflow/katib/katib-controller', tag: 'v0.19.0', upstream: KATIB, runtime: false },
  'katib-db-manager': { repository: 'ghcr.io/kubeflow/katib/katib-db-manager', tag: 'v0.19.0', upstream: KATIB, runtime: false },
  'katib-ui': { repository: 'ghcr.io/kubeflow/katib/katib-ui', tag: 'v0.19.0', upstream: KATIB, runtime: false },
  'katib-file-metrics-collector': { repository: 'ghcr.io/kubeflow/katib/file-metrics-collector', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-tfevent-metrics-collector': { repository: 'ghcr.io/kubeflow/katib/tfevent-metrics-collector', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-suggestion-hyperopt': { repository: 'ghcr.io/kubeflow/katib/suggestion-hyperopt', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-suggestion-optuna': { repository: 'ghcr.io/kubeflow/katib/suggestion-optuna', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-suggestion-hyperband': { repository: 'ghcr.io/kubeflow/katib/suggestion-hyperband', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-suggestion-skopt': { repository: 'ghcr.io/kubeflow/katib/suggestion-skopt', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-suggestion-goptuna': { repository: 'ghcr.io/kubeflow/katib/suggestion-goptuna', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-suggestion-enas': { repository: 'ghcr.io/kubeflow/katib/suggestion-enas', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-suggestion-darts': { repository: 'ghcr.io/kubeflow/katib/suggestion-darts', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-suggestion-pbt': { repository: 'ghcr.io/kubeflow/katib/suggestion-pbt', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  'katib-earlystopping-medianstop': { repository: 'ghcr.io/kubeflow/katib/earlystopping-medianstop', tag: 'v0.19.0', upstream: KATIB, runtime: true },
  // Notebooks (lib/components/notebooks), as kubeflow/manifests 26.03 pins them (kubeflow/kubeflow v1.10.0).
  'notebook-controller': { repository: 'ghcr.io/kubeflow/kubeflow/notebook-controller', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: false },
  'jupyter-web-app': { repository: 'ghcr.io/kubeflow/kubeflow/jupyter-web-app', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: false },
  'poddefaults-webhook': { repository: 'ghcr.io/kubeflow/kubeflow/poddefaults-webhook', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: false },
  'volumes-web-app': { repository: 'ghcr.io/kubeflow/kubeflow/volumes-web-app', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: false },
  'notebook-jupyter-scipy': { repository: 'ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: true },
  'notebook-jupyter-pytorch': { repository: 'ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-pytorch-full', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: true },
  'notebook-jupyter-pytorch-cuda': { repository: 'ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-pytorch-cuda-full', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: true },
  'notebook-jupyter-tensorflow': { repository: 'ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-tensorflow-full', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: true },
  'notebook-jupyter-tensorflow-cuda': { repository: 'ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-tensorflow-cuda-full', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: true },
  'notebook-codeserver-python': { repository: 'ghcr.io/kubeflow/kubeflow/notebook-servers/codeserver-python', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: true },
  'notebook-rstudio-tidyverse': { repository: 'ghcr.io/kubeflow/kubeflow/notebook-servers/rstudio-tidyverse', tag: 'v1.10.0', upstream: NOTEBOOKS, runtime: true },
  'filebrowser': { repository: 'docker.io/filebrowser/filebrowser', tag: 'v2.25.0', upstream: NOTEBOOKS, runtime: true },
} as const satisfies Record<string, ImageEntry>;

/** Key of an image in the catalog. */
export type ImageKey = keyof typeof IMAGES;

/** Options of the {@link ImageCatalog}. */
export interface ImageCatalogOptions {
  /**
   * Registry (and optional path prefix) that mirrors every upstream image, e.g. `registry.corp.example/kubeflow`.
   * Each image keeps its upstream path below the mirror: `ghcr.io/kubeflow/kfp-api-server:2.17.0` becomes
   * `registry.corp.example/kubeflow/kubeflow/kfp-api-server:2.17.0`, `docker.io/library/mysql:8.4.11` becomes
   * `registry.corp.example/kubeflow/library/mysql:8.4.11` — the layout `crane`/`skopeo sync` produce.
   * @default - images are pulled from their upstream registries
   */
  readonly registryMirror?: string;
  /**
   * Names of image pull Secrets added to every pod kfkit writes.
   * @default - none
   */
  readonly pullSecrets?: readonly string[];
  /**
   * Digests of the catalog's images, by upstream reference (`repository:tag`): the image lock
   * (`images.lock.json`, lib/core/image-lock.ts). An image with a digest is written `repository:tag@sha256:…`.
   * @default - none: images are pinned by tag
   */
  readonly digests?: Readonly<Record<string, string>>;
}

/** Resolves catalog keys to image references, applying the registry mirror and the image lock. */
export class ImageCatalog {
  /** Pull Secret names for every pod. */
  public readonly pullSecrets: readonly string[];
  private readonly mirror?: string;
  private readonly entries: Readonly<Partial<Record<string, ImageEntry>>>;
  private readonly digests?: Readonly<Record<string, string>>;

  public constructor(options: ImageCatalogOptions = {}, entries: Readonly<Partial<Record<string, ImageEntry>>> = IMAGES) {
    this.mirror = options.registryMirror?.replace(/\/+$/, '');
    this.pullSecrets = [...(options.pullSecrets ?? [])];
    this.entries = entries;
    this.digests = options.digests;
  }

  /**
   * The image reference to put in a pod spec or configuration: `repository:tag`, with `@sha256:…` when the image lock
   * holds its digest. With a lock, an image it does not hold throws, naming the fix (a lock is all or nothing).
   */
  public image(key: ImageKey): string {
    const entry = this.entry(key);
    const digest = this.digestOf(key);
    return `${this.repository(entry)}:${entry.tag}${digest === undefined ? '' : `@${digest}`}`;
  }

  /** The upstream reference of an image (`repository:tag`, no mirror, no digest): its key in the image lock. */
  public reference(key: ImageKey): string {
    const entry = this.entry(key);
    return `${entry.repository}:${entry.tag}`;
  }

  /** The locked digest of an image, or `undefined` without a lock. */
  public digestOf(key: ImageKey): string | undefined {
    if (this.digests === undefined) return undefined;
    const ref = this.reference(key);
    if (!Object.hasOwn(this.digests, ref)) throw new Error(`the image lock has no digest for ${ref}: run \`kfkit images lock\` to add it`);
    return this.digests[ref];
  }

  /** Repository (mirror applied) and tag of an image, as charts take them in their values. */
  public parts(key: ImageKey): { repository: string; tag: string } {
    const entry = this.entry(key);
    return { repository: this.repository(entry), tag: entry.tag };
  }

  /** The catalog entry for a key. */
  public entry(key: ImageKey): ImageEntry {
    const entry = this.entries[key];
    if (!entry) throw new Error(`image catalog has no entry "${key}"`);
    return entry;
  }

  private repository(entry: ImageEntry): string {
    if (!this.mirror) return entry.repository;
    const path = entry.repository.split('/').slice(1).join('/');
    return `${this.mirror}/${path}`;
  }
}
