#!/usr/bin/env bash
# Vets the load generator and runs its smoke test (every workload for about a second
# against a real Cairn member; no timing gates). Run from anywhere; builds the server
# (npx tsc -p .) first when dist/ is missing. It runs the smoke test against etcd as well,
# building it into bench/.build/etcd unless LOADGEN_ETCD_BIN names a binary. Arguments go
# to go test (npm test passes -json to count the results).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ ! -f "$root/dist/server/cli/cairn.js" ]; then
  (cd "$root" && npx tsc -p .)
fi
# The etcd smoke test runs the real etcd: build it (bench/etcd, seconds once Go's caches are
# warm) unless a binary is given.
if [ -z "${LOADGEN_ETCD_BIN:-}" ]; then
  (cd "$root/bench/etcd" && go build -o "$root/bench/.build/etcd" .)
  export LOADGEN_ETCD_BIN="$root/bench/.build/etcd"
fi
cd "$here"
go vet ./...
go test -count=1 "$@" ./...
