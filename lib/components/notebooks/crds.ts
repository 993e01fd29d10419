import { Construct } from 'constructs';
import { CrdVersion, CustomResourceDefinition, Infer, Schema } from '../../core/crd';
import { standardLabels } from '../../core/labels';
import { NOTEBOOKS_IDENTITY } from './shared';

/*
 * Notebook (`kubeflow.org`, v1 stored, v1beta1 and v1alpha1 served; kubeflow/kubeflow v1.10.0
 * components/notebook-controller/api) and PodDefault (`kubeflow.org/v1alpha1`, components/admission-webhook): the
 * notebook's pod template typed as kfkit's pod-template subset, PodDefault's fields typed where the helper writes them,
 * everything else preserved. Versions, scope and subresources are upstream facts (source kubeflow-notebooks).
 */

const notebookSchema = Schema.object({
  spec: Schema.object({ template: Schema.podTemplateSpec() }, { required: ['template'] }),
  status: Schema.preserveUnknown(),
}, { required: ['spec'] });

const notebookVersion = (name: string, storage: boolean): CrdVersion<Infer<typeof notebookSchema>> => ({
  name, storage, schema: notebookSchema, subresources: { status: true },
});

/** Notebook `kubeflow.org/v1` (stored). */
export const NOTEBOOK_V1 = notebookVersion('v1', true);

/** `spec` of a PodDefault (Go `PodDefaultSpec`). */
const podDefaultSpec = Schema.object({
  desc: Schema.string({ description: 'Shown in the Jupyter web app\'s configuration list.' }),
  selector: Schema.object({ matchLabels: Schema.map(Schema.string()) }, { preserveUnknown: true }),
  env: Schema.array(Schema.object({ name: Schema.string(), value: Schema.string() }, { preserveUnknown: true })),
  envFrom: Schema.array(Schema.preserveUnknown()),
  volumes: Schema.array(Schema.object({ name: Schema.string() }, { preserveUnknown: true })),
  volumeMounts: Schema.array(Schema.object({ name: Schema.string(), mountPath: Schema.string(), readOnly: Schema.bool() }, { preserveUnknown: true })),
  annotations: Schema.map(Schema.string()),
  labels: Schema.map(Schema.string()),
  serviceAccountName: Schema.string(),
  automountServiceAccountToken: Schema.bool(),
  tolerations: Schema.array(Schema.preserveUnknown()),
}, { required: ['selector'], preserveUnknown: true });

/** PodDefault `kubeflow.org/v1alpha1`. */
export const POD_DEFAULT_V1ALPHA1 = {
  name: 'v1alpha1', storage: true, schema: Schema.object({ spec: podDefaultSpec }, { required: ['spec'] }),
} satisfies CrdVersion<unknown>;

/** The body of a Notebook. */
export type NotebookBody = Infer<typeof notebookSchema>;
/** The body of a PodDefault. */
export type PodDefaultBody = Infer<typeof POD_DEFAULT_V1ALPHA1.schema>;

/** The Notebook and PodDefault CRDs, from kfkit's definitions. */
export class NotebookCrds extends Construct {
  public readonly notebook: CustomResourceDefinition;
  public readonly podDefault: CustomResourceDefinition;

  public constructor(scope: Construct, id: string) {
    super(scope, id);
    const labels = standardLabels(NOTEBOOKS_IDENTITY);
    this.notebook = new CustomResourceDefinition(this, 'Notebook', {
      group: 'kubeflow.org', kind: 'Notebook', plural: 'notebooks', scope: 'Namespaced', labels,
      versions: [NOTEBOOK_V1, notebookVersion('v1alpha1', false), notebookVersion('v1beta1', false)],
    });
    this.podDefault = new CustomResourceDefinition(this, 'PodDefault', {
      group: 'kubeflow.org', kind: 'PodDefault', plural: 'poddefaults', scope: 'Namespaced', labels, versions: [POD_DEFAULT_V1ALPHA1],
    });
  }
}
