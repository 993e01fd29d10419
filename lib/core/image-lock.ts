/**
 * The image lock: a committed file (`images.lock.json`, like a package lock) mapping every image reference of the
 * catalog (`repository:tag`, upstream registry) to the digest that tag had when it was locked. With a lock, synthesis
 * writes `repository:tag@sha256:…` — the tag for people, the digest for the kubelet — so a re-pushed tag never
 * changes what a cluster runs. `kfkit images lock` writes it (lib/cli/image-lock.ts); a mirror that copies images
 * faithfully (`crane copy`, `skopeo sync`) keeps their digests, so one lock serves mirrored clusters too.
 */

/** Default file name of the lock, in the directory kfkit runs in. */
export const IMAGE_LOCK_FILE = 'images.lock.json';

/** Version of the lock's format this kfkit reads and writes. */
export const IMAGE_LOCK_VERSION = 1;

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const REFERENCE = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+:[\w][\w.-]{0,127}$/;

/** A parsed lock: reference (`repository:tag`) → digest (`sha256:<64 hex>`). */
export interface ImageLock {
  readonly images: Readonly<Record<string, string>>;
}

/** A lock file that is not what kfkit writes; the message names the field and what is allowed. */
export class ImageLockError extends Error {}

/** Whether `digest` is an OCI content digest kfkit pins (`sha256:` and 64 lowercase hex digits). */
export function isDigest(digest: string): boolean {
  return DIGEST.test(digest);
}

/** Parses and checks the text of a lock file; `file` names it in errors. */
export function parseImageLock(text: string, file: string): ImageLock {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ImageLockError(`${file}: not JSON (${(e as Error).message}); rewrite it with kfkit images lock`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ImageLockError(`${file}: must be an object { lockfileVersion, images }`);
  const { lockfileVersion, images, ...rest } = doc as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ImageLockError(`${file}: unknown key ${unknown.slice(0, 3).join(', ')}; allowed: lockfileVersion, images`);
  if (lockfileVersion !== IMAGE_LOCK_VERSION) {
    throw new ImageLockError(`${file}: lockfileVersion must be ${IMAGE_LOCK_VERSION} (got ${lockfileVersion === undefined ? 'none' : JSON.stringify(lockfileVersion)}); rewrite it with kfkit images lock`);
  }
  if (typeof images !== 'object' || images === null || Array.isArray(images)) throw new ImageLockError(`${file}: images must be an object of reference → digest`);
  const out: Record<string, string> = {};
  for (const [ref, digest] of Object.entries(images as Record<string, unknown>)) {
    const at = `${file}: images["${ref.length > 200 ? `${ref.slice(0, 200)}…` : ref}"]`;
    if (!REFERENCE.test(ref)) throw new ImageLockError(`${at}: the key must be an image reference registry/repository:tag`);
    if (typeof digest !== 'string' || !isDigest(digest)) throw new ImageLockError(`${at}: must be a digest sha256:<64 lowercase hex digits>`);
    out[ref] = digest;
  }
  return { images: out };
}

/** The text of a lock: keys sorted, one per line, so the file diffs well and is the same for the same content. */
export function renderImageLock(images: Readonly<Record<string, string>>): string {
  const sorted = Object.fromEntries(Object.keys(images).sort().map((k) => [k, images[k]]));
  return `${JSON.stringify({ lockfileVersion: IMAGE_LOCK_VERSION, images: sorted }, null, 2)}\n`;
}
