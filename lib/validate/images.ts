/**
 * Rule `image-tag`: container images are pinned.
 */
import { Finding, HarnessInput } from './types';
import { containersOf, finding, podTemplateOf } from './util';

/** Rule id of {@link checkImageTags}. */
export const IMAGE_TAG_RULE = 'image-tag';

/** The tag and digest of an image reference (`registry:5000/repo/name:tag@sha256:…`). */
export function parseImage(image: string): { readonly name: string; readonly tag?: string; readonly digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon < 0) return digest === undefined ? { name: rest } : { name: rest, digest };
  const tag = rest.slice(colon + 1);
  return digest === undefined ? { name: rest.slice(0, colon), tag } : { name: rest.slice(0, colon), tag, digest };
}

/** Why an image reference is not pinned, or `undefined` when it is (a digest, or a tag other than `latest`). */
export function unpinnedReason(image: string): string | undefined {
  if (image.trim() === '') return 'image is empty';
  const { tag, digest } = parseImage(image);
  if (digest !== undefined) return digest === '' ? `image "${image}" has an empty digest` : undefined;
  if (tag === undefined || tag === '') return `image "${image}" has no tag or digest (resolves to :latest)`;
  if (tag === 'latest') return `image "${image}" uses the mutable tag :latest`;
  return undefined;
}

/**
 * Rule `image-tag`: every image of every container, init container and ephemeral container of every pod template is
 * pinned: it carries a digest (`@sha256:…`), or a tag other than `latest`. A missing image is a finding too.
 */
export function checkImageTags(input: HarnessInput): Finding[] {
  const out: Finding[] = [];
  for (const placed of input.objects) {
    const template = podTemplateOf(placed.manifest);
    if (!template) continue;
    for (const { path, container } of containersOf(template, true)) {
      const image = typeof container.image === 'string' ? container.image : '';
      const reason = unpinnedReason(image);
      if (reason) out.push(finding(IMAGE_TAG_RULE, placed, [...path, 'image'], reason));
    }
  }
  return out;
}
