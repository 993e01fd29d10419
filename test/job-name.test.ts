import { App, Chart, Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { SeaweedfsArtifactStore } from '../lib/components/seaweedfs';
import { KfkitContext } from '../lib/core/context';
import { GeneratedSecret, GeneratedSecretProps } from '../lib/core/generated-secret';
import { ImageCatalog } from '../lib/core/images';
import { canonicalJson, MAX_JOB_NAME_LENGTH, oneShotJobName } from '../lib/core/job-name';
import { applyPlan } from '../lib/synth/apply';
import { collect, Synthesized } from '../lib/synth/collect';
import { synthesize } from '../lib/synth/index';
import { K8sObject } from '../lib/validate/types';
import { localConfig } from './helpers';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const HASHED = (base: string) => new RegExp(`^${base}-[0-9a-f]{8}$`);

type Job = K8sObject & {
  spec: { template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: { image: string }[] } } };
};

const SPEC = {
  backoffLimit: 4,
  template: {
    metadata: { labels: { 'app.kubernetes.io/name': 'x-generator', 'app.kubernetes.io/component': 'db' } },
    spec: { restartPolicy: 'OnFailure', containers: [{ name: 'generate', image: 'docker.io/library/python:3.13', args: ['kf', 'x', '{}'] }] },
  },
};

describe('oneShotJobName', () => {
  test('<base>-<8 hex>, the same for the same spec, whatever the key order', () => {
    const name = oneShotJobName('x-generator', SPEC);
    expect(name).toMatch(HASHED('x-generator'));
    expect(oneShotJobName('x-generator', structuredClone(SPEC))).toBe(name);
    const reordered = {
      template: {
        spec: { containers: [{ args: ['kf', 'x', '{}'], image: 'docker.io/library/python:3.13', name: 'generate' }], restartPolicy: 'OnFailure' },
        metadata: { labels: { 'app.kubernetes.io/component': 'db', 'app.kubernetes.io/name': 'x-generator' } },
      },
      backoffLimit: 4,
    };
    expect(oneShotJobName('x-generator', reordered)).toBe(name);
    // Absent and undefined members are the same thing in the manifest, so in the name.
    expect(oneShotJobName('x-generator', { ...SPEC, completions: undefined })).toBe(name);
  });

  test('a changed spec gets another name: image, arguments, keys, order of a list', () => {
    const name = oneShotJobName('x-generator', SPEC);
    const container = SPEC.template.spec.containers[0];
    const withContainer = (c: Record<string, unknown>) => ({ ...SPEC, template: { ...SPEC.template, spec: { ...SPEC.template.spec, containers: [c] } } });
    const variants = [
      withContainer({ ...container, image: 'docker.io/library/python:3.14' }),
      withContainer({ ...container, args: ['kf', 'x', '{"keys":{}}'] }),
      withContainer({ ...container, command: ['python3'] }),
      withContainer({ ...container, args: ['x', 'kf', '{}'] }),
      { ...SPEC, backoffLimit: 5 },
      { ...SPEC, parallelism: 1 },
    ];
    const names = variants.map((v) => oneShotJobName('x-generator', v));
    for (const n of names) expect(n).toMatch(HASHED('x-generator'));
    expect(new Set([name, ...names]).size).toBe(variants.length + 1);
  });

  test('an image through a registry mirror of the ImageCatalog changes the name', () => {
    const spec = (images: ImageCatalog) => withImage(images.image('kfkit-python'));
    const withImage = (image: string) => ({ ...SPEC, template: { ...SPEC.template, spec: { ...SPEC.template.spec, containers: [{ name: 'generate', image }] } } });
    const upstream = oneShotJobName('x-generator', spec(new ImageCatalog()));
    expect(oneShotJobName('x-generator', spec(new ImageCatalog()))).toBe(upstream);
    expect(oneShotJobName('x-generator', spec(new ImageCatalog({ registryMirror: 'registry.corp.example/kubeflow' })))).not.toBe(upstream);
  });

  test('cdk8s values count as what they render to: Quantity, IntOrString, Lazy', () => {
    const plain = { resources: { requests: { cpu: '10m', memory: 32 } }, port: 8333, image: 'a:1' };
    const tokens = {
      resources: { requests: { cpu: k8s.Quantity.fromString('10m'), memory: k8s.Quantity.fromNumber(32) } },
      port: k8s.IntOrString.fromNumber(8333),
      image: Lazy.any({ produce: () => 'a:1' }) as string,
    };
    expect(canonicalJson(tokens)).toBe(canonicalJson(plain));
    expect(oneShotJobName('j', tokens)).toBe(oneShotJobName('j', plain));
    expect(oneShotJobName('j', { ...tokens, image: Lazy.any({ produce: () => 'a:2' }) as string })).not.toBe(oneShotJobName('j', plain));
    expect(canonicalJson({ b: [1, undefined, 'x'], a: { d: null, c: true } })).toBe('{"a":{"c":true},"b":[1,null,"x"]}');
  });

  test('values without a deterministic JSON form are refused', () => {
    expect(() => oneShotJobName('j', { a: () => 1 })).toThrow(/\$\.a: a function has no JSON form/);
    expect(() => oneShotJobName('j', { a: [new Date(0)] })).toThrow(/\$\.a\[0\]: an instance of Date has no canonical JSON form/);
    expect(() => oneShotJobName('j', { a: Number.NaN })).toThrow(/NaN has no JSON form/);
    expect(() => oneShotJobName('j', { a: 1n })).toThrow(/bigint/);
  });

  test('the base must be a DNS label', () => {
    for (const base of ['', 'Upper', 'a_b', 'a.b', '-a', 'a-']) expect(() => oneShotJobName(base, SPEC)).toThrow(/must be a DNS label/);
  });

  test('a long base is shortened: the name stays a DNS label of at most 63 characters', () => {
    expect(MAX_JOB_NAME_LENGTH).toBe(63);
    const fits = 'a'.repeat(54);
    expect(oneShotJobName(fits, SPEC)).toMatch(HASHED(fits));
    expect(oneShotJobName(fits, SPEC)).toHaveLength(63);
    for (const base of ['b'.repeat(80), `${'c'.repeat(53)}-dddd`, `${'e'.repeat(50)}----ffff`, 'a-very-long-secret-name-for-the-metadata-database-generator']) {
      const name = oneShotJobName(base, SPEC);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(DNS_LABEL);
      expect(name).not.toMatch(/--/);
      expect(name).toMatch(/-[0-9a-f]{8}$/);
      expect(base.startsWith(name.slice(0, -9))).toBe(true);
    }
    expect(oneShotJobName(`${'c'.repeat(53)}-dddd`, SPEC)).toMatch(new RegExp(`^${'c'.repeat(53)}-[0-9a-f]{8}$`));
    // Two long bases differing only past the cut still differ when their specs do (and only then).
    expect(oneShotJobName('b'.repeat(80), SPEC)).toBe(oneShotJobName(`${'b'.repeat(70)}x`, SPEC));
  });
});

describe('one-shot Jobs of the constructs', () => {
  function generated(props: Partial<GeneratedSecretProps> = {}, images?: ImageCatalog): { secret: GeneratedSecret; s: Synthesized } {
    const chart = new Chart(new App(), 't', { disableResourceNameHashes: true });
    KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'], images });
    new k8s.KubeNamespace(chart, 'Ns', { metadata: { name: 'kf' } });
    const secret = new GeneratedSecret(chart, 'S', {
      name: 'db-secret', namespace: 'kf', identity: { name: 'db', component: 'db' }, keys: { password: { randomBytes: 16 } }, ...props,
    });
    return { secret, s: collect(chart) };
  }
  const job = (s: Synthesized, name: string) => s.objects.find((o) => o.manifest.kind === 'Job' && o.manifest.metadata.name === name)?.manifest as Job | undefined;

  test('GeneratedSecret: the Job is named after its spec, exposed as jobName; RBAC keeps the stable name', () => {
    const { secret, s } = generated();
    expect(secret.jobName).toMatch(HASHED('db-secret-generator'));
    expect(secret.generatorName).toBe('db-secret-generator');
    const manifest = job(s, secret.jobName);
    expect(manifest).toBeDefined();
    // The name is the hash of the emitted spec, so anyone can check it against the manifest.
    expect(oneShotJobName('db-secret-generator', manifest?.spec)).toBe(secret.jobName);
    expect(manifest?.spec.template.spec.serviceAccountName).toBe('db-secret-generator');
    expect(manifest?.metadata.labels?.['app.kubernetes.io/name']).toBe('db-secret-generator');
    for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) {
      expect(s.objects.filter((o) => o.manifest.kind === kind).map((o) => o.manifest.metadata.name)).toEqual(['db-secret-generator']);
    }
    // Provides annotation and apply wait follow the new name.
    expect(manifest?.metadata.annotations?.['kfkit.dev/provides']).toBe('Secret/kf/db-secret');
    expect(applyPlan(s.waves, { dir: 'd', timeoutSeconds: 60 }).map((x) => x.argv.join(' ')))
      .toContain(`kubectl wait -n kf --for=condition=Complete job/${secret.jobName} --timeout=60s`);
  });

  test('GeneratedSecret: same inputs, same name; other keys, shared Secrets or image, another name', () => {
    const base = generated().secret.jobName;
    expect(generated().secret.jobName).toBe(base);
    expect(generated({ keys: { password: { randomBytes: 32 } } }).secret.jobName).not.toBe(base);
    expect(generated({ keys: { password: { randomBytes: 16 }, username: { literal: 'root' } } }).secret.jobName).not.toBe(base);
    expect(generated({ sharedWith: [{ name: 'db-root', keys: { root_password: 'password' } }] }).secret.jobName).not.toBe(base);
    expect(generated({}, new ImageCatalog({ registryMirror: 'registry.corp.example' })).secret.jobName).not.toBe(base);
    expect(generated({}, new ImageCatalog({ pullSecrets: ['regcred'] })).secret.jobName).not.toBe(base);
  });

  test('SeaweedFS: the bucket Job is named after its spec, exposed as bucketJobName', () => {
    const build = (bucket?: string) => {
      const chart = new Chart(new App(), 't', { disableResourceNameHashes: true });
      KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
      const store = new SeaweedfsArtifactStore(chart, 'Store', { namespace: 'kubeflow', bucket });
      return { store, s: collect(chart) };
    };
    const { store, s } = build();
    expect(store.bucketJobName).toMatch(HASHED('seaweedfs-create-bucket'));
    const manifest = job(s, store.bucketJobName);
    expect(oneShotJobName('seaweedfs-create-bucket', manifest?.spec)).toBe(store.bucketJobName);
    expect(manifest?.spec.template.spec.serviceAccountName).toBe('seaweedfs-create-bucket');
    expect(s.objects.filter((o) => o.manifest.kind === 'ServiceAccount').map((o) => o.manifest.metadata.name)).toContain('seaweedfs-create-bucket');
    expect(build().store.bucketJobName).toBe(store.bucketJobName);
    expect(build('artifacts').store.bucketJobName).not.toBe(store.bucketJobName);
  });
});

describe('end to end: the local stack', () => {
  const jobs = (s: Synthesized) => s.objects.filter((o) => o.manifest.kind === 'Job').map((o) => o.manifest as Job);
  const names = (s: Synthesized, kind: string) => s.objects.filter((o) => o.manifest.kind === kind).map((o) => o.manifest.metadata.name).sort();
  const upstream = synthesize(localConfig());
  const mirrored = synthesize(localConfig({ images: { registryMirror: 'registry.corp.example/kubeflow' } }));

  test('every Job is a one-shot Job named after its emitted spec', () => {
    const list = jobs(upstream);
    expect(list.map((j) => j.metadata.name).sort()).toEqual([
      ...['backup', 'cache', 'metadata', 'pipelines'].map((c): unknown => expect.stringMatching(HASHED(`metadata-db-${c}-generator`))),
      expect.stringMatching(HASHED('ml-pipeline-ui-proxy-signing-generator')),
      expect.stringMatching(HASHED('mlpipeline-minio-artifact-generator')),
      expect.stringMatching(HASHED('mysql-secret-generator')),
      expect.stringMatching(HASHED('mysql-users')),
      expect.stringMatching(HASHED('seaweedfs-create-bucket')),
    ]);
    for (const j of list) {
      expect(j.metadata.name.length).toBeLessThanOrEqual(63);
      // Named after the pods' name label (the generators' ServiceAccount, the users Job's own name).
      expect(oneShotJobName(j.spec.template.metadata.labels['app.kubernetes.io/name'], j.spec)).toBe(j.metadata.name);
    }
  });

  test('another registry mirror: new Job names; ServiceAccounts, Roles and RoleBindings unchanged', () => {
    const before = jobs(upstream);
    const after = jobs(mirrored);
    expect(after.flatMap((j) => j.spec.template.spec.containers.map((c) => c.image)).every((i) => i.startsWith('registry.corp.example/kubeflow/'))).toBe(true);
    expect(after.map((j) => j.spec.template.spec.serviceAccountName)).toEqual(before.map((j) => j.spec.template.spec.serviceAccountName));
    for (const [i, j] of after.entries()) {
      expect(j.metadata.name).not.toBe(before[i].metadata.name);
      expect(j.metadata.name).toMatch(HASHED(j.spec.template.metadata.labels['app.kubernetes.io/name']));
    }
    for (const kind of ['ServiceAccount', 'Role', 'RoleBinding']) expect(names(mirrored, kind)).toEqual(names(upstream, kind));
    expect(names(upstream, 'ServiceAccount')).toEqual(expect.arrayContaining(['mlpipeline-minio-artifact-generator', 'mysql-secret-generator', 'seaweedfs-create-bucket']));
    // The apply waits follow: each wave waits for the Jobs it now holds.
    const waits = (s: Synthesized) => s.waves.flatMap((w) => w.waits).filter((w) => w.kind === 'Job').map((w) => w.name);
    expect(waits(mirrored)).toEqual(after.map((j) => j.metadata.name));
  });

  test('an unrelated change or a second synthesis keeps every Job name', () => {
    const jobNames = (s: Synthesized) => jobs(s).map((j) => j.metadata.name);
    expect(jobNames(synthesize(localConfig()))).toEqual(jobNames(upstream));
    expect(jobNames(synthesize(localConfig({ database: { type: 'in-cluster', storage: { size: '30Gi' } } })))).toEqual(jobNames(upstream));
  });
});
