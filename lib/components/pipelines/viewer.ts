import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { standardLabels } from '../../core/labels';
import { allowKubeApi, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { deployment } from '../../core/workload';
import { PIPELINES_UID, pipelinesIdentity, PipelinesPartProps, pipelinesPeer, watchedNamespace } from './shared';

/** Props of {@link ViewerController}. */
export interface ViewerControllerProps extends PipelinesPartProps {
  /**
   * Most TensorBoard viewers kept at once; creating one more deletes the oldest (upstream `MAX_NUM_VIEWERS`).
   * @default 50
   */
  readonly maxViewers?: number;
  /**
   * Compute budget of the controller.
   * @default - 10m CPU; 32Mi memory request, 256Mi limit
   */
  readonly resources?: ResourceBudget;
}

const NAME = 'ml-pipeline-viewer-crd';
const SERVICE_ACCOUNT = 'ml-pipeline-viewer-crd-service-account';

/**
 * The Kubeflow Pipelines viewer controller 2.17.0 (`ml-pipeline-viewer-crd`): turns each `Viewer` (kubeflow.org
 * v1beta1, created by the UI for TensorBoard) into a Deployment and a Service in the namespace, from the pod template
 * the UI puts into the Viewer (kfkit's restricted template, see {@link PipelinesUi}). Upstream names, image, env var
 * names and the namespaced Role (Deployments and Services of any group, Viewers and their finalizers).
 *
 * The `Viewer` CustomResourceDefinition is not created here (the CRD part installs it, in the `crds` wave). Restricted
 * pod (upstream's UID 1000), read-only root filesystem, the ServiceAccount token (it watches the API), requests and
 * a memory limit; its only connection is to the Kubernetes API. Multi-user (upstream's multi-user install): `NAMESPACE`
 * empty (Viewers of every namespace) and the same permissions cluster-wide.
 */
export class ViewerController extends Construct {
  /** The controller's pods. */
  public readonly peer: NetworkPeer;
  /** `ml-pipeline-viewer-crd-service-account`. */
  public readonly serviceAccountName = SERVICE_ACCOUNT;

  public constructor(scope: Construct, id: string, props: ViewerControllerProps) {
    super(scope, id);
    const maxViewers = props.maxViewers ?? 50;
    if (!Number.isInteger(maxViewers) || maxViewers < 1) {
      throw new Error(`ViewerController: maxViewers must be a whole number >= 1 (the controller refuses to start otherwise), got ${maxViewers}`);
    }
    const ns = props.namespace;
    const identity = pipelinesIdentity(NAME);
    this.peer = pipelinesPeer(ns, NAME);

    const verbs = ['create', 'get', 'list', 'watch', 'update', 'patch', 'delete'];
    const rules: k8s.PolicyRule[] = [
      { apiGroups: ['*'], resources: ['deployments', 'services'], verbs },
      { apiGroups: ['kubeflow.org'], resources: ['viewers', 'viewers/finalizers'], verbs },
    ];
    const names = { roleName: 'ml-pipeline-viewer-controller-role', roleBindingName: 'ml-pipeline-viewer-crd-binding' } as const;
    serviceAccountWithRole(this, {
      name: SERVICE_ACCOUNT,
      namespace: ns,
      labels: standardLabels(identity),
      rules,
      ...names,
      // Multi-user: Viewers of every profile namespace (upstream's ClusterRole of the same name and binding).
      ...(props.mode === 'multi-user' ? { clusterRules: rules, clusterRoleName: names.roleName, clusterRoleBindingName: names.roleBindingName } : {}),
    });
    deployment(this, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: SERVICE_ACCOUNT,
        automountServiceAccountToken: true,
        security: { user: PIPELINES_UID },
        containers: [{
          name: NAME,
          image: KfkitContext.of(this).images.image('kfp-viewer-crd-controller'),
          env: [
            { name: 'MAX_NUM_VIEWERS', value: String(maxViewers) },
            watchedNamespace('NAMESPACE', props.mode),
          ],
          resources: props.resources ?? { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '256Mi' } },
        }],
      },
    });
    allowKubeApi(this, this.peer);
  }
}
