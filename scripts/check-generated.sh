#!/usr/bin/env bash
# Fails when gen/ differs from what `buf generate` makes from proto/: generated code is
# never edited by hand, and must be regenerated and committed with every .proto change.
# Without the Go and Python generators (scripts/install-codegen.sh) only gen/ts is checked;
# CI installs them and checks everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH 2>/dev/null)/bin"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if command -v protoc >/dev/null && command -v grpc_python_plugin >/dev/null && command -v protoc-gen-go >/dev/null && command -v protoc-gen-go-grpc >/dev/null; then
  npx buf generate --template buf.gen.yaml -o "$tmp"
  dirs="ts python go"
else
  echo "note: Go/Python generators not installed (scripts/install-codegen.sh); checking gen/ts only"
  npx buf generate --template buf.gen.ts.yaml -o "$tmp"
  dirs="ts"
fi
# The TypeScript SDK's bigint copy (sdk/typescript/gen) comes from both templates.
outputs="sdk/typescript/gen"
for d in $dirs; do outputs="gen/$d $outputs"; done
# gen/go/go.mod and go.sum make gen/go a Go module of its own; they are not generated.
exclude=(-x go.mod -x go.sum)
for out in $outputs; do
  if ! diff -r "${exclude[@]}" "$tmp/$out" "$out" >/dev/null 2>&1; then
    diff -r "${exclude[@]}" "$tmp/$out" "$out" | head -40
    echo "$out is stale: run 'npx buf generate' and commit the result" >&2
    exit 1
  fi
done
echo "$outputs match proto/"
