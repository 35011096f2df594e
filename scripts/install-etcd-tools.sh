#!/usr/bin/env bash
# Installs the real etcd tools the etcd-compatibility tests (test/etcd-compat/) run (once;
# later runs find them and return at once):
#   etcd, etcdctl 3.7.3  built from the Go module proxy (scripts/etcd-tools/, whose go.mod
#                        pins the version) into $CAIRN_ETCD_TOOLS (default
#                        ~/.cache/cairn/etcd-tools/v3.7.3). Plain `go install ...@v3.7.3` is
#                        refused (etcd's modules have replace directives); a tiny main module
#                        that calls etcdmain.Main / ctlv3.MustStart builds them, as bench/etcd
#                        does for the benchmark.
#   etcdctl 3.4          Debian's `etcd-client` package (/usr/bin/etcdctl), with apt-get.
# npm test runs this before the TypeScript and Go tests (scripts/run-tests.mjs, step
# `etcd-tools`). Prints where the tools are; the tests find them the same way
# (test/etcd-compat/etcd-tools.ts).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(sed -n 's/^[[:space:]]*go.etcd.io\/etcd\/server\/v3 \(v[^ ]*\).*/\1/p' "$here/etcd-tools/go.mod")"
dir="${CAIRN_ETCD_TOOLS:-$HOME/.cache/cairn/etcd-tools/$version}"

if [ ! -x /usr/bin/etcdctl ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install Debian's etcd-client package (needs root)" >&2
    exit 1
  fi
  echo "installing Debian's etcd-client package (once)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-client >/dev/null
fi

# A stamp beside the binaries records which version they are (built inside a module, etcd
# reports its own version, but a half-finished build must not count as installed).
stamp="$dir/.version"
if [ ! -x "$dir/etcd" ] || [ ! -x "$dir/etcdctl" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$version" ]; then
  echo "building etcd and etcdctl $version from the Go module proxy into $dir (once; takes a few minutes)..."
  mkdir -p "$dir"
  rm -f "$stamp"
  (cd "$here/etcd-tools" && go build -trimpath -o "$dir/etcd" ./etcd && go build -trimpath -o "$dir/etcdctl" ./etcdctl)
  echo "$version" >"$stamp"
fi
echo "etcd tools ready in $dir: $("$dir/etcd" --version | head -1); $("$dir/etcdctl" version | head -1) (3.7); $(/usr/bin/etcdctl version 2>/dev/null | head -1) (Debian)"
