package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/time/rate"
)

// Workloads.
const (
	WPut    = "put"     // put a random key of the key space
	WLinGet = "lin-get" // linearizable get of a random key
	WSerGet = "ser-get" // serializable get of a random key
	WTxn    = "txn"     // compare-and-swap on a random key's mod revision
	WWatch  = "watch"   // watch fan-out
	WLoad   = "load"    // bulk load of the key space in transactions of Batch puts
)

var workloads = []string{WPut, WLinGet, WSerGet, WTxn, WWatch, WLoad}

// Config is one run.
type Config struct {
	Target      string
	Endpoints   []string
	Workload    string
	Clients     int
	Connections int
	Keys        int // key space
	ValueSize   int
	Warmup      time.Duration
	Duration    time.Duration
	Rate        float64 // operations per second over all clients; 0: as fast as they go
	Watchers    int
	Streams     int
	Batch       int  // puts per transaction in bulk loads
	Prefill     bool // load the key space before get and txn workloads
	KeyPrefix   string
	OpTimeout   time.Duration
	Drain       time.Duration // how long watchers may take to catch up after the last put
	ServerPIDs  []string
	TLS         TLSFiles
}

// Latency percentiles, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	// Histogram is the HDR histogram of microseconds, V2 compressed and base64, so runs
	// can be merged exactly.
	Histogram string `json:"histogram,omitempty"`
}

// TxnStats counts compare-and-swap outcomes.
type TxnStats struct {
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
}

// WatchStats describes a watch fan-out run. Deliveries are counted over every acknowledged
// put of the run (warm-up included); latency only for puts made in the measured window.
type WatchStats struct {
	Watchers           int     `json:"watchers"`
	Streams            int     `json:"streams"`
	Puts               int64   `json:"puts"`         // acknowledged puts, whole run
	PutsPerSec         float64 `json:"puts_per_sec"` // in the measured window
	PutLatency         Latency `json:"put_latency_ms"`
	Expected           int64   `json:"expected"`  // puts x watchers
	Delivered          int64   `json:"delivered"` // distinct (watcher, revision) deliveries of acknowledged puts
	Missed             int64   `json:"missed"`
	Duplicates         int64   `json:"duplicates"`
	OutOfOrder         int64   `json:"out_of_order"`
	Unexpected         int64   `json:"unexpected"` // events of no acknowledged put (a put that failed, or malformed)
	DrainMs            float64 `json:"drain_ms"`   // from the last put to the last watcher caught up
	WatchErrors        int64   `json:"watch_errors"`
	FirstWatchError    string  `json:"first_watch_error,omitempty"`
	WatcherSetupMs     float64 `json:"watcher_setup_ms"`
	DeliveriesInWindow int64   `json:"deliveries_in_window"` // arrived in the measured window: the run's ops

}

// Result is one run's outcome; -o json prints it.
type Result struct {
	Target      string   `json:"target"`
	Workload    string   `json:"workload"`
	Endpoints   []string `json:"endpoints"`
	Clients     int      `json:"clients"`
	Connections int      `json:"connections"`
	Keys        int      `json:"keys"`
	ValueSize   int      `json:"value_size"`
	Rate        float64  `json:"rate"`
	WarmupSec   float64  `json:"warmup_s"`
	Seconds     float64  `json:"seconds"` // measured window
	// Ops completed in the measured window: requests, or for load the keys written, or for
	// watch the events that arrived at watchers in the window. Watch latency covers the
	// deliveries of puts sent in the window, however late they arrived.
	Ops        int64         `json:"ops"`
	OpsPerSec  float64       `json:"ops_per_sec"`
	Errors     int64         `json:"errors"`
	FirstError string        `json:"first_error,omitempty"`
	Latency    Latency       `json:"latency_ms"` // per request; for watch, put-to-delivery
	Txn        *TxnStats     `json:"txn,omitempty"`
	Watch      *WatchStats   `json:"watch,omitempty"`
	Servers    []ServerStat  `json:"servers,omitempty"`
	ServerCPU  float64       `json:"server_cpu_s"`             // all servers, measured window
	CPUPer1k   float64       `json:"server_cpu_ms_per_1k_ops"` // all servers, per 1,000 ops
	ClientCPU  float64       `json:"client_cpu_s"`             // this process, measured window
	LoadAvg    string        `json:"loadavg,omitempty"`
	Prefill    *PrefillStats `json:"prefill,omitempty"`
	// Meta holds the -meta labels (bench/compare.sh names each run's case and round).
	Meta map[string]string `json:"meta,omitempty"`
	// Time is when the run ended.
	Time string `json:"time,omitempty"`
}

// PrefillStats describes the load of the key space before a get or txn run.
type PrefillStats struct {
	Keys    int     `json:"keys"`
	Seconds float64 `json:"seconds"`
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 120_000_000, 3) }

func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	l := Latency{
		P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), Mean: h.Mean() / 1000,
	}
	if enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		l.Histogram = base64.StdEncoding.EncodeToString(enc)
	}
	return l
}

func record(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	if us > h.HighestTrackableValue() {
		us = h.HighestTrackableValue()
	}
	h.RecordValue(us)
}

// keyName is the key of index i in the key space.
func keyName(prefix string, i int) []byte { return fmt.Appendf(nil, "%skey/%08d", prefix, i) }

// Run runs cfg's workload against b.
func Run(ctx context.Context, b Backend, cfg Config) (*Result, error) {
	res := &Result{
		Target: cfg.Target, Workload: cfg.Workload, Endpoints: cfg.Endpoints, Clients: cfg.Clients,
		Connections: b.Conns(), Keys: cfg.Keys, ValueSize: cfg.ValueSize, Rate: cfg.Rate,
		WarmupSec: cfg.Warmup.Seconds(), Seconds: cfg.Duration.Seconds(),
	}
	if cfg.Clients < 1 || cfg.Keys < 1 || cfg.ValueSize < 0 || cfg.Duration <= 0 || cfg.Batch < 1 {
		return nil, fmt.Errorf("clients, keys, duration and batch must be positive")
	}
	keys := make([][]byte, cfg.Keys)
	for i := range keys {
		keys[i] = keyName(cfg.KeyPrefix, i)
	}
	modRevs := make([]atomic.Int64, cfg.Keys)
	var err error
	switch cfg.Workload {
	case WLoad:
		err = runLoad(ctx, b, cfg, keys, modRevs, res)
	case WWatch:
		err = runWatch(ctx, b, cfg, res)
	case WPut, WLinGet, WSerGet, WTxn:
		if cfg.Prefill && cfg.Workload != WPut {
			start := time.Now()
			var pre Result
			pcfg := cfg
			pcfg.ServerPIDs = nil
			pcfg.Clients = min(cfg.Clients, 16)
			if err := runLoad(ctx, b, pcfg, keys, modRevs, &pre); err != nil {
				return nil, fmt.Errorf("prefill: %w", err)
			}
			if pre.Errors > 0 {
				return nil, fmt.Errorf("prefill: %d errors, first: %s", pre.Errors, pre.FirstError)
			}
			res.Prefill = &PrefillStats{Keys: cfg.Keys, Seconds: time.Since(start).Seconds()}
		}
		err = runClosedLoop(ctx, b, cfg, keys, modRevs, res)
	default:
		return nil, fmt.Errorf("unknown workload %q (one of %v)", cfg.Workload, workloads)
	}
	if err != nil {
		return nil, err
	}
	if res.Ops > 0 {
		res.CPUPer1k = res.ServerCPU * 1000 / float64(res.Ops) * 1000
	}
	return res, nil
}

type worker struct {
	id       int
	conn     int
	rng      *rand.Rand
	hist     *hdrhistogram.Histogram
	value    []byte
	ops      int64
	errors   int64
	firstErr error
	txn      TxnStats
}

func newWorkers(b Backend, cfg Config) []*worker {
	ws := make([]*worker, cfg.Clients)
	for i := range ws {
		rng := rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano())))
		value := make([]byte, cfg.ValueSize)
		for j := range value {
			value[j] = byte(rng.Uint32())
		}
		ws[i] = &worker{id: i, conn: i % b.Conns(), rng: rng, hist: newHist(), value: value}
	}
	return ws
}

func (w *worker) fail(err error) {
	w.errors++
	if w.firstErr == nil {
		w.firstErr = err
	}
}

// collect merges the workers' counts and histograms into res.
func collect(ws []*worker, res *Result) *hdrhistogram.Histogram {
	h := newHist()
	for _, w := range ws {
		h.Merge(w.hist)
		res.Ops += w.ops
		res.Errors += w.errors
		if w.firstErr != nil && res.FirstError == "" {
			res.FirstError = w.firstErr.Error()
		}
	}
	res.Latency = latencyOf(h)
	return h
}

func newLimiter(r float64) *rate.Limiter {
	if r <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(r), 1)
}

// window is the measured interval of a run: after the warm-up, for the duration.
type window struct{ start, end time.Time }

func (w window) contains(t time.Time) bool { return !t.Before(w.start) && !t.After(w.end) }

// sampleWindow samples the servers' CPU at the window's start and end, in the background.
func sampleWindow(ctx context.Context, cs *cpuSampler, win window) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-time.After(time.Until(win.start)):
		case <-ctx.Done():
		}
		cs.begin()
		select {
		case <-time.After(time.Until(win.end)):
		case <-ctx.Done():
		}
		cs.end()
	}()
	return done
}

// runClosedLoop runs put, get or txn: each client issues one request at a time (waiting
// for the rate limiter, if any). Requests completed inside the window are counted.
func runClosedLoop(ctx context.Context, b Backend, cfg Config, keys [][]byte, modRevs []atomic.Int64, res *Result) error {
	ws := newWorkers(b, cfg)
	lim := newLimiter(cfg.Rate)
	now := time.Now()
	win := window{start: now.Add(cfg.Warmup), end: now.Add(cfg.Warmup + cfg.Duration)}
	cs := newCPUSampler(cfg.ServerPIDs)
	sampled := sampleWindow(ctx, cs, win)

	op := func(ctx context.Context, w *worker) error {
		k := w.rng.IntN(len(keys))
		switch cfg.Workload {
		case WPut:
			_, err := b.Put(ctx, w.conn, keys[k], w.value)
			return err
		case WLinGet, WSerGet:
			_, err := b.Get(ctx, w.conn, keys[k], cfg.Workload == WSerGet)
			return err
		case WTxn:
			ok, rev, err := b.CAS(ctx, w.conn, keys[k], modRevs[k].Load(), w.value)
			if err != nil {
				return err
			}
			if ok {
				w.txn.Succeeded++
			} else {
				w.txn.Failed++
			}
			// Racing clients may store an older revision; the next CAS then fails and learns.
			modRevs[k].Store(rev)
			return nil
		}
		return nil
	}

	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			for ctx.Err() == nil {
				if lim != nil && lim.Wait(ctx) != nil {
					return
				}
				t0 := time.Now()
				if !t0.Before(win.end) {
					return
				}
				octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
				txnBefore := w.txn
				err := op(octx, w)
				cancel()
				t1 := time.Now()
				if !win.contains(t1) {
					w.txn = txnBefore // count CAS outcomes of the window only
					continue
				}
				if err != nil {
					w.fail(err)
					continue
				}
				w.ops++
				record(w.hist, t1.Sub(t0))
			}
		})
	}
	wg.Wait()
	<-sampled
	collect(ws, res)
	if cfg.Workload == WTxn {
		res.Txn = &TxnStats{}
		for _, w := range ws {
			res.Txn.Succeeded += w.txn.Succeeded
			res.Txn.Failed += w.txn.Failed
		}
	}
	finish(cs, cfg.Duration, res)
	return nil
}

func finish(cs *cpuSampler, d time.Duration, res *Result) {
	res.Seconds = d.Seconds()
	res.OpsPerSec = float64(res.Ops) / d.Seconds()
	res.Servers = cs.Servers
	res.ServerCPU = cs.total()
	res.ClientCPU = cs.SelfCPUSec
}

// runLoad writes the whole key space in transactions of cfg.Batch puts, cfg.Clients at a
// time; the window is the whole load (no warm-up), ops are keys written.
func runLoad(ctx context.Context, b Backend, cfg Config, keys [][]byte, modRevs []atomic.Int64, res *Result) error {
	ws := newWorkers(b, cfg)
	cs := newCPUSampler(cfg.ServerPIDs)
	batches := make(chan int)
	go func() {
		defer close(batches)
		for i := 0; i < len(keys); i += cfg.Batch {
			select {
			case batches <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	cs.begin()
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			for first := range batches {
				last := min(first+cfg.Batch, len(keys))
				values := make([][]byte, last-first)
				for i := range values {
					values[i] = w.value
				}
				octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
				t0 := time.Now()
				rev, err := b.PutAll(octx, w.conn, keys[first:last], values)
				d := time.Since(t0)
				cancel()
				if err != nil {
					w.fail(err)
					continue
				}
				for i := first; i < last; i++ {
					modRevs[i].Store(rev)
				}
				w.ops += int64(last - first)
				record(w.hist, d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cs.end()
	collect(ws, res)
	res.WarmupSec = 0
	finish(cs, elapsed, res)
	return nil
}
