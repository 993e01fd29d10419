import { ApiObject, App, Chart } from 'cdk8s';
import * as YAML from 'yaml';
import { MysqlDatabase } from '../lib/components/mysql';
import { ExternalArtifactStore } from '../lib/components/external-artifact-store';
import { ArgoArtifactRepository, ArgoWorkflowController, ArgoWorkflowControllerProps } from '../lib/components/pipelines/argo';
import { ARGO_KIND_NAMES, PipelinesCrds, PipelinesCrdsProps, SCHEDULED_WORKFLOW_V1BETA1, VIEWER_V1BETA1 } from '../lib/components/pipelines/crds';
import { SeaweedfsArtifactStore } from '../lib/components/seaweedfs';
import { IArtifactStore } from '../lib/core/artifact-store';
import { KfkitContext } from '../lib/core/context';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { upstreamFacts } from '../lib/synth/index';
import { checkFidelity, CrdFacts } from '../lib/validate/fidelity';
import { validate } from '../lib/validate/harness';
import { serviceAccountPermissions } from '../lib/validate/rbac';
import { K8sObject, PlacedObject } from '../lib/validate/types';

type StoreKind = 'seaweedfs' | 'irsa' | 'secret' | 'workload-identity';

interface Built {
  readonly chart: Chart;
  readonly s: Synthesized;
  readonly argo: ArgoWorkflowController;
  readonly crds: PipelinesCrds;
  readonly store: IArtifactStore;
}

/**
 * The Argo part in a test chart: context, restricted namespace, MySQL and the store (in-cluster SeaweedFS, or an
 * external S3 with IRSA or static keys), the Pipelines CRDs and the controller. No other Pipelines part exists yet:
 * the network policies towards ml-pipeline and metadata-grpc-deployment select pods by label and reference no object,
 * so nothing dangles.
 */
interface BuildOptions {
  readonly store?: StoreKind;
  readonly crds?: PipelinesCrdsProps;
  readonly argo?: Partial<ArgoWorkflowControllerProps>;
  /** Adds objects after the parts are built. */
  readonly extra?: (chart: Chart, argo: ArgoWorkflowController) => void;
}

function build(options: BuildOptions = {}): Built {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  new PlatformNamespace(chart, 'Ns', { name: 'kubeflow' });
  const db = new MysqlDatabase(chart, 'Db', { namespace: 'kubeflow' });
  const kind = options.store ?? 'seaweedfs';
  const store: IArtifactStore = kind === 'seaweedfs'
    ? new SeaweedfsArtifactStore(chart, 'Store', { namespace: 'kubeflow' })
    : kind === 'irsa'
      ? new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'],
        namespace: 'kubeflow', provider: 's3', region: 'eu-west-1', bucket: 'kfp-artifacts',
        credentials: { type: 'irsa', roleArn: 'arn:aws:iam::123456789012:role/kubeflow-pipelines' },
      })
      : kind === 'secret'
        ? new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'],
          namespace: 'kubeflow', provider: 's3-compatible', endpoint: 'minio.storage.example:9000', region: 'us-east-1', bucket: 'kfp', secure: false,
          credentials: { type: 'secret', secretName: 'minio-keys', accessKeyKey: 'id', secretKeyKey: 'key' },
        })
        : new ExternalArtifactStore(chart, 'Store', { cidrs: ['10.10.0.0/16'],
          namespace: 'kubeflow', provider: 'gcs', bucket: 'kfp-artifacts',
          credentials: { type: 'workload-identity', gcpServiceAccount: 'kfp@project.iam.gserviceaccount.com' },
        });
  const crds = new PipelinesCrds(chart, 'Crds', options.crds);
  const argo = new ArgoWorkflowController(chart, 'Argo', { namespace: 'kubeflow', database: db, store, mode: 'standalone', ...options.argo });
  options.extra?.(chart, argo);
  return { chart, s: collect(chart), argo, crds, store };
}

const find = (objects: readonly PlacedObject[], kind: string, name: string): K8sObject => {
  const found = objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found.manifest;
};

interface Container {
  name: string; args?: string[]; env?: unknown[]; resources?: unknown; securityContext?: unknown; livenessProbe?: unknown;
}
interface PodSpec {
  containers: Container[]; securityContext?: unknown; automountServiceAccountToken?: boolean; priorityClassName?: string; nodeSelector?: unknown;
}
type Workload = K8sObject & { spec: { template: { spec: PodSpec } } };
interface PolicyRule { from?: unknown[]; to?: unknown[]; ports: { port: number }[] }
type NetworkPolicy = K8sObject & { spec: { podSelector: unknown; ingress?: PolicyRule[]; egress?: PolicyRule[] } };

interface CrdManifest {
  metadata: { name: string };
  spec: {
    group: string; scope: string;
    names: { kind: string; plural: string; singular: string; listKind: string; shortNames?: string[] };
    versions: { name: string; served: boolean; storage: boolean; subresources?: Record<string, unknown>; additionalPrinterColumns?: unknown[] }[];
  };
}

/** The facts of an emitted CRD, in the facts' vocabulary. */
function crdFacts(m: CrdManifest): Omit<CrdFacts, 'source'> {
  return {
    name: m.metadata.name,
    group: m.spec.group,
    kind: m.spec.names.kind,
    scope: m.spec.scope,
    versions: m.spec.versions.map((v) => ({ name: v.name, served: v.served, storage: v.storage, subresources: Object.keys(v.subresources ?? {}).sort() })),
  };
}

/**
 * Short names of each CRD upstream installs (not in the facts file): kubeflow/pipelines 2.17.0
 * manifests/kustomize/base/pipeline/cluster-scoped/*-crd.yaml and argo-workflows v4.0.5 manifests/base/crds/minimal.
 */
const UPSTREAM_SHORT_NAMES: Readonly<Record<string, readonly string[]>> = {
  'scheduledworkflows.kubeflow.org': ['swf'],
  'viewers.kubeflow.org': ['vi'],
  'workflows.argoproj.io': ['wf'],
  'workflowtemplates.argoproj.io': ['wftmpl'],
  'cronworkflows.argoproj.io': ['cwf', 'cronwf'],
  'clusterworkflowtemplates.argoproj.io': ['clusterwftmpl', 'cwft'],
  'workfloweventbindings.argoproj.io': ['wfeb'],
  'workflowtaskresults.argoproj.io': [],
  'workflowtasksets.argoproj.io': ['wfts'],
  'workflowartifactgctasks.argoproj.io': ['wfat'],
};

describe('Pipelines CRDs', () => {
  const { s, crds } = build();
  const { facts } = upstreamFacts();
  const emitted = s.objects.filter((o) => o.manifest.kind === 'CustomResourceDefinition').map((o) => o.manifest as unknown as CrdManifest);

  test('every CRD upstream installs (but the Application CRD) is emitted, matching the facts', () => {
    const upstream = facts.crds.filter((c) => c.source === 'kfp' && c.name !== 'applications.app.k8s.io');
    expect(upstream).toHaveLength(10);
    const byName = new Map(emitted.map((m) => [m.metadata.name, crdFacts(m)]));
    for (const up of upstream) {
      const { source, ...want } = up;
      expect(source).toBe('kfp');
      expect(byName.get(up.name)).toEqual(want);
    }
    expect([...byName.keys()].sort()).toEqual(upstream.map((c) => c.name).sort());
  });

  test('the Application CRD is omitted (documented: nothing in the platform-agnostic install uses it)', () => {
    expect(facts.crds.some((c) => c.source === 'kfp' && c.name === 'applications.app.k8s.io')).toBe(true);
    expect(emitted.some((m) => m.spec.group === 'app.k8s.io')).toBe(false);
  });

  test('short names, plural/singular/list names and printer columns as upstream', () => {
    for (const m of emitted) {
      expect([m.metadata.name, m.spec.names.shortNames ?? []]).toEqual([m.metadata.name, UPSTREAM_SHORT_NAMES[m.metadata.name]]);
      expect(m.metadata.name).toBe(`${m.spec.names.plural}.${m.spec.group}`);
      expect(m.spec.names.singular).toBe(m.spec.names.kind.toLowerCase());
      expect(m.spec.names.listKind).toBe(`${m.spec.names.kind}List`);
    }
    const workflow = emitted.find((m) => m.metadata.name === 'workflows.argoproj.io');
    expect(workflow?.spec.versions[0].additionalPrinterColumns).toEqual([
      { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'Status of the workflow' },
      { name: 'Age', type: 'date', format: 'date-time', jsonPath: '.status.startedAt', description: 'When the workflow was started' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'Human readable message indicating details about why the workflow is in this condition.' },
    ]);
    expect(crds.scheduledWorkflows.apiVersion).toBe('kubeflow.org/v1beta1');
    expect(Object.keys(crds.argo).sort()).toEqual([...ARGO_KIND_NAMES].sort());
  });

  test('all CRDs install in the crds wave and validate', () => {
    expect(s.objects.filter((o) => o.manifest.kind === 'CustomResourceDefinition').every((o) => o.waveName === 'crds')).toBe(true);
    expect(validate(s)).toEqual([]);
  });
});

describe('custom resources against the generated CRDs', () => {
  const swf = (chart: Chart, id: string, spec: Record<string, unknown>, status: unknown = {}): ApiObject => new ApiObject(chart, id, {
    apiVersion: 'kubeflow.org/v1beta1', kind: 'ScheduledWorkflow', metadata: { name: id.toLowerCase(), namespace: 'kubeflow' }, spec, status,
  });
  const findings = (chart: Chart) => validate(collect(chart)).filter((f) => f.rule === 'crd');

  test('a ScheduledWorkflow as the KFP API server writes it passes; one with spec.maxConcurrency "lots" fails', () => {
    const { chart } = build({
      extra: (c) => {
        swf(c, 'Good', {
          enabled: true, maxConcurrency: 1, maxHistory: 10, noCatchup: false,
          trigger: { cronSchedule: { cron: '0 0 * * * *', startTime: '2026-01-01T00:00:00Z', endTime: null } },
          workflow: { parameters: [{ name: 'p', value: 'v' }], pipelineRoot: 's3://mlpipeline/root', spec: '{"kind":"Workflow"}' },
          pipelineId: 'p1', pipelineVersionId: 'v1', pipelineName: 'pipelines/p1', experimentId: 'e1', serviceAccount: 'pipeline-runner',
          pluginsInput: { mlflow: { enabled: true } },
        }, {
          conditions: [{ type: 'Enabled', status: 'True', lastHeartbeatTime: null, lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'Enabled', message: '' }],
          trigger: { lastWorkflowIndex: 3, nextTriggeredTime: '2026-01-02T00:00:00Z' },
          workflowHistory: { completed: [{ name: 'w', namespace: 'kubeflow', uid: 'u', phase: 'Succeeded', createdAt: null, index: 2 }] },
        });
        swf(c, 'Bad', { maxConcurrency: 'lots' });
        swf(c, 'Typo', { maxConcurency: 2 });
        new ApiObject(c, 'NoStatus', { apiVersion: 'kubeflow.org/v1beta1', kind: 'ScheduledWorkflow', metadata: { name: 'nostatus', namespace: 'kubeflow' }, spec: {} });
      },
    });
    const all = findings(chart);
    expect(all.filter((f) => f.object === 'ScheduledWorkflow/kubeflow/good')).toEqual([]);
    expect(all.filter((f) => f.object === 'ScheduledWorkflow/kubeflow/bad')).toEqual([
      expect.objectContaining({ rule: 'crd', path: 'spec.maxConcurrency', message: expect.stringMatching(/integer/) as unknown }),
    ]);
    expect(all.filter((f) => f.object === 'ScheduledWorkflow/kubeflow/typo').map((f) => f.message)).toEqual([expect.stringMatching(/unknown field "maxConcurency"/)]);
    expect(all.filter((f) => f.object === 'ScheduledWorkflow/kubeflow/nostatus').map((f) => f.path)).toEqual(['status']);
  });

  test('typed creation: ScheduledWorkflow and Viewer bodies are checked at compile time', () => {
    const { chart, crds } = build();
    crds.scheduledWorkflows.customResource(chart, 'Typed', SCHEDULED_WORKFLOW_V1BETA1, { name: 'typed', namespace: 'kubeflow' }, {
      spec: { enabled: true, maxConcurrency: 2, trigger: { periodicSchedule: { intervalSecond: 3600 } } }, status: {},
    });
    // @ts-expect-error maxConcurrency is an int64
    crds.scheduledWorkflows.customResource(chart, 'Wrong', SCHEDULED_WORKFLOW_V1BETA1, { name: 'wrong', namespace: 'kubeflow' }, { spec: { maxConcurrency: 'lots' }, status: {} });
    // The UI's default Viewer: a container with no fields, which the controller fills in.
    crds.viewers.customResource(chart, 'Viewer', VIEWER_V1BETA1, { name: 'viewer', namespace: 'kubeflow' }, {
      spec: { type: 'tensorboard', tensorboardSpec: { logDir: 's3://mlpipeline/tb', tensorflowImage: 'tensorflow/tensorflow:2.5.1' }, podTemplateSpec: { spec: { containers: [{}] } } },
    });
    const all = findings(chart);
    expect(all.filter((f) => ['ScheduledWorkflow/kubeflow/typed', 'Viewer/kubeflow/viewer'].includes(f.object))).toEqual([]);
    expect(all.filter((f) => f.object === 'ScheduledWorkflow/kubeflow/wrong').map((f) => f.path)).toEqual(['spec.maxConcurrency']);
  });

  test('Argo kinds keep their bodies as written', () => {
    const { chart } = build({
      extra: (c) => {
        new ApiObject(c, 'Wf', {
          apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { name: 'wf', namespace: 'kubeflow' },
          spec: { entrypoint: 'main', templates: [{ name: 'main', container: { image: 'alpine:3.23' } }] }, status: { phase: 'Running' },
        });
        new ApiObject(c, 'Result', {
          apiVersion: 'argoproj.io/v1alpha1', kind: 'WorkflowTaskResult', metadata: { name: 'r', namespace: 'kubeflow' },
          outputs: { parameters: [{ name: 'x', value: '1' }] }, phase: 'Succeeded', progress: '1/1',
        });
        new ApiObject(c, 'NoSpec', { apiVersion: 'argoproj.io/v1alpha1', kind: 'WorkflowTemplate', metadata: { name: 'nospec', namespace: 'kubeflow' } });
        new ApiObject(c, 'Cwft', { apiVersion: 'argoproj.io/v1alpha1', kind: 'ClusterWorkflowTemplate', metadata: { name: 'cwft', namespace: 'kubeflow' }, spec: {} });
      },
    });
    const all = findings(chart);
    expect(all.filter((f) => ['Workflow/kubeflow/wf', 'WorkflowTaskResult/kubeflow/r'].includes(f.object))).toEqual([]);
    expect(all.filter((f) => f.object === 'WorkflowTemplate/kubeflow/nospec').map((f) => f.path)).toEqual(['spec']);
    expect(all.filter((f) => f.object.startsWith('ClusterWorkflowTemplate/')).map((f) => f.message)).toEqual([expect.stringMatching(/cluster-scoped/)]);
  });

  test('argo: false declares the Argo kinds as external APIs instead of installing their CRDs', () => {
    const { s } = build({
      crds: { argo: false },
      extra: (c) => {
        new ApiObject(c, 'Wf', { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { name: 'wf', namespace: 'kubeflow' }, spec: {} });
      },
    });
    expect(s.objects.filter((o) => o.manifest.kind === 'CustomResourceDefinition').map((o) => o.manifest.metadata.name).sort())
      .toEqual(['scheduledworkflows.kubeflow.org', 'viewers.kubeflow.org']);
    expect(s.externalApis.filter((a) => a.group === 'argoproj.io').map((a) => a.kind).sort()).toEqual([...ARGO_KIND_NAMES].sort());
    expect(validate(s)).toEqual([]);
  });
});

describe('Argo workflow controller', () => {
  const { s, argo } = build();
  const { facts, deviations } = upstreamFacts();
  const deployment = find(s.objects, 'Deployment', 'workflow-controller') as Workload;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  test('validates, and matches upstream facts (names, image, ports, env, args, RBAC) with no deviation', () => {
    expect(validate(s)).toEqual([]);
    expect(checkFidelity(s.objects, facts, deviations)).toEqual([]);
    const up = facts.workloads.find((w) => w.source === 'kfp' && w.name === 'workflow-controller');
    expect(up?.serviceAccount).toBe('argo');
    expect(container.args).toEqual(up?.containers[0].args);
    expect(deviations.filter((d) => d.workload === 'kubeflow/workflow-controller')).toEqual([]);
  });

  test('RBAC: namespaced Role and RoleBinding as the --namespaced install, exactly upstream\'s 92 permissions', () => {
    const objects = s.objects.map((o) => o.manifest);
    const want = facts.serviceAccounts.find((a) => a.source === 'kfp' && a.name === 'argo')?.rbac;
    expect(want).toHaveLength(92);
    expect(serviceAccountPermissions(objects, { namespace: 'kubeflow', name: 'argo' })).toEqual(want);
    expect(find(s.objects, 'Role', 'argo-role').metadata.namespace).toBe('kubeflow');
    expect(find(s.objects, 'RoleBinding', 'argo-binding').roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'argo-role' });
    const clusterWide = s.objects.filter((o) => ['ClusterRole', 'ClusterRoleBinding'].includes(o.manifest.kind) && o.source?.includes('/Argo/'));
    expect(clusterWide).toEqual([]);
  });

  test('pipeline-runner: ServiceAccount with exactly upstream\'s permissions, namespaced', () => {
    const objects = s.objects.map((o) => o.manifest);
    const want = facts.serviceAccounts.find((a) => a.source === 'kfp' && a.name === 'pipeline-runner')?.rbac;
    expect(want).toHaveLength(33);
    // Upstream's, but Secrets narrowed to the artifact keys: upstream's Role reads every Secret (the database root's among them).
    const narrowed = want?.map((p) => (p === 'get secrets.core' ? 'get secrets.core#mlpipeline-minio-artifact' : p));
    expect(serviceAccountPermissions(objects, { namespace: 'kubeflow', name: 'pipeline-runner' })).toEqual(narrowed);
    expect(narrowed).not.toEqual(want);
    expect(find(s.objects, 'Role', 'pipeline-runner').metadata.namespace).toBe('kubeflow');
    expect(find(s.objects, 'RoleBinding', 'pipeline-runner-binding').roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pipeline-runner' });
    const sa = find(s.objects, 'ServiceAccount', 'pipeline-runner');
    expect(sa.automountServiceAccountToken).toBe(true);
    expect(sa.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBeUndefined();
    expect(argo.runnerServiceAccountName).toBe('pipeline-runner');
  });

  test('restricted pod: non-root (the image\'s user 8737), no privilege escalation, read-only root; token mounted (API client)', () => {
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, privileged: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(find(s.objects, 'ServiceAccount', 'argo').automountServiceAccountToken).toBe(false);
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '500Mi' }, limits: { memory: '1Gi' } });
  });

  test('upstream details beyond the facts: probe, priority class, node selector, env values', () => {
    expect(container.livenessProbe).toEqual({
      httpGet: { path: '/healthz', port: 6060 }, failureThreshold: 3, initialDelaySeconds: 90, periodSeconds: 60, timeoutSeconds: 30,
    });
    expect(pod.priorityClassName).toBe('workflow-controller');
    expect(find(s.objects, 'PriorityClass', 'workflow-controller').value).toBe(1000000);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
    expect(container.env).toEqual([
      { name: 'LEADER_ELECTION_IDENTITY', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'TRANSIENT_ERROR_PATTERN', value: '(?i)(imminent node shutdown|node is shutting down|preempt|evict|spot|pod deleted)' },
    ]);
    expect(s.runtimeImages).toContain('quay.io/argoproj/argoexec:v4.0.5');
    expect(argo.metricsPort).toBe(9090);
  });

  test('ConfigMap: upstream keys; artifact repository from the in-cluster store with references to its Secret', () => {
    const cm = find(s.objects, 'ConfigMap', 'workflow-controller-configmap') as K8sObject & { data: Record<string, string> };
    const up = facts.configMaps.find((c) => c.source === 'kfp' && c.name === 'workflow-controller-configmap');
    expect(Object.keys(cm.data).sort()).toEqual(up?.keys);
    expect(YAML.parse(cm.data.artifactRepository)).toEqual({
      archiveLogs: true,
      s3: {
        endpoint: 'seaweedfs.kubeflow:9000', bucket: 'mlpipeline', region: 'us-east-1', insecure: true,
        keyFormat: 'private-artifacts/{{workflow.namespace}}/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/{{workflow.creationTimestamp.m}}/'
          + '{{workflow.creationTimestamp.d}}/{{pod.name}}',
        accessKeySecret: { name: 'mlpipeline-minio-artifact', key: 'accesskey' },
        secretKeySecret: { name: 'mlpipeline-minio-artifact', key: 'secretkey' },
      },
    });
    expect(YAML.parse(cm.data.executor)).toEqual({
      imagePullPolicy: 'IfNotPresent',
      resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '512Mi' } },
      securityContext: {
        runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      },
    });
    expect(YAML.parse(cm.data.workflowDefaults)).toEqual({
      spec: {
        ttlStrategy: { secondsAfterCompletion: 3600, secondsAfterSuccess: 3600, secondsAfterFailure: 3600 },
        templateDefaults: { retryStrategy: { limit: '2', retryPolicy: 'OnError' } },
      },
    });
    expect(YAML.parse(cm.data.artifactRepository)).toEqual(argo.config.artifactRepository);
  });

  test('no secret values anywhere: no Secret objects, no key material in the configuration', () => {
    const mine = s.objects.filter((o) => o.source?.includes('/Argo/') || o.source?.includes('/Crds/'));
    expect(mine.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
    const text = JSON.stringify(mine.map((o) => o.manifest));
    expect(text).not.toMatch(/minio123|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
  });

  test('network: the controller reaches the API server; run pods reach the store, the API server, ml-pipeline and ML Metadata', () => {
    const policies = s.objects.filter((o) => o.manifest.kind === 'NetworkPolicy').map((o) => o.manifest as NetworkPolicy);
    const named = (name: string) => policies.find((p) => p.metadata.name === name);
    expect(named('workflow-controller-to-kube-apiserver')?.spec.podSelector).toEqual({ matchLabels: argo.peer.podLabels });
    expect(argo.runsPeer.podLabels).toEqual({ 'pipelines.kubeflow.org/v2_component': 'true' });
    const runs = { matchLabels: { 'pipelines.kubeflow.org/v2_component': 'true' } };
    expect(named('pipeline-runs-to-kube-apiserver')?.spec.podSelector).toEqual(runs);
    const egressPorts = (name: string) => named(name)?.spec.egress?.flatMap((r) => r.ports.map((p) => p.port));
    expect(egressPorts('pipeline-runs-to-seaweedfs')).toEqual([8333]);
    expect(named('seaweedfs-from-pipeline-runs')?.spec.ingress?.[0].from).toEqual([{ podSelector: runs }]);
    expect(egressPorts('pipeline-runs-to-ml-pipeline')).toEqual([8887]);
    expect(named('ml-pipeline-from-pipeline-runs')?.spec.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/component': 'pipelines', 'app.kubernetes.io/name': 'ml-pipeline' },
    });
    expect(egressPorts('pipeline-runs-to-metadata-grpc-deployment')).toEqual([8080]);
    // The controller opens nothing else (its metrics port is not scraped by anything kfkit installs).
    expect(policies.filter((p) => p.metadata.name.startsWith('workflow-controller')).map((p) => p.metadata.name)).toEqual(['workflow-controller-to-kube-apiserver']);
  });

  test('allowRunsTo opens more connections for run pods', () => {
    const { s: more } = build({
      extra: (_chart, a) => {
        a.allowRunsTo({ peerName: 'my-db', namespace: 'data', podLabels: { app: 'my-db' } }, [{ port: 5432 }]);
      },
    });
    expect(more.objects.some((o) => o.manifest.kind === 'NetworkPolicy' && o.manifest.metadata.name === 'pipeline-runs-to-my-db')).toBe(true);
  });
});

describe('Argo workflow controller with other stores and modes', () => {
  const repository = (s: Synthesized): ArgoArtifactRepository =>
    YAML.parse((find(s.objects, 'ConfigMap', 'workflow-controller-configmap') as K8sObject & { data: Record<string, string> }).data.artifactRepository) as ArgoArtifactRepository;

  test('IRSA: useSDKCreds and no key references; the role on pipeline-runner', () => {
    const { s } = build({ store: 'irsa' });
    expect(repository(s)).toEqual({
      archiveLogs: true,
      s3: {
        endpoint: 's3.eu-west-1.amazonaws.com', bucket: 'kfp-artifacts', region: 'eu-west-1', insecure: false, useSDKCreds: true,
        keyFormat: expect.stringMatching(/^private-artifacts\//) as unknown,
      },
    });
    expect(find(s.objects, 'ServiceAccount', 'pipeline-runner').metadata.annotations?.['eks.amazonaws.com/role-arn'])
      .toBe('arn:aws:iam::123456789012:role/kubeflow-pipelines');
    expect(validate(s)).toEqual([]);
  });

  test('static keys of an external store: references to its Secret and keys', () => {
    const { s } = build({ store: 'secret' });
    expect(repository(s).s3).toEqual(expect.objectContaining({
      endpoint: 'minio.storage.example:9000', bucket: 'kfp', insecure: true,
      accessKeySecret: { name: 'minio-keys', key: 'id' }, secretKeySecret: { name: 'minio-keys', key: 'key' },
    }));
    expect(repository(s).s3.useSDKCreds).toBeUndefined();
    expect(validate(s)).toEqual([]);
  });

  test('GKE Workload Identity is refused with the fix', () => {
    expect(() => build({ store: 'workload-identity' })).toThrow(/cannot use GKE Workload Identity.*HMAC keys in a Secret/);
  });

  test('resources are configurable', () => {
    const { s } = build({
      argo: {
        resources: { cpu: { request: '200m', limit: '1' }, memory: { request: '1Gi', limit: '2Gi' } },
        executorResources: { cpu: { request: '50m' }, memory: { request: '128Mi', limit: '256Mi' } },
      },
    });
    const d = find(s.objects, 'Deployment', 'workflow-controller') as Workload;
    expect(d.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: '200m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } });
    const cm = find(s.objects, 'ConfigMap', 'workflow-controller-configmap') as K8sObject & { data: Record<string, string> };
    expect(YAML.parse(cm.data.executor).resources).toEqual({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } });
  });
});
