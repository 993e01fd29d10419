import * as fs from 'fs';
import * as path from 'path';
import { ConfigError, loadOverlay, mergeValues, resolveConfig } from '../lib/config/load';
import { platformConfigJsonSchema } from '../lib/config/schema';
import { STACKS } from '../stacks';
import { cli, listFiles, ROOT, withOverlays } from './helpers';

describe('configuration', () => {
  test('local overlay resolves with stack values under schema defaults', () => {
    const config = resolveConfig({ stack: 'local' }, STACKS);
    expect(config.namespace).toBe('kubeflow');
    expect(config.database).toMatchObject({ type: 'in-cluster', engine: 'mysql', storage: { size: '5Gi' } });
    expect(config.gitops.flux.sourceRef).toEqual({ kind: 'GitRepository', name: 'kfkit', namespace: 'flux-system' });
    expect(config.apply.timeoutSeconds).toBe(600);
  });

  test('overlay values win over stack values; arrays replace', () => {
    const config = resolveConfig({ stack: 'local', database: { type: 'in-cluster', storage: { size: '50Gi' } }, images: { pullSecrets: ['a'] } }, STACKS);
    if (config.database.type !== 'in-cluster') throw new Error('expected in-cluster');
    expect(config.database.storage.size).toBe('50Gi');
    expect(config.database.resources.memory.limit).toBe('1Gi');
    expect(mergeValues({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } })).toEqual({ a: [3], b: { c: 1, d: 2 } });
  });

  test('every problem is reported at once', () => {
    try {
      resolveConfig({ stack: 'local', namespace: 'Bad_NS', apply: { timeoutSeconds: 1 } }, STACKS);
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).issues.map((i) => i.path)).toEqual(['apply.timeoutSeconds', 'namespace']);
    }
  });

  test('the committed JSON Schema is current (run `npm run schema` after changing the config schema)', () => {
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'schema/platform-config.schema.json'), 'utf8'));
    expect(committed).toEqual(platformConfigJsonSchema());
  });

  test('every committed overlay is valid', () => {
    const envs = fs.readdirSync(path.join(ROOT, 'overlays')).filter((f) => f.endsWith('.yaml'));
    expect(envs).toContain('local.yaml');
    for (const env of envs) expect(loadOverlay(path.join(ROOT, 'overlays'), env.slice(0, -5), STACKS).stack).toBeDefined();
  });
});

const EXTERNAL_S3 = (credentials: string) => `stack: local\nobjectStore:\n  type: external\n  bucket: kf-artifacts\n  ${credentials}\n`;

/**
 * Bad input through the CLI, as a user meets it: exit code 2, a message naming the field path and what is
 * allowed, and nothing written — not even the output root.
 */
describe('invalid overlays fail with the field path and write nothing', () => {
  const cases: [string, string, string, RegExp][] = [
    ['unknown top-level key', 'stack: local\nnamepsace: kf\n', 'namepsace', /unknown key; allowed keys here: .*namespace/],
    ['unknown nested key', 'stack: local\ndatabase:\n  type: in-cluster\n  storag: {}\n', 'database.storag', /unknown key; allowed keys here: engine, names, resources, storage, type$/],
    ['wrong type', 'stack: local\napply:\n  timeoutSeconds: soon\n', 'apply.timeoutSeconds', /must be a number/],
    ['out of range', 'stack: local\napply:\n  timeoutSeconds: 99999\n', 'apply.timeoutSeconds', /at most 7200/],
    ['value below minimum', 'stack: local\ndatabase:\n  type: in-cluster\n  storage:\n    size: 100Mi\n', 'database.storage.size', /at least 1Gi/],
    ['malformed quantity', 'stack: local\ndatabase:\n  type: in-cluster\n  storage:\n    size: lots\n', 'database.storage.size', /Kubernetes quantity/],
    ['unknown database type', 'stack: local\ndatabase:\n  type: oracle\n', 'database.type', /must be one of: "in-cluster"/],
    ['request above limit (cross-field)', 'stack: local\ndatabase:\n  type: in-cluster\n  resources:\n    cpu: { request: "2", limit: 500m }\n    memory: { request: 2Gi, limit: 1Gi }\n',
      'database.resources.memory.request', /request 2Gi exceeds limit 1Gi/],
    ['invalid namespace name', 'stack: local\nnamespace: Kube_Flow\n', 'namespace', /DNS label/],
    ['reserved namespace', 'stack: local\nnamespace: kube-system\n', 'namespace', /reserved namespace/],
    ['registry mirror with scheme', 'stack: local\nimages:\n  registryMirror: https://registry.corp\n', 'images.registryMirror', /without a scheme/],
    ['duplicate pull secret', 'stack: local\nimages:\n  pullSecrets: [regcred, regcred]\n', 'images.pullSecrets', /twice/],
    ['bad enum', 'stack: local\ngitops:\n  flux:\n    sourceRef:\n      kind: HelmRepository\n', 'gitops.flux.sourceRef.kind', /must be one of: "GitRepository", "OCIRepository", "Bucket"/],
    ['unknown stack', 'stack: mars\n', 'stack', /unknown stack "mars"; allowed: aws, local, onprem$/],
    ['missing stack', 'namespace: kubeflow\n', 'stack', /required: the stack this overlay layers over/],
    ['not a mapping', '- stack: local\n', '(root)', /must be a mapping of settings, got a list/],
    ['unreadable YAML', 'stack: local\nnamespace: [unclosed\n', '(yaml)', /.+/],
    ['duplicate key', 'stack: local\nnamespace: a\nnamespace: b\n', 'namespace', /given twice in the same mapping/],
    ['external database without host', 'stack: local\ndatabase:\n  type: external\n  engine: mysql\n  credentialsSecret: { name: db }\n',
      'database.host', /required/],
    ['external database without credentials', 'stack: local\ndatabase:\n  type: external\n  engine: mysql\n  host: db.example.com\n',
      'database.credentialsSecret', /required/],
    ['external database host with scheme', 'stack: local\ndatabase:\n  type: external\n  engine: mysql\n  host: mysql://db\n  credentialsSecret: { name: db }\n',
      'database.host', /without scheme/],
    ['storage keys on an external database', 'stack: local\ndatabase:\n  type: external\n  engine: mysql\n  host: db\n  credentialsSecret: { name: db }\n  storage: {}\n',
      'database.storage', /unknown key; allowed keys here: .*credentialsSecret/],
    ['IRSA without an AWS target', EXTERNAL_S3('credentials: { type: irsa }'), 'cloud.aws', /required when objectStore.credentials.type is irsa/],
    ['IRSA without the pipelines role', `${EXTERNAL_S3('credentials: { type: irsa }')}cloud:\n  aws:\n    region: eu-west-1\n    oidcProviderArn: arn:aws:iam::1:oidc-provider/x\n`,
      'cloud.aws.roles.pipelines', /role pipeline pods assume/],
    ['IRSA with GCS', 'stack: local\nobjectStore:\n  type: external\n  provider: gcs\n  bucket: kf-artifacts\n  credentials: { type: irsa }\ncloud:\n  aws: { region: eu-west-1 }\n',
      'objectStore.credentials.type', /works only with provider s3, not gcs/],
    ['s3-compatible without endpoint', 'stack: local\nobjectStore:\n  type: external\n  provider: s3-compatible\n  region: us-east-1\n  bucket: kf-artifacts\n  credentials: { type: secret, secretName: s3 }\n',
      'objectStore.endpoint', /required for provider s3-compatible/],
    ['S3 without a region', EXTERNAL_S3('credentials: { type: secret, secretName: s3 }'), 'objectStore.region', /required for provider s3 unless cloud.aws.region/],
    ['malformed role ARN', `${EXTERNAL_S3('credentials: { type: irsa }')}cloud:\n  aws:\n    region: eu-west-1\n    roles: { pipelines: 'role/kfp' }\n`,
      'cloud.aws.roles.pipelines', /must be an AWS iam ARN/],
    ['backups with Workload Identity', 'stack: local\nobjectStore:\n  type: external\n  provider: gcs\n  bucket: kf-artifacts\n  credentials: { type: workload-identity, gcpServiceAccount: kfp@proj.iam.gserviceaccount.com }\n',
      'backup.enabled', /cannot use GKE Workload Identity/],
    ['multi-user pipelines without mesh and auth', 'stack: local\npipelines:\n  mode: multi-user\n', 'pipelines.mode', /multi-user needs authentication.*auth\.mode/],
    ['Workload Identity with Pipelines', 'stack: local\nbackup: { enabled: false }\nobjectStore:\n  type: external\n  provider: gcs\n  bucket: kf-artifacts\n  credentials: { type: workload-identity, gcpServiceAccount: kfp@proj.iam.gserviceaccount.com }\n',
      'objectStore.credentials.type', /reaches the artifact store through the S3 API with keys/],
    ['bad backup schedule', 'stack: local\nbackup:\n  schedule: daily\n', 'backup.schedule', /must be a cron schedule Kubernetes accepts: must have five fields/],
  ];

  test.each(cases)('%s', (_name, text, fieldPath, message) => {
    const dir = withOverlays({ bad: text });
    const result = cli(['synth', '--env', 'bad', '--out', 'out'], dir);
    expect(result.code).toBe(2);
    const line = result.err.split('\n').find((l) => l.includes(`- ${fieldPath}:`));
    expect(line).toBeDefined();
    expect(line).toMatch(message);
    expect(result.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(listFiles(path.join(dir, 'out'))).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  test('--all writes nothing when one overlay is bad, even if others are fine', () => {
    const dir = withOverlays({ good: 'stack: local\n', bad: 'stack: local\nnamespace: 1\n' });
    const result = cli(['synth', '--all', '--out', 'out'], dir);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/- namespace: must be a string/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  test('unknown --env names the overlays that exist', () => {
    const dir = withOverlays({ local: 'stack: local\n', staging: 'stack: local\n' });
    const result = cli(['synth', '--env', 'prod', '--out', 'out'], dir);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/--env: no overlay "prod" .*available: local, staging/);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  test('--env that is not a name is rejected before touching the filesystem', () => {
    const dir = withOverlays({ local: 'stack: local\n' });
    const result = cli(['synth', '--env', '../etc/passwd', '--out', 'out'], dir);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/--env: "..\/etc\/passwd" is not an environment name/);
  });

  test('unknown CLI option exits 2 with usage help', () => {
    const result = cli(['synth', '--evn', 'local']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/unknown option '--evn'/);
  });

  test('--env and --all conflict', () => {
    const result = cli(['synth', '--env', 'local', '--all']);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/cannot be used with/);
  });
});
