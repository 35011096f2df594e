#!/usr/bin/env bash
# Side-by-side benchmark of Cairn and etcd on this machine: the same workloads, driven by
# the same Go load generator (bench/loadgen), against the same topologies (1 and 3 members
# on loopback, fsync on for both, fresh data directories for every run), alternating the
# two stores (etcd then Cairn in odd rounds, Cairn then etcd in even ones). Writes a
# markdown table to <out>/report.md and every run's JSON to <out>/runs/.
#
#   bench/compare.sh                  # the full matrix (about 20 minutes)
#   bench/compare.sh --quick          # one member, 1 round, 3 s windows (about 2 minutes)
#   bench/compare.sh --members 3 --workloads put,lin-get --clients 64 --rounds 3
#   bench/compare.sh --cpus 0         # pin every server to CPU 0 (taskset), loadgen free
#   bench/compare.sh --quick --tls both --workloads put,lin-get   # TLS off and on, side by side
#   bench/compare.sh --members 1,3 --workloads lease-keepalive --leases 10000 --lease-procs 4
#
# Needs Node.js 20 with `npm install` done, Go, and network access to the Go module proxy
# the first time (etcd is built from go.etcd.io/etcd/server/v3 at the version in
# bench/etcd/go.mod into bench/.build/, which git ignores).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

usage() {
  cat <<'EOF'
usage: bench/compare.sh [options]
  --quick               1 member, 1 round, 1 s warm-up + 3 s measured, 200 watchers / 20 streams
  --members LIST        topologies: 1, 3 or 1,3 (default 1,3)
  --workloads LIST      put,lin-get,ser-get,txn,watch,load,lease-keepalive (default: all)
  --clients LIST        clients for put/lin-get/ser-get/txn (default: 64 with 1 member,
                        64,256 with 3 members; txn always 64 unless given)
  --connections N       gRPC connections of the load generator, spread round-robin over
                        the members (default 8 with 1 member, 3 per member otherwise,
                        so that every member gets the same share)
  --rounds N            A/B rounds per case (default 2)
  --warmup D            warm-up per run (default 3s)
  --duration D          measured window per run (default 10s)
  --watchers N          watch fan-out watchers (default 1000)
  --streams N           watch streams (default 100)
  --watch-rate R        puts/s during the watch fan-out (default 50)
  --watch-clients N     concurrent putters during the watch fan-out (default 100: enough to hold the rate when puts are slow)
  --leases N            lease keep-alive sessions, one lease and one stream each (default 10000)
  --lease-ttl S         their TTL in seconds; each renews every TTL/3 (default 10)
  --lease-procs P       client processes sharing the sessions, each with --connections
                        connections (default 4)
  --keys N              key space, loaded before gets and by the load case (default 10000)
  --value-size N        value bytes (default 256)
  --cpus LIST           taskset -c LIST for every server of both stores (e.g. 0 or 0,1)
  --client-cpus LIST    taskset -c LIST for the load generator
  --engine NAME         Cairn's storage engine (default rocksdb)
  --port-base N         first port used (default 24000)
  --out DIR             results directory (default bench/results/compare-<time>)
  --keep-data           keep the data directories (default: removed after each run)
  --tls MODE            off (default), on, or both: TLS with client certificates
                        (--client-cert-auth; etcd also on its peer URLs), certificates made
                        with openssl into <out>/tls; "both" runs every case both ways
EOF
}

command="bench/compare.sh $*"
members_list="1,3"
workloads_list="put,lin-get,ser-get,txn,watch,load,lease-keepalive"
clients_list=""
connections=""
rounds=2
warmup=3s
duration=10s
watchers=1000
streams=100
watch_rate=50
watch_clients=100
leases=10000
lease_ttl=10
lease_procs=4
keys=10000
value_size=256
cpus=""
client_cpus=""
engine=rocksdb
port_base=24000
out=""
keep_data=0
tls_modes="off"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) members_list=1; rounds=1; warmup=1s; duration=3s; watchers=200; streams=20; leases=1000; shift ;;
    --members) members_list="$2"; shift 2 ;;
    --workloads) workloads_list="$2"; shift 2 ;;
    --clients) clients_list="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --watchers) watchers="$2"; shift 2 ;;
    --streams) streams="$2"; shift 2 ;;
    --watch-rate) watch_rate="$2"; shift 2 ;;
    --watch-clients) watch_clients="$2"; shift 2 ;;
    --leases) leases="$2"; shift 2 ;;
    --lease-ttl) lease_ttl="$2"; shift 2 ;;
    --lease-procs) lease_procs="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --value-size) value_size="$2"; shift 2 ;;
    --cpus) cpus="$2"; shift 2 ;;
    --client-cpus) client_cpus="$2"; shift 2 ;;
    --engine) engine="$2"; shift 2 ;;
    --port-base) port_base="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --keep-data) keep_data=1; shift ;;
    --tls)
      case "$2" in off) tls_modes="off" ;; on) tls_modes="on" ;; both) tls_modes="off on" ;;
        *) echo "compare.sh: --tls takes off, on or both" >&2; exit 2 ;; esac
      shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

out="${out:-$root/bench/results/compare-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out/runs" "$out/logs" "$out/data"
out="$(cd "$out" && pwd)"
build="$here/.build"
mkdir -p "$build"
log() { printf '[compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- builds

started=$(date +%s)
log "building etcd ($(grep -o 'etcd/server/v3 v[^ ]*' "$here/etcd/go.mod")) and the load generator into $build"
(cd "$here/etcd" && go build -o "$build/etcd" .)
(cd "$here/loadgen" && go build -o "$build/loadgen" .)
if [ ! -f "$root/dist/server/cli/cairn.js" ] || [ -n "$(find "$root/server" -newer "$root/dist/server/cli/cairn.js" -name '*.ts' -print -quit)" ]; then
  log "building Cairn (npm run build)"
  (cd "$root" && npm run build >/dev/null)
fi
log "etcd: $("$build/etcd" --version | head -1); Cairn: $(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown); node $(node --version); $(go version | cut -d' ' -f3)"

pin=()
[ -n "$cpus" ] && pin=(taskset -c "$cpus")
client_pin=()
[ -n "$client_cpus" ] && client_pin=(taskset -c "$client_cpus")

# ---- TLS: a CA, one certificate per member of either store (its name and 127.0.0.1 in the
# SAN; it serves and dials peers), and one for the load generator.

tls_dir="$out/tls"
if [[ " $tls_modes " == *" on "* ]]; then
  bash "$here/../deploy/make-certs.sh" --days 2 --ca-name "bench CA" "$tls_dir" \
    n1=IP:127.0.0.1 n2=IP:127.0.0.1 n3=IP:127.0.0.1 e1=IP:127.0.0.1 e2=IP:127.0.0.1 e3=IP:127.0.0.1
fi

# ---- clusters

pids=()
endpoints=""

stop_cluster() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

# start_cluster TARGET MEMBERS DATADIR LOGPREFIX TLS: starts the members in the background and
# sets pids and endpoints (the load generator waits until a put succeeds through each).
start_cluster() {
  local target=$1 n=$2 data=$3 logp=$4 tls=$5 i initial="" eps=() scheme=http
  [ "$tls" = on ] && scheme=https
  pids=()
  for i in $(seq 1 "$n"); do
    if [ "$target" = etcd ]; then
      initial+="${initial:+,}e$i=$scheme://127.0.0.1:$((port_base + 100 + i))"
      eps+=("127.0.0.1:$((port_base + i))")
    else
      initial+="${initial:+,}n$i=127.0.0.1:$((port_base + 200 + i))"
      eps+=("127.0.0.1:$((port_base + 200 + i))")
    fi
  done
  for i in $(seq 1 "$n"); do
    if [ "$target" = etcd ]; then
      local client="127.0.0.1:$((port_base + i))" peer="127.0.0.1:$((port_base + 100 + i))"
      local tls_flags=()
      [ "$tls" = on ] && tls_flags=(--cert-file "$tls_dir/e$i.pem" --key-file "$tls_dir/e$i.key"
        --trusted-ca-file "$tls_dir/ca.pem" --client-cert-auth
        --peer-cert-file "$tls_dir/e$i.pem" --peer-key-file "$tls_dir/e$i.key"
        --peer-trusted-ca-file "$tls_dir/ca.pem" --peer-client-cert-auth)
      "${pin[@]}" "$build/etcd" --name "e$i" --data-dir "$data/e$i" \
        --listen-client-urls "$scheme://$client" --advertise-client-urls "$scheme://$client" \
        --listen-peer-urls "$scheme://$peer" --initial-advertise-peer-urls "$scheme://$peer" \
        --initial-cluster "$initial" --initial-cluster-state new --initial-cluster-token cairn-bench \
        "${tls_flags[@]}" --log-level warn >"$logp-e$i.log" 2>&1 &
    else
      local cluster_flags=() tls_flags=()
      [ "$n" -gt 1 ] && cluster_flags=(--initial-cluster "$initial" --initial-cluster-token cairn-bench)
      [ "$tls" = on ] && tls_flags=(--cert-file "$tls_dir/n$i.pem" --key-file "$tls_dir/n$i.key"
        --trusted-ca-file "$tls_dir/ca.pem" --client-cert-auth)
      "${pin[@]}" node "$root/bin/cairn.js" serve --name "n$i" --listen "127.0.0.1:$((port_base + 200 + i))" \
        "${cluster_flags[@]}" "${tls_flags[@]}" --data-dir "$data/n$i" --engine "$engine" \
        --log-level warn >"$logp-n$i.log" 2>&1 &
    fi
    pids+=($!)
  done
  endpoints=$(IFS=,; echo "${eps[*]}")
}

# ---- the matrix: "members|workload|clients" per case

cases=()
has() { [[ ",$1," == *",$2,"* ]]; }
for m in $(tr , ' ' <<<"$members_list"); do
  default_clients=64
  [ "$m" -gt 1 ] && default_clients="64,256"
  for w in put lin-get ser-get txn watch load lease-keepalive; do
    has "$workloads_list" "$w" || continue
    case "$w" in
      put|lin-get|ser-get) for c in $(tr , ' ' <<<"${clients_list:-$default_clients}"); do cases+=("$m|$w|$c"); done ;;
      txn) for c in $(tr , ' ' <<<"${clients_list:-64}"); do cases+=("$m|$w|$c"); done ;;
      watch) cases+=("$m|$w|$watch_clients") ;;
      load) cases+=("$m|$w|16") ;;
      lease-keepalive) cases+=("$m|$w|64") ;;
    esac
  done
done

# Refuse to start when another process holds one of the ports.
max_members=$(tr , '\n' <<<"$members_list" | sort -n | tail -1)
for i in $(seq 1 "$max_members"); do
  for p in $((port_base + i)) $((port_base + 100 + i)) $((port_base + 200 + i)); do
    if ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
      echo "compare.sh: port $p is in use; pick other ports with --port-base" >&2
      exit 1
    fi
  done
done

tls_count=$(wc -w <<<"$tls_modes")
total=$(( ${#cases[@]} * rounds * 2 * tls_count ))
log "${#cases[@]} cases x $rounds rounds x 2 stores = $total runs of ${warmup} warm-up + ${duration}; results in $out"
{
  echo "started: $(date -u +%FT%TZ)"
  echo "command: $command"
  echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  echo "etcd: $("$build/etcd" --version | head -1)"
  echo "cairn: $(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown), engine $engine, $(node --version)"
  echo "cpus: servers ${cpus:-any}, loadgen ${client_cpus:-any}"
  echo "tls: $tls_modes"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/env.txt"

run=0
seq_no=0
for c in "${cases[@]}"; do
  IFS='|' read -r m w cl <<<"$c"
  seq_no=$((seq_no + 1))
  case "$w" in
    watch) label="watch fan-out: $watchers watchers / $streams streams, $watch_rate puts/s" ;;
    load) label="bulk load of $keys keys (txns of 100); RSS after" ;;
    lease-keepalive) label="lease keep-alive: $leases sessions, TTL ${lease_ttl} s, $lease_procs client processes" ;;
    *) label="$w, $cl clients" ;;
  esac
  for tls in $tls_modes; do
  tls_label="$label"
  [ "$tls" = on ] && tls_label="$label, TLS"
  for r in $(seq 1 "$rounds"); do
    order="etcd cairn"
    [ $((r % 2)) -eq 0 ] && order="cairn etcd"
    for target in $order; do
      run=$((run + 1))
      name="$(printf '%02d' "$seq_no")-m$m-$w-c$cl-r$r-$target"
      [ "$tls" = on ] && name="$name-tls"
      data="$out/data/$name"
      rm -rf "$data"; mkdir -p "$data"
      start_cluster "$target" "$m" "$data" "$out/logs/$name" "$tls"
      conns="${connections:-$(( m == 1 ? 8 : 3 * m ))}"
      args=(-target "$target" -endpoints "$endpoints" -workload "$w" -clients "$cl" -connections "$conns"
        -keys "$keys" -value-size "$value_size" -warmup "$warmup" -duration "$duration"
        -server-pids "$(IFS=,; echo "${pids[*]}")" -o json
        -meta "case=$tls_label" -meta "seq=$seq_no" -meta "members=$m" -meta "round=$r")
      [ "$tls" = on ] && args+=(-cacert "$tls_dir/ca.pem" -cert "$tls_dir/client.pem" -key "$tls_dir/client.key")
      [ "$w" = watch ] && args+=(-watchers "$watchers" -streams "$streams" -rate "$watch_rate")
      [ "$w" = lease-keepalive ] && args+=(-leases "$leases" -lease-ttl "$lease_ttl" -procs "$lease_procs")
      if "${client_pin[@]}" "$build/loadgen" "${args[@]}" >"$out/runs/$name.json" 2>"$out/logs/$name-loadgen.log"; then
        log "[$run/$total] $name: $(jq -r '"\(.ops_per_sec|floor) ops/s, p50 \(.latency_ms.p50) ms, p99 \(.latency_ms.p99) ms, errors \(.errors), load \(.loadavg)"' "$out/runs/$name.json")"
      else
        log "[$run/$total] $name FAILED: $(tail -3 "$out/logs/$name-loadgen.log")"
        rm -f "$out/runs/$name.json"
      fi
      stop_cluster
      [ "$keep_data" = 1 ] || rm -rf "$data"
    done
  done
  done
done

elapsed=$(( $(date +%s) - started ))
{
  echo "finished: $(date -u +%FT%TZ) ($((elapsed / 60)) min $((elapsed % 60)) s)"
  echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$out/env.txt"
{
  echo "# Cairn vs etcd"
  echo
  sed 's/^/    /' "$out/env.txt"
  echo
  "$build/loadgen" report "$out/runs"
} >"$out/report.md"
log "done in $((elapsed / 60)) min $((elapsed % 60)) s: $out/report.md"
cat "$out/report.md"
