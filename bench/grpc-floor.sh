#!/usr/bin/env bash
# How much of a member's CPU per request is the transport alone (issue 9): runs the same Go
# load generator workload against one etcd member, against bench/grpc-floor.ts (Cairn's KV
# service over @grpc/grpc-js with handlers that only answer), against bench/http2-floor.ts
# (the same answers from a minimal gRPC server on node:http2, no grpc-js) and against one
# Cairn member, in rotating order for each round, and prints ops/s, p99 and server CPU per
# 1,000 requests for each. What the grpc-js floor costs per request, Cairn cannot go below
# while it serves gRPC from Node with grpc-js, and the http2 floor while it serves it from
# Node at all; what Cairn costs beyond the first is its own work.
#
#   bash bench/grpc-floor.sh [--workloads ser-get,put,load] [--rounds 3] [--clients 64] [--keys 10000]
#                            [--duration 10s] [--warmup 3s] [--cpus LIST] [--client-cpus LIST]
#                            [--port-base 24300] [--out DIR]
#
# Needs Node.js 20 with `npm install` done and Go; builds etcd and the load generator into
# bench/.build/ as bench/compare.sh does. On a 2-core machine the load generator shares the
# servers' cores, so ops/s and p99 are its as much as theirs; CPU per request is the
# servers' own. Never part of `npm test`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build="$here/.build"
workloads=ser-get,put rounds=3 clients=64 keys=10000 duration=10s warmup=3s cpus="" client_cpus="" port_base=24300
out="$here/results/floor-$(date -u +%Y%m%dT%H%M%SZ)"
while [ $# -gt 0 ]; do
  case "$1" in
    --workloads) workloads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --client-cpus) client_cpus=$2; shift 2 ;;
    --port-base) port_base=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) sed -n '2,19p' "$0"; exit 2 ;;
  esac
done
pin=(); [ -n "$cpus" ] && pin=(taskset -c "$cpus")
client_pin=(); [ -n "$client_cpus" ] && client_pin=(taskset -c "$client_cpus")
mkdir -p "$build" "$out/runs" "$out/logs"
(cd "$here/etcd" && go build -o "$build/etcd" .)
(cd "$here/loadgen" && go build -o "$build/loadgen" .)
[ -f "$root/dist/server/main.js" ] || (cd "$root" && npm run build >/dev/null)

pid=""
stop_server() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# start_server TARGET DATADIR LOG: starts one server in the background; sets pid, endpoint and
# the load generator's -target (the floor speaks Cairn's API).
start_server() {
  local target=$1 data=$2 log=$3
  case "$target" in
    etcd)
      endpoint="127.0.0.1:$((port_base + 1))"; lg_target=etcd
      "${pin[@]}" "$build/etcd" --name e1 --data-dir "$data" \
        --listen-client-urls "http://$endpoint" --advertise-client-urls "http://$endpoint" \
        --listen-peer-urls "http://127.0.0.1:$((port_base + 2))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((port_base + 2))" \
        --initial-cluster "e1=http://127.0.0.1:$((port_base + 2))" --log-level warn >"$log" 2>&1 &
      ;;
    floor)
      endpoint="127.0.0.1:$((port_base + 3))"; lg_target=cairn
      (cd "$root" && exec "${pin[@]}" node --import tsx bench/grpc-floor.ts "$endpoint") >"$log" 2>&1 &
      ;;
    h2floor)
      endpoint="127.0.0.1:$((port_base + 5))"; lg_target=cairn
      (cd "$root" && exec "${pin[@]}" node --import tsx bench/http2-floor.ts "$endpoint") >"$log" 2>&1 &
      ;;
    cairn)
      endpoint="127.0.0.1:$((port_base + 4))"; lg_target=cairn
      "${pin[@]}" node "$root/bin/cairn.js" serve --name n1 --listen "$endpoint" --data-dir "$data" \
        --log-level warn >"$log" 2>&1 &
      ;;
  esac
  pid=$!
}

targets=(etcd floor h2floor cairn)
{
  echo "started: $(date -u +%FT%TZ); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "etcd: $("$build/etcd" --version | head -1); cairn: $(cd "$root" && git describe --always --dirty); node $(node --version)"
  echo "cpus: servers ${cpus:-any}, loadgen ${client_cpus:-any}"
} | tee "$out/env.txt"
for w in $(tr , ' ' <<<"$workloads"); do
  for r in $(seq 1 "$rounds"); do
    # Rotate the order each round so no target always runs first (or last) on a warming machine.
    for k in 0 1 2 3; do
      target=${targets[$(( (k + r - 1) % 4 ))]}
      name="$w-r$r-$target"
      rm -rf "$out/data"; mkdir -p "$out/data"
      start_server "$target" "$out/data/$name" "$out/logs/$name.log"
      if "${client_pin[@]}" "$build/loadgen" -target "$lg_target" -endpoints "$endpoint" -workload "$w" \
        -keys "$keys" -clients "$clients" -connections 8 -warmup "$warmup" -duration "$duration" \
        -server-pids "$pid" -o json -meta "case=$w, $clients clients" -meta "round=$r" \
        -meta "server=$target" >"$out/runs/$name.json" 2>"$out/logs/$name-loadgen.log"; then
        jq -r --arg n "$name" '"\($n): \(.ops_per_sec|floor) ops/s, p99 \(.latency_ms.p99) ms, CPU \(.servers[0].cpu_s * 1000000 / .ops | floor) ms per 1,000, load \(.loadavg)"' \
          "$out/runs/$name.json" | tee -a "$out/summary.txt"
      else
        echo "$name FAILED: $(tail -3 "$out/logs/$name-loadgen.log")" | tee -a "$out/summary.txt"
        rm -f "$out/runs/$name.json"
      fi
      stop_server
    done
  done
done
rm -rf "$out/data"
