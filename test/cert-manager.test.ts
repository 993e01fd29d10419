import { PlatformConfig } from '../lib/config/schema';
import { applyPlan } from '../lib/synth/apply';
import { Synthesized } from '../lib/synth/collect';
import { checkPlatform, synthesize } from '../lib/synth/index';
import { validate } from '../lib/validate/harness';
import { K8sObject, PlacedObject, PROVIDES_ANNOTATION } from '../lib/validate/types';
import { configIssuePaths, localConfig } from './helpers';

type Webhook = K8sObject & { webhooks: Record<string, unknown>[] };
type CertificateObject = K8sObject & { spec: { secretName: string; dnsNames: string[]; issuerRef: { kind: string; name: string }; isCA?: boolean } };
type Workload = K8sObject & { spec: { template: { spec: { containers: { name: string; args?: string[] }[] } } } };

const external = (extra: Record<string, unknown> = {}): PlatformConfig => localConfig({ certManager: { mode: 'external', ...extra } });

const find = (s: Synthesized, kind: string, name: string): PlacedObject | undefined =>
  s.objects.find((o) => o.manifest.kind === kind && o.manifest.metadata.name === name);
const get = (s: Synthesized, kind: string, name: string): PlacedObject => {
  const found = find(s, kind, name);
  if (!found) throw new Error(`${kind} ${name} not in the output`);
  return found;
};
const deployerObjects = (s: Synthesized): string[] =>
  s.objects.filter((o) => /cache-deployer/.test(o.manifest.metadata.name)).map((o) => `${o.manifest.kind}/${o.manifest.metadata.name}`);
const ofGroup = (s: Synthesized, group: string): PlacedObject[] => s.objects.filter((o) => o.manifest.apiVersion.startsWith(`${group}/`));
const cacheServerArgs = (s: Synthesized): string[] =>
  (get(s, 'Deployment', 'cache-server').manifest as Workload).spec.template.spec.containers[0].args ?? [];

describe('cert-manager: none (default)', () => {
  const config = localConfig();
  const s = synthesize(config);

  test('defaults: mode none, version 1.19, no issuer', () => {
    expect(config.certManager).toEqual({ mode: 'none', version: '1.19' });
  });

  test('the cache deployer issues the certificate, as before; no cert-manager object or API', () => {
    expect(deployerObjects(s).sort()).toEqual([
      'ClusterRole/kubeflow-pipelines-cache-deployer-clusterrole',
      'ClusterRoleBinding/kubeflow-pipelines-cache-deployer-clusterrolebinding',
      'Deployment/cache-deployer-deployment',
      'NetworkPolicy/cache-deployer-deployment-to-kube-apiserver',
      'Role/kubeflow-pipelines-cache-deployer-role',
      'RoleBinding/kubeflow-pipelines-cache-deployer-rolebinding',
      'ServiceAccount/kubeflow-pipelines-cache-deployer-sa',
    ]);
    expect(get(s, 'Deployment', 'cache-deployer-deployment').manifest.metadata.annotations?.[PROVIDES_ANNOTATION])
      .toBe('Secret/kubeflow/webhook-server-tls,MutatingWebhookConfiguration/cache-webhook-kubeflow');
    expect(get(s, 'Deployment', 'cache-deployer-deployment').waveName).toBe('certificates');
    expect(find(s, 'MutatingWebhookConfiguration', 'cache-webhook-kubeflow')).toBeUndefined();
    expect(ofGroup(s, 'cert-manager.io')).toEqual([]);
    expect(s.externalApis.filter((a) => a.group === 'cert-manager.io')).toEqual([]);
    expect(cacheServerArgs(s).some((a) => a.startsWith('--tls_'))).toBe(false);
  });
});

describe('cert-manager: external', () => {
  const config = external();
  const s = synthesize(config);

  test('declares Certificate, Issuer and ClusterIssuer external, at the configured minimum version', () => {
    const declared = s.externalApis.filter((a) => a.group === 'cert-manager.io');
    expect([...declared].sort((a, b) => a.kind.localeCompare(b.kind))).toEqual(['Certificate', 'ClusterIssuer', 'Issuer'].map((kind) => ({
      group: 'cert-manager.io', kind, versions: ['v1'], providedBy: 'cert-manager >= 1.19 (installed by the cluster admins)',
    })));
    expect(s.objects.filter((o) => o.manifest.kind === 'CustomResourceDefinition' && /cert-manager/.test(o.manifest.metadata.name))).toEqual([]);
    const newer = synthesize(external({ version: '1.20.1' }));
    expect(newer.externalApis.find((a) => a.kind === 'Certificate')?.providedBy).toBe('cert-manager >= 1.20.1 (installed by the cluster admins)');
  });

  test('no cache deployer, its ServiceAccount, RBAC, network policy or CSR rights', () => {
    expect(deployerObjects(s)).toEqual([]);
    const csrRights = s.objects.filter((o) => JSON.stringify(o.manifest).includes('certificatesigningrequests'));
    expect(csrRights).toEqual([]);
    expect(s.objects.filter((o) => JSON.stringify(o.manifest).includes('kubelet-serving'))).toEqual([]);
  });

  test('a self-signed Issuer and the Certificate issuing webhook-server-tls, in the certificates wave', () => {
    const issuer = get(s, 'Issuer', 'kfp-cache-selfsigned-issuer');
    expect(issuer.manifest).toMatchObject({ apiVersion: 'cert-manager.io/v1', metadata: { namespace: 'kubeflow' }, spec: { selfSigned: {} } });
    const cert = get(s, 'Certificate', 'kfp-cache-cert');
    expect(cert.manifest.metadata.namespace).toBe('kubeflow');
    expect(cert.manifest.metadata.annotations?.[PROVIDES_ANNOTATION]).toBe('Secret/kubeflow/webhook-server-tls');
    expect((cert.manifest as CertificateObject).spec).toEqual({
      commonName: 'cache-server.kubeflow.svc',
      isCA: true,
      dnsNames: ['cache-server', 'cache-server.kubeflow', 'cache-server.kubeflow.svc'],
      issuerRef: { kind: 'Issuer', name: 'kfp-cache-selfsigned-issuer' },
      secretName: 'webhook-server-tls',
    });
    expect([issuer.waveName, cert.waveName]).toEqual(['certificates', 'certificates']);
  });

  test('the MutatingWebhookConfiguration kfkit writes: what the deployer registers, CA injected by cert-manager, beside cache-server', () => {
    const webhook = get(s, 'MutatingWebhookConfiguration', 'cache-webhook-kubeflow');
    expect(webhook.manifest.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe('kubeflow/kfp-cache-cert');
    expect((webhook.manifest as Webhook).webhooks).toEqual([{
      name: 'cache-server.kubeflow.svc',
      clientConfig: { service: { name: 'cache-server', namespace: 'kubeflow', path: '/mutate' } },
      failurePolicy: 'Ignore',
      rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
      sideEffects: 'None',
      timeoutSeconds: 5,
      objectSelector: { matchLabels: { 'pipelines.kubeflow.org/cache_enabled': 'true' } },
      admissionReviewVersions: ['v1beta1'],
    }]);
    const server = get(s, 'Deployment', 'cache-server');
    expect(webhook.waveName).toBe('controllers');
    expect(server.waveName).toBe('controllers');
    expect(get(s, 'Certificate', 'kfp-cache-cert').wave).toBeLessThan(server.wave);
    expect(cacheServerArgs(s).slice(-2)).toEqual(['--tls_cert_filename=tls.crt', '--tls_key_filename=tls.key']);
  });

  test('kfkit apply waits for the Certificate to be Ready before cache-server\'s rollout', () => {
    const steps = applyPlan(s.waves, { dir: 'dist/local', timeoutSeconds: 300 }).map((x) => x.description);
    const certReady = steps.findIndex((d) => /wait for Ready of Certificate kubeflow\/kfp-cache-cert$/.test(d));
    const issuerReady = steps.findIndex((d) => /wait for Ready of Issuer kubeflow\/kfp-cache-selfsigned-issuer$/.test(d));
    const rollout = steps.findIndex((d) => /wait for rollout of Deployment kubeflow\/cache-server$/.test(d));
    const certificatesWave = s.waves.find((w) => w.name === 'certificates');
    expect(certificatesWave).toBeDefined();
    expect(steps[certReady]).toMatch(new RegExp(`^wave ${certificatesWave?.index ?? -1} \\(certificates\\)`));
    expect(certReady).toBeGreaterThan(-1);
    expect(issuerReady).toBeGreaterThan(-1);
    expect(rollout).toBeGreaterThan(certReady);
  });

  test('the platform is valid: harness (crd, references, provider and webhook order) and fidelity', () => {
    expect(checkPlatform(s, config)).toEqual([]);
  });

  test('negative: the Certificate beside cache-server, or the webhook\'s Certificate missing, is a harness finding', () => {
    const cert = get(s, 'Certificate', 'kfp-cache-cert');
    const server = get(s, 'Deployment', 'cache-server');
    const sameWave = s.objects.map((o) => (o === cert ? { ...o, wave: server.wave, waveName: server.waveName } : o));
    expect(validate({ ...s, objects: sameWave })).toEqual([expect.objectContaining({
      rule: 'provider-order', object: 'Deployment/kubeflow/cache-server', message: expect.stringMatching(/Secret kubeflow\/webhook-server-tls is provided by/) as unknown,
    })]);
    const rules = validate({ ...s, objects: s.objects.filter((o) => o !== cert) }).map((f) => `${f.rule} ${f.object}`);
    expect(rules).toEqual(expect.arrayContaining(['dangling-reference MutatingWebhookConfiguration/cache-webhook-kubeflow']));
  });

  test('an issuer from the configuration (a ClusterIssuer) signs the certificate; kfkit creates no Issuer', () => {
    const named = external({ issuer: { kind: 'ClusterIssuer', name: 'corp-ca' } });
    const t = synthesize(named);
    expect(t.objects.filter((o) => ['Issuer', 'ClusterIssuer'].includes(o.manifest.kind))).toEqual([]);
    const spec = (get(t, 'Certificate', 'kfp-cache-cert').manifest as CertificateObject).spec;
    expect(spec.issuerRef).toEqual({ kind: 'ClusterIssuer', name: 'corp-ca' });
    // Only a self-signed certificate is its own CA; one from a CA issuer is a plain serving certificate.
    expect(spec.isCA).toBeUndefined();
    expect(checkPlatform(t, named)).toEqual([]);
  });

  test('configuration errors name the field', () => {
    expect(configIssuePaths(() => external({ issuer: { kind: 'Vault', name: 'x' } }))).toEqual(['certManager.issuer.kind']);
    expect(configIssuePaths(() => external({ issuer: { kind: 'ClusterIssuer', name: 'Corp_CA' } }))).toEqual(['certManager.issuer.name']);
    expect(configIssuePaths(() => external({ issuer: { kind: 'Issuer' } }))).toEqual(['certManager.issuer.name']);
    expect(configIssuePaths(() => external({ version: '1.18' }))).toEqual(['certManager.version']);
    expect(configIssuePaths(() => external({ version: 'latest' }))).toEqual(['certManager.version']);
    expect(configIssuePaths(() => localConfig({ certManager: { mode: 'internal' } }))).toEqual(['certManager.mode']);
    expect(configIssuePaths(() => localConfig({ certManager: { issuer: { kind: 'Issuer', name: 'x' } } }))).toEqual(['certManager.issuer']);
  });

  test('PostgreSQL: no cache, so no cert-manager object and no deployer at all', () => {
    const pg = localConfig({ certManager: { mode: 'external' }, database: { type: 'in-cluster', engine: 'postgresql' } });
    const t = synthesize(pg);
    expect(t.objects.filter((o) => /cache/.test(o.manifest.metadata.name))).toEqual([]);
    expect(ofGroup(t, 'cert-manager.io')).toEqual([]);
    expect(t.objects.filter((o) => o.manifest.kind === 'MutatingWebhookConfiguration' && /cache/.test(o.manifest.metadata.name))).toEqual([]);
  });
});
