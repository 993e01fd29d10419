// Package flux pins the Go API types of Flux's helm-controller and source-controller. The e2e generates the
// HelmRelease and HelmRepository CRDs from them with controller-gen (e2e/build.sh), which stands in for
// `flux install` on the control plane: Flux's controllers themselves do not run there.
package flux

import (
	_ "github.com/fluxcd/helm-controller/api/v2"
	_ "github.com/fluxcd/source-controller/api/v1"
)
