// Command loadgen drives the same workloads against Cairn (on its generated gRPC stubs) and
// etcd (on its official client, go.etcd.io/etcd/client/v3), so the two can be compared on
// equal terms; bench/compare.sh runs it for a side-by-side table.
//
//	go run . -target cairn -endpoints 127.0.0.1:7379 -workload put -clients 64 -connections 8
//	go run . -target etcd -endpoints 127.0.0.1:2379 -workload watch -watchers 1000 -streams 100 -rate 50
//	go run . -target cairn -workload load -keys 100000 -o json
//
// Workloads: put, lin-get, ser-get, txn (compare-and-swap on the key's mod revision: put
// if unchanged, else get), watch (fan-out: every watcher watches one key that the clients
// put at -rate, latency from the timestamp in each value to each delivery), load (bulk
// load of -keys keys in transactions of -batch puts). Get and txn runs first load the key
// space (-prefill). Latency percentiles come from HDR histograms (3 significant digits).
// With -server-pids, the CPU time (utime+stime from /proc/<pid>/stat) the servers used in
// the measured window and their resident set (/proc/<pid>/status) are reported too.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "report" {
		if err := reportMain(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen report:", err)
			os.Exit(1)
		}
		return
	}
	cfg, opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	tlsConfig, err := cfg.TLS.Config()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	b, err := newBackend(cfg.Target, cfg.Endpoints, cfg.Connections, tlsConfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	defer b.Close()
	if opts.wait > 0 {
		if err := waitReady(ctx, b, cfg, opts.wait); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
	res, err := Run(ctx, b, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	res.LoadAvg = loadAvg()
	res.Meta = opts.meta
	res.Time = time.Now().UTC().Format(time.RFC3339)
	if opts.output == "json" {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		printText(os.Stdout, res)
	}
}

type options struct {
	output string
	wait   time.Duration
	meta   map[string]string
}

func parseFlags(args []string, errOut io.Writer) (Config, options, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(errOut, "usage: loadgen [flags]        run one workload against cairn or etcd\n       loadgen report [flags] DIR  write the markdown comparison of the -o json runs in DIR\n\n")
		fs.PrintDefaults()
	}
	var cfg Config
	var opts options
	var endpoints, pids string
	var meta metaFlag
	fs.StringVar(&cfg.Target, "target", "cairn", "store to drive: cairn or etcd")
	fs.StringVar(&endpoints, "endpoints", "", "comma-separated host:port list (default 127.0.0.1:7379 for cairn, 127.0.0.1:2379 for etcd)")
	fs.StringVar(&cfg.TLS.CACert, "cacert", "", "TLS: CA bundle that signed the servers' certificates (turns TLS on)")
	fs.StringVar(&cfg.TLS.Cert, "cert", "", "TLS: client certificate")
	fs.StringVar(&cfg.TLS.Key, "key", "", "TLS: key of -cert")
	fs.StringVar(&cfg.Workload, "workload", WPut, "one of "+strings.Join(workloads, ", "))
	fs.IntVar(&cfg.Clients, "clients", 64, "concurrent clients (each one request at a time); for watch, the putters")
	fs.IntVar(&cfg.Connections, "connections", 8, "gRPC connections, spread round-robin over the endpoints")
	fs.IntVar(&cfg.Keys, "keys", 10000, "key space (keys written by load and prefill)")
	fs.IntVar(&cfg.ValueSize, "value-size", 256, "value size in bytes")
	fs.DurationVar(&cfg.Warmup, "warmup", 3*time.Second, "warm-up before the measured window")
	fs.DurationVar(&cfg.Duration, "duration", 15*time.Second, "measured window")
	fs.Float64Var(&cfg.Rate, "rate", 0, "requests per second over all clients, 0 for no limit (watch: puts/s, default 50)")
	fs.IntVar(&cfg.Watchers, "watchers", 1000, "watch: watchers")
	fs.IntVar(&cfg.Streams, "streams", 100, "watch: gRPC watch streams carrying the watchers")
	fs.IntVar(&cfg.Batch, "batch", 100, "load: puts per transaction")
	fs.BoolVar(&cfg.Prefill, "prefill", true, "load the key space before lin-get, ser-get and txn")
	fs.StringVar(&cfg.KeyPrefix, "key-prefix", "bench/", "prefix of every key")
	fs.DurationVar(&cfg.OpTimeout, "op-timeout", 10*time.Second, "deadline of each request")
	fs.DurationVar(&cfg.Drain, "drain", 30*time.Second, "watch: how long watchers may take to catch up after the last put; later events count as missed")
	fs.StringVar(&pids, "server-pids", "", "comma-separated server process ids whose CPU and memory to report")
	fs.StringVar(&opts.output, "o", "text", "output: text or json")
	fs.DurationVar(&opts.wait, "wait", 30*time.Second, "first wait this long at most until a put succeeds through every endpoint (0: don't)")
	fs.Var(&meta, "meta", "a label k=v copied into the json result (repeatable)")
	if err := fs.Parse(args); err != nil {
		return cfg, opts, err
	}
	if fs.NArg() > 0 {
		return cfg, opts, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	opts.meta = meta
	if endpoints == "" {
		endpoints = map[string]string{"cairn": "127.0.0.1:7379", "etcd": "127.0.0.1:2379"}[cfg.Target]
	}
	cfg.Endpoints = splitList(endpoints)
	cfg.ServerPIDs = splitList(pids)
	if opts.output != "text" && opts.output != "json" {
		return cfg, opts, fmt.Errorf("-o must be text or json")
	}
	return cfg, opts, nil
}

// waitReady waits until a put succeeds through each connection: the cluster has a leader,
// every member forwards to it, and no connection is backing off after an early dial.
func waitReady(ctx context.Context, b Backend, cfg Config, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	key := []byte(cfg.KeyPrefix + "ready")
	for conn := 0; conn < b.Conns(); conn++ {
		for {
			octx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := b.Put(octx, conn, key, []byte("ok"))
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil || time.Now().After(deadline) {
				return fmt.Errorf("%s not ready within %v: %w", cfg.Endpoints[conn%len(cfg.Endpoints)], timeout, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// metaFlag collects repeated -meta k=v labels.
type metaFlag map[string]string

func (m *metaFlag) String() string { return fmt.Sprint(map[string]string(*m)) }

func (m *metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want k=v, got %q", s)
	}
	if *m == nil {
		*m = metaFlag{}
	}
	(*m)[k] = v
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func printText(w io.Writer, r *Result) {
	what := fmt.Sprintf("%d clients over %d connections", r.Clients, r.Connections)
	if r.Watch != nil {
		what = fmt.Sprintf("%d watchers over %d streams, %d putters at %g puts/s, %d connections", r.Watch.Watchers, r.Watch.Streams, r.Clients, r.Rate, r.Connections)
	} else if r.Rate > 0 {
		what += fmt.Sprintf(", limited to %g ops/s", r.Rate)
	}
	fmt.Fprintf(w, "%s %s on %s: %s, %d keys, %d-byte values, %.1f s measured after %.1f s warm-up\n",
		r.Target, r.Workload, strings.Join(r.Endpoints, ","), what, r.Keys, r.ValueSize, r.Seconds, r.WarmupSec)
	unit := "ops"
	switch r.Workload {
	case WLoad:
		unit = "keys"
	case WWatch:
		unit = "deliveries"
	}
	fmt.Fprintf(w, "  %s %d   %s/s %.1f   errors %d\n", unit, r.Ops, unit, r.OpsPerSec, r.Errors)
	if r.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
	}
	l := r.Latency
	label := "latency"
	if r.Workload == WLoad {
		label = "txn latency"
	} else if r.Workload == WWatch {
		label = "put-to-delivery latency"
	}
	fmt.Fprintf(w, "  %s ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  mean %.2f\n", label, l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	if t := r.Txn; t != nil {
		fmt.Fprintf(w, "  compare-and-swap: %d succeeded, %d failed\n", t.Succeeded, t.Failed)
	}
	if s := r.Watch; s != nil {
		fmt.Fprintf(w, "  puts %d (%.1f/s in the window), put latency ms p50 %.2f p99 %.2f\n", s.Puts, s.PutsPerSec, s.PutLatency.P50, s.PutLatency.P99)
		fmt.Fprintf(w, "  deliveries: expected %d, delivered %d, missed %d, duplicates %d, out of order %d, unexpected %d; drained %.0f ms after the last put\n",
			s.Expected, s.Delivered, s.Missed, s.Duplicates, s.OutOfOrder, s.Unexpected, s.DrainMs)
		fmt.Fprintf(w, "  watcher setup %.0f ms, watch errors %d %s\n", s.WatcherSetupMs, s.WatchErrors, s.FirstWatchError)
	}
	if r.Prefill != nil {
		fmt.Fprintf(w, "  prefill: %d keys in %.1f s\n", r.Prefill.Keys, r.Prefill.Seconds)
	}
	for _, s := range r.Servers {
		if s.Error != "" {
			fmt.Fprintf(w, "  server pid %s: %s\n", s.PID, s.Error)
			continue
		}
		fmt.Fprintf(w, "  server pid %s: cpu %.2f s (%.2f cores), rss %.1f MiB (peak %.1f MiB)\n",
			s.PID, s.CPUSec, s.CPUSec/r.Seconds, float64(s.RSSKiB)/1024, float64(s.HWMKiB)/1024)
	}
	if len(r.Servers) > 0 {
		fmt.Fprintf(w, "  server cpu per 1,000 %s: %.1f ms\n", unit, r.CPUPer1k)
	}
	fmt.Fprintf(w, "  loadgen cpu %.2f s; load average %s\n", r.ClientCPU, r.LoadAvg)
}
