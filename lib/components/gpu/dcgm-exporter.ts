import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { privilegedPod, privilegedReasonAnnotation } from '../../core/exceptions';
import { advertisesGpus, GPU_TOLERATION, GpuPool, gpuNodeAffinity } from '../../core/gpu';
import { ComponentIdentity, MANAGED_BY, selectorLabels, standardLabels } from '../../core/labels';
import { labelSelector } from '../../core/network';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, podTemplate, servicePort } from '../../core/workload';
import { gpuAgentSecurityContext, imageVersion, SYSTEM_NODE_CRITICAL } from './shared';

/** Pods allowed to scrape the exporter. */
export interface MetricsScraper {
  /** Namespace of the scraper (e.g. `monitoring`). */
  readonly namespace: string;
  /**
   * Labels of the scraper pods.
   * @default - every pod of the namespace
   */
  readonly podLabels?: Readonly<Record<string, string>>;
}

/** Props of {@link DcgmExporter}. */
export interface DcgmExporterProps {
  /** Namespace of the DaemonSet and Service; it must enforce the `privileged` Pod Security level (or have no PSS labels). */
  readonly namespace: string;
  /** The pools whose nodes run the exporter: every one must advertise GPUs (`devicePlugin` managed or bundled). */
  readonly pools: readonly GpuPool[];
  /**
   * Compute budget of the exporter.
   * @default - 100m CPU request; 128Mi memory request, 512Mi limit
   */
  readonly resources?: ResourceBudget;
  /**
   * Who may scrape port 9400 (an ingress network policy; kfkit namespaces are default-deny).
   * @default - nobody
   */
  readonly scrapeFrom?: MetricsScraper;
}

/** Name of the DaemonSet, its container and Service (upstream's static manifest). */
export const DCGM_EXPORTER_NAME = 'dcgm-exporter';
/** Metrics port (upstream's). */
export const DCGM_EXPORTER_PORT = 9400;
/** The kubelet's pod-resources API socket directory: how the exporter maps GPUs to pods. */
export const KUBELET_POD_RESOURCES_DIR = '/var/lib/kubelet/pod-resources';

/**
 * NVIDIA DCGM exporter (NVIDIA/dcgm-exporter 4.5.3-4.8.2): per-GPU metrics in Prometheus format on port 9400,
 * labelled with the pod that uses each GPU, and a `dcgm-exporter` Service.
 *
 * Follows upstream's static manifest and Helm chart: image `nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless`,
 * env `DCGM_EXPORTER_LISTEN=:9400`, `DCGM_EXPORTER_KUBERNETES=true`, `NODE_NAME` from the node name, the kubelet's
 * pod-resources directory mounted read-only, health probes on `/health`, priority class `system-node-critical`,
 * root with CAP_SYS_ADMIN (profiling metrics such as tensor-core activity need it) and every other capability dropped.
 * It is a privileged exception (`kfkit.dev/privileged-reason`). Differences on purpose: the GPU taint is tolerated and
 * node affinity limits it to the GPU pools; no token (it reads nothing from the API server); the default counters of
 * the image; metrics reachable only from the scraper given in `scrapeFrom`.
 */
export class DcgmExporter extends Construct {
  /** The DaemonSet. */
  public readonly daemonSet: k8s.KubeDaemonSet;
  /** The metrics Service (`dcgm-exporter`, port 9400). */
  public readonly service: k8s.KubeService;
  /** Why it is a privileged exception. */
  public readonly privilegedReason: string;

  public constructor(scope: Construct, id: string, props: DcgmExporterProps) {
    super(scope, id);
    if (props.pools.length === 0) throw new Error('DcgmExporter needs at least one GPU pool');
    const silent = props.pools.filter((p) => !advertisesGpus(p)).map((p) => p.name);
    if (silent.length > 0) throw new Error(`DcgmExporter runs on pools that advertise GPUs; ${silent.join(', ')} ha${silent.length === 1 ? 's' : 've'} devicePlugin none`);
    const ctx = KfkitContext.of(this);
    const ns = props.namespace;
    const image = ctx.images.image('dcgm-exporter');
    const identity: ComponentIdentity = { name: DCGM_EXPORTER_NAME, component: 'gpu-metrics', version: imageVersion(image) };
    const labels = standardLabels(identity);
    this.privilegedReason = `maps GPUs to pods through the kubelet's pod-resources socket in the host directory ${KUBELET_POD_RESOURCES_DIR} `
      + '(hostPath), as root with CAP_SYS_ADMIN for DCGM profiling metrics';

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: DCGM_EXPORTER_NAME, namespace: ns, labels },
      automountServiceAccountToken: false,
    });
    const port = k8s.IntOrString.fromNumber(DCGM_EXPORTER_PORT);
    const health: k8s.Probe = { httpGet: { path: '/health', port, scheme: 'HTTP' }, initialDelaySeconds: 45 };
    const restricted = podTemplate(this, {
      identity,
      serviceAccountName: DCGM_EXPORTER_NAME,
      containers: [{
        name: DCGM_EXPORTER_NAME,
        image,
        env: [
          { name: 'DCGM_EXPORTER_LISTEN', value: `:${DCGM_EXPORTER_PORT}` },
          { name: 'DCGM_EXPORTER_KUBERNETES', value: 'true' },
          { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        ],
        ports: [{ name: 'metrics', containerPort: DCGM_EXPORTER_PORT, protocol: 'TCP' }],
        resources: props.resources ?? { cpu: { request: '100m' }, memory: { request: '128Mi', limit: '512Mi' } },
        volumeMounts: [{ name: 'pod-gpu-resources', mountPath: KUBELET_POD_RESOURCES_DIR, readOnly: true }],
        readinessProbe: health,
        livenessProbe: { ...health, periodSeconds: 5 },
      }],
      volumes: [{ name: 'pod-gpu-resources', hostPath: { path: KUBELET_POD_RESOURCES_DIR, type: 'Directory' } }],
      tolerations: [{ ...GPU_TOLERATION }],
    });
    const template = privilegedPod(restricted, {
      reason: this.privilegedReason,
      containerSecurityContexts: {
        [DCGM_EXPORTER_NAME]: gpuAgentSecurityContext(true),
      },
    });
    this.daemonSet = new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: { name: DCGM_EXPORTER_NAME, namespace: ns, labels, annotations: privilegedReasonAnnotation(this.privilegedReason) },
      spec: {
        selector: { matchLabels: selectorLabels(identity) },
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          ...template,
          spec: { containers: [], ...template.spec, priorityClassName: SYSTEM_NODE_CRITICAL, affinity: { nodeAffinity: gpuNodeAffinity(props.pools) } },
        },
      },
    });
    this.service = clusterIpService(this, { name: DCGM_EXPORTER_NAME, namespace: ns, identity, ports: [servicePort('metrics', DCGM_EXPORTER_PORT)] });
    if (props.scrapeFrom) {
      const from = props.scrapeFrom;
      // Ingress only: the scraper's namespace is not kfkit's, so kfkit writes no egress rule there.
      new k8s.KubeNetworkPolicy(this, 'AllowScrape', {
        metadata: { name: `${DCGM_EXPORTER_NAME}-from-scraper`, namespace: ns, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
        spec: {
          podSelector: { matchLabels: selectorLabels(identity) },
          policyTypes: ['Ingress'],
          ingress: [{
            from: [{
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': from.namespace } },
              podSelector: from.podLabels ? labelSelector(from.podLabels) : undefined,
            }],
            ports: [{ port, protocol: 'TCP' }],
          }],
        },
      });
    }
  }
}
