import { Construct } from 'constructs';
import { EgressTarget, NamespaceGroup, NetworkPeer, NetworkPort } from './network';

/**
 * The contract between tenant profiles and the components that put per-namespace objects into them (multi-user
 * Kubeflow Pipelines, later notebooks and serving). A profile is a namespace a team owns; components never read the
 * tenancy configuration, they receive {@link IProfile}s through {@link IProfileExtension.addToProfile}.
 */

/** Who owns or contributes to a profile. */
export interface ProfileSubject {
  /** `User` (the user id the gateway puts in the user-id header, e.g. an e-mail) or `Group`. */
  readonly kind: 'User' | 'Group';
  /** User id or group name. */
  readonly name: string;
}

/**
 * Every profile namespace: the label kubeflow/manifests 26.03 puts on them (`applications/profiles/pss`), which the
 * profile controller and kfkit's Profile both set. Servers in the platform namespace admit this group once, with one
 * policy, instead of one policy per profile.
 */
export const PROFILE_NAMESPACES: NamespaceGroup = { groupName: 'profiles', namespaceLabels: { 'app.kubernetes.io/part-of': 'kubeflow-profile' } };

/** Some pods of a profile namespace, named for policy names (e.g. `pipeline-runs`). */
export interface ProfilePods {
  /** Short stable name (a DNS label). */
  readonly name: string;
  /** Labels selecting the pods. */
  readonly podLabels: Readonly<Record<string, string>>;
}

/**
 * The network policies of one profile namespace, consolidated: one egress and one ingress policy per set of pods,
 * whatever the number of extensions, so a thousand profiles stay a few objects each. Only the profile's side: the other
 * end (a server in the platform namespace) admits {@link PROFILE_NAMESPACES} once.
 */
export interface IProfileNetwork {
  /** Lets `pods` (default: every pod of the namespace) connect to `target`. */
  allowEgress(target: EgressTarget, pods?: ProfilePods): void;
  /** Lets `from` connect to `pods` (default: every pod) on `ports` (empty: every port). */
  allowIngress(from: NetworkPeer, ports: readonly NetworkPort[], pods?: ProfilePods): void;
}

/** One tenant profile, as extensions see it. */
export interface IProfile {
  /** Profile name, equal to its namespace. */
  readonly name: string;
  /** The profile's namespace. */
  readonly namespace: string;
  /** The owner (upstream: a single user). */
  readonly owner: ProfileSubject;
  /** Where extensions create the profile's objects (installed in the `tenants` wave). */
  readonly scope: Construct;
  /** Every pod of the namespace, for NetworkPolicies. */
  readonly pods: NetworkPeer;
  /** The namespace's network policies: extensions add their rules here. */
  readonly network: IProfileNetwork;
  /** Key prefix of the profile's private artifacts in the artifact bucket, ending in `/` (upstream: `private-artifacts/<namespace>/`). */
  readonly artifactPrefix: string;
  /**
   * IAM role the profile's workloads assume for artifacts (IRSA), when the artifact store is S3 with IRSA.
   * @default - none: credentials scoped to the prefix (in-cluster store) or the platform's Secret
   */
  readonly awsRoleArn?: string;
}

/** A component that adds objects to every profile namespace. */
export interface IProfileExtension {
  /** Adds this component's per-namespace objects for `profile` (under `profile.scope`). */
  addToProfile(profile: IProfile): void;
}
