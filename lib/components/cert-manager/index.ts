import { Construct } from 'constructs';
import { CERT_MANAGER_GROUP, CERT_MANAGER_KINDS, CERT_MANAGER_VERSION, CertManagerRef, IssuerRef } from '../../core/cert-manager';
import { chartEntry } from '../../core/charts';
import { KfkitContext } from '../../core/context';
import { HelmRelease } from '../../core/helm';
import { PlatformNamespace } from '../../core/namespace';
import { addressRulesFor, allowEgressToAddresses, allowFromKubeApi, allowKubeApi, checkedCidrs, NetworkPeer } from '../../core/network';
import { Wave } from '../../core/waves';
import { chartResources, ResourceBudget } from '../../core/security';

/** Compute budget of one cert-manager container. */

/** Props of {@link ManagedCertManager}. */
export interface ManagedCertManagerProps {
  /**
   * Namespace cert-manager installs into (created by kfkit, Pod Security `restricted`).
   * @default 'cert-manager'
   */
  readonly namespace?: string;
  /**
   * Issuer that signs kfkit's certificates (see {@link CertManagerRef.issuer}).
   * @default - each component creates a self-signed Issuer in its namespace
   */
  readonly issuer?: IssuerRef;
  /**
   * IPv4 blocks the controller may reach on 80 and 443 for ACME: the ACME server (HTTPS) and the gateway's public
   * address, where it self-checks HTTP-01 challenges (HTTP). `0.0.0.0/0` opens every address: give it only on purpose.
   * @default - no ACME: the controller reaches nothing outside the cluster but the API server
   */
  readonly acmeCidrs?: readonly string[];
  /**
   * Compute budget of the controller.
   * @default - 10m CPU, 96Mi memory request, 384Mi limit
   */
  readonly controllerResources?: ResourceBudget;
  /**
   * Compute budget of the webhook and of the CA injector each.
   * @default - 10m CPU, 48Mi memory request, 192Mi limit
   */
  readonly componentResources?: ResourceBudget;
}

const CONTROLLER_DEFAULT: ResourceBudget = { cpu: { request: '10m' }, memory: { request: '96Mi', limit: '384Mi' } };
const COMPONENT_DEFAULT: ResourceBudget = { cpu: { request: '10m' }, memory: { request: '48Mi', limit: '192Mi' } };
const RELEASE = 'cert-manager';
/** Port cert-manager's webhook serves admission reviews on (chart `webhook.securePort`). */
const WEBHOOK_PORT = 10250;



/**
 * cert-manager installed by kfkit from the official jetstack chart (pinned in the chart catalog), in a wave of its
 * own right after the namespaces: its CRDs, controller, webhook and CA injector are ready before any Issuer or
 * Certificate is applied and before the workloads that mount certificates start. Every image comes from the image
 * catalog (a registry mirror applies), every container has requests and a memory limit, and the pods keep the
 * chart's non-root, read-only, RuntimeDefault-seccomp security context, which meets Pod Security `restricted`.
 *
 * Network (default-deny in its namespace): controller, webhook and CA injector → Kubernetes API; the API server →
 * webhook on 10250 (from the API server's addresses only); with `acmeCidrs`, controller → HTTP(S) on
 * those blocks.
 */
export class ManagedCertManager extends Construct implements CertManagerRef {
  /** The wave cert-manager installs in: after the namespaces, before cluster RBAC and everything later. */
  public static wave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.ensureWave('cert-manager', {
      description: 'cert-manager (managed chart): CRDs, controller and webhook ready before any Issuer or Certificate.',
      after: [plan.namespaces],
      before: [plan.cluster],
    });
  }

  /** The issuer of kfkit's certificates, if one was given. */
  public readonly issuer?: IssuerRef;
  /** The chart release. */
  public readonly release: HelmRelease;
  /** The namespace. */
  public readonly namespace: string;

  public constructor(scope: Construct, id: string, props: ManagedCertManagerProps = {}) {
    super(scope, id);
    const ctx = KfkitContext.of(this);
    this.namespace = props.namespace ?? 'cert-manager';
    this.issuer = props.issuer;
    new PlatformNamespace(this, 'Namespace', { name: this.namespace });
    const controller = chartResources(props.controllerResources ?? CONTROLLER_DEFAULT);
    const component = chartResources(props.componentResources ?? COMPONENT_DEFAULT);
    this.release = new HelmRelease(this, 'Release', {
      chart: 'cert-manager',
      releaseName: RELEASE,
      namespace: this.namespace,
      // Every API the chart's CRDs serve, ACME's too: kfkit uninstall removes the chart's CRDs by these.
      provides: [
        { group: CERT_MANAGER_GROUP, kinds: [...CERT_MANAGER_KINDS, 'CertificateRequest'], versions: [CERT_MANAGER_VERSION] },
        { group: 'acme.cert-manager.io', kinds: ['Challenge', 'Order'], versions: [CERT_MANAGER_VERSION] },
      ],
      values: {
        crds: { enabled: true, keep: true },
        global: { leaderElection: { namespace: this.namespace } },
        image: ctx.chartImage('cert-manager-controller'),
        resources: controller,
        webhook: { image: ctx.chartImage('cert-manager-webhook'), resources: component, securePort: WEBHOOK_PORT },
        cainjector: { image: ctx.chartImage('cert-manager-cainjector'), resources: component },
        startupapicheck: { image: ctx.chartImage('cert-manager-startupapicheck'), resources: component },
        acmesolver: { image: ctx.chartImage('cert-manager-acmesolver') },
      },
    });
    ctx.plan.assign(this.release, ManagedCertManager.wave(this));
    const peer = (name: string): NetworkPeer => ({
      peerName: `cert-manager-${name}`, namespace: this.namespace,
      podLabels: { 'app.kubernetes.io/instance': RELEASE, 'app.kubernetes.io/component': name },
    });
    const policies = new Construct(this, 'Network');
    ctx.plan.assign(policies, PlatformNamespace.isolationWave(this));
    for (const name of ['controller', 'webhook', 'cainjector', 'startupapicheck']) allowKubeApi(policies, peer(name));
    allowFromKubeApi(policies, 'WebhookFromApiServer', peer('webhook'), [{ port: WEBHOOK_PORT }]);
    if (props.acmeCidrs !== undefined) {
      const cidrs = checkedCidrs('ManagedCertManager: acmeCidrs', props.acmeCidrs);
      allowEgressToAddresses(policies, 'AcmeEgress', peer('controller'), 'acme', addressRulesFor(cidrs, [{ port: 80 }, { port: 443 }]));
    }
  }

  /** The pinned cert-manager release, e.g. `v1.19.4`. */
  public get version(): string {
    return chartEntry('cert-manager').version;
  }
}
