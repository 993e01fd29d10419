import * as pulumi from '@pulumi/pulumi';
import * as path from 'path';
import { synthesize } from '../lib/synth/index';
import { localConfig, ROOT, withOverlays } from './helpers';

beforeAll(async () => {
  await pulumi.runtime.setMocks({
    newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs as Record<string, unknown> }),
    call: (args) => args.inputs as Record<string, unknown>,
  }, 'kfkit', 'local', false);
});

// Imported after setMocks, as Pulumi's unit-testing guide requires.
let program: typeof import('../pulumi/program');
beforeAll(async () => { program = await import('../pulumi/program'); });

describe('Pulumi program', () => {
  test('one ConfigGroup per wave, each depending on the previous, carrying exactly the synthesized objects', () => {
    const s = synthesize(localConfig());
    const deployed = program.deployWaves(s);
    expect(deployed.map((d) => d.wave.dir)).toEqual(s.waves.map((w) => w.dir));
    expect(deployed[0]?.dependsOn).toEqual([]);
    for (let i = 1; i < deployed.length; i++) expect(deployed[i]?.dependsOn).toEqual(deployed[i - 1]?.groups);
    expect(deployed.flatMap((d) => d.objects).length).toBe(s.objects.length);
  });

  test('condition waits on custom resources become pulumi.com/waitFor; built-in kinds are left to Pulumi', () => {
    const s = synthesize(localConfig());
    const cert = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'c', namespace: 'kubeflow' } };
    const wave = { index: 9, name: 'certs', dir: '09-certs', description: '', waits: [
      { kind: 'Certificate', namespace: 'kubeflow', name: 'c', readiness: { type: 'condition' as const, condition: 'Ready' } },
    ] };
    const objs = program.waveObjects({ ...s, objects: [{ manifest: cert, wave: 9, waveName: 'certs' }], waves: [wave] }, wave);
    expect(objs[0]?.metadata.annotations?.[program.PULUMI_WAIT_FOR]).toBe('condition=Ready');
    const credentials = s.waves.find((w) => w.name === 'credentials')!;
    for (const o of program.waveObjects(s, credentials)) expect(o.metadata.annotations?.[program.PULUMI_WAIT_FOR]).toBeUndefined();
  });

  test('data-holding objects get their own protected group in their wave', () => {
    const s = synthesize(localConfig());
    const deployed = program.deployWaves(s);
    const protectedNames = deployed.flatMap((d) => d.objects.filter(program.isProtected).map((o) => `${o.kind}/${o.metadata.name}`));
    expect(protectedNames).toEqual(expect.arrayContaining(['Namespace/kubeflow', 'PersistentVolumeClaim/mysql-pv-claim']));
    const namespaces = deployed.find((d) => d.wave.name === 'namespaces')!;
    // Only the platform namespace is in that wave, and it holds data: one group, the protected one.
    expect(namespaces.groups).toHaveLength(1);
    expect((namespaces.groups[0] as unknown as { __protect: boolean }).__protect).toBe(true);
    const controllers = deployed.find((d) => d.wave.name === 'controllers')!;
    // (__protect is how the Pulumi SDK records the option; children inherit it.)
    expect(controllers.groups.map((g) => (g as unknown as { __protect?: boolean }).__protect === true)).toEqual([false, true]);
  });

  test('the program validates before deploying and names the overlay error', () => {
    const dir = withOverlays({ broken: 'stack: local\nnamespace: Bad\n' });
    const config = new pulumi.Config('kfkit');
    expect(() => program.program('broken', config, path.join(dir, 'overlays'))).toThrow(/namespace: .*DNS label/);
    expect(program.program('local', config, path.join(ROOT, 'overlays')).waves).toEqual([
      '00-crds', '01-namespaces', '02-isolation', '03-cluster', '04-credentials', '05-certificates', '06-controllers', '07-storage-init',
    ]);
  });
});
