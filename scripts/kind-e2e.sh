#!/usr/bin/env bash
# End-to-end check on a real cluster — NEEDS docker, kind and kubectl (and the flux CLI for local-auth); it is not
# part of `npm test`.
#
# Runs the same lifecycle as `npm run e2e` (e2e/lifecycle.ts: install in one pass, re-apply, change and prune,
# uninstall, upgrade) against a kind cluster instead of the local control plane, so real containers start. After the
# install it also checks what only a real cluster shows: the credentials Job created mysql-secret, MySQL accepts the
# generated root password, and Kubeflow Pipelines runs a pipeline end to end (kfkit smoke).
#
#   scripts/kind-e2e.sh                 # env local, cluster kfkit-e2e, kept afterwards
#   KFKIT_E2E_ENV=local-auth scripts/kind-e2e.sh
#   KFKIT_E2E_DELETE=1 scripts/kind-e2e.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cluster="${KFKIT_KIND_CLUSTER:-kfkit-e2e}"
env="${KFKIT_E2E_ENV:-local}"
ctx="kind-${cluster}"
for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "kind-e2e: $tool is required (this script needs a real cluster)" >&2; exit 2; }
done

if ! kind get clusters | grep -qx "$cluster"; then
  echo "== creating kind cluster $cluster"
  kind create cluster --name "$cluster" --wait 180s
fi
kubectl config use-context "$ctx" >/dev/null

# Run after the install, before the other phases: checks of the running platform.
read -r -d '' checks <<EOF || true
password="\$(kubectl --context $ctx -n kubeflow get secret mysql-secret -o jsonpath='{.data.password}')"
[ -n "\$password" ] || { echo "mysql-secret has no password" >&2; exit 1; }
kubectl --context $ctx -n kubeflow exec statefulset/mysql -- \\
  sh -c 'mysql --host=127.0.0.1 --user=root --password="\$MYSQL_ROOT_PASSWORD" --execute="SELECT 1" >/dev/null'
kubectl --context $ctx -n kubeflow port-forward svc/ml-pipeline 18888:8888 >/dev/null 2>&1 &
pf=\$!
trap 'kill \$pf 2>/dev/null || true' EXIT
node bin/kfkit.js smoke --url http://127.0.0.1:18888 --timeout 900
EOF

node_modules/.bin/tsx e2e/run.ts --existing --context "$ctx" --env "$env" --timeout 600 --after-install "$checks"

if [ "${KFKIT_E2E_DELETE:-0}" = 1 ]; then kind delete cluster --name "$cluster"; fi
