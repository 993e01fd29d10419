import { ApiObject, App, Chart } from 'cdk8s';
import {
  AwsLoadBalancerController, AwsLoadBalancerControllerProps, CLUSTER_ADDONS_WAVE, clusterAddonsWave, ClusterAutoscaler, ClusterAutoscalerProps,
  LOAD_BALANCER_CONTROLLER_WEBHOOKS, nlbServiceAnnotations,
} from '../lib/components/cluster-addons';
import { declareExternalCertManager } from '../lib/core/cert-manager';
import { CHARTS } from '../lib/core/charts';
import { KfkitContext } from '../lib/core/context';
import { HelmDelivery } from '../lib/core/helm';
import { IMAGES, ImageCatalog } from '../lib/core/images';
import { PlatformNamespace } from '../lib/core/namespace';
import { collect, Synthesized } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject, PROVIDES_ANNOTATION } from '../lib/validate/types';
import { configIssuePaths, localConfig } from './helpers';

const ROLE = (name: string) => `arn:aws:iam::123456789012:role/kfkit-dev-${name}`;
const AWS = { clusterName: 'kfkit-dev', region: 'eu-west-1' };
const CA: ClusterAutoscalerProps = { ...AWS, roleArn: ROLE('cluster-autoscaler') };
const LBC: AwsLoadBalancerControllerProps = { ...AWS, roleArn: ROLE('lb-controller'), vpcId: 'vpc-0a1b2c3d4e5f60789' };

interface Options {
  readonly delivery?: HelmDelivery;
  readonly images?: ImageCatalog;
}

/** A tree with a context, the objects `build` adds, collected. */
function tree(build: (chart: Chart, ctx: KfkitContext) => void, options: Options = {}): Synthesized {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  const ctx = KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'], helmDelivery: options.delivery, images: options.images });
  build(chart, ctx);
  return collect(chart);
}

function find(s: Synthesized, kind: string, name: string): PlacedObject {
  const found = s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

/** The chart values of a release's Flux HelmRelease. */
function values(s: Synthesized, release: string): Record<string, unknown> {
  return (find(s, 'HelmRelease', release).manifest.spec as { values: Record<string, unknown> }).values;
}

/** The Kubeflow gateway's Service, fronted by an NLB (a stand-in: no selector, the gateway's pods are not part of these trees). */
function gatewayService(chart: Chart): ApiObject {
  new PlatformNamespace(chart, 'IstioNs', { name: 'istio-system', podSecurity: 'privileged' });
  return new ApiObject(chart, 'Gateway', {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: 'istio-ingressgateway', namespace: 'istio-system', annotations: nlbServiceAnnotations({ scheme: 'internet-facing' }) },
    spec: { type: 'LoadBalancer', ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
  });
}

describe('cluster add-ons delivered by Flux', () => {
  const s = tree((chart) => {
    new ClusterAutoscaler(chart, 'ClusterAutoscaler', CA);
    new AwsLoadBalancerController(chart, 'LoadBalancerController', LBC);
    gatewayService(chart);
  });

  test('both charts, pinned from the catalog, into kube-system, in the cluster-addons wave after the namespaces and before cluster', () => {
    for (const [release, key] of [['cluster-autoscaler', 'cluster-autoscaler'], ['aws-load-balancer-controller', 'aws-load-balancer-controller']] as const) {
      const placed = find(s, 'HelmRelease', release);
      expect(placed.waveName).toBe(CLUSTER_ADDONS_WAVE);
      expect(placed.manifest.spec).toMatchObject({
        releaseName: release, targetNamespace: 'kube-system', storageNamespace: 'kube-system',
        chart: { spec: { chart: CHARTS[key].chart, version: CHARTS[key].version, sourceRef: { kind: 'HelmRepository', name: CHARTS[key].repositoryName } } },
      });
    }
    const order = s.waves.map((w) => w.name);
    expect(order.indexOf(CLUSTER_ADDONS_WAVE)).toBeGreaterThan(order.indexOf('namespaces'));
    expect(order.indexOf(CLUSTER_ADDONS_WAVE)).toBeLessThan(order.indexOf('controllers'));
    // The gateway Service (type LoadBalancer) comes after the controller that provisions its NLB.
    expect(find(s, 'Service', 'istio-ingressgateway').wave).toBeGreaterThan(find(s, 'HelmRelease', 'aws-load-balancer-controller').wave);
    expect(s.objects.filter((o) => o.manifest.kind === 'HelmRepository').map((o) => [o.manifest.metadata.name, (o.manifest.spec as { url: string }).url]))
      .toEqual([['autoscaler', 'https://kubernetes.github.io/autoscaler'], ['eks', 'https://aws.github.io/eks-charts']]);
  });

  test('validates: kube-system is declared external, the controller provides its CRDs and webhooks', () => {
    expect(validate(s)).toEqual([]);
    expect(s.externalObjects).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'Namespace', name: 'kube-system' })]));
    const installer = 'HelmRelease/flux-system/aws-load-balancer-controller';
    expect(s.externalApis.filter((a) => a.group === 'elbv2.k8s.aws').map((a) => [a.kind, a.versions, a.installedBy])).toEqual([
      ['ALBTargetControlConfig', ['v1beta1'], installer], ['IngressClassParams', ['v1beta1'], installer], ['TargetGroupBinding', ['v1beta1'], installer],
    ]);
    expect(find(s, 'HelmRelease', 'aws-load-balancer-controller').manifest.metadata.annotations?.[PROVIDES_ANNOTATION])
      .toBe([...LOAD_BALANCER_CONTROLLER_WEBHOOKS].sort().join(','));
  });

  test('cluster-autoscaler: auto-discovery of the cluster\'s groups, IRSA ServiceAccount, flags, budget, restricted security context', () => {
    const v = values(s, 'cluster-autoscaler');
    expect(v).toMatchObject({
      cloudProvider: 'aws',
      awsRegion: 'eu-west-1',
      autoDiscovery: { clusterName: 'kfkit-dev', tags: ['k8s.io/cluster-autoscaler/enabled', 'k8s.io/cluster-autoscaler/kfkit-dev'] },
      fullnameOverride: 'cluster-autoscaler',
      image: { repository: IMAGES['cluster-autoscaler'].repository, tag: IMAGES['cluster-autoscaler'].tag },
      rbac: { serviceAccount: { create: true, name: 'cluster-autoscaler', annotations: { 'eks.amazonaws.com/role-arn': ROLE('cluster-autoscaler') } } },
      extraArgs: {
        'balance-similar-node-groups': true, 'expander': 'least-waste', 'skip-nodes-with-local-storage': false,
        'scale-down-enabled': true, 'scale-down-unneeded-time': '10m', 'scale-down-delay-after-add': '10m', 'scale-down-utilization-threshold': 0.5,
      },
      podAnnotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
      resources: { requests: { cpu: '100m', memory: '600Mi' }, limits: { memory: '600Mi' } },
      securityContext: { runAsNonRoot: true, runAsUser: 65534, seccompProfile: { type: 'RuntimeDefault' } },
      containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
    });
    expect(v).not.toHaveProperty('expanderPriorities');
    // The chart's default image tag is the one the catalog pins: chart and app agree.
    expect(CHARTS['cluster-autoscaler'].upstream).toContain(IMAGES['cluster-autoscaler'].tag.replace(/^v/, ''));
  });

  test('load balancer controller: cluster, region, VPC, two replicas, IRSA, ALB-only integrations off, Service webhook off', () => {
    expect(values(s, 'aws-load-balancer-controller')).toMatchObject({
      clusterName: 'kfkit-dev', region: 'eu-west-1', vpcId: 'vpc-0a1b2c3d4e5f60789', replicaCount: 2,
      image: { repository: IMAGES['aws-load-balancer-controller'].repository, tag: IMAGES['aws-load-balancer-controller'].tag },
      serviceAccount: { create: true, name: 'aws-load-balancer-controller', annotations: { 'eks.amazonaws.com/role-arn': ROLE('lb-controller') } },
      resources: { requests: { cpu: '100m', memory: '200Mi' }, limits: { memory: '500Mi' } },
      podDisruptionBudget: { maxUnavailable: 1 },
      podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      enableShield: false, enableWaf: false, enableWafv2: false, enableServiceMutatorWebhook: false, enableCertManager: false,
    });
    expect(CHARTS['aws-load-balancer-controller'].upstream).toContain(IMAGES['aws-load-balancer-controller'].tag);
  });

  test('images are listed for kfkit list-images', () => {
    expect(s.runtimeImages).toEqual([
      `${IMAGES['aws-load-balancer-controller'].repository}:${IMAGES['aws-load-balancer-controller'].tag}`,
      `${IMAGES['cluster-autoscaler'].repository}:${IMAGES['cluster-autoscaler'].tag}`,
    ]);
  });
});

describe('cluster add-ons: mirror, pull Secrets, Argo CD, priority expander', () => {
  const images = new ImageCatalog({ registryMirror: 'registry.corp.example/mirror', pullSecrets: ['regcred'] });
  const delivery: HelmDelivery = { type: 'argocd', namespace: 'argocd', project: 'platform' };
  const s = tree((chart) => {
    new ClusterAutoscaler(chart, 'ClusterAutoscaler', {
      ...CA, expander: 'priority', priorities: { 10: ['.*-gpu-a10g-.*'], 50: ['.*-nodes-.*'] }, scaleDown: { unneededTime: '5m', utilizationThreshold: 0.3 },
      resources: { cpu: { request: '50m' }, memory: { request: '300Mi', limit: '512Mi' } },
    });
    new AwsLoadBalancerController(chart, 'LoadBalancerController', { ...LBC, replicas: 3 });
  }, { images, delivery });
  const valuesOf = (release: string) =>
    (find(s, 'Application', release).manifest.spec as { source: { helm: { valuesObject: Record<string, unknown> } } }).source.helm.valuesObject;

  test('images through the mirror, with the pull Secret, which is declared external in kube-system', () => {
    expect(valuesOf('cluster-autoscaler').image).toEqual({
      repository: 'registry.corp.example/mirror/autoscaling/cluster-autoscaler', tag: IMAGES['cluster-autoscaler'].tag, pullSecrets: ['regcred'],
    });
    expect(valuesOf('aws-load-balancer-controller')).toMatchObject({
      image: { repository: 'registry.corp.example/mirror/eks/aws-load-balancer-controller', tag: IMAGES['aws-load-balancer-controller'].tag },
      imagePullSecrets: [{ name: 'regcred' }],
      replicaCount: 3,
    });
    expect(s.externalObjects).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'Secret', namespace: 'kube-system', name: 'regcred' })]));
    expect(validate(s)).toEqual([]);
  });

  test('Argo CD Applications into kube-system; priority expander with least-waste among equals', () => {
    expect(find(s, 'Application', 'cluster-autoscaler').manifest.spec).toMatchObject({
      source: { repoURL: CHARTS['cluster-autoscaler'].repository, chart: 'cluster-autoscaler', targetRevision: CHARTS['cluster-autoscaler'].version },
      destination: { namespace: 'kube-system' },
    });
    expect(valuesOf('cluster-autoscaler')).toMatchObject({
      extraArgs: { 'expander': 'priority,least-waste', 'scale-down-unneeded-time': '5m', 'scale-down-utilization-threshold': 0.3 },
      expanderPriorities: { 10: ['.*-gpu-a10g-.*'], 50: ['.*-nodes-.*'] },
      resources: { requests: { cpu: '50m', memory: '300Mi' }, limits: { memory: '512Mi' } },
    });
  });
});

describe('webhook certificates from cert-manager', () => {
  test('the chart\'s cert-manager mode, and the add-ons come after cert-manager\'s wave', () => {
    const s = tree((chart, ctx) => {
      const certManager = ctx.plan.addWave('cert-manager', { description: 'cert-manager', after: [ctx.plan.namespaces], before: [ctx.plan.cluster] });
      new ApiObject(chart, 'CertManagerStandIn', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stand-in', namespace: 'default' } });
      ctx.plan.assign(chart.node.findChild('CertManagerStandIn'), certManager);
      declareExternalCertManager(ctx, '1.19');
      new AwsLoadBalancerController(chart, 'LoadBalancerController', { ...LBC, webhookCertificates: 'cert-manager' });
    });
    expect(values(s, 'aws-load-balancer-controller').enableCertManager).toBe(true);
    const order = s.waves.map((w) => w.name);
    expect(order.indexOf(CLUSTER_ADDONS_WAVE)).toBeGreaterThan(order.indexOf('cert-manager'));
  });

  test('without cert-manager, or when the add-ons\' wave already came first, a clear error', () => {
    expect(() => tree((chart) => { new AwsLoadBalancerController(chart, 'L', { ...LBC, webhookCertificates: 'cert-manager' }); }))
      .toThrow(/webhookCertificates cert-manager needs cert-manager: declare it \(external\) or install it \(managed\) before this construct/);
    expect(() => tree((chart, ctx) => {
      new ClusterAutoscaler(chart, 'CA', CA);
      const late = ctx.plan.addWave('cert-manager', { description: 'cert-manager', after: [ctx.plan.find(CLUSTER_ADDONS_WAVE)!], before: [ctx.plan.cluster] });
      clusterAddonsWave(chart, [late]);
    })).toThrow(/the cluster-addons wave must come after the cert-manager wave; create what installs in cert-manager before the first cluster add-on/);
  });
});

describe('guards', () => {
  test('a TargetGroupBinding in the controller\'s own wave is a crd finding; in a later wave it validates', () => {
    const tgb = (chart: Chart) => new ApiObject(chart, 'Tgb', {
      apiVersion: 'elbv2.k8s.aws/v1beta1', kind: 'TargetGroupBinding', metadata: { name: 'gw', namespace: 'istio-system' },
      spec: { serviceRef: { name: 'istio-ingressgateway', port: 443 }, targetGroupARN: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/gw/0123' },
    });
    const early = tree((chart, ctx) => {
      new AwsLoadBalancerController(chart, 'L', LBC);
      gatewayService(chart);
      ctx.plan.assign(tgb(chart), clusterAddonsWave(chart));
    });
    expect(validate(early)).toEqual([expect.objectContaining({
      rule: 'crd', object: 'TargetGroupBinding/istio-system/gw',
      message: expect.stringMatching(/installed by HelmRelease\/flux-system\/aws-load-balancer-controller in wave \d+ \(cluster-addons\)/),
    })]);
    const later = tree((chart) => { new AwsLoadBalancerController(chart, 'L', LBC); gatewayService(chart); tgb(chart); });
    expect(validate(later)).toEqual([]);
  });

  test('props are checked: every problem named, with the fix', () => {
    const build = (f: (chart: Chart) => void) => () => tree(f);
    expect(build((c) => { new ClusterAutoscaler(c, 'CA', { clusterName: 'my cluster', region: 'Ireland', roleArn: 'role' }); }))
      .toThrow(/t\/CA: clusterName "my cluster" must be an EKS cluster name .*; region "Ireland" must be an AWS region .*; roleArn "role" must be an IAM role ARN/);
    expect(build((c) => { new ClusterAutoscaler(c, 'CA', { ...CA, expander: 'priority' }); }))
      .toThrow(/priorities are required with expander priority/);
    expect(build((c) => { new ClusterAutoscaler(c, 'CA', { ...CA, priorities: { 1: ['a'] } }); })).toThrow(/priorities apply only with expander priority/);
    expect(build((c) => { new ClusterAutoscaler(c, 'CA', { ...CA, expander: 'priority', priorities: { 1: ['(unclosed'] } }); }))
      .toThrow(/priority 1: "\(unclosed" is not a regular expression/);
    expect(build((c) => {
      new ClusterAutoscaler(c, 'CA', { ...CA, scaleDown: { unneededTime: '10 minutes', utilizationThreshold: 2 }, resources: { cpu: { request: 'lots' }, memory: { request: '1Gi', limit: '1Gi' } } });
    })).toThrow(/scaleDown\.unneededTime "10 minutes" must be a duration .*; scaleDown\.utilizationThreshold 2 must be between 0 and 1; .*resources\.cpu\.request "lots"/);
    expect(build((c) => { new AwsLoadBalancerController(c, 'L', { ...LBC, vpcId: 'vpc-XYZ', replicas: 0 }); }))
      .toThrow(/t\/L: vpcId "vpc-XYZ" must be a VPC id .*; replicas 0 must be a whole number from 1 to 5/);
  });
});

describe('NLB annotations for the gateway Service', () => {
  const P = 'service.beta.kubernetes.io';

  test('defaults: an internal NLB with IP targets, cross-zone, from the controller (type external)', () => {
    expect(nlbServiceAnnotations()).toEqual({
      [`${P}/aws-load-balancer-type`]: 'external',
      [`${P}/aws-load-balancer-nlb-target-type`]: 'ip',
      [`${P}/aws-load-balancer-scheme`]: 'internal',
      [`${P}/aws-load-balancer-attributes`]: 'load_balancing.cross_zone.enabled=true',
    });
  });

  test('internet-facing with client ranges (client IP preservation on, or the controller ignores them) and Istio\'s readiness check', () => {
    expect(nlbServiceAnnotations({
      scheme: 'internet-facing', sourceRanges: ['203.0.113.0/24', '198.51.100.7/32'], healthCheck: { port: 15021, path: '/healthz/ready' }, crossZone: false,
    })).toEqual({
      [`${P}/aws-load-balancer-type`]: 'external',
      [`${P}/aws-load-balancer-nlb-target-type`]: 'ip',
      [`${P}/aws-load-balancer-scheme`]: 'internet-facing',
      [`${P}/aws-load-balancer-attributes`]: 'load_balancing.cross_zone.enabled=false',
      [`${P}/load-balancer-source-ranges`]: '203.0.113.0/24,198.51.100.7/32',
      [`${P}/aws-load-balancer-target-group-attributes`]: 'preserve_client_ip.enabled=true',
      [`${P}/aws-load-balancer-healthcheck-protocol`]: 'http',
      [`${P}/aws-load-balancer-healthcheck-port`]: '15021',
      [`${P}/aws-load-balancer-healthcheck-path`]: '/healthz/ready',
    });
  });

  test('malformed options are refused, each named', () => {
    expect(() => nlbServiceAnnotations({ scheme: 'public' as 'internal', sourceRanges: ['10.0.0.0/33'], healthCheck: { port: 0, path: 'healthz' } }))
      .toThrow(/scheme "public" must be internal or internet-facing; sourceRanges: "10\.0\.0\.0\/33" must be an IPv4 CIDR.*; healthCheck\.port 0 .*; healthCheck\.path "healthz" must start with \//);
    expect(() => nlbServiceAnnotations({ sourceRanges: ['10.0.0.0/8'], preserveClientIp: false })).toThrow(/sourceRanges are ignored by the controller without client IP preservation/);
  });
});

describe('configuration', () => {
  const aws = (over: Record<string, unknown> = {}) => ({
    region: 'eu-west-1', clusterName: 'kfkit-dev', vpcId: 'vpc-0a1b2c3d4e5f60789',
    roles: { clusterAutoscaler: ROLE('cluster-autoscaler'), loadBalancerController: ROLE('lb-controller') }, ...over,
  });
  const on = { clusterAutoscaler: { enabled: true }, awsLoadBalancerController: { enabled: true } };

  test('defaults: both off; enabled with the cloud facts they need, valid', () => {
    const off = localConfig();
    expect(off.addons).toEqual({
      clusterAutoscaler: { enabled: false, expander: 'least-waste', scaleDown: { enabled: true, unneededTime: '10m', delayAfterAdd: '10m', utilizationThreshold: 0.5 } },
      awsLoadBalancerController: { enabled: false, replicas: 2, gatewayLoadBalancer: { scheme: 'internal', sourceRanges: [] } },
    });
    const config = localConfig({ addons: on, cloud: { aws: aws() } });
    expect(config.addons.clusterAutoscaler.enabled && config.addons.awsLoadBalancerController.enabled).toBe(true);
    expect(config.cloud.aws).toMatchObject({ clusterName: 'kfkit-dev', vpcId: 'vpc-0a1b2c3d4e5f60789' });
  });

  test('an enabled add-on names each missing cloud.aws field', () => {
    expect(configIssuePaths(() => localConfig({ addons: on }))).toEqual(['cloud.aws']);
    expect(configIssuePaths(() => localConfig({ addons: on, cloud: { aws: { region: 'eu-west-1' } } }))).toEqual([
      'cloud.aws.clusterName', 'cloud.aws.clusterName', 'cloud.aws.roles.clusterAutoscaler', 'cloud.aws.roles.loadBalancerController', 'cloud.aws.vpcId',
    ]);
    expect(() => localConfig({ addons: { clusterAutoscaler: { enabled: true } }, cloud: { aws: aws({ roles: {} }) } }))
      .toThrow(/cloud\.aws\.roles\.clusterAutoscaler: required when addons\.clusterAutoscaler\.enabled is true: the IRSA role of kube-system\/cluster-autoscaler/);
    expect(() => localConfig({ addons: { awsLoadBalancerController: { enabled: true } }, cloud: { aws: aws({ vpcId: undefined }) } }))
      .toThrow(/cloud\.aws\.vpcId: required when addons\.awsLoadBalancerController\.enabled is true/);
  });

  test('expander, priorities, scale-down and NLB settings are checked', () => {
    expect(configIssuePaths(() => localConfig({ addons: { clusterAutoscaler: { expander: 'priority' } } }))).toEqual(['addons.clusterAutoscaler.priorities']);
    expect(configIssuePaths(() => localConfig({ addons: { clusterAutoscaler: { priorities: { 10: ['a'] } } } }))).toEqual(['addons.clusterAutoscaler.priorities']);
    expect(configIssuePaths(() => localConfig({
      addons: {
        clusterAutoscaler: { expander: 'priority', priorities: { high: ['a'], 10: ['('] }, scaleDown: { unneededTime: 'soon', utilizationThreshold: 1.5 } },
        awsLoadBalancerController: { replicas: 0, gatewayLoadBalancer: { scheme: 'public', sourceRanges: ['10.0.0.0/40'] } },
      },
    })).sort()).toEqual([
      'addons.awsLoadBalancerController.gatewayLoadBalancer.scheme', 'addons.awsLoadBalancerController.gatewayLoadBalancer.sourceRanges[0]',
      'addons.awsLoadBalancerController.replicas', 'addons.clusterAutoscaler.priorities.10[0]', 'addons.clusterAutoscaler.priorities.high',
      'addons.clusterAutoscaler.scaleDown.unneededTime', 'addons.clusterAutoscaler.scaleDown.utilizationThreshold',
    ]);
  });

  test('the props the lead maps from the configuration build both add-ons, valid', () => {
    const config = localConfig({ addons: on, cloud: { aws: aws() } });
    const a = config.cloud.aws!;
    const ca = config.addons.clusterAutoscaler;
    const lbc = config.addons.awsLoadBalancerController;
    const s = tree((chart) => {
      new ClusterAutoscaler(chart, 'ClusterAutoscaler', {
        clusterName: a.clusterName!, region: a.region, roleArn: a.roles.clusterAutoscaler!,
        expander: ca.expander, priorities: ca.priorities, scaleDown: ca.scaleDown,
      });
      new AwsLoadBalancerController(chart, 'LoadBalancerController', {
        clusterName: a.clusterName!, region: a.region, vpcId: a.vpcId!, roleArn: a.roles.loadBalancerController!, replicas: lbc.replicas,
      });
    });
    expect(validate(s)).toEqual([]);
    const annotations = nlbServiceAnnotations({ scheme: lbc.gatewayLoadBalancer.scheme, sourceRanges: lbc.gatewayLoadBalancer.sourceRanges });
    expect(annotations['service.beta.kubernetes.io/aws-load-balancer-scheme']).toBe('internal');
    const objects: K8sObject[] = s.objects.map((o) => o.manifest);
    expect(objects.filter((o) => o.kind === 'HelmRelease').map((o) => o.metadata.name).sort()).toEqual(['aws-load-balancer-controller', 'cluster-autoscaler']);
  });
});
