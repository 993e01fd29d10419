import { z } from 'zod';
import { CERT_MANAGER_MIN_VERSION } from '../core/cert-manager';
import { issuerInCluster } from '../core/mesh';
import { databaseConsumerIssues, installedDatabaseConsumers, KATIB_DB_CONSUMER } from '../core/database-consumers';
import { DATABASE_CONSUMER_IDS, DatabaseConsumerId } from '../core/database-users';
import { advertisesGpus, GPU_POOL_LABEL, nodeSelectorIssues, selectorCovers } from '../core/gpu';
import { labelKeyProblem, labelValueProblem } from '../core/labels';
import { cronProblem } from './cron';
import { QUANTITY_PATTERN, tryParseQuantity } from '../core/quantity';
import { unpinnedReason } from '../validate/images';
import { addonIssues, addonsSchema } from './addons-schema';
import { authSchema, gatewaySchema, istioSchema, knativeSchema, meshIssues } from './mesh-schema';
import { tenancyIssues, tenancySchema } from './tenancy-schema';
import { katibSchema, kserveSchema, notebooksSchema, trainingSchema, workloadIssues } from './workloads-schema';
import { atLeast, dnsLabel, dnsName, egressFields, hostPortProblem, ipv4Cidr, registryProblem, RELEASE_PATTERN, secretKeyRef } from './primitives';

/**
 * The platform configuration schema: one source for validation, defaults, TypeScript types and the JSON Schema
 * editors use to autocomplete overlays (`schema/platform-config.schema.json`, written by `kfkit schema`).
 *
 * Every object is strict (an unknown key is an error, so a typo never silently falls back to a default) and every
 * default is written here, once.
 */

const quantity = (example: string) =>
  z.string().regex(QUANTITY_PATTERN, `must be a Kubernetes quantity such as ${example}`);

const RESERVED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** Namespaces of the platform's parts at their defaults (Istio, cert-manager, Knative, Dex, oauth2-proxy), which no profile may take. */
const PLATFORM_NAMESPACES = ['istio-system', 'istio-cni', 'cert-manager', 'knative-serving', 'knative-operator', 'auth', 'oauth2-proxy'];

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
  registryMirror: z.string().superRefine((value, ctx) => {
    const problem = registryProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
    .optional()
    .meta({ description: 'Registry (and path) mirroring every upstream image; each image keeps its upstream path below it. Default: upstream registries.' }),
  pullSecrets: z.array(dnsLabel('a pull Secret name'))
    .default([])
    .refine((names) => new Set(names).size === names.length, 'must not list a Secret twice')
    .meta({ description: 'Image pull Secrets added to every pod kfkit writes. Default: none.' }),
});

const storageSchema = (defaultSize: string) => z.strictObject({
  size: quantity('20Gi').default(defaultSize).refine((q) => (tryParseQuantity(q) ?? Infinity) >= 2 ** 30, 'must be at least 1Gi')
    .meta({ description: `PersistentVolumeClaim size. Default: ${defaultSize}.` }),
  storageClass: dnsName('storageClass (a StorageClass name)').optional()
    .meta({ description: 'StorageClass of the PersistentVolumeClaim. Default: the cluster default StorageClass.' }),
});

const hostname = dnsName('must be a host name or IP address, without scheme or port:', { upperCase: true });
const port = z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

const databaseNamesSchema = z.strictObject({
  pipelines: dnsLabel('database name').default('mlpipeline').meta({ description: 'Kubeflow Pipelines database. Default: mlpipeline.' }),
  metadata: dnsLabel('database name').default('metadb').meta({ description: 'ML Metadata database. Default: metadb.' }),
  cache: dnsLabel('database name').default('cachedb').meta({ description: 'Pipeline cache database. Default: cachedb.' }),
  katib: dnsLabel('database name').default('katib').meta({ description: 'Katib database. Default: katib.' }),
}).superRefine((n, ctx) => {
  // Each consumer owns its database as its own user: two consumers on one database would share it.
  const seen = new Map<string, string>();
  for (const key of ['pipelines', 'metadata', 'cache', 'katib'] as const) {
    const first = seen.get(n[key]);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `"${n[key]}" is already the ${first} database; each consumer needs a database of its own` });
    else seen.set(n[key], key);
  }
}).prefault({});

const engine = z.enum(['mysql', 'postgresql']);

const inClusterDatabaseSchema = z.strictObject({
  type: z.literal('in-cluster').meta({ description: 'A database StatefulSet in the platform namespace, credentials generated in the cluster.' }),
  engine: engine.default('mysql').meta({ description: 'mysql (MySQL 8.4, what upstream KFP, MLMD and Katib use by default) or postgresql. Default: mysql.' }),
  storage: storageSchema('20Gi').prefault({}),
  resources: resourcesSchema.prefault({ cpu: { request: '100m' }, memory: { request: '800Mi', limit: '1Gi' } })
    .meta({ description: 'Compute budget of the database container. Default: 100m CPU, 800Mi memory request, 1Gi limit.' }),
  names: databaseNamesSchema,
});

const credentialsSecretSchema = z.strictObject({
  name: dnsLabel('Secret name').meta({ description: 'Existing Secret in the platform namespace (created by you or External Secrets).' }),
  usernameKey: z.string().min(1).default('username'),
  passwordKey: z.string().min(1).default('password'),
});

const externalDatabaseSchema = z.strictObject({
  type: z.literal('external').meta({ description: 'A database kfkit does not run (RDS, Cloud SQL, an existing server).' }),
  engine: engine.meta({ description: 'mysql or postgresql (required).' }),
  host: hostname.meta({ description: 'Host name of the server (required).' }),
  port: port.optional().meta({ description: 'Port. Default: 3306 (mysql) or 5432 (postgresql).' }),
  ...egressFields('the database server (its consumers\' egress to its port)', 'RDS: the VPC\'s CIDR, which the AWS cloud stack exports; a server: its address as a /32'),
  credentialsSecret: credentialsSecretSchema.meta({
    description: 'Where consumers read the credentials (required), unless users gives one its own. kfkit never sees the values.',
  }),
  users: z.strictObject(Object.fromEntries(DATABASE_CONSUMER_IDS.map((c) => [c, credentialsSecretSchema.optional().meta({
    description: `Secret of ${c}'s own user (grants: docs/database-users.md). Default: credentialsSecret.`,
  })])) as Record<DatabaseConsumerId, z.ZodOptional<typeof credentialsSecretSchema>>).prefault({}).meta({
    description: 'One credentials Secret per consumer (pipelines, metadata, cache, katib, backup), each a user with rights on its own database '
      + 'only — what kfkit does itself in the cluster. A consumer not listed uses credentialsSecret. Default: none.',
  }),
  tls: z.strictObject({
    mode: z.enum(['disabled', 'required', 'verify-ca', 'verify-full'])
      .meta({ description: 'TLS mode consumers use (required: a deliberate choice, checked against what each consumer supports).' }),
    caSecret: secretKeyRef.optional().meta({ description: 'CA bundle for verify-ca / verify-full. Default: system roots.' }),
  }).meta({ description: 'TLS to the server (required).' }),
  names: databaseNamesSchema,
});

const backupSchema = z.strictObject({
  enabled: z.boolean().default(true).meta({ description: 'Scheduled logical backups of the in-cluster database to the artifact store. Default: true.' }),
  schedule: z.string().superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `must be a cron schedule Kubernetes accepts: ${problem}` });
  }).default('0 3 * * *')
    .meta({ description: 'Cron schedule. Default: 03:00 daily.' }),
  retentionDays: z.number().int().min(1, 'must be at least 1').max(3650, 'must be at most 3650').default(14)
    .meta({ description: 'Days backups are kept. Default: 14.' }),
  prefix: z.string().regex(/^[a-z0-9][-a-z0-9/]*[a-z0-9]$/, 'must be an object key prefix: lowercase letters, digits, - and /').default('backups/metadata-db')
    .meta({ description: 'Key prefix in the artifact bucket. Default: backups/metadata-db.' }),
}).prefault({});

const credentialsSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('secret'),
    secretName: dnsLabel('Secret name').meta({ description: 'Existing Secret in the platform namespace.' }),
    accessKeyKey: z.string().min(1).default('accesskey'),
    secretKeyKey: z.string().min(1).default('secretkey'),
  }),
  z.strictObject({
    type: z.literal('irsa').meta({ description: 'AWS IAM Roles for Service Accounts; the role comes from cloud.aws.roles.pipelines.' }),
  }),
  z.strictObject({
    type: z.literal('workload-identity'),
    gcpServiceAccount: z.string().regex(/^[a-z][-a-z0-9]*@[-a-z0-9.]+\.iam\.gserviceaccount\.com$/, 'must be a Google service account e-mail (name@project.iam.gserviceaccount.com)'),
  }),
]);

const inClusterObjectStoreSchema = z.strictObject({
  type: z.literal('in-cluster').meta({ description: 'SeaweedFS (S3 API) in the platform namespace.' }),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').default('mlpipeline')
    .meta({ description: 'Artifact bucket, created on install. Default: mlpipeline.' }),
  storage: storageSchema('20Gi').prefault({}),
  resources: resourcesSchema.prefault({ cpu: { request: '100m' }, memory: { request: '256Mi', limit: '1Gi' } })
    .meta({ description: 'Compute budget of the store. Default: 100m CPU, 256Mi memory request, 1Gi limit.' }),
});

const externalObjectStoreSchema = z.strictObject({
  type: z.literal('external').meta({ description: 'S3, GCS (S3 interoperability) or another S3-compatible service.' }),
  provider: z.enum(['s3', 'gcs', 's3-compatible']).default('s3'),
  endpoint: z.string().superRefine((value, ctx) => {
    const problem = hostPortProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }).optional()
    .meta({ description: 'S3 API endpoint. Default: s3.<region>.amazonaws.com (s3) or storage.googleapis.com (gcs); required for s3-compatible.' }),
  region: z.string().regex(/^[a-z0-9-]+$/, 'must be a region name such as eu-west-1').optional()
    .meta({ description: 'Region. Default: cloud.aws.region for s3, auto for gcs; required otherwise.' }),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name').meta({ description: 'Bucket (required).' }),
  pathStyle: z.boolean().optional().meta({ description: 'Path-style addressing. Default: false for s3, true otherwise.' }),
  secure: z.boolean().default(true).meta({ description: 'TLS to the endpoint. Default: true.' }),
  credentials: credentialsSchema.meta({ description: 'How workloads authenticate (required): secret, irsa or workload-identity.' }),
  ...egressFields('the store\'s endpoint, and AWS STS with irsa (on the endpoint\'s port and 443)',
    'AWS: the VPC\'s CIDR, with interface VPC endpoints for S3 and STS, which the AWS cloud stack creates; a server: its address as a /32'),
});

const arn = (service: string) => z.string().regex(new RegExp(`^arn:aws[a-z-]*:${service}:`), `must be an AWS ${service} ARN`);

const awsSchema = z.strictObject({
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1').meta({ description: 'AWS region (required).' }),
  clusterName: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, 'must be an EKS cluster name').optional()
    .meta({ description: 'Name of the EKS cluster (the cluster add-ons need it).' }),
  vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-...)').optional()
    .meta({ description: 'VPC of the cluster (the AWS Load Balancer Controller needs it).' }),
  oidcProviderArn: arn('iam').optional().meta({ description: 'IAM OIDC provider of the EKS cluster (for IRSA).' }),
  roles: z.strictObject({
    pipelines: arn('iam').optional().meta({ description: 'Role the pipeline ServiceAccounts assume for artifacts (IRSA).' }),
    profiles: z.record(dnsLabel('profile name'), arn('iam')).default({})
      .meta({ description: 'Per-profile roles (IRSA for each profile\'s default-editor, limited to its artifact prefix), by profile name; the AWS cloud stack writes them.' }),
    clusterAutoscaler: arn('iam').optional().meta({ description: 'Role of kube-system/cluster-autoscaler (IRSA).' }),
    loadBalancerController: arn('iam').optional().meta({ description: 'Role of kube-system/aws-load-balancer-controller (IRSA).' }),
  }).prefault({}),
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

const helmSchema = z.strictObject({
  delivery: z.enum(['flux', 'argocd']).default('flux').meta({
    description: 'How charts of managed components (certManager, istio … with mode managed) reach the cluster: flux (a HelmRelease and '
      + 'HelmRepository per chart, reconciled by Flux\'s helm-controller) or argocd (an Argo CD Application per chart). '
      + 'The Pulumi program installs them as Helm releases either way. Default: flux.',
  }),
  namespace: dnsLabel('namespace').optional()
    .meta({ description: 'Namespace of the HelmRelease/HelmRepository or Application objects. Default: flux-system (flux), argocd (argocd).' }),
  project: dnsLabel('project').default('default').meta({ description: 'Argo CD project of the Applications (argocd only). Default: default.' }),
});

const labelMap = z.record(z.string(), z.string());

const gpuPoolSchema = z.strictObject({
  name: dnsLabel('a GPU pool name').meta({ description: 'Pool name (a DNS label), unique among the pools.' }),
  nodeSelector: labelMap.superRefine((selector, ctx) => {
    for (const issue of nodeSelectorIssues(selector)) ctx.addIssue({ code: 'custom', path: issue.key === undefined ? [] : [issue.key], message: issue.message });
  }).optional().meta({
    description: 'Labels every node of the pool carries. On-premises: the labels your admins put on GPU nodes (e.g. nvidia.com/gpu.present: "true"). '
      + `Default: { ${GPU_POOL_LABEL}: <name> }, the label of kfkit-provisioned GPU node groups. Pools must select disjoint sets of nodes.`,
  }),
  taint: z.boolean().default(true)
    .meta({ description: 'The nodes carry the nvidia.com/gpu:NoSchedule taint; GPU pods tolerate it. Default: true.' }),
  devicePlugin: z.enum(['managed', 'bundled', 'none']).meta({
    description: 'Who advertises nvidia.com/gpu on these nodes (required): managed (kfkit installs the NVIDIA device plugin), '
      + 'bundled (the nodes bring their own: Bottlerocket/NVIDIA node images, the NVIDIA GPU Operator) or none (nothing does, e.g. a DRA driver).',
  }),
});

const gpuSchema = z.strictObject({
  namespace: dnsLabel('gpu.namespace').default('gpu-system')
    .meta({ description: 'Namespace of the GPU node agents (device plugin, DCGM exporter); it enforces the privileged Pod Security level. Default: gpu-system.' }),
  pools: z.array(gpuPoolSchema).default([])
    .meta({ description: 'GPU node pools workloads can request GPUs on. Default: none (no GPUs).' }),
  devicePlugin: z.strictObject({
    image: z.string().min(1).superRefine((image, ctx) => {
      const problem = unpinnedReason(image);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${problem}; pin a tag or digest` });
    }).optional().meta({
      description: 'Device plugin image replacing the pinned one (e.g. the release your drivers are validated with), used as written '
        + '(the registry mirror does not apply). Default: nvcr.io/nvidia/k8s-device-plugin at the version kfkit pins.',
    }),
    migStrategy: z.enum(['none', 'single', 'mixed']).default('none').meta({
      description: 'How MIG-partitioned GPUs are exposed: none, single (nvidia.com/gpu is a MIG slice) or mixed (nvidia.com/mig-<profile> resources). '
        + 'single and mixed add CAP_SYS_ADMIN to the plugin. Default: none.',
    }),
    deviceListStrategy: z.enum(['envvar', 'volume-mounts']).default('envvar').meta({
      description: 'How allocated GPUs are passed to the container runtime: envvar (NVIDIA_VISIBLE_DEVICES, works everywhere) or volume-mounts '
        + '(a pod cannot claim GPUs by setting the variable itself; needs accept-nvidia-visible-devices-as-volume-mounts in the NVIDIA '
        + 'Container Toolkit on the nodes, and adds CAP_SYS_ADMIN to the plugin). Default: envvar.',
    }),
    resources: resourcesSchema.prefault({ cpu: { request: '50m' }, memory: { request: '64Mi', limit: '256Mi' } })
      .meta({ description: 'Compute budget of the device plugin container. Default: 50m CPU, 64Mi memory request, 256Mi limit.' }),
  }).prefault({}).meta({ description: 'The NVIDIA device plugin kfkit installs on the pools with devicePlugin managed.' }),
  dcgmExporter: z.strictObject({
    enabled: z.boolean().default(false)
      .meta({ description: 'Install the NVIDIA DCGM exporter (GPU metrics on port 9400) on every pool with devicePlugin managed or bundled. Default: false.' }),
    resources: resourcesSchema.prefault({ cpu: { request: '100m' }, memory: { request: '128Mi', limit: '512Mi' } })
      .meta({ description: 'Compute budget of the exporter. Default: 100m CPU, 128Mi memory request, 512Mi limit.' }),
    scrapeFrom: z.strictObject({
      namespace: dnsLabel('scrapeFrom.namespace').meta({ description: 'Namespace of the metrics scraper, e.g. monitoring.' }),
      podLabels: labelMap.optional().meta({ description: 'Labels of the scraper pods. Default: every pod of the namespace.' }),
    }).optional().meta({ description: 'Who may scrape the metrics port (a network policy; the namespace is default-deny). Default: nobody.' }),
  }).prefault({}).meta({ description: 'NVIDIA DCGM exporter (GPU utilisation, memory, temperature; per pod).' }),
}).superRefine((g, ctx) => {
  const seen = new Map<string, number>();
  g.pools.forEach((pool, i) => {
    const first = seen.get(pool.name);
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['pools', i, 'name'], message: `duplicate pool name "${pool.name}" (also gpu.pools[${first}])` });
    else seen.set(pool.name, i);
  });
  const selectorOf = (pool: (typeof g.pools)[number]): Record<string, string> => pool.nodeSelector ?? { [GPU_POOL_LABEL]: pool.name };
  g.pools.forEach((pool, i) => {
    if (pool.devicePlugin !== 'managed') return;
    g.pools.forEach((other, j) => {
      if (i === j || other.devicePlugin === 'managed' || !selectorCovers(selectorOf(pool), selectorOf(other))) return;
      ctx.addIssue({
        code: 'custom', path: ['pools', i, 'nodeSelector'],
        message: `selects every node of pool ${other.name} (devicePlugin ${other.devicePlugin}), which would get kfkit's device plugin too; `
          + 'give the pools disjoint node selectors',
      });
    });
  });
  if (g.dcgmExporter.enabled && !g.pools.some(advertisesGpus)) {
    ctx.addIssue({
      code: 'custom', path: ['dcgmExporter', 'enabled'],
      message: 'the DCGM exporter runs on GPU nodes, and no pool in gpu.pools has devicePlugin managed or bundled; add a GPU pool or disable the exporter',
    });
  }
  const scrape = g.dcgmExporter.scrapeFrom?.podLabels;
  if (scrape) {
    for (const [key, value] of Object.entries(scrape)) {
      const problem = labelKeyProblem(key) ?? labelValueProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['dcgmExporter', 'scrapeFrom', 'podLabels', key], message: problem });
    }
  }
  const managed = g.pools.some((p) => p.devicePlugin === 'managed');
  if (!managed && g.devicePlugin.migStrategy !== 'none') {
    ctx.addIssue({
      code: 'custom', path: ['devicePlugin', 'migStrategy'],
      message: 'applies to kfkit\'s device plugin, and no pool has devicePlugin managed; configure MIG in the device plugin your nodes bring',
    });
  }
});

const certManagerSchema = z.strictObject({
  mode: z.enum(['none', 'external', 'managed']).default('none').meta({
    description: 'none (kfkit uses no cert-manager; the KFP cache deployer issues the cache webhook certificate with a CSR), external '
      + '(cert-manager is already on the cluster: kfkit declares its APIs external and adds only Kubeflow\'s Issuers, Certificates and the '
      + 'webhook configurations they feed) or managed (kfkit installs cert-manager from its official Helm chart, pinned, before anything '
      + 'that needs a certificate). Default: none.',
  }),
  version: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'must be a cert-manager release such as 1.19 or 1.19.1').default(CERT_MANAGER_MIN_VERSION).meta({
    description: `The cert-manager release on the cluster (at least ${CERT_MANAGER_MIN_VERSION}, the minimum kfkit needs), recorded with the external APIs. `
      + `Default: ${CERT_MANAGER_MIN_VERSION}.`,
  }),
  issuer: z.strictObject({
    kind: z.enum(['ClusterIssuer', 'Issuer']).meta({ description: 'ClusterIssuer, or an Issuer in the platform namespace.' }),
    name: dnsName('must be a Kubernetes object name (a DNS subdomain):')
      .meta({ description: 'Name of the issuer.' }),
  }).optional().meta({
    description: 'Issuer signing kfkit\'s certificates; it must fill ca.crt (self-signed, CA, Vault issuers do; ACME does not), which becomes the '
      + 'webhooks\' CA bundle. Default: kfkit creates a self-signed Issuer in the platform namespace.',
  }),
}).superRefine((c, ctx) => {
  // A malformed version is reported by its own pattern already.
  if (c.mode === 'external' && RELEASE_PATTERN.test(c.version) && !atLeast(c.version, CERT_MANAGER_MIN_VERSION)) {
    ctx.addIssue({ code: 'custom', path: ['version'], message: `kfkit needs cert-manager ${CERT_MANAGER_MIN_VERSION} or later; upgrade cert-manager` });
  }
  if (c.mode === 'none' && c.issuer !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'applies only with mode external or managed (kfkit uses no cert-manager with mode none)' });
  }
});


/** What kfkit must know of the cluster it installs into. */
const clusterSchema = z.strictObject({
  apiServer: z.strictObject({
    cidrs: z.array(ipv4Cidr).default([]).meta({
      description: 'IPv4 blocks holding the Kubernetes API server\'s addresses: the only destinations of the policies that let pods reach the '
        + 'API server, and the only sources allowed to call kfkit\'s webhooks. Read them from the `kubernetes` EndpointSlice (kubectl get '
        + 'endpointslice -n default -l kubernetes.io/service-name=kubernetes -o jsonpath=\'{.items[*].endpoints[*].addresses}\'); a managed '
        + 'control plane whose addresses rotate gives their range (EKS: the VPC; GKE: the master CIDR). Required unless the stack knows them.',
    }),
    anyAddress: z.boolean().default(false).meta({
      description: 'Allow every address (0.0.0.0/0) instead of cidrs: any pod allowed to reach the API server can then reach any host on '
        + '443/6443. An explicit opt-in, warned about at every synth. Default: false.',
    }),
  }).prefault({}),
}).prefault({});

export const platformConfigSchema = z.strictObject({
  stack: z.string().meta({ description: 'Deployment target this overlay layers over: the name of a stacks/<target>.ts file (local, …).' }),
  cluster: clusterSchema.meta({ description: 'The cluster kfkit installs into: the API server\'s addresses.' }),
  namespace: dnsLabel('namespace')
    .refine((n) => !RESERVED_NAMESPACES.includes(n), `must not be a reserved namespace (${RESERVED_NAMESPACES.join(', ')})`)
    .default('kubeflow')
    .meta({ description: 'Namespace of the platform components. Default: kubeflow.' }),
  images: imagesSchema.prefault({}).meta({ description: 'Image source settings.' }),
  database: z.discriminatedUnion('type', [inClusterDatabaseSchema, externalDatabaseSchema]).prefault({ type: 'in-cluster' })
    .meta({ description: 'Metadata database used by Kubeflow Pipelines, ML Metadata and Katib. Default: in-cluster MySQL.' }),
  pipelines: z.strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Install Kubeflow Pipelines (2.17.0). Default: true.' }),
    mode: z.enum(['standalone', 'multi-user']).default('standalone')
      .meta({ description: 'standalone (one user, no auth; the local stack) or multi-user (profiles, user header). Default: standalone.' }),
  }).prefault({}).meta({ description: 'Kubeflow Pipelines backend.' }),
  backup: backupSchema.meta({ description: 'Backups of the in-cluster database (ignored for an external database, which its service backs up).' }),
  objectStore: z.discriminatedUnion('type', [inClusterObjectStoreSchema, externalObjectStoreSchema]).prefault({ type: 'in-cluster' })
    .meta({ description: 'S3-compatible artifact storage. Default: in-cluster SeaweedFS.' }),
  cloud: z.strictObject({ aws: awsSchema.optional().meta({ description: 'AWS account facts the platform uses (region, IRSA roles). Default: none.' }) }).prefault({}),
  gpu: gpuSchema.prefault({}).meta({ description: 'GPU node pools, the NVIDIA device plugin and the DCGM exporter. Default: no GPUs.' }),
  certManager: certManagerSchema.prefault({}).meta({ description: 'cert-manager, for the certificates of Kubeflow\'s webhooks. Default: none (not used).' }),
  istio: istioSchema.prefault({}).meta({ description: 'Istio service mesh and ingress. Default: none.' }),
  gateway: gatewaySchema.meta({ description: 'The Kubeflow gateway (with istio.mode external or managed): host, TLS, Service.' }),
  auth: authSchema.meta({ description: 'Authentication at the gateway: Dex or an external OIDC provider, through oauth2-proxy. Default: none.' }),
  knative: knativeSchema.meta({ description: 'Knative Serving for serverless model serving. Default: none.' }),
  kserve: kserveSchema.meta({ description: 'KServe model serving. Default: not installed.' }),
  notebooks: notebooksSchema.meta({ description: 'Notebooks for the teams. Default: not installed.' }),
  katib: katibSchema.meta({ description: 'Katib hyperparameter tuning. Default: not installed.' }),
  training: trainingSchema.meta({ description: 'Distributed training jobs (the Kubeflow Training Operator). Default: not installed.' }),
  tenancy: tenancySchema.meta({ description: 'Teams (Kubeflow profiles) of a multi-user platform: owners, contributors, quotas, LimitRanges. Default: none.' }),
  addons: addonsSchema.meta({ description: 'Cluster add-ons in kube-system (EKS): cluster-autoscaler, AWS Load Balancer Controller. Default: none.' }),
  gitops: z.strictObject({
    flux: fluxSchema.prefault({}),
    helm: helmSchema.prefault({}).meta({ description: 'Delivery of managed Helm charts.' }),
  }).prefault({}).meta({ description: 'GitOps rendering options.' }),
  apply: z.strictObject({
    timeoutSeconds: z.number().int().min(30, 'must be at least 30').max(7200, 'must be at most 7200').default(600)
      .meta({ description: 'How long `kfkit apply` waits for each wave to become ready. Default: 600.' }),
  }).prefault({}),
}).superRefine((c, ctx) => {
  const store = c.objectStore;
  if (store.type === 'external') {
    const at = (...path: string[]) => ['objectStore', ...path];
    if (store.provider === 's3-compatible' && store.endpoint === undefined) {
      ctx.addIssue({ code: 'custom', path: at('endpoint'), message: 'required for provider s3-compatible (host[:port] of the S3 API)' });
    }
    if (store.provider === 's3' && store.region === undefined && c.cloud.aws === undefined) {
      ctx.addIssue({ code: 'custom', path: at('region'), message: 'required for provider s3 unless cloud.aws.region is set' });
    }
    if (store.provider === 's3-compatible' && store.region === undefined) {
      ctx.addIssue({ code: 'custom', path: at('region'), message: 'required for provider s3-compatible (use the region the service expects, often us-east-1)' });
    }
    if (store.credentials.type === 'irsa') {
      if (store.provider !== 's3') {
        ctx.addIssue({ code: 'custom', path: at('credentials', 'type'), message: `irsa gives AWS identities and works only with provider s3, not ${store.provider}; use secret or workload-identity` });
      }
      if (c.cloud.aws === undefined) {
        ctx.addIssue({ code: 'custom', path: ['cloud', 'aws'], message: 'required when objectStore.credentials.type is irsa: the region, OIDC provider and role ARNs of the AWS target' });
      } else {
        if (c.cloud.aws.oidcProviderArn === undefined) {
          ctx.addIssue({ code: 'custom', path: ['cloud', 'aws', 'oidcProviderArn'], message: 'required when objectStore.credentials.type is irsa' });
        }
        if (c.cloud.aws.roles.pipelines === undefined) {
          ctx.addIssue({ code: 'custom', path: ['cloud', 'aws', 'roles', 'pipelines'], message: 'required when objectStore.credentials.type is irsa: the role pipeline pods assume' });
        }
      }
    }
    if (store.credentials.type === 'workload-identity' && store.provider !== 'gcs') {
      ctx.addIssue({ code: 'custom', path: at('credentials', 'type'), message: `workload-identity gives Google identities and works only with provider gcs, not ${store.provider}` });
    }
  }
  if (c.database.type === 'in-cluster' && c.backup.enabled && store.type === 'external' && store.credentials.type === 'workload-identity') {
    ctx.addIssue({
      code: 'custom', path: ['backup', 'enabled'],
      message: 'backups upload with the AWS CLI, which cannot use GKE Workload Identity (Cloud Storage\'s S3 API needs HMAC keys): ' +
        'set backup.enabled: false or give objectStore credentials of type secret (an HMAC key pair)',
    });
  }
  if (c.pipelines.enabled && store.type === 'external' && store.credentials.type === 'workload-identity') {
    ctx.addIssue({
      code: 'custom', path: ['objectStore', 'credentials', 'type'],
      message: 'Kubeflow Pipelines 2.17.0 (API server, Argo) reaches the artifact store through the S3 API with keys, not Workload Identity: ' +
        'use credentials type secret with a GCS HMAC key pair',
    });
  }
  if (c.pipelines.enabled && c.pipelines.mode === 'multi-user') {
    // Users reach multi-user Pipelines through the gateway, whose sidecars' AuthorizationPolicies keep the user-id header
    // trustworthy, and authentication writes that header.
    const needs = (message: string): void => {
      ctx.addIssue({ code: 'custom', path: ['pipelines', 'mode'], message });
    };
    if (c.istio.mode === 'none') needs('multi-user needs the Istio gateway: set istio.mode to external or managed');
    else if (c.istio.dataplane !== 'sidecar') needs('multi-user needs istio.dataplane sidecar (its header-based AuthorizationPolicies need an L7 proxy per pod)');
    if (c.auth.mode === 'none') needs('multi-user needs authentication, which writes the user-id header: set auth.mode to dex or oidc');
  }
  // The platform's parts each own their namespace (its Pod Security level, its default-deny policies): a namespace named
  // in the config may not be another part's, whether or not that part is on in this environment.
  const delivery = c.gitops.helm.namespace ?? (c.gitops.helm.delivery === 'flux' ? 'flux-system' : 'argocd');
  const taken = (n: string): string | undefined => PLATFORM_NAMESPACES.includes(n) ? `the namespace of a platform part (${PLATFORM_NAMESPACES.join(', ')})`
    : n === delivery ? `the namespace of the chart delivery (gitops.helm: ${delivery})` : undefined;
  const platformTaken = taken(c.namespace);
  if (platformTaken !== undefined) ctx.addIssue({ code: 'custom', path: ['namespace'], message: `"${c.namespace}" is ${platformTaken}; choose another name` });
  const gpuTaken = c.gpu.namespace === c.namespace ? 'the platform namespace (namespace)' : RESERVED_NAMESPACES.includes(c.gpu.namespace) ? 'a reserved namespace' : taken(c.gpu.namespace);
  if (gpuTaken !== undefined) {
    ctx.addIssue({
      code: 'custom', path: ['gpu', 'namespace'],
      message: `"${c.gpu.namespace}" is ${gpuTaken}: the GPU node agents need a namespace of their own (it enforces the privileged Pod Security level)`,
    });
  }
  for (const d of egressDestinations(c)) {
    const at = (key: string, ...rest: number[]) => [...d.path, key, ...rest];
    const anyPath = at('anyAddress').join('.');
    if (d.unused !== undefined) {
      if (d.cidrs.length > 0 || d.anyAddress) {
        ctx.addIssue({ code: 'custom', path: at(d.cidrs.length > 0 ? 'cidrs' : 'anyAddress'), message: `has no effect: ${d.unused}` });
      }
      continue;
    }
    if (d.anyAddress && d.cidrs.length > 0) ctx.addIssue({ code: 'custom', path: at('anyAddress'), message: 'give cidrs or anyAddress, not both' });
    else if (!d.anyAddress && d.cidrs.length === 0) {
      ctx.addIssue({
        code: 'custom', path: at('cidrs'),
        message: `required: the IPv4 blocks of ${d.what} (${d.how}); kfkit never opens egress to every address unless ${anyPath} is true`,
      });
    }
    d.cidrs.forEach((cidr, i) => {
      const prefix = Number(cidr.split('/')[1]);
      if (cidr.endsWith('/0')) ctx.addIssue({ code: 'custom', path: at('cidrs', i), message: `${cidr} is every address: set ${anyPath}: true to mean that` });
      // A few short blocks can cover everything (0.0.0.0/1 and 128.0.0.0/1): the widest block a destination names is a /8.
      else if (prefix < MIN_DESTINATION_PREFIX) {
        ctx.addIssue({
          code: 'custom', path: at('cidrs', i),
          message: `${cidr} spans more than a /${MIN_DESTINATION_PREFIX}: list the destination's own blocks (or set ${anyPath}: true for every address)`,
        });
      }
    });
  }
  for (const issue of meshIssues(c)) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  for (const issue of addonIssues(c)) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  for (const issue of workloadIssues(c)) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  const multiUser = c.pipelines.enabled && c.pipelines.mode === 'multi-user';
  const irsa = store.type === 'external' && store.credentials.type === 'irsa';
  if (multiUser && c.tenancy.profiles.length > 0 && store.type === 'external' && store.credentials.type === 'secret') {
    ctx.addIssue({
      code: 'custom', path: ['objectStore', 'credentials', 'type'],
      message: 'profiles need artifact credentials of their own, limited to their prefix: kfkit mints them on the in-cluster store, or each '
        + 'profile gets an IAM role with irsa; one shared key pair (secret) would let every team read every other team\'s artifacts',
    });
  }
  for (const issue of tenancyIssues({
    tenancy: c.tenancy, gpu: c.gpu, multiUser,
    platformNamespaces: [...new Set([...RESERVED_NAMESPACES, c.namespace, c.gpu.namespace, delivery, ...PLATFORM_NAMESPACES])],
    irsaProfileRoles: multiUser && irsa ? c.cloud.aws?.roles.profiles ?? {} : undefined,
  })) ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message });
  const consumers = c.pipelines.enabled || c.katib.enabled
    ? installedDatabaseConsumers({ engine: c.database.engine, katib: c.katib.enabled }).filter((x) => c.pipelines.enabled || x === KATIB_DB_CONSUMER)
    : [];
  for (const issue of databaseConsumerIssues(c.database, consumers)) ctx.addIssue({ code: 'custom', path: ['database', ...issue.path], message: issue.message });
});

/** What an overlay file may contain (defaults not yet applied). */
export type PlatformConfigInput = z.input<typeof platformConfigSchema>;

/** The widest block a destination outside the cluster may name: a /8 (10.0.0.0/8); wider is refused, not just /0. */
export const MIN_DESTINATION_PREFIX = 8;

/** Where the config says a destination outside the cluster is. */
interface Addresses {
  readonly cidrs: readonly string[];
  readonly anyAddress: boolean;
}

/** The parts of the config {@link egressDestinations} looks at. */
interface EgressConfigView {
  readonly cluster: { readonly apiServer: Addresses };
  readonly database: { readonly type: 'in-cluster' } | ({ readonly type: 'external' } & Addresses);
  readonly objectStore: { readonly type: 'in-cluster' } | ({ readonly type: 'external'; readonly credentials: { readonly type: string } } & Addresses);
  readonly certManager: { readonly mode: string };
  readonly istio: { readonly mode: string };
  readonly gateway: { readonly tls: { readonly type: 'self-signed' | 'secret' } | ({ readonly type: 'acme' } & Addresses) };
  readonly auth: {
    readonly mode: string;
    readonly dex: { readonly connectors: readonly (Addresses & { readonly type: string })[] };
    readonly oidc?: Addresses;
    readonly machineTokens: Addresses & { readonly enabled: boolean; readonly issuer: string; readonly jwksUri?: string };
  };
}

/** A destination outside the cluster that the platform's egress may go to, and where the config says it is. */
export interface EgressDestination {
  /** Path of the object that holds its `cidrs` and `anyAddress`. */
  readonly path: readonly (string | number)[];
  /** What it is, for messages. */
  readonly what: string;
  /** How to find its addresses. */
  readonly how: string;
  readonly cidrs: readonly string[];
  readonly anyAddress: boolean;
  /** Why this config opens no egress to it (its `cidrs` and `anyAddress` cannot take effect), when it opens none. */
  readonly unused?: string;
}

/**
 * Every destination outside the cluster that a config can open egress to — the API server, an external database and
 * store, the ACME server, the identity providers, the hosts of token signing keys — with the addresses the config
 * gives. Egress goes only to `cidrs`, or to every address where `anyAddress` is set (which synth warns about).
 */
export function egressDestinations(c: EgressConfigView): EgressDestination[] {
  const out: EgressDestination[] = [{
    path: ['cluster', 'apiServer'], what: 'the API server\'s addresses', ...c.cluster.apiServer,
    how: 'kubectl get endpointslice -n default -l kubernetes.io/service-name=kubernetes -o jsonpath=\'{.items[*].endpoints[*].addresses}\'; EKS: the VPC\'s CIDR',
  }];
  if (c.database.type === 'external') {
    out.push({ path: ['database'], what: 'the database server\'s addresses', how: 'RDS: the VPC\'s CIDR; a server: its address as a /32', cidrs: c.database.cidrs, anyAddress: c.database.anyAddress });
  }
  const store = c.objectStore;
  if (store.type === 'external') {
    out.push({
      path: ['objectStore'], what: `the store's endpoint${store.credentials.type === 'irsa' ? ' and AWS STS' : ''}`,
      how: 'AWS: the VPC\'s CIDR, with interface VPC endpoints for S3 and STS (the AWS cloud stack creates them); a server: its address as a /32',
      cidrs: store.cidrs, anyAddress: store.anyAddress,
    });
  }
  const tls = c.gateway.tls;
  if (tls.type === 'acme') {
    out.push({
      path: ['gateway', 'tls'], what: 'the ACME server and the gateway\'s public address (cert-manager\'s HTTP-01 self-check)',
      how: 'an internal ACME CA\'s and the load balancer\'s addresses', cidrs: tls.cidrs, anyAddress: tls.anyAddress,
      unused: c.certManager.mode === 'managed' && c.istio.mode !== 'none' ? undefined
        : 'kfkit writes cert-manager\'s network policies only with certManager.mode managed (the cluster\'s own cert-manager has the cluster\'s policies)',
    });
  }
  if (c.auth.mode === 'dex') {
    c.auth.dex.connectors.forEach((conn, i) => out.push({
      path: ['auth', 'dex', 'connectors', i], what: `the ${conn.type} identity provider`, how: 'the directory servers\' or the provider\'s addresses',
      cidrs: conn.cidrs, anyAddress: conn.anyAddress,
    }));
  }
  if (c.auth.mode === 'oidc' && c.auth.oidc !== undefined) {
    out.push({ path: ['auth', 'oidc'], what: 'the OIDC provider', how: 'the provider\'s addresses', cidrs: c.auth.oidc.cidrs, anyAddress: c.auth.oidc.anyAddress });
  }
  const m2m = c.auth.machineTokens;
  const keysOutside = m2m.jwksUri !== undefined || !issuerInCluster(m2m.issuer);
  out.push({
    path: ['auth', 'machineTokens'], what: `the host of the signing keys (${m2m.jwksUri ?? m2m.issuer})`, how: 'EKS: the addresses of oidc.eks.<region>.amazonaws.com',
    cidrs: m2m.cidrs, anyAddress: m2m.anyAddress,
    unused: c.auth.mode === 'none' || !m2m.enabled ? 'machine tokens are not accepted (auth.mode none or machineTokens.enabled false)'
      : !keysOutside ? 'the issuer is inside the cluster: kfkit serves its keys to istiod (cluster-jwks-proxy)'
        : c.istio.mode !== 'managed' ? 'istiod is the cluster\'s (istio.mode external): kfkit writes no policy for it' : undefined,
  });
  return out;
}
/** The validated configuration with every default applied. Immutable by convention: components only read it. */
export type PlatformConfig = Readonly<z.output<typeof platformConfigSchema>>;
/** Compute budget as it appears in the configuration. */
export type ResourcesConfig = z.output<typeof resourcesSchema>;

/** The JSON Schema of overlay files, for editors. */
export function platformConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(platformConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://kfkit.dev/schema/platform-config.schema.json', title: 'kfkit overlay (overlays/<env>.yaml)' };
}
