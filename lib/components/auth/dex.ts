import { createHash } from 'node:crypto';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { stringify } from 'yaml';
import { KfkitContext } from '../../core/context';
import { CustomResourceDefinition, Schema } from '../../core/crd';
import { ComponentIdentity, selectorLabels, standardLabels } from '../../core/labels';
import { IKubeflowGateway } from '../../core/mesh';
import { PlatformNamespace } from '../../core/namespace';
import { addressRulesFor, allowEgressToAddresses, allowKubeApi, checkedCidrs, NetworkPeer, NetworkPort } from '../../core/network';
import { serviceAccountWithRole } from '../../core/rbac';
import { ResourceBudget } from '../../core/security';
import { clusterIpService, deployment, servicePort } from '../../core/workload';
import { AuthSecretKeyRef, DexConnector, DexConnectorType, DexStaticUser } from './props';
import { exposeWebApp } from '../gateway';
import { allowFromIstiod, AUTH_COMPONENT, DEX_PATH, DEX_PORT, serviceHost } from './shared';

/** Name of Dex's Deployment, Service, ServiceAccount, Role and ConfigMap (upstream's). */
const NAME = 'dex';
/** Dex's API group for its kubernetes storage. */
const DEX_GROUP = 'dex.coreos.com';
/**
 * The kinds Dex v2.45 keeps in its kubernetes storage (dexidp/dex `storage/kubernetes/types.go`: kind, plural;
 * namespaced, version v1, fields kept as written). kfkit installs them all with the platform instead of letting Dex
 * create them at start, so Dex needs no right to create CRDs (`crdHandling: check`).
 */
const DEX_KINDS: readonly (readonly [string, string, string])[] = [
  ['AuthCode', 'authcodes', 'authcode'],
  ['AuthRequest', 'authrequests', 'authrequest'],
  ['OAuth2Client', 'oauth2clients', 'oauth2client'],
  ['SigningKey', 'signingkeies', 'signingkey'],
  ['RefreshToken', 'refreshtokens', 'refreshtoken'],
  ['Password', 'passwords', 'password'],
  ['OfflineSessions', 'offlinesessionses', 'offlinesessions'],
  ['Connector', 'connectors', 'connector'],
  ['DeviceRequest', 'devicerequests', 'devicerequest'],
  ['DeviceToken', 'devicetokens', 'devicetoken'],
];
/** Where the ConfigMap with Dex's configuration is mounted (upstream's path). */
const CONFIG_DIR = '/etc/dex/cfg';
/** Where the admins' Secrets (password hashes, connector configurations) are mounted. */
const SECRETS_DIR = '/etc/dex/secrets';
/**
 * The Dex image's entrypoint: for `dex serve <file>.yaml` it renders the file with gomplate (shipped in the image) into
 * /tmp and starts Dex on the result (dexidp/dex `cmd/docker-entrypoint`). Upstream's command bypasses it.
 */
const ENTRYPOINT = '/usr/local/bin/docker-entrypoint';
/** UID and GID of the Dex image's `dex` user (upstream sets them too: the image names its user). */
const DEX_UID = 1001;
/** Environment variables with the client id and secret of oauth2-proxy at Dex, read through `idEnv`/`secretEnv`. */
export const DEX_CLIENT_ENV = { id: 'OIDC_CLIENT_ID', secret: 'OIDC_CLIENT_SECRET' } as const;
/** Secret with those two variables (upstream's name), created by oauth2-proxy's credentials Job. */
export const DEX_CLIENT_SECRET = 'dex-oidc-client';
/** Marker kfkit puts where the rendered configuration gets a gomplate action; refused in user-supplied text. */
export const TEMPLATE_SLOT = 'KFKIT-GOMPLATE-SLOT-';

/** Props of {@link Dex}. */
export interface DexProps {
  /** Namespace (created here). */
  readonly namespace: string;
  /** The gateway Dex is reached through (`/dex/`). */
  readonly gateway: IKubeflowGateway;
  /** Issuer URL (`https://<host>/dex`). */
  readonly issuer: string;
  /** oauth2-proxy's redirect URI, the only one Dex accepts for its client. */
  readonly redirectUri: string;
  /** Users with passwords. */
  readonly staticUsers: readonly DexStaticUser[];
  /** Upstream identity providers. */
  readonly connectors: readonly DexConnector[];
  /** Compute budget. */
  readonly resources: ResourceBudget;
}

/** The file name of a connector's configuration in {@link SECRETS_DIR}. */
function connectorFile(c: DexConnector): string {
  return `connector-${c.id}.yaml`;
}

/** The file name of a static user's password hash in {@link SECRETS_DIR}. */
function passwordFile(index: number): string {
  return `password-${index}`;
}

/** A stable user id for a static user (Dex's `sub`), derived from the e-mail. */
export function staticUserId(email: string): string {
  return createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 32);
}

/**
 * Dex's configuration file. It holds no secret: password hashes and connector configurations are gomplate actions
 * that read the admins' Secrets, mounted as files, when the Dex image renders the file at start; oauth2-proxy's client
 * id and secret are read by Dex from the environment (`idEnv`, `secretEnv`). Any `{{`/`}}` in kfkit's own text is
 * escaped, so only kfkit's actions are evaluated.
 */
export function dexConfig(props: Pick<DexProps, 'issuer' | 'redirectUri' | 'staticUsers' | 'connectors'>): string {
  const actions: string[] = [];
  const slot = (action: string): string => {
    actions.push(action);
    return `${TEMPLATE_SLOT}${actions.length - 1}`;
  };
  const read = (file: string): string => `file.Read ${JSON.stringify(`${SECRETS_DIR}/${file}`)}`;
  const doc = {
    issuer: props.issuer,
    storage: { type: 'kubernetes', config: { inCluster: true, crdHandling: 'check' } },
    web: { http: `0.0.0.0:${DEX_PORT}` },
    logger: { level: 'info', format: 'text' },
    oauth2: { skipApprovalScreen: true },
    enablePasswordDB: props.staticUsers.length > 0,
    ...(props.staticUsers.length > 0 ? {
      staticPasswords: props.staticUsers.map((u, i) => ({
        email: u.email,
        username: u.username ?? u.email.split('@')[0],
        userID: staticUserId(u.email),
        hash: slot(`{{ ${read(passwordFile(i))} | strings.TrimSpace | data.ToJSON }}`),
      })),
    } : {}),
    staticClients: [{ idEnv: DEX_CLIENT_ENV.id, secretEnv: DEX_CLIENT_ENV.secret, name: 'Kubeflow', redirectURIs: [props.redirectUri] }],
    ...(props.connectors.length > 0 ? {
      connectors: props.connectors.map((c) => ({
        type: c.type, id: c.id, name: c.name, config: slot(`{{ ${read(connectorFile(c))} | data.YAML | data.ToJSON }}`),
      })),
    } : {}),
  };
  const body = stringify(doc, { lineWidth: 0 })
    .replace(/\{\{|\}\}/g, (braces) => `{{ "${braces}" }}`)
    .replace(new RegExp(`${TEMPLATE_SLOT}(\\d+)`, 'g'), (_, i: string) => actions[Number(i)]);
  return [
    '# Dex configuration written by kfkit. The Dex image renders this file with gomplate when Dex starts: the actions',
    `# read password hashes and connector configurations from the Secrets mounted at ${SECRETS_DIR}.`,
    body,
  ].join('\n');
}

/** TCP ports Dex opens to reach the identity providers of its connectors. */
function connectorPorts(types: readonly DexConnectorType[]): NetworkPort[] {
  const ports = new Set<number>();
  for (const t of types) {
    if (t === 'ldap') {
      ports.add(389);
      ports.add(636);
    } else {
      ports.add(443);
    }
  }
  return [...ports].sort((a, b) => a - b).map((port) => ({ port }));
}

/**
 * Dex v2.45 (namespace `auth`), as kubeflow/manifests 26.03 installs it (`common/dex/overlays/oauth2-proxy`): Deployment,
 * ServiceAccount, Service and ConfigMap `dex`, port 5556, kubernetes storage, oauth2-proxy as its one client (id and
 * secret from Secret `dex-oidc-client`), routed at `/dex/` on the gateway.
 *
 * Differences, each for a reason: the issuer is the public `https://<host>/dex` (upstream's in-cluster URL breaks
 * connectors and clients outside the cluster); every Dex CRD is installed with the platform and Dex only checks them,
 * so its rights are namespaced to its own storage; password hashes and connector configurations come from the admins'
 * Secrets (mounted files, read by the image's gomplate step), never from kfkit's output; `DEX_EXPAND_ENV=false` keeps a
 * `$` in a connector secret as written.
 *
 * Network: gateway → Dex, istiod → Dex (JWKS), Dex → Kubernetes API (storage), Dex → connectors' providers (HTTPS; LDAP
 * 389/636). oauth2-proxy opens its own connection to Dex.
 */
export class Dex extends Construct {
  /** Dex's pods. */
  public readonly peer: NetworkPeer;
  /** In-cluster base URL of Dex's endpoints (`http://dex.<ns>.svc.cluster.local:5556/dex`). */
  public readonly serviceUrl: string;

  public constructor(scope: Construct, id: string, props: DexProps) {
    super(scope, id);
    const ns = props.namespace;
    const ctx = KfkitContext.of(this);
    const identity: ComponentIdentity = { name: NAME, component: AUTH_COMPONENT, version: ctx.images.entry('dex').tag };
    const labels = standardLabels(identity);
    this.peer = { peerName: NAME, namespace: ns, podLabels: selectorLabels(identity) };
    this.serviceUrl = `http://${serviceHost(NAME, ns)}:${DEX_PORT}${DEX_PATH}`;

    new PlatformNamespace(this, 'Namespace', { name: ns });
    for (const [kind, plural, singular] of DEX_KINDS) {
      new CustomResourceDefinition(this, `Crd${kind}`, {
        group: DEX_GROUP, kind, plural, singular, scope: 'Namespaced', labels,
        versions: [{ name: 'v1', storage: true, schema: Schema.object({}, { preserveUnknown: true }) }],
      });
    }
    serviceAccountWithRole(this, {
      name: NAME,
      namespace: ns,
      labels,
      // Dex keeps its state (keys, sessions, codes) as objects of its CRDs in its own namespace.
      rules: [{ apiGroups: [DEX_GROUP], resources: ['*'], verbs: ['*'] }],
    });
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: NAME, namespace: ns, labels },
      data: { 'config.yaml': dexConfig(props) },
    });

    // The admins' Secrets, one projected volume: each Secret once, with the keys kfkit reads from it.
    const files = new Map<string, { key: string; path: string }[]>();
    const mount = (ref: AuthSecretKeyRef, path: string): void => {
      files.set(ref.name, [...(files.get(ref.name) ?? []), { key: ref.key, path }]);
      ctx.addExternalObject({
        apiVersion: 'v1', kind: 'Secret', name: ref.name, namespace: ns, keys: [ref.key],
        reason: `created by the cluster admins in ${ns}: Dex password hashes or connector configurations`,
      });
    };
    props.staticUsers.forEach((u, i) => {
      mount(u.hashSecret, passwordFile(i));
    });
    for (const c of props.connectors) mount(c.configSecret, connectorFile(c));
    const sources: k8s.VolumeProjection[] = [...files.entries()].map(([name, items]) => ({ secret: { name, items } }));

    clusterIpService(this, { name: NAME, namespace: ns, identity, ports: [servicePort('dex', DEX_PORT)] });
    deployment(this, {
      namespace: ns,
      identity,
      replicas: 1,
      pod: {
        serviceAccountName: NAME,
        // The kubernetes storage talks to the API server.
        automountServiceAccountToken: true,
        security: { user: DEX_UID, group: DEX_UID },
        containers: [{
          name: NAME,
          image: ctx.images.image('dex'),
          command: [ENTRYPOINT, 'dex', 'serve', `${CONFIG_DIR}/config.yaml`],
          ports: [{ name: 'http', containerPort: DEX_PORT, protocol: 'TCP' }],
          env: [
            { name: 'KUBERNETES_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'DEX_EXPAND_ENV', value: 'false' },
          ],
          envFrom: [{ secretRef: { name: DEX_CLIENT_SECRET } }],
          resources: props.resources,
          volumeMounts: [
            { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
            ...(sources.length > 0 ? [{ name: 'secrets', mountPath: SECRETS_DIR, readOnly: true }] : []),
            // gomplate writes the rendered configuration (with the secrets) here: memory only, never the node's disk.
            { name: 'tmp', mountPath: '/tmp' },
          ],
          readinessProbe: {
            httpGet: { path: `${DEX_PATH}/healthz`, port: k8s.IntOrString.fromNumber(DEX_PORT) },
            initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3,
          },
        }],
        volumes: [
          { name: 'config', configMap: { name: NAME, items: [{ key: 'config.yaml', path: 'config.yaml' }] } },
          ...(sources.length > 0 ? [{ name: 'secrets', projected: { sources } }] : []),
          { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('8Mi') } },
        ],
      },
    });
    // Route /dex/ (login pages, callbacks) through the gateway; also opens gateway → Dex.
    exposeWebApp(this, 'Route', props.gateway, {
      name: NAME, prefix: `${DEX_PATH}/`, backend: { serviceName: NAME, servicePort: DEX_PORT, peer: this.peer, podPort: DEX_PORT },
    });
    // istiod fetches Dex's signing keys for the RequestAuthentication of Dex tokens.
    allowFromIstiod(this, props.gateway.mesh, this.peer, [{ port: DEX_PORT }]);
    allowKubeApi(this, this.peer);
    if (props.connectors.length > 0) {
      allowEgressToAddresses(this, 'Egress-identity-providers', this.peer, 'identity-providers', props.connectors.flatMap((c, i) =>
        addressRulesFor(checkedCidrs(`Dex: connectors[${i}].cidrs`, c.cidrs), connectorPorts([c.type]))));
    }
  }
}
