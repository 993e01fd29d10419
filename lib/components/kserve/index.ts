import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { IArtifactStore } from '../../core/artifact-store';
import { certificate, CertManagerRef, certificatesWave, INJECT_CA_FROM_ANNOTATION, IssuerRef, selfSignedIssuer } from '../../core/cert-manager';
import { KfkitContext } from '../../core/context';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { IKubeflowGateway, UserHeaders } from '../../core/mesh';
import { allowEgressToGroup, allowFromKubeApi, allowKubeApi, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { IProfile, IProfileExtension, PROFILE_NAMESPACES } from '../../core/tenancy';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { PROVIDES_ANNOTATION } from '../../validate/types';
import { DashboardAppLinks } from '../dashboard';
import { exposeWebApp, WebAppBackend } from '../gateway';
import { IServerless, QUEUE_PROXY_PORTS } from '../knative';
import { PROFILE_ARTIFACT_SECRET } from '../pipelines';
import { kubeflowRoleLabels } from '../profiles';
import { CLUSTER_STORAGE_CONTAINER_V1ALPHA1, KServeCrds } from './crds';
import { inferenceService, InferenceServiceProps } from './inference-service';
import { BuiltInRuntime, builtInRuntime, BUILT_IN_RUNTIMES, servingRuntime, ServingRuntimeProps } from './runtimes';
import {
  CONTROLLER, DeploymentMode, INFERENCESERVICE_CONFIG, ISVC_POD_LABEL, KSERVE_IDENTITY, WEBHOOK_CERTIFICATE, WEBHOOK_PORT, WEBHOOK_SECRET, WEBHOOK_SERVICE,
} from './shared';

export { INFERENCE_SERVICE_V1BETA1, KServeCrds } from './crds';
export type { InferenceServiceBody, ServingRuntimeBody } from './crds';
export type { InferenceServiceContext, InferenceServiceProps, ModelProps, PredictorGpus } from './inference-service';
export { BUILT_IN_RUNTIMES } from './runtimes';
export type { BuiltInRuntime, InferenceProtocol, ModelFormat, RuntimeResources, ServingRuntimeProps } from './runtimes';
export { DEPLOYMENT_MODE_ANNOTATION } from './shared';
export type { DeploymentMode } from './shared';

/** Compute budgets. */
export interface KServeResources {
  /** The controller (`manager`). @default 100m CPU, 200Mi-300Mi memory (upstream's) */
  readonly controller?: ResourceBudget;
  /** The metrics proxy (`kube-rbac-proxy`). @default 10m CPU, 32Mi-64Mi memory */
  readonly rbacProxy?: ResourceBudget;
  /** The models web app. @default 10m CPU, 128Mi-512Mi memory */
  readonly webApp?: ResourceBudget;
}

/** Props of {@link KServe}. */
export interface KServeProps {
  /** Namespace of the controller and the web app: the platform namespace. @default 'kubeflow' */
  readonly namespace?: string;
  /** cert-manager, which issues the webhooks' serving certificate (KServe's webhooks must serve before any InferenceService). */
  readonly certManager: CertManagerRef;
  /**
   * How InferenceServices run unless they say otherwise: `RawDeployment` (a Deployment, a Service, an HPA and a route
   * on the gateway: no Knative, no scale to zero, no canary) or `Serverless` (Knative revisions: scale to zero, canary
   * traffic splits). kubeflow/manifests 26.03 defaults to Serverless; kfkit to RawDeployment, which needs nothing but the
   * gateway.
   * @default 'RawDeployment'
   */
  readonly deploymentMode?: DeploymentMode;
  /** Knative Serving: makes Serverless mode available (and required for it). @default - none: RawDeployment only */
  readonly knative?: IServerless;
  /**
   * The Kubeflow gateway: raw InferenceServices are routed at `/serving/<namespace>/<name>` on it (upstream's
   * `pathTemplate`) and the models web app at `/kserve-endpoints/`.
   * @default - no routes: InferenceServices are reached inside the cluster only, no web app
   */
  readonly gateway?: IKubeflowGateway;
  /** Identity headers the models web app trusts (with the gateway). @default - the gateway's */
  readonly userHeaders?: UserHeaders;
  /**
   * The artifact store: `s3://` storage URIs reach it by default (endpoint, region, TLS), with the key names of the
   * profiles' artifact Secret.
   * @default - AWS S3 defaults
   */
  readonly store?: IArtifactStore;
  /** ClusterServingRuntimes to install. @default sklearn, xgboost, torchserve, tensorflow-serving, huggingface */
  readonly runtimes?: readonly BuiltInRuntime[];
  /** Compute budgets. @default - see {@link KServeResources} */
  readonly resources?: KServeResources;
}

const CONTROLLER_BUDGET: ResourceBudget = { cpu: { request: '100m', limit: '100m' }, memory: { request: '200Mi', limit: '300Mi' } };
const PROXY_BUDGET: ResourceBudget = { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '64Mi' } };
const WEB_APP_BUDGET: ResourceBudget = { cpu: { request: '10m' }, memory: { request: '128Mi', limit: '512Mi' } };
/** The controller's metrics, served by kube-rbac-proxy (upstream's `https`). */
const METRICS_PORT = 8443;
const HEALTH_PORT = 8081;
const WEB_APP = 'kserve-models-web-application';
const WEB_APP_PORT = 5000;
/** ServiceAccount of predictors in a profile on the in-cluster store: it lists the profile's artifact Secret. */
export const MODEL_SERVICE_ACCOUNT = 'kserve-models';
const DEFAULT_RUNTIMES: readonly BuiltInRuntime[] = ['kserve-sklearnserver', 'kserve-xgbserver', 'kserve-torchserve', 'kserve-tensorflow-serving', 'kserve-huggingfaceserver'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The dashboard's menu entry of the models web app. */
export function kserveDashboardLinks(prefix = '/kserve-endpoints/'): DashboardAppLinks {
  return { menu: { type: 'item', text: 'KServe Endpoints', link: prefix, icon: 'kubeflow:models' } };
}

/**
 * KServe v0.16.0 as kubeflow/manifests 26.03 installs it (`applications/kserve`): the controller
 * `kserve-controller-manager` (manager and kube-rbac-proxy), its webhooks (InferenceService defaulting and validation,
 * the pod mutator that adds the storage initializer, validation of runtimes, graphs and trained models) with a
 * cert-manager serving certificate, `inferenceservice-config`, the default ClusterStorageContainer, ClusterServingRuntimes,
 * the aggregated `kubeflow-kserve-*` roles and the models web app at `/kserve-endpoints/`. The 13 CRDs come from kfkit's
 * definitions ({@link KServeCrds}).
 *
 * Differences from upstream, each for a reason (facts/deviations.json lists those the fidelity check sees):
 * - Not installed: `llmisvc-controller-manager` (the LLMInferenceService controller; upstream's overlay deletes every
 *   LLMInferenceServiceConfig as insecure and the LLM validating webhook, whose server does not run, so the controller
 *   has nothing to work with) and `kserve-localmodel-controller-manager` (model caching on nodes needs the node agent
 *   DaemonSet, privileged with hostPID and hostNetwork, which upstream's overlay deletes). Their CRDs stay, as upstream's.
 * - Raw deployments by default ({@link KServeProps.deploymentMode}); the ingress settings come from the typed gateway
 *   and Knative; `s3://` defaults from the typed artifact store, with the key names of the profiles' Secret.
 * - Five runtimes (sklearn, xgboost, torchserve, tensorflow, huggingface; {@link KServeProps.runtimes}); upstream also
 *   installs lightgbm, paddle, pmml, mlserver, triton and a multi-node huggingface runtime: add what a team needs with
 *   {@link KServe.servingRuntime}.
 *
 * Profiles ({@link profileExtension}): a ServiceAccount `kserve-models` that carries the profile's artifact Secret
 * (in-cluster store; with IRSA the profile's `default-editor` has the role), and the network paths predictors need.
 */
export class KServe extends Construct implements IProfileExtension {
  /** The CRDs. */
  public readonly crds: KServeCrds;
  /** Namespace of the controller. */
  public readonly namespace: string;
  /** The default deployment mode. */
  public readonly deploymentMode: DeploymentMode;
  /** The models web app, routed behind the gateway (when there is one). */
  public readonly webApp?: WebAppBackend;
  /** This construct as the profiles' extension. */
  public readonly profileExtension: IProfileExtension = this;
  private readonly knative?: IServerless;
  private readonly store?: IArtifactStore;
  private readonly runtimeScope: Construct;

  public constructor(scope: Construct, id: string, props: KServeProps) {
    super(scope, id);
    const where = `KServe ${this.node.path}`;
    const ns = props.namespace ?? 'kubeflow';
    if (!DNS_LABEL.test(ns)) throw new Error(`${where}: namespace "${ns}" must be a DNS label`);
    const mode = props.deploymentMode ?? 'RawDeployment';
    const modeName: string = mode;
    if (modeName !== 'RawDeployment' && modeName !== 'Serverless') throw new Error(`${where}: deploymentMode "${modeName}" must be RawDeployment or Serverless`);
    if (mode === 'Serverless' && !props.knative) {
      throw new Error(`${where}: deploymentMode Serverless needs Knative Serving (the knative prop; knative.mode external or managed)`);
    }
    const runtimes = props.runtimes ?? DEFAULT_RUNTIMES;
    for (const r of runtimes) {
      const name: string = r;
      if (!(name in BUILT_IN_RUNTIMES)) throw new Error(`${where}: runtimes: "${name}" is not one of ${Object.keys(BUILT_IN_RUNTIMES).join(', ')}`);
    }
    this.namespace = ns;
    this.deploymentMode = mode;
    this.knative = props.knative;
    this.store = props.store;
    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { ...KSERVE_IDENTITY, name: CONTROLLER };
    const labels = standardLabels(identity);

    this.crds = new KServeCrds(this, 'Crds');
    serviceAccountWithRole(this, {
      name: CONTROLLER, namespace: ns, labels, automountServiceAccountToken: false,
      clusterRules: managerRules(), clusterRoleName: 'kserve-manager-role', clusterRoleBindingName: 'kserve-manager-rolebinding',
      rules: leaderElectionRules(), roleName: 'kserve-leader-election-role', roleBindingName: 'kserve-leader-election-rolebinding',
    });
    new k8s.KubeClusterRole(this, 'ProxyRole', {
      metadata: { name: 'kserve-proxy-role', labels },
      rules: [
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ],
    });
    new k8s.KubeClusterRoleBinding(this, 'ProxyRoleBinding', {
      metadata: { name: 'kserve-proxy-rolebinding', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kserve-proxy-role' },
      subjects: [{ kind: 'ServiceAccount', name: CONTROLLER, namespace: ns }],
    });
    this.aggregatedRoles();

    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: INFERENCESERVICE_CONFIG, namespace: ns, labels },
      data: inferenceServiceConfig(ctx, { mode, knative: props.knative, gateway: props.gateway, store: props.store }),
    });

    // The webhooks' serving certificate, issued (and awaited) before the controller mounts it.
    const certificates = new Construct(this, 'Certificates');
    ctx.plan.assign(certificates, certificatesWave(this));
    let issuer: IssuerRef | undefined = props.certManager.issuer;
    if (issuer === undefined) {
      selfSignedIssuer(certificates, 'Issuer', { name: 'selfsigned-issuer', namespace: ns, labels });
      issuer = { kind: 'Issuer', name: 'selfsigned-issuer' };
    }
    certificate(certificates, 'Certificate', {
      name: WEBHOOK_CERTIFICATE, namespace: ns, labels, annotations: { [PROVIDES_ANNOTATION]: `Secret/${ns}/${WEBHOOK_SECRET}` },
      spec: { commonName: `${WEBHOOK_SERVICE}.${ns}.svc`, dnsNames: [`${WEBHOOK_SERVICE}.${ns}.svc`], issuerRef: issuer, secretName: WEBHOOK_SECRET },
    });

    const resources = props.resources ?? {};
    const probe = (path: string): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromNumber(HEALTH_PORT) }, initialDelaySeconds: 30, timeoutSeconds: 5, failureThreshold: 5,
    });
    deployment(this, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: CONTROLLER,
        automountServiceAccountToken: true,
        containers: [
          {
            name: 'manager',
            image: ctx.images.image('kserve-controller'),
            command: ['/manager'],
            args: ['--metrics-addr=127.0.0.1:8080', '--leader-elect'],
            env: [
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'SECRET_NAME', value: WEBHOOK_SECRET },
            ],
            ports: [{ name: 'webhook-server', containerPort: WEBHOOK_PORT, protocol: 'TCP' }],
            resources: resources.controller ?? CONTROLLER_BUDGET,
            volumeMounts: [{ name: 'cert', mountPath: '/tmp/k8s-webhook-server/serving-certs', readOnly: true }],
            livenessProbe: probe('/healthz'),
            readinessProbe: { ...probe('/readyz'), periodSeconds: 5 },
          },
          {
            name: 'kube-rbac-proxy',
            image: ctx.images.image('kube-rbac-proxy'),
            args: [`--secure-listen-address=0.0.0.0:${METRICS_PORT}`, '--upstream=http://127.0.0.1:8080/', '--logtostderr=true', '--v=10'],
            ports: [{ name: 'https', containerPort: METRICS_PORT, protocol: 'TCP' }],
            resources: resources.rbacProxy ?? PROXY_BUDGET,
          },
        ],
        volumes: [{ name: 'cert', secret: { secretName: WEBHOOK_SECRET } }],
      },
    });
    clusterIpService(this, { name: WEBHOOK_SERVICE, namespace: ns, identity, ports: [servicePort(undefined, 443, WEBHOOK_PORT)] });
    clusterIpService(new Construct(this, 'MetricsService'), { name: 'kserve-controller-manager-service', namespace: ns, identity, ports: [servicePort(undefined, METRICS_PORT)] });
    const peer: NetworkPeer = { peerName: CONTROLLER, namespace: ns, podLabels: selectorLabels(identity) };
    allowKubeApi(this, peer);
    allowFromKubeApi(this, 'WebhookFromKubeApi', peer, [{ port: WEBHOOK_PORT }]);
    this.webhooks(ns, labels);

    // The default storage initializer and the runtimes: custom resources the controller's webhooks validate.
    this.crds.clusterStorageContainer.customResource(this, 'StorageContainer', CLUSTER_STORAGE_CONTAINER_V1ALPHA1, { name: 'default', labels }, {
      spec: {
        container: {
          name: 'storage-initializer', image: ctx.runtimeImage('kserve-storage-initializer'),
          resources: { requests: { cpu: '100m', memory: '100Mi' }, limits: { cpu: '1', memory: '1Gi' } },
        },
        supportedUriFormats: [
          { prefix: 'gs://' }, { prefix: 's3://' }, { prefix: 'hdfs://' }, { prefix: 'hf://' }, { prefix: 'webhdfs://' },
          { regex: 'https://(.+?).blob.core.windows.net/(.+)' }, { regex: 'https://(.+?).file.core.windows.net/(.+)' }, { regex: 'https?://(.+)/(.+)' },
        ],
        workloadType: 'initContainer',
      },
    });
    this.runtimeScope = new Construct(this, 'Runtimes');
    for (const r of runtimes) builtInRuntime(this.runtimeScope, this.crds, r);

    if (props.gateway) this.webApp = this.modelsWebApp(ns, props.gateway, props.userHeaders ?? props.gateway.userHeaders, resources.webApp ?? WEB_APP_BUDGET);
  }

  /** Installs one of the built-in runtimes left out of {@link KServeProps.runtimes}. */
  public addRuntime(runtime: BuiltInRuntime): ApiObject {
    return builtInRuntime(this.runtimeScope, this.crds, runtime);
  }

  /** A team's own model server as a (Cluster)ServingRuntime (see {@link servingRuntime}). */
  public servingRuntime(scope: Construct, id: string, props: ServingRuntimeProps): ApiObject {
    return servingRuntime(scope, id, this.crds, props);
  }

  /** A typed InferenceService, checked against this install (mode, Knative). */
  public inferenceService(scope: Construct, id: string, props: InferenceServiceProps): ApiObject {
    return inferenceService(scope, id, { crd: this.crds.inferenceService, defaultMode: this.deploymentMode, serverless: this.knative !== undefined }, props);
  }

  /** The ServiceAccount a profile's predictors use to reach the artifact store. */
  public modelServiceAccount(profile: IProfile): string {
    return profile.awsRoleArn !== undefined ? 'default-editor' : MODEL_SERVICE_ACCOUNT;
  }

  /**
   * Per profile: the ServiceAccount `kserve-models` listing the profile's artifact Secret (which KServe's storage
   * initializer reads with the key names of `inferenceservice-config`), or nothing with IRSA (`default-editor` carries
   * the role); Knative's activator and autoscaler may reach predictors' queue-proxy (Serverless).
   */
  public addToProfile(profile: IProfile): void {
    const scope = new Construct(profile.scope, 'KServe');
    if (profile.awsRoleArn === undefined && this.store?.credentials.type !== 'irsa') {
      new k8s.KubeServiceAccount(scope, 'ModelServiceAccount', {
        metadata: { name: MODEL_SERVICE_ACCOUNT, namespace: profile.namespace, labels: standardLabels(KSERVE_IDENTITY) },
        secrets: [{ name: PROFILE_ARTIFACT_SECRET.name }],
        automountServiceAccountToken: false,
      });
    }
    const knative = this.knative;
    if (knative) {
      const ports = Object.values(QUEUE_PROXY_PORTS).map((port) => ({ port }));
      // Revision pods carry no label kfkit can select before they exist: the queue-proxy ports of every pod.
      profile.network.allowIngress(knative.activator, ports);
      profile.network.allowIngress(knative.autoscaler, ports);
      if (knative.mode === 'managed') {
        const ctx = KfkitContext.of(this);
        ctx.once('kserve-knative-to-profiles', () => {
          allowEgressToGroup(this, 'ActivatorToProfiles', knative.activator, { group: PROFILE_NAMESPACES }, ports);
          allowEgressToGroup(this, 'AutoscalerToProfiles', knative.autoscaler, { group: PROFILE_NAMESPACES }, ports);
        });
      }
    }
  }

  /** The ValidatingWebhookConfigurations and the MutatingWebhookConfiguration of the controller (upstream's). */
  private webhooks(ns: string, labels: Record<string, string>): void {
    const annotations = { [INJECT_CA_FROM_ANNOTATION]: `${ns}/${WEBHOOK_CERTIFICATE}` };
    const service = (path: string): k8s.WebhookClientConfig => ({ service: { name: WEBHOOK_SERVICE, namespace: ns, path } });
    const rule = (resource: string, version: string, operations: readonly string[] = ['CREATE', 'UPDATE']): k8s.RuleWithOperations => ({
      apiGroups: ['serving.kserve.io'], apiVersions: [version], operations: [...operations], resources: [resource],
    });
    new k8s.KubeMutatingWebhookConfiguration(this, 'Mutating', {
      metadata: { name: 'inferenceservice.serving.kserve.io', labels, annotations },
      webhooks: [
        {
          name: 'inferenceservice.kserve-webhook-server.defaulter', clientConfig: service('/mutate-serving-kserve-io-v1beta1-inferenceservice'),
          failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1beta1'], rules: [rule('inferenceservices', 'v1beta1')],
        },
        {
          name: 'inferenceservice.kserve-webhook-server.pod-mutator', clientConfig: service('/mutate-pods'),
          failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1beta1'], reinvocationPolicy: 'IfNeeded',
          objectSelector: { matchExpressions: [{ key: ISVC_POD_LABEL, operator: 'Exists' }] },
          namespaceSelector: { matchExpressions: [{ key: 'control-plane', operator: 'DoesNotExist' }] },
          rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
        },
      ],
    });
    const validators: readonly (readonly [string, string, string, (readonly string[])?])[] = [
      ['inferenceservice', 'inferenceservices', 'v1beta1'],
      ['trainedmodel', 'trainedmodels', 'v1alpha1'],
      ['inferencegraph', 'inferencegraphs', 'v1alpha1'],
      ['servingruntime', 'servingruntimes', 'v1alpha1'],
      ['clusterservingruntime', 'clusterservingruntimes', 'v1alpha1'],
      ['localmodelcache', 'localmodelcaches', 'v1alpha1', ['CREATE', 'UPDATE', 'DELETE']],
    ];
    for (const [kind, resource, version, operations] of validators) {
      new k8s.KubeValidatingWebhookConfiguration(this, `Validating-${kind}`, {
        metadata: { name: `${kind}.serving.kserve.io`, labels, annotations },
        webhooks: [{
          name: `${kind}.kserve-webhook-server.validator`, clientConfig: service(`/validate-serving-kserve-io-${version}-${kind}`),
          failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1beta1'], rules: [rule(resource, version, operations)],
        }],
      });
    }
  }

  /** Upstream's aggregated roles: InferenceServices (and Knative's serving objects) for profile members. */
  private aggregatedRoles(): void {
    const labels = standardLabels(KSERVE_IDENTITY);
    const kserve = ['inferencegraphs', 'inferenceservices', 'servingruntimes', 'trainedmodels', 'llminferenceservices', 'llminferenceserviceconfigs'];
    const knative = ['services', 'services/status', 'routes', 'routes/status', 'configurations', 'configurations/status', 'revisions', 'revisions/status'];
    const write = ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update'];
    new k8s.KubeClusterRole(this, 'AdminRole', {
      metadata: { name: 'kubeflow-kserve-admin', labels: { ...labels, ...kubeflowRoleLabels('admin') } },
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-kserve-admin': 'true' } }] },
    });
    new k8s.KubeClusterRole(this, 'EditRole', {
      metadata: { name: 'kubeflow-kserve-edit', labels: { ...labels, ...kubeflowRoleLabels('edit'), 'rbac.authorization.kubeflow.org/aggregate-to-kubeflow-kserve-admin': 'true' } },
      rules: [{ apiGroups: ['serving.kserve.io'], resources: kserve, verbs: write }, { apiGroups: ['serving.knative.dev'], resources: knative, verbs: write }],
    });
    new k8s.KubeClusterRole(this, 'ViewRole', {
      metadata: { name: 'kubeflow-kserve-view', labels: { ...labels, ...kubeflowRoleLabels('view') } },
      rules: [
        { apiGroups: ['serving.kserve.io'], resources: kserve, verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['serving.knative.dev'], resources: knative, verbs: ['get', 'list'] },
      ],
    });
  }

  /** The models web app (`kserve-models-web-application`), routed at `/kserve-endpoints/`. */
  private modelsWebApp(ns: string, gateway: IKubeflowGateway, headers: UserHeaders | undefined, budget: ResourceBudget): WebAppBackend {
    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { name: WEB_APP, component: 'kserve-models-web-app', version: ctx.images.entry('kserve-models-web-app').tag };
    const labels = standardLabels(identity);
    serviceAccountWithRole(this, {
      name: WEB_APP, namespace: ns, labels, automountServiceAccountToken: false, idPrefix: 'WebApp',
      clusterRoleName: `${WEB_APP}-cluster-role`, clusterRoleBindingName: `${WEB_APP}-binding`,
      clusterRules: [
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
        { apiGroups: [''], resources: ['namespaces', 'pods', 'pods/log', 'events'], verbs: ['get', 'list'] },
        {
          apiGroups: ['serving.kserve.io'], resources: ['inferenceservices', 'inferenceservices/status', 'inferencegraphs', 'inferencegraphs/status'],
          verbs: ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update'],
        },
        {
          apiGroups: ['serving.knative.dev'],
          resources: ['services', 'services/status', 'routes', 'routes/status', 'configurations', 'configurations/status', 'revisions', 'revisions/status'],
          verbs: ['get', 'list'],
        },
      ],
    });
    const config = `${WEB_APP}-config`;
    new k8s.KubeConfigMap(this, 'WebAppConfig', {
      metadata: { name: config, namespace: ns, labels },
      data: {
        APP_PREFIX: '/kserve-endpoints',
        GRAFANA_CPU_MEMORY_DB: 'db/knative-serving-revision-cpu-and-memory-usage',
        GRAFANA_HTTP_REQUESTS_DB: 'db/knative-serving-revision-http-requests',
        GRAFANA_PREFIX: '/grafana',
        USERID_HEADER: headers?.userId ?? 'kubeflow-userid',
        USERID_PREFIX: headers?.userIdPrefix ?? '',
      },
    });
    const probe = (path: string): k8s.Probe => ({ httpGet: { path, port: k8s.IntOrString.fromNumber(WEB_APP_PORT) }, periodSeconds: 10 });
    const webApp = new Construct(this, 'WebApp');
    deployment(webApp, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: WEB_APP,
        automountServiceAccountToken: true,
        security: { user: 1000 },
        containers: [{
          name: WEB_APP,
          image: ctx.images.image('kserve-models-web-app'),
          env: [{ name: 'GUNICORN_CMD_ARGS', value: '--limit-request-field_size 32000' }],
          envFrom: [{ configMapRef: { name: config } }],
          ports: [{ name: 'http', containerPort: WEB_APP_PORT }],
          resources: budget,
          livenessProbe: probe('/healthz/liveness'),
          readinessProbe: probe('/healthz/readiness'),
          // Gunicorn writes its worker heartbeat files under /tmp.
          security: { readOnlyRootFilesystem: false },
        }],
      },
    });
    clusterIpService(webApp, { name: WEB_APP, namespace: ns, identity, ports: [servicePort('http', 80, WEB_APP_PORT)] });
    const peer: NetworkPeer = { peerName: WEB_APP, namespace: ns, podLabels: selectorLabels(identity) };
    allowKubeApi(webApp, peer);
    const backend: WebAppBackend = { serviceName: WEB_APP, servicePort: 80, podPort: WEB_APP_PORT, peer };
    exposeWebApp(webApp, 'Route', gateway, { name: WEB_APP, prefix: '/kserve-endpoints/', rewrite: '/', backend });
    return backend;
  }
}

/** Upstream's `kserve-manager-role` (kserve v0.16.0 config/rbac/role.yaml), every rule. */
function managerRules(): k8s.PolicyRule[] {
  const all = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
  const status = ['get', 'patch', 'update'];
  return [
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get', 'update'] },
    { apiGroups: [''], resources: ['events', 'services'], verbs: all },
    { apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['secrets', 'serviceaccounts'], verbs: ['get'] },
    { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations'], verbs: all },
    { apiGroups: ['apps'], resources: ['deployments'], verbs: all },
    { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: all },
    { apiGroups: ['gateway.networking.k8s.io'], resources: ['httproutes'], verbs: all },
    { apiGroups: ['keda.sh'], resources: ['scaledobjects', 'scaledobjects/finalizers'], verbs: all },
    { apiGroups: ['keda.sh'], resources: ['scaledobjects/status'], verbs: status },
    { apiGroups: ['networking.istio.io'], resources: ['virtualservices', 'virtualservices/finalizers'], verbs: all },
    { apiGroups: ['networking.istio.io'], resources: ['virtualservices/status'], verbs: status },
    { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: all },
    { apiGroups: ['opentelemetry.io'], resources: ['opentelemetrycollectors', 'opentelemetrycollectors/finalizers'], verbs: all },
    { apiGroups: ['opentelemetry.io'], resources: ['opentelemetrycollectors/status'], verbs: status },
    { apiGroups: ['serving.knative.dev'], resources: ['services', 'services/finalizers'], verbs: all },
    { apiGroups: ['serving.knative.dev'], resources: ['services/status'], verbs: status },
    {
      apiGroups: ['serving.kserve.io'],
      resources: ['clusterservingruntimes', 'clusterservingruntimes/finalizers', 'clusterstoragecontainers', 'inferencegraphs', 'inferencegraphs/finalizers',
        'inferenceservices', 'inferenceservices/finalizers', 'servingruntimes', 'servingruntimes/finalizers', 'trainedmodels'],
      verbs: all,
    },
    {
      apiGroups: ['serving.kserve.io'],
      resources: ['clusterservingruntimes/status', 'inferencegraphs/status', 'inferenceservices/status', 'servingruntimes/status', 'trainedmodels/status'],
      verbs: status,
    },
    { apiGroups: ['serving.kserve.io'], resources: ['localmodelcaches'], verbs: ['get', 'list', 'watch'] },
  ];
}

/** Upstream's `kserve-leader-election-role`. */
function leaderElectionRules(): k8s.PolicyRule[] {
  return [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create', 'get', 'list', 'update'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
    { apiGroups: [''], resources: ['configmaps/status'], verbs: ['get', 'update', 'patch'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  ];
}

interface ConfigInputs {
  readonly mode: DeploymentMode;
  readonly knative?: IServerless;
  readonly gateway?: IKubeflowGateway;
  readonly store?: IArtifactStore;
}

/**
 * `inferenceservice-config` (upstream's keys; kserve v0.16.0 config/configmap/inferenceservice.yaml as kubeflow/manifests
 * 26.03 patches it): images from the catalog, the deployment mode, the ingress from the typed gateway and Knative, the
 * `s3://` defaults from the typed store with the key names of the profiles' artifact Secret.
 */
function inferenceServiceConfig(ctx: KfkitContext, inputs: ConfigInputs): Record<string, string> {
  const json = (value: unknown): string => JSON.stringify(value, null, 2);
  const sidecar = (image: string) => ({ image, memoryRequest: '100Mi', memoryLimit: '1Gi', cpuRequest: '100m', cpuLimit: '1' });
  const agent = ctx.runtimeImage('kserve-agent');
  const store = inputs.store;
  const irsa = store?.credentials.type === 'irsa';
  const knative = inputs.knative;
  return {
    agent: json(sidecar(agent)),
    autoscaler: json({ scaleUpStabilizationWindowSeconds: '0', scaleDownStabilizationWindowSeconds: '300' }),
    batcher: json({ image: agent, memoryRequest: '1Gi', memoryLimit: '1Gi', cpuRequest: '1', cpuLimit: '1', maxBatchSize: '32', maxLatency: '5000' }),
    credentials: json({
      storageSpecSecretName: 'storage-config',
      storageSecretNameAnnotation: 'serving.kserve.io/storageSecretName',
      gcs: { gcsCredentialFileName: 'gcloud-application-credentials.json' },
      s3: {
        s3AccessKeyIDName: irsa ? 'AWS_ACCESS_KEY_ID' : PROFILE_ARTIFACT_SECRET.accessKeyKey,
        s3SecretAccessKeyName: irsa ? 'AWS_SECRET_ACCESS_KEY' : PROFILE_ARTIFACT_SECRET.secretKeyKey,
        s3Endpoint: store ? store.endpoint : '',
        s3UseHttps: store ? (store.secure ? '1' : '0') : '',
        s3Region: store ? store.region : '',
        s3VerifySSL: store ? (store.secure ? '1' : '0') : '',
        s3UseVirtualBucket: store ? (store.pathStyle ? 'false' : 'true') : '',
        s3UseAccelerate: '',
        s3UseAnonymousCredential: '',
        s3CABundle: '',
      },
    }),
    deploy: json({ defaultDeploymentMode: inputs.mode }),
    explainers: json({ art: { image: 'kserve/art-explainer', defaultImageVersion: 'latest' } }),
    inferenceService: json({ resource: { cpuLimit: '1', memoryLimit: '2Gi', cpuRequest: '1', memoryRequest: '2Gi' } }),
    ingress: json({
      enableGatewayApi: false,
      kserveIngressGateway: 'kserve/kserve-ingress-gateway',
      ingressGateway: inputs.gateway?.gatewayRef ?? knative?.ingressGateway ?? 'kubeflow/kubeflow-gateway',
      localGateway: knative?.localGateway ?? 'knative-serving/knative-local-gateway',
      localGatewayService: knative?.localGatewayService ?? 'knative-local-gateway.istio-system.svc.cluster.local',
      ingressDomain: knative?.domain ?? 'example.com',
      ingressClassName: 'istio',
      domainTemplate: '{{ .Name }}-{{ .Namespace }}.{{ .IngressDomain }}',
      urlScheme: 'http',
      disableIstioVirtualHost: false,
      disableIngressCreation: inputs.gateway === undefined,
      pathTemplate: '/serving/{{ .Namespace }}/{{ .Name }}',
    }),
    localModel: json({ enabled: false, jobNamespace: 'kserve-localmodel-jobs', defaultJobImage: ctx.runtimeImage('kserve-storage-initializer'), fsGroup: 1000 }),
    logger: json({ ...sidecar(agent), defaultUrl: 'http://default-broker' }),
    metricsAggregator: json({ enableMetricAggregation: 'false', enablePrometheusScraping: 'false' }),
    opentelemetryCollector: json({
      scrapeInterval: '5s', metricReceiverEndpoint: 'keda-otel-scaler.keda.svc:4317', metricScalerEndpoint: 'keda-otel-scaler.keda.svc:4318',
      resource: { cpuLimit: '1', memoryLimit: '2Gi', cpuRequest: '200m', memoryRequest: '512Mi' },
    }),
    router: json({ ...sidecar(ctx.runtimeImage('kserve-router')), imagePullPolicy: 'IfNotPresent' }),
    security: json({ autoMountServiceAccountToken: true }),
    storageInitializer: json({
      ...sidecar(ctx.runtimeImage('kserve-storage-initializer')),
      caBundleConfigMapName: '', caBundleVolumeMountPath: '/etc/ssl/custom-certs', enableModelcar: true, cpuModelcar: '10m', memoryModelcar: '15Mi', uidModelcar: 1010,
    }),
  };
}
