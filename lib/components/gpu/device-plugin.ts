import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { privilegedPod, privilegedReasonAnnotation } from '../../core/exceptions';
import { GPU_TOLERATION, GpuPool, gpuNodeAffinity } from '../../core/gpu';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { ResourceBudget } from '../../core/security';
import { podTemplate } from '../../core/workload';
import { gpuAgentSecurityContext, imageVersion, SYSTEM_NODE_CRITICAL } from './shared';

/** MIG strategy of the device plugin (`MIG_STRATEGY`). */
export type MigStrategy = 'none' | 'single' | 'mixed';
/** How the device plugin passes allocated GPUs to the container runtime (`DEVICE_LIST_STRATEGY`). */
export type DeviceListStrategy = 'envvar' | 'volume-mounts';

/** Props of {@link NvidiaDevicePlugin}. */
export interface NvidiaDevicePluginProps {
  /** Namespace of the DaemonSet; it must enforce the `privileged` Pod Security level (or have no PSS labels). */
  readonly namespace: string;
  /** The pools whose nodes run the plugin: every one must have `devicePlugin: 'managed'`. */
  readonly pools: readonly GpuPool[];
  /**
   * Image, used as written.
   * @default - the catalog's `nvidia-device-plugin` (nvcr.io/nvidia/k8s-device-plugin, pinned), behind the registry mirror
   */
  readonly image?: string;
  /**
   * How MIG-partitioned GPUs are exposed. `single` and `mixed` add CAP_SYS_ADMIN (as upstream's chart does).
   * @default 'none'
   */
  readonly migStrategy?: MigStrategy;
  /**
   * How allocated GPUs are passed to the container runtime. `volume-mounts` adds CAP_SYS_ADMIN (as upstream's chart).
   * @default 'envvar'
   */
  readonly deviceListStrategy?: DeviceListStrategy;
  /**
   * Compute budget of the plugin container.
   * @default - 50m CPU request; 64Mi memory request, 256Mi limit
   */
  readonly resources?: ResourceBudget;
}

/** Name of the DaemonSet (upstream's static deployment). */
export const DEVICE_PLUGIN_NAME = 'nvidia-device-plugin-daemonset';
/** Name of the plugin container (upstream's). */
export const DEVICE_PLUGIN_CONTAINER = 'nvidia-device-plugin-ctr';
/** Where the kubelet looks for device plugin sockets, on the node and in the container. */
export const KUBELET_DEVICE_PLUGINS_DIR = '/var/lib/kubelet/device-plugins';

/**
 * The NVIDIA device plugin (NVIDIA/k8s-device-plugin): a DaemonSet that advertises each node's GPUs to the kubelet as
 * `nvidia.com/gpu` and hands them to the pods that request them.
 *
 * Follows upstream's static deployment and Helm chart (v0.20.0): container `nvidia-device-plugin-ctr` running
 * `nvidia-device-plugin`, the kubelet's device-plugins directory mounted from the host, tolerations of
 * `nvidia.com/gpu` (NoSchedule) and `CriticalAddonsOnly`, priority class `system-node-critical`, rolling updates. The
 * settings are explicit env vars (`FAIL_ON_INIT_ERROR=true`: kfkit only schedules it on GPU nodes, where an
 * initialisation error is a real error; `MIG_STRATEGY`, `DEVICE_LIST_STRATEGY`, `DEVICE_ID_STRATEGY=uuid`).
 *
 * Differences on purpose: node affinity to the managed pools only (nodes whose image or GPU Operator brings its own
 * plugin never get a second one), a ServiceAccount of its own without a token (the plugin binary does not call the
 * API server), requests and a memory limit. It is a privileged exception (`kfkit.dev/privileged-reason`): it runs
 * as root (the directory is root-owned) with a hostPath volume, every capability dropped unless MIG or
 * volume-mounts need CAP_SYS_ADMIN, no privilege escalation.
 */
export class NvidiaDevicePlugin extends Construct {
  /** The DaemonSet. */
  public readonly daemonSet: k8s.KubeDaemonSet;
  /** The pools the plugin runs on. */
  public readonly pools: readonly GpuPool[];
  /** Why it is a privileged exception. */
  public readonly privilegedReason: string;

  public constructor(scope: Construct, id: string, props: NvidiaDevicePluginProps) {
    super(scope, id);
    if (props.pools.length === 0) throw new Error('NvidiaDevicePlugin needs at least one GPU pool');
    const foreign = props.pools.filter((p) => p.devicePlugin !== 'managed').map((p) => `${p.name} (${p.devicePlugin})`);
    if (foreign.length > 0) throw new Error(`NvidiaDevicePlugin runs only on pools with devicePlugin managed, not ${foreign.join(', ')}`);
    this.pools = [...props.pools];
    const ctx = KfkitContext.of(this);
    const ns = props.namespace;
    const image = props.image ?? ctx.images.image('nvidia-device-plugin');
    const identity: ComponentIdentity = { name: 'nvidia-device-plugin', component: 'gpu-device-plugin', version: imageVersion(image) };
    const labels = standardLabels(identity);
    const migStrategy = props.migStrategy ?? 'none';
    const deviceListStrategy = props.deviceListStrategy ?? 'envvar';
    const sysAdmin = migStrategy !== 'none' || deviceListStrategy === 'volume-mounts';
    this.privilegedReason = 'registers nvidia.com/gpu with the kubelet through a socket in the host directory '
      + `${KUBELET_DEVICE_PLUGINS_DIR} (hostPath), as root because the directory is root-owned`
      + (sysAdmin ? `; CAP_SYS_ADMIN for ${migStrategy !== 'none' ? `MIG strategy ${migStrategy}` : 'the volume-mounts device list strategy'}` : '');

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: 'nvidia-device-plugin', namespace: ns, labels },
      automountServiceAccountToken: false,
    });

    const env: k8s.EnvVar[] = [
      { name: 'FAIL_ON_INIT_ERROR', value: 'true' },
      { name: 'MIG_STRATEGY', value: migStrategy },
      { name: 'DEVICE_LIST_STRATEGY', value: deviceListStrategy },
      { name: 'DEVICE_ID_STRATEGY', value: 'uuid' },
    ];
    // Upstream's chart sets this whenever MIG is on, so the plugin can watch MIG devices for health events.
    if (migStrategy !== 'none') env.push({ name: 'NVIDIA_MIG_MONITOR_DEVICES', value: 'all' });

    const restricted = podTemplate(this, {
      identity,
      serviceAccountName: 'nvidia-device-plugin',
      containers: [{
        name: DEVICE_PLUGIN_CONTAINER,
        image,
        command: ['nvidia-device-plugin'],
        env,
        resources: props.resources ?? { cpu: { request: '50m' }, memory: { request: '64Mi', limit: '256Mi' } },
        volumeMounts: [{ name: 'kubelet-device-plugins-dir', mountPath: KUBELET_DEVICE_PLUGINS_DIR }],
      }],
      volumes: [{ name: 'kubelet-device-plugins-dir', hostPath: { path: KUBELET_DEVICE_PLUGINS_DIR, type: 'Directory' } }],
      tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { ...GPU_TOLERATION }],
    });
    const template = privilegedPod(restricted, {
      reason: this.privilegedReason,
      containerSecurityContexts: {
        [DEVICE_PLUGIN_CONTAINER]: gpuAgentSecurityContext(sysAdmin),
      },
    });

    this.daemonSet = new k8s.KubeDaemonSet(this, 'Resource', {
      metadata: { name: DEVICE_PLUGIN_NAME, namespace: ns, labels, annotations: privilegedReasonAnnotation(this.privilegedReason) },
      spec: {
        selector: { matchLabels: selectorLabels(identity) },
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          ...template,
          spec: {
            containers: [],
            ...template.spec,
            priorityClassName: SYSTEM_NODE_CRITICAL,
            affinity: { nodeAffinity: gpuNodeAffinity(this.pools) },
          },
        },
      },
    });
  }
}
