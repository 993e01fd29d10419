// Package argocd pins Argo CD's API Go types (its go.mod carries Argo CD's own replace directives, which a
// dependent module must repeat). The e2e generates the Application CRD from them with controller-gen (e2e/build.sh),
// standing in for the Argo CD the cluster's admins install: Argo CD itself does not run on the control plane.
package argocd

import _ "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
