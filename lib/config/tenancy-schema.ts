import { z } from 'zod';
import { gpuQuotaIssues, GpuPoolsConfig } from '../core/gpu';
import { QUANTITY_PATTERN } from '../core/quantity';
import { ContainerLimits, DEFAULT_LIMITS, DEFAULT_QUOTA, ProfileQuota, tenantLimitIssues } from '../core/tenant-limits';
import { dnsLabel, ipv4Cidr } from './primitives';

/**
 * Tenancy configuration: the teams (profiles) of a multi-user platform, their owners and contributors, quotas and
 * LimitRanges (environment defaults with per-profile overrides), and whether users may register profiles themselves.
 */

const quantity = (example: string) => z.string().regex(QUANTITY_PATTERN, `must be a Kubernetes quantity such as ${example}`);
const count = (what: string) => z.number().int(`${what} must be a whole number`).min(0, `${what} must be 0 or more`);
/**
 * Longest user id: KFAM names a contributor's RoleBinding and AuthorizationPolicy `user-<id>-clusterrole-<role>`, and
 * Kubernetes names are at most 253 characters.
 */
export const MAX_USER_ID_LENGTH = 253 - 'user--clusterrole-admin'.length;
const userId = z.string().min(1, 'must not be empty')
  .max(MAX_USER_ID_LENGTH, `must be at most ${MAX_USER_ID_LENGTH} characters: KFAM names RoleBindings user-<id>-clusterrole-<role>, and Kubernetes names at most 253`)
  .regex(/^[\x21-\x7e]+$/, 'must be a user id without spaces, as the gateway\'s user-id header carries it (e.g. alice@example.com)');
const role = z.enum(['admin', 'edit', 'view']);

const quotaSchema = z.strictObject({
  cpu: quantity('8').optional().meta({ description: 'Sum of CPU requests (requests.cpu).' }),
  memory: quantity('32Gi').optional().meta({ description: 'Sum of memory requests (requests.memory).' }),
  cpuLimit: quantity('16').optional().meta({ description: 'Sum of CPU limits (limits.cpu).' }),
  memoryLimit: quantity('64Gi').optional().meta({ description: 'Sum of memory limits (limits.memory).' }),
  gpus: count('gpus').optional().meta({ description: 'NVIDIA GPUs (requests.nvidia.com/gpu); needs a GPU pool in gpu.pools when above 0.' }),
  storage: quantity('100Gi').optional().meta({ description: 'Sum of volume sizes (requests.storage).' }),
  persistentVolumeClaims: count('persistentVolumeClaims').optional().meta({ description: 'Number of PersistentVolumeClaims.' }),
  pods: count('pods').optional().meta({ description: 'Number of pods.' }),
  services: count('services').optional().meta({ description: 'Number of Services.' }),
  loadBalancers: count('loadBalancers').optional().meta({ description: 'Services of type LoadBalancer (0 keeps tenants off cloud load balancers).' }),
  nodePorts: count('nodePorts').optional().meta({ description: 'Services of type NodePort.' }),
});

const compute = z.strictObject({
  cpu: quantity('500m').optional(),
  memory: quantity('1Gi').optional(),
});

const limitsSchema = z.strictObject({
  defaultRequest: compute.optional().meta({ description: 'Requests of a container that sets none.' }),
  default: compute.optional().meta({ description: 'Limits of a container that sets none.' }),
  max: compute.optional().meta({ description: 'Largest limits of one container. Default: the quota\'s totals.' }),
  maxGpus: count('maxGpus').optional().meta({ description: 'Most GPUs of one container. Default: the quota\'s gpus.' }),
  maxVolumeSize: quantity('50Gi').optional().meta({ description: 'Largest PersistentVolumeClaim. Default: the quota\'s storage.' }),
});

const egressSchema = z.strictObject({
  cidr: ipv4Cidr,
  ports: z.array(z.number().int().min(1, 'must be 1-65535').max(65535, 'must be 1-65535')).min(1, 'must list at least one port'),
}).meta({ description: 'Addresses outside the cluster the profile\'s pods may reach (a package mirror, an API).' });

const contributorSchema = z.union([
  z.strictObject({ user: userId, role }),
  z.strictObject({ group: dnsLabel('group'), role }),
]).meta({ description: 'A user ({ user, role }) or a group of tenancy.groups ({ group, role }); role admin, edit or view.' });

const podSecurity = z.enum(['baseline', 'restricted']);

const defaultsSchema = z.strictObject({
  podSecurity: podSecurity.default('baseline').meta({
    description: 'Pod Security level of profile namespaces: baseline (upstream\'s; pipeline steps, notebooks and trials run users\' images) '
      + 'or restricted (non-root images only). Default: baseline.',
  }),
  quota: quotaSchema.optional().meta({ description: 'Quota of every profile, key by key over kfkit\'s (8 CPU, 32Gi memory requests, 64Gi limits, 0 GPUs, 100Gi storage, 20 volumes, 100 pods, 20 Services, no LoadBalancer/NodePort).' }),
  limits: limitsSchema.optional().meta({ description: 'LimitRange of every profile, over kfkit\'s (default request 100m/256Mi, default limit 2/2Gi, maxima from the quota).' }),
  egress: z.array(egressSchema).default([]).meta({ description: 'Egress every profile may open. Default: none.' }),
}).prefault({});

const profileSchema = z.strictObject({
  name: dnsLabel('profile name').meta({ description: 'Profile and namespace name.' }),
  owner: userId.meta({ description: 'The owning user (admin of the namespace).' }),
  contributors: z.array(contributorSchema).default([]).meta({ description: 'Other users and groups, with their role.' }),
  podSecurity: podSecurity.optional().meta({ description: 'Pod Security level. Default: tenancy.defaults.podSecurity.' }),
  quota: quotaSchema.optional().meta({ description: 'Quota keys overriding tenancy.defaults.quota.' }),
  limits: limitsSchema.optional().meta({ description: 'LimitRange keys overriding tenancy.defaults.limits.' }),
  egress: z.array(egressSchema).optional().meta({ description: 'Egress of this profile, in addition to tenancy.defaults.egress.' }),
});

/** Schema of `tenancy`. */
export const tenancySchema = z.strictObject({
  selfRegistration: z.boolean().default(false).meta({
    description: 'Let users without a profile create one from the dashboard (upstream REGISTRATION_FLOW). Such profiles are made by the '
      + 'profile controller alone: no quota, LimitRange or network isolation from kfkit. Default: false.',
  }),
  defaults: defaultsSchema,
  groups: z.record(dnsLabel('group name'), z.array(userId).min(1, 'a group needs at least one member')).default({})
    .meta({ description: 'Named lists of users, usable as contributors ({ group, role }); each member gets a binding of their own.' }),
  profiles: z.array(profileSchema).default([]).meta({ description: 'The teams. Default: none.' }),
}).prefault({});

export type TenancyConfig = z.output<typeof tenancySchema>;
type ProfileConfig = TenancyConfig['profiles'][number];

/** One profile with the defaults applied and groups expanded: what the platform hands the Profile construct. */
export interface ResolvedProfile {
  readonly name: string;
  readonly owner: string;
  readonly podSecurity: 'baseline' | 'restricted';
  readonly quota: ProfileQuota;
  readonly limits: ContainerLimits;
  readonly contributors: readonly { readonly user: string; readonly role: 'admin' | 'edit' | 'view' }[];
  readonly egress: readonly { readonly cidr: string; readonly ports: readonly number[] }[];
}

function drop<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The profile with the environment's defaults under it and its groups expanded to users. */
export function resolveProfile(tenancy: TenancyConfig, p: ProfileConfig): ResolvedProfile {
  const d = tenancy.defaults;
  const quota: ProfileQuota = { ...DEFAULT_QUOTA, ...drop(d.quota), ...drop(p.quota) };
  const merged = (key: 'defaultRequest' | 'default' | 'max') => {
    const value = { ...drop(DEFAULT_LIMITS[key]), ...drop(d.limits?.[key]), ...drop(p.limits?.[key]) };
    return Object.keys(value).length > 0 ? value : undefined;
  };
  const limits: ContainerLimits = {
    defaultRequest: merged('defaultRequest') ?? {},
    default: merged('default') ?? {},
    max: merged('max'),
    maxGpus: p.limits?.maxGpus ?? d.limits?.maxGpus,
    maxVolumeSize: p.limits?.maxVolumeSize ?? d.limits?.maxVolumeSize,
  };
  const contributors = p.contributors.flatMap((c) => ('user' in c
    ? [{ user: c.user, role: c.role }]
    : (tenancy.groups[c.group] ?? []).map((user) => ({ user, role: c.role }))));
  return {
    name: p.name, owner: p.owner, podSecurity: p.podSecurity ?? d.podSecurity, quota, limits, contributors,
    egress: [...d.egress, ...(p.egress ?? [])],
  };
}

/** What the tenancy rules read of the rest of the configuration. */
export interface TenancyContext extends GpuPoolsConfig {
  readonly tenancy: TenancyConfig;
  /** Whether multi-user Pipelines (and with it the profile controller) is installed. */
  readonly multiUser: boolean;
  /** Namespaces the platform uses, which no profile may take. */
  readonly platformNamespaces: readonly string[];
  /** Per-profile IAM roles (cloud.aws.roles.profiles), when the artifact store is S3 with IRSA; else undefined. */
  readonly irsaProfileRoles?: Readonly<Record<string, string>>;
}

/** A problem at a field path. */
export interface TenancyIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Cross-field rules of tenancy: owners, duplicates, namespaces, contributors, quota vs LimitRange, GPUs, IAM roles. */
export function tenancyIssues(c: TenancyContext): TenancyIssue[] {
  const issues: TenancyIssue[] = [];
  const t = c.tenancy;
  const at = (...path: (string | number)[]) => (message: string): void => {
    issues.push({ path: ['tenancy', ...path], message });
  };
  if (!c.multiUser && (t.profiles.length > 0 || t.selfRegistration)) {
    at(t.profiles.length > 0 ? 'profiles' : 'selfRegistration')(
      'profiles need the profile controller, which kfkit installs with multi-user Pipelines: set pipelines.mode to multi-user');
  }
  for (const issue of tenantLimitIssues({ ...DEFAULT_QUOTA, ...drop(t.defaults.quota) }, resolveProfile(t, { name: 'x', owner: 'x', contributors: [] }).limits)) {
    at('defaults', ...issue.path)(issue.message);
  }
  for (const [group, members] of Object.entries(t.groups)) {
    members.forEach((m, i) => {
      if (members.indexOf(m) !== i) at('groups', group, i)(`${m} is listed twice in group ${group}`);
    });
  }
  const names = new Map<string, number>();
  const reserved = new Set(c.platformNamespaces);
  t.profiles.forEach((p, i) => {
    const first = names.get(p.name);
    if (first !== undefined) at('profiles', i, 'name')(`duplicate profile "${p.name}" (also tenancy.profiles[${first}])`);
    else names.set(p.name, i);
    if (reserved.has(p.name) || p.name.startsWith('kube-')) {
      at('profiles', i, 'name')(`"${p.name}" is a namespace the platform or Kubernetes uses (${[...reserved].sort().join(', ')}, kube-*); choose another name`);
    }
    const seen = new Map<string, string>();
    p.contributors.forEach((contributor, j) => {
      const here = at('profiles', i, 'contributors', j);
      if ('group' in contributor && !Object.hasOwn(t.groups, contributor.group)) {
        here(`group "${contributor.group}" is not in tenancy.groups (defined: ${Object.keys(t.groups).sort().join(', ') || 'none'})`);
        return;
      }
      const users = 'user' in contributor ? [contributor.user] : t.groups[contributor.group];
      for (const user of users) {
        const where = 'user' in contributor ? 'user' : `group ${contributor.group}`;
        if (user === p.owner) here(`${user} (${where}) owns the profile and is its admin already; remove them here`);
        else if (seen.has(user)) here(`${user} (${where}) is a contributor already (${seen.get(user)}); give each user one role`);
        else seen.set(user, `${where}, role ${contributor.role}`);
      }
    });
    const resolved = resolveProfile(t, p);
    // At the profile's field, whether the profile or the defaults set it: the profile is what does not fit.
    for (const issue of tenantLimitIssues(resolved.quota, resolved.limits)) at('profiles', i, ...issue.path)(issue.message);
    for (const issue of gpuQuotaIssues(c, resolved.quota.gpus ?? 0, ['tenancy', 'profiles', i, 'quota', 'gpus'])) issues.push(issue);
    if (c.irsaProfileRoles !== undefined && !Object.hasOwn(c.irsaProfileRoles, p.name)) {
      issues.push({
        path: ['cloud', 'aws', 'roles', 'profiles'],
        message: `the artifact store uses IRSA, so profile ${p.name} needs its IAM role here (${p.name}: arn:aws:iam::<account>:role/<name>); `
          + 'the AWS cloud stack creates one per entry of its kfkit:profiles list',
      });
    }
  });
  return issues;
}
