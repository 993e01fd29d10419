/**
 * A minimal client of the Kubeflow Pipelines REST API v2beta1 (what the smoke check needs, nothing more), over the
 * platform `fetch`.
 *
 * Endpoints and field names follow kubeflow/pipelines 2.17.0: `backend/api/v2beta1/{healthz,pipeline,run,
 * runtime_config}.proto` (HTTP bindings in their `google.api.http` options), the multipart upload handler
 * `backend/src/apiserver/server/pipeline_upload_server.go` (registered in `backend/src/apiserver/main.go`,
 * described by `backend/api/v2beta1/swagger/pipeline.upload.swagger.json`). The API server marshals JSON with proto
 * field names (`UseProtoNames: true` in `backend/src/apiserver/common/utils.go`), so responses are snake_case, and
 * rejects unknown request fields (`DiscardUnknown: false`), so requests use exactly those names.
 */

/** `google.rpc.Status`, as the API server reports errors of a run or in an error response. */
export interface KfpStatus {
  readonly code?: number;
  readonly message?: string;
}

/** `GetHealthzResponse`. */
export interface KfpHealthz {
  readonly multi_user?: boolean;
  readonly pipeline_store?: string;
}

/** `Pipeline` (the fields the smoke check reads). */
export interface KfpPipeline {
  readonly pipeline_id: string;
  readonly name?: string;
  readonly display_name?: string;
  readonly namespace?: string;
}

/** `PipelineVersion` (the fields the smoke check reads). */
export interface KfpPipelineVersion {
  readonly pipeline_id?: string;
  readonly pipeline_version_id: string;
  readonly name?: string;
  readonly display_name?: string;
}

/** `RuntimeState`, as JSON enum names. */
export type KfpRuntimeState =
  | 'RUNTIME_STATE_UNSPECIFIED' | 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'SKIPPED' | 'FAILED' | 'CANCELING' | 'CANCELED' | 'PAUSED';

/** States after which a run never changes again (by itself). */
export const TERMINAL_RUN_STATES: readonly KfpRuntimeState[] = ['SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELED'];

/** `RuntimeStatus`: one entry of a run's state history. */
export interface KfpRuntimeStatus {
  readonly update_time?: string;
  readonly state?: KfpRuntimeState;
  readonly error?: KfpStatus;
}

/** `Run` (the fields the smoke check reads). */
export interface KfpRun {
  readonly run_id: string;
  readonly display_name?: string;
  readonly experiment_id?: string;
  readonly state?: KfpRuntimeState;
  readonly error?: KfpStatus;
  readonly state_history?: readonly KfpRuntimeStatus[];
  readonly created_at?: string;
  readonly finished_at?: string;
}

/** Options of a {@link KfpClient}. */
export interface KfpClientOptions {
  /**
   * Where the API server's HTTP port is reachable, optionally with a path prefix: `http://localhost:8888` (a
   * port-forward of `svc/ml-pipeline`), `http://ml-pipeline.kubeflow.svc.cluster.local:8888`, or
   * `https://kubeflow.example.com/pipeline` behind a gateway.
   */
  readonly baseUrl: string;
  /**
   * Sent as `Authorization: Bearer <token>` (the API's `Bearer` security definition; multi-user installations).
   * @default - no Authorization header
   */
  readonly token?: string;
  /**
   * Timeout of each request, response body included.
   * @default 30000
   */
  readonly requestTimeoutMs?: number;
}

/** Per-call options. */
export interface KfpCallOptions {
  /** Overrides the client's request timeout for this call. */
  readonly timeoutMs?: number;
}

/** Longest body excerpt an error carries. */
export const BODY_EXCERPT_CHARS = 300;

/** A failed API call: a non-2xx answer (with its status and the start of its body), no answer, or a malformed one. */
export class KfpApiError extends Error {
  public override readonly name = 'KfpApiError';

  public constructor(
    /** `GET /apis/v2beta1/healthz` and the like. */
    public readonly request: string,
    /** What went wrong, without the request. */
    public readonly reason: string,
    /** HTTP status of the answer; undefined when there was none (refused, reset, timed out). */
    public readonly status?: number,
    /** The first {@link BODY_EXCERPT_CHARS} characters of the answer's body, whitespace collapsed. */
    public readonly bodyExcerpt?: string,
    /** Whether the request timed out. */
    public readonly timedOut = false,
  ) {
    super(`${request}: ${reason}`);
  }

  /** Whether trying again later may help: no answer, 404 (a gateway still wiring routes), 408, 429 or a 5xx. */
  public get retryable(): boolean {
    const s = this.status;
    return s === undefined || s === 404 || s === 408 || s === 429 || s >= 500;
  }
}

type Json = Readonly<Record<string, unknown>>;

function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The parts of an error worth reporting; duck-typed, as errors from `fetch` may come from another realm (jest). */
function errorParts(v: unknown): { name?: string; message?: string; code?: string; cause?: unknown } {
  if (typeof v !== 'object' || v === null) return {};
  const o = v as Json;
  return { name: str(o.name), message: str(o.message), code: str(o.code), cause: o.cause };
}

/** Why a fetch threw, in a few words: `timed out after 5000 ms`, `connection refused (ECONNREFUSED)`. */
function describeFetchError(err: unknown, timeoutMs: number): { reason: string; timedOut: boolean } {
  const e = errorParts(err);
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return { reason: `no answer: timed out after ${timeoutMs} ms`, timedOut: true };
  const cause = errorParts(e.cause);
  const words: Readonly<Partial<Record<string, string>>> = {
    ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset', ENOTFOUND: 'host not found', EAI_AGAIN: 'host name lookup failed',
    EHOSTUNREACH: 'host unreachable', ETIMEDOUT: 'connection timed out', UND_ERR_SOCKET: 'connection closed',
    UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  };
  if (cause.code !== undefined) {
    return { reason: `no answer: ${words[cause.code] ?? cause.message ?? cause.code} (${cause.code})`, timedOut: false };
  }
  return { reason: `no answer: ${cause.message ?? e.message ?? String(err)}`, timedOut: false };
}

function excerpt(body: string): string {
  return body.slice(0, BODY_EXCERPT_CHARS).replace(/\s+/g, ' ').trim();
}

/** The KFP REST API v2beta1 operations the smoke check uses. */
export class KfpClient {
  /** The base URL without trailing slashes. */
  public readonly baseUrl: string;
  private readonly token?: string;
  private readonly requestTimeoutMs: number;

  public constructor(options: KfpClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** `GET /apis/v2beta1/healthz`: resolves when the API server answers 2xx. */
  public async healthz(call: KfpCallOptions = {}): Promise<KfpHealthz> {
    const body = await this.request('GET', '/apis/v2beta1/healthz', {}, call);
    return {
      multi_user: typeof body.multi_user === 'boolean' ? body.multi_user : undefined,
      pipeline_store: typeof body.pipeline_store === 'string' ? body.pipeline_store : undefined,
    };
  }

  /**
   * `POST /apis/v2beta1/pipelines/upload?name=<name>`: a multipart/form-data body whose file part is named
   * `uploadfile` (the file name's suffix tells the server the format). Creates the pipeline and its first version;
   * the answer is the `Pipeline` (no version id: see {@link listPipelineVersions}).
   */
  public async uploadPipeline(args: {
    readonly name: string;
    readonly fileName: string;
    readonly content: string;
    readonly description?: string;
    readonly namespace?: string;
  }, call: KfpCallOptions = {}): Promise<KfpPipeline> {
    const form = new FormData();
    form.append('uploadfile', new Blob([args.content], { type: 'application/yaml' }), args.fileName);
    const query = new URLSearchParams({ name: args.name });
    if (args.description !== undefined) query.set('description', args.description);
    if (args.namespace !== undefined) query.set('namespace', args.namespace);
    const body = await this.request('POST', `/apis/v2beta1/pipelines/upload?${query.toString()}`, { body: form }, call);
    const id = body.pipeline_id;
    if (typeof id !== 'string' || id === '') throw new KfpApiError('POST /apis/v2beta1/pipelines/upload', 'answer has no pipeline_id');
    return { pipeline_id: id, name: str(body.name), display_name: str(body.display_name), namespace: str(body.namespace) };
  }

  /** `GET /apis/v2beta1/pipelines/{pipeline_id}/versions` (the first page, in the server's default order). */
  public async listPipelineVersions(pipelineId: string, call: KfpCallOptions = {}): Promise<KfpPipelineVersion[]> {
    const body = await this.request('GET', `/apis/v2beta1/pipelines/${encodeURIComponent(pipelineId)}/versions`, {}, call);
    const versions = Array.isArray(body.pipeline_versions) ? (body.pipeline_versions as unknown[]) : [];
    return versions.filter(isJson).flatMap((v) => (typeof v.pipeline_version_id === 'string'
      ? [{ pipeline_id: str(v.pipeline_id), pipeline_version_id: v.pipeline_version_id, name: str(v.name), display_name: str(v.display_name) }]
      : []));
  }

  /**
   * `POST /apis/v2beta1/runs` with the `Run` as body: `display_name`, `pipeline_version_reference` { `pipeline_id`,
   * `pipeline_version_id` } and `runtime_config` { `parameters` }. Without `experimentId` the run goes to the
   * default experiment.
   */
  public async createRun(args: {
    readonly displayName: string;
    readonly pipelineId: string;
    readonly pipelineVersionId?: string;
    readonly parameters?: Readonly<Record<string, string | number | boolean>>;
    readonly experimentId?: string;
    readonly description?: string;
  }, call: KfpCallOptions = {}): Promise<KfpRun> {
    const run: Record<string, unknown> = {
      display_name: args.displayName,
      pipeline_version_reference: {
        pipeline_id: args.pipelineId,
        ...(args.pipelineVersionId !== undefined ? { pipeline_version_id: args.pipelineVersionId } : {}),
      },
      runtime_config: { parameters: { ...(args.parameters ?? {}) } },
    };
    if (args.description !== undefined) run.description = args.description;
    if (args.experimentId !== undefined) run.experiment_id = args.experimentId;
    const body = await this.request('POST', '/apis/v2beta1/runs', { json: run }, call);
    return toRun(body, 'POST /apis/v2beta1/runs');
  }

  /** `GET /apis/v2beta1/runs/{run_id}`. */
  public async getRun(runId: string, call: KfpCallOptions = {}): Promise<KfpRun> {
    const path = `/apis/v2beta1/runs/${encodeURIComponent(runId)}`;
    return toRun(await this.request('GET', path, {}, call), `GET ${path}`);
  }

  /** `DELETE /apis/v2beta1/pipelines/{pipeline_id}/versions/{pipeline_version_id}`. */
  public async deletePipelineVersion(pipelineId: string, pipelineVersionId: string, call: KfpCallOptions = {}): Promise<void> {
    await this.request('DELETE', `/apis/v2beta1/pipelines/${encodeURIComponent(pipelineId)}/versions/${encodeURIComponent(pipelineVersionId)}`, {}, call);
  }

  /**
   * `DELETE /apis/v2beta1/pipelines/{pipeline_id}`; with `cascade` (`?cascade=true`, KFP 2.17+) its versions too —
   * without it the server refuses while versions exist.
   */
  public async deletePipeline(pipelineId: string, options: { readonly cascade?: boolean } & KfpCallOptions = {}): Promise<void> {
    const query = options.cascade === true ? '?cascade=true' : '';
    await this.request('DELETE', `/apis/v2beta1/pipelines/${encodeURIComponent(pipelineId)}${query}`, {}, options);
  }

  private async request(
    method: 'GET' | 'POST' | 'DELETE',
    pathAndQuery: string,
    payload: { readonly json?: unknown; readonly body?: FormData },
    call: KfpCallOptions,
  ): Promise<Json> {
    const label = `${method} ${pathAndQuery.split('?')[0]}`;
    const timeoutMs = Math.max(1, Math.floor(call.timeoutMs ?? this.requestTimeoutMs));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    let body: string | FormData | undefined = payload.body;
    if (payload.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(payload.json);
    }
    let text: string;
    let status: number;
    let statusText: string;
    let location: string | null;
    try {
      // A redirect is reported, not followed: behind an authenticating gateway it leads to a login page.
      const res = await fetch(`${this.baseUrl}${pathAndQuery}`, { method, headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      status = res.status;
      statusText = res.statusText;
      location = res.headers.get('location');
      text = await res.text();
    } catch (err) {
      const { reason, timedOut } = describeFetchError(err, timeoutMs);
      throw new KfpApiError(label, reason, undefined, undefined, timedOut);
    }
    if (status < 200 || status > 299) {
      const ex = excerpt(text);
      const where = location !== null && status >= 300 && status < 400 ? ` (redirect to ${location}: a login page? pass a token)` : '';
      throw new KfpApiError(label, `HTTP ${status}${statusText ? ` ${statusText}` : ''}${where}${ex ? `: ${ex}` : ''}`, status, ex);
    }
    if (text.trim() === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new KfpApiError(label, `HTTP ${status} but the body is not JSON: ${excerpt(text)}`, status, excerpt(text));
    }
    if (!isJson(parsed)) throw new KfpApiError(label, `HTTP ${status} but the body is not a JSON object: ${excerpt(text)}`, status, excerpt(text));
    return parsed;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function status(v: unknown): KfpStatus | undefined {
  if (!isJson(v)) return undefined;
  return { code: typeof v.code === 'number' ? v.code : undefined, message: str(v.message) };
}

const STATES: readonly string[] = ['RUNTIME_STATE_UNSPECIFIED', 'PENDING', 'RUNNING', 'SUCCEEDED', 'SKIPPED', 'FAILED', 'CANCELING', 'CANCELED', 'PAUSED'];

function state(v: unknown): KfpRuntimeState | undefined {
  return typeof v === 'string' && STATES.includes(v) ? (v as KfpRuntimeState) : undefined;
}

function toRun(body: Json, label: string): KfpRun {
  const id = body.run_id;
  if (typeof id !== 'string' || id === '') throw new KfpApiError(label, 'answer has no run_id');
  const history = Array.isArray(body.state_history) ? (body.state_history as unknown[]) : [];
  return {
    run_id: id,
    display_name: str(body.display_name),
    experiment_id: str(body.experiment_id),
    state: state(body.state),
    error: status(body.error),
    state_history: history.filter(isJson).map((h) => ({ update_time: str(h.update_time), state: state(h.state), error: status(h.error) })),
    created_at: str(body.created_at),
    finished_at: str(body.finished_at),
  };
}
