#!/usr/bin/env bash
# npm run e2e [-- --env NAME …]: builds the control plane and the harness from the Go modules under e2e/ (this needs
# the Go module proxy), then runs the lifecycle of every environment (e2e/run.ts) in a new network namespace that
# has only loopback, so nothing the e2e starts can reach a cluster range, a private range or the outside.
set -euo pipefail
cd "$(dirname "$0")/.."
e2e/build.sh >&2
exec unshare --net -- bash -c 'ip link set lo up && exec node_modules/.bin/tsx e2e/run.ts "$@"' e2e "$@"
