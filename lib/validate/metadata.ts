/**
 * Rule `metadata`: the API server's validation of object metadata, before anything is applied — label keys and
 * values, annotation keys, and the 256 KiB limit of all annotations together (an overlay value that ends up in an
 * annotation, a long owner id, can break it).
 */
import { annotationsBytes, labelKeyProblem, labelValueProblem, MAX_ANNOTATIONS_BYTES, qualifiedKeyProblem } from '../core/labels';
import { Finding, HarnessInput } from './types';
import { finding } from './util';

/** Rule id of {@link checkMetadata}. */
export const METADATA_RULE = 'metadata';

/** Every object's labels and annotations as the API server validates them. */
export function checkMetadata(input: HarnessInput): Finding[] {
  const out: Finding[] = [];
  for (const placed of input.objects) {
    const { labels = {}, annotations = {} } = placed.manifest.metadata;
    for (const [key, value] of Object.entries(labels)) {
      const problem = labelKeyProblem(key) ?? labelValueProblem(value);
      if (problem !== undefined) out.push(finding(METADATA_RULE, placed, `metadata.labels.${key}`, problem));
    }
    for (const key of Object.keys(annotations)) {
      const problem = qualifiedKeyProblem(key, 'annotation key');
      if (problem !== undefined) out.push(finding(METADATA_RULE, placed, `metadata.annotations.${key}`, problem));
    }
    const bytes = annotationsBytes(annotations);
    if (bytes > MAX_ANNOTATIONS_BYTES) {
      out.push(finding(METADATA_RULE, placed, 'metadata.annotations', `annotations take ${bytes} bytes; the API server accepts at most ${MAX_ANNOTATIONS_BYTES} (256 KiB)`));
    }
  }
  return out;
}
