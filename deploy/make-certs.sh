#!/usr/bin/env bash
# Makes a CA, one certificate per member and a client certificate with openssl, as
# docs/operations.md ("TLS") explains. A member's certificate names it (DNS:<name>, which
# peers check) plus the DNS names and addresses clients dial; it serves and dials peers, so
# it is for serverAuth and clientAuth.
#
#   deploy/make-certs.sh DIR NAME[=SAN,SAN...] ...
#   deploy/make-certs.sh certs n1=IP:10.0.0.11 n2=IP:10.0.0.12 n3=IP:10.0.0.13
#   deploy/make-certs.sh certs cairn-0=DNS:cairn-0.cairn-peer,DNS:cairn-0.cairn-peer.default.svc ...
#
# Writes DIR/ca.pem (+ ca.key), DIR/<name>.pem + .key per member, DIR/client.pem + .key.
# An existing CA in DIR is reused, so members can be added later.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
dir="$1"
shift
mkdir -p "$dir"
cd "$dir"
days=825
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
if [ ! -f ca.pem ]; then
  openssl req -x509 "${ec[@]}" -days 3650 -subj "/CN=Cairn CA" -keyout ca.key -out ca.pem 2>/dev/null
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
