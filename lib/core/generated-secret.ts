import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { PROVIDES_ANNOTATION } from '../validate/types';
import { KfkitContext } from './context';
import { oneShotJobName } from './job-name';
import { ComponentIdentity, standardLabels } from './labels';
import { allowKubeApi } from './network';
import { serviceAccountWithRole } from './rbac';
import { Wave } from './waves';
import { podTemplate } from './workload';

/** How one key of a generated Secret gets its value. */
export type GeneratedValue =
  /** A fixed, non-secret value (a user name). */
  | { readonly literal: string }
  /** A random URL-safe string made from `bytes` random bytes (Python `secrets.token_urlsafe`). */
  | { readonly randomBytes: number };

/** Props of {@link GeneratedSecret}. */
export interface GeneratedSecretProps {
  /** Name of the Secret to create. */
  readonly name: string;
  /** Namespace of the Secret (and of the Job that creates it). */
  readonly namespace: string;
  /** Keys and how each value is made. */
  readonly keys: Readonly<Record<string, GeneratedValue>>;
  /** Labels for the Job's pods and objects. */
  readonly identity: ComponentIdentity;
  /**
   * Further Secrets the same Job creates from the same values, for consumers that read one credential under different
   * Secret names or keys (a server's root password and its clients' password), in this namespace or another one (a
   * client secret shared by an OAuth client and its identity provider).
   * @default - none: the Job creates only `name`
   */
  readonly sharedWith?: readonly SharedSecret[];
}

/**
 * A Secret made from values of a {@link GeneratedSecret}: each of its keys names the generated key whose value it
 * carries. The Job reuses the values of whichever of its Secrets already exist, so the Secrets never drift apart,
 * even when one of them is deleted or an earlier run stopped half-way.
 */
export interface SharedSecret {
  /** Name of the Secret. */
  readonly name: string;
  /**
   * Namespace of the Secret. In another namespace, the generator's ServiceAccount gets a Role there that allows
   * creating Secrets and reading exactly the shared ones.
   * @default - the namespace of the {@link GeneratedSecret}
   */
  readonly namespace?: string;
  /** Its keys, each mapped to a key of {@link GeneratedSecretProps.keys}, e.g. `{ root_password: 'password' }`. */
  readonly keys: Readonly<Record<string, string>>;
}

/**
 * The Kubernetes API client of kfkit's Python Jobs (standard library only): `api` (the namespaces URL of the in-cluster
 * API server) and `call(method, url, body=None)`, authenticated with the pod's ServiceAccount token. Needs `json`, `os`,
 * `ssl` and `urllib.request` imported.
 */
export const PYTHON_KUBE_CLIENT = `
sa = '/var/run/secrets/kubernetes.io/serviceaccount'
api = 'https://%s:%s/api/v1/namespaces/' % (os.environ['KUBERNETES_SERVICE_HOST'], os.environ['KUBERNETES_SERVICE_PORT'])
tls = ssl.create_default_context(cafile=sa + '/ca.crt')
token = open(sa + '/token').read().strip()
def call(method, url, body=None):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method)
    req.add_header('Authorization', 'Bearer ' + token)
    req.add_header('Content-Type', 'application/json')
    return json.loads(urllib.request.urlopen(req, context=tls, timeout=30).read() or b'{}')
`.trim();

/**
 * The Python program the Job runs: POST each Secret; a 409 (already exists) leaves it untouched. Only the standard
 * library is used. Inputs come from argv: namespace, name, JSON spec (`keys`, `labels` and, for shared Secrets,
 * `also`: a list of `{name, namespace?, keys: {key: generated key}}`). With shared Secrets the Job first reads the
 * existing ones (GET on exactly those names) and reuses their values, so every Secret carries the same credential.
 */
const PROGRAM = `
import base64, json, os, secrets, ssl, sys, urllib.error, urllib.request
namespace, name, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
${PYTHON_KUBE_CLIENT}
targets = [(namespace, name, {k: k for k in spec['keys']})] + [(s.get('namespace', namespace), s['name'], s['keys']) for s in spec.get('also', [])]
values = {}
if len(targets) > 1:
    for ns, target, keys in targets:
        try:
            data = call('GET', api + ns + '/secrets/' + target).get('data') or {}
        except urllib.error.HTTPError as e:
            if e.code == 404:
                continue
            print('reading Secret %s/%s failed: HTTP %d %s' % (ns, target, e.code, e.read().decode()[:300]), file=sys.stderr)
            sys.exit(1)
        for key, source in keys.items():
            if key in data and source not in values:
                values[source] = base64.b64decode(data[key]).decode()
                print('Secret %s/%s exists; reusing its %s' % (ns, target, key))
for k, v in spec['keys'].items():
    if k not in values:
        values[k] = v['literal'] if 'literal' in v else secrets.token_urlsafe(v['randomBytes'])
for ns, target, keys in targets:
    body = {'apiVersion': 'v1', 'kind': 'Secret', 'type': 'Opaque', 'stringData': {k: values[s] for k, s in keys.items()},
            'metadata': {'name': target, 'namespace': ns, 'labels': spec['labels']}}
    try:
        call('POST', api + ns + '/secrets', body)
        print('created Secret %s/%s' % (ns, target))
    except urllib.error.HTTPError as e:
        if e.code != 409:
            print('creating Secret %s/%s failed: HTTP %d %s' % (ns, target, e.code, e.read().decode()[:300]), file=sys.stderr)
            sys.exit(1)
        print('Secret %s/%s exists; left unchanged' % (ns, target))
`.trim();


/**
 * A Secret whose values are generated inside the cluster on first install, so no value ever appears in the
 * output: a Job (ServiceAccount allowed only to `create` Secrets in its namespace) creates it if absent and
 * leaves an existing one alone — re-applying never rotates credentials.
 *
 * The Job installs in the `credentials` wave (after cluster configuration, before controllers) and `kfkit apply`
 * waits for it to complete, so consumers in later waves always find the Secret. The Job is annotated as the
 * Secret's provider for the validation harness.
 *
 * With `sharedWith`, the same Job also creates further Secrets from the same values (one credential that a server
 * and its clients read under different names), also in other namespaces; it is annotated as the provider of each.
 *
 * The Job is named after its spec ({@link oneShotJobName}: `<secret>-generator-<hash>`, see {@link GeneratedSecret.jobName}), since
 * a Job's pod template is immutable: a new image (catalog tag, registry mirror), program or key list makes a new
 * Job, which runs once and, as always, leaves existing Secrets alone; an unchanged one keeps its name. Its
 * ServiceAccount, Role and RoleBinding keep the stable name `<secret>-generator`, as do the pods' labels.
 */
export class GeneratedSecret extends Construct {
  /** The wave generated Secrets are created in. Shared by every GeneratedSecret of a platform. */
  public static wave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.ensureWave('credentials', {
      description: 'Jobs that generate credentials inside the cluster; completed before any consumer starts.',
      after: [plan.cluster],
      before: [plan.controllers],
    });
  }

  /** Name of the Secret. */
  public readonly secretName: string;
  /** Names of every Secret the Job creates: {@link secretName}, then the shared ones in the order given. */
  public readonly secretNames: readonly string[];
  /** Namespace of the Secret. */
  public readonly namespace: string;
  /**
   * Name of the Job that creates the Secrets: `<secret>-generator-<8 hex characters>`, the hash of the Job's spec
   * ({@link oneShotJobName}), so it changes whenever the Job would (image, program, keys, labels).
   */
  public readonly jobName: string;
  /** Name of the Job's ServiceAccount, Role and RoleBinding, and of its pods (label): `<secret>-generator`, stable. */
  public readonly generatorName: string;

  public constructor(scope: Construct, id: string, props: GeneratedSecretProps) {
    super(scope, id);
    for (const [key, value] of Object.entries(props.keys)) {
      if ('randomBytes' in value && (!Number.isInteger(value.randomBytes) || value.randomBytes < 16)) {
        throw new Error(`GeneratedSecret ${props.name}: key "${key}" needs randomBytes >= 16 (got ${value.randomBytes})`);
      }
    }
    const shared = props.sharedWith ?? [];
    const names = [props.name, ...shared.map((x) => x.name)];
    const qualified = [`${props.namespace}/${props.name}`, ...shared.map((x) => `${x.namespace ?? props.namespace}/${x.name}`)];
    for (const [i, other] of shared.entries()) {
      if (qualified.indexOf(qualified[i + 1]) !== i + 1) {
        throw new Error(`GeneratedSecret ${props.name}: Secret "${other.namespace !== undefined ? qualified[i + 1] : other.name}" is named twice`);
      }
      if (Object.keys(other.keys).length === 0) throw new Error(`GeneratedSecret ${props.name}: shared Secret "${other.name}" has no keys`);
      for (const [key, source] of Object.entries(other.keys)) {
        if (!Object.hasOwn(props.keys, source)) {
          throw new Error(`GeneratedSecret ${props.name}: key "${key}" of shared Secret "${other.name}" names "${source}", which is not a generated key`);
        }
      }
    }
    this.secretName = props.name;
    this.secretNames = names;
    this.namespace = props.namespace;
    const ctx = KfkitContext.of(this);
    const generator = `${props.name}-generator`;
    this.generatorName = generator;
    const identity: ComponentIdentity = { ...props.identity, name: generator };
    const labels = standardLabels(identity);

    // `create` cannot be narrowed by resourceNames; the Job can create Secrets and do nothing else — except, when
    // it keeps several Secrets in step, read exactly those (to reuse the values of the ones that already exist).
    const rulesIn = (namespace: string): k8s.PolicyRule[] => {
      const here = qualified.filter((q) => q.startsWith(`${namespace}/`)).map((q) => q.slice(namespace.length + 1));
      return [
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        ...(shared.length > 0 ? [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: here }] : []),
      ];
    };
    const { serviceAccount } = serviceAccountWithRole(this, {
      name: generator,
      namespace: props.namespace,
      labels,
      automountServiceAccountToken: false,
      rules: rulesIn(props.namespace),
    });
    // The same rights in each other namespace a shared Secret lives in, bound to the ServiceAccount of this one.
    const others = [...new Set(shared.map((x) => x.namespace ?? props.namespace))].filter((ns) => ns !== props.namespace);
    for (const ns of others) {
      new k8s.KubeRole(this, `Role-${ns}`, { metadata: { name: generator, namespace: ns, labels }, rules: rulesIn(ns) });
      new k8s.KubeRoleBinding(this, `RoleBinding-${ns}`, {
        metadata: { name: generator, namespace: ns, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: generator },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccount.name, namespace: props.namespace }],
      });
    }
    const spec = JSON.stringify({
      keys: props.keys,
      labels: standardLabels(props.identity),
      ...(shared.length > 0
        ? { also: shared.map((x) => ({ name: x.name, ...(x.namespace !== undefined ? { namespace: x.namespace } : {}), keys: x.keys })) }
        : {}),
    });
    const jobSpec: k8s.JobSpec = {
      backoffLimit: 4,
      template: podTemplate(this, {
        identity,
        serviceAccountName: generator,
        automountServiceAccountToken: true,
        restartPolicy: 'OnFailure',
        security: { user: 65534, group: 65534 },
        containers: [{
          name: 'generate',
          image: ctx.images.image('kfkit-python'),
          command: ['python3', '-c', PROGRAM],
          args: [props.namespace, props.name, spec],
          resources: { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '64Mi' } },
        }],
      }),
    };
    this.jobName = oneShotJobName(generator, jobSpec);
    new k8s.KubeJob(this, 'Job', {
      metadata: {
        name: this.jobName,
        namespace: props.namespace,
        labels,
        annotations: { [PROVIDES_ANNOTATION]: qualified.map((q) => `Secret/${q}`).join(',') },
      },
      spec: jobSpec,
    });
    allowKubeApi(this, { peerName: generator, namespace: props.namespace, podLabels: { 'app.kubernetes.io/name': generator } });
    ctx.plan.assign(this, GeneratedSecret.wave(this));
  }
}
