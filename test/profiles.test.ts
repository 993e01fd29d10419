import { ApiObject, App, Chart } from 'cdk8s';
import { ResourceQuotaSpec } from 'kubernetes-models/v1/ResourceQuotaSpec';
import {
  AWS_IAM_PLUGIN, KUBEFLOW_ROLE_AGGREGATION, kubeflowRoleLabels, ProfileCrd, ProfilesController, ProfilesControllerProps, ProfileSpec, QUOTA_SCOPES,
  WORKLOAD_IDENTITY_PLUGIN,
} from '../lib/components/profiles';
import { KfkitContext } from '../lib/core/context';
import { JsonSchema } from '../lib/core/crd';
import { IMesh, UserHeaders } from '../lib/core/mesh';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject } from '../lib/validate/types';

// GIVEN a mesh as the Istio component describes it (a stub of IMesh) and upstream's identity headers.
const mesh = (dataplane: IMesh['dataplane'] = 'sidecar'): IMesh => ({
  namespace: 'istio-system',
  dataplane,
  mode: 'managed',
  trustDomain: 'cluster.local',
  enrollmentLabels: dataplane === 'sidecar' ? { 'istio-injection': 'enabled' } : { 'istio.io/dataplane-mode': 'ambient' },
  istiod: { peerName: 'istiod', namespace: 'istio-system', podLabels: { app: 'istiod' } },
});
const HEADERS: UserHeaders = { userId: 'kubeflow-userid', userIdPrefix: '', groups: 'kubeflow-groups' };
const DASHBOARD = 'cluster.local/ns/kubeflow/sa/centraldashboard';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/kubeflow-team-a';
const GSA = 'team-a@my-project.iam.gserviceaccount.com';

type Input = Omit<ProfilesControllerProps, 'userHeaders'> & { readonly userHeaders?: UserHeaders };

interface Built {
  readonly chart: Chart;
  readonly ctx: KfkitContext;
  readonly profiles: ProfilesController;
}

/** A fresh tree with the platform namespace and Istio's AuthorizationPolicy API declared, as the platform has them. */
function tree(props: Input, addProfiles?: (b: Built) => void): Built & { readonly s: Synthesized } {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  ctx.addExternalApi({ group: 'security.istio.io', kind: 'AuthorizationPolicy', versions: ['v1'], providedBy: 'Istio' });
  new PlatformNamespace(chart, 'Namespace', { name: props.namespace ?? 'kubeflow' });
  const profiles = new ProfilesController(chart, 'Profiles', { userHeaders: HEADERS, ...props });
  addProfiles?.({ chart, ctx, profiles });
  return { chart, ctx, profiles, s: collect(chart) };
}
const attempt = (props: Input) => () => tree(props);

const find = (s: Synthesized, kind: string, name: string): PlacedObject | undefined =>
  s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
const get = (s: Synthesized, kind: string, name: string): PlacedObject => {
  const found = find(s, kind, name);
  if (!found) throw new Error(`${kind} ${name} not synthesized`);
  return found;
};
const field = (o: PlacedObject, key: string): unknown => (o.manifest as K8sObject & Record<string, unknown>)[key];
interface Container { name: string; image: string; command: string[]; envFrom: { configMapRef: { name: string } }[]; ports: { containerPort: number }[] }
interface PodTemplate {
  metadata: { annotations: Record<string, string> };
  spec: { serviceAccountName: string; automountServiceAccountToken: boolean; containers: Container[] };
}
const pod = (s: Synthesized): PodTemplate => (field(get(s, 'Deployment', 'profiles-deployment'), 'spec') as { template: PodTemplate }).template;
const container = (s: Synthesized, name: string): Container => {
  const c = pod(s).spec.containers.find((x) => x.name === name);
  if (!c) throw new Error(`container ${name} missing`);
  return c;
};
const configMap = (s: Synthesized, name: string): Record<string, string> => field(get(s, 'ConfigMap', name), 'data') as Record<string, string>;
/** The command a container runs, with `$(VAR)` resolved from the ConfigMaps it reads as environment (as the kubelet does). */
const effectiveCommand = (s: Synthesized, name: string): string[] => {
  const c = container(s, name);
  const env = Object.assign({}, ...c.envFrom.map((e) => configMap(s, e.configMapRef.name))) as Record<string, string>;
  return c.command.map((arg) => arg.replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => env[v] ?? `$(${v})`));
};
const namespaceLabels = (s: Synthesized): string => configMap(s, 'namespace-labels-data')['namespace-labels.yaml'];
const names = (s: Synthesized, kind: string): string[] => s.objects.filter((o) => o.manifest.kind === kind)
  .map((o) => `${o.manifest.metadata.namespace ?? ''}/${o.manifest.metadata.name}`).sort();
const crdVersion = (s: Synthesized, version: string): { name: string; schema: { openAPIV3Schema: JsonSchema } } => {
  type Versions = { versions: { name: string; schema: { openAPIV3Schema: JsonSchema } }[] };
  const versions = (field(get(s, 'CustomResourceDefinition', 'profiles.kubeflow.org'), 'spec') as Versions).versions;
  const found = versions.find((v) => v.name === version);
  if (!found) throw new Error(`version ${version} missing`);
  return found;
};
const pluginKinds = (s: Synthesized): JsonSchema => {
  const plugins = crdVersion(s, 'v1').schema.openAPIV3Schema.properties?.spec.properties?.plugins;
  if (!plugins) throw new Error('no plugins schema');
  return plugins;
};

/** Profiles as a per-team construct writes them: quota, plugins, and the same through v1beta1 (KFAM's version). */
function sampleProfiles(b: Built): void {
  const team: ProfileSpec = {
    owner: { kind: 'User', name: 'alice@example.com' },
    resourceQuotaSpec: {
      hard: { 'cpu': '8', 'memory': '16Gi', 'requests.nvidia.com/gpu': 1, 'persistentvolumeclaims': '4' },
      scopeSelector: { matchExpressions: [{ operator: 'In', scopeName: 'PriorityClass', values: ['high'] }] },
    },
    plugins: [{ kind: AWS_IAM_PLUGIN, spec: { awsIamRole: ROLE_ARN } }],
  };
  b.profiles.crd.profile(b.chart, 'TeamA', 'team-a', team);
  b.profiles.crd.profile(b.chart, 'TeamB', 'team-b', { owner: { kind: 'Group', name: 'ml-team' } });
  b.profiles.crd.crd.customResource(b.chart, 'Beta', b.profiles.crd.v1beta1, { name: 'team-c' }, { spec: { owner: { kind: 'User', name: 'carol@example.com' } } });
}

describe('the profile controller and KFAM with a sidecar mesh (multi-user Kubeflow)', () => {
  const { s, profiles } = tree({ mesh: mesh(), plugins: { aws: { controllerRoleArn: 'arn:aws:iam::123456789012:role/profiles-controller', iamCidrs: ['10.10.0.0/16'] } } }, (b) => {
    b.profiles.admitToKfam(DASHBOARD);
    sampleProfiles(b);
  });

  test('synthesizes and validates clean, Profiles included (harness rule crd)', () => {
    expect(validate(s)).toEqual([]);
    expect(names(s, 'Profile')).toEqual(['/team-a', '/team-b', '/team-c']);
  });

  test('upstream\'s objects: one pod with manager and kfam from the image catalog, Service profiles-kfam on 8081, two ConfigMaps', () => {
    expect(pod(s).spec.containers.map((c) => [c.name, c.image])).toEqual([
      ['manager', 'ghcr.io/kubeflow/kubeflow/profile-controller:v1.10.0'],
      ['kfam', 'ghcr.io/kubeflow/kubeflow/kfam:v1.10.0'],
    ]);
    expect(pod(s).spec.serviceAccountName).toBe('profiles-controller-service-account');
    expect(pod(s).spec.automountServiceAccountToken).toBe(true);
    expect((field(get(s, 'Service', 'profiles-kfam'), 'spec') as { ports: unknown[] }).ports).toEqual([{ name: 'http', port: 8081, targetPort: 8081, protocol: 'TCP' }]);
    expect(profiles.kfam).toEqual({ serviceName: 'profiles-kfam', servicePort: 8081, podPort: 8081, peer: profiles.peer });
    expect(Object.keys(configMap(s, 'profiles-config')).sort()).toEqual([
      'ADMIN', 'ISTIO_INGRESS_GATEWAY_PRINCIPAL', 'KFP_UI_PRINCIPAL', 'NOTEBOOK_CONTROLLER_PRINCIPAL', 'USERID_HEADER', 'USERID_PREFIX', 'WORKLOAD_IDENTITY',
    ]);
  });

  test('the controller\'s and KFAM\'s arguments carry the user-id header and prefix, through profiles-config as upstream\'s', () => {
    expect(effectiveCommand(s, 'manager')).toEqual(['/manager', '-userid-header', 'kubeflow-userid', '-userid-prefix', '', '-workload-identity', '']);
    expect(effectiveCommand(s, 'kfam')).toEqual(['/access-management', '-cluster-admin', '', '-userid-header', 'kubeflow-userid', '-userid-prefix', '']);
    expect(configMap(s, 'profiles-config').ISTIO_INGRESS_GATEWAY_PRINCIPAL).toBe('cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account');
    expect(configMap(s, 'profiles-config').KFP_UI_PRINCIPAL).toBe('cluster.local/ns/kubeflow/sa/ml-pipeline-ui');
  });

  test('waves: the CRD first, the ClusterRoles with cluster configuration, the pod with the controllers, KFAM\'s policy after', () => {
    expect(get(s, 'CustomResourceDefinition', 'profiles.kubeflow.org').waveName).toBe('crds');
    for (const name of ['kubeflow-admin', 'kubeflow-edit', 'kubeflow-view', 'kubeflow-kubernetes-admin', 'profiles-controller']) {
      expect(get(s, 'ClusterRole', name).waveName).toBe('cluster');
    }
    expect(get(s, 'Deployment', 'profiles-deployment').waveName).toBe('controllers');
    expect(get(s, 'AuthorizationPolicy', 'profiles-kfam').waveName).toBe('resources');
  });

  test('RBAC: no cluster-admin; bind on the three Kubeflow roles only; no leader-election Role', () => {
    const bindings = s.objects.filter((o) => o.manifest.kind === 'ClusterRoleBinding');
    expect(bindings.map((o) => (field(o, 'roleRef') as { name: string }).name)).toEqual(['profiles-controller']);
    const rules = field(get(s, 'ClusterRole', 'profiles-controller'), 'rules') as { resources: string[]; verbs: string[]; resourceNames?: string[] }[];
    expect(rules.filter((r) => r.verbs.includes('bind'))).toEqual([expect.objectContaining({ resources: ['clusterroles'], resourceNames: ['kubeflow-admin', 'kubeflow-edit', 'kubeflow-view'] })]);
    expect(rules.flatMap((r) => r.verbs)).not.toContain('*');
    expect(rules.flatMap((r) => r.verbs)).not.toContain('escalate');
    expect(rules.flatMap((r) => r.verbs)).not.toContain('impersonate');
    expect(names(s, 'Role')).toEqual([]);
  });

  test('KFAM admits only the principals given to admitToKfam; it is not routed at the gateway', () => {
    expect(field(get(s, 'AuthorizationPolicy', 'profiles-kfam'), 'spec')).toEqual({
      action: 'ALLOW', selector: { matchLabels: profiles.peer.podLabels }, rules: [{ from: [{ source: { principals: [DASHBOARD] } }] }],
    });
    expect(names(s, 'VirtualService')).toEqual([]);
  });

  test('network: the pod reaches the API server (and AWS IAM for the plugin); nothing is opened towards it here, metrics included', () => {
    expect(names(s, 'NetworkPolicy')).toEqual(['kubeflow/allow-dns', 'kubeflow/default-deny', 'kubeflow/profiles-to-cloud-iam', 'kubeflow/profiles-to-kube-apiserver']);
  });

  test('profile namespaces: upstream\'s labels, Pod Security baseline, sidecar injection', () => {
    expect(profiles.namespaceLabels).toEqual({
      'app.kubernetes.io/part-of': 'kubeflow-profile',
      'istio-injection': 'enabled',
      'katib.kubeflow.org/metrics-collector-injection': 'enabled',
      'pipelines.kubeflow.org/enabled': 'true',
      'pod-security.kubernetes.io/enforce': 'baseline',
      'serving.kubeflow.org/inferenceservice': 'enabled',
    });
    expect(namespaceLabels(s)).toContain('istio-injection: "enabled"\n');
  });

  test('the CRD has upstream\'s names, scope, versions and status subresource (facts source kubeflow-profiles)', () => {
    const { facts } = upstreamFacts();
    const up = facts.crds.find((c) => c.source === 'kubeflow-profiles' && c.name === 'profiles.kubeflow.org');
    const spec = (field(
      get(s, 'CustomResourceDefinition', 'profiles.kubeflow.org'), 'spec') as { group: string; scope: string; names: { kind: string }; versions: { name: string; served: boolean; storage: boolean; subresources?: object }[] });
    expect(up).toBeDefined();
    expect({ group: spec.group, kind: spec.names.kind, scope: spec.scope }).toEqual({ group: up?.group, kind: up?.kind, scope: up?.scope });
    expect(spec.versions.map((v) => ({ name: v.name, served: v.served, storage: v.storage, subresources: Object.keys(v.subresources ?? {}) })))
      .toEqual(up?.versions.map((v) => ({ name: v.name, served: v.served, storage: v.storage, subresources: v.subresources })));
    expect(crdVersion(s, 'v1beta1').schema).toEqual(crdVersion(s, 'v1').schema);
  });

  test('fidelity: profiles-deployment matches kubeflow/manifests 26.03 except for the documented deviations', () => {
    const { facts, deviations } = upstreamFacts();
    expect(facts.sources['kubeflow-profiles']).toMatchObject({ upstream: 'kubeflow/manifests', version: '26.03' });
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-profiles'] })).toEqual([]);
    // An undocumented difference is a finding: drop the deviation of bind on kubeflow-admin and it reappears.
    const without = deviations.filter((d) => d.value !== 'bind clusterroles.rbac.authorization.k8s.io#kubeflow-admin');
    expect(without.length).toBe(deviations.length - 1);
    expect(checkFidelity(s.objects, facts, without, { sources: ['kubeflow-profiles'] }).map((f) => f.message))
      .toEqual([expect.stringMatching(/^rbac: .* has extra "bind clusterroles.rbac.authorization.k8s.io#kubeflow-admin"/)]);
  });
});

describe('the aggregated Kubeflow roles', () => {
  const { s } = tree({ mesh: mesh() });
  const roles = s.objects.filter((o) => o.manifest.kind === 'ClusterRole');
  const labelsOf = (name: string): Record<string, string> => get(s, 'ClusterRole', name).manifest.metadata.labels ?? {};
  /** Names of the ClusterRoles whose rules `name` aggregates, transitively, as the API server's aggregation controller does. */
  const aggregates = (name: string): string[] => {
    type Rule = { clusterRoleSelectors: { matchLabels: Record<string, string> }[] } | undefined;
    const selectors = (field(get(s, 'ClusterRole', name), 'aggregationRule') as Rule)?.clusterRoleSelectors ?? [];
    const direct = roles.map((r) => r.manifest.metadata.name).filter((n) => n !== name
      && selectors.some((sel) => Object.entries(sel.matchLabels).every(([k, v]) => labelsOf(n)[k] === v)));
    return [...new Set([...direct, ...direct.flatMap(aggregates)])].sort();
  };

  test('kubeflow-admin/edit/view aggregate by upstream\'s labels, chained view ⊂ edit ⊂ admin, with the Kubernetes rights', () => {
    expect(KUBEFLOW_ROLE_AGGREGATION.edit).toBe('rbac.authorization.kubeflow.org/aggregate-to-kubeflow-edit');
    expect(aggregates('kubeflow-view')).toEqual(['kubeflow-kubernetes-view']);
    expect(aggregates('kubeflow-edit')).toEqual(['kubeflow-kubernetes-edit', 'kubeflow-kubernetes-view', 'kubeflow-view']);
    expect(aggregates('kubeflow-admin')).toEqual(['kubeflow-edit', 'kubeflow-kubernetes-admin', 'kubeflow-kubernetes-edit', 'kubeflow-kubernetes-view', 'kubeflow-view']);
    expect(labelsOf('kubeflow-edit')).toMatchObject(kubeflowRoleLabels('admin'));
    expect(labelsOf('kubeflow-admin')['rbac.authorization.kubeflow.org/aggregate-to-kubeflow-admin']).toBeUndefined();
  });

  test('aggregated roles leave rules to the aggregation controller; the Kubernetes roles carry upstream\'s rules', () => {
    for (const name of ['kubeflow-admin', 'kubeflow-edit', 'kubeflow-view']) expect(field(get(s, 'ClusterRole', name), 'rules')).toBeUndefined();
    const edit = field(get(s, 'ClusterRole', 'kubeflow-kubernetes-edit'), 'rules') as { resources: string[]; verbs: string[] }[];
    expect(edit).toContainEqual(expect.objectContaining({ resources: ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'] }));
    const view = field(get(s, 'ClusterRole', 'kubeflow-kubernetes-view'), 'rules') as { resources: string[]; verbs: string[] }[];
    expect(view.flatMap((r) => r.verbs).every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    expect((field(get(s, 'ClusterRole', 'kubeflow-kubernetes-admin'), 'rules') as { resources: string[] }[]).flatMap((r) => r.resources))
      .toEqual(['localsubjectaccessreviews', 'rolebindings', 'roles']);
  });
});

describe('the Profile CRD validates Profiles as the API server would', () => {
  /** Raw Profiles (not through the typed helper), validated by the harness against the CRD of the output. */
  const findings = (bodies: Record<string, Record<string, unknown>>, props: Input = { mesh: mesh() }): string[] => {
    const { s } = tree(props, (b) => {
      for (const [name, body] of Object.entries(bodies)) {
        new ApiObject(b.chart, name, { apiVersion: 'kubeflow.org/v1', kind: 'Profile', metadata: { name }, ...body });
      }
    });
    return validate(s).map((f) => `${f.rule} ${f.object} ${f.path ?? ''}: ${f.message}`);
  };
  const owner = { kind: 'User', name: 'alice@example.com' };

  test('a Profile with quota and an enabled plugin is valid', () => {
    expect(findings({
      ok: { spec: { owner, resourceQuotaSpec: { hard: { cpu: 2, memory: '2Gi' }, scopes: ['NotTerminating'] }, plugins: [{ kind: WORKLOAD_IDENTITY_PLUGIN, spec: { gcpServiceAccount: GSA } }] } },
    }, { mesh: mesh(), plugins: { gcp: { controllerServiceAccount: 'profiles@my-project.iam.gserviceaccount.com', iamCidrs: ['199.36.153.8/30'] } } })).toEqual([]);
  });

  test('malformed Profiles are rejected: no spec, owner without name, unknown fields, bad quantity, unknown scope, plugin not enabled', () => {
    expect(findings({
      'no-spec': {},
      'no-name': { spec: { owner: { kind: 'User' } } },
      'unknown-field': { spec: { owner, quota: { cpu: 1 } } },
      'bad-kind': { spec: { owner: { kind: 'Robot', name: 'r2' } } },
      'bad-quantity': { spec: { owner, resourceQuotaSpec: { hard: { cpu: 'lots' } } } },
      'bad-scope': { spec: { owner, resourceQuotaSpec: { scopes: ['Sometimes'] } } },
      'no-plugins': { spec: { owner, plugins: [{ kind: AWS_IAM_PLUGIN, spec: { awsIamRole: ROLE_ARN } }] } },
    })).toEqual([
      expect.stringMatching(/^crd Profile\/bad-kind spec\.owner\.kind: must be equal to one of the allowed values: "User", "Group", "ServiceAccount"$/),
      expect.stringMatching(/^crd Profile\/bad-quantity spec\.resourceQuotaSpec\.hard\.cpu: must match pattern/),
      expect.stringMatching(/^crd Profile\/bad-scope spec\.resourceQuotaSpec\.scopes\[0\]: must be equal to one of the allowed values/),
      'crd Profile/no-name spec.owner.name: required field is missing',
      'crd Profile/no-plugins spec.plugins: must NOT have more than 0 items',
      'crd Profile/no-spec spec: required field is missing',
      expect.stringMatching(/^crd Profile\/unknown-field spec\.quota: unknown field "quota"/),
    ]);
  });

  test('a plugin kind the controller is not set up for is rejected; so is a malformed plugin spec', () => {
    expect(findings({
      'gcp': { spec: { owner, plugins: [{ kind: WORKLOAD_IDENTITY_PLUGIN, spec: { gcpServiceAccount: GSA } }] } },
      'bad-arn': { spec: { owner, plugins: [{ kind: AWS_IAM_PLUGIN, spec: { awsIamRole: 'my-role' } }] } },
      'no-spec': { spec: { owner, plugins: [{ kind: AWS_IAM_PLUGIN }] } },
    }, { mesh: mesh(), plugins: { aws: {} } })).toEqual([
      expect.stringMatching(/^crd Profile\/bad-arn spec\.plugins\[0\]\.spec\.awsIamRole: must match pattern/),
      expect.stringMatching(/^crd Profile\/gcp spec\.plugins\[0\]\.kind: must be equal to one of the allowed values: "AwsIamForServiceAccount"$/),
      'crd Profile/no-spec spec.plugins[0].spec: required field is missing',
    ]);
  });

  test('plugin kinds follow the controller: none enabled (maxItems 0), AWS only, GCP only', () => {
    expect(pluginKinds(tree({ mesh: mesh() }).s)).toMatchObject({ maxItems: 0 });
    const aws = pluginKinds(tree({ mesh: mesh(), plugins: { aws: {} } }).s);
    expect(aws.maxItems).toBeUndefined();
    expect(aws.items?.properties?.kind.enum).toEqual([AWS_IAM_PLUGIN]);
    const gcp = pluginKinds(tree({ mesh: mesh(), plugins: { gcp: { controllerServiceAccount: GSA, iamCidrs: ['199.36.153.8/30'] } } }).s);
    expect(gcp.items?.properties?.kind.enum).toEqual([WORKLOAD_IDENTITY_PLUGIN]);
  });

  test('quota scopes and quantities agree with Kubernetes\' own definitions (kubernetes-models)', () => {
    for (const scope of QUOTA_SCOPES) {
      expect(() => {
        new ResourceQuotaSpec({ scopes: [scope] }).validate();
      }).not.toThrow();
    }
    const { s } = tree({ mesh: mesh() });
    const hard = crdVersion(s, 'v1').schema.openAPIV3Schema.properties?.spec.properties?.resourceQuotaSpec.properties?.hard.additionalProperties;
    const pattern = new RegExp(hard?.pattern ?? '^$');
    for (const q of ['1', '500m', '2Gi', '1.5', '1e3', '+4Ki', 'lots', '2x', '1.2.3', 'Gi']) {
      let k8sAccepts = true;
      try {
        new ResourceQuotaSpec({ hard: { cpu: q } }).validate();
      } catch {
        k8sAccepts = false;
      }
      expect([q, pattern.test(q)]).toEqual([q, k8sAccepts]);
    }
  });
});

describe('the typed Profile helper checks what the schema cannot', () => {
  const make = (spec: ProfileSpec, name = 'team', props: Input = { mesh: mesh(), plugins: { aws: {} } }) => () => tree(props, (b) => {
    b.profiles.crd.profile(b.chart, 'P', name, spec);
  });
  const owner = { kind: 'User' as const, name: 'alice@example.com' };
  const annotateOnly = { kind: AWS_IAM_PLUGIN, spec: { awsIamRole: ROLE_ARN, annotateOnly: true } } as const;
  test.each<[string, () => unknown, string | RegExp]>([
    ['name not a DNS label', make({ owner }, 'Team_A'), 'Profile Team_A: the name must be a DNS label'],
    ['empty owner', make({ owner: { kind: 'User', name: ' ' } }), 'owner.name is required'],
    ['quota rejected by Kubernetes\' definitions', make({ owner, resourceQuotaSpec: { hard: { cpu: 'lots' } } }), /resourceQuotaSpec is not a valid Kubernetes ResourceQuotaSpec/],
    ['plugin not enabled', make({ owner, plugins: [{ kind: WORKLOAD_IDENTITY_PLUGIN, spec: { gcpServiceAccount: GSA } }] }), 'plugin WorkloadIdentity is not enabled'],
    ['AWS role without a controller role must be annotate-only', make({ owner, plugins: [{ kind: AWS_IAM_PLUGIN, spec: { awsIamRole: ROLE_ARN } }] }), 'set annotateOnly: true'],
    ['bad role ARN', make({ owner, plugins: [{ kind: AWS_IAM_PLUGIN, spec: { awsIamRole: 'kubeflow-team', annotateOnly: true } }] }), 'must be an IAM role ARN'],
    ['plugin twice', make({ owner, plugins: [annotateOnly, annotateOnly] }), 'listed twice'],
  ])('%s', (_, fn, message) => {
    expect(fn).toThrow(message);
  });

  test('an annotate-only AWS plugin is accepted without a controller role; a bad GCP account is not', () => {
    expect(make({ owner, plugins: [{ kind: AWS_IAM_PLUGIN, spec: { awsIamRole: ROLE_ARN, annotateOnly: true } }] })).not.toThrow();
    expect(make({ owner, plugins: [{ kind: WORKLOAD_IDENTITY_PLUGIN, spec: { gcpServiceAccount: 'me@gmail.com' } }] }, 'team',
      { mesh: mesh(), plugins: { gcp: { controllerServiceAccount: GSA, iamCidrs: ['199.36.153.8/30'] } } })).toThrow('must be a GCP service account e-mail');
  });

  test('ProfileCrd rejects unknown plugin kinds', () => {
    const app = new App();
    expect(() => new ProfileCrd(new Chart(app, 'c'), 'Crd', { plugins: ['Azure' as typeof AWS_IAM_PLUGIN] })).toThrow('plugin kind "Azure" is not one of');
  });
});

describe('variants', () => {
  test('ambient mesh: profile namespaces join ambient and lose the controller\'s istio-injection label', () => {
    const { profiles, s } = tree({ mesh: mesh('ambient') });
    expect(profiles.namespaceLabels).toMatchObject({ 'istio.io/dataplane-mode': 'ambient', 'istio-injection': '' });
    expect(namespaceLabels(s)).toContain('istio-injection: ""\n');
    expect(validate(s)).toEqual([]);
  });

  test('no mesh in the tree: no KFAM policy, istio-injection removed, Istio\'s security API required', () => {
    const { profiles, s, ctx } = tree({});
    expect(find(s, 'AuthorizationPolicy', 'profiles-kfam')).toBeUndefined();
    expect(profiles.namespaceLabels['istio-injection']).toBe('');
    expect(ctx.requirements).toEqual([expect.stringContaining('security.istio.io/v1beta1 AuthorizationPolicy')]);
    expect(validate(s)).toEqual([]);
  });

  test('no caller admitted: KFAM\'s policy has no rules, so nobody reaches it', () => {
    const { s } = tree({ mesh: mesh() });
    expect((field(get(s, 'AuthorizationPolicy', 'profiles-kfam'), 'spec') as { rules: unknown[] }).rules).toEqual([]);
  });

  test('custom headers, principals, admin, Pod Security and labels reach the configuration', () => {
    const { profiles, s } = tree({
      namespace: 'kf', mesh: mesh(), userHeaders: { userId: 'x-user', userIdPrefix: 'accounts:', groups: 'x-groups' }, clusterAdmin: 'root@example.com',
      gatewayPrincipal: 'cluster.local/ns/kf/sa/gateway', profilePodSecurity: 'restricted', namespaceLabels: { 'istio.io/use-waypoint': 'waypoint' },
    });
    expect(effectiveCommand(s, 'manager')).toEqual(['/manager', '-userid-header', 'x-user', '-userid-prefix', 'accounts:', '-workload-identity', '']);
    expect(effectiveCommand(s, 'kfam')).toEqual(['/access-management', '-cluster-admin', 'root@example.com', '-userid-header', 'x-user', '-userid-prefix', 'accounts:']);
    expect(configMap(s, 'profiles-config')).toMatchObject({
      ISTIO_INGRESS_GATEWAY_PRINCIPAL: 'cluster.local/ns/kf/sa/gateway', KFP_UI_PRINCIPAL: 'cluster.local/ns/kf/sa/ml-pipeline-ui',
    });
    expect(profiles.namespaceLabels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted', 'istio.io/use-waypoint': 'waypoint' });
    expect(get(s, 'Deployment', 'profiles-deployment').manifest.metadata.namespace).toBe('kf');
    expect(validate(s)).toEqual([]);
  });

  test('a configuration change rolls the pods (digest annotation)', () => {
    const digest = (props: Input): string => pod(tree(props).s).metadata.annotations['kfkit.dev/config-sha256'];
    expect(digest({ mesh: mesh() })).toBe(digest({ mesh: mesh() }));
    expect(digest({ mesh: mesh(), clusterAdmin: 'root@example.com' })).not.toBe(digest({ mesh: mesh() }));
  });

  test('AWS plugin with a controller role: IRSA on the ServiceAccount and egress to AWS; annotate-only: neither', () => {
    const role = 'arn:aws:iam::123456789012:role/profiles-controller';
    const withRole = tree({ mesh: mesh(), plugins: { aws: { controllerRoleArn: role, iamCidrs: ['10.10.0.0/16'] } } }).s;
    const annotations = (s: Synthesized): Record<string, string> => get(s, 'ServiceAccount', 'profiles-controller-service-account').manifest.metadata.annotations ?? {};
    expect(annotations(withRole)['eks.amazonaws.com/role-arn']).toBe(role);
    expect(find(withRole, 'NetworkPolicy', 'profiles-to-cloud-iam')).toBeDefined();
    expect(() => tree({ mesh: mesh(), plugins: { aws: { controllerRoleArn: role } } })).toThrow(/plugins\.aws\.iamCidrs is empty: .*the controller calls the cloud's IAM API/);
    expect(() => tree({ mesh: mesh(), plugins: { aws: { iamCidrs: ['10.10.0.0/16'] } } })).toThrow(/plugins\.aws\.iamCidrs applies only with controllerRoleArn/);
    const annotateOnly = tree({ mesh: mesh(), plugins: { aws: {} } }).s;
    expect(Object.keys(annotations(annotateOnly)).filter((k) => k.includes('role-arn') || k.includes('gcp'))).toEqual([]);
    expect(find(annotateOnly, 'NetworkPolicy', 'profiles-to-cloud-iam')).toBeUndefined();
  });

  test('GCP plugin: Workload Identity on the ServiceAccount, the default account as WORKLOAD_IDENTITY, egress to Google and the metadata server', () => {
    const { s } = tree({ mesh: mesh(), plugins: { gcp: { controllerServiceAccount: 'profiles@my-project.iam.gserviceaccount.com', defaultServiceAccount: GSA, iamCidrs: ['199.36.153.8/30'] } } });
    expect(get(s, 'ServiceAccount', 'profiles-controller-service-account').manifest.metadata.annotations)
      .toMatchObject({ 'iam.gke.io/gcp-service-account': 'profiles@my-project.iam.gserviceaccount.com' });
    expect(effectiveCommand(s, 'manager').slice(-2)).toEqual(['-workload-identity', GSA]);
    const egress = (field(get(s, 'NetworkPolicy', 'profiles-to-cloud-iam'), 'spec') as { egress: { to: { ipBlock: { cidr: string } }[] }[] }).egress;
    expect(egress.flatMap((e) => e.to.map((t) => t.ipBlock.cidr))).toEqual(['199.36.153.8/30', '169.254.169.254/32', '169.254.169.252/32']);
    expect(validate(s)).toEqual([]);
    const { facts, deviations } = upstreamFacts();
    expect(checkFidelity(s.objects, facts, deviations, { sources: ['kubeflow-profiles'] })).toEqual([]);
  });
});

describe('guards', () => {
  test.each<[string, Input, string]>([
    ['namespace', { namespace: 'Kube_Flow' }, 'namespace "Kube_Flow" must be a DNS label'],
    ['header', { userHeaders: { userId: 'kubeflow userid', userIdPrefix: '', groups: 'g' } }, 'userHeaders.userId "kubeflow userid" must be an HTTP header name'],
    ['prefix', { userHeaders: { userId: 'kubeflow-userid', userIdPrefix: 'a b', groups: 'g' } }, 'userHeaders.userIdPrefix "a b" must be printable'],
    ['gateway principal', { gatewayPrincipal: 'spiffe://cluster.local/ns/istio-system/sa/gw' }, 'gatewayPrincipal "spiffe://cluster.local/ns/istio-system/sa/gw" must be a mesh principal'],
    ['cluster admin', { clusterAdmin: 'the admin' }, 'clusterAdmin "the admin" must be a user id without spaces'],
    ['controller role', { plugins: { aws: { controllerRoleArn: 'profiles-controller' } } }, 'plugins.aws.controllerRoleArn "profiles-controller" must be an IAM role ARN'],
    ['two clouds', { plugins: { aws: {}, gcp: { controllerServiceAccount: GSA, iamCidrs: ['199.36.153.8/30'] } } }, 'aws and gcp are both enabled'],
    ['gcp account', { plugins: { gcp: { controllerServiceAccount: 'profiles', iamCidrs: ['199.36.153.8/30'] } } }, 'plugins.gcp.controllerServiceAccount "profiles" must be a GCP service account e-mail'],
    ['gcp default account', { plugins: { gcp: { controllerServiceAccount: GSA, defaultServiceAccount: 'x', iamCidrs: ['199.36.153.8/30'] } } }, 'plugins.gcp.defaultServiceAccount "x"'],
    ['gcp without the IAM API\'s addresses', { plugins: { gcp: { controllerServiceAccount: GSA, iamCidrs: [] } } }, 'plugins.gcp.iamCidrs is empty'],
    ['label key', { namespaceLabels: { 'bad key': 'x' } }, 'namespaceLabels: "bad key" is not a label key'],
    ['label value', { namespaceLabels: { team: 'a b' } }, 'namespaceLabels.team: "a b" is not a label value'],
    ['pod security label', { namespaceLabels: { 'pod-security.kubernetes.io/enforce': 'privileged' } }, 'set the Pod Security level with profilePodSecurity'],
    ['enrolment label', { mesh: mesh(), namespaceLabels: { 'istio-injection': 'disabled' } }, 'the mesh\'s enrolment sets this label'],
    ['pod security level', { profilePodSecurity: 'lax' as 'baseline' }, 'profilePodSecurity "lax" must be restricted, baseline or privileged'],
  ])('%s', (_, props, message) => {
    expect(attempt(props)).toThrow(message);
  });

  test('admitToKfam takes a mesh principal', () => {
    expect(() => tree({ mesh: mesh() }, (b) => {
      b.profiles.admitToKfam('centraldashboard');
    })).toThrow('admitToKfam: "centraldashboard" must be a mesh principal');
  });
});
