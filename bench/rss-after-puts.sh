#!/usr/bin/env bash
# Resident memory of a single node after many puts over few keys (issue 11): starts a node
# on a fresh data dir, runs N puts of SIZE bytes over KEYS keys, prints the node's RSS, then
# compacts physically to the current revision and prints it again.
#   bash bench/rss-after-puts.sh [N=20000] [SIZE=4096] [KEYS=200] [extra serve flags...]
# BENCH_FLAGS adds flags to `cairn bench put` (e.g. "--clients 4 --command-timeout 60s" for
# 1 MiB values on a loaded machine); the closing compaction may take a while, hence its timeout.
set -euo pipefail
N=${1:-20000}; SIZE=${2:-4096}; KEYS=${3:-200}; shift $(( $# < 3 ? $# : 3 ))
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CAIRN="node $ROOT/bin/cairn.js"
DIR=$(mktemp -d /tmp/cairn-rss-XXXXXX)
FREE_PORT="const s=require('net').createServer().listen(0,()=>{console.log(s.address().port);s.close()})"
PORT=$(node -e "$FREE_PORT"); MPORT=$(node -e "$FREE_PORT")
$CAIRN serve --listen 127.0.0.1:$PORT --metrics-listen 127.0.0.1:$MPORT --data-dir "$DIR" --log-level warn "$@" > "$DIR.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DIR" "$DIR.log"' EXIT
until grep -qs "serving on" "$DIR.log"; do sleep 0.2; done
# The resident size, and the Raft log's bytes in memory where the member reports them.
rss() {
  awk '/VmRSS/ {printf "%d MB", $2/1024}' /proc/$PID/status
  curl -fs "http://127.0.0.1:$MPORT/metrics" | awk '/^cairn_raft_log_memory_bytes/ {printf " (raft log in memory: %.1f MiB)", $2/1048576}' || true
}
echo "after start: $(rss)"
$CAIRN bench put --endpoints 127.0.0.1:$PORT --total "$N" --value-size "$SIZE" --key-space "$KEYS" ${BENCH_FLAGS:-} | grep -E 'throughput|errors'
echo "after $N puts of $SIZE bytes over $KEYS keys: $(rss)"
REV=$($CAIRN status --command-timeout 60s --endpoints 127.0.0.1:$PORT -o json | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);const o=j.members?.[0] ?? j;console.log(o.header?.revision ?? o.revision)})")
$CAIRN compact "$REV" --physical --command-timeout 120s --endpoints 127.0.0.1:$PORT > /dev/null
echo "after compact $REV --physical: $(rss)"
