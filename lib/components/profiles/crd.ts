import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { IResourceQuotaSpec } from 'kubernetes-models/v1/ResourceQuotaSpec';
import { ResourceQuotaSpec as ResourceQuotaSpecModel } from 'kubernetes-models/v1/ResourceQuotaSpec';
import { CrdVersion, CustomResourceDefinition, Infer, JsonSchema, Schema, SchemaNode } from '../../core/crd';
import { standardLabels } from '../../core/labels';
import { PROFILES_COMPONENT } from './shared';

/*
 * The Profile kind (`profiles.kubeflow.org`), typed after the Go types of kubeflow/kubeflow v1.10.0
 * (components/profile-controller/api/v1/profile_types.go, controllers/plugin_iam.go, controllers/plugin_workload_identity.go):
 * `spec.owner` is an RBAC Subject, `spec.resourceQuotaSpec` a core/v1 ResourceQuotaSpec, `spec.plugins` a list of
 * `{ kind, spec }` whose spec the controller decodes per kind. Names, group, versions (v1 storage, v1beta1 served), scope
 * (Cluster) and the status subresource are upstream facts (facts/upstream.json, source kubeflow-profiles).
 *
 * Stricter than upstream's generated CRD, on purpose: `spec` and `spec.owner` are required (the controller binds the
 * owner as the namespace admin and matches its name in the user-id header; without one it fails every reconcile);
 * the owner's kind is one of the RBAC subject kinds; quota scopes and selector operators are Kubernetes' enums; plugin
 * kinds are those the controller was set up for and their specs are typed (upstream keeps any field). Upstream's Go
 * client ignores every field kfkit's schema leaves out, so nothing it writes is pruned.
 */

/** The Kubernetes quantity format (apimachinery `resource.Quantity`), as the API server checks it. */
const QUANTITY_PATTERN = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** A resource quantity: an integer or a string in the quantity format (`2`, `500m`, `4Gi`). */
function quantity(): SchemaNode<number | string> {
  const json: JsonSchema = { ...Schema.intOrString().json, pattern: QUANTITY_PATTERN };
  return { json };
}

/** ResourceQuota scopes of Kubernetes (core/v1 `ResourceQuotaScope`), as the validation library kfkit uses lists them. */
export const QUOTA_SCOPES = [
  'BestEffort', 'CrossNamespacePodAffinity', 'NotBestEffort', 'NotTerminating', 'PriorityClass', 'Terminating', 'VolumeAttributesClass',
] as const satisfies readonly NonNullable<IResourceQuotaSpec['scopes']>[number][];

/** `spec.resourceQuotaSpec`: a core/v1 ResourceQuotaSpec, copied by the controller into ResourceQuota `kf-resource-quota`. */
export const resourceQuotaSpecSchema = Schema.object({
  hard: Schema.map(quantity(), { description: 'Hard limits per named resource, e.g. cpu, memory, requests.nvidia.com/gpu, persistentvolumeclaims.' }),
  scopes: Schema.array(Schema.enumOf(QUOTA_SCOPES), { description: 'Filters every object tracked by the quota must match.' }),
  scopeSelector: Schema.object({
    matchExpressions: Schema.array(Schema.object({
      operator: Schema.enumOf(['In', 'NotIn', 'Exists', 'DoesNotExist']),
      scopeName: Schema.enumOf(QUOTA_SCOPES),
      values: Schema.array(Schema.string()),
    }, { required: ['operator', 'scopeName'] })),
  }, { description: 'Scopes as selector requirements (ANDed with scopes).' }),
}, { description: 'Resource quota the controller applies to the profile\'s namespace (ResourceQuota kf-resource-quota).' });

/** A core/v1 ResourceQuotaSpec as the Profile schema types it; assignable to the Kubernetes type. */
export type ProfileResourceQuota = Infer<typeof resourceQuotaSpecSchema>;

// The schema's type must stay a Kubernetes ResourceQuotaSpec (compile-time check against the validation library's type).
const quotaIsKubernetes = (q: ProfileResourceQuota): IResourceQuotaSpec => ({
  ...q, hard: q.hard ? { ...q.hard } : undefined, scopes: q.scopes ? [...q.scopes] : undefined,
  scopeSelector: q.scopeSelector
    ? { matchExpressions: q.scopeSelector.matchExpressions?.map((e) => ({ ...e, values: e.values ? [...e.values] : undefined })) }
    : undefined,
});

/** Kind of the plugin that binds the profile's `default-editor` ServiceAccount to an AWS IAM role (IRSA). */
export const AWS_IAM_PLUGIN = 'AwsIamForServiceAccount';
/** Kind of the plugin that binds the profile's `default-editor` ServiceAccount to a GCP service account (GKE Workload Identity). */
export const WORKLOAD_IDENTITY_PLUGIN = 'WorkloadIdentity';
/** The plugin kinds the profile controller knows. */
export type ProfilePluginKind = typeof AWS_IAM_PLUGIN | typeof WORKLOAD_IDENTITY_PLUGIN;
const PLUGIN_KINDS: readonly ProfilePluginKind[] = [AWS_IAM_PLUGIN, WORKLOAD_IDENTITY_PLUGIN];

/** An IAM role ARN (any AWS partition), with an optional path. */
export const IAM_ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
/** A GCP service account e-mail (the controller derives the project from it). */
export const GCP_SERVICE_ACCOUNT = /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9]+\.iam\.gserviceaccount\.com$/;

/** One plugin of a Profile, per kind. */
export type ProfilePlugin =
  /** IRSA for `default-editor`: annotates it with the role and (unless `annotateOnly`) adds it to the role's trust policy. */
  | { readonly kind: typeof AWS_IAM_PLUGIN; readonly spec: { readonly awsIamRole: string; readonly annotateOnly?: boolean } }
  /** GKE Workload Identity for `default-editor`: annotates it and grants it `roles/iam.workloadIdentityUser` on the GCP account. */
  | { readonly kind: typeof WORKLOAD_IDENTITY_PLUGIN; readonly spec: { readonly gcpServiceAccount: string } };

function pluginSchema(allowed: readonly ProfilePluginKind[]) {
  const kinds = allowed.length > 0 ? allowed : PLUGIN_KINDS;
  return Schema.array(Schema.object({
    apiVersion: Schema.string({ description: 'Not read by the controller.' }),
    kind: Schema.enumOf(kinds, { description: 'Plugin kind; only the kinds the profile controller is set up for are accepted.' }),
    spec: Schema.object({
      awsIamRole: Schema.string({ pattern: IAM_ROLE_ARN.source, description: `${AWS_IAM_PLUGIN}: ARN of the IAM role.` }),
      annotateOnly: Schema.bool({ description: `${AWS_IAM_PLUGIN}: only annotate the ServiceAccount, leave the role's trust policy alone.` }),
      gcpServiceAccount: Schema.string({ pattern: GCP_SERVICE_ACCOUNT.source, description: `${WORKLOAD_IDENTITY_PLUGIN}: e-mail of the GCP service account.` }),
    }, { description: 'Settings of the plugin, per kind.' }),
  }, { required: ['kind', 'spec'] }), {
    ...(allowed.length === 0 ? { maxItems: 0 } : {}),
    description: allowed.length === 0
      ? 'Cloud identity plugins: none is enabled on this platform\'s profile controller.'
      : `Cloud identity plugins (enabled: ${allowed.join(', ')}), applied to the profile's default-editor ServiceAccount.`,
  });
}

/** The subject kinds of RBAC. */
const SUBJECT_KINDS = ['User', 'Group', 'ServiceAccount'] as const;

function profileSchema(allowed: readonly ProfilePluginKind[]) {
  return Schema.object({
    spec: Schema.object({
      owner: Schema.object({
        apiGroup: Schema.string({ description: 'API group of the subject (rbac.authorization.k8s.io for users and groups).' }),
        kind: Schema.enumOf(SUBJECT_KINDS, { description: 'User (the id in the user-id header), Group or ServiceAccount.' }),
        name: Schema.string({ minLength: 1, description: 'User id, group or ServiceAccount name.' }),
        namespace: Schema.string({ description: 'Namespace of a ServiceAccount subject.' }),
      }, { required: ['kind', 'name'], description: 'The owner: admin of the namespace, who manages its contributors.' }),
      plugins: pluginSchema(allowed),
      resourceQuotaSpec: resourceQuotaSpecSchema,
    }, { required: ['owner'], description: 'The profile: its owner, quota and cloud identity plugins.' }),
    status: Schema.object({
      conditions: Schema.array(Schema.object({ type: Schema.string(), status: Schema.string(), message: Schema.string() })),
    }, { description: 'Conditions the controller reports (failures, e.g. a namespace another owner holds).' }),
  }, { required: ['spec'] });
}

/** The body (spec, status) of a Profile, as the schema types it. */
export type ProfileBody = Infer<ReturnType<typeof profileSchema>>;

/** `spec` of a Profile as kfkit writes it: the schema's fields, with plugins typed per kind. */
export interface ProfileSpec {
  /** The owner (an RBAC subject). */
  readonly owner: NonNullable<ProfileBody['spec']>['owner'];
  /** Resource quota of the namespace. @default - none */
  readonly resourceQuotaSpec?: ProfileResourceQuota;
  /** Cloud identity plugins. @default - none */
  readonly plugins?: readonly ProfilePlugin[];
}

/** Props of {@link ProfileCrd}. */
export interface ProfileCrdProps {
  /**
   * Plugin kinds Profiles may list (those the profile controller is set up to apply); others are rejected by the API
   * server.
   * @default - none
   */
  readonly plugins?: readonly ProfilePluginKind[];
  /**
   * Plugins of kind AwsIamForServiceAccount must set `annotateOnly: true` (the controller has no AWS identity to edit
   * trust policies with). Checked for the Profiles created through {@link ProfileCrd.profile}.
   * @default false
   */
  readonly awsAnnotateOnly?: boolean;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The `profiles.kubeflow.org` CustomResourceDefinition (kind Profile, cluster-scoped, v1 stored and v1beta1 served with
 * the same schema — KFAM reads and writes v1beta1 — both with the status subresource), from kfkit's schema. Installs in
 * the `crds` wave. {@link profile} writes typed Profiles.
 */
export class ProfileCrd extends Construct {
  /** The CRD. */
  public readonly crd: CustomResourceDefinition;
  /** Version v1 (storage). */
  public readonly v1: CrdVersion<ProfileBody>;
  /** Version v1beta1 (served, same schema). */
  public readonly v1beta1: CrdVersion<ProfileBody>;
  /** Plugin kinds Profiles may list. */
  public readonly plugins: readonly ProfilePluginKind[];
  private readonly awsAnnotateOnly: boolean;

  public constructor(scope: Construct, id: string, props: ProfileCrdProps = {}) {
    super(scope, id);
    const plugins = [...new Set(props.plugins ?? [])];
    for (const kind of plugins) {
      const name: string = kind;
      if (!PLUGIN_KINDS.includes(kind)) throw new Error(`ProfileCrd: plugin kind "${name}" is not one of ${PLUGIN_KINDS.join(', ')}`);
    }
    this.plugins = plugins;
    this.awsAnnotateOnly = props.awsAnnotateOnly ?? false;
    const schema = profileSchema(plugins);
    this.v1 = { name: 'v1', storage: true, schema, subresources: { status: true } };
    this.v1beta1 = { name: 'v1beta1', storage: false, schema, subresources: { status: true } };
    this.crd = new CustomResourceDefinition(this, 'Resource', {
      group: 'kubeflow.org', kind: 'Profile', plural: 'profiles', scope: 'Cluster', versions: [this.v1, this.v1beta1],
      labels: standardLabels({ name: 'profiles', component: PROFILES_COMPONENT }),
    });
  }

  /**
   * A Profile (`kubeflow.org/v1`) named `name` (its namespace's name) under `scope`. Checks what the schema cannot: the
   * name is a DNS label, the quota is a valid Kubernetes ResourceQuotaSpec (kubernetes-models' validator), each plugin
   * is enabled, listed once and carries its kind's fields, and an AWS plugin is annotate-only when the controller
   * cannot edit trust policies.
   */
  public profile(scope: Construct, id: string, name: string, spec: ProfileSpec, labels?: Readonly<Record<string, string>>): ApiObject {
    const bad = (message: string): never => {
      throw new Error(`Profile ${name}: ${message}`);
    };
    if (!DNS_LABEL.test(name)) bad('the name must be a DNS label (lowercase letters, digits, -; at most 63), as it names the namespace');
    if (spec.owner.name.trim() === '') bad('owner.name is required');
    if (spec.resourceQuotaSpec) {
      try {
        new ResourceQuotaSpecModel(quotaIsKubernetes(spec.resourceQuotaSpec)).validate();
      } catch (e) {
        bad(`resourceQuotaSpec is not a valid Kubernetes ResourceQuotaSpec: ${(e as Error).message}`);
      }
    }
    const seen = new Set<string>();
    for (const plugin of spec.plugins ?? []) {
      if (!this.plugins.includes(plugin.kind)) {
        bad(`plugin ${plugin.kind} is not enabled on the profile controller (enabled: ${this.plugins.join(', ') || 'none'})`);
      }
      if (seen.has(plugin.kind)) bad(`plugin ${plugin.kind} is listed twice`);
      seen.add(plugin.kind);
      if (plugin.kind === AWS_IAM_PLUGIN) {
        if (!IAM_ROLE_ARN.test(plugin.spec.awsIamRole)) bad(`awsIamRole "${plugin.spec.awsIamRole}" must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
        if (this.awsAnnotateOnly && plugin.spec.annotateOnly !== true) {
          bad('the profile controller has no AWS identity to edit IAM trust policies: set annotateOnly: true and add the trust yourself, '
            + 'or give the controller a role (plugins.aws.controllerRoleArn)');
        }
      } else if (!GCP_SERVICE_ACCOUNT.test(plugin.spec.gcpServiceAccount)) {
        bad(`gcpServiceAccount "${plugin.spec.gcpServiceAccount}" must be a GCP service account e-mail (<name>@<project>.iam.gserviceaccount.com)`);
      }
    }
    const body: ProfileBody = {
      spec: {
        owner: spec.owner,
        ...(spec.resourceQuotaSpec ? { resourceQuotaSpec: spec.resourceQuotaSpec } : {}),
        ...(spec.plugins && spec.plugins.length > 0 ? { plugins: spec.plugins } : {}),
      },
    };
    return this.crd.customResource(scope, id, this.v1, { name, labels: labels ? { ...labels } : undefined }, body);
  }
}
