#!/usr/bin/env bash
# Fails when gen/ differs from what `buf generate` makes from proto/: generated code is
# never edited by hand, and must be regenerated and committed with every .proto change.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx buf generate --template buf.gen.yaml -o "$tmp"
if ! diff -r "$tmp/gen" gen >/dev/null; then
  diff -r "$tmp/gen" gen | head -40
  echo "gen/ is stale: run 'npx buf generate' and commit the result" >&2
  exit 1
fi
echo "gen/ matches proto/"
