import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { certificate, CertManagerRef, certificatesWave, INJECT_CA_FROM_ANNOTATION, IssuerRef, selfSignedIssuer } from '../../core/cert-manager';
import { AdmissionFence, fenceJobRbac } from '../../core/admission-fence';
import { KfkitContext } from '../../core/context';
import { IDatabase } from '../../core/database';
import { ImageKey } from '../../core/images';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { IKubeflowGateway } from '../../core/mesh';
import { allowEgressToGroup, allowFromKubeApi, allowIngressFromGroup, allowKubeApi, allowTraffic, kubeApi, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { IProfile, IProfileExtension, PROFILE_NAMESPACES, ProfilePods } from '../../core/tenancy';
import { NamespaceGroup } from '../../core/network';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { PROVIDES_ANNOTATION } from '../../validate/types';
import { DashboardAppLinks } from '../dashboard';
import { exposeWebApp, WebAppBackend } from '../gateway';
import { kubeflowRoleLabels } from '../profiles';
import { KatibCrds } from './crds';
import { experiment, ExperimentProps } from './experiment';
import { DB_MANAGER_PORT, KATIB_IDENTITY, SUGGESTION_PORT } from './shared';

export { EXPERIMENT_V1BETA1, KatibCrds } from './crds';
export type { ExperimentBody } from './crds';
export type { ExperimentParameter, ExperimentProps } from './experiment';

/** Compute budgets. */
export interface KatibResources {
  /** The controller. @default 50m CPU, 128Mi-512Mi memory */
  readonly controller?: ResourceBudget;
  /** The DB manager. @default 20m CPU, 64Mi-256Mi memory */
  readonly dbManager?: ResourceBudget;
  /** The UI. @default 20m CPU, 64Mi-256Mi memory */
  readonly ui?: ResourceBudget;
}

/** Props of {@link Katib}. */
export interface KatibProps {
  /** Namespace of Katib: the platform namespace. @default 'kubeflow' */
  readonly namespace?: string;
  /** The metadata database: Katib's DB manager keeps trials' observations in its `katib` database (MySQL or PostgreSQL). */
  readonly database: IDatabase;
  /** cert-manager, which issues the webhooks' serving certificate. */
  readonly certManager: CertManagerRef;
  /** The Kubeflow gateway: the UI is routed at `/katib/`. @default - no UI route */
  readonly gateway?: IKubeflowGateway;
  /**
   * The namespaces experiments run in (multi-user: the profiles'). When given, an admission fence confines the
   * controller's ServiceAccounts, Roles and RoleBindings (for suggestions) to them, RoleBindings to Roles of the namespace.
   * @default - not fenced (standalone: experiments may run in any namespace)
   */
  readonly jobNamespaces?: NamespaceGroup;
  /** Compute budgets. @default - see {@link KatibResources} */
  readonly resources?: KatibResources;
}

const CONTROLLER = 'katib-controller';
const DB_MANAGER = 'katib-db-manager';
const UI = 'katib-ui';
const WEBHOOK_PORT = 8443;
const METRICS_PORT = 8080;
const HEALTH_PORT = 18080;
const UI_PORT = 8080;
const WEBHOOK_SECRET = 'katib-webhook-cert';
const ISSUER = 'katib-selfsigned-issuer';
const CONFIG = 'katib-config';
/** Namespaces whose pods get the metrics collector (Kubeflow's profile namespaces carry it). */
const INJECTION_LABEL = 'katib.kubeflow.org/metrics-collector-injection';
/** Katib's suggestion (and early-stopping) pods in an experiment's namespace. */
const SUGGESTION_PODS: ProfilePods = { name: 'katib-suggestions', podLabels: { 'sidecar.istio.io/inject': 'false' } };
const CONTROLLER_BUDGET: ResourceBudget = { cpu: { request: '50m' }, memory: { request: '128Mi', limit: '512Mi' } };
const SMALL_BUDGET: ResourceBudget = { cpu: { request: '20m' }, memory: { request: '64Mi', limit: '256Mi' } };

/** The suggestion and early-stopping services and the metrics collectors of the katib-config, by algorithm or kind (upstream's). */
const SUGGESTIONS: readonly (readonly [string, ImageKey, Record<string, unknown>?])[] = [
  ['random', 'katib-suggestion-hyperopt'], ['tpe', 'katib-suggestion-hyperopt'], ['grid', 'katib-suggestion-optuna'],
  ['hyperband', 'katib-suggestion-hyperband'], ['bayesianoptimization', 'katib-suggestion-skopt'], ['cmaes', 'katib-suggestion-goptuna'],
  ['sobol', 'katib-suggestion-goptuna'], ['multivariate-tpe', 'katib-suggestion-optuna'],
  ['enas', 'katib-suggestion-enas', { resources: { limits: { memory: '400Mi' } } }], ['darts', 'katib-suggestion-darts'],
  ['pbt', 'katib-suggestion-pbt', { persistentVolumeClaimSpec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } } }],
];

/** The dashboard's menu entry of the Katib UI. */
export function katibDashboardLinks(): DashboardAppLinks {
  return { menu: { type: 'item', text: 'Experiments (AutoML)', link: '/katib/', icon: 'kubeflow:katib' } };
}

/**
 * Katib v0.19.0 as kubeflow/manifests 26.03 installs it (`applications/katib/upstream/installs/katib-with-kubeflow`):
 * `katib-controller` (its webhooks — the Experiment defaulter and validator and the pod mutator that adds the metrics
 * collector to trials in namespaces labelled `katib.kubeflow.org/metrics-collector-injection: enabled` — with a
 * cert-manager certificate), `katib-db-manager`, `katib-ui` at `/katib/`, `katib-config` (suggestion, early-stopping and
 * metrics-collector images from the catalog), the aggregated `kubeflow-katib-*` roles and the CRDs ({@link KatibCrds}).
 *
 * Differences from upstream (facts/deviations.json): no `katib-mysql` — the DB manager uses the platform's metadata
 * database ({@link KatibProps.database}), as upstream's `katib-external-db` install does, with its host, port, database
 * and credentials from the typed reference (and PostgreSQL TLS settings); the `trial-templates` ConfigMap of examples is
 * not installed.
 *
 * Profiles ({@link addToProfile}): trials' metrics collectors reach the DB manager, and the controller reaches the
 * experiments' suggestion services; the server sides admit every profile namespace once.
 */
export class Katib extends Construct implements IProfileExtension {
  /** The CRDs. */
  public readonly crds: KatibCrds;
  /** The UI, routed behind the gateway (when there is one). */
  public readonly ui?: WebAppBackend;
  /** This construct as the profiles' extension. */
  public readonly profileExtension: IProfileExtension = this;
  private readonly controllerPeer: NetworkPeer;
  private readonly dbManagerPeer: NetworkPeer;

  public constructor(scope: Construct, id: string, props: KatibProps) {
    super(scope, id);
    const ns = props.namespace ?? 'kubeflow';
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw new Error(`Katib ${this.node.path}: namespace "${ns}" must be a DNS label`);
    const ctx = KfkitContext.of(this);
    const resources = props.resources ?? {};
    this.crds = new KatibCrds(this, 'Crds');
    const identity = (name: string): ComponentIdentity => ({ ...KATIB_IDENTITY, name, component: name });
    const peer = (name: string): NetworkPeer => ({ peerName: name, namespace: ns, podLabels: selectorLabels(identity(name)) });
    this.controllerPeer = peer(CONTROLLER);
    this.dbManagerPeer = peer(DB_MANAGER);
    this.aggregatedRoles();

    // katib-config: upstream's KatibConfig, images from the catalog.
    const runtime = (key: ImageKey) => ctx.runtimeImage(key);
    const katibConfig = {
      apiVersion: 'config.kubeflow.org/v1beta1',
      kind: 'KatibConfig',
      init: {
        controller: {
          webhookPort: WEBHOOK_PORT,
          trialResources: ['TrainJob.v1alpha1.trainer.kubeflow.org', 'Job.v1.batch', 'TFJob.v1.kubeflow.org', 'PyTorchJob.v1.kubeflow.org', 'MPIJob.v1.kubeflow.org', 'XGBoostJob.v1.kubeflow.org'],
        },
      },
      runtime: {
        metricsCollectors: [
          { kind: 'StdOut', image: runtime('katib-file-metrics-collector') },
          { kind: 'File', image: runtime('katib-file-metrics-collector') },
          { kind: 'TensorFlowEvent', image: runtime('katib-tfevent-metrics-collector'), resources: { limits: { memory: '1Gi' } } },
        ],
        suggestions: SUGGESTIONS.map(([algorithmName, image, extra]) => ({ algorithmName, image: runtime(image), ...(extra ?? {}) })),
        earlyStoppings: [{ algorithmName: 'medianstop', image: runtime('katib-earlystopping-medianstop') }],
      },
    };
    const config = new Construct(this, 'Config');
    new k8s.KubeConfigMap(config, 'Resource', {
      metadata: { name: CONFIG, namespace: ns, labels: standardLabels(identity(CONTROLLER)) },
      data: { 'katib-config.yaml': `---\n${stringify(katibConfig, { lineWidth: 0 })}` },
    });

    this.controller(ns, identity(CONTROLLER), props.certManager, resources.controller ?? CONTROLLER_BUDGET);
    if (props.jobNamespaces) fenceJobRbac(this, 'kfkit-katib-controller', { namespace: ns, name: CONTROLLER }, props.jobNamespaces);
    this.dbManager(ns, identity(DB_MANAGER), props.database, resources.dbManager ?? SMALL_BUDGET);
    this.ui = this.webUi(ns, identity(UI), props.gateway, resources.ui ?? SMALL_BUDGET);
  }

  /** A typed Experiment (see {@link experiment}). */
  public experiment(scope: Construct, id: string, props: ExperimentProps): ApiObject {
    return experiment(scope, id, this.crds.experiment, props);
  }

  /**
   * Per profile: every pod may reach the DB manager (trials' metrics collectors, early stopping), the controller the
   * experiments' suggestion services (6789), and suggestion pods the API server (early stopping updates trials).
   */
  public addToProfile(profile: IProfile): void {
    profile.network.allowEgress({ peer: this.dbManagerPeer, ports: [{ port: DB_MANAGER_PORT }] });
    // Early stopping (in the suggestion pods) sets trials' status through the API server. Katib labels suggestion pods
    // `sidecar.istio.io/inject: "false"` (a fixed value; the others carry the experiment's name).
    profile.network.allowEgress(kubeApi(this), SUGGESTION_PODS);
    profile.network.allowIngress(this.controllerPeer, [{ port: SUGGESTION_PORT }]);
    KfkitContext.of(this).once('katib-profiles', () => {
      allowIngressFromGroup(this, 'DbManagerFromProfiles', this.dbManagerPeer, { group: PROFILE_NAMESPACES }, [{ port: DB_MANAGER_PORT }]);
      allowEgressToGroup(this, 'ControllerToProfiles', this.controllerPeer, { group: PROFILE_NAMESPACES }, [{ port: SUGGESTION_PORT }]);
    });
  }

  private controller(ns: string, identity: ComponentIdentity, certManager: CertManagerRef, budget: ResourceBudget): void {
    const scope = new Construct(this, 'Controller');
    const labels = standardLabels(identity);
    const all = ['get', 'list', 'watch', 'create', 'delete'];
    serviceAccountWithRole(scope, {
      name: CONTROLLER, namespace: ns, labels, automountServiceAccountToken: false,
      clusterRules: [
        { apiGroups: [''], resources: ['services'], verbs: all },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'update'] },
        { apiGroups: [''], resources: ['serviceaccounts', 'persistentvolumes', 'persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'create'] },
        { apiGroups: [''], resources: ['namespaces', 'configmaps'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods', 'pods/status'], verbs: ['get'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'patch', 'update'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: all },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['get', 'create', 'list', 'watch'] },
        { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: all },
        { apiGroups: ['jobset.x-k8s.io'], resources: ['jobsets'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['trainer.kubeflow.org'], resources: ['trainjobs'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
        { apiGroups: ['kubeflow.org'], resources: ['tfjobs', 'pytorchjobs', 'mpijobs', 'xgboostjobs'], verbs: all },
        {
          apiGroups: ['kubeflow.org'],
          resources: ['experiments', 'experiments/status', 'experiments/finalizers', 'trials', 'trials/status', 'trials/finalizers', 'suggestions', 'suggestions/status', 'suggestions/finalizers'],
          verbs: ['*'],
        },
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'], verbs: ['get', 'watch', 'list', 'patch', 'update'] },
      ],
    });

    const certificates = new Construct(scope, 'Certificates');
    KfkitContext.of(this).plan.assign(certificates, certificatesWave(this));
    let issuer: IssuerRef | undefined = certManager.issuer;
    if (issuer === undefined) {
      selfSignedIssuer(certificates, 'Issuer', { name: ISSUER, namespace: ns, labels });
      issuer = { kind: 'Issuer', name: ISSUER };
    }
    certificate(certificates, 'Certificate', {
      name: WEBHOOK_SECRET, namespace: ns, labels, annotations: { [PROVIDES_ANNOTATION]: `Secret/${ns}/${WEBHOOK_SECRET}` },
      spec: {
        commonName: `${CONTROLLER}.${ns}.svc`, isCA: certManager.issuer === undefined,
        dnsNames: [`${CONTROLLER}.${ns}.svc`, `${CONTROLLER}.${ns}.svc.cluster.local`], issuerRef: issuer, secretName: WEBHOOK_SECRET,
      },
    });

    const ctx = KfkitContext.of(this);
    const probe = (path: string): k8s.Probe => ({ httpGet: { path, port: k8s.IntOrString.fromString('healthz') } });
    deployment(scope, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: CONTROLLER,
        automountServiceAccountToken: true,
        security: { user: 1000 },
        containers: [{
          name: CONTROLLER,
          image: ctx.images.image('katib-controller'),
          command: ['./katib-controller'],
          args: ['--katib-config=/katib-config.yaml'],
          env: [{ name: 'KATIB_CORE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
          ports: [
            { name: 'webhook', containerPort: WEBHOOK_PORT, protocol: 'TCP' }, { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
            { name: 'healthz', containerPort: HEALTH_PORT, protocol: 'TCP' },
          ],
          resources: budget,
          volumeMounts: [
            { name: 'cert', mountPath: '/tmp/cert', readOnly: true },
            { name: 'katib-config', mountPath: '/katib-config.yaml', subPath: 'katib-config.yaml', readOnly: true },
          ],
          livenessProbe: probe('/healthz'),
          readinessProbe: probe('/readyz'),
        }],
        volumes: [{ name: 'cert', secret: { secretName: WEBHOOK_SECRET } }, { name: 'katib-config', configMap: { name: CONFIG } }],
      },
    });
    clusterIpService(scope, {
      name: CONTROLLER, namespace: ns, identity,
      ports: [{ ...servicePort('webhook', 443, WEBHOOK_PORT), protocol: 'TCP' }, servicePort('metrics', METRICS_PORT), servicePort('healthz', HEALTH_PORT)],
    });
    const annotations = { [INJECT_CA_FROM_ANNOTATION]: `${ns}/${WEBHOOK_SECRET}` };
    const client = (path: string): k8s.WebhookClientConfig => ({ service: { name: CONTROLLER, namespace: ns, path } });
    const experiments: k8s.RuleWithOperations = { apiGroups: ['kubeflow.org'], apiVersions: ['v1beta1'], operations: ['CREATE', 'UPDATE'], resources: ['experiments'] };
    new k8s.KubeMutatingWebhookConfiguration(scope, 'Mutating', {
      metadata: { name: 'katib.kubeflow.org', labels, annotations },
      webhooks: [
        { name: 'defaulter.experiment.katib.kubeflow.org', clientConfig: client('/mutate-experiment'), rules: [experiments], sideEffects: 'None', admissionReviewVersions: ['v1'] },
        {
          name: 'mutator.pod.katib.kubeflow.org', clientConfig: client('/mutate-pod'), sideEffects: 'None', admissionReviewVersions: ['v1'],
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
          namespaceSelector: { matchLabels: { [INJECTION_LABEL]: 'enabled' } },
        },
      ],
    });
    new k8s.KubeValidatingWebhookConfiguration(scope, 'Validating', {
      metadata: { name: 'katib.kubeflow.org', labels, annotations },
      webhooks: [{ name: 'validator.experiment.katib.kubeflow.org', clientConfig: client('/validate-experiment'), rules: [experiments], sideEffects: 'None', admissionReviewVersions: ['v1'] }],
    });
    allowKubeApi(scope, this.controllerPeer);
    allowFromKubeApi(scope, 'WebhookFromKubeApi', this.controllerPeer, [{ port: WEBHOOK_PORT }]);
    allowTraffic(scope, this.controllerPeer, this.dbManagerPeer, [{ port: DB_MANAGER_PORT }]);
  }

  /** The DB manager on the platform's database, as upstream's `katib-external-db` install configures it. */
  private dbManager(ns: string, identity: ComponentIdentity, db: IDatabase, budget: ResourceBudget): void {
    const scope = new Construct(this, 'DbManager');
    const secret = (key: string): k8s.EnvVarSource => ({ secretKeyRef: { name: db.credentialsFor('katib').secretName, key } });
    const value = (name: string, v: string): k8s.EnvVar => ({ name, value: v });
    const mysql = db.engine === 'mysql';
    const prefix = mysql ? 'KATIB_MYSQL_DB' : 'KATIB_POSTGRESQL_DB';
    const ca = db.tls.caSecret;
    const env: k8s.EnvVar[] = [
      value('DB_NAME', mysql ? 'mysql' : 'postgres'),
      { name: 'DB_USER', valueFrom: secret(db.credentialsFor('katib').usernameKey) },
      { name: 'DB_PASSWORD', valueFrom: secret(db.credentialsFor('katib').passwordKey) },
      value(`${prefix}_HOST`, db.host),
      value(`${prefix}_PORT`, String(db.port)),
      value(`${prefix}_DATABASE`, db.databaseNames.katib),
      ...(mysql ? [] : [value('KATIB_POSTGRESQL_SSL_MODE', { disabled: 'disable', required: 'require', 'verify-ca': 'verify-ca', 'verify-full': 'verify-full' }[db.tls.mode])]),
      ...(!mysql && ca ? [value('PGSSLROOTCERT', '/etc/katib/db-ca/ca.crt')] : []),
    ];
    deployment(scope, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: 'default',
        security: { user: 1000 },
        containers: [{
          name: DB_MANAGER,
          image: KfkitContext.of(this).images.image('katib-db-manager'),
          command: ['./katib-db-manager'],
          env,
          ports: [{ name: 'api', containerPort: DB_MANAGER_PORT }],
          resources: budget,
          livenessProbe: { grpc: { port: DB_MANAGER_PORT }, initialDelaySeconds: 10, periodSeconds: 60, failureThreshold: 5 },
          ...(!mysql && ca ? { volumeMounts: [{ name: 'db-ca', mountPath: '/etc/katib/db-ca', readOnly: true }] } : {}),
        }],
        ...(!mysql && ca ? { volumes: [{ name: 'db-ca', secret: { secretName: ca.name, items: [{ key: ca.key, path: 'ca.crt' }] } }] } : {}),
      },
    });
    clusterIpService(scope, { name: DB_MANAGER, namespace: ns, identity, ports: [{ ...servicePort('api', DB_MANAGER_PORT), protocol: 'TCP' }] });
    db.allowFrom(this.dbManagerPeer);
  }

  private webUi(ns: string, identity: ComponentIdentity, gateway: IKubeflowGateway | undefined, budget: ResourceBudget): WebAppBackend | undefined {
    const scope = new Construct(this, 'Ui');
    const labels = standardLabels(identity);
    serviceAccountWithRole(scope, {
      name: UI, namespace: ns, labels, automountServiceAccountToken: false,
      clusterRules: [
        { apiGroups: [''], resources: ['configmaps', 'namespaces'], verbs: ['*'] },
        { apiGroups: ['kubeflow.org'], resources: ['experiments', 'trials', 'suggestions'], verbs: ['*'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ],
    });
    // Upstream's role gives the UI every verb on namespaces; it only lists them. The fence keeps upstream's RBAC and
    // refuses the rest.
    new AdmissionFence(scope, 'Fence', {
      name: 'kfkit-katib-ui', serviceAccount: { namespace: ns, name: UI }, namespaces: 'none',
      reason: 'Katib\'s UI holds every verb on namespaces (upstream\'s ClusterRole) but only lists them: it may not create, change or delete one',
    });
    deployment(scope, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: UI,
        automountServiceAccountToken: true,
        security: { user: 1000 },
        containers: [{
          name: UI,
          image: KfkitContext.of(this).images.image('katib-ui'),
          command: ['./katib-ui'],
          args: [`--port=${UI_PORT}`],
          env: [
            { name: 'KATIB_CORE_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'APP_DISABLE_AUTH', value: 'false' },
          ],
          ports: [{ name: 'ui', containerPort: UI_PORT }],
          resources: budget,
        }],
      },
    });
    clusterIpService(scope, { name: UI, namespace: ns, identity, ports: [{ ...servicePort('ui', 80, UI_PORT), protocol: 'TCP' }] });
    const uiPeer: NetworkPeer = { peerName: UI, namespace: ns, podLabels: selectorLabels(identity) };
    allowKubeApi(scope, uiPeer);
    allowTraffic(scope, uiPeer, this.dbManagerPeer, [{ port: DB_MANAGER_PORT }]);
    if (!gateway) return undefined;
    const backend: WebAppBackend = { serviceName: UI, servicePort: 80, podPort: UI_PORT, peer: uiPeer };
    exposeWebApp(scope, 'Route', gateway, { name: UI, prefix: '/katib/', backend });
    return backend;
  }

  /** Upstream's aggregated roles (`kubeflow-katib-admin/edit/view`). */
  private aggregatedRoles(): void {
    const labels = standardLabels(KATIB_IDENTITY);
    const kinds = ['experiments', 'trials', 'suggestions'];
    new k8s.KubeClusterRole(this, 'AdminRole', {
      metadata: { name: 'kubeflow-katib-admin', labels: { ...labels, ...kubeflowRoleLabels('admin') } },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-katib-admin': 'true' } }] },
    });
    new k8s.KubeClusterRole(this, 'EditRole', {
      metadata: { name: 'kubeflow-katib-edit', labels: { ...labels, ...kubeflowRoleLabels('edit'), 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-katib-admin': 'true' } },
      rules: [
        { apiGroups: ['kubeflow.org'], resources: kinds, verbs: ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
        { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
      ],
    });
    new k8s.KubeClusterRole(this, 'ViewRole', {
      metadata: { name: 'kubeflow-katib-view', labels: { ...labels, ...kubeflowRoleLabels('view') } },
      rules: [{ apiGroups: ['kubeflow.org'], resources: kinds, verbs: ['get', 'list', 'watch'] }],
    });
  }
}
