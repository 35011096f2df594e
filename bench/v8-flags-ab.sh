#!/usr/bin/env bash
# A/B of V8/Node settings for a member: runs bench/profile-member.sh (no profiler, --trace-gc)
# once per variant per round, alternating, and prints one line per run: throughput, server
# CPU per 1,000 ops, p99, the CPU of the main thread and of V8's platform threads per 1,000
# ops, scavenges and GC pause per 1,000 ops, and the load average. The "V8's threads and
# flags" figures of docs/benchmarks.md.
#
#   bench/v8-flags-ab.sh --rounds 2 --variant 'default||' --variant 'pool1||--v8-pool-size=1' \
#     --variant 'uv2|UV_THREADPOOL_SIZE=2|' -- --workload put --rate 2000
#
# A variant is LABEL|ENV|NODE-ARGS: ENV is space-separated NAME=VALUE pairs set for the
# members (NODE_OPTIONS, UV_THREADPOOL_SIZE), NODE-ARGS go to each member's node. Everything
# after -- goes to profile-member.sh. Rounds run the variants in turn, every other round in
# reverse order, so a drift in the machine's load falls on all of them alike.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
rounds=2 variants=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --variant) variants+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "v8-flags-ab.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "${#variants[@]}" -gt 0 ] || { echo "v8-flags-ab.sh: give at least one --variant" >&2; exit 2; }

# The thread-cpu.ts line of a group, as ms per 1k ops (the last field but four), summed over members.
per_k() { awk -v g="$2" 'index($0, g) == 3 { s += $(NF - 4) } END { printf "%.0f", s }' "$1"; }

printf 'round\tvariant\tops/s\tCPU ms/1k\tp99 ms\tmain ms/1k\tV8 platform ms/1k\tscavenges/1k\tGC pause ms/1k\tload (1 min, before-after)\n'
for round in $(seq 1 "$rounds"); do
  order=("${variants[@]}")
  if [ $((round % 2)) = 0 ]; then
    order=()
    for ((i = ${#variants[@]} - 1; i >= 0; i--)); do order+=("${variants[i]}"); done
  fi
  for variant in "${order[@]}"; do
    IFS='|' read -r label env_pairs node_args <<<"$variant"
    out=$(mktemp -d /tmp/cairn-v8ab-XXXXXX)
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    # shellcheck disable=SC2086 # split on purpose: several NAME=VALUE pairs
    env $env_pairs "$here/profile-member.sh" --no-profile --trace-gc --out "$out" --node-args "$node_args" "$@" >"$out/report.txt" 2>&1 ||
      { echo "v8-flags-ab.sh: $label failed, see $out/report.txt" >&2; continue; }
    load_after=$(cut -d' ' -f1 /proc/loadavg)
    scav=$(awk '/scavenges per 1k/ { s += $(NF - 13) } END { printf "%.2f", s }' "$out/report.txt")
    pause=$(awk '/GC pauses/ { s += $(NF - 4) } END { printf "%.1f", s }' "$out/report.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$label" \
      "$(jq -r '.ops_per_sec | floor' "$out/run.json")" "$(jq -r '.server_cpu_ms_per_1k_ops | floor' "$out/run.json")" \
      "$(jq -r '.latency_ms.p99 * 10 | floor / 10' "$out/run.json")" \
      "$(per_k "$out/report.txt" 'main thread')" "$(per_k "$out/report.txt" 'V8 platform')" "$scav" "$pause" \
      "$load_before-$load_after"
  done
done
