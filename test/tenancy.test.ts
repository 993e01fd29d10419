import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { parse } from 'yaml';
import { IstioMesh } from '../lib/components/istio';
import { contributorBindingName, Profile, ProfileProps } from '../lib/components/profile';
import { ProfilesController } from '../lib/components/profiles';
import { ConfigError, resolveConfig } from '../lib/config/load';
import { PlatformConfig } from '../lib/config/schema';
import { declareExternalCertManager } from '../lib/core/cert-manager';
import { KfkitContext } from '../lib/core/context';
import { GPU_RESOURCE } from '../lib/core/tenant-limits';
import { KubeflowPlatform } from '../lib/platform';
import { collect, Synthesized } from '../lib/synth/collect';
import { checkPlatform } from '../lib/synth/index';
import { PlacedObject } from '../lib/validate/types';
import { STACKS } from '../stacks';
import { loadDist } from '../lib/validate/load';
import { validate } from '../lib/validate/harness';
import { cli, configIssuePaths, ROOT, tmpdir } from './helpers';

// ---------------------------------------------------------------------------------------------------------------
// The local-auth overlay (multi-user, two teams) and variants of it.
// ---------------------------------------------------------------------------------------------------------------

const BASE = parse(fs.readFileSync(path.join(ROOT, 'overlays', 'local-auth.yaml'), 'utf8')) as Record<string, unknown>;
const HEADERS = { userId: 'kubeflow-userid', userIdPrefix: '', groups: 'kubeflow-groups' };

function config(tenancy: Record<string, unknown> = BASE.tenancy as Record<string, unknown>, extra: Record<string, unknown> = {}): PlatformConfig {
  return resolveConfig({ ...BASE, tenancy, ...extra }, STACKS);
}

function synth(c: PlatformConfig): Synthesized {
  return collect(new KubeflowPlatform(new App(), 'kfkit', { config: c }));
}

type Obj = PlacedObject['manifest'] & { spec?: Record<string, unknown>; data?: Record<string, string> };
const m = (o: PlacedObject) => o.manifest as Obj;
const ofKind = (s: Synthesized, kind: string, namespace?: string) =>
  s.objects.filter((o) => o.manifest.kind === kind && (namespace === undefined || o.manifest.metadata.namespace === namespace));
const get = (s: Synthesized, kind: string, name: string, namespace?: string): PlacedObject => {
  const found = ofKind(s, kind, namespace).find((o) => o.manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${namespace ?? ''}/${name}`);
  return found;
};

const THREE_TEAMS = {
  groups: { platform: ['carol@example.com', 'dan@example.com'] },
  defaults: { quota: { cpu: '4', memory: '8Gi', memoryLimit: '16Gi', storage: '20Gi' } },
  profiles: [
    { name: 'team-a', owner: 'alice@example.com', contributors: [{ user: 'bob@example.com', role: 'edit' }, { group: 'platform', role: 'view' }] },
    { name: 'team-b', owner: 'bob@example.com', podSecurity: 'restricted', quota: { cpu: '2', storage: '10Gi' } },
    { name: 'team-ab', owner: 'carol@example.com', egress: [{ cidr: '203.0.113.0/24', ports: [443] }] },
  ],
};

describe('a platform with several profiles', () => {
  const s = synth(config(THREE_TEAMS));
  const profiles = ofKind(s, 'Profile');
  const names = profiles.map((p) => p.manifest.metadata.name);

  test('synthesizes and passes the harness and the fidelity check', () => {
    expect(names).toEqual(['team-a', 'team-ab', 'team-b']);
    expect(checkPlatform(s, config(THREE_TEAMS))).toEqual([]);
  });

  test('the local-auth overlay, as committed, passes too', () => {
    const c = config();
    expect(c.tenancy.profiles.map((p) => p.name)).toEqual(['team-a', 'team-b']);
    expect(checkPlatform(synth(c), c)).toEqual([]);
  });

  test('each namespace carries the owner annotation the controller adopts by, its labels and Pod Security', () => {
    for (const p of profiles) {
      const ns = get(s, 'Namespace', p.manifest.metadata.name);
      const owner = (m(p).spec?.owner as { name: string }).name;
      expect(ns.manifest.metadata.annotations?.owner).toBe(owner);
      expect(ns.manifest.metadata.labels).toMatchObject({
        'app.kubernetes.io/part-of': 'kubeflow-profile', 'istio-injection': 'enabled', 'pipelines.kubeflow.org/enabled': 'true',
        'katib.kubeflow.org/metrics-collector-injection': 'enabled', 'serving.kubeflow.org/inferenceservice': 'enabled',
      });
      expect(ns.waveName).toBe('namespaces');
    }
    expect(get(s, 'Namespace', 'team-a').manifest.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(get(s, 'Namespace', 'team-b').manifest.metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  test('the quota is the Profile\'s resourceQuotaSpec (defaults under per-profile keys), and kfkit writes no ResourceQuota', () => {
    expect(ofKind(s, 'ResourceQuota')).toEqual([]);
    const hard = (name: string) => (m(get(s, 'Profile', name)).spec?.resourceQuotaSpec as { hard: Record<string, string> }).hard;
    expect(hard('team-a')).toEqual({
      'limits.memory': '16Gi', persistentvolumeclaims: '20', pods: '100', 'requests.cpu': '4', 'requests.memory': '8Gi',
      [`requests.${GPU_RESOURCE}`]: '0', 'requests.storage': '20Gi', services: '20', 'services.loadbalancers': '0', 'services.nodeports': '0',
    });
    expect(hard('team-b')).toMatchObject({ 'requests.cpu': '2', 'requests.storage': '10Gi', 'requests.memory': '8Gi' });
  });

  test('every profile has a LimitRange covering every resource its quota limits', () => {
    for (const p of profiles) {
      const ns = p.manifest.metadata.name;
      const hard = (m(p).spec?.resourceQuotaSpec as { hard: Record<string, string> }).hard;
      const ranges = ofKind(s, 'LimitRange', ns);
      expect(ranges).toHaveLength(1);
      type Item = { type: string; default?: Record<string, string>; defaultRequest?: Record<string, string>; max?: Record<string, string> };
      const items = (m(ranges[0]).spec?.limits ?? []) as Item[];
      const container = items.find((i) => i.type === 'Container');
      const volume = items.find((i) => i.type === 'PersistentVolumeClaim');
      for (const key of Object.keys(hard)) {
        const resource = key.replace(/^(requests|limits)\./, '');
        if (resource === 'cpu' || resource === 'memory') {
          expect([ns, key, container?.default?.[resource], container?.defaultRequest?.[resource]].every((v) => v !== undefined)).toBe(true);
          expect(container?.max?.[resource]).toBeDefined();
        } else if (resource === GPU_RESOURCE) {
          expect(container?.max?.[GPU_RESOURCE]).toBe(hard[key]);
          expect(container?.default?.[GPU_RESOURCE]).toBeUndefined();
        } else if (resource === 'storage') {
          expect(volume?.max?.storage).toBe(hard[key]);
        }
      }
    }
  });

  test('every profile namespace is default-deny, before anything else of the profile; DNS in the profile\'s own policy', () => {
    for (const ns of names) {
      const deny = get(s, 'NetworkPolicy', 'default-deny', ns);
      expect(m(deny).spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      expect(deny.waveName).toBe('isolation');
      const egress = JSON.stringify(m(get(s, 'NetworkPolicy', 'profile-allow', ns)).spec?.egress);
      expect(egress).toContain('"k8s-app":"kube-dns"');
      expect(ofKind(s, 'NetworkPolicy', ns).some((p) => p.manifest.metadata.name === 'allow-dns')).toBe(false);
    }
  });

  test('no path from a profile to the metadata database: no egress rule of a profile namespace names its pods or ports', () => {
    const db = s.objects.find((o) => o.manifest.kind === 'StatefulSet' && /mysql|postgres/.test(o.manifest.metadata.name));
    const dbLabels = (m(db as PlacedObject).spec?.selector as { matchLabels: Record<string, string> }).matchLabels;
    for (const ns of names) {
      for (const policy of ofKind(s, 'NetworkPolicy', ns)) {
        type Rule = { to?: { podSelector?: { matchLabels?: Record<string, string> } }[]; ports?: { port: number }[] };
        for (const rule of (m(policy).spec?.egress ?? []) as Rule[]) {
          for (const to of rule.to ?? []) {
            const labels = to.podSelector?.matchLabels ?? {};
            const selectsDb = Object.keys(labels).length > 0 && Object.entries(labels).every(([k, v]) => dbLabels[k] === v);
            expect([policy.manifest.metadata.name, selectsDb]).toEqual([policy.manifest.metadata.name, false]);
          }
          expect((rule.ports ?? []).map((p) => p.port)).not.toEqual(expect.arrayContaining([3306]));
        }
      }
    }
  });

  test('the gateway reaches profile pods (any port) through one policy admitting every profile namespace', () => {
    const allow = m(get(s, 'NetworkPolicy', 'profile-allow', 'team-a'));
    expect(allow.spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(JSON.stringify(allow.spec?.ingress)).toContain('istio-ingressgateway');
    const egress = ofKind(s, 'NetworkPolicy', 'istio-system').filter((o) => o.manifest.metadata.name.endsWith('-to-profiles'));
    expect(egress).toHaveLength(1);
    expect(JSON.stringify(m(egress[0]).spec)).toContain('"app.kubernetes.io/part-of":"kubeflow-profile"');
  });

  test('egress to addresses outside the cluster only where the profile asks for it', () => {
    const egress = (ns: string) => JSON.stringify(m(get(s, 'NetworkPolicy', 'profile-allow', ns)).spec?.egress);
    expect(egress('team-ab')).toContain('203.0.113.0/24');
    expect(egress('team-a')).not.toContain('203.0.113.0/24');
    expect(egress('team-a')).not.toContain('0.0.0.0/0');
  });

  test('contributors: KFAM\'s names and annotations, groups expanded to their members', () => {
    const bindings = ofKind(s, 'RoleBinding', 'team-a').filter((o) => o.manifest.metadata.annotations?.user !== undefined);
    expect(bindings.map((b) => [b.manifest.metadata.name, b.manifest.metadata.annotations?.user, b.manifest.metadata.annotations?.role])).toEqual([
      ['user-bob-example-com-clusterrole-edit', 'bob@example.com', 'edit'],
      ['user-carol-example-com-clusterrole-view', 'carol@example.com', 'view'],
      ['user-dan-example-com-clusterrole-view', 'dan@example.com', 'view'],
    ]);
    const bob = m(get(s, 'RoleBinding', 'user-bob-example-com-clusterrole-edit', 'team-a')) as Obj & { roleRef: unknown; subjects: unknown };
    expect(bob.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubeflow-edit' });
    expect(bob.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob@example.com' }]);
    const policy = m(get(s, 'AuthorizationPolicy', 'user-bob-example-com-clusterrole-edit', 'team-a'));
    expect(policy.metadata.annotations).toMatchObject({ user: 'bob@example.com', role: 'edit' });
    expect(policy.spec?.rules).toEqual([{
      from: [{ source: { principals: ['cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account', 'cluster.local/ns/kubeflow/sa/ml-pipeline-ui'] } }],
      when: [{ key: 'request.headers[kubeflow-userid]', values: ['bob@example.com'] }],
    }]);
  });

  test('a profile\'s artifact credential reaches its own prefix and no other profile\'s', () => {
    const keys = m(get(s, 'ConfigMap', 'profile-artifact-keys', 'kubeflow'));
    const spec = JSON.parse(keys.data?.['profiles.json'] ?? '{}') as { profiles: { namespace: string; policy: { Statement: { Resource: string[] }[] } }[] };
    expect(spec.profiles.map((p) => p.namespace)).toEqual(names);
    for (const p of spec.profiles) {
      const resources = p.policy.Statement.flatMap((st) => st.Resource);
      expect(resources).toEqual([`arn:aws:s3:::mlpipeline/private-artifacts/${p.namespace}/*`]);
      for (const other of names.filter((n) => n !== p.namespace)) {
        const key = `mlpipeline/private-artifacts/${other}/run/artifact.tgz`;
        // SeaweedFS grants a wildcard action on keys that start with the part before the `*`.
        expect(resources.some((r) => key.startsWith(r.replace('arn:aws:s3:::', '').replace(/\*$/, '')))).toBe(false);
      }
    }
    const job = ofKind(s, 'Job', 'kubeflow').find((o) => o.manifest.metadata.name.startsWith('profile-artifact-keys-'));
    expect(job?.waveName).toBe('tenant-credentials');
    expect(job?.manifest.metadata.annotations?.['kfkit.dev/provides']).toBe(names.map((n) => `Secret/${n}/mlpipeline-minio-artifact`).join(','));
    // It may create Secrets and read the one it keeps, in profile namespaces only.
    for (const ns of names) expect(m(get(s, 'RoleBinding', 'profile-artifact-keys', ns)).metadata.namespace).toBe(ns);
    expect(ofKind(s, 'ClusterRoleBinding').some((o) => o.manifest.metadata.name === 'profile-artifact-keys')).toBe(false);
    expect(JSON.stringify(job?.manifest)).not.toMatch(/secretkey":"[^$]/);
  });

  test('self-registration is the dashboard\'s REGISTRATION_FLOW, off by default', () => {
    const flow = (c: PlatformConfig) => JSON.stringify(m(get(synth(c), 'Deployment', 'centraldashboard', 'kubeflow')).spec).match(/"REGISTRATION_FLOW","value":"(\w+)"/)?.[1];
    expect(flow(config(THREE_TEAMS))).toBe('false');
    expect(flow(config({ ...THREE_TEAMS, selfRegistration: true }))).toBe('true');
  });

  test('adding a profile adds its objects and changes nothing else but the shared keys Job and the ApplySet\'s namespaces', () => {
    const more = synth(config({ ...THREE_TEAMS, profiles: [...THREE_TEAMS.profiles, { name: 'team-c', owner: 'erin@example.com' }] }));
    const key = (o: PlacedObject) => `${o.manifest.kind}/${o.manifest.metadata.namespace ?? ''}/${o.manifest.metadata.name}`;
    const before = new Map(s.objects.map((o) => [key(o), JSON.stringify(o.manifest)]));
    const changed = more.objects.filter((o) => before.has(key(o)) && before.get(key(o)) !== JSON.stringify(o.manifest)).map(key);
    // The ApplySet parent lists the members' namespaces, the new team's among them.
    expect(changed).toEqual(['ConfigMap/kubeflow/kfkit-applyset', 'ConfigMap/kubeflow/profile-artifact-keys']);
    const added = more.objects.filter((o) => !before.has(key(o))).map(key);
    expect(added.filter((k) => !k.includes('team-c') && !k.startsWith('Job/kubeflow/profile-artifact-keys-'))).toEqual([]);
  });
});

describe('configuration rules', () => {
  const paths = (tenancy: Record<string, unknown>, extra: Record<string, unknown> = {}) => configIssuePaths(() => config(tenancy, extra));
  const message = (tenancy: Record<string, unknown>, extra: Record<string, unknown> = {}): string => {
    try {
      config(tenancy, extra);
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    throw new Error('expected a ConfigError');
  };
  const team = (over: Record<string, unknown> = {}) => ({ name: 'team-a', owner: 'alice@example.com', ...over });

  test.each([
    ['a duplicate profile', { profiles: [team(), team()] }, 'tenancy.profiles[1].name', /duplicate profile "team-a"/],
    ['a profile without an owner', { profiles: [{ name: 'team-a' }] }, 'tenancy.profiles[0].owner', /./],
    ['an owner with spaces', { profiles: [team({ owner: 'alice smith' })] }, 'tenancy.profiles[0].owner', /user id without spaces/],
    ['a name that is not a DNS label', { profiles: [team({ name: 'Team_A' })] }, 'tenancy.profiles[0].name', /DNS label/],
    ['the platform namespace', { profiles: [team({ name: 'kubeflow' })] }, 'tenancy.profiles[0].name', /a namespace the platform or Kubernetes uses/],
    ['istio-system', { profiles: [team({ name: 'istio-system' })] }, 'tenancy.profiles[0].name', /platform or Kubernetes uses/],
    ['kube-flow-ish system names', { profiles: [team({ name: 'kube-team' })] }, 'tenancy.profiles[0].name', /kube-\*/],
    ['the owner as contributor', { profiles: [team({ contributors: [{ user: 'alice@example.com', role: 'edit' }] })] }, 'tenancy.profiles[0].contributors[0]', /owns the profile/],
    ['a contributor twice', { groups: { g: ['bob@example.com'] }, profiles: [team({ contributors: [{ user: 'bob@example.com', role: 'edit' }, { group: 'g', role: 'view' }] })] },
      'tenancy.profiles[0].contributors[1]', /is a contributor already/],
    ['an unknown group', { profiles: [team({ contributors: [{ group: 'nobody', role: 'view' }] })] }, 'tenancy.profiles[0].contributors[0]', /not in tenancy.groups/],
    ['an unknown role', { profiles: [team({ contributors: [{ user: 'bob@example.com', role: 'owner' }] })] }, 'tenancy.profiles[0].contributors[0]', /./],
    ['a quota below the LimitRange maximum', { profiles: [team({ quota: { memory: '2Gi', memoryLimit: '4Gi' }, limits: { max: { memory: '8Gi' } } })] },
      'tenancy.profiles[0].quota.memoryLimit', /below the LimitRange maximum 8Gi/],
    ['a default limit above the maximum', { profiles: [team({ limits: { default: { cpu: '4' }, max: { cpu: '2' } } })] },
      'tenancy.profiles[0].limits.default.cpu', /above the most one container may use/],
    ['requests above limits', { profiles: [team({ quota: { memory: '80Gi' } })] }, 'tenancy.profiles[0].quota.memory', /exceed the limits 64Gi/],
    ['a volume larger than the storage quota', { profiles: [team({ limits: { maxVolumeSize: '200Gi' } })] }, 'tenancy.profiles[0].limits.maxVolumeSize', /above the quota's storage/],
    ['GPUs without GPU pools', { profiles: [team({ quota: { gpus: 2 } })] }, 'tenancy.profiles[0].quota.gpus', /needs a GPU pool/],
    ['bad defaults', { defaults: { limits: { defaultRequest: { cpu: '3' } } }, profiles: [] }, 'tenancy.defaults.limits.defaultRequest.cpu', /above the default limit 2/],
    ['a non-quantity', { profiles: [team({ quota: { cpu: 'lots' } })] }, 'tenancy.profiles[0].quota.cpu', /Kubernetes quantity/],
    ['an egress rule without ports', { profiles: [team({ egress: [{ cidr: '10.0.0.0/8', ports: [] }] })] }, 'tenancy.profiles[0].egress[0].ports', /at least one port/],
  ])('%s is rejected at its field', (_what, tenancy, field, text) => {
    expect(paths(tenancy)).toContain(field);
    expect(message(tenancy)).toMatch(text);
  });

  test('profiles need multi-user Pipelines', () => {
    expect(paths({ profiles: [team()] }, { pipelines: { mode: 'standalone' } })).toEqual(['tenancy.profiles']);
  });

  test('GPU quotas are fine with a GPU pool', () => {
    const c = config({ profiles: [team({ quota: { gpus: 2 } })] }, { gpu: { pools: [{ name: 'a10', devicePlugin: 'managed' }] } });
    expect(c.tenancy.profiles[0].quota?.gpus).toBe(2);
  });

  test('a shared key pair for an external store is refused: profiles need keys of their own', () => {
    const store = { type: 'external', provider: 's3-compatible', endpoint: 'minio.example.com', region: 'us-east-1', bucket: 'kfp',
      credentials: { type: 'secret', secretName: 'store-keys' }, cidrs: ['10.96.50.0/24'] };
    expect(paths({ profiles: [team()] }, { objectStore: store, backup: { enabled: false } })).toEqual(['objectStore.credentials.type']);
  });

  test('with IRSA, every profile needs its role in cloud.aws.roles.profiles', () => {
    const aws = { region: 'eu-west-1', oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/x', roles: { pipelines: 'arn:aws:iam::123456789012:role/p' } };
    const store = { type: 'external', provider: 's3', bucket: 'kfp', credentials: { type: 'irsa' }, cidrs: ['10.10.0.0/16'] };
    const extra = { objectStore: store, cloud: { aws }, backup: { enabled: false } };
    expect(paths({ profiles: [team()] }, extra)).toEqual(['cloud.aws.roles.profiles']);
    const ok = config({ profiles: [team()] }, { ...extra, cloud: { aws: { ...aws, roles: { ...aws.roles, profiles: { 'team-a': 'arn:aws:iam::123456789012:role/team-a' } } } } });
    const s = synth(ok);
    expect(checkPlatform(s, ok)).toEqual([]);
    const profile = m(get(s, 'Profile', 'team-a'));
    expect(profile.spec?.plugins).toEqual([{ kind: 'AwsIamForServiceAccount', spec: { awsIamRole: 'arn:aws:iam::123456789012:role/team-a', annotateOnly: true } }]);
    expect(ofKind(s, 'Job', 'kubeflow').some((o) => o.manifest.metadata.name.startsWith('profile-artifact-keys'))).toBe(false);
  });
});

describe('the Profile construct', () => {
  function fixture(): { chart: Chart; controller: ProfilesController } {
    const chart = new Chart(new App(), 't', { disableResourceNameHashes: true });
    const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
    declareExternalCertManager(ctx, '1.19');
    const mesh = new IstioMesh(chart, 'Mesh', { mode: 'external' });
    return { chart, controller: new ProfilesController(chart, 'Profiles', { userHeaders: HEADERS, mesh }) };
  }
  const build = (over: Partial<ProfileProps>) => {
    const { chart, controller } = fixture();
    return new Profile(chart, 'P', { name: 'team-a', owner: 'alice@example.com', controller, ...over });
  };

  test('KFAM\'s binding names', () => {
    expect(contributorBindingName('bob@example.com', 'edit')).toBe('user-bob-example-com-clusterrole-edit');
    expect(contributorBindingName('Jane.Doe+ml@Corp.example', 'view')).toBe('user-jane-doe-ml-corp-example-clusterrole-view');
  });

  test('defaults: baseline, kfkit\'s quota and LimitRange', () => {
    const { chart, controller } = fixture();
    const p = new Profile(chart, 'P', { name: 'team-a', owner: 'alice@example.com', controller });
    expect(p.quotaHard['requests.cpu']).toBe('8');
    const s = collect(chart);
    expect(get(s, 'Namespace', 'team-a').manifest.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(get(s, 'LimitRange', 'kfkit-limits', 'team-a').waveName).toBe('tenants');
  });

  test.each([
    ['a name that is not a namespace name', { name: 'Team A' }, /name must be a DNS label/],
    ['the controller\'s namespace', { name: 'kubeflow' }, /is the platform namespace/],
    ['a system namespace', { name: 'kube-system' }, /Kubernetes system namespace/],
    ['the privileged level', { podSecurity: 'privileged' as never }, /podSecurity "privileged" must be baseline or restricted/],
    ['a quota below the maximum', { quota: { memory: '1Gi' }, limits: { defaultRequest: { memory: '256Mi' }, default: { memory: '512Mi' }, max: { memory: '2Gi' } } },
      /quota.memory: 1Gi is below the LimitRange maximum 2Gi/],
    ['a contributor listed twice', { contributors: [{ user: 'b@example.com', role: 'edit' as const }, { user: 'b@example.com', role: 'view' as const }] }, /listed twice/],
    ['the owner as contributor', { contributors: [{ user: 'alice@example.com', role: 'view' as const }] }, /owns the profile/],
    ['an IAM role without the controller\'s plugin', { awsRoleArn: 'arn:aws:iam::123456789012:role/team-a' }, /needs the profile controller's AwsIamForServiceAccount plugin/],
    ['a bad egress block', { egress: [{ cidr: 'example.com', ports: [{ port: 443 }] }] }, /egress\[0\].cidr "example.com" must be an IPv4 CIDR block/],
    ['a bad prefix', { artifactPrefix: '/x/' }, /artifactPrefix "\/x\/" must be a key prefix/],
  ])('refuses %s', (_what, over, error) => {
    expect(() => build(over)).toThrow(error);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The provisioning program of ProfileArtifactKeys, run against a fake Kubernetes API and a fake SeaweedFS IAM API.
// ---------------------------------------------------------------------------------------------------------------

interface IamUser { keys: Record<string, string>; policies: Record<string, unknown> }
interface KeysRun { secrets: Record<string, Record<string, string>>; users: Record<string, IamUser>; actions: string[] }

function runKeysJob(s: Synthesized, secrets: Record<string, Record<string, string>>, users: Record<string, IamUser>): KeysRun {
  const job = s.objects.find((o) => o.manifest.kind === 'Job' && o.manifest.metadata.name.startsWith('profile-artifact-keys-')) as PlacedObject;
  type Container = { command: string[]; args: string[]; env: { name: string; value?: string }[] };
  const c = (job.manifest as unknown as { spec: { template: { spec: { containers: Container[] } } } }).spec.template.spec.containers[0];
  const config = (get(s, 'ConfigMap', 'profile-artifact-keys', 'kubeflow').manifest as unknown as { data: Record<string, string> }).data['profiles.json'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kfkit-keys-'));
  fs.writeFileSync(path.join(dir, 'profiles.json'), config);
  const iam = c.env.find((e) => e.name === 'IAM_ENDPOINT')?.value ?? '';
  const harness = `
import base64, builtins, hashlib, io, json, os, ssl, sys, urllib.error, urllib.parse, urllib.request
program, secrets_, users, argv, iam = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
actions = []
class Response:
    def __init__(self, body): self.body = body
    def read(self): return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
def fail(req, code, text): raise urllib.error.HTTPError(req.full_url, code, 'error', {}, io.BytesIO(text.encode()))
def urlopen(req, context=None, timeout=None):
    if req.full_url.startswith(iam):
        assert req.get_header('Authorization').startswith('AWS4-HMAC-SHA256 Credential=admin-key/'), req.get_header('Authorization')
        assert req.get_header('X-amz-content-sha256') == hashlib.sha256(req.data).hexdigest()
        p = {k: v[0] for k, v in urllib.parse.parse_qs(req.data.decode()).items()}
        a, u = p['Action'], p.get('UserName')
        actions.append(a)
        if a == 'GetUser':
            return Response(b'<GetUserResponse/>') if u in users else fail(req, 404, '<Error><Code>NoSuchEntity</Code></Error>')
        if a == 'CreateUser':
            users[u] = {'keys': {}, 'policies': {}}; return Response(b'<CreateUserResponse/>')
        if a == 'ListAccessKeys':
            return Response(('<R>' + ''.join('<AccessKeyId>%s</AccessKeyId>' % k for k in users[u]['keys']) + '</R>').encode())
        if a == 'CreateAccessKey':
            users[u]['keys'][p['AccessKeyId']] = p['SecretAccessKey']; return Response(b'<CreateAccessKeyResponse/>')
        if a == 'PutUserPolicy':
            users[u]['policies'][p['PolicyName']] = json.loads(p['PolicyDocument']); return Response(b'<PutUserPolicyResponse/>')
        return fail(req, 400, 'unknown action ' + a)
    ns = req.full_url.split('/namespaces/', 1)[1].split('/')[0]
    if req.get_method() == 'GET':
        if ns not in secrets_: fail(req, 404, '{}')
        return Response({'data': {k: base64.b64encode(v.encode()).decode() for k, v in secrets_[ns].items()}})
    actions.append('POST ' + ns)
    secrets_[ns] = json.loads(req.data)['stringData']
    return Response({})
urllib.request.urlopen = urlopen
ssl.create_default_context = lambda cafile=None: None
real_open = builtins.open
builtins.open = lambda p, *a, **k: io.StringIO('token') if str(p).endswith('/token') else real_open(p, *a, **k)
os.environ.update(KUBERNETES_SERVICE_HOST='api', KUBERNETES_SERVICE_PORT='443', IAM_ENDPOINT=iam, ADMIN_ACCESS_KEY='admin-key', ADMIN_SECRET_KEY='admin-secret')
sys.argv = ['provision'] + argv
exec(program, {'__name__': '__main__'})
print(json.dumps({'secrets': secrets_, 'users': users, 'actions': actions}))
`;
  const args = [...c.args.slice(0, 3), path.join(dir, 'profiles.json')];
  const result = spawnSync('python3', ['-c', harness, c.command[2], JSON.stringify(secrets), JSON.stringify(users), JSON.stringify(args), iam], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`provisioning failed: ${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as KeysRun;
}

const hasPython = spawnSync('python3', ['--version']).status === 0;

(hasPython ? describe : describe.skip)('the per-profile keys Job (needs python3)', () => {
  const s = synth(config({ profiles: [{ name: 'team-a', owner: 'a@example.com' }, { name: 'team-b', owner: 'b@example.com' }] }));

  test('first run: a store user per profile holding the key its new Secret carries, limited to its prefix', () => {
    const r = runKeysJob(s, {}, {});
    expect(Object.keys(r.secrets).sort()).toEqual(['team-a', 'team-b']);
    for (const ns of ['team-a', 'team-b']) {
      const secret = r.secrets[ns];
      expect(r.users[ns].keys).toEqual({ [secret.accesskey]: secret.secretkey });
      expect(secret.accesskey).toMatch(/^[A-Z0-9]{20}$/);
      expect(JSON.stringify(r.users[ns].policies)).toContain(`arn:aws:s3:::mlpipeline/private-artifacts/${ns}/*`);
      expect(JSON.stringify(r.users[ns].policies)).not.toContain(ns === 'team-a' ? 'team-b' : 'team-a');
    }
    expect(r.secrets['team-a'].accesskey).not.toBe(r.secrets['team-b'].accesskey);
  });

  test('a rerun changes nothing but the policies; a store that lost its users gets them back with the Secrets\' keys', () => {
    const first = runKeysJob(s, {}, {});
    const again = runKeysJob(s, first.secrets, first.users);
    expect(again.actions.filter((a) => a.startsWith('POST') || a === 'CreateUser' || a === 'CreateAccessKey')).toEqual([]);
    expect(again.secrets).toEqual(first.secrets);
    const restored = runKeysJob(s, first.secrets, {});
    expect(restored.secrets).toEqual(first.secrets);
    expect(restored.users['team-a'].keys).toEqual({ [first.secrets['team-a'].accesskey]: first.secrets['team-a'].secretkey });
    expect(restored.actions.filter((a) => a.startsWith('POST'))).toEqual([]);
  });
});

describe('a written tree with teams', () => {
  test('kfkit validate reads every object back from the teams\' multi-document files', () => {
    const dir = tmpdir();
    expect(cli(['synth', '--env', 'local-auth', '--out', dir]).code).toBe(0);
    const tree = path.join(dir, 'local-auth');
    expect(fs.readdirSync(path.join(tree, fs.readdirSync(tree).find((d) => d.endsWith('-tenants')) ?? ''))).toEqual(
      ['kustomization.yaml', 'profile_team-a.yaml', 'profile_team-b.yaml'],
    );
    const loaded = loadDist(tree);
    expect(loaded.objects).toHaveLength(synth(config()).objects.length);
    expect(validate(loaded)).toEqual([]);
  });
});
