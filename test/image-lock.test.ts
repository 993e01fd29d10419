import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { catalogReferences, splitReference } from '../lib/cli/image-lock';
import { IMAGE_LOCK_FILE, parseImageLock } from '../lib/core/image-lock';
import { cli, cliAsync, listFiles, ROOT, tmpdir } from './helpers';

/**
 * `kfkit images lock` against a registry on loopback that behaves like Docker Hub and GHCR do for anonymous pulls:
 * 401 with a Bearer challenge, a token from the realm, then the manifest's digest in Docker-Content-Digest (or, as some
 * registries do, no digest header: the digest of the manifest body). Then synthesis pins every image it writes by digest.
 */

const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

interface FakeRegistry {
  readonly url: string;
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves every repository:tag with a digest derived from it; `missing` refs answer 404; `bodyOnly` refs send no digest header. */
async function fakeRegistry(options: { missing?: readonly string[]; bodyOnly?: readonly string[] } = {}): Promise<FakeRegistry> {
  const requests: string[] = [];
  let url = '';
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${u.pathname}`);
    if (u.pathname === '/token') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ token: `t:${u.searchParams.get('scope')}` }));
      return;
    }
    const m = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(u.pathname);
    if (!m) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const [, repository, tag] = m;
    if (req.headers.authorization !== `Bearer t:repository:${repository}:pull`) {
      res.statusCode = 401;
      // Some registries send a realm relative to themselves: the lock resolves it against the registry.
      const realm = repository.startsWith('library/') ? '/token' : `${url}/token`;
      res.setHeader('www-authenticate', `Bearer realm="${realm}",service="fake-registry",scope="repository:${repository}:pull"`);
      res.end();
      return;
    }
    const key = `${repository}:${decodeURIComponent(tag)}`;
    if (options.missing?.some((r) => r.endsWith(`/${key}`))) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const body = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], key });
    res.setHeader('content-type', 'application/vnd.oci.image.index.v1+json');
    if (!options.bodyOnly?.some((r) => r.endsWith(`/${key}`))) res.setHeader('docker-content-digest', sha(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise((resolve) => { server.close(() => { resolve(); }); }) };
}

/** The digest the fake registry serves for a reference. */
function expectedDigest(ref: string): string {
  const { repository, tag } = splitReference(ref);
  return sha(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [], key: `${repository}:${tag}` }));
}

/** `--endpoint` for every registry of the catalog, all at the fake registry. */
function endpointArgs(url: string): string[] {
  const hosts = [...new Set(catalogReferences().map((r) => splitReference(r).registry))];
  return hosts.flatMap((h) => ['--endpoint', `${h}=${url}`]);
}

/** A work directory with the repository's overlays. */
function workdir(): string {
  const dir = tmpdir('kfkit-lock-');
  fs.cpSync(path.join(ROOT, 'overlays'), path.join(dir, 'overlays'), { recursive: true });
  return dir;
}

describe('kfkit images lock', () => {
  let registry: FakeRegistry;
  beforeAll(async () => { registry = await fakeRegistry({ bodyOnly: ['docker.io/library/alpine:3.23.5'] }); });
  afterAll(async () => { await registry.close(); });

  test('resolves every image of the catalog to its digest, with anonymous tokens, and writes a sorted lock', async () => {
    const dir = workdir();
    const r = await cliAsync(['images', 'lock', ...endpointArgs(registry.url)], dir);
    expect(r.err).toMatch(/images locked by digest in images\.lock\.json/);
    expect(r.code).toBe(0);
    const text = fs.readFileSync(path.join(dir, IMAGE_LOCK_FILE), 'utf8');
    const lock = parseImageLock(text, IMAGE_LOCK_FILE);
    const refs = catalogReferences();
    expect(Object.keys(lock.images)).toEqual(refs);
    for (const ref of refs) expect({ ref, digest: lock.images[ref] }).toEqual({ ref, digest: expectedDigest(ref) });
    // The token dance happened (401, token, retry), and the header-less answer was digested from its body.
    expect(registry.requests).toContain('GET /token');
    expect(registry.requests).toContain('GET /v2/library/alpine/manifests/3.23.5');
    // Deterministic: locking again writes the same bytes.
    expect((await cliAsync(['images', 'lock', ...endpointArgs(registry.url)], dir)).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, IMAGE_LOCK_FILE), 'utf8')).toBe(text);
  });

  test('synthesis then pins by digest, and list-images prints tag and digest', async () => {
    const dir = workdir();
    expect((await cliAsync(['images', 'lock', ...endpointArgs(registry.url)], dir)).code).toBe(0);
    const synth = cli(['synth', '--env', 'local'], dir);
    expect(synth.code).toBe(0);
    const images = cli(['list-images', '--env', 'local'], dir).out.split('\n');
    expect(images.length).toBeGreaterThan(10);
    for (const image of images) expect(image).toMatch(/^[^@\s]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
    expect(images).toContain(`docker.io/library/mysql:8.4.11@${expectedDigest('docker.io/library/mysql:8.4.11')}`);
    const written = listFiles(path.join(dir, 'dist', 'local')).map((f) => fs.readFileSync(path.join(dir, 'dist', 'local', f), 'utf8')).join('\n');
    const refs = [...written.matchAll(/image: (\S+)/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(10);
    expect(refs.filter((i) => !/@sha256:[0-9a-f]{64}$/.test(i))).toEqual([]);
  });

  test('a tag the registry does not have: exit 3, every failure named, the old lock left as it was', async () => {
    const missing = ['docker.io/library/mysql:8.4.11', 'ghcr.io/kubeflow/kfp-api-server:2.17.0'];
    const broken = await fakeRegistry({ missing });
    try {
      const dir = workdir();
      fs.writeFileSync(path.join(dir, IMAGE_LOCK_FILE), 'previous');
      const r = await cliAsync(['images', 'lock', ...endpointArgs(broken.url)], dir);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(/2 of \d+ image\(s\) not resolved; images\.lock\.json left as it was/);
      for (const ref of missing) expect(r.err).toContain(`${ref}: `);
      expect(r.err).toMatch(/has no tag 8\.4\.11 of library\/mysql/);
      expect(fs.readFileSync(path.join(dir, IMAGE_LOCK_FILE), 'utf8')).toBe('previous');
      expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    } finally {
      await broken.close();
    }
  });

  test('a registry that does not answer in time: exit 3 naming it, never a hang', async () => {
    const silent = http.createServer(() => { /* never answers */ });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const r = await cliAsync(['images', 'lock', '--timeout', '1', ...endpointArgs(url)], workdir());
      expect(r.code).toBe(3);
      expect(r.err).toMatch(/no answer in 1000 ms/);
      expect(r.err.split('\n').length).toBeLessThanOrEqual(53);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => { silent.close(() => { resolve(); }); });
    }
  });

  test.each([
    [['--endpoint', 'docker.io=http://registry.corp.example'], /must be https:\/\/ \(plain http only to a registry on loopback\)/],
    [['--endpoint', 'docker.io'], /must be <registry host>=<url>/],
    [['--endpoint', 'docker.io=not a url'], /is not a URL/],
    [['--timeout', '0'], /--timeout must be whole seconds 1-600/],
  ])('bad flags %j: exit 2, nothing contacted, nothing written', async (args, message) => {
    const dir = workdir();
    const r = await cliAsync(['images', 'lock', ...args], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(fs.existsSync(path.join(dir, IMAGE_LOCK_FILE))).toBe(false);
  });
});

describe('a lock synthesis cannot use is refused: exit 2, the problem named, nothing written', () => {
  const valid = (): Record<string, string> => Object.fromEntries(catalogReferences().map((r) => [r, expectedDigest(r)]));
  const lockText = (images: Record<string, string>): string => JSON.stringify({ lockfileVersion: 1, images });

  test.each<[string, () => string, RegExp]>([
    ['not JSON', () => '{', /not JSON/],
    ['another format version', () => JSON.stringify({ lockfileVersion: 2, images: valid() }), /lockfileVersion must be 1 \(got 2\)/],
    ['an unknown key', () => JSON.stringify({ lockfileVersion: 1, images: {}, extra: 1 }), /unknown key extra; allowed: lockfileVersion, images/],
    ['a digest that is not sha256', () => lockText({ ...valid(), 'docker.io/library/mysql:8.4.11': 'md5:abc' }), /images\["docker\.io\/library\/mysql:8\.4\.11"\]: must be a digest sha256:<64 lowercase hex digits>/],
    ['a key that is not a reference', () => lockText({ ...valid(), 'not a ref': expectedDigest('x/y:z') }), /the key must be an image reference/],
    ['an image missing (kfkit bumped a tag)', () => {
      const images = valid();
      delete images['docker.io/library/mysql:8.4.11'];
      return lockText(images);
    }, /has no digest for 1 image\(s\): docker\.io\/library\/mysql:8\.4\.11/],
    ['a stale image', () => lockText({ ...valid(), 'docker.io/library/mysql:8.4': expectedDigest('x/y:z') }), /holds 1 image\(s\) kfkit no longer uses: docker\.io\/library\/mysql:8\.4\b/],
  ])('%s', (_name, text, message) => {
    const dir = workdir();
    fs.writeFileSync(path.join(dir, IMAGE_LOCK_FILE), text());
    const r = cli(['synth', '--env', 'local'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/kfkit images lock/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(listFiles(path.join(dir, 'dist'))).toEqual([]);
  });

  test('an explicit --image-lock that does not exist, or is a directory, is an error; without a lock, images stay pinned by tag', () => {
    const dir = workdir();
    expect(cli(['synth', '--env', 'local', '--image-lock', 'nope.json'], dir).err).toMatch(/nope\.json: does not exist/);
    fs.mkdirSync(path.join(dir, 'lockdir'));
    expect(cli(['synth', '--env', 'local', '--image-lock', 'lockdir'], dir).err).toMatch(/lockdir: is a directory, not an image lock file/);
    const plain = cli(['list-images', '--env', 'local'], dir);
    expect(plain.code).toBe(0);
    expect(plain.out).not.toContain('@sha256:');
    expect(plain.out).toContain('docker.io/library/mysql:8.4.11');
  });
});
