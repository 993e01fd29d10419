import { Construct } from 'constructs';
import { NetworkPeer } from './network';

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
