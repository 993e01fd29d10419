import { ApiObject, Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { PROVIDES_ANNOTATION } from '../validate/types';
import { ChartEntry, chartEntry, ChartKey } from './charts';
import { KfkitContext } from './context';
import { Readiness } from './waves';

/**
 * Managed third-party software as Helm releases.
 *
 * A {@link HelmRelease} names a catalog chart, its pinned version, typed values and the namespace it installs into.
 * It renders as the GitOps object the platform's delivery names — a Flux HelmRelease (plus the HelmRepository it
 * pulls from) or an Argo CD Application — placed in an install wave like any other object, so everything that needs
 * the chart's CRDs or webhooks lands in a later wave and the whole platform still installs in one pass. The Pulumi
 * program deploys the same release as a Helm release resource instead (see `Synthesized.helmReleases`).
 */

/** Values passed to a chart: plain JSON. Components build them from typed props. */
export type HelmValues = Readonly<Record<string, unknown>>;

/** How managed charts are delivered to the cluster. */
export type HelmDelivery =
  /** Flux's helm-controller: a HelmRelease and HelmRepository per chart, in `namespace` (usually flux-system). */
  | { readonly type: 'flux'; readonly namespace: string; readonly interval: string }
  /** Argo CD: an Application per chart, in `namespace` (usually argocd), in `project`. */
  | { readonly type: 'argocd'; readonly namespace: string; readonly project: string };

/** Annotation on the GitOps objects of a release: `<namespace>/<releaseName>` of the Helm release they stand for. */
export const HELM_RELEASE_ANNOTATION = 'kfkit.dev/helm-release';

/** A custom resource API whose CRD a chart installs. */
export interface ChartApi {
  /** API group, e.g. `cert-manager.io`. */
  readonly group: string;
  /** Kinds of the group the chart installs. */
  readonly kinds: readonly string[];
  /** Served versions kfkit emits objects of. */
  readonly versions: readonly string[];
}

/** Props of {@link HelmRelease}. */
export interface HelmReleaseProps {
  /** Catalog key of the chart (its repository and pinned version come from the chart catalog). */
  readonly chart: ChartKey;
  /** Helm release name; also the name of the GitOps object, unique per delivery namespace. */
  readonly releaseName: string;
  /** Namespace the chart installs into; the caller creates it in an earlier wave. */
  readonly namespace: string;
  /** Chart values. */
  readonly values: HelmValues;
  /**
   * Custom resource APIs the chart installs the CRDs of. They are declared as external APIs installed by this
   * release, so the harness checks that no object of theirs lands in this release's wave or earlier.
   * @default - none
   */
  readonly provides?: readonly ChartApi[];
  /**
   * Releases that must be ready before this one (Flux `dependsOn`; with Argo CD, put them in an earlier wave).
   * @default - none
   */
  readonly dependsOn?: readonly HelmRelease[];
}

/** A managed chart, as the Pulumi program and `kfkit list-charts` see it. */
export interface HelmReleaseSpec {
  /** Catalog key. */
  readonly key: ChartKey;
  /** Repository, chart and version. */
  readonly chart: ChartEntry;
  readonly releaseName: string;
  readonly namespace: string;
  readonly values: HelmValues;
  /** `<namespace>/<releaseName>` of the releases this one depends on. */
  readonly dependsOn: readonly string[];
}

function dnsLabelOk(name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && name.length <= 53;
}

/**
 * A pinned catalog chart installed as one Helm release. See the module documentation for how it renders.
 */
export class HelmRelease extends Construct {
  /** What is installed. */
  public readonly spec: HelmReleaseSpec;
  /** The GitOps object that stands for the release (Flux HelmRelease or Argo CD Application). */
  public readonly resource: ApiObject;
  /** `<namespace>/<releaseName>`. */
  public readonly ref: string;
  private readonly provided = new Set<string>();

  public constructor(scope: Construct, id: string, props: HelmReleaseProps) {
    super(scope, id);
    if (!dnsLabelOk(props.releaseName)) {
      throw new Error(`${this.node.path}: releaseName "${props.releaseName}" must be a DNS label of at most 53 characters (a Helm release name)`);
    }
    const ctx = KfkitContext.of(this);
    const delivery = ctx.helmDelivery;
    const chart = chartEntry(props.chart);
    this.ref = `${props.namespace}/${props.releaseName}`;
    this.spec = {
      key: props.chart, chart, releaseName: props.releaseName, namespace: props.namespace, values: props.values,
      dependsOn: (props.dependsOn ?? []).map((r) => r.ref),
    };
    const annotations = { [HELM_RELEASE_ANNOTATION]: this.ref };
    const labels = { 'app.kubernetes.io/managed-by': 'kfkit', 'app.kubernetes.io/name': chart.chart, 'app.kubernetes.io/instance': props.releaseName };
    const resourceKind = delivery.type === 'flux' ? 'HelmRelease' : 'Application';
    for (const api of props.provides ?? []) {
      for (const kind of api.kinds) {
        ctx.addExternalApi({
          group: api.group, kind, versions: [...api.versions],
          providedBy: `${chart.chart} chart ${chart.version} (managed by kfkit, release ${this.ref})`,
          installedBy: `${resourceKind}/${delivery.namespace}/${props.releaseName}`,
        });
      }
    }
    if (delivery.type === 'flux') {
      declareFlux(ctx, delivery.namespace);
      const repo = helmRepository(this, chart, delivery);
      this.resource = new ApiObject(this, 'Resource', {
        apiVersion: 'helm.toolkit.fluxcd.io/v2',
        kind: 'HelmRelease',
        metadata: { name: props.releaseName, namespace: delivery.namespace, labels, annotations },
        spec: {
          interval: delivery.interval,
          releaseName: props.releaseName,
          targetNamespace: props.namespace,
          storageNamespace: props.namespace,
          chart: {
            spec: {
              chart: chart.chart, version: chart.version, interval: delivery.interval,
              sourceRef: { kind: 'HelmRepository', name: repo, namespace: delivery.namespace },
            },
          },
          // CRDs are part of what the chart provides: install and upgrade them with the release.
          install: { crds: 'CreateReplace', remediation: { retries: 3 } },
          upgrade: { crds: 'CreateReplace', remediation: { retries: 3 } },
          ...(props.dependsOn && props.dependsOn.length > 0
            ? { dependsOn: props.dependsOn.map((r) => ({ name: r.spec.releaseName, namespace: delivery.namespace })) } : {}),
          values: props.values,
        },
      });
      ctx.plan.waitFor(this.resource, { type: 'condition', condition: 'Ready' });
    } else {
      declareArgo(ctx, delivery.namespace);
      const oci = chart.repository.startsWith('oci://');
      this.resource = new ApiObject(this, 'Resource', {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name: props.releaseName, namespace: delivery.namespace, labels, annotations },
        spec: {
          project: delivery.project,
          source: {
            repoURL: oci ? chart.repository.slice('oci://'.length) : chart.repository,
            chart: chart.chart,
            targetRevision: chart.version,
            helm: { releaseName: props.releaseName, valuesObject: props.values },
          },
          destination: { server: 'https://kubernetes.default.svc', namespace: props.namespace },
          syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['ServerSideApply=true'] },
        },
      });
      ctx.plan.waitFor(this.resource, ARGO_HEALTHY);
    }
    ctx.addHelmRelease(this);
  }

  /**
   * Records objects the chart creates that kfkit's own objects refer to (a Service, a Secret), so the harness
   * treats them as existing from this release's wave on (`kfkit.dev/provides`). Each is `Kind/namespace/name`.
   */
  public providesObjects(...refs: string[]): void {
    for (const ref of refs) this.provided.add(ref);
    this.resource.metadata.addAnnotation(PROVIDES_ANNOTATION, [...this.provided].sort().join(','));
  }
}

/** What `kfkit apply` waits for after applying an Argo CD Application: Argo CD reports it Healthy. */
export const ARGO_HEALTHY: Readiness = { type: 'jsonpath', path: '{.status.health.status}', value: 'Healthy' };

function helmRepository(release: Construct, chart: ChartEntry, delivery: Extract<HelmDelivery, { type: 'flux' }>): string {
  // One HelmRepository per repository, shared by the releases of the chart (it lives with the first of them).
  const root = Chart.of(release);
  const id = `HelmRepository-${chart.repositoryName}`;
  if (root.node.tryFindChild(id) === undefined) {
    const oci = chart.repository.startsWith('oci://');
    new ApiObject(root, id, {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'HelmRepository',
      metadata: { name: chart.repositoryName, namespace: delivery.namespace, labels: { 'app.kubernetes.io/managed-by': 'kfkit' } },
      spec: { interval: delivery.interval, url: chart.repository, ...(oci ? { type: 'oci' } : {}) },
    });
    const ctx = KfkitContext.of(release);
    const repo = root.node.findChild(id);
    ctx.plan.assign(repo, ctx.plan.ensureWave(CHART_SOURCES_WAVE, {
      description: 'Sources of the managed Helm charts (Flux HelmRepositories), before any release pulls from them.',
      before: [ctx.plan.namespaces],
    }));
  }
  return chart.repositoryName;
}

/** Name of the wave holding the Flux HelmRepositories. */
export const CHART_SOURCES_WAVE = 'chart-sources';

function declareFlux(ctx: KfkitContext, namespace: string): void {
  for (const [group, kind, version] of [
    ['helm.toolkit.fluxcd.io', 'HelmRelease', 'v2'], ['source.toolkit.fluxcd.io', 'HelmRepository', 'v1'],
  ] as const) {
    ctx.addExternalApi({ group, kind, versions: [version], providedBy: 'Flux (source-controller, helm-controller), installed by the cluster admins' });
  }
  ctx.addExternalObject({ apiVersion: 'v1', kind: 'Namespace', name: namespace, reason: 'the namespace Flux runs in, created when Flux was installed' });
}

function declareArgo(ctx: KfkitContext, namespace: string): void {
  ctx.addExternalApi({ group: 'argoproj.io', kind: 'Application', versions: ['v1alpha1'], providedBy: 'Argo CD, installed by the cluster admins' });
  ctx.addExternalObject({ apiVersion: 'v1', kind: 'Namespace', name: namespace, reason: 'the namespace Argo CD runs in, created when Argo CD was installed' });
}
