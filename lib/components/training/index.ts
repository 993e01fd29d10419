import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { allowFromKubeApi, allowKubeApi, NetworkPeer } from '../../core/network';
import { fenceJobRbac } from '../../core/admission-fence';
import { NamespaceGroup } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { PROVIDES_ANNOTATION } from '../../validate/types';
import { kubeflowRoleLabels } from '../profiles';
import { JOB_KINDS, TrainingCrds } from './crds';
import { pytorchJob, PyTorchJobProps, tfJob, TFJobProps } from './jobs';
import { TRAINING_IDENTITY } from './shared';

export { JOB_KINDS, PYTORCH_JOB_V1, TF_JOB_V1, TrainingCrds } from './crds';
export type { JobKindName, PyTorchJobBody, TFJobBody } from './crds';
export type { JobProps, PyTorchJobProps, ReplicaContainer, ReplicaProps, TFJobProps } from './jobs';

/** Props of {@link TrainingOperator}. */
export interface TrainingOperatorProps {
  /** Namespace of the operator: the platform namespace. @default 'kubeflow' */
  readonly namespace?: string;
  /** Compute budget of the operator. @default 100m CPU, 128Mi-512Mi memory */
  readonly resources?: ResourceBudget;
  /**
   * The namespaces jobs run in (multi-user: the profiles'). When given, an admission fence confines the operator's
   * ServiceAccounts, Roles and RoleBindings (MPI launchers) to them, RoleBindings to Roles of the namespace.
   * @default - not fenced (standalone: jobs may run in any namespace)
   */
  readonly jobNamespaces?: NamespaceGroup;
}

const NAME = 'training-operator';
const WEBHOOK_PORT = 9443;
const METRICS_PORT = 8080;
const HEALTH_PORT = 8081;
/** The Secret the operator keeps its webhook serving certificate in (it creates the key pair and patches the webhook's CA bundle). */
const WEBHOOK_SECRET = 'training-operator-webhook-cert';
const WEBHOOK_CONFIGURATION = 'validator.training-operator.kubeflow.org';
const BUDGET: ResourceBudget = { cpu: { request: '100m' }, memory: { request: '128Mi', limit: '512Mi' } };

/**
 * The Kubeflow Training Operator **v1.9.2** (`applications/training-operator/upstream/overlays/kubeflow` of
 * kubeflow/manifests 26.03): Deployment `training-operator`, its ClusterRole, the validating webhooks of the six job kinds
 * (PyTorchJob, TFJob, MPIJob, XGBoostJob, PaddleJob, JAXJob), the aggregated `kubeflow-training-*` roles and the CRDs
 * (kfkit's definitions, {@link TrainingCrds}).
 *
 * Why v1 and not Trainer v2 (which the 26.03 example installs instead): the jobs teams write today — the seed module's
 * PyTorchJob and TFJob, Katib trial templates, KFP components that launch PyTorchJobs — are v1 kinds; Trainer v2's
 * TrainJob is a different API (runtimes plus JobSet, an extra controller) that none of them use yet. v1.9 is still
 * shipped by the 26.03 line. Moving to Trainer v2 is a later, separate component.
 *
 * The webhook certificate is the operator's own business, as upstream's: it writes the key pair into the (empty) Secret
 * `training-operator-webhook-cert` and the CA bundle into its ValidatingWebhookConfiguration, so it needs no
 * cert-manager. Network: the operator reaches the API server, the API server its webhook (9443); its metrics port is
 * not opened. Job replicas rendezvous inside their namespace, which a profile's own policy allows: nothing per profile.
 */
export class TrainingOperator extends Construct {
  /** The CRDs. */
  public readonly crds: TrainingCrds;
  /** Namespace of the operator. */
  public readonly namespace: string;

  public constructor(scope: Construct, id: string, props: TrainingOperatorProps = {}) {
    super(scope, id);
    const ns = props.namespace ?? 'kubeflow';
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw new Error(`TrainingOperator ${this.node.path}: namespace "${ns}" must be a DNS label`);
    this.namespace = ns;
    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { ...TRAINING_IDENTITY, version: ctx.images.entry('training-operator').tag };
    const labels = standardLabels(identity);

    this.crds = new TrainingCrds(this, 'Crds');
    serviceAccountWithRole(this, { name: NAME, namespace: ns, labels, automountServiceAccountToken: false, clusterRules: operatorRules() });
    if (props.jobNamespaces) fenceJobRbac(this, 'kfkit-training-operator', { namespace: ns, name: NAME }, props.jobNamespaces);
    this.aggregatedRoles(labels);

    // The operator fills the Secret with its own key pair: kfkit writes it empty (no value in the output).
    new k8s.KubeSecret(this, 'WebhookCert', {
      metadata: { name: WEBHOOK_SECRET, namespace: ns, labels, annotations: { [PROVIDES_ANNOTATION]: `Secret/${ns}/${WEBHOOK_SECRET}` } },
      type: 'Opaque',
    });
    const probe = (path: string, initialDelaySeconds: number, periodSeconds: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromNumber(HEALTH_PORT) }, initialDelaySeconds, periodSeconds, timeoutSeconds: 3,
    });
    deployment(this, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: NAME,
        automountServiceAccountToken: true,
        security: { user: 1000 },
        containers: [{
          name: NAME,
          image: ctx.images.image('training-operator'),
          command: ['/manager'],
          env: [
            { name: 'MY_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          ],
          ports: [{ containerPort: METRICS_PORT }, { name: 'webhook-server', containerPort: WEBHOOK_PORT, protocol: 'TCP' }],
          resources: props.resources ?? BUDGET,
          volumeMounts: [{ name: 'cert', mountPath: '/tmp/k8s-webhook-server/serving-certs', readOnly: true }],
          livenessProbe: probe('/healthz', 15, 20),
          readinessProbe: probe('/readyz', 10, 15),
        }],
        volumes: [{ name: 'cert', secret: { secretName: WEBHOOK_SECRET } }],
      },
    });
    clusterIpService(this, {
      name: NAME, namespace: ns, identity,
      ports: [servicePort('monitoring-port', METRICS_PORT), { ...servicePort('webhook-server', 443, WEBHOOK_PORT), protocol: 'TCP' }],
    });
    new k8s.KubeValidatingWebhookConfiguration(this, 'Webhook', {
      metadata: { name: WEBHOOK_CONFIGURATION, labels },
      webhooks: JOB_KINDS.filter((k) => k.kind !== 'MPIJob').map((k) => ({
        name: `validator.${k.kind.toLowerCase()}.training-operator.kubeflow.org`,
        clientConfig: { service: { name: NAME, namespace: ns, path: `/validate-kubeflow-org-v1-${k.kind.toLowerCase()}` } },
        failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1'],
        rules: [{ apiGroups: ['kubeflow.org'], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: [k.plural] }],
      })),
    });
    const peer: NetworkPeer = { peerName: NAME, namespace: ns, podLabels: selectorLabels(identity) };
    allowKubeApi(this, peer);
    allowFromKubeApi(this, 'WebhookFromKubeApi', peer, [{ port: WEBHOOK_PORT }]);
  }

  /** A PyTorchJob (see {@link pytorchJob}). */
  public pytorchJob(scope: Construct, id: string, props: PyTorchJobProps): ApiObject {
    return pytorchJob(scope, id, this.crds, props);
  }

  /** A TFJob (see {@link tfJob}). */
  public tfJob(scope: Construct, id: string, props: TFJobProps): ApiObject {
    return tfJob(scope, id, this.crds, props);
  }

  /** Upstream's aggregated roles (`kubeflow-training-admin/edit/view`). */
  private aggregatedRoles(labels: Record<string, string>): void {
    const kinds = JOB_KINDS.map((k) => k.plural);
    const status = JOB_KINDS.map((k) => `${k.plural}/status`);
    new k8s.KubeClusterRole(this, 'AdminRole', {
      metadata: { name: 'kubeflow-training-admin', labels: { ...labels, ...kubeflowRoleLabels('admin') } },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-training-admin': 'true' } }] },
    });
    new k8s.KubeClusterRole(this, 'EditRole', {
      metadata: { name: 'kubeflow-training-edit', labels: { ...labels, ...kubeflowRoleLabels('edit'), 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-training-admin': 'true' } },
      rules: [
        { apiGroups: ['kubeflow.org'], resources: kinds, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
        { apiGroups: ['kubeflow.org'], resources: status, verbs: ['get'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['create', 'delete', 'get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
      ],
    });
    new k8s.KubeClusterRole(this, 'ViewRole', {
      metadata: { name: 'kubeflow-training-view', labels: { ...labels, ...kubeflowRoleLabels('view') } },
      rules: [
        { apiGroups: ['kubeflow.org'], resources: kinds, verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['kubeflow.org'], resources: status, verbs: ['get'] },
      ],
    });
  }
}

/** Upstream's `training-operator` ClusterRole (v1.9.2), every rule. */
function operatorRules(): k8s.PolicyRule[] {
  const all = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
  const jobs = JOB_KINDS.map((k) => k.plural).sort();
  return [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'list', 'update', 'watch'] },
    { apiGroups: [''], resources: ['events'], verbs: all },
    { apiGroups: [''], resources: ['pods'], verbs: all },
    { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'update', 'watch'] },
    { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['create', 'get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['services'], verbs: ['create', 'delete', 'get', 'list', 'watch'] },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations'], verbs: ['get', 'list', 'update', 'watch'] },
    { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: all },
    { apiGroups: ['kubeflow.org'], resources: jobs, verbs: all },
    { apiGroups: ['kubeflow.org'], resources: jobs.map((j) => `${j}/finalizers`), verbs: ['update'] },
    { apiGroups: ['kubeflow.org'], resources: jobs.map((j) => `${j}/status`), verbs: ['get', 'patch', 'update'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: ['create', 'list', 'update', 'watch'] },
    { apiGroups: ['scheduling.volcano.sh'], resources: ['podgroups'], verbs: all },
    { apiGroups: ['scheduling.x-k8s.io'], resources: ['podgroups'], verbs: all },
  ];
}
