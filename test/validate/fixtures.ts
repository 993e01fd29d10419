/**
 * Small builders of manifests for the harness tests. Every builder returns a valid object by default (no findings
 * in a stack made of them); tests break one thing at a time.
 */
import { ExternalApi, ExternalObject, Finding, HarnessInput, K8sObject, PlacedObject } from '../../lib/validate/types';

/** Wave numbers of the baseline layout. */
export const WAVES = { crds: 0, namespaces: 1, cluster: 2, controllers: 3, resources: 4 } as const;

const WAVE_NAMES = ['crds', 'namespaces', 'cluster', 'controllers', 'resources', 'tenants'];

/** Places a manifest in a wave (default: controllers). */
export function at(manifest: K8sObject, wave: number = WAVES.controllers): PlacedObject {
  return { manifest, wave, waveName: WAVE_NAMES[wave] ?? `wave-${wave}`, source: `test/${manifest.kind}-${manifest.metadata.name}` };
}

/** Harness input of placed objects. */
export function input(objects: readonly PlacedObject[], extra: { externalApis?: ExternalApi[]; externalObjects?: ExternalObject[] } = {}): HarnessInput {
  return { objects, ...extra };
}

/** Findings of one rule. */
export function ofRule(findings: readonly Finding[], rule: string): Finding[] {
  return findings.filter((f) => f.rule === rule);
}

/** A Namespace. */
export function namespace(name: string): K8sObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** A ServiceAccount. */
export function serviceAccount(name: string, ns = 'app'): K8sObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } };
}

/** A ConfigMap. */
export function configMap(name: string, ns = 'app', data: Record<string, string> = { key: 'value' }): K8sObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
}

/** A Secret (without values unless given). */
export function secret(name: string, ns = 'app', fields: Record<string, unknown> = {}): K8sObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', ...fields };
}

/** A container with a pinned image and full resources; `overrides` replace top-level fields. */
export function container(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'app',
    image: 'ghcr.io/example/app:1.2.3',
    ports: [{ containerPort: 8080, name: 'http' }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    ...overrides,
  };
}

/** Options of {@link deployment} and friends. */
export interface WorkloadOptions {
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  /** Extra pod spec fields (e.g. volumes, serviceAccountName). */
  readonly pod?: Record<string, unknown>;
  readonly containers?: Record<string, unknown>[];
  readonly initContainers?: Record<string, unknown>[];
}

function podSpec(options: WorkloadOptions): Record<string, unknown> {
  return {
    containers: options.containers ?? [container()],
    ...(options.initContainers ? { initContainers: options.initContainers } : {}),
    ...options.pod,
  };
}

/** A Deployment with one good container; pods labelled `app: <name>` unless `labels` says otherwise. */
export function deployment(name: string, options: WorkloadOptions = {}): K8sObject {
  const labels = options.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: options.namespace ?? 'app' },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec(options) } },
  };
}

/** A StatefulSet with one good container. */
export function statefulSet(name: string, options: WorkloadOptions & { claimTemplates?: string[]; serviceName?: string } = {}): K8sObject {
  const labels = options.labels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: options.namespace ?? 'app' },
    spec: {
      ...(options.serviceName ? { serviceName: options.serviceName } : {}),
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec(options) },
      volumeClaimTemplates: (options.claimTemplates ?? []).map((claim) => ({
        metadata: { name: claim },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      })),
    },
  };
}

/** A CronJob with one good container. */
export function cronJob(name: string, options: WorkloadOptions = {}): K8sObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: options.namespace ?? 'app' },
    spec: {
      schedule: '0 * * * *',
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', ...podSpec(options) } } } },
    },
  };
}

/** A Service selecting `selector` (default `app: <name>`; `null` for a Service without selector). */
export function service(name: string, selector: Record<string, string> | null = { app: name }, ns = 'app'): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { ...(selector ? { selector } : {}), ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

/** A Role. */
export function role(name: string, ns = 'app'): K8sObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
  };
}

/** A ClusterRole. */
export function clusterRole(name: string): K8sObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
  };
}

/** A RoleBinding of `roleRef` to ServiceAccount subjects (`name` or `namespace/name`). */
export function roleBinding(name: string, roleRef: { kind: 'Role' | 'ClusterRole'; name: string }, subjects: string[], ns = 'app'): K8sObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', ...roleRef },
    subjects: subjects.map((s) => {
      const [subjectNs, subjectName] = s.includes('/') ? s.split('/') : [undefined, s];
      return { kind: 'ServiceAccount', name: subjectName, ...(subjectNs ? { namespace: subjectNs } : {}) };
    }),
  };
}

/** A ClusterRoleBinding of a ClusterRole to ServiceAccount subjects `namespace/name`. */
export function clusterRoleBinding(name: string, clusterRoleName: string, subjects: string[]): K8sObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRoleName },
    subjects: subjects.map((s) => {
      const [subjectNs, subjectName] = s.split('/');
      return { kind: 'ServiceAccount', name: subjectName, namespace: subjectNs };
    }),
  };
}

/** A ValidatingWebhookConfiguration calling `service` (`namespace/name`). */
export function validatingWebhook(name: string, serviceRef: string, annotations?: Record<string, string>): K8sObject {
  const [ns, svc] = serviceRef.split('/');
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    webhooks: [{
      name: `${name}.example.com`,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      clientConfig: { service: { namespace: ns, name: svc, path: '/validate' } },
      rules: [{ apiGroups: ['example.com'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['widgets'] }],
    }],
  };
}

/** Schema of the test `Widget` CRD: `spec.size` integer, `spec.port` int-or-string, `spec.extra` free-form. */
export const WIDGET_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'integer', minimum: 1 },
        color: { type: 'string', enum: ['red', 'blue'] },
        port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

/** A CustomResourceDefinition (default: namespaced `Widget` of `example.com`, version v1 served and stored). */
export function crd(options: {
  group?: string; kind?: string; plural?: string; scope?: 'Namespaced' | 'Cluster';
  versions?: { name: string; served?: boolean; storage?: boolean; schema?: Record<string, unknown> | null }[];
} = {}): K8sObject {
  const group = options.group ?? 'example.com';
  const kind = options.kind ?? 'Widget';
  const plural = options.plural ?? `${kind.toLowerCase()}s`;
  const versions = options.versions ?? [{ name: 'v1' }];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      scope: options.scope ?? 'Namespaced',
      versions: versions.map((v, i) => ({
        name: v.name,
        served: v.served ?? true,
        storage: v.storage ?? i === 0,
        ...(v.schema === null ? {} : { schema: { openAPIV3Schema: v.schema ?? WIDGET_SCHEMA } }),
      })),
    },
  };
}

/** A custom resource. */
export function customResource(apiVersion: string, kind: string, name: string, ns: string | undefined, fields: Record<string, unknown> = {}): K8sObject {
  return { apiVersion, kind, metadata: { name, ...(ns ? { namespace: ns } : {}) }, ...fields };
}

/** A valid `Widget` in namespace `app`. */
export function widget(name = 'w', spec: Record<string, unknown> = { size: 3 }, ns: string | undefined = 'app'): K8sObject {
  return customResource('example.com/v1', 'Widget', name, ns, { spec });
}

/** A cert-manager Certificate issuing `secretName`, providing the Secret through the kfkit annotation. */
export function certificate(name: string, secretName: string, ns = 'app'): K8sObject {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name, namespace: ns, annotations: { 'kfkit.dev/provides': `Secret/${ns}/${secretName}` } },
    spec: { secretName, dnsNames: [`${name}.${ns}.svc`], issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' } },
  };
}

/** cert-manager declared external. */
export const CERT_MANAGER_API: ExternalApi = {
  group: 'cert-manager.io', kind: 'Certificate', versions: ['v1'], providedBy: 'cert-manager >= 1.19 (installed by the admins)',
};

/**
 * A clean stack: Namespace `app`, a ServiceAccount, a ConfigMap, a Deployment using both, its Service, a Role and
 * RoleBinding, a Widget CRD and a Widget. Produces no findings at all.
 */
export function baseline(): PlacedObject[] {
  return [
    at(crd(), WAVES.crds),
    at(namespace('app'), WAVES.namespaces),
    at(serviceAccount('app-sa')),
    at(configMap('app-config')),
    at(role('reader')),
    at(roleBinding('reader', { kind: 'Role', name: 'reader' }, ['app-sa'])),
    at(deployment('app', {
      pod: { serviceAccountName: 'app-sa', volumes: [{ name: 'config', configMap: { name: 'app-config' } }] },
      containers: [container({
        volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
        env: [{ name: 'SETTING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'key' } } }],
      })],
    })),
    at(service('app')),
    at(widget(), WAVES.resources),
  ];
}
