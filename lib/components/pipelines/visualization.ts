import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { standardLabels } from '../../core/labels';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { PIPELINES_UID, PipelinesEndpoint, pipelinesIdentity, PipelinesPartProps, pipelinesPeer } from './shared';

/** Props of {@link VisualizationServer}. */
export interface VisualizationServerProps extends PipelinesPartProps {
  /**
   * Compute budget of the visualization server.
   * @default - 30m CPU; 500Mi memory request (upstream's), 2Gi limit
   */
  readonly resources?: ResourceBudget;
}

const NAME = 'ml-pipeline-visualizationserver';
const PORT = 8888;

/**
 * The Kubeflow Pipelines visualization server 2.17.0 (`ml-pipeline-visualizationserver`, Service of the same name,
 * port 8888), still part of upstream's platform-agnostic install: it renders v1 visualizations (and, with the UI's
 * `ALLOW_CUSTOM_VISUALIZATIONS`, users' own Python code) in Jupyter kernels for the API server. Upstream names,
 * image, port and probes; no RBAC, no env.
 *
 * The root filesystem stays writable (`readOnlyRootFilesystem: false`): every visualization starts a Jupyter kernel,
 * which writes its connection file and caches below the home directory and whatever the visualization's code writes,
 * so the writable paths are not known in advance. Otherwise restricted (non-root, upstream's UID 1000, no
 * capabilities), no ServiceAccount token, requests and a memory limit.
 *
 * Its only client is the API server (`ML_PIPELINE_VISUALIZATIONSERVER_SERVICE_*`), which opens its side of the
 * network path with {@link VisualizationServer.endpoint}. The server itself opens no connection: upstream gives it
 * no store credentials, so visualizations of sources outside the cluster (e.g. `gs://`) stay blocked by the
 * namespace's default-deny policy. The same in multi-user mode (only the Pipelines backend's mesh identities may call it there:
 * see the multi-user AuthorizationPolicies of KubeflowPipelines).
 */
export class VisualizationServer extends Construct {
  /** The server's Service (`ml-pipeline-visualizationserver`, port 8888) and pods. */
  public readonly endpoint: PipelinesEndpoint;
  /** `ml-pipeline-visualizationserver`. */
  public readonly serviceAccountName = NAME;

  public constructor(scope: Construct, id: string, props: VisualizationServerProps) {
    super(scope, id);
    const ns = props.namespace;
    const identity = pipelinesIdentity(NAME);
    this.endpoint = { serviceName: NAME, servicePort: PORT, peer: pipelinesPeer(ns, NAME), podPort: PORT };

    serviceAccountWithRole(this, { name: NAME, namespace: ns, labels: standardLabels(identity), automountServiceAccountToken: false });
    clusterIpService(this, { name: NAME, namespace: ns, identity, ports: [servicePort('http', PORT)] });
    const probe = { httpGet: { path: '/', port: k8s.IntOrString.fromNumber(PORT) }, initialDelaySeconds: 3, periodSeconds: 5, timeoutSeconds: 2 };
    deployment(this, {
      namespace: ns,
      identity,
      pod: {
        serviceAccountName: NAME,
        security: { user: PIPELINES_UID },
        containers: [{
          name: NAME,
          image: KfkitContext.of(this).images.image('kfp-visualization-server'),
          ports: [{ name: 'http', containerPort: PORT, protocol: 'TCP' }],
          resources: props.resources ?? { cpu: { request: '30m' }, memory: { request: '500Mi', limit: '2Gi' } },
          // Jupyter kernels write below HOME and wherever the visualization code writes (see the class comment).
          security: { readOnlyRootFilesystem: false },
          readinessProbe: probe,
          livenessProbe: probe,
        }],
      },
    });
  }
}
