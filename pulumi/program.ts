/**
 * The Pulumi rendering of a kfkit platform: the same construct tree as `kfkit synth` (one source of truth), applied
 * wave by wave with @pulumi/kubernetes. Each wave is one ConfigGroup that dependsOn the previous one, so a wave is
 * only applied once every object of the earlier waves is ready (Pulumi awaits rollouts, Jobs and CRDs itself;
 * other readiness conditions kfkit knows are passed on with the `pulumi.com/waitFor` annotation). The provider
 * applies server-side (the @pulumi/kubernetes v4 default).
 *
 * Cloud resources (EKS, GPU node groups, S3, RDS, IAM) are another stack's (pulumi/aws, project kfkit-aws): with
 * `kfkit:cloudStack`, this program reads that stack's output `cloud` through a StackReference — awaited, as plain
 * values, before it builds anything — layers it over the overlay and deploys with a provider for the cloud stack's
 * cluster. No resource is created inside an `apply`, so `pulumi preview` shows every Kubernetes object.
 */
import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { lockedDigests } from '../lib/cli/image-lock';
import { mergeValues, readOverlayDocument, resolveConfig } from '../lib/config/load';
import { PlatformConfig } from '../lib/config/schema';
import { PROTECTED_ANNOTATION, Synthesized, SynthesizedHelmRelease, SynthesizedWave } from '../lib/synth/collect';
import { checkPlatform, synthesize } from '../lib/synth/index';
import { K8sObject } from '../lib/validate/types';
import { STACKS } from '../stacks';
import { applyCloudOverlay, CloudOutputs, cloudOutputsToOverlay, kubernetesProvider, readCloudOutputs } from './aws';

/** Annotation @pulumi/kubernetes reads to await a custom condition. */
export const PULUMI_WAIT_FOR = 'pulumi.com/waitFor';

/** One wave as deployed: its objects, split into the data-holding ones (protected) and the rest. */
export interface WaveDeployment {
  readonly wave: SynthesizedWave;
  readonly objects: readonly K8sObject[];
  /** The wave's groups: the unprotected objects, and (if any) the protected ones with `protect: true`. */
  readonly groups: readonly k8s.yaml.v2.ConfigGroup[];
  /** The wave's managed charts, one Helm release each (in place of their Flux/Argo CD objects). */
  readonly releases: readonly k8s.helm.v3.Release[];
  /** The resources of the previous wave, which every resource of this wave depends on. */
  readonly dependsOn: readonly pulumi.Resource[];
}

/** Whether kfkit marked an object as holding data (`kfkit.dev/protected`). */
export function isProtected(o: K8sObject): boolean {
  return o.metadata.annotations?.[PROTECTED_ANNOTATION] !== undefined;
}

/** The objects of a wave, with kfkit's condition waits translated to `pulumi.com/waitFor`. */
export function waveObjects(s: Synthesized, wave: SynthesizedWave): K8sObject[] {
  const delivered = new Set(s.helmReleases.flatMap((r) => r.objects));
  const id = (m: K8sObject) => (m.metadata.namespace ? `${m.kind}/${m.metadata.namespace}/${m.metadata.name}` : `${m.kind}/${m.metadata.name}`);
  return s.objects.filter((o) => o.wave === wave.index && !delivered.has(id(o.manifest))).map(({ manifest }) => {
    const wait = wave.waits.find((w) => w.kind === manifest.kind && w.name === manifest.metadata.name && w.namespace === manifest.metadata.namespace);
    // Built-in kinds are awaited by Pulumi already; only custom resources need the annotation.
    if (!wait || wait.readiness.type === 'rollout' || !manifest.apiVersion.includes('.')) return manifest;
    const r = wait.readiness;
    const annotations = { ...manifest.metadata.annotations, [PULUMI_WAIT_FOR]: r.type === 'condition' ? `condition=${r.condition}` : `jsonpath=${r.path}=${r.value}` };
    return { ...manifest, metadata: { ...manifest.metadata, annotations } };
  });
}

/**
 * Creates the ConfigGroups of every wave, each depending on all groups of the previous wave. Objects kfkit marked
 * as holding data go into a separate group created with `protect: true`, which Pulumi passes on to its children,
 * so `pulumi destroy` or removing them from the program never deletes a volume or its namespace.
 */
export function deployWaves(s: Synthesized, opts: pulumi.ComponentResourceOptions = {}): WaveDeployment[] {
  const out: WaveDeployment[] = [];
  let previous: pulumi.Resource[] = [];
  for (const wave of s.waves) {
    const objects = waveObjects(s, wave);
    const dependsOn = previous;
    const group = (suffix: string, objs: K8sObject[], protect: boolean) =>
      new k8s.yaml.v2.ConfigGroup(`wave-${wave.dir}${suffix}`, { objs }, { ...opts, protect: protect || opts.protect, dependsOn });
    const data = objects.filter(isProtected);
    const rest = objects.filter((o) => !isProtected(o));
    const groups = [
      ...(rest.length > 0 ? [group('', rest, false)] : []),
      ...(data.length > 0 ? [group('-data', data, true)] : []),
    ];
    const releases = s.helmReleases.filter((r) => r.wave === wave.index).map((r) => helmRelease(r, { ...opts, dependsOn }));
    out.push({ wave, objects, groups, releases, dependsOn });
    // A wave whose objects are all delivered otherwise (Flux chart sources) has no resources here: the next wave
    // keeps depending on the last wave that has some.
    if (groups.length + releases.length > 0) previous = [...groups, ...releases];
  }
  return out;
}

/**
 * A managed chart as a Helm release resource (a custom resource of the provider, so `pulumi preview` shows it and
 * unit-test mocks see its inputs): the catalog's repository, chart and pinned version, kfkit's values, and
 * `skipAwait: false` so the wave after it starts only once the release's workloads are ready. CRDs are installed
 * by the chart (`skipCrds: false`). The release's Flux/Argo CD objects are not deployed.
 */
export function helmRelease(r: SynthesizedHelmRelease, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  const oci = r.chart.repository.startsWith('oci://');
  return new k8s.helm.v3.Release(`chart-${r.namespace}-${r.releaseName}`, {
    name: r.releaseName,
    namespace: r.namespace,
    chart: oci ? `${r.chart.repository}/${r.chart.chart}` : r.chart.chart,
    version: r.chart.version,
    ...(oci ? {} : { repositoryOpts: { repo: r.chart.repository } }),
    values: r.values as Record<string, pulumi.Input<unknown>>,
    skipAwait: false,
    skipCrds: false,
    atomic: true,
    timeout: 900,
  }, opts);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The name of the Secret the overlay (over its stack's values) says the database credentials are in, if it names
 * one: the cloud stack knows the database, not which Secret the environment made from its master secret.
 */
function credentialsSecretName(doc: Readonly<Record<string, unknown>>): string | undefined {
  const stack = STACKS.find((s) => s.name === doc.stack);
  const database = mergeValues(stack?.defaults.database, doc.database);
  const secret = isRecord(database) && database.type === 'external' ? database.credentialsSecret : undefined;
  return isRecord(secret) && typeof secret.name === 'string' ? secret.name : undefined;
}

/** What a platform stack deploys: the environment, its resolved configuration and the cloud stack it sits on. */
export interface PlatformInputs {
  /** The overlay's name (`kfkit:env`, default the stack name). */
  readonly env: string;
  /** The overlay, with the cloud stack's values layered over it, resolved and checked. */
  readonly config: PlatformConfig;
  /** The cloud stack (`kfkit:cloudStack`) and its outputs, when the config names one. */
  readonly cloud?: { readonly stack: string; readonly outputs: CloudOutputs };
}

/**
 * Resolves a platform stack's configuration: `overlays/<kfkit:env>.yaml` (default env: the stack name), and — when
 * `kfkit:cloudStack` names the AWS cloud stack — that stack's outputs (bucket, region, IRSA role, OIDC provider, RDS
 * endpoint, GPU pools) layered over the overlay document before it is resolved, so they win over the overlay's
 * example values. The outputs are read through a StackReference and awaited: the construct tree is built from plain
 * values. A cloud stack without the output (not deployed yet, or not known in a preview) is an error that says to
 * deploy it first; the platform is never built from the overlay's placeholders in its place.
 */
export async function platformInputs(stack: string, config: pulumi.Config, overlaysDir = path.resolve(__dirname, '..', 'overlays')): Promise<PlatformInputs> {
  const env = config.get('env') ?? stack;
  const { file, doc } = readOverlayDocument(overlaysDir, env, 'kfkit:env');
  const cloudStack = config.get('cloudStack');
  if (cloudStack === undefined || !isRecord(doc)) return { env, config: resolveConfig(doc, STACKS, file) };
  const outputs = await readCloudOutputs(cloudStack);
  const layered = applyCloudOverlay(doc, cloudOutputsToOverlay(outputs, { credentialsSecretName: credentialsSecretName(doc) }));
  return { env, config: resolveConfig(layered, STACKS, `${file} with the outputs of ${cloudStack}`), cloud: { stack: cloudStack, outputs } };
}

/** What the program returns: the stack outputs. */
export interface ProgramOutputs {
  /** The deployed waves, in order. */
  readonly waves: string[];
}

/**
 * The program `pulumi up` runs (pulumi/index.js exports its promise; Pulumi awaits it): the configuration of
 * {@link platformInputs}, validated exactly as `kfkit synth` validates it — findings stop the deployment before any
 * change — then the waves, through a Kubernetes provider for the cloud stack's cluster (its kubeconfig, which
 * authenticates with `aws eks get-token`) or, without a cloud stack, the default provider (the current kubeconfig
 * context, or `kubernetes:context`).
 */
export async function program(stack: string, config: pulumi.Config, overlaysDir = path.resolve(__dirname, '..', 'overlays')): Promise<ProgramOutputs> {
  const { env, config: platformConfig, cloud } = await platformInputs(stack, config, overlaysDir);
  // The image lock beside the overlays (images.lock.json), when there is one: Pulumi deploys what synth writes.
  const synthesized = synthesize(platformConfig, { imageDigests: lockedDigests(path.resolve(overlaysDir, '..'), undefined) });
  const findings = checkPlatform(synthesized, platformConfig);
  if (findings.length > 0) {
    throw new Error(`kfkit: ${env}: ${findings.length} validation finding(s):\n${findings.map((f) => `  ${f.rule} ${f.object}: ${f.message}`).join('\n')}`);
  }
  const provider = cloud === undefined ? undefined : kubernetesProvider('kfkit-eks', cloud.outputs.cluster.kubeconfig);
  return { waves: deployWaves(synthesized, provider === undefined ? {} : { provider }).map((d) => d.wave.dir) };
}
