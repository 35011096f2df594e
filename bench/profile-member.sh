#!/usr/bin/env bash
# Profiles Cairn members under one workload of the Go load generator and prints where their
# CPU goes (bench/profile-shares.ts): the figures of "Where the time goes" in
# docs/benchmarks.md.
#
#   bench/profile-member.sh --workload put                  # one member, 64 clients, 10 s
#   bench/profile-member.sh --workload lin-get --members 3 --out /tmp/prof-lin3
#   bench/profile-member.sh --workload ser-get --cairn /tmp/base/bin/cairn.js --no-profile
#   bench/profile-member.sh --workload load --keys 200000 --clients 16   # bulk load, as compare.sh
#   bench/profile-member.sh --workload put --rate 2000 --no-profile --alloc-profile --trace-gc
#   bench/profile-member.sh --workload put --members 3 --no-profile --trace-jit --warmup 30s
#   UV_THREADPOOL_SIZE=2 bench/profile-member.sh --workload put --no-profile --node-args "--v8-pool-size=1"
#
# --cairn runs another build (an A/B against a copy of main's dist/); --no-profile only
# measures (ops/s, server CPU ms per 1k ops, load average), without the profiler's overhead.
# --rate R holds the measured run at R requests/s (below both builds' capacity, an A/B then
# compares the CPU of the same work, batching included, whatever the machine's load).
#
# --keys N is the key space (gets) or the keys written (load). The bulk load's warm-up writes
# 10,000 keys of another prefix, so the measured load writes only fresh keys, as compare.sh's.
#
# --alloc-profile samples where each member allocates during the measured run, garbage included
# (bench/alloc-sampler.mjs), and prints bytes allocated per request by site
# (bench/alloc-sites.ts); --trace-gc counts each member's scavenges and mark-compacts per
# 1,000 requests in the measured run, and the main thread's GC pauses (the pause, plus a
# mark-compact's incremental steps) in ms per 1,000. --trace-jit counts each member's TurboFan
# compilations and deoptimizations in the measured run (is the JIT still warming up?).
# --node-args "..." passes more flags to each member's node (e.g. --max-semi-space-size=64);
# environment variables (UV_THREADPOOL_SIZE, NODE_OPTIONS) reach the members as they are.
#
# Each member's CPU in the measured run is also split by thread (bench/thread-cpu.ts: the main
# thread, V8's platform threads that garbage-collect and compile, libuv's pool, RocksDB's).
#
# Every member runs under `node --cpu-prof`; the load generator first loads the key space
# (get workloads) and warms up in a run of its own, then the measured run is timed on
# CLOCK_MONOTONIC (the clock of the profile's samples), and only that window is summarised.
# Needs `npm run build` done and bench/.build/loadgen (bench/compare.sh builds it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cairn="$root/bin/cairn.js" profile=1 workload=put members=1 clients=64 duration=10s warmup=3s port_base=25000 out="" engine=rocksdb top=15 rate=0 keys=10000 alloc=0 trace_gc=0 trace_jit=0 node_args=""
while [ $# -gt 0 ]; do
  case "$1" in
    --workload) workload="$2"; shift 2 ;;
    --members) members="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --port-base) port_base="$2"; shift 2 ;;
    --engine) engine="$2"; shift 2 ;;
    --top) top="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --cairn) cairn="$2"; shift 2 ;;
    --no-profile) profile=0; shift ;;
    --rate) rate="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --alloc-profile) alloc=1; shift ;;
    --trace-gc) trace_gc=1; shift ;;
    --trace-jit) trace_jit=1; shift ;;
    --node-args) node_args="$2"; shift 2 ;;
    *) echo "profile-member.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out="${out:-$(mktemp -d /tmp/cairn-profile-XXXXXX)}"
mkdir -p "$out"
loadgen="$here/.build/loadgen"
[ -x "$loadgen" ] || { echo "profile-member.sh: build $loadgen first (bench/compare.sh does)" >&2; exit 1; }
monotonic_us() { node -e 'process.stdout.write(String(process.hrtime.bigint() / 1000n))'; }

pids=() initial="" endpoints=""
for i in $(seq 1 "$members"); do
  initial+="${initial:+,}n$i=127.0.0.1:$((port_base + i))"
  endpoints+="${endpoints:+,}127.0.0.1:$((port_base + i))"
done
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap stop EXIT
for i in $(seq 1 "$members"); do
  cluster=()
  [ "$members" -gt 1 ] && cluster=(--initial-cluster "$initial" --initial-cluster-token cairn-profile)
  prof=()
  [ "$profile" = 1 ] && prof=(--cpu-prof --cpu-prof-dir="$out/n$i")
  [ "$alloc" = 1 ] && prof+=(--import "$here/alloc-sampler.mjs")
  [ "$trace_gc" = 1 ] && prof+=(--trace-gc)
  [ "$trace_jit" = 1 ] && prof+=(--trace-opt --trace-deopt)
  # shellcheck disable=SC2206 # split on purpose: several V8/Node flags
  [ -n "$node_args" ] && prof+=($node_args)
  CAIRN_ALLOC_OUT="$out/n$i.heapprofile" node "${prof[@]}" "$cairn" serve --name "n$i" \
    --listen "127.0.0.1:$((port_base + i))" "${cluster[@]}" --data-dir "$out/data/n$i" \
    --engine "$engine" --log-level warn >"$out/n$i.log" 2>&1 &
  pids+=($!)
done
connections=$(( members == 1 ? 8 : 3 * members ))
common=(-target cairn -endpoints "$endpoints" -workload "$workload" -clients "$clients" -connections "$connections" -keys "$keys")
warm=()
[ "$workload" = load ] && warm=(-keys 10000 -key-prefix warmup/)
"$loadgen" "${common[@]}" "${warm[@]}" -warmup 0s -duration "$warmup" -o json >"$out/warmup.json"
gc_lines() { for i in $(seq 1 "$members"); do grep -c "$1" "$out/n$i.log" || true; done; }
log_lines() { for i in $(seq 1 "$members"); do wc -l <"$out/n$i.log"; done; }
[ "$trace_gc" = 1 ] && { scavenges_before=($(gc_lines Scavenge)); marks_before=($(gc_lines Mark-Compact)); }
lines_before=($(log_lines))
[ "$alloc" = 1 ] && for pid in "${pids[@]}"; do kill -USR2 "$pid"; done
threads_snapshot() { for i in $(seq 1 "$members"); do cat /proc/"${pids[i-1]}"/task/*/stat >"$out/n$i.threads.$1" 2>/dev/null || true; done; }
threads_snapshot before
from=$(monotonic_us)
"$loadgen" "${common[@]}" -rate "$rate" -prefill=false -wait 0 -warmup 0s -duration "$duration" \
  -server-pids "$(IFS=,; echo "${pids[*]}")" -o json >"$out/run.json"
to=$(monotonic_us)
threads_snapshot after
[ "$alloc" = 1 ] && for pid in "${pids[@]}"; do kill -USR2 "$pid"; done
[ "$trace_gc" = 1 ] && { scavenges_after=($(gc_lines Scavenge)); marks_after=($(gc_lines Mark-Compact)); }
lines_after=($(log_lines))
pids_done=("${pids[@]}")
stop
trap - EXIT
ops=$(jq -r .ops "$out/run.json")
echo "# $workload, $members member(s), $clients clients, rate $rate, $cairn: $(jq -r '"\(.ops_per_sec|floor) ops/s, server CPU \(.server_cpu_ms_per_1k_ops|floor) ms per 1k ops, load \(.loadavg)"' "$out/run.json")"
ops_k() { jq -r ".ops / 1000" "$out/run.json"; }
# The lines member $1 logged in the measured run (its --trace-gc / --trace-opt output).
window_lines() { sed -n "$((lines_before[$1 - 1] + 1)),${lines_after[$1 - 1]}p" "$out/n$1.log"; }
[ "$trace_gc" = 1 ] && for i in $(seq 1 "$members"); do
  s=$(( scavenges_after[i-1] - scavenges_before[i-1] )) m=$(( marks_after[i-1] - marks_before[i-1] ))
  # A trace line reads "... MB, PAUSE / ... ms  (+ STEPS ms in N steps ...": both on the main thread.
  pause=$(window_lines "$i" |
    awk '/ms: (Scavenge|Mark-Compact|Mark-sweep)/ { for (f = 1; f < NF; f++) { if ($f == "MB," ) p += $(f+1); if ($f == "(+") p += $(f+1) } } END { printf "%d", p }')
  echo "n$i: $s scavenges, $m mark-compacts; $(jq -rn "$s / $(ops_k) * 100 | floor / 100") scavenges per 1k requests; GC pauses $pause ms, $(jq -rn "$pause / $(ops_k) * 10 | floor / 10") ms per 1k requests"
done
[ "$trace_jit" = 1 ] && for i in $(seq 1 "$members"); do
  echo "n$i: $(window_lines "$i" | grep -c 'compiling method' || true) TurboFan compilations started, $(window_lines "$i" | grep -c 'bailout (kind: deopt' || true) deoptimizations"
done
v8_pool_size=$(sed -n 's/.*--v8-pool-size[= ]\([0-9]*\).*/\1/p' <<<"$node_args ${NODE_OPTIONS:-}")
for i in $(seq 1 "$members"); do
  echo
  (cd "$root" && npx tsx bench/thread-cpu.ts "$out/n$i.threads.before" "$out/n$i.threads.after" --pid "${pids_done[i-1]}" --ops "$ops" --v8-pool-size "${v8_pool_size:-4}")
done
[ "$alloc" = 1 ] && for i in $(seq 1 "$members"); do
  echo
  (cd "$root" && npx tsx bench/alloc-sites.ts "$out/n$i.heapprofile" --ops "$ops" --top "$top")
done
[ "$profile" = 1 ] && for i in $(seq 1 "$members"); do
  echo
  (cd "$root" && npx tsx bench/profile-shares.ts "$out/n$i"/*.cpuprofile --from "$from" --to "$to" --ops "$ops" --top "$top")
done
rm -rf "$out/data"
