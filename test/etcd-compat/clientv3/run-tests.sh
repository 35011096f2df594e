#!/usr/bin/env bash
# Vets and runs the clientv3 compatibility tests: etcd's own Go client against a real
# three-member etcd and a three-member Cairn (each test starts its clusters). Run from
# anywhere; builds the server (npx tsc -p .) when dist/ is missing and installs the etcd
# tools when missing. Arguments go to go test (npm test passes -json to count the results).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
if [ ! -f "$root/dist/server/cli/cairn.js" ]; then
  (cd "$root" && npx tsc -p .)
fi
bash "$root/scripts/install-etcd-tools.sh" >/dev/null
cd "$here"
go vet ./...
go test -count=1 -timeout 30m "$@" ./...
