// Package crdgen pins controller-gen (sigs.k8s.io/controller-tools), which e2e/build.sh runs in the family modules
// (certmanager, flux) to generate, from their API Go types, the CRDs of what kfkit installs through managed charts
// or expects from the cluster's admins. The output is test data under e2e/.crds, never committed.
package crdgen
