#!/usr/bin/env bash
# Builds the e2e's programs from the Go modules under e2e/ (versions pinned by their go.mod/go.sum) into
# ${KFKIT_E2E_BIN:-e2e/.bin}: kcp (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl in one
# binary), kwok, certmanager (controller and CA injector), harness, and the generated CRDs of the APIs kfkit uses
# through managed charts. Go reuses its build cache, so a second run only relinks what changed.
set -euo pipefail
cd "$(dirname "$0")"
# KFKIT_E2E_KUBERNETES=1.34 builds the oldest supported Kubernetes (module controlplane-1.34) into .bin-1.34.
kube=${KFKIT_E2E_KUBERNETES:-}
bin=${KFKIT_E2E_BIN:-$PWD/.bin${kube:+-$kube}}
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:-} -mod=readonly -buildvcs=false"

step() { local t0=$SECONDS; echo "e2e build: $1" >&2; shift; "$@"; echo "e2e build:   done in $((SECONDS - t0)) s" >&2; }

# The Kubernetes release the control plane is built from: the version of k8s.io/kubernetes in go.mod, stamped into
# the binaries the way Kubernetes' own build does, so /version and kubectl version report it.
cp=controlplane${kube:+-$kube}
[ -d "$cp" ] || { echo "e2e build: no module $cp for Kubernetes $kube" >&2; exit 2; }
kube_version=$(cd "$cp" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
minor=${kube_version#v1.}; minor=${minor%%.*}
ld="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

step "kcp ($kube_version)" bash -c "cd $cp && go build -trimpath -ldflags '$ld' -o '$bin/kcp' ."
for name in kubectl; do ln -sf kcp "$bin/$name"; done
step "kwok" bash -c "cd kwok && go build -trimpath -ldflags '-s -w' -o '$bin/kwok' sigs.k8s.io/kwok/cmd/kwok"
step "certmanager" bash -c "cd certmanager && go build -trimpath -ldflags '-s -w' -o '$bin/certmanager' ."
step "harness" bash -c "cd harness && go build -trimpath -ldflags '-s -w' -o '$bin/harness' ."

# CRDs of the APIs kfkit reaches through managed charts or expects from the cluster's admins, generated from the
# pinned modules' Go types by controller-gen run inside each family's module (never YAML out of a module cache).
crds=${KFKIT_E2E_CRDS:-$PWD/.crds}
step "controller-gen" bash -c "cd crdgen && go build -trimpath -ldflags '-s -w' -o '$bin/controller-gen' sigs.k8s.io/controller-tools/cmd/controller-gen"
gen() { # family module generator-options package…
  local family=$1 module=$2 options=$3; shift 3
  local out="$crds/$family" tmp="$crds/.$family.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  local paths=(); for p in "$@"; do paths+=("paths=$p"); done
  (cd "$module" && "$bin/controller-gen" "$options" "${paths[@]}" "output:crd:dir=$tmp")
  rm -rf "$out"; mv "$tmp" "$out"
}
cm=github.com/cert-manager/cert-manager/pkg/apis
step "CRDs: cert-manager" gen cert-manager certmanager crd "$cm/certmanager/v1" "$cm/acme/v1"
step "CRDs: flux" gen flux flux crd github.com/fluxcd/helm-controller/api/v2 github.com/fluxcd/source-controller/api/v1
step "CRDs: argocd" gen argocd argocd crd:allowDangerousTypes=true github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1
echo "$bin"
