import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { KfkitContext } from './context';

/**
 * cert-manager as kfkit uses it when the cluster already runs it (`certManager.mode: external`): the APIs kfkit emits
 * objects of (declared external, so no CRD is in the output) and small typed builders for those objects.
 */

/** API group of cert-manager. */
export const CERT_MANAGER_GROUP = 'cert-manager.io';
/** The one API version kfkit emits cert-manager objects of. */
export const CERT_MANAGER_VERSION = 'v1';
/** The minimum cert-manager release kfkit needs (the `certManager.version` default). */
export const CERT_MANAGER_MIN_VERSION = '1.19';
/** Annotation of webhook configurations whose CA bundle cert-manager's cainjector fills from a Certificate (`<namespace>/<name>`). */
export const INJECT_CA_FROM_ANNOTATION = 'cert-manager.io/inject-ca-from';

/** The cert-manager kinds kfkit emits. */
export const CERT_MANAGER_KINDS = ['Certificate', 'Issuer', 'ClusterIssuer'] as const;

/** A reference to a cert-manager issuer (`spec.issuerRef` of a Certificate). */
export interface IssuerRef {
  /** `Issuer` (namespaced, in the Certificate's namespace) or `ClusterIssuer`. */
  readonly kind: 'Issuer' | 'ClusterIssuer';
  /** Name of the issuer. */
  readonly name: string;
}

/** The cert-manager kfkit relies on: where it came from and which issuer signs kfkit's certificates. */
export interface CertManagerRef {
  /**
   * The issuer that signs kfkit's certificates; it must fill `ca.crt` of the Secrets it issues (self-signed, CA
   * and Vault issuers do; ACME issuers do not), because webhook configurations take their CA bundle from it.
   * @default - each component creates a self-signed Issuer in its namespace
   */
  readonly issuer?: IssuerRef;
}

/**
 * Declares cert-manager's Certificate, Issuer and ClusterIssuer (`cert-manager.io/v1`) as external APIs: installed
 * by the cluster admins, at least `version`.
 */
export function declareExternalCertManager(ctx: KfkitContext, version: string): void {
  for (const kind of CERT_MANAGER_KINDS) {
    ctx.addExternalApi({
      group: CERT_MANAGER_GROUP, kind, versions: [CERT_MANAGER_VERSION], providedBy: `cert-manager >= ${version} (installed by the cluster admins)`,
    });
  }
}

/** `spec` of a cert-manager v1 Certificate, the fields kfkit sets. */
export interface CertificateSpec {
  /** Secret the key pair is stored in (`tls.crt`, `tls.key`, `ca.crt`). */
  readonly secretName: string;
  /** DNS names of the certificate. */
  readonly dnsNames: readonly string[];
  /** Who signs it. */
  readonly issuerRef: IssuerRef;
  /**
   * Common name.
   * @default - none
   */
  readonly commonName?: string;
  /**
   * Whether the certificate is a CA (upstream sets it on self-signed webhook certificates, which are their own CA).
   * @default false
   */
  readonly isCA?: boolean;
}

/** Props of {@link certificate}. */
export interface CertificateProps {
  /** Name of the Certificate. */
  readonly name: string;
  /** Namespace of the Certificate and its Secret. */
  readonly namespace: string;
  /** Labels. */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Annotations.
   * @default - none
   */
  readonly annotations?: Readonly<Record<string, string>>;
  /** The certificate. */
  readonly spec: CertificateSpec;
}

/** A cert-manager v1 Certificate (an external API: no CRD in the output). */
export function certificate(scope: Construct, id: string, props: CertificateProps): ApiObject {
  const spec: CertificateSpec = {
    ...(props.spec.commonName !== undefined ? { commonName: props.spec.commonName } : {}),
    ...(props.spec.isCA === true ? { isCA: true } : {}),
    dnsNames: [...props.spec.dnsNames],
    issuerRef: { kind: props.spec.issuerRef.kind, name: props.spec.issuerRef.name },
    secretName: props.spec.secretName,
  };
  return new ApiObject(scope, id, {
    apiVersion: `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`,
    kind: 'Certificate',
    metadata: {
      name: props.name, namespace: props.namespace, labels: { ...props.labels }, ...(props.annotations ? { annotations: { ...props.annotations } } : {}),
    },
    spec,
  });
}

/** Props of {@link selfSignedIssuer}. */
export interface SelfSignedIssuerProps {
  /** Name of the Issuer. */
  readonly name: string;
  /** Namespace of the Issuer (it signs Certificates of this namespace only). */
  readonly namespace: string;
  /** Labels. */
  readonly labels: Readonly<Record<string, string>>;
}

/** A namespaced cert-manager v1 Issuer that self-signs (`spec.selfSigned: {}`). */
export function selfSignedIssuer(scope: Construct, id: string, props: SelfSignedIssuerProps): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`,
    kind: 'Issuer',
    metadata: { name: props.name, namespace: props.namespace, labels: { ...props.labels } },
    spec: { selfSigned: {} },
  });
}
