#!/usr/bin/env bash
# End-to-end check on a real cluster — NEEDS docker, kind and kubectl; it is not part of `npm test`.
#
# Creates (or reuses) a kind cluster, synthesizes dist/local, installs it with `kfkit apply` in one ordered pass,
# then checks what unit tests cannot: the credentials Job created mysql-secret, MySQL accepts the generated root
# password, Kubeflow Pipelines runs a pipeline end to end (kfkit smoke), and a second apply changes nothing (the
# Secret is never regenerated).
#
#   scripts/kind-e2e.sh            # cluster kfkit-e2e, kept afterwards
#   KFKIT_E2E_DELETE=1 scripts/kind-e2e.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cluster="${KFKIT_KIND_CLUSTER:-kfkit-e2e}"
ctx="kind-${cluster}"
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "kind-e2e: $tool is required (this script needs a real cluster)" >&2; exit 2; }
done

step() { printf '\n== %s\n' "$*"; }

if ! kind get clusters | grep -qx "$cluster"; then
  step "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 180s
fi

step "synth"
node bin/kfkit.js synth --env local
step "apply (one ordered pass)"
node bin/kfkit.js apply --env local --context "$ctx" --timeout 600

step "check: generated credentials work"
password_before="$(kubectl --context "$ctx" -n kubeflow get secret mysql-secret -o jsonpath='{.data.password}')"
[ -n "$password_before" ] || { echo "mysql-secret has no password" >&2; exit 1; }
kubectl --context "$ctx" -n kubeflow exec statefulset/mysql -- \
  sh -c 'mysql --host=127.0.0.1 --user=root --password="$MYSQL_ROOT_PASSWORD" --execute="SELECT 1" >/dev/null'

step "check: Kubeflow Pipelines runs a pipeline (kfkit smoke)"
kubectl --context "$ctx" -n kubeflow port-forward svc/ml-pipeline 18888:8888 >/dev/null 2>&1 &
pf=$!
trap 'kill "$pf" 2>/dev/null || true' EXIT
node bin/kfkit.js smoke --url http://127.0.0.1:18888 --timeout 900

step "check: re-apply is a no-op for credentials"
node bin/kfkit.js apply --env local --context "$ctx" --timeout 600
password_after="$(kubectl --context "$ctx" -n kubeflow get secret mysql-secret -o jsonpath='{.data.password}')"
[ "$password_before" = "$password_after" ] || { echo "mysql-secret changed on re-apply" >&2; exit 1; }

if [ "${KFKIT_E2E_DELETE:-0}" = 1 ]; then kind delete cluster --name "$cluster"; fi
step "kind-e2e passed"
