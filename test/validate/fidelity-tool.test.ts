import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFidelity, parseFacts } from '../../lib/validate/fidelity';
import { emptyFacts, extractFacts, mergeFacts, parseRender, serializeFacts } from '../../tools/facts/facts';
import { main } from '../../tools/facts/extract';

// A tiny render in the shape kustomize writes (kfkit's own fixture, not upstream YAML).
const RENDER = `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: api
  namespace: demo
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: api-role
  namespace: demo
rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [api-config]
  verbs: [get]
- apiGroups: [argoproj.io]
  resources: [workflows, workflows/finalizers]
  verbs: [create, get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: api-binding
  namespace: demo
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: api-role}
subjects:
- kind: ServiceAccount
  name: api
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: api-cluster
rules:
- apiGroups: [authentication.k8s.io]
  resources: [tokenreviews]
  verbs: [create]
- nonResourceURLs: [/metrics]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: api-cluster
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: api-cluster}
subjects:
- {kind: ServiceAccount, name: api, namespace: demo}
- {kind: Group, name: system:authenticated, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: demo
spec:
  template:
    spec:
      serviceAccountName: api
      initContainers:
      - name: wait
        image: busybox:1.36
        command: [/bin/sh, -c]
        args:
        - |
          until nc -z db 5432; do sleep 1; done
      containers:
      - name: server
        image: example.org/demo/api:1.0.0
        args: [--port=8080, --verbose]
        ports:
        - {containerPort: 9090, name: metrics}
        - {containerPort: 8080, name: http, protocol: TCP}
        env:
        - {name: ZONE, value: eu}
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db-secret, key: password}}
        - name: DB_HOST
          valueFrom: {configMapKeyRef: {name: api-config, key: dbHost}}
        - name: POD_NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        envFrom:
        - secretRef: {name: s3-creds}
        - configMapRef: {name: api-config}
          prefix: CFG_
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: demo
spec:
  template:
    spec:
      containers:
      - name: db
        image: postgres:16
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: demo
spec:
  ports:
  - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-config
  namespace: demo
data:
  dbHost: db
  logLevel: info
---
apiVersion: v1
kind: Secret
metadata:
  name: db-secret
  namespace: demo
type: Opaque
stringData:
  password: not-a-fact
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.org
spec:
  group: example.org
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
  - {name: v1, served: true, storage: true, subresources: {status: {}}}
  - {name: v1beta1, served: true, storage: false}
`;

const META = {
  source: 'demo',
  upstream: 'example/demo',
  version: '1.0.0',
  ref: '0123456789abcdef',
  renderPath: 'manifests/demo',
};

describe('facts tool', () => {
  it('extracts workloads, RBAC via RoleBinding and ClusterRoleBinding, services, CRDs and key names', () => {
    const facts = extractFacts(parseRender(RENDER), META);
    expect(facts.sources).toEqual({ demo: { upstream: 'example/demo', version: '1.0.0', ref: '0123456789abcdef', renderPath: 'manifests/demo' } });
    expect(facts.workloads.map((w) => `${w.kind}/${w.namespace}/${w.name}`)).toEqual(['Deployment/demo/api', 'StatefulSet/demo/db']);
    const api = facts.workloads[0];
    expect(api).toMatchObject({ source: 'demo', serviceAccount: 'api' });
    expect(api.rbac).toEqual([
      'create tokenreviews.authentication.k8s.io',
      'create workflows.argoproj.io',
      'create workflows/finalizers.argoproj.io',
      'get /metrics',
      'get configmaps.core#api-config',
      'get workflows.argoproj.io',
      'get workflows/finalizers.argoproj.io',
    ]);
    expect(api.containers).toEqual([
      {
        name: 'server',
        image: 'example.org/demo/api:1.0.0',
        command: [],
        args: ['--port=8080', '--verbose'],
        ports: [
          { containerPort: 8080, name: 'http', protocol: 'TCP' },
          { containerPort: 9090, name: 'metrics', protocol: 'TCP' },
        ],
        env: [
          { name: 'DB_HOST', from: 'configMapKeyRef', ref: 'api-config', key: 'dbHost' },
          { name: 'DB_PASSWORD', from: 'secretKeyRef', ref: 'db-secret', key: 'password' },
          { name: 'POD_NAMESPACE', from: 'fieldRef', key: 'metadata.namespace' },
          { name: 'ZONE', from: 'value' },
        ],
        envFrom: [
          { from: 'secretRef', ref: 's3-creds' },
          { from: 'configMapRef', ref: 'api-config', prefix: 'CFG_' },
        ],
      },
    ]);
    const wait = api.initContainers[0];
    expect(wait.command).toEqual(['/bin/sh', '-c']);
    expect(wait.args).toEqual([expect.stringMatching(/^<script \d+ chars sha256:[0-9a-f]{12}>$/)]);
    expect(facts.workloads[1]).toMatchObject({ serviceAccount: 'default', rbac: [] });
    expect(facts.serviceAccounts).toEqual([{ source: 'demo', namespace: 'demo', name: 'api', rbac: api.rbac }]);
    expect(facts.services).toEqual([
      { source: 'demo', namespace: 'demo', name: 'api', type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    ]);
    expect(facts.crds).toEqual([
      {
        source: 'demo',
        name: 'widgets.example.org',
        group: 'example.org',
        kind: 'Widget',
        scope: 'Namespaced',
        versions: [
          { name: 'v1', served: true, storage: true, subresources: ['status'] },
          { name: 'v1beta1', served: true, storage: false, subresources: [] },
        ],
      },
    ]);
    expect(facts.configMaps).toEqual([{ source: 'demo', namespace: 'demo', name: 'api-config', keys: ['dbHost', 'logLevel'] }]);
    expect(facts.secrets).toEqual([{ source: 'demo', namespace: 'demo', name: 'db-secret', keys: ['password'], type: 'Opaque' }]);
    expect(JSON.stringify(facts)).not.toContain('not-a-fact');
    expect(JSON.stringify(facts)).not.toContain('nc -z');
  });

  it('writes deterministic, mergeable JSON that validates and that the render itself passes', () => {
    const objects = parseRender(RENDER);
    const one = mergeFacts(emptyFacts(), extractFacts(objects, META));
    const other = extractFacts(objects, { ...META, source: 'demo-b', version: '2.0.0' });
    const both = mergeFacts(one, other);
    const again = mergeFacts(mergeFacts(emptyFacts(), other), extractFacts(objects, META));
    const text = serializeFacts(both);
    expect(serializeFacts(again)).toBe(text);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.startsWith('{\n  "$comment": ')).toBe(true);
    expect(Object.keys(both.sources)).toEqual(['demo', 'demo-b']);
    expect(both.workloads).toHaveLength(4);
    // Re-merging a source replaces its entries.
    expect(mergeFacts(both, other).workloads).toHaveLength(4);
    const parsed = parseFacts(JSON.parse(text));
    const placed = objects.map((manifest) => ({ manifest, wave: 0, waveName: 'all' }));
    expect(checkFidelity(placed, parsed, [], { sources: ['demo'] })).toEqual([]);
  });

  describe('command line', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'kfkit-facts-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    function run(args: string[]): { status: number; out: string[]; err: string[] } {
      const out: string[] = [];
      const err: string[] = [];
      const status = main(args, (l) => out.push(l), (l) => err.push(l));
      return { status, out, err };
    }

    const common = ['--source', 'demo', '--upstream', 'example/demo', '--version', '1.0.0', '--ref', 'abc'];

    it('writes the facts file and merges a second source', () => {
      const render = join(dir, 'render.yaml');
      const out = join(dir, 'facts.json');
      writeFileSync(render, RENDER);
      expect(run(['--render', render, ...common, '--out', out]).status).toBe(0);
      const args2 = ['--render', render, ...common.slice(0, 1), 'demo-b', ...common.slice(2), '--out', out, '--merge'];
      const second = run(args2);
      expect(second).toMatchObject({ status: 0, err: [] });
      expect(second.out[0]).toContain('demo-b: 2 workloads');
      const facts = parseFacts(JSON.parse(readFileSync(out, 'utf8')));
      expect(Object.keys(facts.sources)).toEqual(['demo', 'demo-b']);
      expect(facts.sources['demo'].renderPath).toBe('render.yaml');
    });

    it('exits 2 with one line when --render is missing or unreadable', () => {
      const missing = run([...common, '--out', join(dir, 'f.json')]);
      expect(missing.status).toBe(2);
      expect(missing.err).toHaveLength(1);
      expect(missing.err[0]).toMatch(/^facts: --render is required/);
      const unreadable = run(['--render', join(dir, 'nope.yaml'), ...common, '--out', join(dir, 'f.json')]);
      expect(unreadable).toMatchObject({ status: 2, err: [expect.stringMatching(/^facts: cannot read .*nope\.yaml: ENOENT$/)] });
      expect(run(['--bogus']).status).toBe(2);
    });

    it('exits 2 on a YAML error', () => {
      const render = join(dir, 'bad.yaml');
      writeFileSync(render, 'kind: [unclosed\n');
      const r = run(['--render', render, ...common, '--out', join(dir, 'f.json')]);
      expect(r.status).toBe(2);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^facts: .*bad\.yaml: YAML error/);
    });
  });
});
