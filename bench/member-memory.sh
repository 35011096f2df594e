#!/usr/bin/env bash
# Where one member's resident memory goes (issue 9): starts a member on a fresh data dir,
# prints the split when idle, loads KEYS keys of 256 bytes (the Go load generator's `load`
# workload: transactions of 100, 64 clients) and prints it again a few seconds later.
#   bash bench/member-memory.sh [KEYS=10000] [extra serve flags...]
# NODE_FLAGS adds flags to node (e.g. "--max-semi-space-size=4"); environment variables such
# as MALLOC_TRIM_THRESHOLD_ pass through to the member. Needs dist/ (npm run build) and Go.
# Columns: VmRSS and its anonymous and file-backed parts (/proc/PID/status); V8's new and
# old spaces (committed), the old space's live bytes, external memory and the Raft log's
# bytes in memory (/metrics). The rest of the anonymous part is native: the storage engine
# (memtables, block cache, table readers), grpc/http2, libuv and the allocator.
set -euo pipefail
KEYS=${1:-10000}; shift $(( $# < 1 ? $# : 1 ))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOADGEN="$ROOT/bench/.build/loadgen"
[ -x "$LOADGEN" ] || (cd "$ROOT/bench/loadgen" && go build -o "$LOADGEN" .)
DIR=$(mktemp -d /tmp/cairn-memory-XXXXXX)
FREE_PORT="const s=require('net').createServer().listen(0,()=>{console.log(s.address().port);s.close()})"
PORT=$(node -e "$FREE_PORT"); MPORT=$(node -e "$FREE_PORT")
# shellcheck disable=SC2086 # NODE_FLAGS is a list of flags
node ${NODE_FLAGS:-} "$ROOT/bin/cairn.js" serve --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$MPORT \
  --data-dir "$DIR/data" --log-level warn "$@" > "$DIR/log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR"' EXIT
until grep -qs "serving on" "$DIR/log"; do sleep 0.2; done
split() {
  curl -fs "http://127.0.0.1:$MPORT/metrics" | awk -v label="$1" -v status="/proc/$PID/status" '
    index($1, "nodejs_heap_space_size_total_bytes{space=\"new\"") == 1 { newSpace = $2 }
    index($1, "nodejs_heap_space_size_total_bytes{space=\"old\"") == 1 { oldSpace = $2 }
    index($1, "nodejs_heap_space_size_used_bytes{space=\"old\"") == 1 { oldUsed = $2 }
    /^nodejs_external_memory_bytes/ { external = $2 }
    /^cairn_raft_log_memory_bytes/ { raftLog = $2 }
    END {
      while ((getline line < status) > 0) {
        split(line, f, /[ \t]+/)
        if (f[1] == "VmRSS:") rss = f[2] / 1024; else if (f[1] == "RssAnon:") anon = f[2] / 1024; else if (f[1] == "RssFile:") file = f[2] / 1024
      }
      m = 1048576
      printf "%-8s RSS %4d MiB (anon %4d, file %3d) | V8 new %3d, old %4d (live %4d) | external %4d, of it Raft log %3d MiB\n",
        label, rss, anon, file, newSpace / m, oldSpace / m, oldUsed / m, external / m, raftLog / m
    }'
}
sleep 2
split idle
"$LOADGEN" -target cairn -endpoints 127.0.0.1:$PORT -workload load -keys "$KEYS" -o json > "$DIR/load.json"
sleep 3
split "$KEYS keys"
