/**
 * Shared vocabulary of the validation harness: what it checks (placed manifests) and what it reports.
 *
 * The harness works on plain manifests so that it can check kfkit's in-memory synthesis and an
 * already-written dist/<env>/ tree (an org's own stack) the same way.
 */

/** A Kubernetes object as plain JSON. */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly [key: string]: unknown;
}

/** A manifest together with the install wave it belongs to. */
export interface PlacedObject {
  readonly manifest: K8sObject;
  /** Position of the wave in install order (0 first). */
  readonly wave: number;
  /** Name of the wave, e.g. `crds`. */
  readonly waveName: string;
  /** Where the object came from (construct path or file), for messages. */
  readonly source?: string;
}

/** Custom resource kinds served by something kfkit does not install (e.g. cert-manager in `external` mode). */
export interface ExternalApi {
  /** API group, e.g. `cert-manager.io`. */
  readonly group: string;
  /** Kind, e.g. `Certificate`. */
  readonly kind: string;
  /** Versions kfkit emits objects of. */
  readonly versions: readonly string[];
  /** Who provides it and at which version, e.g. `cert-manager >= 1.19 (installed by the cluster admins)`. */
  readonly providedBy: string;
  /**
   * `Kind/namespace/name` of the object in the output that installs the API (a managed chart's Flux HelmRelease or
   * Argo CD Application): objects of the API must be in a later wave.
   * @default - installed outside kfkit's output
   */
  readonly installedBy?: string;
}

/** An object that exists on the cluster but is not in the output (e.g. a Namespace created by an admin). */
export interface ExternalObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  /** Why it is not in the output. */
  readonly reason: string;
  /** Keys it must hold (a Secret's or ConfigMap's data keys that kfkit's objects read), sorted. */
  readonly keys?: readonly string[];
}

/** Everything the harness needs besides the objects themselves. */
export interface HarnessInput {
  readonly objects: readonly PlacedObject[];
  readonly externalApis?: readonly ExternalApi[];
  readonly externalObjects?: readonly ExternalObject[];
}

/** One violation. */
export interface Finding {
  /** Stable rule id, e.g. `openapi`, `dangling-reference`. */
  readonly rule: string;
  /** `Kind/namespace/name` (or `Kind/name` when cluster-scoped). */
  readonly object: string;
  /** JSON path inside the object, when the rule knows it, e.g. `spec.template.spec.containers[0].image`. */
  readonly path?: string;
  readonly message: string;
}

/**
 * Annotation on an object that creates other objects at run time (a credentials Job, a Certificate).
 * Value: comma-separated `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects).
 * The harness treats the listed objects as existing, provided the annotated object is installed in an
 * earlier wave than every object that uses them.
 */
export const PROVIDES_ANNOTATION = 'kfkit.dev/provides';
