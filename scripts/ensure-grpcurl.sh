#!/usr/bin/env bash
# Installs grpcurl (used by the reflection end-to-end test, as the README uses it) when it
# is on neither PATH nor $(go env GOPATH)/bin. Needs Go; without Go the test says what to do.
set -euo pipefail
command -v grpcurl >/dev/null 2>&1 && exit 0
command -v go >/dev/null 2>&1 || exit 0
[ -x "$(go env GOPATH)/bin/grpcurl" ] && exit 0
echo "installing grpcurl with go install (once)..."
go install github.com/fullstorydev/grpcurl/cmd/grpcurl@latest
