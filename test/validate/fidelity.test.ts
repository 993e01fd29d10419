import { join } from 'node:path';
import {
  checkFidelity,
  deviationsMarkdown,
  imagesMatch,
  loadDeviations,
  loadFacts,
  parseImageRef,
  type Deviation,
  type Facts,
  type WorkloadFacts,
} from '../../lib/validate/fidelity';
import type { K8sObject, PlacedObject } from '../../lib/validate/types';

const ROOT = join(__dirname, '..', '..');

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: kfkit's side (a Deployment + ServiceAccount + Role + RoleBinding) and the upstream facts it matches.
// ---------------------------------------------------------------------------------------------------------------

interface FixtureOptions {
  kind?: string;
  image?: string;
  args?: string[];
  ports?: { containerPort: number; name?: string }[];
  env?: string[];
  serviceAccount?: string;
  roleVerbs?: string[];
  extra?: K8sObject[];
}

function place(objects: K8sObject[]): PlacedObject[] {
  return objects.map((manifest, i) => ({ manifest, wave: i, waveName: `w${i}` }));
}

function mysqlObjects(o: FixtureOptions = {}): PlacedObject[] {
  const sa = o.serviceAccount ?? 'mysql';
  const env = (o.env ?? ['MYSQL_ALLOW_EMPTY_PASSWORD', 'MYSQL_ROOT_PASSWORD']).map((name) =>
    name === 'MYSQL_ROOT_PASSWORD'
      ? { name, valueFrom: { secretKeyRef: { name: 'mysql-secret', key: 'password' } } }
      : { name, value: 'x' },
  );
  return place([
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'kubeflow' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'mysql-role', namespace: 'kubeflow' },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], verbs: o.roleVerbs ?? ['get', 'list'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['mysql-leader'], verbs: ['update'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'mysql-binding', namespace: 'kubeflow' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mysql-role' },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'kubeflow' }],
    },
    {
      apiVersion: 'apps/v1',
      kind: o.kind ?? 'Deployment',
      metadata: { name: 'mysql', namespace: 'kubeflow' },
      spec: {
        template: {
          spec: {
            serviceAccountName: sa,
            containers: [
              {
                name: 'mysql',
                image: o.image ?? 'mysql:8.4',
                args: o.args ?? ['--datadir', '/var/lib/mysql', '--disable-log-bin'],
                ports: o.ports ?? [{ containerPort: 3306, name: 'mysql' }],
                env,
              },
            ],
          },
        },
      },
    },
    ...(o.extra ?? []),
  ]);
}

const MYSQL_FACTS: WorkloadFacts = {
  source: 'kfp',
  namespace: 'kubeflow',
  kind: 'Deployment',
  name: 'mysql',
  serviceAccount: 'mysql',
  containers: [
    {
      name: 'mysql',
      image: 'docker.io/library/mysql:8.4',
      command: [],
      args: ['--datadir', '/var/lib/mysql', '--disable-log-bin'],
      ports: [{ containerPort: 3306, name: 'mysql', protocol: 'TCP' }],
      env: [
        { name: 'MYSQL_ALLOW_EMPTY_PASSWORD', from: 'value' },
        { name: 'MYSQL_ROOT_PASSWORD', from: 'secretKeyRef', ref: 'mysql-secret', key: 'password' },
      ],
      envFrom: [],
    },
  ],
  initContainers: [],
  rbac: ['get configmaps.core', 'list configmaps.core', 'update leases.coordination.k8s.io#mysql-leader'],
};

const API_FACTS: WorkloadFacts = {
  source: 'kfp',
  namespace: 'kubeflow',
  kind: 'Deployment',
  name: 'ml-pipeline',
  serviceAccount: 'ml-pipeline',
  containers: [
    {
      name: 'ml-pipeline-api-server',
      image: 'ghcr.io/kubeflow/kfp-api-server:2.17.0',
      command: [],
      args: [],
      ports: [],
      env: [],
      envFrom: [],
    },
  ],
  initContainers: [],
  rbac: [],
};

function facts(workloads: WorkloadFacts[] = [MYSQL_FACTS, API_FACTS]): Facts {
  return {
    $comment: 'test',
    sources: {
      kfp: { upstream: 'kubeflow/pipelines', version: '2.17.0', ref: 'abc', renderPath: 'env/platform-agnostic' },
      'kfp-postgresql': {
        upstream: 'kubeflow/pipelines',
        version: '2.17.0',
        ref: 'abc',
        renderPath: 'env/platform-agnostic-postgresql',
      },
    },
    workloads,
    serviceAccounts: [],
    services: [],
    crds: [],
    configMaps: [],
    secrets: [],
  };
}

function messages(objects: PlacedObject[], deviations: Deviation[] = [], options = {}): string[] {
  return checkFidelity(objects, facts(), deviations, options).map((f) => `${f.object}: ${f.message}`);
}

describe('checkFidelity', () => {
  it('reports nothing when kfkit matches upstream', () => {
    expect(checkFidelity(mysqlObjects(), facts(), [])).toEqual([]);
  });

  it('ignores kfkit workloads that upstream does not have', () => {
    const extra: K8sObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'kfkit-only', namespace: 'kubeflow' },
      spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
    };
    expect(checkFidelity(mysqlObjects({ extra: [extra] }), facts(), [])).toEqual([]);
  });

  it('reports an image tag difference with rule, object and path', () => {
    const findings = checkFidelity(mysqlObjects({ image: 'mysql:8.0' }), facts(), []);
    expect(findings).toEqual([
      {
        rule: 'fidelity',
        object: 'Deployment/kubeflow/mysql',
        path: 'spec.template.spec.containers[0].image',
        message: expect.stringContaining('image: container mysql runs mysql:8.0, upstream kfp 2.17.0 has docker.io/library/mysql:8.4'),
      },
    ]);
  });

  it('reports a missing port', () => {
    expect(messages(mysqlObjects({ ports: [] }))).toEqual([
      expect.stringMatching(/^Deployment\/kubeflow\/mysql: ports: container mysql lacks port 3306\/mysql/),
    ]);
  });

  it('reports a renamed port as one missing and one extra', () => {
    const out = messages(mysqlObjects({ ports: [{ containerPort: 3306, name: 'db' }] }));
    expect(out).toEqual([
      expect.stringContaining('lacks port 3306/mysql'),
      expect.stringContaining('has extra port 3306/db'),
    ]);
  });

  it('reports a missing env var name', () => {
    expect(messages(mysqlObjects({ env: ['MYSQL_ROOT_PASSWORD'] }))).toEqual([
      expect.stringContaining('env: container mysql lacks MYSQL_ALLOW_EMPTY_PASSWORD'),
    ]);
  });

  it('reports an extra env var name', () => {
    expect(messages(mysqlObjects({ env: ['MYSQL_ALLOW_EMPTY_PASSWORD', 'MYSQL_ROOT_PASSWORD', 'TZ'] }))).toEqual([
      expect.stringContaining('env: container mysql has extra TZ'),
    ]);
  });

  it('reports args in a different order', () => {
    const out = messages(mysqlObjects({ args: ['--disable-log-bin', '--datadir', '/var/lib/mysql'] }));
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('args: container mysql has ["--disable-log-bin","--datadir","/var/lib/mysql"]');
    expect(out[0]).toContain('upstream kfp 2.17.0 has ["--datadir","/var/lib/mysql","--disable-log-bin"]');
  });

  it('reports a missing RBAC permission', () => {
    expect(messages(mysqlObjects({ roleVerbs: ['get'] }))).toEqual([
      'Deployment/kubeflow/mysql: rbac: ServiceAccount kubeflow/mysql lacks "list configmaps.core" (upstream kfp 2.17.0 grants it)',
    ]);
  });

  it('reports an extra RBAC permission granted through a ClusterRole and ClusterRoleBinding', () => {
    const extra: K8sObject[] = [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'mysql-nodes' },
        rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'mysql-nodes' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'mysql-nodes' },
        subjects: [{ kind: 'ServiceAccount', name: 'mysql', namespace: 'kubeflow' }],
      },
    ];
    expect(messages(mysqlObjects({ extra }))).toEqual([
      'Deployment/kubeflow/mysql: rbac: ServiceAccount kubeflow/mysql has extra "list nodes.core" (not in upstream kfp 2.17.0)',
    ]);
  });

  it('reports a different ServiceAccount name', () => {
    expect(messages(mysqlObjects({ serviceAccount: 'kfkit-mysql' }))).toEqual([
      'Deployment/kubeflow/mysql: serviceAccount: kfkit-mysql, upstream kfp 2.17.0 has mysql',
    ]);
  });

  it('reports a different kind', () => {
    expect(messages(mysqlObjects({ kind: 'StatefulSet' }))).toEqual([
      'StatefulSet/kubeflow/mysql: kind: StatefulSet, upstream kfp 2.17.0 has Deployment',
    ]);
  });

  it('reports missing and extra containers', () => {
    const objects = mysqlObjects().map((p) => {
      if (p.manifest.kind !== 'Deployment') return p;
      const spec = { template: { spec: { serviceAccountName: 'mysql', containers: [{ name: 'db', image: 'mysql:8.4' }] } } };
      return { ...p, manifest: { ...p.manifest, spec } };
    });
    expect(messages(objects)).toEqual([
      'Deployment/kubeflow/mysql: containers: container mysql is missing (upstream kfp 2.17.0 has it)',
      'Deployment/kubeflow/mysql: containers: extra container db (not in upstream kfp 2.17.0)',
    ]);
  });

  it('lets a deviation suppress exactly its difference', () => {
    const objects = mysqlObjects({ image: 'mysql:8.0', env: ['MYSQL_ALLOW_EMPTY_PASSWORD', 'MYSQL_ROOT_PASSWORD', 'TZ'] });
    const deviation: Deviation = { workload: 'kubeflow/mysql', field: 'env', value: 'TZ', reason: 'kfkit sets the time zone' };
    expect(messages(objects, [deviation])).toEqual([expect.stringContaining('image: container mysql runs mysql:8.0')]);
    const other: Deviation = { workload: 'kubeflow/mysql', field: 'env', value: 'LANG', reason: 'x' };
    expect(messages(objects, [deviation, other])).toEqual([
      expect.stringContaining('image: container mysql runs mysql:8.0'),
      expect.stringContaining('stale deviation: env "LANG" of kubeflow/mysql matches no difference'),
    ]);
  });

  it('lets a deviation without value cover the whole field', () => {
    const objects = mysqlObjects({ env: ['MYSQL_ROOT_PASSWORD', 'TZ', 'LANG'] });
    expect(messages(objects, [{ workload: 'kubeflow/mysql', field: 'env', reason: 'kfkit configures mysql its own way' }])).toEqual([]);
  });

  it('reports a stale deviation', () => {
    const deviation: Deviation = { workload: 'kubeflow/mysql', field: 'image', reason: 'was needed for 8.0' };
    expect(checkFidelity(mysqlObjects(), facts(), [deviation])).toEqual([
      {
        rule: 'fidelity',
        object: 'Deployment/kubeflow/mysql',
        message: expect.stringContaining('stale deviation: image of kubeflow/mysql matches no difference from upstream'),
      },
    ]);
  });

  it('reports a deviation that names no upstream workload', () => {
    expect(messages(mysqlObjects(), [{ workload: 'kubeflow/mysqll', field: 'env', reason: 'typo' }])).toEqual([
      expect.stringContaining('stale deviation: env names no upstream workload kubeflow/mysqll'),
    ]);
  });

  it('does not judge deviations of upstream workloads outside the check', () => {
    const d: Deviation = { workload: 'kubeflow/ml-pipeline', field: 'env', value: 'X', reason: 'checked elsewhere' };
    expect(messages(mysqlObjects(), [d])).toEqual([]);
  });

  it('compares images after expanding Docker Hub shortnames and stripping a mirror prefix', () => {
    expect(messages(mysqlObjects({ image: 'docker.io/library/mysql:8.4' }))).toEqual([]);
    expect(messages(mysqlObjects({ image: 'registry.corp/library/mysql:8.4' }), [], { mirror: 'registry.corp' })).toEqual([]);
    expect(messages(mysqlObjects({ image: 'registry.corp/library/mysql:8.4' }))).toEqual([
      expect.stringContaining('image: container mysql runs registry.corp/library/mysql:8.4'),
    ]);
    expect(messages(mysqlObjects({ image: 'registry.corp/library/mysql:8.0' }), [], { mirror: 'registry.corp' })).toHaveLength(1);
  });

  it('reports upstream workloads of fully installed sources that kfkit does not install', () => {
    expect(messages(mysqlObjects(), [], { sources: ['kfp'] })).toEqual([
      'Deployment/kubeflow/ml-pipeline: upstream workload kubeflow/ml-pipeline is not installed (Deployment of kfp 2.17.0)',
    ]);
    expect(messages(mysqlObjects(), [], { sources: ['kfp-postgresql'] })).toEqual([]);
    const waived: Deviation = { workload: 'kubeflow/ml-pipeline', field: 'workload', reason: 'installed by another stack' };
    expect(messages(mysqlObjects(), [waived], { sources: ['kfp'] })).toEqual([]);
  });

  it('compares a workload found in several sources with the one it differs least from', () => {
    const pg: WorkloadFacts = { ...MYSQL_FACTS, source: 'kfp-postgresql', serviceAccount: 'postgresql' };
    const both = facts([pg, MYSQL_FACTS]);
    expect(checkFidelity(mysqlObjects(), both, [])).toEqual([]);
    expect(checkFidelity(mysqlObjects(), both, [], { sources: ['kfp-postgresql'] })).toEqual([
      expect.objectContaining({ message: 'serviceAccount: mysql, upstream kfp-postgresql 2.17.0 has postgresql' }),
    ]);
  });
});

describe('images', () => {
  it('expands Docker Hub shortnames and defaults the tag', () => {
    expect(parseImageRef('mysql')).toEqual({ registry: 'docker.io', repository: 'library/mysql', tag: 'latest' });
    expect(parseImageRef('index.docker.io/library/mysql:8.4')).toEqual({
      registry: 'docker.io',
      repository: 'library/mysql',
      tag: '8.4',
    });
    expect(parseImageRef('localhost:5000/x/y@sha256:ab')).toEqual({ registry: 'localhost:5000', repository: 'x/y', digest: 'sha256:ab' });
  });

  it('matches mirrored images in both mirror layouts', () => {
    const up = 'ghcr.io/kubeflow/kfp-api-server:2.17.0';
    expect(imagesMatch('registry.corp/kubeflow/kfp-api-server:2.17.0', up, 'registry.corp')).toBe(true);
    expect(imagesMatch('registry.corp/ghcr.io/kubeflow/kfp-api-server:2.17.0', up, 'registry.corp/')).toBe(true);
    expect(imagesMatch('quay.io/kubeflow/kfp-api-server:2.17.0', up, 'registry.corp')).toBe(false);
    expect(imagesMatch('ghcr.io/kubeflow/kfp-api-server:2.17.0@sha256:ab', up)).toBe(true);
  });
});

describe('deviationsMarkdown', () => {
  it('renders a sorted table and escapes pipes', () => {
    const md = deviationsMarkdown([
      { workload: 'kubeflow/mysql', field: 'env', value: 'TZ', reason: 'a | b' },
      { workload: 'kubeflow/cache-server', field: 'image', reason: 'mirror' },
    ]);
    expect(md).toBe(
      [
        '| Workload | Field | Value | Reason |',
        '| --- | --- | --- | --- |',
        '| kubeflow/cache-server | image | (all) | mirror |',
        '| kubeflow/mysql | env | `TZ` | a \\| b |',
        '',
      ].join('\n'),
    );
    expect(deviationsMarkdown([])).toBe('kfkit has no documented deviations from upstream.\n');
  });
});

describe('committed facts', () => {
  const upstream = loadFacts(join(ROOT, 'facts', 'upstream.json'));

  it('load and hold the KFP workloads with images', () => {
    expect(upstream.sources['kfp']).toMatchObject({ upstream: 'kubeflow/pipelines', version: '2.17.0' });
    expect(upstream.sources['kfp-postgresql']).toMatchObject({ upstream: 'kubeflow/pipelines', version: '2.17.0' });
    const kfp = upstream.workloads.filter((w) => w.source === 'kfp');
    const names = kfp.map((w) => w.name);
    for (const name of ['ml-pipeline', 'mysql', 'workflow-controller', 'ml-pipeline-ui', 'cache-server', 'metadata-grpc-deployment']) {
      expect(names).toContain(name);
    }
    for (const w of upstream.workloads) {
      expect(w.containers.length).toBeGreaterThan(0);
      for (const c of [...w.containers, ...w.initContainers]) expect(c.image).not.toBe('');
    }
    const mysql = kfp.find((w) => w.name === 'mysql');
    expect(mysql?.containers[0]?.image).toBe('mysql:8.4');
    expect(upstream.workloads.some((w) => w.source === 'kfp-postgresql' && w.name === 'postgres')).toBe(true);
    expect(kfp.find((w) => w.name === 'workflow-controller')?.rbac).toContain('create pods.core');
  });

  it('keep deviations as a valid list, each with a reason', () => {
    const deviations = loadDeviations(join(ROOT, 'facts', 'deviations.json'));
    for (const d of deviations) expect(d.reason.length).toBeGreaterThan(20);
  });

  it('fail to load with a one-line message', () => {
    expect(() => loadFacts(join(ROOT, 'facts', 'missing.json'))).toThrow(/^cannot read .*missing\.json: ENOENT$/);
    expect(() => loadDeviations(join(ROOT, 'facts', 'upstream.json'))).toThrow(/is not in the expected format/);
  });
});

describe('source-limited deviations', () => {
  it('are not stale when the workload was compared with another source', () => {
    // mysqlObjects() matches MYSQL_FACTS (source kfp) exactly.
    const onlyPostgres: Deviation = { workload: 'kubeflow/mysql', field: 'env', value: 'EXTRA', source: 'kfp-postgresql', reason: 'only in the PostgreSQL variant' };
    expect(checkFidelity(mysqlObjects(), facts(), [onlyPostgres])).toEqual([]);
    const sameSource: Deviation = { ...onlyPostgres, source: 'kfp' };
    expect(messages(mysqlObjects(), [sameSource])).toEqual([expect.stringMatching(/stale deviation: env "EXTRA" of kubeflow\/mysql/)]);
    const unlimited: Deviation = { workload: 'kubeflow/mysql', field: 'env', value: 'EXTRA', reason: 'applies everywhere' };
    expect(messages(mysqlObjects(), [unlimited])).toEqual([expect.stringMatching(/stale deviation/)]);
  });
});
