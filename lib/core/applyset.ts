import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from './context';
import { MANAGED_BY, PART_OF } from './labels';
import { packageRoot } from './package-root';

/**
 * Keys of the Kubernetes ApplySet specification (KEP-3659), which kfkit follows so that everything one platform
 * installed can be found again — by `kfkit apply` to prune what a new version no longer renders, by `kfkit uninstall`,
 * and by any ApplySet-aware tool: every object carries {@link APPLYSET_PART_OF}; one parent object carries the set's
 * id, the group-kinds and namespaces of its members and the tooling that manages it.
 */
export const APPLYSET_PART_OF = 'applyset.kubernetes.io/part-of';
/** Label of the ApplySet's parent object: the set's id. */
export const APPLYSET_ID = 'applyset.kubernetes.io/id';
/** Annotation of the parent: the members' `<Kind>.<group>`s, comma-separated, sorted. */
export const APPLYSET_GROUP_KINDS = 'applyset.kubernetes.io/contains-group-kinds';
/** Annotation of the parent: the members' namespaces other than the parent's own, comma-separated, sorted. */
export const APPLYSET_NAMESPACES = 'applyset.kubernetes.io/additional-namespaces';
/** Annotation of the parent: the tool that manages the set, `kfkit/<version>`. */
export const APPLYSET_TOOLING = 'applyset.kubernetes.io/tooling';
/** Name of the parent ConfigMap, in the platform namespace. */
export const APPLYSET_PARENT_NAME = 'kfkit-applyset';

/**
 * The ApplySet id of a parent ConfigMap, as the specification derives it: `applyset-` + the unpadded base64url
 * SHA-256 of `<name>.<namespace>.<kind>.<group>` + `-v1`. One platform per namespace: the id depends only on it.
 */
export function applySetId(namespace: string, name: string = APPLYSET_PARENT_NAME): string {
  const digest = createHash('sha256').update(`${name}.${namespace}.ConfigMap.`).digest('base64url');
  return `applyset-${digest}-v1`;
}

let version: string | undefined;

/** kfkit's version (package.json). */
export function kfkitVersion(): string {
  version ??= (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

/** The ApplySet of a platform, as recorded in `kfkit.json`. */
export interface ApplySetRef {
  readonly id: string;
  readonly parent: { readonly namespace: string; readonly name: string };
}

/**
 * The parent object of a platform's ApplySet: the ConfigMap `kfkit-applyset` in the platform namespace, installed in
 * the `cluster` wave. Synthesis labels every other object with the set's id and fills the parent's group-kinds and
 * namespaces annotations from what the platform renders.
 */
export class ApplySetParent extends Construct {
  public readonly ref: ApplySetRef;
  public readonly resource: k8s.KubeConfigMap;

  public constructor(scope: Construct, id: string, props: { readonly namespace: string }) {
    super(scope, id);
    this.ref = { id: applySetId(props.namespace), parent: { namespace: props.namespace, name: APPLYSET_PARENT_NAME } };
    this.resource = new k8s.KubeConfigMap(this, 'Resource', {
      metadata: {
        name: APPLYSET_PARENT_NAME,
        namespace: props.namespace,
        labels: { [APPLYSET_ID]: this.ref.id, 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': PART_OF },
        annotations: { [APPLYSET_TOOLING]: `kfkit/${kfkitVersion()}` },
      },
    });
    const ctx = KfkitContext.of(this);
    ctx.plan.assign(this.resource, ctx.plan.cluster);
    ctx.setApplySet(this.ref, this.resource);
  }
}
