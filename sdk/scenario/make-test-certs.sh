#!/usr/bin/env bash
# Test certificates for the SDK suites, made with openssl at test time (no key lives in the
# repository), as test/helpers/test-certificates.ts makes them for the server's tests:
#
#   bash sdk/scenario/make-test-certs.sh DIR [MEMBER...]     (members default to n1 n2 n3)
#
# writes into DIR: ca.pem (and ca.key), one certificate per member (MEMBER.pem/.key, with
# DNS:MEMBER and IP:127.0.0.1 in the SAN, as `cairn serve` wants), and a client certificate
# client.pem/.key (CN=client). Keys are P-256, fast to make; everything is valid for 2 days.
set -euo pipefail
dir="$1"
shift
members=("$@")
[ ${#members[@]} -gt 0 ] || members=(n1 n2 n3)
mkdir -p "$dir"
cd "$dir"
key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${key[@]}" -days 2 -subj "/CN=Cairn SDK Test CA" -keyout ca.key -out ca.pem 2>/dev/null
issue() { # NAME SAN
  local ext="$1.ext"
  { [ -n "$2" ] && echo "subjectAltName=$2"; echo "extendedKeyUsage=serverAuth,clientAuth"; } > "$ext"
  openssl req "${key[@]}" -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile "$ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$ext"
}
for m in "${members[@]}"; do issue "$m" "DNS:$m,IP:127.0.0.1"; done
issue client ""
