/**
 * `kfkit smoke`: the post-install smoke check of Kubeflow Pipelines. It needs a running KFP API server, e.g.
 *
 * ```sh
 * kfkit apply --env local
 * kubectl -n kubeflow port-forward svc/ml-pipeline 8888:8888
 * kfkit smoke --url http://localhost:8888
 * ```
 *
 * It waits for the API to be healthy, uploads kfkit's two-step hello pipeline (`hello-pipeline.yaml`) under a unique
 * name, starts a run of it, waits for the run to finish, and deletes the uploaded pipeline again. The run is kept
 * (in the default experiment) so its logs can be inspected in the UI.
 */
import { HELLO_PIPELINE_FILENAME, HELLO_PIPELINE_PARAMETERS, helloPipelineYaml } from './pipeline';
import { KfpApiError, KfpClient, KfpRun, KfpRuntimeState, TERMINAL_RUN_STATES } from './client';

export * from './client';
export * from './pipeline';

/** The steps of a smoke check, in order. */
export type SmokeStepName = 'health' | 'upload' | 'run' | 'wait' | 'cleanup';

/** One step's outcome. */
export interface SmokeStep {
  readonly name: SmokeStepName;
  readonly ok: boolean;
  /** What the step did, or why it failed. */
  readonly detail: string;
  /** Wall-clock duration in milliseconds. */
  readonly ms: number;
}

/** The step that broke a smoke check, and why. */
export class SmokeError extends Error {
  public override readonly name = 'SmokeError';

  public constructor(
    /** The failing step. */
    public readonly step: SmokeStepName,
    /** Why, in one line. */
    public readonly reason: string,
  ) {
    super(`smoke check failed at step '${step}': ${reason}`);
  }
}

/** Options that cannot work (a malformed URL, a non-positive timeout): a usage error, not a failed check. */
export class SmokeInputError extends Error {
  public override readonly name = 'SmokeInputError';
}

/** Options of {@link runSmoke}. */
export interface SmokeOptions {
  /** Base URL of the KFP API server's HTTP port (path prefix allowed), e.g. `http://localhost:8888`. */
  readonly baseUrl: string;
  /**
   * Budget for health, upload, run and wait together, in seconds (fractions allowed). Cleanup runs after it, with
   * its own per-request timeouts. The first run on a fresh cluster pulls the driver, launcher and alpine images.
   */
  readonly timeoutSeconds: number;
  /**
   * Pause between health attempts and between run polls.
   * @default 2000
   */
  readonly pollIntervalMs?: number;
  /**
   * Timeout of each API request (capped by what is left of `timeoutSeconds`).
   * @default 30000
   */
  readonly requestTimeoutMs?: number;
  /** Bearer token for the API (multi-user installations). */
  readonly token?: string;
  /** Receives one progress line per event. */
  readonly log: (line: string) => void;
  /**
   * Name to upload the pipeline under.
   * @default `kfkit-smoke-<UTC timestamp>`
   */
  readonly pipelineName?: string;
  /**
   * Image for the pipeline's steps, e.g. the mirrored `alpine` with a registry mirror.
   * @default HELLO_PIPELINE_IMAGE
   */
  readonly image?: string;
}

/** Outcome of {@link runSmoke}. */
export interface SmokeResult {
  /** Whether the pipeline ran to SUCCEEDED. A failed cleanup is reported in `steps` but does not fail the check. */
  readonly ok: boolean;
  /** The steps that ran, in order. */
  readonly steps: readonly SmokeStep[];
  /** The first failing step (health, upload, run or wait) and its reason; undefined when `ok`. */
  readonly error?: SmokeError;
  /** The uploaded pipeline's name. */
  readonly pipelineName: string;
  /** The run's id, once created (the run is kept for inspection). */
  readonly runId?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** `kfkit-smoke-20261123-030000-123` (UTC), unique enough for one cluster and sortable. */
export function smokePipelineName(now: Date = new Date()): string {
  const iso = now.toISOString(); // 2026-11-23T03:00:00.123Z
  return `kfkit-smoke-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`;
}

function checkOptions(options: SmokeOptions): void {
  let url: URL;
  try {
    url = new URL(options.baseUrl);
  } catch {
    throw new SmokeInputError(`base URL "${options.baseUrl}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SmokeInputError(`base URL "${options.baseUrl}" is not http(s)`);
  if (!Number.isFinite(options.timeoutSeconds) || options.timeoutSeconds <= 0) throw new SmokeInputError(`timeout ${options.timeoutSeconds} s must be positive`);
  if (options.pollIntervalMs !== undefined && !(options.pollIntervalMs >= 0)) throw new SmokeInputError('poll interval must not be negative');
}

function runFailure(run: KfpRun): string {
  const own = run.error?.message;
  const fromHistory = [...(run.state_history ?? [])].reverse().find((h) => h.error?.message)?.error?.message;
  const why = own ?? fromHistory;
  return `run ${run.run_id} ended ${run.state ?? 'in an unknown state'}${why ? `: ${why}` : ''}`;
}

/**
 * Runs the Kubeflow Pipelines smoke check against a running API server (see the module documentation for how to reach
 * one): health → upload → run → wait → cleanup. Never throws for a failed check — the result names the first failing
 * step and its reason, which are also logged — only {@link SmokeInputError} for unusable options. Cleanup (deleting
 * the uploaded pipeline version and pipeline) runs whenever the upload succeeded, also after a failure, best effort.
 */
export async function runSmoke(options: SmokeOptions): Promise<SmokeResult> {
  checkOptions(options);
  const log = options.log;
  const pollMs = options.pollIntervalMs ?? 2000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const client = new KfpClient({ baseUrl: options.baseUrl, token: options.token, requestTimeoutMs });
  const pipelineName = options.pipelineName ?? smokePipelineName();
  const start = Date.now();
  const deadline = start + options.timeoutSeconds * 1000;
  const left = (): number => deadline - Date.now();
  const callTimeout = (): number => Math.max(1, Math.min(requestTimeoutMs, left()));
  const steps: SmokeStep[] = [];
  let error: SmokeError | undefined;
  let pipelineId: string | undefined;
  let versionId: string | undefined;
  let runId: string | undefined;

  const step = async (name: SmokeStepName, body: () => Promise<string>): Promise<boolean> => {
    const t0 = Date.now();
    try {
      const detail = await body();
      steps.push({ name, ok: true, detail, ms: Date.now() - t0 });
      log(`${name}: ok (${Date.now() - t0} ms): ${detail}`);
      return true;
    } catch (err) {
      const reason = err instanceof SmokeError ? err.reason : err instanceof Error ? err.message : String(err);
      steps.push({ name, ok: false, detail: reason, ms: Date.now() - t0 });
      if (name !== 'cleanup' && error === undefined) error = new SmokeError(name, reason);
      log(`${name}: FAILED (${Date.now() - t0} ms): ${reason}`);
      return false;
    }
  };

  const outOfTime = (name: SmokeStepName, what: string): SmokeError =>
    new SmokeError(name, `${what} within the ${options.timeoutSeconds} s timeout`);

  const flow = async (): Promise<void> => {
    const healthy = await step('health', async () => {
      let last = '';
      for (let attempt = 1; ; attempt++) {
        try {
          const h = await client.healthz({ timeoutMs: callTimeout() });
          const facts = [h.multi_user !== undefined ? `multi_user=${h.multi_user}` : '', h.pipeline_store ? `pipeline_store=${h.pipeline_store}` : ''].filter(Boolean);
          return `API healthy after ${attempt} attempt(s)${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`;
        } catch (err) {
          if (!(err instanceof KfpApiError)) throw err;
          if (!err.retryable) throw new SmokeError('health', err.message);
          // An attempt the deadline cut short says less than the answer before it.
          const cutShort = err.timedOut && left() <= 0 && last !== '';
          if (!cutShort) {
            if (err.message !== last) log(`health: not yet: ${err.message}`);
            last = err.message;
          }
        }
        if (left() <= 0) throw new SmokeError('health', `KFP API at ${client.baseUrl} not healthy within the ${options.timeoutSeconds} s timeout; last: ${last}`);
        await sleep(Math.min(pollMs, left()));
      }
    });
    if (!healthy) return;

    const uploaded = await step('upload', async () => {
      if (left() <= 0) throw outOfTime('upload', 'no time left to upload');
      const pipeline = await client.uploadPipeline({
        name: pipelineName,
        fileName: HELLO_PIPELINE_FILENAME,
        content: helloPipelineYaml(options.image),
        description: 'kfkit smoke check; deleted when the check ends',
      }, { timeoutMs: callTimeout() });
      pipelineId = pipeline.pipeline_id;
      const versions = await client.listPipelineVersions(pipelineId, { timeoutMs: callTimeout() });
      if (versions.length === 0) throw new SmokeError('upload', `pipeline ${pipelineId} has no version after the upload`);
      versionId = versions[0].pipeline_version_id;
      return `pipeline "${pipelineName}" id ${pipelineId}, version ${versionId}`;
    });
    if (!uploaded || pipelineId === undefined) return;

    const pid = pipelineId;
    const started = await step('run', async () => {
      if (left() <= 0) throw outOfTime('run', 'no time left to start a run');
      const run = await client.createRun({
        displayName: `${pipelineName}-run`,
        pipelineId: pid,
        pipelineVersionId: versionId,
        parameters: HELLO_PIPELINE_PARAMETERS,
        description: 'kfkit smoke check',
      }, { timeoutMs: callTimeout() });
      runId = run.run_id;
      return `run ${run.run_id} created${run.state ? ` (${run.state})` : ''}`;
    });
    if (!started || runId === undefined) return;

    const rid = runId;
    await step('wait', async () => {
      let seen: KfpRuntimeState | undefined;
      let lastError = '';
      for (;;) {
        try {
          const run = await client.getRun(rid, { timeoutMs: callTimeout() });
          if (run.state !== seen) log(`wait: run ${rid} is ${run.state ?? 'without a state yet'} (${Math.round((Date.now() - start) / 1000)} s)`);
          seen = run.state;
          if (run.state === 'SUCCEEDED') return `run ${rid} SUCCEEDED`;
          if (run.state !== undefined && TERMINAL_RUN_STATES.includes(run.state)) throw new SmokeError('wait', runFailure(run));
        } catch (err) {
          if (!(err instanceof KfpApiError)) throw err;
          if (!err.retryable || err.status === 404) throw new SmokeError('wait', err.message);
          if (err.message !== lastError) log(`wait: ${err.message} (retrying)`);
          lastError = err.message;
        }
        if (left() <= 0) {
          throw new SmokeError('wait', `run ${rid} still ${seen ?? 'not started'} after the ${options.timeoutSeconds} s timeout; left in place for inspection`);
        }
        await sleep(Math.min(pollMs, left()));
      }
    });
  };

  // Best effort, also after a failure: the uploaded pipeline is ours to delete; the run stays for inspection.
  const cleanup = async (): Promise<void> => {
    if (pipelineId === undefined) return;
    const pid = pipelineId;
    await step('cleanup', async () => {
      try {
        if (versionId !== undefined) {
          await client.deletePipelineVersion(pid, versionId);
          await client.deletePipeline(pid);
        } else {
          await client.deletePipeline(pid, { cascade: true });
        }
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new SmokeError('cleanup', `${why}; delete pipeline "${pipelineName}" (${pid}) in the Pipelines UI`);
      }
      return `deleted pipeline ${pid}${versionId !== undefined ? ` and version ${versionId}` : ' (cascade)'}${runId !== undefined ? `; run ${runId} kept` : ''}`;
    });
  };

  log(`Kubeflow Pipelines at ${client.baseUrl}, timeout ${options.timeoutSeconds} s`);
  try {
    await flow();
  } finally {
    await cleanup();
  }
  const failure: SmokeError | undefined = error;
  if (failure) log(`FAILED at step '${failure.step}': ${failure.reason}`);
  else log(`ok in ${Math.round((Date.now() - start) / 100) / 10} s`);
  return { ok: failure === undefined, steps, error: failure, pipelineName, runId };
}

/** Arguments of {@link smokeCommand}, as the CLI parsed them (strings, unvalidated). */
export interface SmokeCommandArgs {
  /**
   * Base URL of the KFP API.
   * @default DEFAULT_SMOKE_URL
   */
  readonly url?: string;
  /**
   * Total budget in whole seconds.
   * @default DEFAULT_SMOKE_TIMEOUT_SECONDS
   */
  readonly timeout?: string;
  /** Bearer token (multi-user installations); prefer passing it from an environment variable over a literal. */
  readonly token?: string;
  /** Image for the pipeline's steps (the mirrored `alpine` when the overlay sets `images.registryMirror`). */
  readonly image?: string;
}

/** Where `kubectl -n kubeflow port-forward svc/ml-pipeline 8888:8888` makes the API reachable. */
export const DEFAULT_SMOKE_URL = 'http://localhost:8888';

/** Default budget: the first run on a fresh cluster pulls the driver, launcher and step images. */
export const DEFAULT_SMOKE_TIMEOUT_SECONDS = 600;

const MAX_TIMEOUT_SECONDS = 86_400;

function parseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SmokeInputError(`--url: "${raw}" is not a URL (e.g. ${DEFAULT_SMOKE_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SmokeInputError(`--url: "${raw}" must be http:// or https://`);
  if (url.username !== '' || url.password !== '') throw new SmokeInputError('--url: credentials in the URL are not supported; use --token');
  if (url.search !== '' || url.hash !== '') throw new SmokeInputError(`--url: "${raw}" must not have a query or fragment`);
  return raw.replace(/\/+$/, '');
}

function parseTimeout(raw: string): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_TIMEOUT_SECONDS) {
    throw new SmokeInputError(`--timeout: "${raw}" must be a whole number of seconds (1..${MAX_TIMEOUT_SECONDS})`);
  }
  return n;
}

/**
 * The `kfkit smoke [--url URL] [--timeout S] [--token T]` command: runs {@link runSmoke} against a running Kubeflow
 * Pipelines API (after `kfkit apply`: `kubectl -n kubeflow port-forward svc/ml-pipeline 8888:8888`, then
 * `kfkit smoke --url http://localhost:8888`). Progress goes to `io.err`, the one-line verdict of a passing check to
 * `io.out`.
 *
 * @returns 0 the pipeline ran to SUCCEEDED; 1 the check failed (the failing step and its reason on `io.err`); 2 bad
 *   input (one line on `io.err`, no stack trace).
 */
export async function smokeCommand(
  args: SmokeCommandArgs,
  io: { out(line: string): void; err(line: string): void },
  /** Poll and request timing (tests shorten them). */
  tuning: Pick<SmokeOptions, 'pollIntervalMs' | 'requestTimeoutMs'> = {},
): Promise<number> {
  let options: SmokeOptions;
  try {
    const token = args.token;
    if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new SmokeInputError('--token: must be non-empty printable ASCII without spaces');
    if (args.image?.trim() === '') throw new SmokeInputError('--image: must not be empty');
    options = {
      baseUrl: parseUrl(args.url ?? DEFAULT_SMOKE_URL),
      timeoutSeconds: args.timeout === undefined ? DEFAULT_SMOKE_TIMEOUT_SECONDS : parseTimeout(args.timeout),
      token,
      image: args.image,
      log: (line) => { io.err(`kfkit smoke: ${line}`); },
      ...tuning,
    };
  } catch (err) {
    if (err instanceof SmokeInputError) {
      io.err(`kfkit smoke: ${err.message}`);
      return 2;
    }
    throw err;
  }
  try {
    const result = await runSmoke(options);
    if (result.ok) {
      io.out(`kfkit smoke: ok: Kubeflow Pipelines ran ${result.pipelineName}${result.runId !== undefined ? ` (run ${result.runId})` : ''} to SUCCEEDED`);
      return 0;
    }
    if (result.runId !== undefined) io.err(`kfkit smoke: run ${result.runId} is kept: inspect it in the Pipelines UI or with \`kubectl -n kubeflow get workflows\``);
    return 1;
  } catch (err) {
    io.err(`kfkit smoke: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof SmokeInputError ? 2 : 1;
  }
}
