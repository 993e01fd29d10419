import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { MANAGED_BY } from '../../core/labels';
import { egressRules, EgressTarget, ingressRule, labelSelector, NetworkPeer, NetworkPort } from '../../core/network';
import { IProfileNetwork, ProfilePods } from '../../core/tenancy';

/** The NetworkPolicy of one set of pods: its egress and ingress rules, each deduplicated, in the order given. */
interface Policy {
  readonly pods: ProfilePods;
  readonly egress: Map<string, k8s.NetworkPolicyEgressRule>;
  readonly ingress: Map<string, k8s.NetworkPolicyIngressRule>;
}

const EVERY_POD: ProfilePods = { name: 'profile', podLabels: {} };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The consolidated NetworkPolicies of one profile namespace ({@link IProfileNetwork}): one policy per set of pods,
 * `profile-allow` for every pod and `<pods>-allow` for a named set, holding both directions. A policy exists once
 * something is allowed for its pods; its rules (and `policyTypes`, the directions that have rules) are filled in at
 * synthesis. With the namespace's default-deny, what these list is all the namespace's pods may do.
 */
export class ProfileNetwork extends Construct implements IProfileNetwork {
  private readonly policies = new Map<string, Policy>();

  public constructor(scope: Construct, id: string, private readonly namespace: string) {
    super(scope, id);
  }

  public allowEgress(target: EgressTarget, pods: ProfilePods = EVERY_POD): void {
    const policy = this.policy(pods);
    for (const rule of egressRules(target, this.namespace)) policy.egress.set(JSON.stringify(rule), rule);
  }

  public allowIngress(from: NetworkPeer, ports: readonly NetworkPort[], pods: ProfilePods = EVERY_POD): void {
    const rule = ingressRule(from, ports, this.namespace);
    this.policy(pods).ingress.set(JSON.stringify(rule), rule);
  }

  private policy(pods: ProfilePods): Policy {
    const existing = this.policies.get(pods.name);
    if (existing) {
      if (JSON.stringify(existing.pods.podLabels) !== JSON.stringify(pods.podLabels)) {
        throw new Error(`profile ${this.namespace}: pods "${pods.name}" were given with labels ${JSON.stringify(existing.pods.podLabels)} `
          + `and ${JSON.stringify(pods.podLabels)}; use one name per set of pods`);
      }
      return existing;
    }
    if (!DNS_LABEL.test(pods.name) || pods.name.length > 40) throw new Error(`profile ${this.namespace}: pods name "${pods.name}" must be a DNS label of at most 40 characters`);
    const policy: Policy = { pods, egress: new Map(), ingress: new Map() };
    this.policies.set(pods.name, policy);
    new k8s.KubeNetworkPolicy(this, pods.name, {
      metadata: { name: `${pods.name}-allow`, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } },
      spec: {
        podSelector: labelSelector(pods.podLabels),
        policyTypes: Lazy.any({
          produce: () => [...(policy.ingress.size > 0 ? ['Ingress'] : []), ...(policy.egress.size > 0 ? ['Egress'] : [])],
        }) as unknown as string[],
        ingress: Lazy.any({ produce: () => (policy.ingress.size > 0 ? [...policy.ingress.values()] : undefined) }) as unknown as k8s.NetworkPolicyIngressRule[],
        egress: Lazy.any({ produce: () => (policy.egress.size > 0 ? [...policy.egress.values()] : undefined) }) as unknown as k8s.NetworkPolicyEgressRule[],
      },
    });
    return policy;
  }
}
