import { z } from 'zod';
import { QUANTITY_PATTERN, tryParseQuantity } from '../core/quantity';

/**
 * The platform configuration schema: one source for validation, defaults, TypeScript types and the JSON Schema
 * editors use to autocomplete overlays (`schema/platform-config.schema.json`, written by `kfkit schema`).
 *
 * Every object is strict (an unknown key is an error, so a typo never silently falls back to a default) and every
 * default is written here, once.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const dnsLabel = (what: string) =>
  z.string().max(63, `${what} must be at most 63 characters`).regex(DNS_LABEL, `${what} must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit`);

const quantity = (example: string) =>
  z.string().regex(QUANTITY_PATTERN, `must be a Kubernetes quantity such as ${example}`);

const RESERVED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Compute budget of one container; checked so that no request exceeds its limit. */
export const resourcesSchema = z.strictObject({
  cpu: z.strictObject({
    request: quantity('100m or 1').meta({ description: 'CPU request.' }),
    limit: quantity('500m or 2').optional().meta({ description: 'CPU limit. Default: none (CPU is compressible; limits throttle).' }),
  }),
  memory: z.strictObject({
    request: quantity('256Mi').meta({ description: 'Memory request.' }),
    limit: quantity('1Gi').meta({ description: 'Memory limit (required).' }),
  }),
}).superRefine((r, ctx) => {
  const exceeds = (request: string, limit: string) => (tryParseQuantity(request) ?? 0) > (tryParseQuantity(limit) ?? Infinity);
  if (r.cpu.limit !== undefined && exceeds(r.cpu.request, r.cpu.limit)) {
    ctx.addIssue({ code: 'custom', path: ['cpu', 'request'], message: `request ${r.cpu.request} exceeds limit ${r.cpu.limit}; lower the request or raise the limit` });
  }
  if (exceeds(r.memory.request, r.memory.limit)) {
    ctx.addIssue({ code: 'custom', path: ['memory', 'request'], message: `request ${r.memory.request} exceeds limit ${r.memory.limit}; lower the request or raise the limit` });
  }
});

const imagesSchema = z.strictObject({
  registryMirror: z.string()
    .regex(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/, 'must be a registry host with an optional path, without a scheme, e.g. registry.corp.example/kubeflow')
    .optional()
    .meta({ description: 'Registry (and path) mirroring every upstream image; each image keeps its upstream path below it. Default: upstream registries.' }),
  pullSecrets: z.array(dnsLabel('a pull Secret name'))
    .default([])
    .refine((names) => new Set(names).size === names.length, 'must not list a Secret twice')
    .meta({ description: 'Image pull Secrets added to every pod kfkit writes. Default: none.' }),
});

const inClusterDatabaseSchema = z.strictObject({
  type: z.literal('in-cluster').meta({ description: 'A MySQL 8 StatefulSet in the platform namespace.' }),
  storage: z.strictObject({
    size: quantity('20Gi').default('20Gi').refine((q) => (tryParseQuantity(q) ?? Infinity) >= 2 ** 30, 'must be at least 1Gi')
      .meta({ description: 'PersistentVolumeClaim size. Default: 20Gi.' }),
    storageClass: dnsLabel('storageClass').optional()
      .meta({ description: 'StorageClass of the PersistentVolumeClaim. Default: the cluster default StorageClass.' }),
  }).prefault({}),
  resources: resourcesSchema.prefault({ cpu: { request: '100m' }, memory: { request: '800Mi', limit: '1Gi' } })
    .meta({ description: 'Compute budget of the database container. Default: 100m CPU, 800Mi memory request, 1Gi limit.' }),
});

const fluxSchema = z.strictObject({
  sourceRef: z.strictObject({
    kind: z.enum(['GitRepository', 'OCIRepository', 'Bucket']).default('GitRepository'),
    name: dnsLabel('sourceRef.name').default('kfkit'),
    namespace: dnsLabel('sourceRef.namespace').default('flux-system'),
  }).prefault({}).meta({ description: 'Flux source holding the synthesized tree. Default: GitRepository flux-system/kfkit.' }),
  path: z.string().regex(/^\.\/[\w./-]*$/, "must be a path relative to the source root, starting with './'").optional()
    .meta({ description: 'Path of dist/<env> inside the source. Default: ./dist/<env>.' }),
  interval: z.string().regex(/^\d+(s|m|h)$/, 'must be a duration such as 30s, 10m or 1h').default('10m')
    .meta({ description: 'Reconcile interval of every wave. Default: 10m.' }),
});

/** Schema of a whole overlay: the stack it layers over plus any setting below. */
export const platformConfigSchema = z.strictObject({
  stack: z.string().meta({ description: 'Deployment target this overlay layers over: the name of a stacks/<target>.ts file (local, …).' }),
  namespace: dnsLabel('namespace')
    .refine((n) => !RESERVED_NAMESPACES.includes(n), `must not be a reserved namespace (${RESERVED_NAMESPACES.join(', ')})`)
    .default('kubeflow')
    .meta({ description: 'Namespace of the platform components. Default: kubeflow.' }),
  images: imagesSchema.prefault({}).meta({ description: 'Image source settings.' }),
  database: z.discriminatedUnion('type', [inClusterDatabaseSchema]).prefault({ type: 'in-cluster' })
    .meta({ description: 'Metadata database used by Kubeflow Pipelines, ML Metadata and Katib. Default: in-cluster MySQL.' }),
  gitops: z.strictObject({ flux: fluxSchema.prefault({}) }).prefault({}).meta({ description: 'GitOps rendering options.' }),
  apply: z.strictObject({
    timeoutSeconds: z.number().int().min(30, 'must be at least 30').max(7200, 'must be at most 7200').default(600)
      .meta({ description: 'How long `kfkit apply` waits for each wave to become ready. Default: 600.' }),
  }).prefault({}),
});

/** What an overlay file may contain (defaults not yet applied). */
export type PlatformConfigInput = z.input<typeof platformConfigSchema>;
/** The validated configuration with every default applied. Immutable by convention: components only read it. */
export type PlatformConfig = Readonly<z.output<typeof platformConfigSchema>>;
/** Compute budget as it appears in the configuration. */
export type ResourcesConfig = z.output<typeof resourcesSchema>;

/** The JSON Schema of overlay files, for editors. */
export function platformConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(platformConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://kfkit.dev/schema/platform-config.schema.json', title: 'kfkit overlay (overlays/<env>.yaml)' };
}
