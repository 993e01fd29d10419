import { ConfigError } from '../lib/config/load';
import * as path from 'path';
import { cli, configIssuePaths, listFiles, localConfig, withOverlays } from './helpers';

const MESH = { certManager: { mode: 'managed' }, istio: { mode: 'managed' } };
const USER = { email: 'user@example.com', hashSecret: { name: 'dex-users', key: 'user-hash' } };

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('mesh, gateway, auth and Knative configuration', () => {
  test('defaults: no mesh, no gateway, no auth, no Knative; the gateway section has TLS self-signed on a localtest.me host', () => {
    const c = localConfig();
    expect(c.istio).toEqual({ mode: 'none', version: '1.29', dataplane: 'sidecar' });
    expect(c.gateway.tls).toEqual({ type: 'self-signed' });
    expect(c.gateway.host).toBe('kubeflow.localtest.me');
    expect(c.auth.mode).toBe('none');
    expect(c.auth.userHeaders).toEqual({ userId: 'kubeflow-userid', userIdPrefix: '', groups: 'kubeflow-groups' });
    expect(c.knative.mode).toBe('none');
  });

  test('a valid local-auth setup resolves', () => {
    const c = localConfig({ ...MESH, auth: { mode: 'dex', dex: { staticUsers: [USER] } } });
    expect(c.auth.dex.staticUsers).toEqual([USER]);
    expect(c.auth.machineTokens).toEqual({ enabled: true, issuer: 'https://kubernetes.default.svc.cluster.local', cidrs: [], anyAddress: false });
  });

  test.each<[string, Record<string, unknown>, string]>([
    ['TLS issued by cert-manager without cert-manager', { istio: { mode: 'managed' } }, 'gateway.tls.type'],
    ['auth without a mesh', { auth: { mode: 'dex', dex: { staticUsers: [USER] } } }, 'auth.mode'],
    ['oidc without its provider', { ...MESH, auth: { mode: 'oidc' } }, 'auth.oidc'],
    ['an oidc provider with mode dex', {
      ...MESH, auth: { mode: 'dex', dex: { staticUsers: [USER] }, oidc: { issuerUrl: 'https://idp.example.com', clientId: 'kf', clientSecret: { name: 's', key: 'k' } } },
    }, 'auth.oidc'],
    ['Dex with nobody to log in', { ...MESH, auth: { mode: 'dex' } }, 'auth.dex'],
    ['a user listed twice', { ...MESH, auth: { mode: 'dex', dex: { staticUsers: [USER, USER] } } }, 'auth.dex.staticUsers[1].email'],
    ['a connector id used twice', {
      ...MESH, auth: { mode: 'dex', dex: { connectors: [0, 1].map((i) => ({ type: 'ldap', id: 'corp', name: `c${String(i)}`, configSecret: { name: 'l', key: 'c' } })) } },
    }, 'auth.dex.connectors[1].id'],
    ['Istio older than 1.29', { ...MESH, istio: { mode: 'external', version: '1.28' } }, 'istio.version'],
    ['Knative without a mesh', { knative: { mode: 'managed' } }, 'knative.mode'],
    ['managed Knative at another release than the pinned operator installs', { ...MESH, knative: { mode: 'managed', version: '1.20' } }, 'knative.version'],
    ['an http issuer', { ...MESH, auth: { mode: 'dex', dex: { staticUsers: [USER] }, machineTokens: { issuer: 'http://k8s.local' } } }, 'auth.machineTokens.issuer'],
    ['a gateway host with a scheme', { ...MESH, gateway: { host: 'https://kubeflow.example.com' } }, 'gateway.host'],
    ['ACME without an e-mail', { ...MESH, gateway: { tls: { type: 'acme' } } }, 'gateway.tls.email'],
    ['a header name with capitals', { ...MESH, auth: { mode: 'dex', dex: { staticUsers: [USER] }, userHeaders: { userId: 'X-User' } } }, 'auth.userHeaders.userId'],
  ])('%s is rejected (%#)', (_what, overrides, field) => {
    expect(configIssuePaths(() => localConfig(overrides))).toContain(field);
  });

  test('static users are for the local stack only; the message says what to use instead', () => {
    const dir = withOverlays({ prod: 'stack: onprem\ncertManager: { mode: managed }\nistio: { mode: managed }\nauth:\n  mode: dex\n  dex:\n    staticUsers:\n'
      + '      - { email: a@example.com, hashSecret: { name: s, key: k } }\n' });
    const out = cli(['synth', '--env', 'prod', '--out', path.join(dir, 'dist')], dir);
    expect(out.code).toBe(2);
    expect(out.err).toMatch(/auth\.dex\.staticUsers: static users with passwords in Dex are for the local stack only, not onprem; connect an identity provider/);
    expect(out.err).not.toMatch(/at .*\.ts:\d+/);
    expect(listFiles(path.join(dir, 'dist'))).toEqual([]);
  });

  test('external Istio and secret TLS need no cert-manager', () => {
    const c = localConfig({ istio: { mode: 'external', version: '1.30' }, gateway: { tls: { type: 'secret', secretName: 'kubeflow-tls' } } });
    expect(c.certManager.mode).toBe('none');
    expect(message(() => localConfig({ istio: { mode: 'external' }, gateway: { tls: { type: 'self-signed' } } })))
      .toMatch(/gateway\.tls\.type: self-signed certificates are issued by cert-manager: set certManager\.mode to external or managed, or use type secret/);
  });
});
