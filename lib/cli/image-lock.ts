import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, readInputFile } from '../config/load';
import { IMAGE_LOCK_FILE, ImageLock, ImageLockError, isDigest, parseImageLock, renderImageLock } from '../core/image-lock';
import { IMAGES, ImageKey } from '../core/images';

/**
 * `kfkit images lock`: resolves every image of the catalog from its tag to its digest through the registry HTTP API
 * (OCI distribution spec: `HEAD /v2/<name>/manifests/<tag>`, anonymous bearer tokens as registries hand them out),
 * and writes the image lock atomically. Synthesis then pins each image by digest.
 */

/** Media types asked for: an index (multi-architecture) first, so the digest is the one every node pulls. */
const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** Docker Hub's API host (image references say `docker.io`). */
const DOCKER_HUB_API = 'registry-1.docker.io';
/** Parallel requests while locking. */
const CONCURRENCY = 8;

/** Where a registry is reached, when not at `https://<host>` (a pull-through proxy, a test registry on loopback). */
export type RegistryEndpoints = Readonly<Record<string, string>>;

/** What resolving needs; `fetch` is injectable. */
export interface ResolveOptions {
  readonly endpoints: RegistryEndpoints;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
}

/** A registry answered something other than a digest; the message says which image and what happened. */
export class ResolveError extends Error {
  /** Whether the registry itself could not be reached (no answer, refused): the other images it holds are not tried. */
  public readonly unreachable: boolean;

  public constructor(message: string, unreachable = false) {
    super(message);
    this.unreachable = unreachable;
  }
}

/** Splits `registry/repository:tag` (the catalog writes every reference in full). */
export function splitReference(ref: string): { registry: string; repository: string; tag: string } {
  const slash = ref.indexOf('/');
  const colon = ref.lastIndexOf(':');
  return { registry: ref.slice(0, slash), repository: ref.slice(slash + 1, colon), tag: ref.slice(colon + 1) };
}

/** Parses `--endpoint host=url` values: a registry host and an http(s) URL; plain http only on loopback. */
export function parseEndpoints(values: readonly string[]): RegistryEndpoints {
  const out: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const host = eq > 0 ? value.slice(0, eq) : '';
    const url = eq > 0 ? value.slice(eq + 1) : '';
    if (!/^[a-z0-9.-]+(:\d+)?$/.test(host)) throw new ImageLockError(`--endpoint ${value}: must be <registry host>=<url>, e.g. docker.io=https://mirror.corp.example`);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ImageLockError(`--endpoint ${value}: ${url || '(empty)'} is not a URL; give https://host[:port]`);
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
    if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
      throw new ImageLockError(`--endpoint ${value}: must be https:// (plain http only to a registry on loopback)`);
    }
    out[host] = url.replace(/\/+$/, '');
  }
  return out;
}

function baseUrl(registry: string, endpoints: RegistryEndpoints): string {
  return endpoints[registry] ?? `https://${registry === 'docker.io' ? DOCKER_HUB_API : registry}`;
}

/** The parameters of a `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge. */
function bearerChallenge(header: string | null): { realm: string; service?: string; scope?: string } | undefined {
  if (header === null || !/^bearer\s/i.test(header)) return undefined;
  const params = new Map<string, string>();
  for (const m of header.slice(7).matchAll(/(\w+)="([^"]*)"/g)) params.set(m[1], m[2]);
  const realm = params.get('realm');
  return realm === undefined ? undefined : { realm, service: params.get('service'), scope: params.get('scope') };
}

/** Resolves one reference (`registry/repository:tag`) to the digest its registry serves for the tag. */
export async function resolveDigest(ref: string, options: ResolveOptions): Promise<string> {
  const doFetch = options.fetch ?? fetch;
  const { registry, repository, tag } = splitReference(ref);
  const url = `${baseUrl(registry, options.endpoints)}/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
  const request = async (method: 'HEAD' | 'GET', token?: string): Promise<Response> => {
    try {
      return await doFetch(url, {
        method, redirect: 'follow', signal: AbortSignal.timeout(options.timeoutMs),
        headers: { accept: ACCEPT, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      });
    } catch (e) {
      const cause = (e as Error).name === 'TimeoutError' ? `no answer in ${options.timeoutMs} ms` : (e as Error).message;
      throw new ResolveError(`${ref}: ${url}: ${cause}`, true);
    }
  };
  let token: string | undefined;
  let res = await request('HEAD');
  if (res.status === 401) {
    const challenge = bearerChallenge(res.headers.get('www-authenticate'));
    if (challenge === undefined) throw new ResolveError(`${ref}: ${registry} wants credentials kfkit does not have (no anonymous token offered)`);
    token = await anonymousToken(ref, url, challenge, repository, doFetch, options.timeoutMs);
    res = await request('HEAD', token);
  }
  if (res.status === 404) throw new ResolveError(`${ref}: ${registry} has no tag ${tag} of ${repository}`);
  if (!res.ok) throw new ResolveError(`${ref}: ${registry} answered ${res.status} ${res.statusText}`);
  let digest = res.headers.get('docker-content-digest');
  if (digest === null) {
    // A registry that names no digest: the digest of the manifest it serves.
    const body = await request('GET', token);
    if (!body.ok) throw new ResolveError(`${ref}: ${registry} answered ${body.status} ${body.statusText}`);
    let manifest: ArrayBuffer;
    try {
      manifest = await body.arrayBuffer();
    } catch (e) {
      throw new ResolveError(`${ref}: reading the manifest from ${registry}: ${(e as Error).message}`, true);
    }
    digest = `sha256:${createHash('sha256').update(Buffer.from(manifest)).digest('hex')}`;
  }
  if (!isDigest(digest)) throw new ResolveError(`${ref}: ${registry} answered the digest "${digest.slice(0, 100)}", not sha256:<64 hex digits>`);
  return digest;
}

async function anonymousToken(
  ref: string, base: string, challenge: { realm: string; service?: string; scope?: string }, repository: string, doFetch: typeof fetch, timeoutMs: number,
): Promise<string> {
  let url: URL;
  try {
    // A realm may be relative to the registry that sent it.
    url = new URL(challenge.realm, base);
  } catch {
    throw new ResolveError(`${ref}: the registry's token realm "${challenge.realm.slice(0, 200)}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ResolveError(`${ref}: the registry's token realm ${url.href.slice(0, 200)} is not http(s)`);
  if (challenge.service !== undefined) url.searchParams.set('service', challenge.service);
  url.searchParams.set('scope', challenge.scope ?? `repository:${repository}:pull`);
  let res: Response;
  try {
    res = await doFetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new ResolveError(`${ref}: token from ${url.origin}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new ResolveError(`${ref}: token from ${url.origin}: ${res.status} ${res.statusText}`);
  const body = (await res.json().catch((): unknown => ({}))) as { token?: unknown; access_token?: unknown } | null;
  const token = typeof body?.token === 'string' ? body.token : body?.access_token;
  if (typeof token !== 'string' || token === '') throw new ResolveError(`${ref}: token from ${url.origin}: the answer holds no token`);
  return token;
}

/** Every upstream reference of the catalog, sorted: what a lock covers (all environments share one lock). */
export function catalogReferences(): string[] {
  return [...new Set((Object.keys(IMAGES) as ImageKey[]).map((k) => `${IMAGES[k].repository}:${IMAGES[k].tag}`))].sort();
}

/** Resolves `refs`, a few at a time; every failure is collected, not only the first. */
export async function resolveAll(refs: readonly string[], options: ResolveOptions): Promise<{ digests: Record<string, string>; errors: string[] }> {
  const digests: Record<string, string> = {};
  const errors: string[] = [];
  const down = new Map<string, string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < refs.length) {
      const ref = refs[next++];
      const registry = splitReference(ref).registry;
      const at = baseUrl(registry, options.endpoints);
      const why = down.get(at);
      if (why !== undefined) {
        errors.push(`${ref}: not tried: ${at} did not answer (${why})`);
        continue;
      }
      try {
        digests[ref] = await resolveDigest(ref, options);
      } catch (e) {
        // Whatever went wrong is this image's failure, reported with the others (never a stack trace).
        const error = e instanceof ResolveError ? e : new ResolveError(`${ref}: ${e instanceof Error ? e.message : String(e)}`);
        errors.push(error.message);
        if (error.unreachable) down.set(at, error.message.slice(ref.length + 2));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, refs.length) }, worker));
  return { digests, errors: errors.sort() };
}

/**
 * Reads the image lock at `file` (relative to `cwd`). Without `required`, a missing file means no lock (images by
 * tag); a lock that exists must be valid and is checked like any input file.
 */
export function readImageLock(cwd: string, file: string | undefined): ImageLock | undefined {
  const at = path.resolve(cwd, file ?? IMAGE_LOCK_FILE);
  if (file === undefined && !fs.existsSync(at)) return undefined;
  const text = readInputFile(at, '--image-lock', 'an image lock');
  try {
    return parseImageLock(text, at);
  } catch (e) {
    if (e instanceof ImageLockError) throw new ConfigError(`${at} (run kfkit images lock to rewrite it)`, [{ path: '--image-lock', message: e.message }]);
    throw e;
  }
}

/** Writes the lock atomically: a temporary file beside it, then a rename; nothing is left half-written. */
export function writeImageLock(file: string, digests: Readonly<Record<string, string>>): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, renderImageLock(digests), { mode: 0o644 });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The image lock's digests for synthesis (`--image-lock`, or `images.lock.json` in `dir` when it exists), checked
 * against the catalog: a lock is all or nothing, and never stale. `undefined` without a lock.
 */
export function lockedDigests(dir: string, file: string | undefined): Record<string, string> | undefined {
  const lock = readImageLock(dir, file);
  if (lock === undefined) return undefined;
  const refs = catalogReferences();
  const missing = refs.filter((r) => !Object.hasOwn(lock.images, r));
  const stale = Object.keys(lock.images).filter((r) => !refs.includes(r)).sort();
  const issues = [
    ...(missing.length > 0 ? [{ path: '--image-lock', message: `has no digest for ${missing.length} image(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}` }] : []),
    ...(stale.length > 0 ? [{ path: '--image-lock', message: `holds ${stale.length} image(s) kfkit no longer uses: ${stale.slice(0, 5).join(', ')}${stale.length > 5 ? ', …' : ''}` }] : []),
  ];
  if (issues.length > 0) throw new ConfigError(`${file ?? IMAGE_LOCK_FILE} (run kfkit images lock to rewrite it)`, issues);
  return { ...lock.images };
}
