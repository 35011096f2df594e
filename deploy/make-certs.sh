#!/usr/bin/env bash
# Makes a CA, one certificate per member and a client certificate with openssl, as
# docs/operations.md ("TLS") explains. A member's certificate names it (DNS:<name>, which
# peers check) plus the DNS names and addresses clients dial; it serves and dials peers, so
# it is for serverAuth and clientAuth. The client certificate has CN=client.
#
#   deploy/make-certs.sh [--days N] [--ca-name CN] DIR NAME[=SAN,SAN...] ...
#   deploy/make-certs.sh certs n1=IP:10.0.0.11 n2=IP:10.0.0.12 n3=IP:10.0.0.13
#   deploy/make-certs.sh certs cairn-0=DNS:cairn-0.cairn-peer,DNS:cairn-0.cairn-peer.default.svc ...
#   deploy/make-certs.sh --days 2 /tmp/t n1=IP:127.0.0.1 n2=IP:127.0.0.1   # throwaway, for tests
#
# Writes DIR/ca.pem (+ ca.key), DIR/<name>.pem + .key per member, DIR/client.pem + .key.
# Keys are P-256. --days is the validity of the member and client certificates (default 825;
# the CA gets 3650, or the same as --days when that is shorter). An existing CA in DIR is
# reused, so members can be added later. The test suites (the SDKs' through
# sdk/scenario/make-test-certs.sh, bench/compare.sh) make their certificates with this script
# too; the TypeScript tests' test/helpers/test-certificates.ts issues them one at a time
# (expired ones, rotations, a second CA), which this script does not do.
set -euo pipefail
usage() {
  sed -n '2,19p' "$0" >&2
  exit 2
}
days=825
ca_name="Cairn CA"
while [ $# -gt 0 ]; do
  case "$1" in
    --days) days="${2:?--days needs a number}"; shift 2 ;;
    --ca-name) ca_name="${2:?--ca-name needs a name}"; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "make-certs.sh: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
dir="$1"
shift
mkdir -p "$dir"
cd "$dir"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
ca_days=$((days < 3650 ? days : 3650))
if [ ! -f ca.pem ]; then
  openssl req -x509 "${ec[@]}" -days "$ca_days" -subj "/CN=$ca_name" -keyout ca.key -out ca.pem 2>/dev/null
fi
sign() { # name, extensions
  openssl req "${ec[@]}" -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf '%b' "$2" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
  chmod 600 "$1.key"
}
for spec in "$@"; do
  name="${spec%%=*}"
  extra=""
  [ "$spec" != "$name" ] && extra=",${spec#*=}"
  sign "$name" "subjectAltName=DNS:$name$extra\nextendedKeyUsage=serverAuth,clientAuth\n"
done
sign client "extendedKeyUsage=clientAuth\n"
chmod 600 ca.key
