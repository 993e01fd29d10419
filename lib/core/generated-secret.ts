import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { PROVIDES_ANNOTATION } from '../validate/types';
import { KfkitContext } from './context';
import { ComponentIdentity, standardLabels } from './labels';
import { allowKubeApi } from './network';
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
}

/**
 * The Python program the Job runs: POST the Secret; a 409 (already exists) leaves it untouched. Only the standard
 * library is used. Inputs come from argv: namespace, name, JSON spec of keys.
 */
const PROGRAM = `
import json, os, secrets, ssl, sys, urllib.error, urllib.request
namespace, name, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sa = '/var/run/secrets/kubernetes.io/serviceaccount'
data = {k: v['literal'] if 'literal' in v else secrets.token_urlsafe(v['randomBytes']) for k, v in spec['keys'].items()}
body = {'apiVersion': 'v1', 'kind': 'Secret', 'type': 'Opaque', 'stringData': data,
        'metadata': {'name': name, 'namespace': namespace, 'labels': spec['labels']}}
url = 'https://%s:%s/api/v1/namespaces/%s/secrets' % (os.environ['KUBERNETES_SERVICE_HOST'], os.environ['KUBERNETES_SERVICE_PORT'], namespace)
req = urllib.request.Request(url, data=json.dumps(body).encode(), method='POST')
req.add_header('Authorization', 'Bearer ' + open(sa + '/token').read().strip())
req.add_header('Content-Type', 'application/json')
try:
    urllib.request.urlopen(req, context=ssl.create_default_context(cafile=sa + '/ca.crt'), timeout=30)
    print('created Secret %s/%s' % (namespace, name))
except urllib.error.HTTPError as e:
    if e.code == 409:
        print('Secret %s/%s exists; left unchanged' % (namespace, name))
        sys.exit(0)
    print('creating Secret %s/%s failed: HTTP %d %s' % (namespace, name, e.code, e.read().decode()[:300]), file=sys.stderr)
    sys.exit(1)
`.trim();

/**
 * A Secret whose values are generated inside the cluster on first install, so no value ever appears in the
 * output: a Job (ServiceAccount allowed only to `create` Secrets in its namespace) creates it if absent and
 * leaves an existing one alone — re-applying never rotates credentials.
 *
 * The Job installs in the `credentials` wave (after cluster configuration, before controllers) and `kfkit apply`
 * waits for it to complete, so consumers in later waves always find the Secret. The Job is annotated as the
 * Secret's provider for the validation harness.
 */
export class GeneratedSecret extends Construct {
  /** The wave generated Secrets are created in. Shared by every GeneratedSecret of a platform. */
  public static wave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.find('credentials') ?? plan.addWave('credentials', {
      description: 'Jobs that generate credentials inside the cluster; completed before any consumer starts.',
      after: [plan.cluster],
      before: [plan.controllers],
    });
  }

  /** Name of the Secret. */
  public readonly secretName: string;
  /** Namespace of the Secret. */
  public readonly namespace: string;

  public constructor(scope: Construct, id: string, props: GeneratedSecretProps) {
    super(scope, id);
    for (const [key, value] of Object.entries(props.keys)) {
      if ('randomBytes' in value && (!Number.isInteger(value.randomBytes) || value.randomBytes < 16)) {
        throw new Error(`GeneratedSecret ${props.name}: key "${key}" needs randomBytes >= 16 (got ${value.randomBytes})`);
      }
    }
    this.secretName = props.name;
    this.namespace = props.namespace;
    const ctx = KfkitContext.of(this);
    const jobName = `${props.name}-generator`;
    const identity: ComponentIdentity = { ...props.identity, name: jobName };
    const labels = standardLabels(identity);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: jobName, namespace: props.namespace, labels },
      automountServiceAccountToken: false,
    });
    new k8s.KubeRole(this, 'Role', {
      metadata: { name: jobName, namespace: props.namespace, labels },
      // `create` cannot be narrowed by resourceNames; the Job can create Secrets and do nothing else.
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create'] }],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: jobName, namespace: props.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: jobName },
      subjects: [{ kind: 'ServiceAccount', name: jobName, namespace: props.namespace }],
    });
    const spec = JSON.stringify({ keys: props.keys, labels: standardLabels(props.identity) });
    new k8s.KubeJob(this, 'Job', {
      metadata: {
        name: jobName,
        namespace: props.namespace,
        labels,
        annotations: { [PROVIDES_ANNOTATION]: `Secret/${props.namespace}/${props.name}` },
      },
      spec: {
        backoffLimit: 4,
        template: podTemplate(this, {
          identity,
          serviceAccountName: jobName,
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
      },
    });
    allowKubeApi(this, { peerName: jobName, namespace: props.namespace, podLabels: { 'app.kubernetes.io/name': jobName } });
    ctx.plan.assign(this, GeneratedSecret.wave(this));
  }
}
