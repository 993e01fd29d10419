import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { CrdVersion, CustomResourceDefinition, Infer, Schema } from '../../core/crd';
import { standardLabels } from '../../core/labels';
import { PIPELINES_COMPONENT, pipelinesIdentity } from './shared';

/*
 * Schemas of the Kubeflow Pipelines kinds, typed after the Go types of kubeflow/pipelines 2.17.0
 * (backend/src/crd/pkg/apis/scheduledworkflow/v1beta1/types.go, backend/src/crd/pkg/apis/viewer/v1beta1/types.go):
 * every field the KFP API server, the UI and the controllers write, with its JSON type. `metav1.Time` fields are
 * nullable (Go writes their zero value as null); Go `interface{}` and `apiextensionsv1.JSON` values are kept as
 * written. Upstream's CRDs preserve every unknown field of spec and status; kfkit's prune what the Go types do not
 * declare (nothing the Go clients write), so a wrong-typed or misspelt field fails validation instead of being kept.
 */

const time = () => Schema.dateTime({ nullable: true });

const schedule = {
  startTime: time(),
  endTime: time(),
};

/** `spec` of a ScheduledWorkflow (Go `ScheduledWorkflowSpec`). */
export const scheduledWorkflowSpecSchema = Schema.object({
  enabled: Schema.bool({ description: 'If the schedule is disabled, it does not create any new workflow.' }),
  maxConcurrency: Schema.int({ format: 'int64', description: 'Max number of created workflows that can coexist (the controller defaults it to 1).' }),
  noCatchup: Schema.bool({ description: 'Only schedule the latest period when the controller cannot catch up.' }),
  maxHistory: Schema.int({ format: 'int64', description: 'Max number of completed workflows to keep track of (default 10).' }),
  trigger: Schema.object({
    cronSchedule: Schema.object({ ...schedule, cron: Schema.string() }),
    periodicSchedule: Schema.object({ ...schedule, intervalSecond: Schema.int({ format: 'int64' }) }),
  }, { description: 'When to create a new workflow.' }),
  workflow: Schema.object({
    parameters: Schema.array(Schema.object({ name: Schema.string(), value: Schema.string() })),
    pipelineRoot: Schema.string(),
    spec: Schema.anyValue({ description: 'Deprecated: the workflow to start (the API server compiles it at run time).' }),
  }),
  experimentId: Schema.string(),
  pipelineId: Schema.string(),
  pipelineVersionId: Schema.string(),
  pipelineName: Schema.string(),
  serviceAccount: Schema.string(),
  pluginsInput: Schema.map(Schema.anyValue(), { description: 'Plugin name to its raw configuration, passed to every triggered run.' }),
}, { mapType: 'atomic' });

const workflowStatus = Schema.object({
  name: Schema.string(),
  namespace: Schema.string(),
  selfLink: Schema.string(),
  uid: Schema.string(),
  phase: Schema.string(),
  message: Schema.string(),
  createdAt: time(),
  startedAt: time(),
  finishedAt: time(),
  scheduledAt: time(),
  index: Schema.int({ format: 'int64' }),
});

/** `status` of a ScheduledWorkflow (Go `ScheduledWorkflowStatus`). */
export const scheduledWorkflowStatusSchema = Schema.object({
  conditions: Schema.array(Schema.object({
    type: Schema.string(),
    status: Schema.string(),
    lastHeartbeatTime: time(),
    lastTransitionTime: time(),
    reason: Schema.string(),
    message: Schema.string(),
  })),
  trigger: Schema.object({ lastTriggeredTime: time(), nextTriggeredTime: time(), lastWorkflowIndex: Schema.int({ format: 'int64' }) }),
  workflowHistory: Schema.object({ active: Schema.array(workflowStatus), completed: Schema.array(workflowStatus) }),
}, { mapType: 'atomic' });

/** ScheduledWorkflow `kubeflow.org/v1beta1`: upstream requires spec and status (Go writes both, always). */
export const SCHEDULED_WORKFLOW_V1BETA1 = {
  name: 'v1beta1',
  storage: true,
  schema: Schema.object({ spec: scheduledWorkflowSpecSchema, status: scheduledWorkflowStatusSchema }, { required: ['spec', 'status'] }),
} satisfies CrdVersion<unknown>;

/** The body (spec, status) of a ScheduledWorkflow. */
export type ScheduledWorkflowBody = Infer<typeof SCHEDULED_WORKFLOW_V1BETA1.schema>;

/** `spec` of a Viewer (Go `ViewerSpec`). */
export const viewerSpecSchema = Schema.object({
  type: Schema.string({ description: 'Viewer type; the controller serves `tensorboard` and ignores others.' }),
  tensorboardSpec: Schema.object({ logDir: Schema.string(), tensorflowImage: Schema.string() }),
  podTemplateSpec: Schema.podTemplateSpec({ description: 'Pod template of the viewer (from the UI\'s viewer-pod-template.json).' }),
}, { mapType: 'atomic' });

/** Viewer `kubeflow.org/v1beta1`: upstream requires spec. */
export const VIEWER_V1BETA1 = {
  name: 'v1beta1',
  storage: true,
  schema: Schema.object({ spec: viewerSpecSchema }, { required: ['spec'] }),
} satisfies CrdVersion<unknown>;

/** The body (spec) of a Viewer. */
export type ViewerBody = Infer<typeof VIEWER_V1BETA1.schema>;

/*
 * Argo Workflows kinds (argoproj/argo-workflows v4.0.5, the "minimal" CRDs Kubeflow Pipelines 2.17.0 installs). kfkit
 * creates no Argo objects, so their bodies are kept as written: the top-level fields upstream declares, spec and
 * status preserved (atomic where upstream marks them so). The controllers validate them.
 */

const atomic = () => Schema.preserveUnknown({ mapType: 'atomic' });
const open = () => Schema.preserveUnknown();

/** One Argo kind: CRD facts and the version's schema. */
interface ArgoKindDefinition {
  readonly plural: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  readonly version: CrdVersion<unknown>;
}

/** v1alpha1 of an Argo kind: `metadata` required as upstream's generated CRDs list it. */
function argoVersion(schema: CrdVersion<unknown>['schema'], extra: Partial<CrdVersion<unknown>> = {}): CrdVersion<unknown> {
  return { name: 'v1alpha1', storage: true, metadataRequired: true, schema, ...extra };
}

/** The Argo kinds, with the facts of each CRD (kubeflow/pipelines 2.17.0 → argo-workflows v4.0.5 minimal CRDs). */
const ARGO_KINDS = {
  Workflow: {
    plural: 'workflows', shortNames: ['wf'], scope: 'Namespaced',
    version: argoVersion(Schema.object({ spec: atomic(), status: atomic() }, { required: ['spec'] }), {
      printerColumns: [
        { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'Status of the workflow' },
        { name: 'Age', type: 'date', format: 'date-time', jsonPath: '.status.startedAt', description: 'When the workflow was started' },
        {
          name: 'Message', type: 'string', jsonPath: '.status.message',
          description: 'Human readable message indicating details about why the workflow is in this condition.',
        },
      ],
    }),
  },
  WorkflowTemplate: {
    plural: 'workflowtemplates', shortNames: ['wftmpl'], scope: 'Namespaced',
    version: argoVersion(Schema.object({ spec: atomic() }, { required: ['spec'] })),
  },
  CronWorkflow: {
    plural: 'cronworkflows', shortNames: ['cwf', 'cronwf'], scope: 'Namespaced',
    version: argoVersion(Schema.object({ spec: atomic(), status: atomic() }, { required: ['spec'] })),
  },
  ClusterWorkflowTemplate: {
    plural: 'clusterworkflowtemplates', shortNames: ['clusterwftmpl', 'cwft'], scope: 'Cluster',
    version: argoVersion(Schema.object({ spec: atomic() }, { required: ['spec'] })),
  },
  WorkflowEventBinding: {
    plural: 'workfloweventbindings', shortNames: ['wfeb'], scope: 'Namespaced',
    version: argoVersion(Schema.object({ spec: open() }, { required: ['spec'] })),
  },
  WorkflowTaskResult: {
    plural: 'workflowtaskresults', shortNames: [], scope: 'Namespaced',
    version: argoVersion(Schema.object({ message: Schema.string(), outputs: open(), phase: Schema.string(), progress: Schema.string() })),
  },
  WorkflowTaskSet: {
    plural: 'workflowtasksets', shortNames: ['wfts'], scope: 'Namespaced',
    version: argoVersion(Schema.object({ spec: open(), status: open() }, { required: ['spec'] }), { subresources: { status: true } }),
  },
  WorkflowArtifactGCTask: {
    plural: 'workflowartifactgctasks', shortNames: ['wfat'], scope: 'Namespaced',
    version: argoVersion(Schema.object({ spec: open(), status: open() }, { required: ['spec'] }), { subresources: { status: true } }),
  },
} as const satisfies Record<string, ArgoKindDefinition>;

/** An Argo Workflows kind Kubeflow Pipelines installs. */
export type ArgoKind = keyof typeof ARGO_KINDS;

/** Every Argo Workflows kind Kubeflow Pipelines installs. */
export const ARGO_KIND_NAMES: readonly ArgoKind[] = Object.keys(ARGO_KINDS) as ArgoKind[];

/** The Argo Workflows API group. */
export const ARGO_GROUP = 'argoproj.io';

/** Props of {@link PipelinesCrds}. */
export interface PipelinesCrdsProps {
  /**
   * Install the Argo Workflows CRDs. Set `false` when Argo Workflows' CRDs are already on the cluster (an Argo
   * Workflows installed by its own release); kfkit then declares the Argo kinds as external APIs.
   * @default true
   */
  readonly argo?: boolean;
}

/**
 * The CustomResourceDefinitions Kubeflow Pipelines 2.17.0 installs (standalone, `manifests/kustomize/
 * cluster-scoped-resources`): `scheduledworkflows.kubeflow.org` (recurring runs) and `viewers.kubeflow.org`
 * (TensorBoard viewers), typed after the KFP Go types, and the eight Argo Workflows v4.0.5 kinds (`argoproj.io`),
 * with upstream's names, versions, scope, subresources, short names and printer columns. All install in the `crds`
 * wave.
 *
 * `applications.app.k8s.io` is omitted on purpose. The platform-agnostic install ships that CRD (kubernetes-sigs/
 * application) but neither an Application object nor the application controller — those come only with the `dev`
 * and `gcp` envs, for the GCP Marketplace console — so nothing creates, reads or reconciles Applications: the CRD
 * would add a cluster-wide API without a user. (Upstream's `application-crd-id: kubeflow-pipelines` labels only
 * served that Application's selector.)
 */
export class PipelinesCrds extends Construct {
  /** `scheduledworkflows.kubeflow.org`. */
  public readonly scheduledWorkflows: CustomResourceDefinition;
  /** `viewers.kubeflow.org`. */
  public readonly viewers: CustomResourceDefinition;
  /** The Argo Workflows CRDs by kind; empty when `argo: false`. */
  public readonly argo: Readonly<Partial<Record<ArgoKind, CustomResourceDefinition>>>;

  public constructor(scope: Construct, id: string, props: PipelinesCrdsProps = {}) {
    super(scope, id);
    const ctx = KfkitContext.of(this);
    const kfpLabels = standardLabels(pipelinesIdentity('kubeflow-pipelines'));
    this.scheduledWorkflows = new CustomResourceDefinition(this, 'ScheduledWorkflow', {
      group: 'kubeflow.org', kind: 'ScheduledWorkflow', plural: 'scheduledworkflows', shortNames: ['swf'], scope: 'Namespaced',
      versions: [SCHEDULED_WORKFLOW_V1BETA1], labels: kfpLabels,
    });
    this.viewers = new CustomResourceDefinition(this, 'Viewer', {
      group: 'kubeflow.org', kind: 'Viewer', plural: 'viewers', shortNames: ['vi'], scope: 'Namespaced',
      versions: [VIEWER_V1BETA1], labels: kfpLabels,
    });

    const argoTag = ctx.images.entry('argo-workflow-controller').tag;
    const argo: Partial<Record<ArgoKind, CustomResourceDefinition>> = {};
    if (props.argo ?? true) {
      const labels = standardLabels({ name: 'argo-workflows', component: PIPELINES_COMPONENT, version: argoTag });
      for (const kind of ARGO_KIND_NAMES) {
        const def = ARGO_KINDS[kind];
        argo[kind] = new CustomResourceDefinition(this, kind, {
          group: ARGO_GROUP, kind, plural: def.plural, shortNames: def.shortNames, scope: def.scope, versions: [def.version], labels,
        });
      }
    } else {
      for (const kind of ARGO_KIND_NAMES) {
        ctx.addExternalApi({
          group: ARGO_GROUP, kind, versions: [ARGO_KINDS[kind].version.name],
          providedBy: `Argo Workflows ${argoTag} CRDs installed outside kfkit`,
        });
      }
    }
    this.argo = argo;
  }
}
