import { ConfigError, ConfigIssue, resolveConfig } from '../lib/config/load';
import {
  CACHE_SERVER_DB_CONSUMER, DATABASE_CONSUMERS, databaseConsumerIssues, installedDatabaseConsumers, KATIB_DB_CONSUMER, METADATA_DB_CONSUMER,
  ML_PIPELINE_DB_CONSUMER, PIPELINES_DB_CONSUMERS,
} from '../lib/core/database-consumers';
import { IMAGES } from '../lib/core/images';
import { upstreamFacts } from '../lib/synth/index';
import { STACKS } from '../stacks';

/** The issues resolving an overlay reports; [] when it resolves. */
function issues(overlay: Record<string, unknown>): readonly ConfigIssue[] {
  try {
    resolveConfig({ stack: 'local', ...overlay }, STACKS);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
}

const CA = { name: 'db-ca', key: 'ca.crt' };
const external = (engine: 'mysql' | 'postgresql', tls: Record<string, unknown>) => ({
  database: { type: 'external', engine, cidrs: ['198.51.100.0/24'], host: 'db.example.com', credentialsSecret: { name: 'db' }, tls },
});
/** `path: consumer` of every issue, for compact expectations. */
const summary = (list: readonly ConfigIssue[]) => list.map((i) => `${i.path}: ${/^([a-z-]+) /.exec(i.message)?.[1] ?? i.message}`).sort();

describe('database settings are checked against the consumers kfkit installs', () => {
  test.each([
    ['in-cluster MySQL', { database: { type: 'in-cluster' } }],
    ['external MySQL without TLS', external('mysql', { mode: 'disabled' })],
    ['external MySQL, TLS without verification', external('mysql', { mode: 'required' })],
    // kfkit's Pipelines omits cache-server with PostgreSQL (MySQL only in 2.17.0); the other consumers speak it.
    ['in-cluster PostgreSQL', { database: { type: 'in-cluster', engine: 'postgresql' } }],
    ['external PostgreSQL without TLS', external('postgresql', { mode: 'disabled' })],
  ])('%s is usable', (_name, overlay) => {
    expect(issues(overlay)).toEqual([]);
  });

  test.each([
    ['verify-ca with a CA: the Go consumers can neither verify without the host name nor load a CA',
      external('mysql', { mode: 'verify-ca', caSecret: CA }),
      ['database.tls.caSecret: cache-server', 'database.tls.caSecret: ml-pipeline', 'database.tls.mode: cache-server', 'database.tls.mode: ml-pipeline']],
    ['verify-full against system roots: ML Metadata has none',
      external('mysql', { mode: 'verify-full' }),
      ['database.tls.caSecret: metadata-grpc-deployment']],
    ['verify-full with a CA: the Go consumers cannot load it',
      external('mysql', { mode: 'verify-full', caSecret: CA }),
      ['database.tls.caSecret: cache-server', 'database.tls.caSecret: ml-pipeline']],
    ['external PostgreSQL with TLS: the API server and ML Metadata connect in plain text only',
      external('postgresql', { mode: 'required' }),
      ['database.tls.mode: metadata-grpc-deployment', 'database.tls.mode: ml-pipeline']],
  ])('%s fails, naming the consumer', (_name, overlay, expected) => {
    const found = issues(overlay);
    expect(summary(found)).toEqual(expected);
    for (const issue of found) expect(issue.message).toMatch(/\((kubeflow\/pipelines|google\/ml-metadata) v?\d+\.\d+\.\d+: .+\)$/);
  });

  test('the message says what the consumer supports and where that is from', () => {
    const [issue] = issues(external('mysql', { mode: 'verify-full' }));
    expect(issue.message).toContain('metadata-grpc-deployment (ML Metadata store server) verifies mysql certificates (TLS mode verify-full) only against a CA file');
    expect(issue.message).toContain('set tls.caSecret');
    const [engine] = databaseConsumerIssues({ type: 'external', engine: 'postgresql', tls: { mode: 'disabled' } }, PIPELINES_DB_CONSUMERS);
    expect(engine.message).toContain('cache-server (Kubeflow Pipelines cache webhook) cannot use postgresql; it supports mysql (kubeflow/pipelines 2.17.0:');
  });
});

describe('Katib, once installed', () => {
  const katib = installedDatabaseConsumers({ katib: true });

  test('is not checked until the platform installs it', () => {
    expect(installedDatabaseConsumers()).toEqual(PIPELINES_DB_CONSUMERS);
    expect(installedDatabaseConsumers().map((c) => c.name)).not.toContain(KATIB_DB_CONSUMER.name);
    expect(katib).toContain(KATIB_DB_CONSUMER);
  });

  test('rejects MySQL over TLS (its DSN has no TLS parameter)', () => {
    expect(databaseConsumerIssues({ type: 'external', engine: 'mysql', tls: { mode: 'required' } }, katib)).toEqual([
      expect.objectContaining({ path: ['tls', 'mode'], message: expect.stringMatching(/^katib-db-manager .* TLS mode required; it supports disabled \(kubeflow\/katib v0\.19\.0:/) as string }),
    ]);
  });

  test('verifies PostgreSQL against system roots or a CA file', () => {
    for (const mode of ['required', 'verify-ca', 'verify-full'] as const) {
      expect(databaseConsumerIssues({ type: 'external', engine: 'postgresql', tls: { mode } }, [KATIB_DB_CONSUMER])).toEqual([]);
      expect(databaseConsumerIssues({ type: 'external', engine: 'postgresql', tls: { mode, caSecret: CA } }, [KATIB_DB_CONSUMER])).toEqual([]);
    }
  });
});

describe('the consumer table', () => {
  test('lists the four consumers of the metadata database', () => {
    expect(DATABASE_CONSUMERS.map((c) => c.name.split(' ')[0])).toEqual(['ml-pipeline', 'metadata-grpc-deployment', 'cache-server', 'katib-db-manager']);
    expect(PIPELINES_DB_CONSUMERS).toEqual([ML_PIPELINE_DB_CONSUMER, METADATA_DB_CONSUMER, CACHE_SERVER_DB_CONSUMER]);
  });

  test('every entry is sourced: repository, release tag, files', () => {
    for (const c of DATABASE_CONSUMERS) {
      expect(c.source).toMatch(/^[a-z0-9-]+\/[a-z0-9._-]+ v?\d+\.\d+\.\d+: [\w./-]+\.(go|cc|proto|bzl|BUILD|mod)\b/);
    }
  });

  test('the sources are the releases kfkit pins', () => {
    const kfp = upstreamFacts().facts.sources['kfp'];
    expect(kfp.upstream).toBe('kubeflow/pipelines');
    for (const c of [ML_PIPELINE_DB_CONSUMER, CACHE_SERVER_DB_CONSUMER]) expect(c.source.startsWith(`${kfp.upstream} ${kfp.version}:`)).toBe(true);
    expect(METADATA_DB_CONSUMER.source.startsWith(`google/ml-metadata v${IMAGES['ml-metadata-store-server'].tag}:`)).toBe(true);
    expect(KATIB_DB_CONSUMER.source.startsWith('kubeflow/katib v0.19.0:')).toBe(true);
  });

  test('is consistent: modes only for supported engines, plain TCP always, CA-only modes need a loadable CA', () => {
    for (const c of DATABASE_CONSUMERS) {
      for (const engine of ['mysql', 'postgresql'] as const) {
        const supported = c.engines.includes(engine);
        expect(c.tlsModes[engine].length > 0).toBe(supported);
        if (supported) expect(c.tlsModes[engine]).toContain('disabled');
        if (!supported) expect(c.customCa[engine]).toBe(false);
        for (const mode of c.caFileRequired?.[engine] ?? []) {
          expect(c.tlsModes[engine]).toContain(mode);
          expect(c.customCa[engine]).toBe(true);
        }
      }
    }
  });
});

describe('external database TLS is a deliberate choice', () => {
  test('an external database without tls.mode names the field', () => {
    const found = issues({ database: { type: 'external', engine: 'mysql', cidrs: ['198.51.100.0/24'], host: 'db.example.com', credentialsSecret: { name: 'db' } } });
    expect(found.map((i) => i.path)).toEqual(['database.tls']);
  });

  test('with PostgreSQL, cache-server is not a consumer (kfkit omits it); with MySQL it is', () => {
    expect(installedDatabaseConsumers({ engine: 'postgresql' })).not.toContain(CACHE_SERVER_DB_CONSUMER);
    expect(installedDatabaseConsumers({ engine: 'mysql' })).toContain(CACHE_SERVER_DB_CONSUMER);
  });
});
