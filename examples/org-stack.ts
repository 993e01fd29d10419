/**
 * An org's own stack on top of kfkit: the platform from an overlay, plus a team service that reads the metadata
 * database through the typed reference. Compiled and synthesized by test/examples.test.ts so it never drifts.
 */
import { App } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { KubeflowPlatform, podTemplate, resolveConfig, synthesize, validate } from '../lib';
import { STACKS } from '../stacks';

export function buildOrgStack(): App {
  const app = new App();
  const config = resolveConfig({ stack: 'local', namespace: 'ml-platform' }, STACKS);
  const platform = new KubeflowPlatform(app, 'platform', { config });

  // A reporting job of the org's own, allowed to reach the database and nothing else.
  const identity = { name: 'usage-report', component: 'reporting' };
  new k8s.KubeServiceAccount(platform, 'ReportSa', { metadata: { name: 'usage-report', namespace: 'ml-platform' } });
  new k8s.KubeCronJob(platform, 'Report', {
    metadata: { name: 'usage-report', namespace: 'ml-platform' },
    spec: {
      schedule: '0 6 * * *',
      jobTemplate: {
        spec: {
          template: podTemplate(platform, {
            identity,
            serviceAccountName: 'usage-report',
            restartPolicy: 'Never',
            security: { user: 1000 },
            containers: [{
              name: 'report',
              image: 'registry.example.com/reporting/usage:1.4.2',
              env: [{ name: 'DB_HOST', value: platform.database.host }],
              resources: { cpu: { request: '50m' }, memory: { request: '64Mi', limit: '128Mi' } },
            }],
          }),
        },
      },
    },
  });
  platform.database.allowFrom({ peerName: 'usage-report', namespace: 'ml-platform', podLabels: { 'app.kubernetes.io/name': 'usage-report' } });
  return app;
}

/** Synthesizes the default platform and returns the harness findings (empty when valid). */
export function validateDefault(): number {
  return validate(synthesize(resolveConfig({ stack: 'local' }, STACKS))).length;
}
