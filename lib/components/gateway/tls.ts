import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { acmeClusterIssuer, caIssuer, certificate, CertManagerRef, certificatesWave, IssuerRef, selfSignedIssuer } from '../../core/cert-manager';
import { KfkitContext } from '../../core/context';
import { PROVIDES_ANNOTATION } from '../../validate/types';

/** TLS of the Kubeflow gateway; always on. */
export type GatewayTls =
  /** A certificate from a kfkit CA that cert-manager issues in the cluster (local and test clusters). */
  | { readonly type: 'self-signed' }
  /**
   * A certificate from an ACME CA (Let's Encrypt) through cert-manager, HTTP-01 challenges answered through the
   * ingress gateway. `server` defaults to Let's Encrypt production.
   */
  | { readonly type: 'acme'; readonly email: string; readonly server?: string }
  /** An existing `kubernetes.io/tls` Secret in the ingress gateway's namespace (the mesh namespace), created by the admins. */
  | { readonly type: 'secret'; readonly secretName: string };

/** Let's Encrypt's production ACME directory (the `acme` default). */
export const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';
/** The Secret cert-manager issues the gateway's certificate into (self-signed and acme). */
export const GATEWAY_TLS_SECRET = 'kubeflow-gateway-tls';
/** The gateway's Certificate. */
export const GATEWAY_CERTIFICATE = 'kubeflow-gateway';
/** The kfkit CA (self-signed): its Certificate, Secret (`ca.crt` is what users trust) and the Issuer signing with it. */
export const GATEWAY_CA = 'kubeflow-gateway-ca';
/** The self-signed Issuer that signs the kfkit CA. */
export const GATEWAY_SELF_SIGNED_ISSUER = 'kubeflow-gateway-selfsigned';
/** The ACME ClusterIssuer. */
export const GATEWAY_ACME_ISSUER = 'kubeflow-gateway-acme';
/** Label cert-manager puts on its HTTP-01 solver pods. */
export const ACME_SOLVER_LABELS: Readonly<Record<string, string>> = { 'acme.cert-manager.io/http01-solver': 'true' };
/** Port cert-manager's HTTP-01 solver pods listen on (cert-manager `pkg/issuer/acme/http`). */
export const ACME_SOLVER_PORT = 8089;
/** Ingress class Istio's ingress controller serves (meshConfig `ingressClass` default, with `ingressControllerMode: STRICT`). */
const ISTIO_INGRESS_CLASS = 'istio';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const HTTPS_URL = /^https:\/\/[^\s/]+(\/\S*)?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Throws when `tls` cannot work for `host` with `certManager`, saying what to change. */
export function checkTls(tls: GatewayTls, host: string, certManager: CertManagerRef | undefined): void {
  const where = 'KubeflowGateway: tls';
  switch (tls.type) {
    case 'self-signed':
    case 'acme':
      if (!certManager) {
        throw new Error(`${where} ${tls.type} certificates are issued by cert-manager: pass certManager (cert-manager external or managed), `
          + 'or use tls type secret with a Secret you create');
      }
      if (tls.type === 'acme') {
        if (!EMAIL.test(tls.email)) throw new Error(`${where}.email "${tls.email}" must be an e-mail address (the ACME account contact)`);
        if (tls.server !== undefined && !HTTPS_URL.test(tls.server)) {
          throw new Error(`${where}.server "${tls.server}" must be the https:// URL of an ACME directory, e.g. ${LETS_ENCRYPT}`);
        }
        if (host.startsWith('*.')) {
          throw new Error(`${where} acme answers HTTP-01 challenges, which cannot prove a wildcard host (${host}); use a host without *. `
            + 'or a wildcard certificate of your own (tls type secret)');
        }
      }
      return;
    case 'secret':
      if (!DNS_SUBDOMAIN.test(tls.secretName) || tls.secretName.length > 253) {
        throw new Error(`${where}.secretName "${tls.secretName}" must be a Secret name (lowercase letters, digits, - and .)`);
      }
      return;
    default:
      throw new Error(`${where}.type "${(tls as { type: string }).type}" must be self-signed, acme or secret`);
  }
}

/** Props of {@link gatewayCertificate}. */
export interface GatewayCertificateProps {
  readonly tls: GatewayTls;
  readonly certManager?: CertManagerRef;
  /** Namespace of the ingress gateway: the certificate's Secret must be there. */
  readonly namespace: string;
  readonly host: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** What {@link gatewayCertificate} set up. */
export interface GatewayCertificate {
  /** Secret with the gateway's key pair (the Gateway's `credentialName`). */
  readonly secretName: string;
  /** The Certificate issuing it (self-signed and acme). */
  readonly certificate?: ApiObject;
  /** Secret of the kfkit CA whose `ca.crt` users trust (self-signed without a configured ClusterIssuer). */
  readonly caSecretName?: string;
}

/**
 * The gateway's certificate, under `scope`:
 * - `self-signed`: with a configured ClusterIssuer (`certManager.issuer`), a Certificate from it. Otherwise a kfkit CA
 *   in the gateway's namespace — a self-signed Issuer, the CA Certificate (`isCA`, Secret `kubeflow-gateway-ca`), an
 *   Issuer signing with it — and the gateway's Certificate from that CA, so users trust one CA (its `ca.crt`), and
 *   renewals of the serving certificate keep that trust. All in the `certificates` wave, awaited until Ready, before
 *   the controllers (the ingress gateway) roll out. (A namespaced `certManager.issuer` lives in the platform namespace
 *   and cannot sign here, so the kfkit CA is used.)
 * - `acme`: a ClusterIssuer (`certificates` wave, Ready once the ACME account is registered) with an HTTP-01 solver
 *   through Istio's Ingress support (class `istio`, ClusterIP solver Service), and the Certificate in the `resources`
 *   wave with the ingress gateway already serving. It is not awaited: issuance needs the host's DNS to point at the
 *   gateway, which kfkit does not control. `cert-manager.io/issue-temporary-certificate` fills the Secret with a
 *   temporary certificate meanwhile, so HTTPS answers from the start.
 * - `secret`: the admins' Secret, declared an external object.
 */
export function gatewayCertificate(scope: Construct, props: GatewayCertificateProps): GatewayCertificate {
  const ctx = KfkitContext.of(scope);
  const { tls, namespace, host, labels } = props;
  if (tls.type === 'secret') {
    ctx.addExternalObject({
      apiVersion: 'v1', kind: 'Secret', name: tls.secretName, namespace, keys: ['tls.crt', 'tls.key'],
      reason: `TLS certificate of the Kubeflow gateway (gateway.tls.type secret): a kubernetes.io/tls Secret for ${host}, created by the admins`,
    });
    return { secretName: tls.secretName };
  }
  const issuers = new Construct(scope, 'Issuers');
  ctx.plan.assign(issuers, certificatesWave(scope));
  const provides = { [PROVIDES_ANNOTATION]: `Secret/${namespace}/${GATEWAY_TLS_SECRET}` };
  const serving = (parent: Construct, issuerRef: IssuerRef, annotations: Record<string, string> = {}): ApiObject => certificate(parent, 'Certificate', {
    name: GATEWAY_CERTIFICATE, namespace, labels, annotations: { ...provides, ...annotations },
    spec: { secretName: GATEWAY_TLS_SECRET, dnsNames: [host], issuerRef },
  });

  if (tls.type === 'acme') {
    acmeClusterIssuer(issuers, 'AcmeIssuer', {
      name: GATEWAY_ACME_ISSUER, labels, email: tls.email, server: tls.server ?? LETS_ENCRYPT, privateKeySecretName: `${GATEWAY_ACME_ISSUER}-account`,
      http01: { class: ISTIO_INGRESS_CLASS, serviceType: 'ClusterIP', imagePullSecrets: ctx.images.pullSecrets },
    });
    const cert = serving(scope, { kind: 'ClusterIssuer', name: GATEWAY_ACME_ISSUER }, { 'cert-manager.io/issue-temporary-certificate': 'true' });
    ctx.plan.assign(cert, ctx.plan.resources);
    ctx.plan.waitFor(cert, { type: 'none' });
    return { secretName: GATEWAY_TLS_SECRET, certificate: cert };
  }

  const configured = props.certManager?.issuer;
  if (configured?.kind === 'ClusterIssuer') return { secretName: GATEWAY_TLS_SECRET, certificate: serving(issuers, configured) };
  selfSignedIssuer(issuers, 'SelfSignedIssuer', { name: GATEWAY_SELF_SIGNED_ISSUER, namespace, labels });
  certificate(issuers, 'CaCertificate', {
    name: GATEWAY_CA, namespace, labels,
    annotations: { [PROVIDES_ANNOTATION]: `Secret/${namespace}/${GATEWAY_CA}` },
    spec: {
      secretName: GATEWAY_CA, commonName: 'Kubeflow gateway CA (kfkit)', dnsNames: [], isCA: true,
      issuerRef: { kind: 'Issuer', name: GATEWAY_SELF_SIGNED_ISSUER },
    },
  });
  caIssuer(issuers, 'CaIssuer', { name: GATEWAY_CA, namespace, labels, secretName: GATEWAY_CA });
  return { secretName: GATEWAY_TLS_SECRET, certificate: serving(issuers, { kind: 'Issuer', name: GATEWAY_CA }), caSecretName: GATEWAY_CA };
}
