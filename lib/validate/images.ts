/**
 * Rule `image-tag`: container images are pinned.
 */
import { Finding, HarnessInput } from './types';
import { containersOf, finding, PodTemplate, podTemplateOf } from './util';

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

/** Pod label that asks Istio's sidecar injector to inject the pod (its webhook's object selector). */
export const ISTIO_INJECT_LABEL = 'sidecar.istio.io/inject';
/** The container Istio's injector merges its proxy into. */
export const ISTIO_PROXY_CONTAINER = 'istio-proxy';
/** Istio's image placeholder: the injector replaces it with the mesh's pinned proxy image (`pkg/kube/inject` `AutoImage`). */
export const ISTIO_AUTO_IMAGE = 'auto';

/**
 * Whether a container's image is Istio's `auto` placeholder in a pod Istio injects (gateway injection, Istio docs
 * "Installing Gateways"): the container `istio-proxy` with image `auto` in a pod labelled `sidecar.istio.io/inject:
 * "true"`. At admission the injector replaces the image with the proxy image of the mesh (pinned by the mesh's install),
 * so the placeholder is not an unpinned image.
 */
export function isInjectedProxyImage(template: PodTemplate, container: Readonly<Record<string, unknown>>, field: string): boolean {
  return field === 'containers' && container.name === ISTIO_PROXY_CONTAINER && container.image === ISTIO_AUTO_IMAGE
    && template.labels[ISTIO_INJECT_LABEL] === 'true';
}

/**
 * Rule `image-tag`: every image of every container, init container and ephemeral container of every pod template is
 * pinned: it carries a digest (`@sha256:…`), or a tag other than `latest`. A missing image is a finding too. The one
 * exception is Istio's injected proxy ({@link isInjectedProxyImage}), whose image the injector sets.
 */
export function checkImageTags(input: HarnessInput): Finding[] {
  const out: Finding[] = [];
  for (const placed of input.objects) {
    const template = podTemplateOf(placed.manifest);
    if (!template) continue;
    for (const { path, container, field } of containersOf(template, true)) {
      if (isInjectedProxyImage(template, container, field)) continue;
      const image = typeof container.image === 'string' ? container.image : '';
      const reason = unpinnedReason(image);
      if (reason) out.push(finding(IMAGE_TAG_RULE, placed, [...path, 'image'], reason));
    }
  }
  return out;
}
