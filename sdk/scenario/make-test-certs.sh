#!/usr/bin/env bash
# Test certificates for the SDK suites, made at test time (no key lives in the repository) by
# deploy/make-certs.sh, valid for 2 days:
#
#   bash sdk/scenario/make-test-certs.sh DIR [MEMBER...]     (members default to n1 n2 n3)
#
# writes into DIR: ca.pem (and ca.key), one certificate per member (MEMBER.pem/.key, with
# DNS:MEMBER and IP:127.0.0.1 in the SAN, as `cairn serve` wants), and a client certificate
# client.pem/.key (CN=client).
set -euo pipefail
dir="$1"
shift
members=("$@")
[ ${#members[@]} -gt 0 ] || members=(n1 n2 n3)
exec bash "$(dirname "$0")/../../deploy/make-certs.sh" --days 2 --ca-name "Cairn SDK Test CA" "$dir" "${members[@]/%/=IP:127.0.0.1}"
