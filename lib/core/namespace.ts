import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { KfkitContext } from './context';
import { MANAGED_BY, PART_OF } from './labels';
import { NamespaceIsolation } from './network';
import { Wave } from './waves';

/**
 * Annotation on a Namespace kfkit creates that enforces less than Pod Security `restricted`: why (a sentence). Every
 * such namespace carries it; the platform security test walks every environment for it.
 */
export const POD_SECURITY_REASON_ANNOTATION = 'kfkit.dev/pod-security-reason';

/** Pod Security Standards level enforced on a namespace. */
export type PodSecurityLevel = 'restricted' | 'baseline' | 'privileged';

/** Props of {@link PlatformNamespace}. */
export interface PlatformNamespaceProps {
  /** Namespace name. */
  readonly name: string;
  /**
   * Pod Security Standards level enforced (and warned/audited) on the namespace.
   * @default 'restricted'
   */
  readonly podSecurity?: PodSecurityLevel;
  /**
   * Pod Security Standards level warned about and audited, when stricter than the enforced one (e.g. enforce
   * `baseline` where users' pipeline steps run, and still warn about anything short of `restricted`).
   * @default - the enforced level
   */
  readonly podSecurityWarn?: PodSecurityLevel;
  /**
   * Why the namespace enforces less than `restricted` (a sentence), written as {@link POD_SECURITY_REASON_ANNOTATION}.
   * Required below `restricted` — here or later with {@link PlatformNamespace.explainPodSecurity}.
   * @default - none
   */
  readonly podSecurityReason?: string;
  /**
   * Extra labels (e.g. mesh injection).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Whether kfkit's pods run here, pulling through the catalog's pull Secrets (`images.pullSecrets`), which are then
   * declared as objects the admins create in the namespace. Tenant namespaces, where users' pods run, say false.
   * @default true
   */
  readonly declarePullSecrets?: boolean;
  /**
   * Whether the namespace's isolation includes the `allow-dns` policy. A tenant namespace, whose pods start only after
   * its own allow policy exists, puts DNS there instead.
   * @default true
   */
  readonly allowDns?: boolean;
}

/**
 * A namespace kfkit creates: Pod Security Standards labels, and default-deny network isolation with DNS allowed.
 * The Namespace installs in the `namespaces` wave, its policies in the `isolation` wave right after it.
 */
export class PlatformNamespace extends Construct {
  /**
   * The wave of namespace guard rails (default-deny policies): right after the Namespaces, before anything runs in
   * them, so no pod ever starts unisolated.
   */
  public static isolationWave(scope: Construct): Wave {
    const plan = KfkitContext.of(scope).plan;
    return plan.ensureWave('isolation', {
      description: 'Default-deny network policies of every namespace, before any pod starts.',
      after: [plan.namespaces],
      before: [plan.cluster],
    });
  }

  /** The namespace name. */
  public readonly name: string;
  /** The enforced Pod Security level. */
  public readonly podSecurity: PodSecurityLevel;
  /** The Namespace object. */
  public readonly resource: k8s.KubeNamespace;

  public constructor(scope: Construct, id: string, props: PlatformNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    this.podSecurity = props.podSecurity ?? 'restricted';
    this.resource = new k8s.KubeNamespace(this, 'Resource', {
      metadata: {
        name: props.name,
        labels: {
          'app.kubernetes.io/managed-by': MANAGED_BY,
          'app.kubernetes.io/part-of': PART_OF,
          'pod-security.kubernetes.io/audit': props.podSecurityWarn ?? this.podSecurity,
          'pod-security.kubernetes.io/enforce': this.podSecurity,
          'pod-security.kubernetes.io/warn': props.podSecurityWarn ?? this.podSecurity,
          ...props.labels,
        },
      },
    });
    if (props.podSecurityReason !== undefined) this.explainPodSecurity(props.podSecurityReason);
    const plan = KfkitContext.of(this).plan;
    plan.assign(this.resource, plan.namespaces);
    const isolation = new NamespaceIsolation(this, 'Isolation', { namespace: props.name, allowDns: props.allowDns });
    plan.assign(isolation, PlatformNamespace.isolationWave(this));
    // Pods here pull through the catalog's pull Secrets, which the admins create (kfkit never holds credentials).
    const ctx = KfkitContext.of(this);
    for (const secret of props.declarePullSecrets === false ? [] : ctx.images.pullSecrets) {
      ctx.addExternalObject({
        apiVersion: 'v1', kind: 'Secret', name: secret, namespace: props.name,
        reason: `image pull Secret (images.pullSecrets); create it in ${props.name} after the namespace exists`,
      });
    }
  }

  /**
   * Records why the namespace enforces less than `restricted` ({@link POD_SECURITY_REASON_ANNOTATION}). Throws for a
   * `restricted` namespace (nothing to explain) or a reason that is not a sentence.
   */
  public explainPodSecurity(reason: string): void {
    if (this.podSecurity === 'restricted') throw new Error(`namespace ${this.name} enforces restricted: there is no exception to explain`);
    const trimmed = reason.trim();
    if (trimmed.length < 10) throw new Error(`namespace ${this.name} enforces ${this.podSecurity}: its reason must be a sentence, got "${reason}"`);
    this.resource.metadata.addAnnotation(POD_SECURITY_REASON_ANNOTATION, trimmed);
  }
}
