import { IArtifactStore } from '../../core/artifact-store';
import { IDatabase } from '../../core/database';
import { ComponentIdentity, selectorLabels } from '../../core/labels';
import { NetworkPeer } from '../../core/network';

/** The Kubeflow Pipelines release kfkit follows (images, facts). */
export const PIPELINES_VERSION = '2.17.0';

/** `app.kubernetes.io/component` of every Kubeflow Pipelines object. */
export const PIPELINES_COMPONENT = 'pipelines';

/** Single-user (no auth, one namespace) or multi-user (profiles, user header, namespaced runs). */
export type PipelinesMode = 'standalone' | 'multi-user';

/** Props every part of Kubeflow Pipelines receives from {@link KubeflowPipelines}. */
export interface PipelinesPartProps {
  /** Namespace of the Pipelines backend (the platform namespace). */
  readonly namespace: string;
  /** Metadata database (KFP, ML Metadata, cache). */
  readonly database: IDatabase;
  /** Artifact store. */
  readonly store: IArtifactStore;
  /** Deployment mode. */
  readonly mode: PipelinesMode;
}

/** Identity (labels) of a Pipelines workload, by its upstream name. */
export function pipelinesIdentity(name: string): ComponentIdentity {
  return { name, component: PIPELINES_COMPONENT, version: PIPELINES_VERSION };
}

/**
 * The pods of the Pipelines workload `name` (its upstream Deployment name, e.g. `ml-pipeline`), as a network
 * peer. Parts use these to open the connections they make: the client side writes `allowTraffic(client, server)`.
 */
export function pipelinesPeer(namespace: string, name: string): NetworkPeer {
  return { peerName: name, namespace, podLabels: selectorLabels(pipelinesIdentity(name)) };
}
