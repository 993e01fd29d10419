import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';
import { apiGroup, isBuiltInApiVersion } from '../validate/util';

/**
 * Install ordering.
 *
 * Every object kfkit emits belongs to one {@link Wave}. Waves form a dependency graph: the six baseline waves
 * (CRDs → namespaces → cluster RBAC/config → controllers & webhooks → custom resources → tenants) plus any wave a
 * component adds with `after`/`before` edges. The graph is sorted once into a total order; `kfkit apply` applies
 * the waves in that order and waits for each wave's objects to be ready before the next, Argo CD gets the index
 * as a sync wave, Flux a chain of Kustomizations with `dependsOn` and `wait`.
 *
 * A fixed list of waves deadlocks on dependencies that cut across it — a webhook Deployment that mounts a Secret
 * issued from a Certificate custom resource, a credentials Job that must finish before the database starts, a
 * mutating webhook that must serve before the pods it mutates are created. Components solve those by adding a
 * wave between two baseline waves rather than by retrying.
 */

/** What `kfkit apply` waits for after applying an object. */
export type Readiness =
  /** `kubectl rollout status` (Deployments, StatefulSets, DaemonSets). */
  | { readonly type: 'rollout' }
  /** `kubectl wait --for=condition=<condition>`. */
  | { readonly type: 'condition'; readonly condition: string }
  /** `kubectl wait --for=jsonpath=<path>=<value>` (status fields that are not conditions, e.g. Argo CD health). */
  | { readonly type: 'jsonpath'; readonly path: string; readonly value: string }
  /** Nothing to wait for. */
  | { readonly type: 'none' };

/** Options for {@link InstallPlan.addWave}. */
export interface WaveOptions {
  /** One sentence: what the wave contains and why it sits where it does. */
  readonly description: string;
  /**
   * Waves that must be installed (and ready) before this one.
   * @default - none besides `before` constraints; the wave is placed as early as its constraints allow
   */
  readonly after?: readonly Wave[];
  /**
   * Waves that must be installed after this one.
   * @default - none
   */
  readonly before?: readonly Wave[];
}

/** A group of objects installed together. Create through {@link InstallPlan.addWave}. */
export class Wave {
  /** @internal */
  public readonly _after = new Set<Wave>();

  /** @internal */
  public constructor(
    /** Stable name, used for the output folder (`NN-<name>`). */
    public readonly name: string,
    /** What the wave is for. */
    public readonly description: string,
    /** @internal creation order, the tie-breaker that keeps the order stable */
    public readonly _serial: number,
  ) {}
}

const CLUSTER_CONFIG_KINDS = new Set([
  'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'PriorityClass', 'IngressClass', 'RuntimeClass',
]);

const WAVE_NAME = /^[a-z][a-z0-9-]{0,40}$/;

/** The install plan of one platform: its waves, and which objects go in which. */
export class InstallPlan {
  /** CustomResourceDefinitions; waited on until Established. */
  public readonly crds: Wave;
  /** Namespaces (with their default-deny policies, which land in the next waves). */
  public readonly namespaces: Wave;
  /** Cluster-scoped RBAC and configuration. */
  public readonly cluster: Wave;
  /** Namespaced configuration, workloads (controllers, servers) and webhook configurations; rollouts awaited. */
  public readonly controllers: Wave;
  /** Custom resources served by the controllers and webhooks of earlier waves. */
  public readonly resources: Wave;
  /** Tenant objects (profiles and what they own). */
  public readonly tenants: Wave;

  private readonly waves: Wave[] = [];
  private readonly assignments = new Map<IConstruct, Wave>();
  private readonly readiness = new Map<ApiObject, Readiness>();

  public constructor() {
    this.crds = this.addWave('crds', { description: 'CustomResourceDefinitions, established before anything uses them.' });
    this.namespaces = this.addWave('namespaces', { description: 'Namespaces.', after: [this.crds] });
    this.cluster = this.addWave('cluster', { description: 'Cluster-scoped RBAC and configuration.', after: [this.namespaces] });
    this.controllers = this.addWave('controllers', {
      description: 'Namespaced configuration, controllers, servers and their webhooks; rollouts awaited.', after: [this.cluster],
    });
    this.resources = this.addWave('resources', {
      description: 'Custom resources, once the controllers and webhooks that serve them are ready.', after: [this.controllers],
    });
    this.tenants = this.addWave('tenants', { description: 'Tenant profiles and their objects.', after: [this.resources] });
  }

  /** Adds a wave, ordered by its `after`/`before` constraints. Names are unique, lowercase kebab-case. */
  public addWave(name: string, options: WaveOptions): Wave {
    if (!WAVE_NAME.test(name)) throw new Error(`wave name "${name}" must be lowercase kebab-case (a-z, 0-9, -), at most 41 characters`);
    if (this.waves.some((w) => w.name === name)) throw new Error(`a wave named "${name}" already exists`);
    const wave = new Wave(name, options.description, this.waves.length);
    this.waves.push(wave);
    for (const earlier of options.after ?? []) this.edge(earlier, wave);
    for (const later of options.before ?? []) this.edge(wave, later);
    return wave;
  }

  /** The wave named `name`, if any (components share well-known waves such as `credentials`). */
  public find(name: string): Wave | undefined {
    return this.waves.find((w) => w.name === name);
  }

  /**
   * The wave named `name`, added with `options` when the plan has none yet: how components share a well-known wave
   * (`credentials`, `isolation`) that whichever of them comes first creates.
   */
  public ensureWave(name: string, options: WaveOptions): Wave {
    return this.find(name) ?? this.addWave(name, options);
  }

  /** Puts every object under `scope` (unless a deeper scope is assigned elsewhere) into `wave`. */
  public assign(scope: IConstruct, wave: Wave): void {
    this.own(wave);
    this.assignments.set(scope, wave);
  }

  /** Overrides what `kfkit apply` waits for after applying `obj`. */
  public waitFor(obj: ApiObject, readiness: Readiness): void {
    this.readiness.set(obj, readiness);
  }

  /** The wave of an object: its nearest assigned scope, else the default for its kind. */
  public waveOf(obj: ApiObject): Wave {
    for (const scope of [...obj.node.scopes].reverse()) {
      const wave = this.assignments.get(scope);
      if (wave) return wave;
    }
    return this.defaultWave(obj.apiVersion, obj.kind);
  }

  /** What to wait for after applying `obj`. */
  public readinessOf(obj: ApiObject): Readiness {
    return this.readiness.get(obj) ?? defaultReadiness(obj.apiVersion, obj.kind);
  }

  /** Default wave of a kind (see the class documentation). */
  public defaultWave(apiVersion: string, kind: string): Wave {
    if (kind === 'CustomResourceDefinition') return this.crds;
    if (kind === 'Namespace') return this.namespaces;
    if (!isBuiltInApiVersion(apiVersion)) return this.resources;
    if (CLUSTER_CONFIG_KINDS.has(kind)) return this.cluster;
    return this.controllers;
  }

  /**
   * All waves in install order: a topological sort of the constraints, ties broken by creation order so the order
   * is stable. Throws when the constraints form a cycle, naming the waves in it.
   */
  public order(): Wave[] {
    const remaining = new Map(this.waves.map((w) => [w, new Set(w._after)]));
    const ordered: Wave[] = [];
    while (remaining.size > 0) {
      const ready = [...remaining.entries()].filter(([, deps]) => deps.size === 0).map(([w]) => w);
      if (ready.length === 0) {
        const names = [...remaining.keys()].map((w) => w.name).join(', ');
        throw new Error(`install waves have a dependency cycle among: ${names}; remove one of the after/before constraints`);
      }
      const next = ready.reduce((a, b) => (a._serial <= b._serial ? a : b));
      ordered.push(next);
      remaining.delete(next);
      for (const deps of remaining.values()) deps.delete(next);
    }
    return ordered;
  }

  private edge(earlier: Wave, later: Wave): void {
    this.own(earlier);
    this.own(later);
    later._after.add(earlier);
  }

  private own(wave: Wave): void {
    if (!this.waves.includes(wave)) throw new Error(`wave "${wave.name}" belongs to another install plan`);
  }
}

/** What `kfkit apply` waits for, by kind, unless overridden with {@link InstallPlan.waitFor}. */
export function defaultReadiness(apiVersion: string, kind: string): Readiness {
  if (kind === 'CustomResourceDefinition') return { type: 'condition', condition: 'Established' };
  if (['Deployment', 'StatefulSet', 'DaemonSet'].includes(kind) && apiGroup(apiVersion) === 'apps') return { type: 'rollout' };
  if (kind === 'Job' && apiGroup(apiVersion) === 'batch') return { type: 'condition', condition: 'Complete' };
  if (apiGroup(apiVersion) === 'cert-manager.io' && ['Certificate', 'Issuer', 'ClusterIssuer'].includes(kind)) {
    return { type: 'condition', condition: 'Ready' };
  }
  return { type: 'none' };
}
