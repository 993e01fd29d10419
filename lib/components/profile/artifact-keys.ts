import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from '../../core/context';
import { PYTHON_KUBE_CLIENT } from '../../core/generated-secret';
import { oneShotJobName } from '../../core/job-name';
import { ComponentIdentity, standardLabels } from '../../core/labels';
import { allowKubeApi, NetworkPeer } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { IProfile } from '../../core/tenancy';
import { Wave } from '../../core/waves';
import { podTemplate } from '../../core/workload';
import { PROVIDES_ANNOTATION } from '../../validate/types';
import { PROFILE_ARTIFACT_SECRET } from '../pipelines';
import { SeaweedfsArtifactStore } from '../seaweedfs';

/** Name of the inline policy each profile's store identity gets. */
export const PROFILE_KEYS_POLICY = 'kfkit-profile-artifacts';

/** Props of {@link ProfileArtifactKeys}. */
export interface ProfileArtifactKeysProps {
  /** Namespace of the provisioning Job: the platform namespace, where the store's admin keys are. */
  readonly namespace: string;
  /** The in-cluster store, whose IAM API (port 8111) issues the identities. */
  readonly store: SeaweedfsArtifactStore;
}

const NAME = 'profile-artifact-keys';

/** An IAM policy document as SeaweedFS's IAM API takes it (Allow statements on S3 resources). */
export interface StorePolicy {
  readonly Version: '2012-10-17';
  readonly Statement: readonly { readonly Effect: 'Allow'; readonly Action: readonly string[]; readonly Resource: readonly string[] }[];
}

/**
 * The policy of one profile's store user: upstream's object actions (`s3:Put*`, `s3:Get*`, `s3:List*`,
 * `s3:DeleteObject`), on the profile's prefix only. SeaweedFS turns `arn:aws:s3:::<bucket>/<prefix>*` into identity
 * actions on that key prefix; an action on a prefix with a wildcard grants keys below it and nothing else.
 */
export function profileKeyPolicy(bucket: string, prefix: string): StorePolicy {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:Put*', 's3:Get*', 's3:List*', 's3:DeleteObject'], Resource: [`arn:aws:s3:::${bucket}/${prefix}*`] }],
  };
}
const CONFIG_DIR = '/etc/kfkit';
const PROFILES_FILE = 'profiles.json';

/**
 * The provisioning program: for each profile, keep the keys of its Secret (or make new ones when it has none), make sure
 * the store has an IAM user named after the namespace holding exactly that access key, put the user's policy
 * (object actions on the profile's prefix only) and, for a new key, create the Secret. Idempotent: a rerun changes
 * nothing that is in place, and a store that lost its identities gets them back with the keys the Secrets hold.
 * Standard library only; SeaweedFS's IAM API speaks AWS's query protocol, signed with Signature Version 4.
 */
const PROGRAM = `
import base64, datetime, hashlib, hmac, json, os, secrets, ssl, string, sys, urllib.error, urllib.parse, urllib.request
import xml.etree.ElementTree as ET
secret_name, access_field, secret_field, config = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
spec = json.load(open(config))
iam, region, policy_name = os.environ['IAM_ENDPOINT'], spec['region'], spec['policyName']
admin_key, admin_secret = os.environ['ADMIN_ACCESS_KEY'], os.environ['ADMIN_SECRET_KEY']
${PYTHON_KUBE_CLIENT}
def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()
def iam_call(action, **params):
    body = urllib.parse.urlencode(sorted(dict(Action=action, Version='2010-05-08', **params).items()))
    host = urllib.parse.urlparse(iam).netloc
    amz = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
    scope = '%s/%s/iam/aws4_request' % (amz[:8], region)
    digest = hashlib.sha256(body.encode()).hexdigest()
    ctype = 'application/x-www-form-urlencoded; charset=utf-8'
    signed = 'content-type;host;x-amz-content-sha256;x-amz-date'
    canonical = '\\n'.join(['POST', '/', '', 'content-type:' + ctype, 'host:' + host, 'x-amz-content-sha256:' + digest,
                           'x-amz-date:' + amz, '', signed, digest])
    to_sign = '\\n'.join(['AWS4-HMAC-SHA256', amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = hm(hm(hm(hm(('AWS4' + admin_secret).encode(), amz[:8]), region), 'iam'), 'aws4_request')
    req = urllib.request.Request(iam + '/', data=body.encode(), method='POST')
    req.add_header('Content-Type', ctype)
    req.add_header('X-Amz-Date', amz)
    req.add_header('X-Amz-Content-Sha256', digest)
    req.add_header('Authorization', 'AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s'
                   % (admin_key, scope, signed, hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()))
    try:
        return True, urllib.request.urlopen(req, timeout=30).read().decode()
    except urllib.error.HTTPError as e:
        return False, e.read().decode()[:500]
def must(action, **params):
    ok, text = iam_call(action, **params)
    if not ok:
        print('%s %s failed: %s' % (action, params.get('UserName', ''), text), file=sys.stderr)
        sys.exit(1)
    return text
alphabet = string.ascii_uppercase + string.digits
for p in spec['profiles']:
    ns, user = p['namespace'], p['namespace']
    try:
        data = call('GET', api + ns + '/secrets/' + secret_name).get('data') or {}
        key, secret, new = base64.b64decode(data[access_field]).decode(), base64.b64decode(data[secret_field]).decode(), False
    except urllib.error.HTTPError as e:
        if e.code != 404:
            print('reading Secret %s/%s failed: HTTP %d' % (ns, secret_name, e.code), file=sys.stderr)
            sys.exit(1)
        key, secret, new = ''.join(secrets.choice(alphabet) for _ in range(20)), secrets.token_urlsafe(30), True
    ok, text = iam_call('GetUser', UserName=user)
    if not ok:
        if 'NoSuchEntity' not in text:
            print('GetUser %s failed: %s' % (user, text), file=sys.stderr)
            sys.exit(1)
        must('CreateUser', UserName=user)
        print('created store user %s' % user)
    keys = [e.text for e in ET.fromstring(must('ListAccessKeys', UserName=user)).iter() if e.tag.endswith('AccessKeyId')]
    if key not in keys:
        must('CreateAccessKey', UserName=user, AccessKeyId=key, SecretAccessKey=secret)
        print('registered the access key of %s/%s' % (ns, secret_name))
    must('PutUserPolicy', UserName=user, PolicyName=policy_name, PolicyDocument=json.dumps(p['policy'], sort_keys=True))
    if new:
        body = {'apiVersion': 'v1', 'kind': 'Secret', 'type': 'Opaque', 'stringData': {access_field: key, secret_field: secret},
                'metadata': {'name': secret_name, 'namespace': ns, 'labels': spec['labels']}}
        call('POST', api + ns + '/secrets', body)
        print('created Secret %s/%s' % (ns, secret_name))
    print('%s: keys limited to %s' % (ns, ', '.join(p['policy']['Statement'][0]['Resource'])))
`.trim();

/**
 * Per-profile artifact credentials on the in-cluster store: each profile namespace gets Secret
 * `mlpipeline-minio-artifact` (keys `accesskey`/`secretkey`, what multi-user Pipelines and Argo read there) holding the
 * access key of a SeaweedFS IAM user named after the namespace, whose only policy allows object actions on
 * `arn:aws:s3:::<bucket>/<artifactPrefix>*` — one profile's keys cannot read, list or write another's artifacts.
 *
 * Upstream (kubeflow/pipelines 2.17.0 multi-user) does this in its metacontroller hook (`sync.py`), granting also
 * `artifacts/*`, `private/<ns>/*` and `shared/*`. kfkit grants the profile's prefix only: its Pipelines configuration
 * points every run of a profile at that prefix (`kfp-launcher`, `artifact-repositories`), and a shared prefix would be
 * a channel between tenants.
 *
 * One Job for all profiles ({@link ProfileArtifactKeys.add}; in the platform namespace, `tenant-credentials` wave after
 * the profiles), named after its spec and profile list so a change runs it again; idempotent (see the program). Its ServiceAccount may create Secrets
 * and read exactly `mlpipeline-minio-artifact` in profile namespaces only (a RoleBinding per profile to one
 * ClusterRole), reach the Kubernetes API and the store's IAM port. Secret values never appear in the output.
 *
 * Not done: removing a profile leaves its store user (its Secret goes with the namespace); delete it with the IAM API.
 */
export class ProfileArtifactKeys extends Construct {
  /** The wave of the provisioning Job: after the profiles' namespaces and bindings exist. */
  public static wave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.ensureWave('tenant-credentials', {
      description: 'Per-profile credentials provisioned once the profiles exist.',
      after: [plan.tenants],
    });
  }

  private readonly profiles = new Map<string, IProfile>();
  private readonly bucket: string;
  private readonly region: string;
  private readonly jobSpec: k8s.JobSpec;
  private readonly bindingLabels: Record<string, string>;
  private readonly jobNamespace: string;

  public constructor(scope: Construct, id: string, props: ProfileArtifactKeysProps) {
    super(scope, id);
    const store = props.store;
    const credentials = store.credentials;
    if (credentials.type !== 'secret') throw new Error('ProfileArtifactKeys: the store\'s admin credentials must be keys in a Secret');
    const ctx = KfkitContext.of(this);
    const ns = props.namespace;
    const identity: ComponentIdentity = { name: NAME, component: 'tenancy' };
    const labels = standardLabels(identity);
    this.bucket = store.bucket;
    this.region = store.region;
    this.bindingLabels = labels;
    this.jobNamespace = ns;

    serviceAccountWithRole(this, { name: NAME, namespace: ns, labels, automountServiceAccountToken: false });
    const clusterRole = new k8s.KubeClusterRole(this, 'ClusterRole', {
      metadata: { name: NAME, labels },
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: [PROFILE_ARTIFACT_SECRET.name] },
      ],
    });
    ctx.plan.assign(clusterRole, ctx.plan.cluster);

    // The profile list, and with it the Job's name and what it provides, are known once every profile is added.
    new k8s.KubeConfigMap(this, 'Profiles', {
      metadata: { name: NAME, namespace: ns, labels },
      data: { [PROFILES_FILE]: Lazy.any({ produce: () => this.config() }) as unknown as string },
    });
    const secretEnv = (name: string, key: string): k8s.EnvVar => ({ name, valueFrom: { secretKeyRef: { name: credentials.secretName, key } } });
    this.jobSpec = {
      backoffLimit: 4,
      template: podTemplate(this, {
        identity,
        serviceAccountName: NAME,
        automountServiceAccountToken: true,
        restartPolicy: 'OnFailure',
        security: { user: 65534, group: 65534 },
        containers: [{
          name: 'provision',
          image: ctx.images.image('kfkit-python'),
          command: ['python3', '-c', PROGRAM],
          args: [PROFILE_ARTIFACT_SECRET.name, PROFILE_ARTIFACT_SECRET.accessKeyKey, PROFILE_ARTIFACT_SECRET.secretKeyKey, `${CONFIG_DIR}/${PROFILES_FILE}`],
          env: [
            { name: 'IAM_ENDPOINT', value: store.iamEndpoint },
            secretEnv('ADMIN_ACCESS_KEY', credentials.accessKeyKey),
            secretEnv('ADMIN_SECRET_KEY', credentials.secretKeyKey),
          ],
          volumeMounts: [{ name: 'profiles', mountPath: CONFIG_DIR, readOnly: true }],
          resources: { cpu: { request: '10m' }, memory: { request: '32Mi', limit: '128Mi' } },
        }],
        volumes: [{ name: 'profiles', configMap: { name: NAME } }],
      }),
    };
    new k8s.KubeJob(this, 'Job', {
      metadata: {
        name: Lazy.any({ produce: () => this.jobName }) as unknown as string, namespace: ns, labels,
        annotations: {
          [PROVIDES_ANNOTATION]: Lazy.any({ produce: () => this.sorted().map((p) => `Secret/${p.namespace}/${PROFILE_ARTIFACT_SECRET.name}`).join(',') }) as unknown as string,
        },
      },
      spec: this.jobSpec,
    });
    const peer: NetworkPeer = { peerName: NAME, namespace: ns, podLabels: { 'app.kubernetes.io/name': NAME } };
    allowKubeApi(this, peer);
    store.allowIamFrom(peer);
    ctx.plan.assign(this, ProfileArtifactKeys.wave(this));
  }

  /**
   * Gives `profile` its keys: its namespace joins the Job's list, and a RoleBinding there (under the profile, so it
   * installs with it) lets the Job create the Secret.
   */
  public add(profile: IProfile): void {
    if (this.profiles.has(profile.namespace)) throw new Error(`ProfileArtifactKeys: profile ${profile.namespace} is added twice`);
    this.profiles.set(profile.namespace, profile);
    new k8s.KubeRoleBinding(profile.scope, 'ArtifactKeysBinding', {
      metadata: { name: NAME, namespace: profile.namespace, labels: this.bindingLabels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: this.jobNamespace }],
    });
  }

  /** The policy of each profile's store user, by namespace. */
  public get policies(): Readonly<Record<string, StorePolicy>> {
    return Object.fromEntries(this.sorted().map((p) => [p.namespace, profileKeyPolicy(this.bucket, p.artifactPrefix)]));
  }

  /** Name of the Job: `profile-artifact-keys-<hash of its spec and the profile list>`, so a change runs it again. */
  public get jobName(): string {
    return oneShotJobName(NAME, { jobSpec: this.jobSpec, config: this.config() });
  }

  private sorted(): IProfile[] {
    return [...this.profiles.values()].sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  }

  private config(): string {
    const policies = this.policies;
    return JSON.stringify({
      region: this.region,
      policyName: PROFILE_KEYS_POLICY,
      labels: standardLabels({ name: PROFILE_ARTIFACT_SECRET.name, component: 'tenancy' }),
      profiles: this.sorted().map((p) => ({ namespace: p.namespace, policy: policies[p.namespace] })),
    });
  }
}
