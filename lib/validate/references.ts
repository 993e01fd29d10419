/**
 * Rules `dangling-reference`, `provider-order` and `provides-annotation`: what objects refer to exists, and what is
 * created at run time is created before it is used.
 */
import { Catalog, catalogOf, refKey } from './catalog';
import { Finding, HarnessInput, PlacedObject, PROVIDES_ANNOTATION } from './types';
import {
  apiGroup, asArray, asRecord, asString, containersOf, describePlacement, finding, isRecord, objectId, PathSegment, podTemplateOf,
  PodTemplate,
} from './util';

/** Rule id: a reference that resolves to nothing. */
export const DANGLING_REFERENCE_RULE = 'dangling-reference';
/** Rule id: a reference to a provided object whose provider is not installed in an earlier wave. */
export const PROVIDER_ORDER_RULE = 'provider-order';
/** Rule id: a malformed `kfkit.dev/provides` entry. */
export const PROVIDES_ANNOTATION_RULE = 'provides-annotation';

/** Namespaces every cluster has. */
export const WELL_KNOWN_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);

/** ClusterRoles every cluster has (besides `system:*`). */
export const WELL_KNOWN_CLUSTER_ROLES: ReadonlySet<string> = new Set(['cluster-admin', 'admin', 'edit', 'view']);

const CA_INJECTION_ANNOTATION = 'cert-manager.io/inject-ca-from';

/** Resolves references of one harness input and collects findings. */
class Resolver {
  public readonly findings: Finding[] = [];

  public constructor(private readonly catalog: Catalog) {}

  /** Checks that `Kind namespace/name` exists (output, external or provided early enough). */
  public require(referrer: PlacedObject, path: readonly PathSegment[] | string, kind: string, namespace: string, name: string): void {
    const key = refKey(kind, namespace, name);
    if (this.catalog.objects.has(key) || this.catalog.externals.has(key)) return;
    const what = namespace ? `${kind} ${namespace}/${name}` : `${kind} ${name}`;
    const providers = this.catalog.provided.get(key) ?? [];
    if (providers.length > 0) {
      if (providers.some((p) => p.provider === referrer)) return;
      const earliest = [...providers].sort((a, b) => a.provider.wave - b.provider.wave)[0].provider;
      if (earliest.wave < referrer.wave) return;
      this.findings.push(finding(PROVIDER_ORDER_RULE, referrer, path,
        `${what} is provided by ${objectId(earliest.manifest)} in ${describePlacement(earliest)}, `
        + `not before this object in ${describePlacement(referrer)}`));
      return;
    }
    this.findings.push(finding(DANGLING_REFERENCE_RULE, referrer, path,
      `${what} not found: not in the output, not declared in externalObjects, not provided (${PROVIDES_ANNOTATION}) by any object`));
  }

  public report(referrer: PlacedObject, path: readonly PathSegment[] | string, message: string): void {
    this.findings.push(finding(DANGLING_REFERENCE_RULE, referrer, path, message));
  }

  /** The ConfigMap of the output with this namespace/name, when there is exactly one. */
  public configMap(namespace: string, name: string): Record<string, unknown> | undefined {
    const found = this.catalog.objects.get(refKey('ConfigMap', namespace, name));
    return found?.length === 1 && apiGroup(found[0].manifest.apiVersion) === '' ? found[0].manifest : undefined;
  }
}

function named(value: unknown, field = 'name'): { name: string; optional: boolean } | undefined {
  const record = asRecord(value);
  const name = asString(record?.[field]);
  return record && name ? { name, optional: record.optional === true } : undefined;
}

function checkPodTemplate(r: Resolver, placed: PlacedObject, template: PodTemplate, namespace: string): void {
  const { spec, specPath } = template;
  const { manifest } = placed;

  const saField = spec.serviceAccountName !== undefined ? 'serviceAccountName' : 'serviceAccount';
  const sa = asString(spec[saField]);
  if (sa && sa !== 'default') r.require(placed, [...specPath, saField], 'ServiceAccount', namespace, sa);

  const claimTemplates = new Set<string>();
  if (manifest.kind === 'StatefulSet') {
    for (const vct of asArray(asRecord(manifest.spec)?.volumeClaimTemplates)) {
      const name = asString(asRecord(asRecord(vct)?.metadata)?.name);
      if (name) claimTemplates.add(name);
    }
    const serviceName = asString(asRecord(manifest.spec)?.serviceName);
    if (serviceName) r.require(placed, ['spec', 'serviceName'], 'Service', namespace, serviceName);
  }

  const volumeNames = new Set<string>();
  asArray(spec.volumes).forEach((v, i) => {
    const volume = asRecord(v);
    if (!volume) return;
    const path = [...specPath, 'volumes', i];
    const volumeName = asString(volume.name);
    if (volumeName) volumeNames.add(volumeName);
    const configMap = named(volume.configMap);
    if (configMap && !configMap.optional) r.require(placed, [...path, 'configMap', 'name'], 'ConfigMap', namespace, configMap.name);
    const secret = named(volume.secret, 'secretName');
    if (secret && !secret.optional) r.require(placed, [...path, 'secret', 'secretName'], 'Secret', namespace, secret.name);
    asArray(asRecord(volume.projected)?.sources).forEach((s, j) => {
      const source = asRecord(s);
      for (const [field, kind] of [['configMap', 'ConfigMap'], ['secret', 'Secret']] as const) {
        const ref = named(source?.[field]);
        if (ref && !ref.optional) r.require(placed, [...path, 'projected', 'sources', j, field, 'name'], kind, namespace, ref.name);
      }
    });
    const claim = named(volume.persistentVolumeClaim, 'claimName');
    if (claim && !claimTemplates.has(claim.name)) {
      r.require(placed, [...path, 'persistentVolumeClaim', 'claimName'], 'PersistentVolumeClaim', namespace, claim.name);
    }
  });

  asArray(spec.imagePullSecrets).forEach((s, i) => {
    const ref = named(s);
    if (ref) r.require(placed, [...specPath, 'imagePullSecrets', i, 'name'], 'Secret', namespace, ref.name);
  });

  for (const { path, container } of containersOf(template, true)) {
    asArray(container.env).forEach((e, i) => {
      const valueFrom = asRecord(asRecord(e)?.valueFrom);
      const cmRef = named(valueFrom?.configMapKeyRef);
      if (cmRef && !cmRef.optional) {
        const refPath = [...path, 'env', i, 'valueFrom', 'configMapKeyRef'];
        r.require(placed, [...refPath, 'name'], 'ConfigMap', namespace, cmRef.name);
        const key = asString(asRecord(valueFrom?.configMapKeyRef)?.key);
        const configMap = r.configMap(namespace, cmRef.name);
        if (key !== undefined && configMap) {
          const has = [configMap.data, configMap.binaryData].some((d) => isRecord(d) && Object.prototype.hasOwnProperty.call(d, key));
          if (!has) r.report(placed, [...refPath, 'key'], `ConfigMap ${namespace}/${cmRef.name} has no key "${key}"`);
        }
      }
      const secretRef = named(valueFrom?.secretKeyRef);
      if (secretRef && !secretRef.optional) {
        r.require(placed, [...path, 'env', i, 'valueFrom', 'secretKeyRef', 'name'], 'Secret', namespace, secretRef.name);
      }
    });
    asArray(container.envFrom).forEach((e, i) => {
      const source = asRecord(e);
      for (const [field, kind] of [['configMapRef', 'ConfigMap'], ['secretRef', 'Secret']] as const) {
        const ref = named(source?.[field]);
        if (ref && !ref.optional) r.require(placed, [...path, 'envFrom', i, field, 'name'], kind, namespace, ref.name);
      }
    });
    for (const field of ['volumeMounts', 'volumeDevices']) {
      asArray(container[field]).forEach((m, i) => {
        const name = asString(asRecord(m)?.name);
        if (name && !volumeNames.has(name) && !claimTemplates.has(name)) {
          const where = manifest.kind === 'StatefulSet' ? 'the pod or volumeClaimTemplates' : 'the pod';
          r.report(placed, [...path, field, i, 'name'], `no volume named "${name}" in ${where}`);
        }
      });
    }
  }
}

function selects(selector: Readonly<Record<string, unknown>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** A pod template with the namespace of its workload. */
interface NamespacedTemplate {
  readonly namespace: string;
  readonly template: PodTemplate;
}

function checkService(r: Resolver, placed: PlacedObject, templates: readonly NamespacedTemplate[], namespace: string): void {
  const spec = asRecord(placed.manifest.spec);
  const selector = asRecord(spec?.selector);
  if (!spec || !selector || Object.keys(selector).length === 0 || spec.type === 'ExternalName') return;
  if (templates.some((t) => t.namespace === namespace && selects(selector, t.template.labels))) return;
  const rendered = Object.entries(selector).map(([k, v]) => `${k}=${String(v)}`).join(',');
  r.report(placed, ['spec', 'selector'], `selector ${rendered} selects no pod template in namespace ${namespace || '(none)'}`);
}

function isBuiltInClusterRole(name: string): boolean {
  return WELL_KNOWN_CLUSTER_ROLES.has(name) || name.startsWith('system:');
}

function checkBinding(r: Resolver, placed: PlacedObject, namespace: string): void {
  const { manifest } = placed;
  const roleRef = asRecord(manifest.roleRef);
  const roleKind = asString(roleRef?.kind);
  const roleName = asString(roleRef?.name);
  if (roleKind && roleName) {
    if (roleKind === 'ClusterRole') {
      if (!isBuiltInClusterRole(roleName)) r.require(placed, ['roleRef', 'name'], 'ClusterRole', '', roleName);
    } else if (roleKind === 'Role' && manifest.kind === 'RoleBinding') {
      r.require(placed, ['roleRef', 'name'], 'Role', namespace, roleName);
    } else {
      r.report(placed, ['roleRef', 'kind'], `a ${manifest.kind} cannot refer to a ${roleKind}`);
    }
  }
  asArray(manifest.subjects).forEach((s, i) => {
    const subject = asRecord(s);
    const name = asString(subject?.name);
    if (!subject || subject.kind !== 'ServiceAccount' || !name) return;
    const subjectNamespace = asString(subject.namespace) ?? (manifest.kind === 'RoleBinding' ? namespace : undefined);
    if (!subjectNamespace) {
      r.report(placed, ['subjects', i, 'namespace'], `ServiceAccount subject ${name} has no namespace`);
      return;
    }
    if (name !== 'default') r.require(placed, ['subjects', i, 'name'], 'ServiceAccount', subjectNamespace, name);
  });
}

function checkServiceRef(r: Resolver, placed: PlacedObject, path: readonly PathSegment[], value: unknown): void {
  const service = asRecord(value);
  const name = asString(service?.name);
  const namespace = asString(service?.namespace);
  if (name && namespace) r.require(placed, [...path, 'name'], 'Service', namespace, name);
}

function checkApiServiceRefs(r: Resolver, placed: PlacedObject): void {
  const { manifest } = placed;
  const group = apiGroup(manifest.apiVersion);
  if (group === 'admissionregistration.k8s.io' && /^(Mutating|Validating)WebhookConfiguration$/.test(manifest.kind)) {
    asArray(manifest.webhooks).forEach((w, i) => {
      checkServiceRef(r, placed, ['webhooks', i, 'clientConfig', 'service'], asRecord(asRecord(w)?.clientConfig)?.service);
    });
  } else if (group === 'apiextensions.k8s.io' && manifest.kind === 'CustomResourceDefinition') {
    const clientConfig = asRecord(asRecord(asRecord(asRecord(manifest.spec)?.conversion)?.webhook)?.clientConfig);
    checkServiceRef(r, placed, ['spec', 'conversion', 'webhook', 'clientConfig', 'service'], clientConfig?.service);
  } else if (group === 'apiregistration.k8s.io' && manifest.kind === 'APIService') {
    checkServiceRef(r, placed, ['spec', 'service'], asRecord(manifest.spec)?.service);
  }
  const inject = manifest.metadata.annotations?.[CA_INJECTION_ANNOTATION];
  if (typeof inject === 'string') {
    const path = ['metadata', 'annotations', CA_INJECTION_ANNOTATION];
    const parts = inject.split('/');
    if (parts.length === 2 && parts[0] && parts[1]) r.require(placed, path, 'Certificate', parts[0], parts[1]);
    else r.report(placed, path, `"${inject}" is not <namespace>/<certificate>`);
  }
}

/**
 * Rules `dangling-reference`, `provider-order` and `provides-annotation`.
 *
 * A reference resolves when the object is in the output, declared in `externalObjects`, or listed in the
 * `kfkit.dev/provides` annotation of an object (then that provider must be in a strictly earlier wave than the
 * referring object, else `provider-order`). Checked references:
 * - an object's namespace (`default`, `kube-system`, `kube-public`, `kube-node-lease` always exist);
 * - pod templates (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob,
 *   PodTemplate): `serviceAccountName` (`default` always exists), ConfigMaps and Secrets of volumes and projected
 *   volumes, env `configMapKeyRef`/`secretKeyRef` (and the key of a ConfigMap of the output), `envFrom`, — all unless
 *   `optional: true` —, `imagePullSecrets`, PersistentVolumeClaims (a StatefulSet's `volumeClaimTemplates` count),
 *   `volumeMounts`/`volumeDevices` naming a volume of the pod, a StatefulSet's `serviceName`;
 * - Service selectors select at least one pod template of the same namespace (selector ⊆ template labels);
 * - RoleBinding/ClusterRoleBinding `roleRef` (a Role of the same namespace; built-in ClusterRoles `cluster-admin`,
 *   `admin`, `edit`, `view`, `system:*` exist) and ServiceAccount subjects;
 * - webhook configurations', CRD conversion webhooks' and APIServices' `service`, and the Certificate of a
 *   `cert-manager.io/inject-ca-from` annotation.
 * A malformed `kfkit.dev/provides` entry (not `Kind/namespace/name` or `Kind/name`) is a `provides-annotation` finding.
 */
export function checkReferences(input: HarnessInput): Finding[] {
  const catalog = catalogOf(input);
  const r = new Resolver(catalog);
  const templates: NamespacedTemplate[] = [];
  for (const placed of input.objects) {
    const template = podTemplateOf(placed.manifest);
    if (template) templates.push({ namespace: catalog.namespaceOf(placed), template });
  }
  for (const placed of input.objects) {
    const { manifest } = placed;
    const namespace = catalog.namespaceOf(placed);
    const declaredNamespace = manifest.metadata.namespace;
    if (declaredNamespace && namespace === declaredNamespace && !WELL_KNOWN_NAMESPACES.has(declaredNamespace)) {
      r.require(placed, 'metadata.namespace', 'Namespace', '', declaredNamespace);
    }
    const template = podTemplateOf(manifest);
    if (template) checkPodTemplate(r, placed, template, namespace);
    const group = apiGroup(manifest.apiVersion);
    if (group === '' && manifest.kind === 'Service') checkService(r, placed, templates, namespace);
    if (group === 'rbac.authorization.k8s.io' && (manifest.kind === 'RoleBinding' || manifest.kind === 'ClusterRoleBinding')) {
      checkBinding(r, placed, namespace);
    }
    checkApiServiceRefs(r, placed);
  }
  for (const { provider, entry } of catalog.providesErrors) {
    r.findings.push(finding(PROVIDES_ANNOTATION_RULE, provider, ['metadata', 'annotations', PROVIDES_ANNOTATION],
      `"${entry}" is not Kind/namespace/name or Kind/name`));
  }
  return r.findings;
}
