import { StackDefinition } from '../lib/config/load';

/**
 * `local`: a kind or minikube cluster on a laptop. Kubeflow Pipelines standalone, no auth, in-cluster database
 * with a small volume. Synthesizes with no cluster and no cloud credentials.
 */
export const local: StackDefinition = {
  name: 'local',
  description: 'kind/minikube on a laptop: KFP standalone, in-cluster data layer, no auth',
  defaults: {
    // The API server of a laptop cluster: kind's node on its docker network (172.16.0.0/12) or minikube's docker
    // driver (192.168.49.0/24). Another setup sets cluster.apiServer.cidrs in its overlay.
    cluster: { apiServer: { cidrs: ['172.16.0.0/12', '192.168.49.0/24'] } },
    database: {
      type: 'in-cluster',
      storage: { size: '5Gi' },
      resources: { cpu: { request: '100m' }, memory: { request: '512Mi', limit: '1Gi' } },
    },
  },
};
