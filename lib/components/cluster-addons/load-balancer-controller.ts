import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { ChartApi, HelmRelease } from '../../core/helm';
import { Wave } from '../../core/waves';
import {
  ADDONS_NAMESPACE, AwsAddonProps, checkAddonProps, clusterAddonsWave, declareKubeSystem, imageValues, IRSA_ROLE_ANNOTATION,
} from './shared';
import { chartResources, ResourceBudget } from '../../core/security';

/** The ServiceAccount of the controller: what its IRSA role trusts (pulumi/aws `LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT`). */
export const LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = { namespace: ADDONS_NAMESPACE, name: 'aws-load-balancer-controller' } as const;

/** The custom resource APIs whose CRDs the chart installs (aws-load-balancer-controller chart 3.4.3, `crds/`). */
export const LOAD_BALANCER_CONTROLLER_APIS: readonly ChartApi[] = [
  { group: 'elbv2.k8s.aws', kinds: ['TargetGroupBinding', 'IngressClassParams', 'ALBTargetControlConfig'], versions: ['v1beta1'] },
  { group: 'gateway.k8s.aws', kinds: ['LoadBalancerConfiguration', 'TargetGroupConfiguration', 'ListenerRuleConfiguration'], versions: ['v1beta1'] },
  { group: 'aga.k8s.aws', kinds: ['GlobalAccelerator'], versions: ['v1beta1'] },
];

/** The objects of the chart kfkit may rely on: its admission webhooks and the Service they call. */
export const LOAD_BALANCER_CONTROLLER_WEBHOOKS: readonly string[] = [
  'MutatingWebhookConfiguration/aws-load-balancer-webhook',
  'ValidatingWebhookConfiguration/aws-load-balancer-webhook',
  `Service/${ADDONS_NAMESPACE}/aws-load-balancer-webhook-service`,
];

/** Where the certificate of the controller's webhooks comes from. */
export type WebhookCertificates =
  /** The chart generates a CA and certificate at render time (Helm, Flux); Argo CD re-renders it on every sync. */
  | 'chart'
  /** cert-manager issues it (the chart's `enableCertManager`): needs cert-manager's APIs before the add-ons. */
  | 'cert-manager';

/** Props of {@link AwsLoadBalancerController}. */
export interface AwsLoadBalancerControllerProps extends AwsAddonProps {
  /** The cluster's VPC (cloud output `cluster.vpcId`): given, so the controller never asks the instance metadata service. */
  readonly vpcId: string;
  /** Controller replicas (leader-elected; the others keep serving the webhooks). @default 2 */
  readonly replicas?: number;
  /** Compute budget. @default - 100m CPU, 200Mi memory request, 500Mi memory limit (the upstream manifest's) */
  readonly resources?: ResourceBudget;
  /** Where the webhooks' certificate comes from. @default 'chart' */
  readonly webhookCertificates?: WebhookCertificates;
  /**
   * Install the chart's Service mutating webhook, which makes the controller take over every Service of type
   * LoadBalancer (sets `spec.loadBalancerClass`) and rejects all Service creations while it is down
   * (`failurePolicy: Fail`). Services annotated with {@link nlbServiceAnnotations} are handled without it.
   * @default false
   */
  readonly serviceMutatorWebhook?: boolean;
  /** Install wave. @default - the `cluster-addons` wave (after the namespaces and a managed cert-manager, before cluster configuration) */
  readonly wave?: Wave;
}

const RELEASE = 'aws-load-balancer-controller';
const DEFAULT_BUDGET: ResourceBudget = { cpu: { request: '100m' }, memory: { request: '200Mi', limit: '500Mi' } };
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;

/**
 * The AWS Load Balancer Controller, from its official chart (aws/eks-charts, pinned in the chart catalog) into
 * kube-system: it provisions an NLB for each Service of type LoadBalancer annotated for it (see
 * {@link nlbServiceAnnotations} — the Kubeflow gateway's), ALBs for Ingresses of class `alb`, and serves
 * TargetGroupBindings. It authenticates with its IRSA role (ServiceAccount kube-system/aws-load-balancer-controller),
 * is told the cluster, region and VPC (no instance metadata lookups) and runs two replicas with a PodDisruptionBudget.
 *
 * The release installs CRDs ({@link LOAD_BALANCER_CONTROLLER_APIS}, declared as provided by it) and admission webhooks
 * ({@link LOAD_BALANCER_CONTROLLER_WEBHOOKS}): it sits in a wave before `cluster`, so both serve before anything that
 * uses them. The WAF, WAFv2 and Shield integrations are off — its IAM policy (pulumi/aws `loadBalancerControllerPolicy`)
 * leaves them out. Pods run as non-root with a read-only root file system, no capabilities and RuntimeDefault seccomp.
 */
export class AwsLoadBalancerController extends Construct {
  /** The chart release. */
  public readonly release: HelmRelease;
  /** Name of the EKS cluster. */
  public readonly clusterName: string;

  public constructor(scope: Construct, id: string, props: AwsLoadBalancerControllerProps) {
    super(scope, id);
    const budget = props.resources ?? DEFAULT_BUDGET;
    const replicas = props.replicas ?? 2;
    const certificates = props.webhookCertificates ?? 'chart';
    const problems: string[] = [];
    if (!VPC_ID.test(props.vpcId)) problems.push(`vpcId "${props.vpcId}" must be a VPC id (vpc-..., cloud output cluster.vpcId)`);
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) problems.push(`replicas ${replicas} must be a whole number from 1 to 5`);
    const certificatesValue: unknown = certificates;
    if (certificatesValue !== 'chart' && certificatesValue !== 'cert-manager') {
      problems.push(`webhookCertificates ${JSON.stringify(certificatesValue)} must be chart or cert-manager`);
    }
    const ctx = KfkitContext.of(this);
    if (certificates === 'cert-manager' && !ctx.externalApis.some((a) => a.group === 'cert-manager.io' && a.kind === 'Certificate')) {
      problems.push('webhookCertificates cert-manager needs cert-manager: declare it (external) or install it (managed) before this construct, '
        + 'or use webhookCertificates chart');
    }
    checkAddonProps(this.node.path, props, budget, problems);
    this.clusterName = props.clusterName;

    declareKubeSystem(this);
    const pullSecrets = ctx.images.pullSecrets;
    this.release = new HelmRelease(this, 'Release', {
      chart: 'aws-load-balancer-controller',
      releaseName: RELEASE,
      namespace: ADDONS_NAMESPACE,
      provides: LOAD_BALANCER_CONTROLLER_APIS,
      values: {
        clusterName: props.clusterName,
        region: props.region,
        vpcId: props.vpcId,
        replicaCount: replicas,
        image: imageValues(this, 'aws-load-balancer-controller'),
        ...(pullSecrets.length > 0 ? { imagePullSecrets: pullSecrets.map((name) => ({ name })) } : {}),
        serviceAccount: { create: true, name: LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT.name, annotations: { [IRSA_ROLE_ANNOTATION]: props.roleArn } },
        resources: chartResources(budget),
        podDisruptionBudget: { maxUnavailable: 1 },
        podSecurityContext: { runAsNonRoot: true, fsGroup: 65534, seccompProfile: { type: 'RuntimeDefault' } },
        securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        enableShield: false,
        enableWaf: false,
        enableWafv2: false,
        enableServiceMutatorWebhook: props.serviceMutatorWebhook ?? false,
        enableCertManager: certificates === 'cert-manager',
      },
    });
    this.release.providesObjects(...LOAD_BALANCER_CONTROLLER_WEBHOOKS);
    const certManagerWave = certificates === 'cert-manager' ? ctx.plan.find('cert-manager') : undefined;
    ctx.plan.assign(this.release, props.wave ?? clusterAddonsWave(this, certManagerWave === undefined ? [] : [certManagerWave]));
  }
}

/** Options of {@link nlbServiceAnnotations}. */
export interface NlbServiceOptions {
  /** `internal` (the VPC and networks routed to it) or `internet-facing` (public subnets). @default 'internal' */
  readonly scheme?: 'internal' | 'internet-facing';
  /**
   * Client address ranges (IPv4 CIDRs) the NLB admits. The controller enforces them only with client IP
   * preservation, which listing them turns on.
   * @default - none listed: every address that can reach the NLB (0.0.0.0/0)
   */
  readonly sourceRanges?: readonly string[];
  /**
   * Keep the client's address as the source of the connections the targets see (target group attribute
   * `preserve_client_ip.enabled`); the gateway's NetworkPolicy must then admit the clients' addresses.
   * @default - true when sourceRanges are listed, else the controller's default (off for ip targets)
   */
  readonly preserveClientIp?: boolean;
  /** Targets: `ip` (the pods directly, through the VPC CNI) or `instance` (node ports). @default 'ip' */
  readonly targetType?: 'ip' | 'instance';
  /** Spread each client's connections over the targets of every zone. @default true */
  readonly crossZone?: boolean;
  /**
   * HTTP health check of the targets (e.g. Istio's gateway readiness, port 15021 path `/healthz/ready`).
   * @default - a TCP check on the traffic port
   */
  readonly healthCheck?: { readonly port: number; readonly path: string };
}

const CIDR = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/(3[0-2]|[12]?\d)$/;
const PREFIX = 'service.beta.kubernetes.io';

/**
 * Annotations that give a Service of type LoadBalancer an NLB from the AWS Load Balancer Controller (not the legacy
 * in-tree Classic Load Balancer): `aws-load-balancer-type: external`, the target type (`ip` by default), the scheme
 * (`internal` by default), cross-zone load balancing, optional client ranges (with client IP preservation, without
 * which the controller ignores them) and an optional HTTP health check. For
 * the Kubeflow gateway's Service when {@link AwsLoadBalancerController} is installed. Throws on malformed options.
 */
export function nlbServiceAnnotations(options: NlbServiceOptions = {}): Record<string, string> {
  const scheme = options.scheme ?? 'internal';
  const targetType = options.targetType ?? 'ip';
  const sourceRanges = options.sourceRanges ?? [];
  const problems: string[] = [];
  const values: Readonly<Record<string, unknown>> = { scheme, targetType };
  if (values.scheme !== 'internal' && values.scheme !== 'internet-facing') problems.push(`scheme ${JSON.stringify(scheme)} must be internal or internet-facing`);
  if (values.targetType !== 'ip' && values.targetType !== 'instance') problems.push(`targetType ${JSON.stringify(targetType)} must be ip or instance`);
  for (const cidr of sourceRanges) if (!CIDR.test(cidr)) problems.push(`sourceRanges: "${cidr}" must be an IPv4 CIDR such as 203.0.113.0/24`);
  const preserveClientIp = options.preserveClientIp ?? (sourceRanges.length > 0 ? true : undefined);
  if (preserveClientIp === false && sourceRanges.length > 0) {
    problems.push('sourceRanges are ignored by the controller without client IP preservation: drop preserveClientIp: false or the ranges');
  }
  const hc = options.healthCheck;
  if (hc !== undefined) {
    if (!Number.isInteger(hc.port) || hc.port < 1 || hc.port > 65535) problems.push(`healthCheck.port ${hc.port} must be a port number`);
    if (!hc.path.startsWith('/')) problems.push(`healthCheck.path "${hc.path}" must start with /`);
  }
  if (problems.length > 0) throw new Error(`nlbServiceAnnotations: ${problems.join('; ')}`);
  return {
    [`${PREFIX}/aws-load-balancer-type`]: 'external',
    [`${PREFIX}/aws-load-balancer-nlb-target-type`]: targetType,
    [`${PREFIX}/aws-load-balancer-scheme`]: scheme,
    [`${PREFIX}/aws-load-balancer-attributes`]: `load_balancing.cross_zone.enabled=${String(options.crossZone ?? true)}`,
    ...(sourceRanges.length > 0 ? { [`${PREFIX}/load-balancer-source-ranges`]: sourceRanges.join(',') } : {}),
    ...(preserveClientIp === undefined ? {} : { [`${PREFIX}/aws-load-balancer-target-group-attributes`]: `preserve_client_ip.enabled=${String(preserveClientIp)}` }),
    ...(hc === undefined ? {} : {
      [`${PREFIX}/aws-load-balancer-healthcheck-protocol`]: 'http',
      [`${PREFIX}/aws-load-balancer-healthcheck-port`]: String(hc.port),
      [`${PREFIX}/aws-load-balancer-healthcheck-path`]: hc.path,
    }),
  };
}
