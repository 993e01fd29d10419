import { IMAGES, ImageCatalog, ImageKey } from '../lib/core/images';
import { listImages } from '../lib/synth/footprint';
import { checkPlatform, upstreamFacts } from '../lib/synth/index';
import { imagesMatch } from '../lib/validate/fidelity';
import { synthesize } from '../lib/synth/index';
import { localConfig } from './helpers';

describe('image catalog', () => {
  test('every entry is pinned: a tag that is not latest, and a fully qualified repository', () => {
    for (const [key, entry] of Object.entries(IMAGES)) {
      expect([key, entry.tag]).not.toEqual([key, 'latest']);
      expect(entry.tag).toMatch(/^[\w][\w.-]{0,127}$/);
      expect(entry.repository.split('/')[0]).toMatch(/\./); // registry host, never a Docker Hub shortname
    }
  });

  test('the registry mirror keeps each image path below the mirror', () => {
    const catalog = new ImageCatalog({ registryMirror: 'registry.corp.example/kubeflow/' });
    expect(catalog.image('kfp-api-server')).toBe('registry.corp.example/kubeflow/kubeflow/kfp-api-server:2.17.0');
    expect(catalog.image('mysql')).toBe('registry.corp.example/kubeflow/library/mysql:8.4');
    expect(new ImageCatalog().image('mysql')).toBe('docker.io/library/mysql:8.4');
  });

  test('an unknown key is an error', () => {
    expect(() => new ImageCatalog().image('nope' as ImageKey)).toThrow(/no entry "nope"/);
  });

  test('mirror and pull secrets apply to every pod of a stack', () => {
    const s = synthesize(localConfig({ images: { registryMirror: 'mirror.local:5000', pullSecrets: ['regcred'] } }));
    const images = listImages(s.objects, s.runtimeImages);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image.startsWith('mirror.local:5000/')).toBe(true);
    const pods = s.objects.filter((o) => ['StatefulSet', 'Job', 'Deployment'].includes(o.manifest.kind));
    expect(pods.length).toBeGreaterThan(0);
    for (const p of pods) expect((p.manifest.spec as { template: { spec: { imagePullSecrets: unknown } } }).template.spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
  });
});

describe('catalog against the upstream facts', () => {
  test('every image of the upstream KFP release is in the catalog at the same tag', () => {
    const { facts } = upstreamFacts();
    const catalog = new ImageCatalog();
    const entries = (Object.keys(IMAGES) as ImageKey[]).map((k) => catalog.image(k));
    const upstream = new Set(facts.workloads.filter((w) => w.source === 'kfp').flatMap((w) => w.containers.map((c) => c.image)));
    const missing = [...upstream].filter((image) => !entries.some((e) => imagesMatch(e, image)));
    expect(missing.sort()).toEqual([]);
  });
});

describe('pull Secrets', () => {
  test('a stack with pull Secrets validates: they are declared external in every namespace kfkit creates', () => {
    const config = localConfig({ images: { pullSecrets: ['regcred'] } });
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    expect(s.externalObjects.filter((o) => o.name === 'regcred').map((o) => o.namespace)).toEqual(['kubeflow']);
  });
});
