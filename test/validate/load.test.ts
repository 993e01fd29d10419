import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { validate } from '../../lib/validate/harness';
import { HarnessLoadError, loadDist } from '../../lib/validate/load';
import { K8sObject } from '../../lib/validate/types';
import { CERT_MANAGER_API, certificate, configMap, crd, deployment, namespace, service, widget } from './fixtures';

const dirs: string[] = [];

/** Writes `files` (path → content; objects become multi-document YAML) into a fresh temp dir. */
function tree(files: Record<string, string | K8sObject[] | object>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kfkit-load-'));
  dirs.push(root);
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(root, file);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    let text: string;
    if (typeof content === 'string') text = content;
    else if (Array.isArray(content)) text = content.map((doc) => stringify(doc)).join('---\n');
    else text = file.endsWith('.json') ? JSON.stringify(content) : stringify(content);
    fs.writeFileSync(full, text);
  }
  return root;
}

const kustomization = (resources: string[]) => ({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources });

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function loadError(dir: string): HarnessLoadError {
  try {
    loadDist(dir);
  } catch (err: unknown) {
    if (err instanceof HarnessLoadError) return err;
    throw err;
  }
  throw new Error('expected loadDist to throw');
}

describe('loadDist with kfkit.json', () => {
  const metadata = {
    env: 'local',
    stack: 'kubeflow',
    waves: [
      { index: 0, name: 'crds', dir: '00-crds' },
      { index: 1, name: 'namespaces', dir: '01-namespaces' },
      { index: 2, name: 'controllers', dir: '02-controllers' },
      { index: 3, name: 'resources', dir: '03-resources' },
    ],
    externalApis: [CERT_MANAGER_API],
    externalObjects: [{ apiVersion: 'v1', kind: 'Secret', name: 'regcred', namespace: 'app', reason: 'admins' }],
  };
  const files = () => ({
    'kustomization.yaml': kustomization(['00-crds', '01-namespaces', '02-controllers', '03-resources']),
    'kfkit.json': metadata,
    '00-crds/kustomization.yaml': kustomization(['widgets.yaml']),
    '00-crds/widgets.yaml': [crd()],
    '01-namespaces/kustomization.yaml': kustomization(['app.yaml']),
    '01-namespaces/app.yaml': [namespace('app')],
    '02-controllers/kustomization.yaml': kustomization(['app.yaml']),
    '02-controllers/app.yaml': [deployment('app'), service('app')],
    '02-controllers/not-listed.yaml': [configMap('ignored')],
    '03-resources/kustomization.yaml': kustomization(['widgets.yaml', 'cert.yaml']),
    '03-resources/widgets.yaml': `${stringify(widget())}---\n`,
    '03-resources/cert.yaml': [certificate('c', 'c-tls')],
    'flux/kustomization.yaml': kustomization(['waves.yaml']),
    'flux/waves.yaml': [{ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'crds' } }],
  });

  test('reads waves, external APIs and objects; skips flux/ and unlisted files', () => {
    const loaded = loadDist(tree(files()));
    expect(loaded.env).toBe('local');
    expect(loaded.stack).toBe('kubeflow');
    expect(loaded.objects.map((o) => `${o.wave} ${o.waveName} ${o.manifest.kind}/${o.manifest.metadata.name} ${o.source}`)).toEqual([
      '0 crds CustomResourceDefinition/widgets.example.com 00-crds/widgets.yaml',
      '1 namespaces Namespace/app 01-namespaces/app.yaml',
      '2 controllers Deployment/app 02-controllers/app.yaml#0',
      '2 controllers Service/app 02-controllers/app.yaml#1',
      '3 resources Widget/w 03-resources/widgets.yaml',
      '3 resources Certificate/c 03-resources/cert.yaml',
    ]);
    expect(loaded.externalApis).toEqual([CERT_MANAGER_API]);
    expect(loaded.externalObjects).toEqual(metadata.externalObjects);
  });

  test('a loaded clean tree validates without findings', () => {
    expect(validate(loadDist(tree(files())))).toEqual([]);
  });

  test('a wave folder without kustomization contributes every YAML file', () => {
    const f: Record<string, unknown> = files();
    delete f['02-controllers/kustomization.yaml'];
    const names = loadDist(tree(f as Record<string, object>)).objects.filter((o) => o.wave === 2).map((o) => o.manifest.metadata.name);
    expect(names).toEqual(['app', 'app', 'ignored']);
  });

  test('an invalid kfkit.json is a HarnessLoadError naming the file and field', () => {
    const err = loadError(tree({ ...files(), 'kfkit.json': { ...metadata, waves: [{ index: 'zero', name: 'crds', dir: '00-crds' }] } }));
    expect(err.message).toContain('kfkit.json');
    expect(err.message).toContain('waves.0.index');
  });

  test('a wave folder that does not exist is a HarnessLoadError', () => {
    const err = loadError(tree({ ...files(), 'kfkit.json': { ...metadata, waves: [{ index: 0, name: 'crds', dir: '07-nope' }] } }));
    expect(err.message).toMatch(/wave crds dir "07-nope" does not exist/);
  });

  test('a kustomization listing a missing file, or using transformers, is a HarnessLoadError', () => {
    expect(loadError(tree({ ...files(), '00-crds/kustomization.yaml': kustomization(['gone.yaml']) })).message)
      .toMatch(/00-crds[/\\]kustomization.yaml: resources\[0\] "gone.yaml" does not exist/);
    expect(loadError(tree({ ...files(), '00-crds/kustomization.yaml': { ...kustomization(['widgets.yaml']), namePrefix: 'x-' } })).message)
      .toMatch(/kustomization fields namePrefix are not supported/);
  });
});

describe('loadDist without kfkit.json', () => {
  test('derives waves from NN-name folders in numeric order', () => {
    const root = tree({
      '10-apps/app.yaml': [configMap('late')],
      '2-namespaces/ns.yaml': [namespace('app')],
      '2-namespaces/nested/more.yml': [namespace('more')],
      'flux/x.yaml': [configMap('flux')],
      'README.md': 'not yaml',
    });
    const loaded = loadDist(root);
    expect(loaded.objects.map((o) => `${o.wave} ${o.waveName} ${o.manifest.metadata.name} ${o.source}`)).toEqual([
      '0 namespaces more 2-namespaces/nested/more.yml',
      '0 namespaces app 2-namespaces/ns.yaml',
      '1 apps late 10-apps/app.yaml',
    ]);
    expect(loaded.externalApis).toBeUndefined();
  });

  test('without wave folders every YAML file is wave 0, except kustomizations and flux/', () => {
    const root = tree({
      'kustomization.yaml': kustomization(['a.yaml']),
      'a.yaml': [configMap('a')],
      'sub/b.yaml': [configMap('b')],
      'sub/kustomization.yaml': kustomization(['b.yaml']),
      'flux/c.yaml': [configMap('c')],
    });
    expect(loadDist(root).objects.map((o) => `${o.wave} ${o.waveName} ${o.manifest.metadata.name}`)).toEqual(['0 all a', '0 all b']);
  });

  test('expands v1 Lists and skips empty documents', () => {
    const root = tree({ 'a.yaml': `---\n${stringify({ apiVersion: 'v1', kind: 'List', items: [configMap('x'), configMap('y')] })}---\n` });
    expect(loadDist(root).objects.map((o) => `${o.manifest.metadata.name} ${o.source}`)).toEqual(['x a.yaml.items[0]', 'y a.yaml.items[1]']);
  });
});

describe('HarnessLoadError', () => {
  test('bad YAML names the file and the document', () => {
    const root = tree({ '00-crds/a.yaml': `${stringify(configMap('ok'))}---\nmetadata: {name: [unclosed\n` });
    const err = loadError(root);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('HarnessLoadError');
    expect(err.file).toBe(path.join(root, '00-crds', 'a.yaml'));
    expect(err.documentIndex).toBe(1);
    expect(err.message).toContain(`${path.join(root, '00-crds', 'a.yaml')} (document 1): invalid YAML`);
  });

  test('duplicate keys are invalid YAML', () => {
    expect(loadError(tree({ 'a.yaml': 'apiVersion: v1\nkind: ConfigMap\nkind: Secret\nmetadata: {name: x}\n' })).message).toMatch(/unique/);
  });

  test('a document that is not a Kubernetes object names what is missing', () => {
    expect(loadError(tree({ 'a.yaml': [configMap('ok'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'x' } }] })).message)
      .toMatch(/a\.yaml \(document 1\): ConfigMap has no metadata\.name/);
    expect(loadError(tree({ 'a.yaml': '- just\n- a list\n' })).message).toMatch(/\(document 0\): expected a Kubernetes object \(a mapping\), got a list/);
    expect(loadError(tree({ 'a.yaml': 'kind: ConfigMap\nmetadata: {name: x}\n' })).message).toMatch(/missing apiVersion/);
    expect(loadError(tree({ 'a.yaml': 'apiVersion: v1\nmetadata: {name: x}\n' })).message).toMatch(/missing kind/);
  });

  test('a path that is not a directory is a HarnessLoadError', () => {
    expect(loadError(path.join(os.tmpdir(), 'kfkit-does-not-exist-7d1f')).message).toMatch(/not a directory/);
  });

  test('an unreadable kfkit.json is a HarnessLoadError', () => {
    expect(loadError(tree({ 'kfkit.json': '{ nope' })).message).toMatch(/kfkit\.json: invalid JSON/);
  });
});
