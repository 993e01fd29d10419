/**
 * The Pulumi rendering of a kfkit platform: the same construct tree as `kfkit synth` (one source of truth), applied
 * wave by wave with @pulumi/kubernetes. Each wave is one ConfigGroup that dependsOn the previous one, so a wave is
 * only applied once every object of the earlier waves is ready (Pulumi awaits rollouts, Jobs and CRDs itself;
 * other readiness conditions kfkit knows are passed on with the `pulumi.com/waitFor` annotation). The provider
 * applies server-side (the @pulumi/kubernetes v4 default).
 *
 * Cloud resources (EKS, GPU node groups, S3, RDS, IAM) arrive with the Pulumi issue.
 */
import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { loadOverlay } from '../lib/config/load';
import { PROTECTED_ANNOTATION, Synthesized, SynthesizedWave } from '../lib/synth/collect';
import { checkPlatform, synthesize } from '../lib/synth/index';
import { K8sObject } from '../lib/validate/types';
import { STACKS } from '../stacks';

/** Annotation @pulumi/kubernetes reads to await a custom condition. */
export const PULUMI_WAIT_FOR = 'pulumi.com/waitFor';

/** One wave as deployed: its objects, split into the data-holding ones (protected) and the rest. */
export interface WaveDeployment {
  readonly wave: SynthesizedWave;
  readonly objects: readonly K8sObject[];
  /** The wave's groups: the unprotected objects, and (if any) the protected ones with `protect: true`. */
  readonly groups: readonly k8s.yaml.v2.ConfigGroup[];
  /** The groups of the previous wave, which every group of this wave depends on. */
  readonly dependsOn: readonly k8s.yaml.v2.ConfigGroup[];
}

/** Whether kfkit marked an object as holding data (`kfkit.dev/protected`). */
export function isProtected(o: K8sObject): boolean {
  return o.metadata.annotations?.[PROTECTED_ANNOTATION] !== undefined;
}

/** The objects of a wave, with kfkit's condition waits translated to `pulumi.com/waitFor`. */
export function waveObjects(s: Synthesized, wave: SynthesizedWave): K8sObject[] {
  return s.objects.filter((o) => o.wave === wave.index).map(({ manifest }) => {
    const wait = wave.waits.find((w) => w.kind === manifest.kind && w.name === manifest.metadata.name && w.namespace === manifest.metadata.namespace);
    // Built-in kinds are awaited by Pulumi already; only custom resources need the annotation.
    if (!wait || wait.readiness.type !== 'condition' || !manifest.apiVersion.includes('.')) return manifest;
    const annotations = { ...manifest.metadata.annotations, [PULUMI_WAIT_FOR]: `condition=${wait.readiness.condition}` };
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
  let previous: k8s.yaml.v2.ConfigGroup[] = [];
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
    out.push({ wave, objects, groups, dependsOn });
    previous = groups;
  }
  return out;
}

/**
 * The program `pulumi up` runs: stack config `kfkit:env` (default: the stack name) names the overlay. The
 * platform is validated exactly as `kfkit synth` validates it; findings stop the deployment before any change.
 */
export function program(stack: string, config: pulumi.Config, overlaysDir = path.resolve(__dirname, '..', 'overlays')): { waves: string[] } {
  const env = config.get('env') ?? stack;
  const platformConfig = loadOverlay(overlaysDir, env, STACKS);
  const synthesized = synthesize(platformConfig);
  const findings = checkPlatform(synthesized, platformConfig);
  if (findings.length > 0) {
    throw new Error(`kfkit: ${env}: ${findings.length} validation finding(s):\n${findings.map((f) => `  ${f.rule} ${f.object}: ${f.message}`).join('\n')}`);
  }
  return { waves: deployWaves(synthesized).map((d) => d.wave.dir) };
}
