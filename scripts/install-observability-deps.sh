#!/usr/bin/env bash
# Installs the real Prometheus and Jaeger the observability tests run against (once; later
# runs find them and return at once):
#   prometheus  Debian's `prometheus` package (its service is not started: the tests start
#               their own instance on a free port with a temporary storage directory)
#   jaeger      the all-in-one binary, `go install`ed from the Go module proxy at a pinned
#               version into $(go env GOPATH)/bin
# npm test runs this before the TypeScript tests (scripts/run-tests.mjs, step `obs-deps`).
set -euo pipefail
JAEGER_VERSION=v1.76.0

if ! command -v prometheus >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "install Debian's prometheus package (needs root)" >&2
    exit 1
  fi
  echo "installing Debian's prometheus package (once)..."
  # A package's maintainer scripts must not start its daemon here: policy-rc.d exit 101
  # tells invoke-rc.d "not allowed" (only when no policy is in place already).
  policy=/usr/sbin/policy-rc.d
  added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    added_policy=1
  fi
  trap '[ "$added_policy" = 1 ] && rm -f "$policy"' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

gobin="$(go env GOPATH)/bin"
# Built inside the module, the binary reports its version as (devel): a stamp beside it
# records which version it is.
stamp="$gobin/.jaeger-version"
if [ ! -x "$gobin/jaeger" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$JAEGER_VERSION" ]; then
  echo "building jaeger $JAEGER_VERSION from the Go module proxy (once; takes a few minutes)..."
  # Plain `go install ...@version` refuses this module: its go.mod has a replace directive.
  # Building inside the downloaded module (as its own main module) honours it instead.
  dir="$(go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  (cd "$dir" && go build -trimpath -o "$gobin/jaeger" ./cmd/jaeger)
  echo "$JAEGER_VERSION" >"$stamp"
fi
echo "observability test deps ready: $(prometheus --version 2>&1 | head -1); jaeger $(cat "$stamp")"
