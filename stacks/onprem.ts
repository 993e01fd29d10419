import { StackDefinition } from '../lib/config/load';

/**
 * `onprem`: an existing cluster in your own data center (kubeadm, RKE2, OpenShift-like distributions without a cloud
 * account). Kubeflow Pipelines with the in-cluster data layer on the cluster's default StorageClass, sized for a team
 * rather than a laptop. GPU nodes are the ones your admins labelled: list them as pools in the overlay (`gpu.pools`,
 * with the labels as `nodeSelector`), and say who runs the device plugin there. Synthesizes with no cluster access.
 */
export const onprem: StackDefinition = {
  name: 'onprem',
  description: 'existing on-premises cluster: KFP, in-cluster data layer with team-sized volumes, GPU pools labelled by admins',
  defaults: {
    database: {
      type: 'in-cluster',
      storage: { size: '50Gi' },
      resources: { cpu: { request: '500m' }, memory: { request: '2Gi', limit: '4Gi' } },
    },
    objectStore: {
      type: 'in-cluster',
      storage: { size: '200Gi' },
      resources: { cpu: { request: '250m' }, memory: { request: '512Mi', limit: '2Gi' } },
    },
    backup: { retentionDays: 30 },
  },
};
