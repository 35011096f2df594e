#!/usr/bin/env bash
# Vets and tests the Go SDK against real three-member clusters. Run from anywhere; builds
# the server (npx tsc -p .) first when dist/ is missing. Arguments go to go test (npm test
# passes -json to count the results).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
if [ ! -f "$root/dist/server/cli/cairn.js" ]; then
  (cd "$root" && npx tsc -p .)
fi
(cd "$root/gen/go" && go vet ./...)
cd "$here"
go vet ./...
go test -count=1 "$@" ./...
