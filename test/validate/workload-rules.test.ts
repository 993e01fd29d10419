import { checkImageTags, parseImage, unpinnedReason } from '../../lib/validate/images';
import { checkResources } from '../../lib/validate/resources';
import { checkSecretValues, isCredentialName, isHarmlessLiteral } from '../../lib/validate/secrets';
import { K8sObject } from '../../lib/validate/types';
import { at, baseline, container, cronJob, deployment, input, secret, statefulSet } from './fixtures';

const run = (check: typeof checkResources, ...manifests: K8sObject[]) => check(input(manifests.map((m) => at(m))));

describe('resources', () => {
  test('containers with cpu/memory requests and a memory limit pass', () => {
    expect(checkResources(input(baseline()))).toEqual([]);
    expect(run(checkResources, statefulSet('db'), cronJob('job'))).toEqual([]);
  });

  test('a missing memory limit is a finding', () => {
    const c = container({ resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1' } } });
    expect(run(checkResources, deployment('web', { containers: [c] }))).toEqual([{
      rule: 'resources', object: 'Deployment/app/web', path: 'spec.template.spec.containers[0].resources.limits.memory',
      message: 'container "app" has no memory limit',
    }]);
  });

  test('init containers are checked; a container without resources misses all three', () => {
    const findings = run(checkResources, cronJob('job', {
      initContainers: [container({ name: 'init', resources: { requests: { memory: '64Mi' }, limits: { memory: '64Mi' } } })],
      containers: [container({ resources: undefined })],
    }));
    expect(findings.map((f) => `${f.path}: ${f.message}`)).toEqual([
      'spec.jobTemplate.spec.template.spec.initContainers[0].resources.requests.cpu: container "init" has no cpu request',
      'spec.jobTemplate.spec.template.spec.containers[0].resources.requests.cpu: container "app" has no cpu request',
      'spec.jobTemplate.spec.template.spec.containers[0].resources.requests.memory: container "app" has no memory request',
      'spec.jobTemplate.spec.template.spec.containers[0].resources.limits.memory: container "app" has no memory limit',
    ]);
  });
});

describe('image-tag', () => {
  test('tagged and digest-pinned images pass', () => {
    const images = ['ghcr.io/kubeflow/app:v1.10.0', 'registry:5000/team/app:1.0', 'app@sha256:abc', 'app:latest@sha256:abc'];
    expect(run(checkImageTags, deployment('web', { containers: images.map((image, i) => container({ name: `c${i}`, image })) }))).toEqual([]);
  });

  test(':latest is a finding', () => {
    expect(run(checkImageTags, deployment('web', { containers: [container({ image: 'nginx:latest' })] }))).toEqual([{
      rule: 'image-tag', object: 'Deployment/app/web', path: 'spec.template.spec.containers[0].image',
      message: 'image "nginx:latest" uses the mutable tag :latest',
    }]);
  });

  test('an untagged image is a finding, also behind a registry port and in init containers', () => {
    const findings = run(checkImageTags, deployment('web', {
      initContainers: [container({ name: 'init', image: 'registry:5000/team/init' })],
      containers: [container({ image: 'nginx' })],
    }));
    expect(findings.map((f) => `${f.path}: ${f.message}`)).toEqual([
      'spec.template.spec.initContainers[0].image: image "registry:5000/team/init" has no tag or digest (resolves to :latest)',
      'spec.template.spec.containers[0].image: image "nginx" has no tag or digest (resolves to :latest)',
    ]);
  });

  test('a missing image is a finding', () => {
    expect(run(checkImageTags, deployment('web', { containers: [container({ image: undefined })] })).map((f) => f.message)).toEqual(['image is empty']);
  });

  test('parses image references', () => {
    expect(parseImage('registry:5000/a/b:1.0@sha256:x')).toEqual({ name: 'registry:5000/a/b', tag: '1.0', digest: 'sha256:x' });
    expect(parseImage('registry:5000/a/b')).toEqual({ name: 'registry:5000/a/b' });
    expect(unpinnedReason('a:1')).toBeUndefined();
    expect(unpinnedReason('a:')).toContain('no tag');
  });
});

describe('secret-values', () => {
  test('Secrets without values and env from secretKeyRef pass', () => {
    const env = [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }, { name: 'LOG_LEVEL', value: 'debug' }];
    const web = deployment('web', { containers: [container({ env })] });
    expect(run(checkSecretValues, secret('empty'), secret('empty-data', 'app', { data: {} }), web)).toEqual([]);
    expect(checkSecretValues(input(baseline()))).toEqual([]);
  });

  test('a Secret with data or stringData is a finding', () => {
    const findings = run(checkSecretValues, secret('creds', 'app', { data: { password: 'aHVudGVyMg==', user: 'YQ==' }, stringData: { token: 't' } }));
    expect(findings).toEqual([
      {
        rule: 'secret-values', object: 'Secret/app/creds', path: 'data',
        message: 'Secret carries values in data (keys: password, user); GitOps output must not',
      },
      {
        rule: 'secret-values', object: 'Secret/app/creds', path: 'stringData',
        message: 'Secret carries values in stringData (keys: token); GitOps output must not',
      },
    ]);
  });

  test('a literal PASSWORD env value is a finding', () => {
    const env = [{ name: 'LOG', value: 'x' }, { name: 'MYSQL_PASSWORD', value: 'hunter2' }];
    const findings = run(checkSecretValues, deployment('web', { containers: [container({ env })] }));
    expect(findings).toEqual([{
      rule: 'secret-values', object: 'Deployment/app/web', path: 'spec.template.spec.containers[0].env[1].value',
      message: 'env MYSQL_PASSWORD looks like a credential but has a literal value; use valueFrom.secretKeyRef',
    }]);
  });

  test('names match case-insensitively; empty values count; paths and booleans do not', () => {
    const env = [
      { name: 'aws_secret_access_key', value: 'AKIA' },
      { name: 'API_TOKEN', value: '' },
      { name: 'TOKEN_FILE', value: '/var/run/secrets/token' },
      { name: 'USE_CREDENTIALS', value: 'True' },
    ];
    expect(run(checkSecretValues, cronJob('job', { containers: [container({ env })] })).map((f) => f.path)).toEqual([
      'spec.jobTemplate.spec.template.spec.containers[0].env[0].value',
      'spec.jobTemplate.spec.template.spec.containers[0].env[1].value',
    ]);
  });

  test('credential names and harmless literals', () => {
    expect(['PASSWD', 'x_api_key', 'PRIVATE_KEY_PEM', 'gcp_credentials', 'MINIO_ACCESS_KEY'].every(isCredentialName)).toBe(true);
    expect(['LOG_LEVEL', 'PORT', 'KEYCLOAK_URL'].some(isCredentialName)).toBe(false);
    expect(isHarmlessLiteral('/etc/x')).toBe(true);
    expect(isHarmlessLiteral('FALSE')).toBe(true);
    expect(isHarmlessLiteral('no')).toBe(false);
    // A reference to a Secret by name is not a credential; a value that is not an object name still is.
    expect(isHarmlessLiteral('kserve-webhook-server-cert', 'SECRET_NAME')).toBe(true);
    expect(isHarmlessLiteral('kserve-webhook-server-cert', 'SECRET')).toBe(false);
    expect(isHarmlessLiteral('hunter2!', 'DB_PASSWORD_NAME')).toBe(false);
  });
});
