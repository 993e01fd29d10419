import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { certificate, CertManagerRef, certificatesWave, INJECT_CA_FROM_ANNOTATION, IssuerRef, selfSignedIssuer } from '../../core/cert-manager';
import { KfkitContext } from '../../core/context';
import { GPU_RESOURCE, GpuPool, gpuNodeSelector, gpuTolerations } from '../../core/gpu';
import { ImageKey } from '../../core/images';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { IKubeflowGateway, UserHeaders } from '../../core/mesh';
import { allowEgressToGroup, allowFromKubeApi, allowKubeApi, labelSelector, NetworkPeer } from '../../core/network';
import { QUANTITY_PATTERN } from '../../core/quantity';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { IProfile, IProfileExtension, PROFILE_NAMESPACES } from '../../core/tenancy';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { unpinnedReason } from '../../validate/images';
import { PROVIDES_ANNOTATION } from '../../validate/types';
import { DashboardAppLinks } from '../dashboard';
import { exposeWebApp, WebAppBackend } from '../gateway';
import { kubeflowRoleLabels } from '../profiles';
import { NOTEBOOK_V1, NotebookCrds, POD_DEFAULT_V1ALPHA1 } from './crds';
import { NOTEBOOK_PORT, NOTEBOOKS_IDENTITY } from './shared';

export { NOTEBOOK_V1, NotebookCrds, POD_DEFAULT_V1ALPHA1 } from './crds';
export type { NotebookBody, PodDefaultBody } from './crds';

/** Notebook server images of the spawner: the catalog's, by key. */
export type NotebookImage =
  | 'notebook-jupyter-scipy' | 'notebook-jupyter-pytorch' | 'notebook-jupyter-pytorch-cuda' | 'notebook-jupyter-tensorflow'
  | 'notebook-jupyter-tensorflow-cuda' | 'notebook-codeserver-python' | 'notebook-rstudio-tidyverse';

/** Props of {@link Notebooks}. */
export interface NotebooksProps {
  /** Namespace of the controllers and web apps: the platform namespace. @default 'kubeflow' */
  readonly namespace?: string;
  /** cert-manager, which issues the PodDefaults webhook's certificate. */
  readonly certManager: CertManagerRef;
  /** The Kubeflow gateway: notebooks are routed at `/notebook/<namespace>/<name>/`, the web apps at `/jupyter/` and `/volumes/`. */
  readonly gateway: IKubeflowGateway;
  /** Identity headers the web apps trust. @default - the gateway's */
  readonly userHeaders?: UserHeaders;
  /** Stop notebooks idle this many minutes (0: never). @default 0 (upstream: culling off) */
  readonly cullIdleMinutes?: number;
  /** Whether users may type an image of their own in the spawner. @default true (upstream's) */
  readonly allowCustomImage?: boolean;
  /** Compute budgets of the four workloads. @default 20m CPU, 64Mi-256Mi memory each (the web apps 256Mi-512Mi) */
  readonly resources?: Partial<Record<'controller' | 'jupyterWebApp' | 'volumesWebApp' | 'podDefaults', ResourceBudget>>;
}

/** Props of {@link Notebooks.notebook}. */
export interface NotebookProps {
  readonly name: string;
  readonly namespace: string;
  /** A catalog image or a pinned image of the team's own. */
  readonly image: NotebookImage | { readonly custom: string };
  /** CPU and memory (requests; limits 1.2x as the spawner's defaults). */
  readonly resources: { readonly cpu: string; readonly memory: string };
  /** GPUs on a pool of the platform. @default - none */
  readonly gpus?: { readonly count: number; readonly pool: GpuPool };
  /** Size of the workspace volume (`<name>-workspace`, mounted at /home/jovyan). @default - no volume */
  readonly workspace?: string;
}

const CONTROLLER = 'notebook-controller';
const JWA = 'jupyter-web-app';
const VWA = 'volumes-web-app';
const WEBHOOK = 'admission-webhook';
const WEBHOOK_PORT = 4443;
const WEBHOOK_SECRET = 'webhook-certs';
const WEB_APP_PORT = 5000;
const SMALL: ResourceBudget = { cpu: { request: '20m' }, memory: { request: '64Mi', limit: '256Mi' } };
const WEB: ResourceBudget = { cpu: { request: '20m' }, memory: { request: '256Mi', limit: '512Mi' } };
const JUPYTER_IMAGES: readonly NotebookImage[] = [
  'notebook-jupyter-scipy', 'notebook-jupyter-pytorch', 'notebook-jupyter-pytorch-cuda', 'notebook-jupyter-tensorflow', 'notebook-jupyter-tensorflow-cuda',
];

/** The dashboard's menu entries of the notebook and volume web apps. */
export function notebooksDashboardLinks(): DashboardAppLinks[] {
  return [
    { menu: { type: 'item', text: 'Notebooks', link: '/jupyter/', icon: 'book' } },
    { menu: { type: 'item', text: 'Volumes', link: '/volumes/', icon: 'device:storage' } },
  ];
}

/**
 * Notebooks as kubeflow/manifests 26.03 installs them (kubeflow/kubeflow v1.10.0; facts source `kubeflow-notebooks`): the
 * notebook controller (Notebooks become StatefulSets and VirtualServices at `/notebook/<namespace>/<name>/`), the Jupyter
 * web app at `/jupyter/` with a spawner configuration listing the catalog's notebook images and NVIDIA GPUs, the
 * PodDefaults admission webhook (cert-manager certificate; it mutates pods of profile namespaces), the volumes web app at
 * `/volumes/`, the aggregated roles and the CRDs ({@link NotebookCrds}).
 *
 * Differences from upstream: the spawner lists NVIDIA GPUs only (the platform's GPU pools are NVIDIA's) and not the
 * Gaudi image; no logo ConfigMap (the image's own); DestinationRules are not needed (the mesh's mTLS is STRICT).
 * Not installed: TensorBoards and the PVC viewer (the volumes web app's browse button needs the latter), listed in
 * README.
 */
export class Notebooks extends Construct implements IProfileExtension {
  public readonly crds: NotebookCrds;
  /** The Jupyter web app. */
  public readonly jupyterWebApp: WebAppBackend;
  /** The volumes web app. */
  public readonly volumesWebApp: WebAppBackend;
  /** This construct as the profiles' extension. */
  public readonly profileExtension: IProfileExtension = this;
  private readonly controllerPeer: NetworkPeer;

  public constructor(scope: Construct, id: string, props: NotebooksProps) {
    super(scope, id);
    const ns = props.namespace ?? 'kubeflow';
    const where = `Notebooks ${this.node.path}`;
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw new Error(`${where}: namespace "${ns}" must be a DNS label`);
    const cull = props.cullIdleMinutes ?? 0;
    if (!Number.isInteger(cull) || cull < 0) throw new Error(`${where}: cullIdleMinutes ${cull} must be a whole number of minutes, 0 or more`);
    const headers = props.userHeaders ?? props.gateway.userHeaders ?? { userId: 'kubeflow-userid', userIdPrefix: '', groups: 'kubeflow-groups' };
    const resources = props.resources ?? {};
    const ctx = KfkitContext.of(this);
    // Deployments are named `<app>-deployment`, as upstream's.
    const id_ = (name: string): ComponentIdentity => ({ ...NOTEBOOKS_IDENTITY, name: `${name}-deployment`, component: name });
    const peerOf = (name: string): NetworkPeer => ({ peerName: name, namespace: ns, podLabels: selectorLabels(id_(name)) });
    this.crds = new NotebookCrds(this, 'Crds');
    this.controllerPeer = peerOf(CONTROLLER);
    this.aggregatedRoles();

    // The notebook controller.
    const controller = new Construct(this, 'Controller');
    const controllerLabels = standardLabels(id_(CONTROLLER));
    serviceAccountWithRole(controller, {
      name: `${CONTROLLER}-service-account`, namespace: ns, labels: controllerLabels, automountServiceAccountToken: false,
      clusterRoleName: `${CONTROLLER}-role`, clusterRoleBindingName: `${CONTROLLER}-role-binding`,
      clusterRules: [
        { apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['*'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'get', 'list', 'patch', 'watch'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['services'], verbs: ['*'] },
        { apiGroups: ['kubeflow.org'], resources: ['notebooks', 'notebooks/finalizers', 'notebooks/status'], verbs: ['*'] },
        { apiGroups: ['networking.istio.io'], resources: ['virtualservices'], verbs: ['*'] },
      ],
      roleName: `${CONTROLLER}-leader-election-role`, roleBindingName: `${CONTROLLER}-leader-election-rolebinding`,
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['configmaps/status'], verbs: ['get', 'update', 'patch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      ],
    });
    const controllerConfig = `${CONTROLLER}-config`;
    new k8s.KubeConfigMap(controller, 'Config', {
      metadata: { name: controllerConfig, namespace: ns, labels: controllerLabels },
      data: {
        CLUSTER_DOMAIN: 'cluster.local', CULL_IDLE_TIME: String(cull > 0 ? cull : 1440), ENABLE_CULLING: String(cull > 0), IDLENESS_CHECK_PERIOD: '1',
        ISTIO_GATEWAY: props.gateway.gatewayRef, ISTIO_HOST: '*', USE_ISTIO: 'true',
      },
    });
    const fromConfig = (key: string): k8s.EnvVar => ({ name: key, valueFrom: { configMapKeyRef: { name: controllerConfig, key } } });
    deployment(controller, {
      namespace: ns, identity: id_(CONTROLLER),
      pod: {
        serviceAccountName: `${CONTROLLER}-service-account`, automountServiceAccountToken: true, security: { user: 1000 },
        containers: [{
          name: 'manager', image: ctx.images.image('notebook-controller'), command: ['/manager'],
          env: ['USE_ISTIO', 'ISTIO_GATEWAY', 'ISTIO_HOST', 'CLUSTER_DOMAIN', 'ENABLE_CULLING', 'CULL_IDLE_TIME', 'IDLENESS_CHECK_PERIOD'].map(fromConfig),
          resources: resources.controller ?? SMALL,
        }],
      },
    });
    allowKubeApi(controller, this.controllerPeer);

    // The Jupyter web app and its spawner configuration.
    const jwa = new Construct(this, 'JupyterWebApp');
    const jwaLabels = standardLabels(id_(JWA));
    serviceAccountWithRole(jwa, {
      name: `${JWA}-service-account`, namespace: ns, labels: jwaLabels, automountServiceAccountToken: false,
      clusterRoleName: `${JWA}-cluster-role`, clusterRoleBindingName: `${JWA}-cluster-role-binding`,
      clusterRules: [
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
        { apiGroups: ['kubeflow.org'], resources: ['notebooks', 'notebooks/finalizers', 'poddefaults'], verbs: ['get', 'list', 'create', 'delete', 'patch', 'update'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['create', 'delete', 'get', 'list'] },
        { apiGroups: [''], resources: ['events', 'nodes'], verbs: ['list'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['list', 'get'] },
      ],
    });
    const image = (key: ImageKey): string => ctx.runtimeImage(key);
    const spawner = {
      spawnerFormDefaults: {
        allowCustomImage: props.allowCustomImage ?? true,
        hideRegistry: true,
        hideTag: false,
        imagePullPolicy: { readOnly: false, value: 'IfNotPresent' },
        image: { value: image('notebook-jupyter-scipy'), options: JUPYTER_IMAGES.map(image) },
        imageGroupOne: { value: image('notebook-codeserver-python'), options: [image('notebook-codeserver-python')] },
        imageGroupTwo: { value: image('notebook-rstudio-tidyverse'), options: [image('notebook-rstudio-tidyverse')] },
        cpu: { readOnly: false, value: '0.5', limitFactor: '1.2' },
        memory: { readOnly: false, value: '1.0Gi', limitFactor: '1.2' },
        gpus: { readOnly: false, value: { num: 'none', vendor: '', vendors: [{ limitsKey: GPU_RESOURCE, uiName: 'NVIDIA' }] } },
        workspaceVolume: {
          readOnly: false,
          value: { mount: '/home/jovyan', newPvc: { metadata: { name: '{notebook-name}-workspace' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } } },
        },
        dataVolumes: { readOnly: false, value: [] },
        affinityConfig: { readOnly: false, value: '', options: [] },
        tolerationGroup: { readOnly: false, value: '', options: [] },
        shm: { readOnly: false, value: true },
        configurations: { readOnly: false, value: [] },
        environment: { readOnly: false, value: {} },
      },
    };
    const jwaConfig = `${JWA}-config`;
    new k8s.KubeConfigMap(jwa, 'Config', { metadata: { name: jwaConfig, namespace: ns, labels: jwaLabels }, data: { 'spawner_ui_config.yaml': stringify(spawner, { lineWidth: 0 }) } });
    this.jupyterWebApp = this.webApp(jwa, ns, id_(JWA), props.gateway, '/jupyter', [
      { name: 'APP_PREFIX', value: '/jupyter' }, { name: 'UI', value: 'default' }, { name: 'USERID_HEADER', value: headers.userId },
      { name: 'USERID_PREFIX', value: headers.userIdPrefix }, { name: 'APP_SECURE_COOKIES', value: 'true' }, { name: 'METRICS', value: '1' },
    ], { name: 'config-volume', configMap: jwaConfig, mountPath: '/etc/config' }, resources.jupyterWebApp ?? WEB);

    // The volumes web app.
    const vwa = new Construct(this, 'VolumesWebApp');
    const vwaLabels = standardLabels(id_(VWA));
    serviceAccountWithRole(vwa, {
      name: `${VWA}-service-account`, namespace: ns, labels: vwaLabels, automountServiceAccountToken: false,
      clusterRoleName: `${VWA}-cluster-role`, clusterRoleBindingName: `${VWA}-cluster-role-binding`,
      clusterRules: [
        { apiGroups: [''], resources: ['namespaces', 'pods'], verbs: ['get', 'list'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['create', 'delete', 'get', 'list', 'watch', 'update', 'patch'] },
        { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['events'], verbs: ['list'] },
        { apiGroups: ['kubeflow.org'], resources: ['notebooks'], verbs: ['list'] },
        { apiGroups: ['kubeflow.org'], resources: ['pvcviewers'], verbs: ['get', 'list', 'create', 'delete'] },
      ],
    });
    this.volumesWebApp = this.webApp(vwa, ns, id_(VWA), props.gateway, '/volumes', [
      { name: 'APP_PREFIX', value: '/volumes' }, { name: 'USERID_HEADER', value: headers.userId }, { name: 'USERID_PREFIX', value: headers.userIdPrefix },
      { name: 'APP_SECURE_COOKIES', value: 'true' }, { name: 'VOLUME_VIEWER_IMAGE', value: image('filebrowser') }, { name: 'METRICS', value: '1' },
    ], undefined, resources.volumesWebApp ?? WEB);

    this.podDefaults(ns, id_(WEBHOOK), props.certManager, resources.podDefaults ?? SMALL);
  }

  /** A typed Notebook: a catalog image (or a pinned one of the team's), requests and 1.2x limits, GPUs on a pool, a workspace. */
  public notebook(scope: Construct, id: string, props: NotebookProps): ApiObject {
    const bad = (message: string): never => {
      throw new Error(`notebook(${props.namespace}/${props.name}): ${message}`);
    };
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(props.name) || props.name.length > 52) bad('name must be a DNS label of at most 52 characters');
    const quantity = new RegExp(QUANTITY_PATTERN.source);
    if (!quantity.test(props.resources.cpu) || !quantity.test(props.resources.memory)) bad('resources.cpu and resources.memory must be Kubernetes quantities');
    let image: string;
    if (typeof props.image === 'string') image = KfkitContext.of(this).runtimeImage(props.image);
    else {
      const unpinned = unpinnedReason(props.image.custom);
      if (unpinned !== undefined) bad(`image.custom "${props.image.custom}": ${unpinned}; pin a tag or digest`);
      image = props.image.custom;
    }
    const gpus = props.gpus;
    if (gpus && (!Number.isInteger(gpus.count) || gpus.count < 1)) bad(`gpus.count ${gpus.count} must be a whole number, 1 or more`);
    const gpu = gpus ? { [GPU_RESOURCE]: String(gpus.count) } : {};
    const volume = props.workspace;
    if (volume !== undefined && !quantity.test(volume)) bad(`workspace "${volume}" must be a size such as 10Gi`);
    const claim = `${props.name}-workspace`;
    if (volume !== undefined) {
      new k8s.KubePersistentVolumeClaim(scope, `${id}Workspace`, {
        metadata: { name: claim, namespace: props.namespace },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: k8s.Quantity.fromString(volume) } } },
      });
    }
    return this.crds.notebook.customResource(scope, id, NOTEBOOK_V1, { name: props.name, namespace: props.namespace }, {
      spec: {
        template: {
          spec: {
            serviceAccountName: 'default-editor',
            ...(gpus ? { nodeSelector: gpuNodeSelector(gpus.pool), tolerations: gpuTolerations(gpus.pool).map((t) => ({ ...t })) } : {}),
            containers: [{
              name: props.name,
              image,
              resources: { requests: { cpu: props.resources.cpu, memory: props.resources.memory, ...gpu }, limits: { memory: props.resources.memory, ...gpu } },
              ...(volume !== undefined ? { volumeMounts: [{ name: 'workspace', mountPath: '/home/jovyan' }] } : {}),
            }],
            ...(volume !== undefined ? { volumes: [{ name: 'workspace', persistentVolumeClaim: { claimName: claim } }] } : {}),
          },
        },
      },
    });
  }

  /** A PodDefault: what the spawner offers as a configuration (env, volumes, a ServiceAccount) for pods that select it. */
  public podDefault(scope: Construct, id: string, props: {
    readonly name: string; readonly namespace: string; readonly description: string; readonly env?: Readonly<Record<string, string>>;
  }): ApiObject {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(props.name)) throw new Error(`podDefault(${props.name}): name must be a DNS label`);
    return this.crds.podDefault.customResource(scope, id, POD_DEFAULT_V1ALPHA1, { name: props.name, namespace: props.namespace }, {
      spec: {
        desc: props.description,
        selector: { matchLabels: { [props.name]: 'true' } },
        ...(props.env ? { env: Object.entries(props.env).map(([name, value]) => ({ name, value })) } : {}),
      },
    });
  }

  /** Per profile: the notebook controller reaches the notebooks (idle culling reads `/api/kernels`). */
  public addToProfile(profile: IProfile): void {
    profile.network.allowIngress(this.controllerPeer, [{ port: NOTEBOOK_PORT }]);
    KfkitContext.of(this).once('notebooks-profiles', () => {
      allowEgressToGroup(this, 'ControllerToProfiles', this.controllerPeer, { group: PROFILE_NAMESPACES }, [{ port: NOTEBOOK_PORT }]);
    });
  }

  private webApp(scope: Construct, ns: string, identity: ComponentIdentity, gateway: IKubeflowGateway, prefix: string, env: k8s.EnvVar[],
    volume: { readonly name: string; readonly configMap: string; readonly mountPath: string } | undefined, budget: ResourceBudget): WebAppBackend {
    const name = identity.component;
    deployment(scope, {
      namespace: ns, identity,
      pod: {
        serviceAccountName: `${name}-service-account`, automountServiceAccountToken: true, security: { user: 1000 },
        containers: [{
          name, image: KfkitContext.of(this).images.image(name === JWA ? 'jupyter-web-app' : 'volumes-web-app'), env,
          ports: [{ containerPort: WEB_APP_PORT }], resources: budget,
          ...(volume ? { volumeMounts: [{ name: volume.name, mountPath: volume.mountPath, readOnly: true }] } : {}),
          // Gunicorn keeps its worker heartbeat files in /tmp.
          security: { readOnlyRootFilesystem: false },
        }],
        ...(volume ? { volumes: [{ name: volume.name, configMap: { name: volume.configMap } }] } : {}),
      },
    });
    clusterIpService(scope, { name: `${name}-service`, namespace: ns, identity, ports: [{ ...servicePort('http', 80, WEB_APP_PORT), protocol: 'TCP' }] });
    const peer: NetworkPeer = { peerName: name, namespace: ns, podLabels: selectorLabels(identity) };
    allowKubeApi(scope, peer);
    const backend: WebAppBackend = { serviceName: `${name}-service`, servicePort: 80, podPort: WEB_APP_PORT, peer };
    exposeWebApp(scope, 'Route', gateway, { name, prefix: `${prefix}/`, rewrite: '/', backend });
    return backend;
  }

  /** The PodDefaults admission webhook: mutates pods of profile namespaces with the PodDefaults they select. */
  private podDefaults(ns: string, identity: ComponentIdentity, certManager: CertManagerRef, budget: ResourceBudget): void {
    const scope = new Construct(this, 'PodDefaults');
    const labels = standardLabels(identity);
    serviceAccountWithRole(scope, {
      name: `${WEBHOOK}-service-account`, namespace: ns, labels, automountServiceAccountToken: false,
      clusterRoleName: `${WEBHOOK}-cluster-role`, clusterRoleBindingName: `${WEBHOOK}-cluster-role-binding`,
      clusterRules: [{ apiGroups: ['kubeflow.org'], resources: ['poddefaults'], verbs: ['get', 'watch', 'list', 'update', 'create', 'patch', 'delete'] }],
    });
    const certificates = new Construct(scope, 'Certificates');
    KfkitContext.of(this).plan.assign(certificates, certificatesWave(this));
    let issuer: IssuerRef | undefined = certManager.issuer;
    if (issuer === undefined) {
      selfSignedIssuer(certificates, 'Issuer', { name: `${WEBHOOK}-selfsigned-issuer`, namespace: ns, labels });
      issuer = { kind: 'Issuer', name: `${WEBHOOK}-selfsigned-issuer` };
    }
    const service = `${WEBHOOK}-service`;
    certificate(certificates, 'Certificate', {
      name: `${WEBHOOK}-cert`, namespace: ns, labels, annotations: { [PROVIDES_ANNOTATION]: `Secret/${ns}/${WEBHOOK_SECRET}` },
      spec: {
        commonName: `${service}.${ns}.svc`, isCA: certManager.issuer === undefined, dnsNames: [`${service}.${ns}.svc`, `${service}.${ns}.svc.cluster.local`],
        issuerRef: issuer, secretName: WEBHOOK_SECRET,
      },
    });
    deployment(scope, {
      namespace: ns, identity,
      pod: {
        serviceAccountName: `${WEBHOOK}-service-account`, automountServiceAccountToken: true, security: { user: 65532 },
        containers: [{
          name: WEBHOOK, image: KfkitContext.of(this).images.image('poddefaults-webhook'),
          args: ['--tlsCertFile=/etc/webhook/certs/tls.crt', '--tlsKeyFile=/etc/webhook/certs/tls.key'],
          ports: [{ name: 'https-webhook', containerPort: WEBHOOK_PORT }], resources: budget,
          volumeMounts: [{ name: 'webhook-cert', mountPath: '/etc/webhook/certs', readOnly: true }],
        }],
        volumes: [{ name: 'webhook-cert', secret: { secretName: WEBHOOK_SECRET } }],
      },
    });
    clusterIpService(scope, { name: service, namespace: ns, identity, ports: [servicePort('https-webhook', 443, WEBHOOK_PORT)] });
    new k8s.KubeMutatingWebhookConfiguration(scope, 'Webhook', {
      metadata: { name: `${WEBHOOK}-mutating-webhook-configuration`, labels, annotations: { [INJECT_CA_FROM_ANNOTATION]: `${ns}/${WEBHOOK}-cert` } },
      webhooks: [{
        name: `${WEBHOOK}-deployment.kubeflow.org`,
        clientConfig: { service: { name: service, namespace: ns, path: '/apply-poddefault' } },
        namespaceSelector: labelSelector(PROFILE_NAMESPACES.namespaceLabels),
        rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
        failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1beta1', 'v1'],
      }],
    });
    const peer: NetworkPeer = { peerName: WEBHOOK, namespace: ns, podLabels: selectorLabels(identity) };
    allowKubeApi(scope, peer);
    allowFromKubeApi(scope, 'FromKubeApi', peer, [{ port: WEBHOOK_PORT }]);
  }

  /** Upstream's aggregated roles of the notebook controller, the web apps and PodDefaults. */
  private aggregatedRoles(): void {
    const labels = standardLabels(NOTEBOOKS_IDENTITY);
    const role = (id: string, name: string, extra: Record<string, string>, rules?: k8s.PolicyRule[], aggregateFrom?: string): void => {
      new k8s.KubeClusterRole(this, id, {
        metadata: { name, labels: { ...labels, ...extra } },
        ...(rules ? { rules } : {}),
        ...(aggregateFrom ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateFrom]: 'true' } }] } } : {}),
      });
    };
    const agg = (x: string) => `rbac.authorization.kubeflow.org/aggregate-to-${x}`;
    const crud = ['get', 'list', 'watch', 'create', 'delete', 'deletecollection', 'patch', 'update'];
    role('NotebooksAdmin', 'notebook-controller-kubeflow-notebooks-admin', kubeflowRoleLabels('admin'), undefined, agg('kubeflow-notebooks-admin'));
    role('NotebooksEdit', 'notebook-controller-kubeflow-notebooks-edit', { ...kubeflowRoleLabels('edit'), [agg('kubeflow-notebooks-admin')]: 'true' },
      [{ apiGroups: ['kubeflow.org'], resources: ['notebooks', 'notebooks/status'], verbs: crud }]);
    role('NotebooksView', 'notebook-controller-kubeflow-notebooks-view', kubeflowRoleLabels('view'),
      [{ apiGroups: ['kubeflow.org'], resources: ['notebooks', 'notebooks/status'], verbs: ['get', 'list', 'watch'] }]);
    role('PodDefaultsAdmin', 'admission-webhook-kubeflow-poddefaults-admin', kubeflowRoleLabels('admin'), undefined, agg('kubeflow-poddefaults-admin'));
    role('PodDefaultsEdit', 'admission-webhook-kubeflow-poddefaults-edit', kubeflowRoleLabels('edit'), undefined, agg('kubeflow-poddefaults-edit'));
    role('PodDefaultsView', 'admission-webhook-kubeflow-poddefaults-view',
      { ...kubeflowRoleLabels('view'), [agg('kubeflow-poddefaults-admin')]: 'true', [agg('kubeflow-poddefaults-edit')]: 'true' },
      [{ apiGroups: ['kubeflow.org'], resources: ['poddefaults'], verbs: ['get', 'list', 'watch'] }]);
    role('NotebookUiAdmin', 'jupyter-web-app-kubeflow-notebook-ui-admin', kubeflowRoleLabels('admin'), []);
    role('NotebookUiEdit', 'jupyter-web-app-kubeflow-notebook-ui-edit', kubeflowRoleLabels('edit'),
      [{ apiGroups: ['kubeflow.org'], resources: ['notebooks', 'notebooks/finalizers', 'poddefaults'], verbs: ['get', 'list', 'create', 'delete'] }]);
    role('NotebookUiView', 'jupyter-web-app-kubeflow-notebook-ui-view', kubeflowRoleLabels('view'), [
      { apiGroups: ['kubeflow.org'], resources: ['notebooks', 'notebooks/finalizers', 'poddefaults'], verbs: ['get', 'list'] },
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
    ]);
    role('VolumeUiAdmin', 'volumes-web-app-kubeflow-volume-ui-admin', kubeflowRoleLabels('admin'), []);
    role('VolumeUiEdit', 'volumes-web-app-kubeflow-volume-ui-edit', kubeflowRoleLabels('edit'), [
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['create', 'delete', 'get', 'list', 'watch', 'update', 'patch'] },
      { apiGroups: ['kubeflow.org'], resources: ['pvcviewers'], verbs: ['get', 'list', 'create', 'delete'] },
    ]);
    role('VolumeUiView', 'volumes-web-app-kubeflow-volume-ui-view', kubeflowRoleLabels('view'), [
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['kubeflow.org'], resources: ['pvcviewers'], verbs: ['get', 'list'] },
    ]);
  }
}
