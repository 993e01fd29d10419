import { z } from 'zod';

/**
 * ML workloads: KServe (and, as they land, Katib, training and notebooks). Each is opt-in; the cross-field rules say
 * what each needs from the rest of the platform.
 */

const BUILT_IN_RUNTIMES = ['kserve-sklearnserver', 'kserve-xgbserver', 'kserve-torchserve', 'kserve-tensorflow-serving', 'kserve-huggingfaceserver'] as const;

/** Schema of `kserve`. */
export const kserveSchema = z.strictObject({
  enabled: z.boolean().default(false).meta({ description: 'Install KServe v0.16.0 (controller, webhooks, runtimes, models web app). Default: false.' }),
  deploymentMode: z.enum(['RawDeployment', 'Serverless']).default('RawDeployment').meta({
    description: 'How InferenceServices run unless they say otherwise: RawDeployment (Deployment + HPA + a route on the gateway; no Knative, '
      + 'no scale to zero, no canary) or Serverless (Knative revisions: scale to zero, canary traffic splits; needs knative.mode). Default: RawDeployment.',
  }),
  runtimes: z.array(z.enum(BUILT_IN_RUNTIMES)).min(1, 'must list at least one runtime').default([...BUILT_IN_RUNTIMES])
    .refine((r) => new Set(r).size === r.length, 'must not list a runtime twice')
    .meta({ description: 'ClusterServingRuntimes to install. Default: sklearn, xgboost, torchserve, tensorflow-serving, huggingface.' }),
}).prefault({});

/** Schema of `training`. */
export const trainingSchema = z.strictObject({
  enabled: z.boolean().default(false).meta({
    description: 'Install the Kubeflow Training Operator v1.9.2 (PyTorchJob, TFJob, MPIJob, XGBoostJob, PaddleJob, JAXJob). Default: false.',
  }),
}).prefault({});

/** Schema of `katib`. */
export const katibSchema = z.strictObject({
  enabled: z.boolean().default(false).meta({
    description: 'Install Katib v0.19.0 (hyperparameter tuning): controller, DB manager on the metadata database (database katib), UI. Default: false.',
  }),
}).prefault({});

/** Schema of `notebooks`. */
export const notebooksSchema = z.strictObject({
  enabled: z.boolean().default(false).meta({
    description: 'Install notebooks (kubeflow/kubeflow v1.10.0): notebook controller, Jupyter and volumes web apps, PodDefaults webhook. '
      + 'Needs multi-user Pipelines (profiles, the gateway, authentication) and cert-manager. Default: false.',
  }),
  cullIdleMinutes: z.number().int('must be a whole number of minutes').min(0, 'must be 0 or more').default(0)
    .meta({ description: 'Stop notebooks idle this many minutes; 0 never. Default: 0.' }),
}).prefault({});

/** What the workload rules read of the rest of the configuration. */
export interface WorkloadsContext {
  readonly kserve: z.output<typeof kserveSchema>;
  readonly katib: z.output<typeof katibSchema>;
  readonly notebooks: z.output<typeof notebooksSchema>;
  readonly pipelines: { readonly enabled: boolean; readonly mode: 'standalone' | 'multi-user' };
  readonly certManager: { readonly mode: 'none' | 'external' | 'managed' };
  readonly knative: { readonly mode: 'none' | 'external' | 'managed' };
}

/** Cross-field rules of the ML workloads. */
export function workloadIssues(c: WorkloadsContext): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (c.kserve.enabled && c.certManager.mode === 'none') {
    issues.push({ path: ['kserve', 'enabled'], message: 'KServe\'s webhooks get their certificate from cert-manager: set certManager.mode to external or managed' });
  }
  if (c.notebooks.enabled && (!c.pipelines.enabled || c.pipelines.mode !== 'multi-user')) {
    issues.push({ path: ['notebooks', 'enabled'], message: 'notebooks run in profiles behind the gateway\'s login: set pipelines.mode to multi-user (with istio and auth)' });
  } else if (c.notebooks.enabled && c.certManager.mode === 'none') {
    issues.push({ path: ['notebooks', 'enabled'], message: 'the PodDefaults webhook gets its certificate from cert-manager: set certManager.mode to external or managed' });
  }
  if (c.katib.enabled && c.certManager.mode === 'none') {
    issues.push({ path: ['katib', 'enabled'], message: 'Katib\'s webhooks get their certificate from cert-manager: set certManager.mode to external or managed' });
  }
  if (c.kserve.enabled && c.kserve.deploymentMode === 'Serverless' && c.knative.mode === 'none') {
    issues.push({ path: ['kserve', 'deploymentMode'], message: 'Serverless needs Knative Serving: set knative.mode to external or managed, or use RawDeployment' });
  }
  return issues;
}
