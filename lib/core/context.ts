import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { ExternalApi, ExternalObject } from '../validate/types';
import { checkedCidrs } from './addresses';
import type { ApplySetRef } from './applyset';
import type { HelmDelivery, HelmRelease } from './helm';
import { ImageCatalog, ImageKey } from './images';
import { InstallPlan } from './waves';

/** Props of {@link KfkitContext}. */
export interface KfkitContextProps {
  /**
   * Image catalog shared by every component.
   * @default - upstream registries, no pull Secrets
   */
  readonly images?: ImageCatalog;
  /**
   * How managed Helm charts are delivered (Flux HelmRelease or Argo CD Application).
   * @default - Flux, in flux-system, every 10 minutes
   */
  readonly helmDelivery?: HelmDelivery;
  /**
   * IPv4 blocks holding the Kubernetes API server's addresses: the only destinations of the policies that let pods
   * reach the API server, and the only sources of the policies that let it call webhooks. Read them from the
   * `kubernetes` EndpointSlice (`kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes -o
   * jsonpath='{.items[*].endpoints[*].addresses}'`); a managed control plane whose addresses rotate (EKS, GKE) gives the
   * range they are drawn from (the VPC, the master CIDR). `0.0.0.0/0` opens every address: pass it only on purpose.
   * @default - none: a construct that needs the API server throws, naming this property
   */
  readonly apiServerCidrs?: readonly string[];
}

/**
 * Platform-wide services every construct of one platform shares: the image catalog, the install plan, and the
 * registry of what kfkit relies on but does not install. Found from any construct with {@link KfkitContext.of},
 * like `Stack.of` in aws-cdk; there is exactly one per construct tree.
 */
export class KfkitContext extends Construct {
  /** Construct id of the context, a child of the scope it serves (a KubeflowPlatform, or the App). */
  public static readonly ID = 'KfkitContext';

  /**
   * The context `scope` belongs to: the nearest one among its ancestors' children (one per platform, so an App can
   * hold several platforms, or a platform beside the org's own charts). Throws with the fix when there is none.
   */
  public static of(scope: IConstruct): KfkitContext {
    for (const ancestor of [...scope.node.scopes].reverse()) {
      const found = ancestor instanceof KfkitContext ? ancestor : ancestor.node.tryFindChild(KfkitContext.ID);
      if (found instanceof KfkitContext) return found;
    }
    throw new Error(
      `${scope.node.path || 'construct'} is not inside a kfkit platform: create it under a KubeflowPlatform, ` +
      'or call KfkitContext.create(scope) on a scope above it first',
    );
  }

  /**
   * Creates the context for everything under `scope` (a Chart, a KubeflowPlatform, or the App for one platform per
   * App). Throws if `scope` already has one.
   */
  public static create(scope: IConstruct, props: KfkitContextProps = {}): KfkitContext {
    if (!(scope instanceof Construct)) throw new Error('a kfkit context needs a Construct scope (a cdk8s App or Chart)');
    if (scope.node.tryFindChild(KfkitContext.ID) !== undefined) throw new Error(`${scope.node.path || 'the App'} already has a kfkit context`);
    return new KfkitContext(scope, KfkitContext.ID, props);
  }

  /** The scope this context serves: every ApiObject below it belongs to its platform. */
  public get platformScope(): IConstruct {
    const scope = this.node.scope;
    if (scope === undefined) throw new Error('a kfkit context is never the root of its tree');
    return scope;
  }

  /** Image references for every component. */
  public readonly images: ImageCatalog;
  /** Waves and the assignment of objects to them. */
  public readonly plan = new InstallPlan();
  /** How managed Helm charts are delivered. */
  public readonly helmDelivery: HelmDelivery;

  private readonly apis = new Map<string, ExternalApi>();
  private readonly onceKeys = new Set<string>();
  private readonly objects = new Map<string, ExternalObject>();
  private readonly runtime = new Set<ImageKey>();
  private readonly protectedObjects = new Map<IConstruct, string>();
  private readonly releases: HelmRelease[] = [];
  private readonly requirementSources: (() => readonly string[])[] = [];
  private applySetParent?: { readonly ref: ApplySetRef; readonly parent: ApiObject };

  private readonly apiServer?: readonly string[];

  private constructor(scope: Construct, id: string, props: KfkitContextProps) {
    super(scope, id);
    this.apiServer = props.apiServerCidrs ? checkedCidrs('KfkitContext: apiServerCidrs', props.apiServerCidrs) : undefined;
    this.images = props.images ?? new ImageCatalog();
    this.helmDelivery = props.helmDelivery ?? { type: 'flux', namespace: 'flux-system', interval: '10m' };
  }

  /**
   * The API server's address blocks ({@link KfkitContextProps.apiServerCidrs}). Throws when they were not given: kfkit
   * never falls back to every address.
   */
  public get apiServerCidrs(): readonly string[] {
    if (!this.apiServer) {
      throw new Error('the Kubernetes API server\'s addresses are unknown: set cluster.apiServer.cidrs in the overlay (or apiServerCidrs '
        + 'of KfkitContext.create); read them from the `kubernetes` EndpointSlice in namespace default');
    }
    return this.apiServer;
  }

  /** Records the platform's ApplySet and its parent object (called by {@link ApplySetParent}); one per tree. */
  public setApplySet(ref: ApplySetRef, parent: ApiObject): void {
    if (this.applySetParent) throw new Error(`${parent.node.path}: this platform already has an ApplySet (${this.applySetParent.ref.id})`);
    this.applySetParent = { ref, parent };
  }

  /** The platform's ApplySet, if it has one: synthesis labels every object with its id. */
  public get applySet(): { readonly ref: ApplySetRef; readonly parent: ApiObject } | undefined {
    return this.applySetParent;
  }

  /** Registers a managed Helm release (called by {@link HelmRelease}). Release refs are unique. */
  public addHelmRelease(release: HelmRelease): void {
    if (this.releases.some((r) => r.ref === release.ref)) throw new Error(`${release.node.path}: a Helm release ${release.ref} already exists`);
    this.releases.push(release);
  }

  /**
   * Registers what the cluster must provide beyond APIs (e.g. an external Istio's mesh config), read when the tree is
   * collected so later additions count; `kfkit synth` prints the list and writes it to kfkit.json.
   */
  public addRequirements(source: () => readonly string[]): void {
    this.requirementSources.push(source);
  }

  /** What the cluster must provide beyond the external APIs, unique, in registration order. */
  public get requirements(): string[] {
    return [...new Set(this.requirementSources.flatMap((source) => source()))];
  }

  /** Managed Helm releases, sorted by `<namespace>/<releaseName>`. */
  public get helmReleases(): HelmRelease[] {
    return [...this.releases].sort((a, b) => a.ref.localeCompare(b.ref));
  }

  /** Declares a custom resource kind served by an install kfkit does not manage (e.g. an existing cert-manager). */
  public addExternalApi(api: ExternalApi): void {
    this.apis.set(`${api.group}/${api.kind}`, api);
  }

  /**
   * Runs `create` the first time `key` is seen in this platform: how many instances of a construct (one per tenant)
   * share one object on the other side (a policy admitting all of them).
   */
  public once(key: string, create: () => void): void {
    if (this.onceKeys.has(key)) return;
    this.onceKeys.add(key);
    create();
  }

  /**
   * Declares an object that exists on the cluster but is not in kfkit's output. Declaring it again adds the keys it
   * must hold (several users' hashes in one Secret); the first reason stays.
   */
  public addExternalObject(obj: ExternalObject): void {
    const id = `${obj.kind}/${obj.namespace ?? ''}/${obj.name}`;
    const keys = [...new Set([...this.objects.get(id)?.keys ?? [], ...obj.keys ?? []])].sort();
    this.objects.set(id, { ...(this.objects.get(id) ?? obj), ...(keys.length > 0 ? { keys } : {}) });
  }

  /**
   * Records that a component configures a controller to start `key` at run time (a pipeline driver, an executor),
   * so `kfkit list-images` includes it. Returns the image reference.
   */
  public runtimeImage(key: ImageKey): string {
    this.runtime.add(key);
    return this.images.image(key);
  }

  /**
   * Records that a managed chart deploys image `key` (set through its values), so `kfkit list-images` includes it.
   * Returns the repository (mirror applied) and tag, as charts take them.
   */
  public chartImage(key: ImageKey): { repository: string; tag: string } {
    this.runtime.add(key);
    return this.images.parts(key);
  }

  /**
   * Marks an object that holds data (a PersistentVolumeClaim, the Namespace around it) so no GitOps tool or
   * Pulumi ever deletes it when it disappears from the output: Argo CD `Prune=false,Delete=false`, Flux
   * `kustomize.toolkit.fluxcd.io/prune: disabled`, Pulumi `protect`.
   */
  public protect(obj: IConstruct, reason: string): void {
    this.protectedObjects.set(obj, reason);
  }

  /** Why `obj` is protected, if it is. */
  public protectionOf(obj: IConstruct): string | undefined {
    return this.protectedObjects.get(obj);
  }

  /** External APIs, sorted. */
  public get externalApis(): ExternalApi[] {
    return [...this.apis.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  }

  /** External objects, sorted. */
  public get externalObjects(): ExternalObject[] {
    return [...this.objects.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
  }

  /** Images started at run time through configuration, sorted. */
  public get runtimeImages(): string[] {
    return [...this.runtime].map((k) => this.images.image(k)).sort();
  }
}
