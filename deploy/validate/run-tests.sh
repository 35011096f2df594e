#!/usr/bin/env bash
# Validates the deployment files in deploy/ (Kubernetes manifests decoded strictly into the
# API types and cross-checked, the systemd unit with systemd-analyze, the Dockerfile with
# BuildKit's parser). No cluster, daemon or network needed. Arguments go to go test (npm
# test passes -json to count the results).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
go vet ./...
go test -count=1 "$@" ./...
