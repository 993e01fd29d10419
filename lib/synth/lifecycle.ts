import { APPLYSET_GROUP_KINDS, APPLYSET_PART_OF, ApplySetRef } from '../core/applyset';
import { PROTECTED_ANNOTATION } from './collect';
import { groupKind } from './collect';
import { isBuiltInApiVersion } from '../validate/util';
import { Kubectl } from './kubectl';
import { K8sObject, PlacedObject, PROVIDES_ANNOTATION } from '../validate/types';

/** A failed cluster operation of `apply`'s prune or of `uninstall`: the message names the step. */
export class LifecycleError extends Error {}

/** An object as the lifecycle commands handle it: its identity, and whether it holds data. */
export interface ObjectRef {
  /** `<Kind>.<group>` (core group: just the kind), as kubectl takes it. */
  readonly groupKind: string;
  readonly namespace?: string;
  readonly name: string;
  /** Why the object is protected (`kfkit.dev/protected`): it holds data. */
  readonly protectedBecause?: string;
}

/** An object kept by `uninstall` (or a prune), and why. */
export interface KeptObject {
  readonly ref: ObjectRef;
  readonly reason: string;
}

/** `<Kind>.<group>/<namespace>/<name>`, the identity used to compare trees with the cluster. */
export function refId(r: ObjectRef): string {
  return `${r.groupKind}/${r.namespace ?? ''}/${r.name}`;
}

/** How a ref is printed: `Kind.group namespace/name`. */
export function describeRef(r: ObjectRef): string {
  return `${r.groupKind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;
}

/** The ref of a manifest. */
export function refOf(m: K8sObject): ObjectRef {
  const because = m.metadata.annotations?.[PROTECTED_ANNOTATION];
  return {
    groupKind: groupKind(m), name: m.metadata.name,
    ...(m.metadata.namespace ? { namespace: m.metadata.namespace } : {}),
    ...(because ? { protectedBecause: because } : {}),
  };
}

const NOT_SERVED = /doesn't have a resource type "([^"]+)"(?: in group "([^"]*)")?/;
const FIELD = '{"\\t"}';

/**
 * The live members of an ApplySet among the given group-kinds: one `kubectl get` for all of them (group-kinds the
 * server no longer serves — a CRD already removed — are dropped and the call repeated).
 */
export function listMembers(k: Kubectl, applySet: ApplySetRef, groupKinds: readonly string[]): ObjectRef[] {
  let kinds = [...new Set(groupKinds)].sort();
  const template = `{range .items[*]}{.apiVersion}${FIELD}{.kind}${FIELD}{.metadata.namespace}${FIELD}{.metadata.name}${FIELD}` +
    '{.metadata.annotations.kfkit\\.dev/protected}{"\\n"}{end}';
  while (kinds.length > 0) {
    const r = k.capture(['get', kinds.join(','), '--all-namespaces', '-l', `${APPLYSET_PART_OF}=${applySet.id}`, '-o', `jsonpath=${template}`]);
    if (r.status === 0) {
      return r.stdout.split('\n').filter((line) => line !== '').map((line) => {
        const [apiVersion, kind, namespace, name, because] = line.split('\t');
        return {
          groupKind: groupKind({ apiVersion, kind }), name,
          ...(namespace ? { namespace } : {}), ...(because ? { protectedBecause: because } : {}),
        };
      });
    }
    const missing = NOT_SERVED.exec(r.stderr);
    if (!missing) throw new LifecycleError(`listing the platform's objects failed: ${r.stderr.trim().slice(0, 2000)}`);
    const gone = (missing[2] ? `${missing[1]}.${missing[2]}` : missing[1]).toLowerCase();
    const before = kinds.length;
    kinds = kinds.filter((gk) => gk.toLowerCase() !== gone);
    if (kinds.length === before) throw new LifecycleError(`listing the platform's objects failed: ${r.stderr.trim().slice(0, 2000)}`);
  }
  return [];
}

/** The group-kinds the live ApplySet parent lists (what an earlier apply installed), or none when it does not exist. */
export function liveGroupKinds(k: Kubectl, applySet: ApplySetRef): string[] {
  const r = k.capture(['get', 'configmap', applySet.parent.name, '-n', applySet.parent.namespace, '--ignore-not-found',
    '-o', `jsonpath={.metadata.annotations.${APPLYSET_GROUP_KINDS.replace(/\./g, '\\.')}}`]);
  if (r.status !== 0) throw new LifecycleError(`reading the ApplySet parent ${applySet.parent.namespace}/${applySet.parent.name} failed: ${r.stderr.trim()}`);
  return r.stdout.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Deletion rank of workloads (deleted in the foreground: gone once their pods are). */
const WORKLOAD_RANK = 1;

/**
 * Deletion rank of a group-kind: what others depend on goes last. Admission webhooks first (a webhook whose server
 * is gone would block the other deletions), then workloads, custom resources, other namespaced objects, cluster-scoped
 * ones, Namespaces, and CRDs last.
 */
export function deletionRank(gk: string): number {
  if (/^(Mutating|Validating)(Admission)?Webhook(Configuration)?\./.test(gk) || gk.startsWith('ValidatingAdmissionPolicy')) return 0;
  if (/^(Deployment|StatefulSet|DaemonSet|ReplicaSet)\.apps$|^(Job|CronJob)\.batch$/.test(gk)) return WORKLOAD_RANK;
  if (gk === 'CustomResourceDefinition.apiextensions.k8s.io') return 7;
  if (gk === 'Namespace') return 6;
  if (/^(ClusterRole|ClusterRoleBinding)\.rbac\.authorization\.k8s\.io$|^PriorityClass\.scheduling\.k8s\.io$|^StorageClass\.storage\.k8s\.io$/.test(gk)) return 5;
  if (gk.includes('.') && !/\.k8s\.io$|^[A-Za-z]+\.(apps|batch|policy|autoscaling)$/.test(gk)) return 2;
  return 3;
}

function byRank(a: ObjectRef, b: ObjectRef): number {
  const ra = deletionRank(a.groupKind);
  const rb = deletionRank(b.groupKind);
  if (ra !== rb) return ra - rb;
  const ia = refId(a);
  const ib = refId(b);
  return ia < ib ? -1 : ia > ib ? 1 : 0;
}

/** What a prune does: objects an earlier apply installed that this tree no longer renders. */
export interface PrunePlan {
  readonly delete: readonly ObjectRef[];
  readonly kept: readonly KeptObject[];
}

/**
 * The prune of a tree: live members not in the tree are deleted, except protected data (PVCs, the namespaces that
 * hold them), which stays unless `pruneData`.
 */
export function prunePlan(tree: readonly K8sObject[], live: readonly ObjectRef[], pruneData: boolean): PrunePlan {
  const wanted = new Set(tree.map((m) => refId(refOf(m))));
  const extra = live.filter((r) => !wanted.has(refId(r))).sort(byRank);
  const keep = (r: ObjectRef) => r.protectedBecause !== undefined && !pruneData;
  return {
    delete: extra.filter((r) => !keep(r)),
    kept: extra.filter(keep).map((ref) => ({ ref, reason: `${ref.protectedBecause ?? ''}; no longer rendered, kept: --prune-data deletes it` })),
  };
}

/** One step of an uninstall: objects deleted together (and awaited) before the next step. */
export interface UninstallStep {
  readonly description: string;
  readonly delete: readonly ObjectRef[];
  /** CRDs to delete only if no custom resource of theirs remains. */
  readonly crds?: readonly { readonly ref: ObjectRef; readonly resource: string }[];
}

/** What `kfkit uninstall` does, in order, and what it keeps. */
export interface UninstallPlan {
  readonly steps: readonly UninstallStep[];
  readonly kept: readonly KeptObject[];
}

interface ProvidedRef { readonly kind: string; readonly namespace?: string; readonly name: string }

function providedBy(m: K8sObject): ProvidedRef[] {
  const annotation = m.metadata.annotations?.[PROVIDES_ANNOTATION];
  if (annotation === undefined) return [];
  return annotation.split(',').map((s) => s.trim()).filter((s) => s !== '').flatMap((entry) => {
    const parts = entry.split('/');
    if (parts.length === 3) return [{ kind: parts[0], namespace: parts[1], name: parts[2] }];
    if (parts.length === 2) return [{ kind: parts[0], name: parts[1] }];
    return [];
  });
}

function crdResource(m: K8sObject): string | undefined {
  const spec = m.spec as { group?: string; names?: { plural?: string } } | undefined;
  return spec?.group && spec.names?.plural ? `${spec.names.plural}.${spec.group}` : undefined;
}

/**
 * The uninstall of a tree: first the platform's objects no tree renders any more (left by earlier versions), then
 * each wave in reverse install order, with what its objects made at run time (`kfkit.dev/provides`: generated
 * Secrets, webhook configurations registered by a deployer); the ApplySet parent last. Protected data — PVCs, the
 * namespaces that hold them, and the Secrets generated into those namespaces (the credentials the data needs) — is
 * kept unless `includeData`; a CRD is kept while custom resources kfkit did not create remain.
 */
export function uninstallPlan(
  tree: readonly PlacedObject[], applySet: ApplySetRef | undefined, live: readonly ObjectRef[], includeData: boolean,
): UninstallPlan {
  const kept: KeptObject[] = [];
  const steps: UninstallStep[] = [];
  const keep = (r: ObjectRef) => r.protectedBecause !== undefined && !includeData;
  const namespaces = tree.filter((o) => o.manifest.kind === 'Namespace');
  const keptNamespaces = new Set(namespaces.filter((o) => keep(refOf(o.manifest))).map((o) => o.manifest.metadata.name));
  const deletedNamespaces = new Set(namespaces.map((o) => o.manifest.metadata.name).filter((n) => !keptNamespaces.has(n)));
  // Built-in objects of a namespace the uninstall deletes go with it, removed by the API server in bulk; custom
  // resources are deleted in their wave, while the controllers that finalize them still run.
  const withNamespace = (m: { readonly apiVersion: string; readonly namespace?: string }) =>
    m.namespace !== undefined && deletedNamespaces.has(m.namespace) && isBuiltInApiVersion(m.apiVersion);
  const leftovers = prunePlan(tree.map((o) => o.manifest), live, includeData);
  if (leftovers.delete.length > 0) steps.push({ description: 'objects of earlier versions no longer in the tree', delete: leftovers.delete });
  kept.push(...leftovers.kept);
  const isParent = (m: K8sObject) => applySet !== undefined && m.kind === 'ConfigMap' && m.metadata.name === applySet.parent.name &&
    m.metadata.namespace === applySet.parent.namespace;
  const waves = [...new Set(tree.map((o) => o.wave))].sort((a, b) => b - a);
  for (const wave of waves) {
    const members = tree.filter((o) => o.wave === wave && !isParent(o.manifest));
    const refs: ObjectRef[] = [];
    const crds: { ref: ObjectRef; resource: string }[] = [];
    for (const { manifest } of members) {
      const ref = refOf(manifest);
      if (keep(ref)) {
        kept.push({ ref, reason: `${ref.protectedBecause ?? ''} (protected data: --include-data deletes it)` });
        continue;
      }
      const resource = manifest.kind === 'CustomResourceDefinition' ? crdResource(manifest) : undefined;
      if (resource) crds.push({ ref, resource });
      else if (!withNamespace({ apiVersion: manifest.apiVersion, namespace: manifest.metadata.namespace })) refs.push(ref);
      for (const p of providedBy(manifest)) {
        const pref: ObjectRef = { groupKind: p.kind, name: p.name, ...(p.namespace ? { namespace: p.namespace } : {}) };
        if (p.namespace !== undefined && keptNamespaces.has(p.namespace)) {
          kept.push({ ref: pref, reason: `made at run time by ${describeRef(ref)}, kept with its namespace` });
        } else if (!withNamespace({ apiVersion: 'v1', namespace: p.namespace })) {
          refs.push(pref);
        }
      }
    }
    if (refs.length === 0 && crds.length === 0) continue;
    const name = members[0]?.waveName ?? String(wave);
    steps.push({ description: `wave ${wave} (${name})`, delete: refs.sort(byRank), ...(crds.length > 0 ? { crds } : {}) });
  }
  const parent = tree.find((o) => isParent(o.manifest));
  if (parent) steps.push({ description: 'the ApplySet parent', delete: [refOf(parent.manifest)] });
  return { steps, kept };
}

/**
 * Runs a kubectl call over a list of objects, dropping the group-kinds the server no longer serves (their CRD is
 * gone, and with it their objects) and repeating; returns the objects the call succeeded for.
 */
function overServed(k: Kubectl, list: readonly ObjectRef[], args: (refs: readonly ObjectRef[]) => string[]): { refs: ObjectRef[]; stdout: string } {
  let refs = [...list];
  while (refs.length > 0) {
    const r = k.capture(args(refs));
    if (r.status === 0) return { refs, stdout: r.stdout };
    const missing = NOT_SERVED.exec(r.stderr);
    const gone = missing ? (missing[2] ? `${missing[1]}.${missing[2]}` : missing[1]).toLowerCase() : undefined;
    const rest = gone === undefined ? refs : refs.filter((x) => x.groupKind.toLowerCase() !== gone);
    if (rest.length === refs.length) throw new LifecycleError(`${args(refs)[0]} of ${refs.map(describeRef).join(', ').slice(0, 2000)} failed: ${r.stderr.trim().slice(0, 2000)}`);
    refs = rest;
  }
  return { refs, stdout: '' };
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Deletes objects and waits until they are gone (their finalizers done; a workload's pods gone first). By rank —
 * webhook configurations before the servers they call, since a webhook whose server is gone makes every call it
 * intercepts wait for its timeout — then one delete per namespace within a rank, and one poll of all of them until
 * none is left (kubectl's own --wait watches the objects one after the other, half a second each).
 */
export function deleteObjects(k: Kubectl, refs: readonly ObjectRef[], timeoutSeconds: number, dryRun: boolean, out: (line: string) => void): void {
  const groups = new Map<string, { ns: string; rank: number; refs: ObjectRef[] }>();
  for (const r of [...refs].sort(byRank)) {
    const rank = deletionRank(r.groupKind);
    const key = `${rank}/${r.namespace ?? ''}`;
    const group = groups.get(key) ?? { ns: r.namespace ?? '', rank, refs: [] };
    group.refs.push(r);
    groups.set(key, group);
  }
  for (const { ns, rank, refs: members } of groups.values()) {
    const names = (list: readonly ObjectRef[]) => list.map((r) => `${r.groupKind}/${r.name}`);
    const scope = ns ? ['-n', ns] : [];
    // A workload goes in the foreground (gone once its pods are); the rest in the background.
    const cascade = `--cascade=${rank === WORKLOAD_RANK ? 'foreground' : 'background'}`;
    const del = (list: readonly ObjectRef[]) => ['delete', ...scope, '--ignore-not-found', '--wait=false', cascade, ...names(list)];
    if (dryRun) {
      out(k.argv(del(members)).join(' '));
      continue;
    }
    let pending = overServed(k, members, del).refs;
    const deadline = Date.now() + timeoutSeconds * 1000;
    // One list per kind (kubectl gets named objects one request at a time, at five requests a second).
    const key = (r: ObjectRef) => `${r.groupKind.toLowerCase()}/${r.name}`;
    for (;;) {
      const kinds = [...new Set(pending.map((r) => r.groupKind))];
      const listed = overServed(k, pending, (list) => ['get', [...new Set(list.map((r) => r.groupKind))].join(','), ...scope, '-o', 'name']);
      const present = new Set(listed.stdout.split('\n').map((l) => l.trim().toLowerCase()));
      const left = listed.refs.filter((r) => present.has(key(r)));
      if (left.length === 0 || kinds.length === 0) break;
      if (Date.now() > deadline) {
        throw new LifecycleError(`still there after ${timeoutSeconds}s (finalizers not done?): ${left.map(describeRef).join(', ').slice(0, 2000)}`);
      }
      pending = left;
      sleep(500);
    }
  }
}

/**
 * The CRDs that serve the given APIs (group and kind), found on the cluster: what a managed chart installed, which
 * kfkit knows only as the APIs it provides.
 */
export function crdsServing(k: Kubectl, apis: readonly { readonly group: string; readonly kind: string }[]): { ref: ObjectRef; resource: string }[] {
  const r = k.capture(['get', 'customresourcedefinitions.apiextensions.k8s.io', '-o',
    'jsonpath={range .items[*]}{.metadata.name}{"\\t"}{.spec.group}{"\\t"}{.spec.names.kind}{"\\n"}{end}']);
  if (r.status !== 0) throw new LifecycleError(`listing CRDs failed: ${r.stderr.trim().slice(0, 2000)}`);
  const wanted = new Set(apis.map((a) => `${a.group}/${a.kind}`));
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')).filter(([, group, kind]) => wanted.has(`${group}/${kind}`))
    .map(([name]) => ({ ref: { groupKind: 'CustomResourceDefinition.apiextensions.k8s.io', name }, resource: name }));
}

/** Whether custom resources of a CRD (`<plural>.<group>`) remain anywhere. */
export function crdHoldsObjects(k: Kubectl, resource: string): boolean {
  const r = k.capture(['get', resource, '--all-namespaces', '-o', 'name']);
  if (r.status !== 0) {
    if (NOT_SERVED.test(r.stderr)) return false;
    throw new LifecycleError(`listing ${resource} failed: ${r.stderr.trim().slice(0, 2000)}`);
  }
  return r.stdout.trim() !== '';
}
