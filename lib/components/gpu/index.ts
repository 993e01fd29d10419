import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { privilegedNamespace } from '../../core/exceptions';
import { advertisesGpus, GpuPool } from '../../core/gpu';
import { KFKIT_KEYS, MANAGED_BY, PART_OF } from '../../core/labels';
import { PlatformNamespace } from '../../core/namespace';
import { ResourceBudget } from '../../core/security';
import { DcgmExporter, MetricsScraper } from './dcgm-exporter';
import { DeviceListStrategy, MigStrategy, NvidiaDevicePlugin } from './device-plugin';
import { gpuWave, SYSTEM_NODE_CRITICAL } from './shared';

export * from './dcgm-exporter';
export * from './device-plugin';
export { gpuWave } from './shared';

/** Settings of kfkit's NVIDIA device plugin (see {@link NvidiaDevicePlugin}). */
export interface GpuDevicePluginSettings {
  /** Image, used as written. @default - the catalog's pinned `nvidia-device-plugin` */
  readonly image?: string;
  /** MIG strategy. @default 'none' */
  readonly migStrategy?: MigStrategy;
  /** Device list strategy. @default 'envvar' */
  readonly deviceListStrategy?: DeviceListStrategy;
  /** Compute budget. @default - 50m CPU request; 64Mi memory request, 256Mi limit */
  readonly resources?: ResourceBudget;
}

/** Settings of the DCGM exporter (see {@link DcgmExporter}). */
export interface GpuMetricsSettings {
  /**
   * Install the exporter on every pool that advertises GPUs.
   * @default false
   */
  readonly enabled?: boolean;
  /** Compute budget. @default - 100m CPU request; 128Mi memory request, 512Mi limit */
  readonly resources?: ResourceBudget;
  /** Who may scrape the metrics. @default - nobody */
  readonly scrapeFrom?: MetricsScraper;
}

/** Props of {@link GpuSupport}. */
export interface GpuSupportProps {
  /** Namespace kfkit creates for the node agents (it enforces the `privileged` Pod Security level). */
  readonly namespace: string;
  /** The GPU pools of the cluster. Pool names are unique. */
  readonly pools: readonly GpuPool[];
  /** The device plugin on the `managed` pools. @default - upstream's defaults (see {@link GpuDevicePluginSettings}) */
  readonly devicePlugin?: GpuDevicePluginSettings;
  /** GPU metrics. @default - disabled */
  readonly dcgmExporter?: GpuMetricsSettings;
}

/**
 * How many pods of the critical priority class the agents' namespace admits. Some clusters (GKE) admit
 * `system-node-critical` pods outside kube-system only up to a ResourceQuota scoped to that class; two agents per GPU
 * node, so this covers 500 GPU nodes.
 */
const CRITICAL_PODS = 1000;

/**
 * GPU support of a platform: the pools workloads request GPUs on ({@link GpuSupport.pool}), and the node agents kfkit
 * runs for them, in the `gpu` install wave (after cluster configuration, before any controller): the NVIDIA device
 * plugin on the pools with `devicePlugin: 'managed'`, and optionally the DCGM exporter on every pool that advertises
 * GPUs.
 *
 * The agents need the host (hostPath, root), so they are the platform's privileged exceptions and run in a namespace
 * of their own that enforces the `privileged` Pod Security level and says why (`kfkit.dev/privileged-reason`); the
 * platform namespace keeps its level. That namespace is default-deny like every kfkit namespace (the agents talk to
 * the kubelet through host sockets, not the network), and holds a ResourceQuota that admits `system-node-critical`
 * pods where a cluster limits that class to kube-system by default. Nothing is created when no agent is needed.
 */
export class GpuSupport extends Construct {
  /** The pools, in configuration order. */
  public readonly pools: readonly GpuPool[];
  /** The agents' namespace, when an agent is installed. */
  public readonly namespace?: PlatformNamespace;
  /** The device plugin, when a pool is `managed`. */
  public readonly devicePlugin?: NvidiaDevicePlugin;
  /** The DCGM exporter, when enabled. */
  public readonly dcgmExporter?: DcgmExporter;

  public constructor(scope: Construct, id: string, props: GpuSupportProps) {
    super(scope, id);
    const names = props.pools.map((p) => p.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined) throw new Error(`GPU pool "${duplicate}" is defined twice`);
    this.pools = [...props.pools];
    const managed = this.pools.filter((p) => p.devicePlugin === 'managed');
    const metrics = props.dcgmExporter?.enabled === true ? props.dcgmExporter : undefined;
    if (metrics !== undefined && !this.pools.some(advertisesGpus)) throw new Error('the DCGM exporter needs a GPU pool with devicePlugin managed or bundled');
    if (managed.length === 0 && metrics === undefined) return;

    const ctx = KfkitContext.of(this);
    ctx.plan.assign(this, gpuWave(this));
    const ns = props.namespace;
    this.namespace = new PlatformNamespace(this, 'Namespace', {
      name: ns,
      podSecurity: 'privileged',
      labels: { [KFKIT_KEYS.namespaceRole]: 'gpu-node-agents' },
    });
    if (managed.length > 0) {
      this.devicePlugin = new NvidiaDevicePlugin(this, 'DevicePlugin', { namespace: ns, pools: managed, ...props.devicePlugin });
    }
    if (metrics !== undefined) {
      this.dcgmExporter = new DcgmExporter(this, 'DcgmExporter', {
        namespace: ns, pools: this.pools.filter(advertisesGpus), resources: metrics.resources, scrapeFrom: metrics.scrapeFrom,
      });
    }
    const reasons = [
      this.devicePlugin && `the NVIDIA device plugin ${this.devicePlugin.privilegedReason}`,
      this.dcgmExporter && `the DCGM exporter ${this.dcgmExporter.privilegedReason}`,
    ].filter((r): r is string => r !== undefined);
    privilegedNamespace(this.namespace, `GPU node agents need the host: ${reasons.join('; ')}`);

    new k8s.KubeResourceQuota(this, 'CriticalPods', {
      metadata: { name: 'critical-pods', namespace: ns, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY, 'app.kubernetes.io/part-of': PART_OF } },
      spec: {
        hard: { pods: k8s.Quantity.fromNumber(CRITICAL_PODS) },
        scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [SYSTEM_NODE_CRITICAL] }] },
      },
    });
  }

  /** The pool named `name`. Throws, naming the pools, when there is none. */
  public pool(name: string): GpuPool {
    const found = this.pools.find((p) => p.name === name);
    if (!found) throw new Error(`no GPU pool "${name}"; pools: ${this.pools.map((p) => p.name).join(', ') || 'none'}`);
    return found;
  }
}
