import { ApiObject } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { KfkitContext } from './context';
import { Wave } from './waves';

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

/**
 * The wave of certificates and what issues them (Issuers, Certificates, the KFP cache deployer), between cluster RBAC
 * (after a managed cert-manager) and the controllers that mount or serve the certificates. Shared by name: whichever
 * component comes first creates it.
 */
export function certificatesWave(scope: IConstruct): Wave {
  const plan = KfkitContext.of(scope).plan;
  return plan.ensureWave('certificates', {
    description: 'Certificates and what issues them at run time (webhook serving certificates), issued before the servers that mount them.',
    after: [plan.cluster],
    before: [plan.controllers],
  });
}

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
  /** DNS names of the certificate (a CA certificate may have none, only a common name). */
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
  const spec: Omit<CertificateSpec, 'dnsNames'> & { readonly dnsNames?: readonly string[] } = {
    ...(props.spec.commonName !== undefined ? { commonName: props.spec.commonName } : {}),
    ...(props.spec.isCA === true ? { isCA: true } : {}),
    ...(props.spec.dnsNames.length > 0 ? { dnsNames: [...props.spec.dnsNames] } : {}),
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

/** Props of {@link caIssuer}. */
export interface CaIssuerProps {
  /** Name of the Issuer. */
  readonly name: string;
  /** Namespace of the Issuer and of the CA Secret (it signs Certificates of this namespace only). */
  readonly namespace: string;
  /** Labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Secret holding the CA's key pair (`tls.crt`, `tls.key`), e.g. issued by a Certificate with `isCA`. */
  readonly secretName: string;
}

/** A namespaced cert-manager v1 Issuer that signs with a CA key pair from a Secret (`spec.ca.secretName`). */
export function caIssuer(scope: Construct, id: string, props: CaIssuerProps): ApiObject {
  return new ApiObject(scope, id, {
    apiVersion: `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`,
    kind: 'Issuer',
    metadata: { name: props.name, namespace: props.namespace, labels: { ...props.labels } },
    spec: { ca: { secretName: props.secretName } },
  });
}

/** An ACME HTTP-01 solver that answers challenges through an Ingress of a class (`solvers[].http01.ingress`). */
export interface AcmeHttp01IngressSolver {
  /** Value of the `kubernetes.io/ingress.class` annotation of the Ingress cert-manager creates (e.g. `istio`). */
  readonly class: string;
  /**
   * Type of the solver's Service.
   * @default 'ClusterIP' (cert-manager's own default is NodePort, which opens a port on every node)
   */
  readonly serviceType?: 'ClusterIP' | 'NodePort';
  /**
   * Image pull Secrets of the solver pods (in the Certificate's namespace).
   * @default - none
   */
  readonly imagePullSecrets?: readonly string[];
}

/** Props of {@link acmeClusterIssuer}. */
export interface AcmeClusterIssuerProps {
  /** Name of the ClusterIssuer. */
  readonly name: string;
  /** Labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** ACME account e-mail. */
  readonly email: string;
  /** ACME directory URL, e.g. `https://acme-v02.api.letsencrypt.org/directory`. */
  readonly server: string;
  /** Secret (in cert-manager's cluster resource namespace) cert-manager stores the ACME account key in; it creates it. */
  readonly privateKeySecretName: string;
  /** The HTTP-01 solver. */
  readonly http01: AcmeHttp01IngressSolver;
}

/** A cert-manager v1 ClusterIssuer of an ACME CA (Let's Encrypt) with one HTTP-01 Ingress solver. */
export function acmeClusterIssuer(scope: Construct, id: string, props: AcmeClusterIssuerProps): ApiObject {
  const solver = props.http01;
  const pullSecrets = solver.imagePullSecrets ?? [];
  const podTemplate = pullSecrets.length > 0 ? { podTemplate: { spec: { imagePullSecrets: pullSecrets.map((name) => ({ name })) } } } : {};
  return new ApiObject(scope, id, {
    apiVersion: `${CERT_MANAGER_GROUP}/${CERT_MANAGER_VERSION}`,
    kind: 'ClusterIssuer',
    metadata: { name: props.name, labels: { ...props.labels } },
    spec: {
      acme: {
        email: props.email,
        server: props.server,
        privateKeySecretRef: { name: props.privateKeySecretName },
        solvers: [{
          http01: {
            ingress: {
              class: solver.class,
              serviceType: solver.serviceType ?? 'ClusterIP',
              ...podTemplate,
            },
          },
        }],
      },
    },
  });
}
