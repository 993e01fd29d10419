import { SynthesizedWave, WaveWait } from './collect';

/** One command of the apply sequence. */
export interface ApplyStep {
  /** What the step does, for progress lines and failures. */
  readonly description: string;
  /** The command, as argv (no shell). */
  readonly argv: readonly string[];
}

/** Options of {@link applyPlan}. */
export interface ApplyPlanOptions {
  /** Directory of the synthesized tree. */
  readonly dir: string;
  /** Seconds to wait for each object to become ready. */
  readonly timeoutSeconds: number;
  /** kubectl context. @default - the current context */
  readonly context?: string;
  /** kubectl binary. @default 'kubectl' */
  readonly kubectl?: string;
}

function resource(w: WaveWait): string {
  return w.kind === 'CustomResourceDefinition' ? `crd/${w.name}` : `${w.kind.toLowerCase()}/${w.name}`;
}

/**
 * The kubectl sequence that installs a synthesized tree in one ordered pass: per wave, a server-side apply (CRDs
 * too large for client-side apply's last-applied annotation go through), then a wait for everything the wave must
 * have ready before the next — CRDs Established, rollouts finished, Jobs complete, certificates Ready.
 */
export function applyPlan(waves: readonly SynthesizedWave[], options: ApplyPlanOptions): ApplyStep[] {
  const kubectl = [options.kubectl ?? 'kubectl', ...(options.context ? ['--context', options.context] : [])];
  const timeout = `--timeout=${options.timeoutSeconds}s`;
  const steps: ApplyStep[] = [];
  for (const wave of waves) {
    steps.push({
      description: `wave ${wave.index} (${wave.name}): apply`,
      argv: [...kubectl, 'apply', '--server-side', '--field-manager=kfkit', '--force-conflicts', '-k', `${options.dir}/${wave.dir}`],
    });
    for (const w of wave.waits) {
      const ns = w.namespace ? ['-n', w.namespace] : [];
      const r = w.readiness;
      const argv = r.type === 'rollout'
        ? [...kubectl, 'rollout', 'status', ...ns, resource(w), timeout]
        : [...kubectl, 'wait', ...ns, r.type === 'condition' ? `--for=condition=${r.condition}` : `--for=jsonpath=${r.path}=${r.value}`, resource(w), timeout];
      const what = r.type === 'rollout' ? 'rollout' : r.type === 'condition' ? r.condition : `${r.path}=${r.value}`;
      steps.push({ description: `wave ${wave.index} (${wave.name}): wait for ${what} of ${w.kind} ${w.namespace ? `${w.namespace}/` : ''}${w.name}`, argv });
    }
  }
  return steps;
}
