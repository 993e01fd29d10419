import { App } from 'cdk8s';
import { KubeflowPlatform } from '../lib/platform';
import { checkPlatform, synthesize } from '../lib/synth/index';
import { checkStaticCloudKeys } from '../lib/validate/cloud-identity';
import { localConfig } from './helpers';

const AWS = { aws: { region: 'eu-west-1', oidcProviderArn: 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC', roles: { pipelines: 'arn:aws:iam::123456789012:role/kfp' } } };

const databases: Record<string, Record<string, unknown>> = {
  'in-cluster mysql': { type: 'in-cluster', engine: 'mysql' },
  'in-cluster postgresql': { type: 'in-cluster', engine: 'postgresql' },
  'external mysql (TLS, no verification)': { type: 'external', engine: 'mysql', cidrs: ['198.51.100.0/24'], host: 'kfp.abc.eu-west-1.rds.amazonaws.com', credentialsSecret: { name: 'rds' }, tls: { mode: 'required' } },
  'external postgresql': { type: 'external', engine: 'postgresql', cidrs: ['198.51.100.0/24'], host: 'pg.internal.example.com', port: 6432, credentialsSecret: { name: 'pg' }, tls: { mode: 'disabled' } },
};

const stores: Record<string, { objectStore: Record<string, unknown>; cloud?: Record<string, unknown>; backup?: Record<string, unknown> }> = {
  'in-cluster seaweedfs': { objectStore: { type: 'in-cluster' } },
  's3 with IRSA': { objectStore: { type: 'external', bucket: 'kf-artifacts', credentials: { type: 'irsa' }, cidrs: ['10.10.0.0/16'] }, cloud: AWS },
  's3 with a Secret': { objectStore: { type: 'external', bucket: 'kf-artifacts', region: 'eu-west-1', credentials: { type: 'secret', secretName: 's3-keys' }, cidrs: ['10.10.0.0/16'] } },
  'gcs with HMAC keys': { objectStore: { type: 'external', provider: 'gcs', bucket: 'kf-artifacts', credentials: { type: 'secret', secretName: 'gcs-hmac' }, cidrs: ['199.36.153.8/30'] } },
  's3-compatible with a Secret': {
    objectStore: { type: 'external', provider: 's3-compatible', endpoint: 'minio.storage.svc:9000', region: 'us-east-1', secure: false, bucket: 'kf-artifacts', credentials: { type: 'secret', secretName: 'minio' }, cidrs: ['10.96.50.0/24'] },
  },
};

const cases = Object.entries(databases).flatMap(([dbName, database]) =>
  Object.entries(stores).map(([storeName, store]) => [`${dbName} + ${storeName}`, database, store] as const));

describe('every data-layer variant synthesizes, validates and carries no secret values', () => {
  test.each(cases)('%s', (_name, database, store) => {
    const config = localConfig({ database, ...store });
    const s = synthesize(config);
    expect(checkPlatform(s, config)).toEqual([]);
    expect(s.objects.filter((o) => o.manifest.kind === 'Secret')).toEqual([]);
    const text = JSON.stringify(s.objects.map((o) => o.manifest));
    expect(text).not.toMatch(/minio123|"value":"(password|secret)"/);
    if ((store.objectStore.credentials as { type?: string } | undefined)?.type === 'irsa') {
      // No static AWS keys anywhere, not only next to the role.
      expect(text).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
      expect(checkStaticCloudKeys(s)).toEqual([]);
    }
  });

  test('consumers get the same typed reference whichever variant is chosen', () => {
    const build = (database: Record<string, unknown>) => new KubeflowPlatform(new App(), 'p', { config: localConfig({ database }) }).database;
    const inCluster = build(databases['in-cluster mysql']);
    const external = build(databases['external mysql (TLS, no verification)']);
    for (const db of [inCluster, external]) {
      expect(Object.keys(db.databaseNames).sort()).toEqual(['cache', 'katib', 'metadata', 'pipelines']);
      expect(typeof db.allowFrom).toBe('function');
    }
    expect({ host: inCluster.host, port: inCluster.port, secret: inCluster.credentialsFor('pipelines').secretName, admin: inCluster.adminCredentials?.secretName })
      .toEqual({ host: 'mysql.kubeflow.svc.cluster.local', port: 3306, secret: 'metadata-db-pipelines', admin: 'mysql-secret' });
    expect({ host: external.host, port: external.port, secret: external.credentialsFor('pipelines').secretName, tls: external.tls.mode })
      .toEqual({ host: 'kfp.abc.eu-west-1.rds.amazonaws.com', port: 3306, secret: 'rds', tls: 'required' });
  });
});
