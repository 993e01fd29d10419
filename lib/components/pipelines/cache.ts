import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { certificate, CertManagerRef, certificatesWave, INJECT_CA_FROM_ANNOTATION, IssuerRef, selfSignedIssuer } from '../../core/cert-manager';
import { KfkitContext } from '../../core/context';
import { DatabaseTlsMode } from '../../core/database';
import { CACHE_SERVER_DB_CONSUMER } from '../../core/database-consumers';
import { standardLabels } from '../../core/labels';
import { allowFromKubeApi, allowKubeApi, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, deployment } from '../../core/workload';
import { PROVIDES_ANNOTATION } from '../../validate/types';
import { PIPELINE_INSTALL_CONFIG } from './install-config';
import { checkDatabaseConsumer, PIPELINES_UID, PipelinesEndpoint, pipelinesIdentity, PipelinesPartProps, pipelinesPeer, watchedNamespace } from './shared';

/** Props of {@link PipelinesCache}. */
export interface PipelinesCacheProps extends PipelinesPartProps {
  /**
   * Compute budget of the cache webhook server.
   * @default - 10m CPU; 32Mi memory request, 256Mi limit
   */
  readonly serverResources?: ResourceBudget;
  /**
   * Compute budget of the cache deployer.
   * @default - 10m CPU; 64Mi memory request, 256Mi limit
   */
  readonly deployerResources?: ResourceBudget;
  /**
   * cert-manager already on the cluster: when set, a cert-manager Certificate issues the webhook's serving
   * certificate and kfkit writes the MutatingWebhookConfiguration (upstream's `env/cert-manager` variant) instead
   * of running the cache deployer.
   * @default - the cache deployer issues the certificate (a CSR) and registers the webhook at run time
   */
  readonly certManager?: CertManagerRef;
}

const SERVER = 'cache-server';
const SERVER_SA = 'kubeflow-pipelines-cache';
const WEBHOOK_PORT = 8443;
const DEPLOYER = 'cache-deployer-deployment';
const DEPLOYER_SA = 'kubeflow-pipelines-cache-deployer-sa';
/** The Secret the deployer creates: the webhook's serving key and certificate (`key.pem`, `cert.pem`). */
export const WEBHOOK_TLS_SECRET = 'webhook-server-tls';
/** The only CSR signer the deployer uses (backend/src/cache/deployer/webhook-create-signed-cert.sh in 2.17.0). */
const CSR_SIGNER = 'kubernetes.io/kubelet-serving';
/** The Certificate issuing {@link WEBHOOK_TLS_SECRET} with cert-manager (upstream's name, env/cert-manager/base in 2.17.0). */
export const WEBHOOK_CERTIFICATE = 'kfp-cache-cert';
/** The self-signed Issuer kfkit creates when the configuration names none (upstream's name). */
export const WEBHOOK_ISSUER = 'kfp-cache-selfsigned-issuer';
/** Label upstream's cert-manager variant puts on its Issuer, Certificate and webhook configuration. */
const CERT_MANAGER_LABEL = { app: 'cache-server-cert-manager' } as const;

/** go-sql-driver/mysql `tls` value for each TLS mode cache-server supports (see `CACHE_SERVER_DB_CONSUMER`). */
const MYSQL_TLS: Readonly<Partial<Record<DatabaseTlsMode, string>>> = { 'disabled': 'false', 'required': 'skip-verify', 'verify-full': 'true' };

/**
 * The Kubeflow Pipelines v1 step cache 2.17.0: the mutating webhook server `cache-server` (Service `cache-server`
 * 443 → 8443) on the `cachedb` database, and `cache-deployer-deployment`, which issues the webhook's serving
 * certificate and registers the webhook at run time. Upstream names, images, ports, env var names and arguments,
 * RBAC of the same scope (namespaced Roles, the deployer's ClusterRole). MySQL only: cache-server 2.17.0 accepts
 * no other driver, so kfkit leaves the cache out with PostgreSQL (the platform does not construct this part; v2
 * pipelines cache through the API server) and this construct refuses a PostgreSQL database.
 *
 * Certificate, kept as upstream does it: the deployer creates a CertificateSigningRequest for
 * `cache-server.<namespace>.svc` (signer `kubernetes.io/kubelet-serving`), approves it, stores key and certificate
 * in the Secret `webhook-server-tls`, and creates the MutatingWebhookConfiguration `cache-webhook-<namespace>` with
 * that certificate as CA bundle (`failurePolicy: Ignore`, pods labelled `pipelines.kubeflow.org/cache_enabled`).
 * Neither object is in the output: the deployer Deployment declares both (`kfkit.dev/provides`), installs in the
 * `certificates` wave — after cluster RBAC, before `controllers` where cache-server mounts the Secret — and has a
 * startup probe that passes once both objects exist, so `kfkit apply` (and Argo CD's health) moves on only after
 * the certificate is issued. Clusters whose signer does not issue `kubelet-serving` certificates to a
 * ServiceAccount (some managed and hardened clusters) leave the CSR unsigned; the deployer then fails visibly, as
 * upstream's does.
 *
 * With `certManager` (cert-manager already on the cluster), kfkit follows upstream's `env/cert-manager` variant
 * instead: no deployer, no ServiceAccount, RBAC or CSR rights for it; a self-signed Issuer
 * `kfp-cache-selfsigned-issuer` (unless an issuer is given) and the Certificate `kfp-cache-cert` (DNS names
 * `cache-server`, `cache-server.<namespace>`, `cache-server.<namespace>.svc`; Secret `webhook-server-tls`) in the
 * `certificates` wave, awaited until Ready; the MutatingWebhookConfiguration `cache-webhook-<namespace>` (what the
 * deployer registers, with `cert-manager.io/inject-ca-from`) beside cache-server in `controllers`; cache-server reads
 * cert-manager's `tls.crt`/`tls.key`.
 *
 * Differences from upstream, on purpose (facts/deviations.json): the deployer may approve only
 * `kubernetes.io/kubelet-serving` CSRs, not every `kubernetes.io/*` signer (approving
 * `kubernetes.io/kube-apiserver-client` CSRs would let it mint client certificates for any user and group, e.g.
 * `system:masters`); cache-server gets `--db_extra_params` with the database's TLS setting. The deployer's root
 * filesystem stays writable: its scripts write their working files next to themselves (`/kfp/cache/deployer`).
 * Network: cache-server ← the Kubernetes API server (webhook calls, 8443, from any address: the API server is not a
 * pod), cache-server → database and Kubernetes API; deployer → Kubernetes API.
 *
 * Multi-user (upstream's multi-user install): cache-server watches every namespace (`NAMESPACE_TO_WATCH` empty) with
 * its permissions granted cluster-wide too; the webhook already applies to pods of every namespace.
 */
export class PipelinesCache extends Construct {

  /** The webhook server's Service (`cache-server`, 443 → 8443) and pods. */
  public readonly endpoint: PipelinesEndpoint;
  /** The webhook server's ServiceAccount, `kubeflow-pipelines-cache`. */
  public readonly serviceAccountName = SERVER_SA;
  /** The deployer's pods; undefined with cert-manager, which replaces the deployer. */
  public readonly deployerPeer?: NetworkPeer;

  public constructor(scope: Construct, id: string, props: PipelinesCacheProps) {
    super(scope, id);
    const db = props.database;
    checkDatabaseConsumer('PipelinesCache', db, CACHE_SERVER_DB_CONSUMER);
    const tls = MYSQL_TLS[db.tls.mode];
    if (tls === undefined) throw new Error(`PipelinesCache: no MySQL TLS setting for mode ${db.tls.mode}`);
    const ns = props.namespace;
    const ctx = KfkitContext.of(this);
    this.endpoint = { serviceName: SERVER, servicePort: 443, peer: pipelinesPeer(ns, SERVER), podPort: WEBHOOK_PORT };
    if (!props.certManager) this.deployerPeer = pipelinesPeer(ns, DEPLOYER);
    const webhookName = `cache-webhook-${ns}`;

    if (props.certManager) this.certManagerWebhook(ns, webhookName, props.certManager);
    else this.deployer(ns, webhookName, props.deployerResources);

    // The webhook server.
    const identity = pipelinesIdentity(SERVER);
    const rules: k8s.PolicyRule[] = [
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      { apiGroups: ['argoproj.io'], resources: ['workflows'], verbs: ['get', 'list', 'watch', 'update', 'patch'] },
    ];
    const names = { roleName: 'kubeflow-pipelines-cache-role', roleBindingName: 'kubeflow-pipelines-cache-binding' } as const;
    serviceAccountWithRole(this, {
      name: SERVER_SA,
      namespace: ns,
      labels: standardLabels(identity),
      rules,
      ...names,
      // Multi-user: pods and Workflows of every profile namespace (upstream's ClusterRole of the same name and binding).
      ...(props.mode === 'multi-user' ? { clusterRules: rules, clusterRoleName: names.roleName, clusterRoleBindingName: names.roleBindingName } : {}),
    });
    clusterIpService(this, {
      name: SERVER,
      namespace: ns,
      identity,
      ports: [{ port: 443, targetPort: k8s.IntOrString.fromString('webhook-api'), protocol: 'TCP' }],
    });
    const installConfig = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { configMapKeyRef: { name: PIPELINE_INSTALL_CONFIG, key } } });
    const secret = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: db.credentialsFor('cache').secretName, key } } });
    deployment(this, {
      namespace: ns,
      identity,
      replicas: 1,
      pod: {
        serviceAccountName: SERVER_SA,
        // The server reads and patches pods and Workflows.
        automountServiceAccountToken: true,
        security: { user: PIPELINES_UID },
        containers: [{
          name: 'server',
          image: ctx.images.image('kfp-cache-server'),
          args: [
            '--db_driver=$(DBCONFIG_DRIVER)',
            '--db_host=$(DBCONFIG_HOST_NAME)',
            '--db_port=$(DBCONFIG_PORT)',
            '--db_name=$(DBCONFIG_DB_NAME)',
            '--db_user=$(DBCONFIG_USER)',
            '--db_password=$(DBCONFIG_PASSWORD)',
            '--namespace_to_watch=$(NAMESPACE_TO_WATCH)',
            '--listen_port=$(WEBHOOK_PORT)',
            `--db_extra_params=${JSON.stringify({ tls })}`,
            // cert-manager's Secret keys, as upstream's cert-manager variant passes them (the deployer writes cert.pem/key.pem).
            ...(props.certManager ? ['--tls_cert_filename=tls.crt', '--tls_key_filename=tls.key'] : []),
          ],
          ports: [{ name: 'webhook-api', containerPort: WEBHOOK_PORT, protocol: 'TCP' }],
          env: [
            installConfig('DEFAULT_CACHE_STALENESS', 'DEFAULT_CACHE_STALENESS'),
            installConfig('MAXIMUM_CACHE_STALENESS', 'MAXIMUM_CACHE_STALENESS'),
            installConfig('CACHE_IMAGE', 'cacheImage'),
            installConfig('CACHE_NODE_RESTRICTIONS', 'cacheNodeRestrictions'),
            { name: 'DBCONFIG_DRIVER', value: 'mysql' },
            { name: 'DBCONFIG_DB_NAME', value: db.databaseNames.cache },
            { name: 'DBCONFIG_HOST_NAME', value: db.host },
            { name: 'DBCONFIG_PORT', value: String(db.port) },
            secret('DBCONFIG_USER', db.credentialsFor('cache').usernameKey),
            secret('DBCONFIG_PASSWORD', db.credentialsFor('cache').passwordKey),
            watchedNamespace('NAMESPACE_TO_WATCH', props.mode),
            { name: 'WEBHOOK_PORT', value: String(WEBHOOK_PORT) },
          ],
          resources: props.serverResources ?? { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '256Mi' } },
          volumeMounts: [{ name: 'webhook-tls-certs', mountPath: '/etc/webhook/certs', readOnly: true }],
        }],
        volumes: [{ name: 'webhook-tls-certs', secret: { secretName: WEBHOOK_TLS_SECRET } }],
      },
    });

    db.allowFrom(this.endpoint.peer);
    allowKubeApi(this, this.endpoint.peer);
    // Webhook calls come from the API server, which is not a pod and whose address differs per cluster.
    allowFromKubeApi(this, 'FromKubeApi', this.endpoint.peer, [{ port: WEBHOOK_PORT }]);
  }

  /** The cache deployer, in the certificates wave: issues the serving certificate (a CSR) and registers the webhook. */
  private deployer(ns: string, webhookName: string, resources: ResourceBudget | undefined): void {
    const ctx = KfkitContext.of(this);
    const deployer = new Construct(this, 'Deployer');
    ctx.plan.assign(deployer, certificatesWave(this));
    const deployerIdentity = pipelinesIdentity(DEPLOYER);
    serviceAccountWithRole(deployer, {
      name: DEPLOYER_SA,
      namespace: ns,
      labels: standardLabels(deployerIdentity),
      clusterRules: [
        {
          apiGroups: ['certificates.k8s.io'],
          resources: ['certificatesigningrequests', 'certificatesigningrequests/approval'],
          verbs: ['create', 'delete', 'get', 'update'],
        },
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['mutatingwebhookconfigurations'], verbs: ['create', 'delete', 'get', 'list', 'patch'] },
        { apiGroups: ['certificates.k8s.io'], resources: ['signers'], resourceNames: [CSR_SIGNER], verbs: ['approve'] },
      ],
      clusterRoleName: 'kubeflow-pipelines-cache-deployer-clusterrole',
      clusterRoleBindingName: 'kubeflow-pipelines-cache-deployer-clusterrolebinding',
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'delete', 'get', 'patch', 'list'] }],
      roleName: 'kubeflow-pipelines-cache-deployer-role',
      roleBindingName: 'kubeflow-pipelines-cache-deployer-rolebinding',
    });
    const issued = `kubectl get secret ${WEBHOOK_TLS_SECRET} --namespace ${ns} && kubectl get mutatingwebhookconfiguration ${webhookName}`;
    deployment(deployer, {
      namespace: ns,
      identity: deployerIdentity,
      annotations: { [PROVIDES_ANNOTATION]: `Secret/${ns}/${WEBHOOK_TLS_SECRET},MutatingWebhookConfiguration/${webhookName}` },
      replicas: 1,
      // Never two deployers racing for the same CSR, Secret and webhook.
      strategy: { type: 'Recreate' },
      pod: {
        serviceAccountName: DEPLOYER_SA,
        automountServiceAccountToken: true,
        security: { user: PIPELINES_UID },
        restartPolicy: 'Always',
        containers: [{
          name: 'main',
          image: ctx.images.image('kfp-cache-deployer'),
          env: [{ name: 'NAMESPACE_TO_WATCH', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
          resources: resources ?? { cpu: { request: '10m' }, memory: { request: '64Mi', limit: '256Mi' } },
          // The scripts write their working files (kubectl output, the CA bundle, the webhook manifest) into their
          // own directory, /kfp/cache/deployer, which a volume cannot replace without hiding the scripts.
          security: { readOnlyRootFilesystem: false },
          // Ready (rollout done) once the Secret and the webhook exist; then the script sleeps.
          startupProbe: { exec: { command: ['/bin/sh', '-c', issued] }, periodSeconds: 10, timeoutSeconds: 10, failureThreshold: 60 },
        }],
      },
    });
    allowKubeApi(deployer, pipelinesPeer(ns, DEPLOYER));
  }

  /**
   * cert-manager instead of the deployer (upstream's env/cert-manager variant): the Issuer (unless configured) and a
   * Certificate for the Service's DNS names in the certificates wave — `kfkit apply` waits until it is Ready, so the
   * Secret exists before cache-server mounts it —, and the MutatingWebhookConfiguration, whose CA bundle
   * cert-manager's cainjector fills, beside cache-server in the controllers wave.
   */
  private certManagerWebhook(ns: string, webhookName: string, certManager: CertManagerRef): void {
    const labels = { ...standardLabels(pipelinesIdentity(SERVER)), ...CERT_MANAGER_LABEL };
    const certificates = new Construct(this, 'Certificates');
    KfkitContext.of(this).plan.assign(certificates, certificatesWave(this));
    let issuer: IssuerRef | undefined = certManager.issuer;
    if (issuer === undefined) {
      selfSignedIssuer(certificates, 'Issuer', { name: WEBHOOK_ISSUER, namespace: ns, labels });
      issuer = { kind: 'Issuer', name: WEBHOOK_ISSUER };
    }
    certificate(certificates, 'Certificate', {
      name: WEBHOOK_CERTIFICATE,
      namespace: ns,
      labels,
      annotations: { [PROVIDES_ANNOTATION]: `Secret/${ns}/${WEBHOOK_TLS_SECRET}` },
      spec: {
        commonName: `${SERVER}.${ns}.svc`,
        // A self-signed certificate is its own CA (what the cainjector puts in the CA bundle), as upstream's.
        isCA: certManager.issuer === undefined,
        dnsNames: [SERVER, `${SERVER}.${ns}`, `${SERVER}.${ns}.svc`],
        issuerRef: issuer,
        secretName: WEBHOOK_TLS_SECRET,
      },
    });
    // What the deployer registers (backend/src/cache/deployer/cache-webhook-config.v1.yaml.template in 2.17.0),
    // with the CA bundle injected by cert-manager instead of written by the deployer.
    new k8s.KubeMutatingWebhookConfiguration(this, 'Webhook', {
      metadata: { name: webhookName, labels, annotations: { [INJECT_CA_FROM_ANNOTATION]: `${ns}/${WEBHOOK_CERTIFICATE}` } },
      webhooks: [{
        name: `${SERVER}.${ns}.svc`,
        clientConfig: { service: { name: SERVER, namespace: ns, path: '/mutate' } },
        failurePolicy: 'Ignore',
        rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        sideEffects: 'None',
        timeoutSeconds: 5,
        objectSelector: { matchLabels: { 'pipelines.kubeflow.org/cache_enabled': 'true' } },
        admissionReviewVersions: ['v1beta1'],
      }],
    });
  }
}
