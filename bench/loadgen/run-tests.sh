#!/usr/bin/env bash
# Vets the load generator and runs its smoke test (every workload for about a second
# against a real Cairn member; no timing gates). Run from anywhere; builds the server
# (npx tsc -p .) first when dist/ is missing. Set LOADGEN_ETCD_BIN=bench/.build/etcd (built
# by bench/compare.sh) to run the smoke test against etcd as well. Arguments go to go test
# (npm test passes -json to count the results).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ ! -f "$root/dist/server/cli/cairn.js" ]; then
  (cd "$root" && npx tsc -p .)
fi
cd "$here"
go vet ./...
go test -count=1 "$@" ./...
