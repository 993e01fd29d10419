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
const ARGO = 'argoproj/argo-workflows v4.0.5 (as pinned by kubeflow/pipelines 2.17.0)';

/** Every image kfkit knows, by key. Keys are API: components and tests refer to them. */
export const IMAGES = {
  // Metadata database (kubeflow/pipelines platform-agnostic env ships MySQL 8.4).
  'mysql': { repository: 'docker.io/library/mysql', tag: '8.4', upstream: KFP, runtime: false },
  'postgres': { repository: 'docker.io/library/postgres', tag: '14.7-alpine3.17', upstream: KFP, runtime: false },
  // Artifact store (kubeflow/pipelines platform-agnostic env ships SeaweedFS).
  'seaweedfs': { repository: 'ghcr.io/chrislusf/seaweedfs', tag: '4.34', upstream: KFP, runtime: false },
  // S3 client for database backups and restores.
  'aws-cli': { repository: 'docker.io/amazon/aws-cli', tag: '2.27.50', upstream: 'aws/aws-cli', runtime: false },
  // kfkit's own one-shot jobs (credential generation) run Python's standard library only.
  'kfkit-python': { repository: 'docker.io/library/python', tag: '3.13-alpine3.22', upstream: 'kfkit', runtime: false },
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
  // Upstream's wait-for-* init containers.
  'alpine': { repository: 'docker.io/library/alpine', tag: '3.23', upstream: KFP, runtime: false },
  'ml-metadata-store-server': { repository: 'gcr.io/tfx-oss-public/ml_metadata_store_server', tag: '1.14.0', upstream: KFP, runtime: false },
  // What the v1 cache webhook runs in place of a cached step (upstream writes it untagged; kfkit pins it).
  'busybox': { repository: 'ghcr.io/containerd/busybox', tag: '1.36', upstream: KFP, runtime: true },
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
} as const satisfies Record<string, ImageEntry>;

/** Key of an image in the catalog. */
export type ImageKey = keyof typeof IMAGES;

/** Options of the {@link ImageCatalog}. */
export interface ImageCatalogOptions {
  /**
   * Registry (and optional path prefix) that mirrors every upstream image, e.g. `registry.corp.example/kubeflow`.
   * Each image keeps its upstream path below the mirror: `ghcr.io/kubeflow/kfp-api-server:2.17.0` becomes
   * `registry.corp.example/kubeflow/kubeflow/kfp-api-server:2.17.0`, `docker.io/library/mysql:8.4` becomes
   * `registry.corp.example/kubeflow/library/mysql:8.4` — the layout `crane`/`skopeo sync` produce.
   * @default - images are pulled from their upstream registries
   */
  readonly registryMirror?: string;
  /**
   * Names of image pull Secrets added to every pod kfkit writes.
   * @default - none
   */
  readonly pullSecrets?: readonly string[];
}

/** Resolves catalog keys to image references, applying the registry mirror. */
export class ImageCatalog {
  /** Pull Secret names for every pod. */
  public readonly pullSecrets: readonly string[];
  private readonly mirror?: string;
  private readonly entries: Readonly<Partial<Record<string, ImageEntry>>>;

  public constructor(options: ImageCatalogOptions = {}, entries: Readonly<Partial<Record<string, ImageEntry>>> = IMAGES) {
    this.mirror = options.registryMirror?.replace(/\/+$/, '');
    this.pullSecrets = [...(options.pullSecrets ?? [])];
    this.entries = entries;
  }

  /** The image reference (`repository:tag`) to put in a pod spec or configuration. */
  public image(key: ImageKey): string {
    const entry = this.entry(key);
    return `${this.repository(entry)}:${entry.tag}`;
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
