import * as fs from 'fs';
import * as path from 'path';
import { checkPlatform, synthesize, upstreamFacts } from '../lib/synth/index';
import { checkFidelity } from '../lib/validate/fidelity';
import { renderReadme } from '../tools/readme-deviations';
import { localConfig, ROOT } from './helpers';

describe('fidelity of the synthesized platform to upstream facts', () => {
  test('the local stack matches upstream except for the documented deviations', () => {
    const config = localConfig();
    expect(checkPlatform(synthesize(config), config)).toEqual([]);
  });

  test('with a registry mirror the images still match upstream', () => {
    const config = localConfig({ images: { registryMirror: 'registry.corp.example/kf' } });
    expect(checkPlatform(synthesize(config), config)).toEqual([]);
  });

  test('an undocumented difference is a finding: drop one deviation and it reappears', () => {
    const { facts, deviations } = upstreamFacts();
    const withoutKind = deviations.filter((d) => !(d.workload === 'kubeflow/mysql' && d.field === 'kind'));
    expect(withoutKind.length).toBe(deviations.length - 1);
    const findings = checkFidelity(synthesize(localConfig()).objects, facts, withoutKind);
    expect(findings).toEqual([expect.objectContaining({ rule: 'fidelity', object: 'StatefulSet/kubeflow/mysql', message: expect.stringMatching(/kind: StatefulSet, upstream .* has Deployment/) as unknown })]);
  });

  test('the workloads kfkit follows are pinned to the facts version of the image catalog', () => {
    const { facts } = upstreamFacts();
    expect(facts.sources.kfp.version).toBe('2.17.0');
  });

  test('README lists exactly the deviations in facts/deviations.json (run `npx tsx tools/readme-deviations.ts`)', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(renderReadme(readme, path.join(ROOT, 'facts/deviations.json'))).toBe(readme);
  });
});
