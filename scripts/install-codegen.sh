#!/usr/bin/env bash
# Installs the code generators buf.gen.yaml names besides ts-proto (which npm installs):
# protoc with its Python generators from Debian's packages, and the Go generators from the
# Go module proxy at pinned versions, so that regenerating gives byte-identical output.
set -euo pipefail
PROTOC_GEN_GO=v1.36.12
PROTOC_GEN_GO_GRPC=v1.6.2

if ! command -v protoc >/dev/null 2>&1 || ! command -v grpc_python_plugin >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler protobuf-compiler-grpc >/dev/null
  else
    echo "install Debian's protobuf-compiler and protobuf-compiler-grpc (needs root)" >&2
    exit 1
  fi
fi
gobin="$(go env GOPATH)/bin"
installed_version() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }
[ "$(installed_version "$gobin/protoc-gen-go")" = "$PROTOC_GEN_GO" ] || go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO"
[ "$(installed_version "$gobin/protoc-gen-go-grpc")" = "$PROTOC_GEN_GO_GRPC" ] || go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"
echo "code generators ready: $(protoc --version), protoc-gen-go $PROTOC_GEN_GO, protoc-gen-go-grpc $PROTOC_GEN_GO_GRPC"
