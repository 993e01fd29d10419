#!/usr/bin/env bash
# npm run cluster -- up | down | status | exec <command…>
#
# A local control plane for trying kfkit by hand: built from the Go modules under e2e/ (e2e/build.sh), running in the
# network namespace "kfkit-e2e", which has only loopback. `up` prints the kubeconfig; commands that talk to the
# cluster must run inside the namespace: `npm run cluster -- exec kubectl get pods -A` (kubectl there is the
# control plane's own). `down` ends every process and removes the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
netns=kfkit-e2e
state=${KFKIT_E2E_STATE:-/tmp/kfkit-e2e}
bin=${KFKIT_E2E_BIN:-$PWD/e2e/.bin}
crds=${KFKIT_E2E_CRDS:-$PWD/e2e/.crds}

running() { [ -f "$state/ready.json" ] && kill -0 "$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$state/ready.json")" 2>/dev/null; }

case "${1:-}" in
  up)
    if running; then echo "$state/admin.kubeconfig"; exit 0; fi
    KFKIT_E2E_BIN=$bin KFKIT_E2E_CRDS=$crds e2e/build.sh >/dev/null
    ip netns del "$netns" 2>/dev/null || true
    ip netns add "$netns"
    ip netns exec "$netns" ip link set lo up
    rm -rf "$state"; mkdir -p "$state"
    ip netns exec "$netns" setsid "$bin/harness" up --state "$state" --bin "$bin" --registry e2e/stand-ins.json \
      --crds "$crds" >"$state/harness.log" 2>&1 < /dev/null &
    for _ in $(seq 1 120); do
      [ -f "$state/ready.json" ] && { echo "$state/admin.kubeconfig"; exit 0; }
      kill -0 $! 2>/dev/null || break
      sleep 1
    done
    echo "cluster: the control plane did not come up; see $state/harness.log and $state/logs/" >&2
    tail -20 "$state/harness.log" >&2
    exit 1 ;;
  down)
    if running; then
      pid=$(sed -n 's/.*"pid": \([0-9]*\).*/\1/p' "$state/ready.json")
      kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    ip netns del "$netns" 2>/dev/null || true
    echo "cluster: down" ;;
  status)
    if running; then echo "up: $state/admin.kubeconfig"; else echo "down"; exit 1; fi ;;
  exec)
    shift
    running || { echo "cluster: not running (npm run cluster -- up)" >&2; exit 1; }
    exec ip netns exec "$netns" env KUBECONFIG="$state/admin.kubeconfig" PATH="$bin:$PATH" "$@" ;;
  *)
    echo "usage: npm run cluster -- up | down | status | exec <command…>" >&2; exit 2 ;;
esac
