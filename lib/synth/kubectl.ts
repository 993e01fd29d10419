import { spawnSync } from 'child_process';

/** What a captured kubectl call returned. */
export interface KubectlResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link Kubectl}. */
export interface KubectlOptions {
  /** Working directory of the calls. */
  readonly cwd: string;
  /** kubectl context. @default - the current context */
  readonly context?: string;
  /** kubectl binary. @default 'kubectl' */
  readonly binary?: string;
  /** Environment of the calls (KUBECONFIG, PATH). @default - this process's */
  readonly env?: NodeJS.ProcessEnv;
}

/** Output limit of a captured call: listing a large platform's objects stays far below it. */
const MAX_BUFFER = 256 * 2 ** 20;

/** Runs kubectl as argv (no shell), always against the same context. */
export class Kubectl {
  private readonly prefix: readonly string[];

  public constructor(private readonly options: KubectlOptions) {
    this.prefix = [options.binary ?? 'kubectl', ...(options.context ? ['--context', options.context] : [])];
  }

  /** The full argv of a call, for plans and messages. */
  public argv(args: readonly string[]): string[] {
    return [...this.prefix, ...args];
  }

  /** Runs a call with its output on the terminal; returns the exit status (127 when kubectl cannot be started). */
  public run(args: readonly string[]): number {
    const [cmd, ...rest] = this.argv(args);
    const r = spawnSync(cmd, rest, { cwd: this.options.cwd, env: this.options.env ?? process.env, stdio: 'inherit' });
    return r.error ? 127 : r.status ?? 1;
  }

  /** Runs a call and captures its output; with `KFKIT_TRACE=1` each call and its duration go to stderr. */
  public capture(args: readonly string[]): KubectlResult {
    const [cmd, ...rest] = this.argv(args);
    const t0 = Date.now();
    const r = spawnSync(cmd, rest, {
      cwd: this.options.cwd, env: this.options.env ?? process.env, encoding: 'utf8', maxBuffer: MAX_BUFFER, stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (process.env.KFKIT_TRACE === '1') process.stderr.write(`kfkit: ${this.argv(args).join(' ').slice(0, 300)} (${Date.now() - t0} ms, exit ${r.status ?? 'none'})\n`);
    if (r.error) return { status: 127, stdout: '', stderr: `${cmd}: ${r.error.message}` };
    return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }
}
