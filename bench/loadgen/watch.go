package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sync/errgroup"
)

// The watch fan-out: cfg.Watchers watchers over cfg.Streams streams (stream s on
// connection s mod connections, watcher w on stream w mod streams) all watch one key, while
// cfg.Clients clients put it at cfg.Rate puts/s. Each value starts with the put's wall
// clock time (Unix nanoseconds, taken just before the request) and a sequence number; a
// delivery's latency is its arrival time minus that timestamp.
//
// Each watcher checks its events against the acknowledged puts by revision: a revision seen
// twice is a duplicate, one older than a revision already seen is out of order, and an
// acknowledged put that never arrived (after a drain of up to cfg.Drain) is missed.

type fanWatcher struct {
	mu         sync.Mutex
	seen       []uint64 // bit r-base-1 set once revision r arrived
	lastRev    int64
	delivered  int64
	duplicates int64
	outOfOrder int64
	unexpected int64
	shard      *latencyShard
}

type latencyShard struct {
	mu      sync.Mutex
	hist    *hdrhistogram.Histogram // deliveries of puts sent in the window, whenever they arrive
	arrived int64                   // deliveries that arrived in the window
}

type ackedPut struct {
	rev int64
	at  time.Time // when the put was sent (the timestamp in its value)
}

func runWatch(ctx context.Context, b Backend, cfg Config, res *Result) error {
	if cfg.Watchers < 1 || cfg.Streams < 1 {
		return fmt.Errorf("watch needs -watchers and -streams >= 1")
	}
	if cfg.ValueSize < 16 {
		return fmt.Errorf("watch needs -value-size >= 16 (timestamp and sequence)")
	}
	rateLimit := cfg.Rate
	if rateLimit <= 0 {
		rateLimit = 50
		res.Rate = 50
	}
	key := []byte(cfg.KeyPrefix + "watch")
	base, err := b.Get(ctx, 0, key, false)
	if err != nil {
		return fmt.Errorf("reading the current revision: %w", err)
	}
	stats := &WatchStats{Watchers: cfg.Watchers, Streams: cfg.Streams}
	res.Watch = stats

	var watchErrs atomic.Int64
	var firstWatchErr atomic.Value
	onErr := func(err error) {
		watchErrs.Add(1)
		firstWatchErr.CompareAndSwap(nil, err.Error())
	}

	// The window is fixed once every watcher is in place.
	var win window
	var winSet atomic.Bool

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	setupStart := time.Now()
	streams := make([]WatchStream, cfg.Streams)
	shards := make([]*latencyShard, cfg.Streams)
	for s := range streams {
		st, err := b.OpenWatchStream(wctx, s%b.Conns(), s, onErr)
		if err != nil {
			return fmt.Errorf("opening watch stream %d: %w", s, err)
		}
		streams[s] = st
		shards[s] = &latencyShard{hist: newHist()}
	}
	watchers := make([]*fanWatcher, cfg.Watchers)
	for i := range watchers {
		watchers[i] = &fanWatcher{shard: shards[i%cfg.Streams]}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Streams)
	for s := range streams {
		g.Go(func() error {
			// Watchers of one stream are created one after another, streams in parallel.
			for i := s; i < cfg.Watchers; i += cfg.Streams {
				w := watchers[i]
				cctx, cancel := context.WithTimeout(gctx, 30*time.Second)
				err := streams[s].Watch(cctx, key, base+1, func(rev int64, value []byte) {
					w.event(rev, value, base, &win, &winSet)
				})
				cancel()
				if err != nil {
					return fmt.Errorf("creating watcher %d on stream %d: %w", i, s, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	stats.WatcherSetupMs = float64(time.Since(setupStart).Microseconds()) / 1000

	// Putters.
	ws := newWorkers(b, cfg)
	lim := newLimiter(rateLimit)
	now := time.Now()
	win = window{start: now.Add(cfg.Warmup), end: now.Add(cfg.Warmup + cfg.Duration)}
	winSet.Store(true)
	cs := newCPUSampler(cfg.ServerPIDs)
	sampled := sampleWindow(ctx, cs, win)
	var seq atomic.Int64
	var ackMu sync.Mutex
	var acked []ackedPut
	var wg sync.WaitGroup
	for _, w := range ws {
		value := make([]byte, cfg.ValueSize)
		copy(value, w.value)
		wg.Go(func() {
			for ctx.Err() == nil {
				if lim.Wait(ctx) != nil {
					return
				}
				t0 := time.Now()
				if !t0.Before(win.end) {
					return
				}
				binary.BigEndian.PutUint64(value[0:8], uint64(t0.UnixNano()))
				binary.BigEndian.PutUint64(value[8:16], uint64(seq.Add(1)))
				octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
				rev, err := b.Put(octx, w.conn, key, value)
				cancel()
				t1 := time.Now()
				if err == nil {
					ackMu.Lock()
					acked = append(acked, ackedPut{rev: rev, at: t0})
					ackMu.Unlock()
				}
				if !win.contains(t1) {
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
	lastPut := time.Now()
	<-sampled

	// Drain: wait until every watcher has the newest acknowledged revision.
	var maxRev int64
	for _, p := range acked {
		maxRev = max(maxRev, p.rev)
	}
	deadline := lastPut.Add(cfg.Drain)
	for {
		behind := 0
		for _, w := range watchers {
			w.mu.Lock()
			if w.lastRev < maxRev {
				behind++
			}
			w.mu.Unlock()
		}
		if behind == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stats.DrainMs = float64(time.Since(lastPut).Microseconds()) / 1000
	stopWatch()

	// Put side.
	putRes := &Result{}
	collect(ws, putRes)
	stats.Puts = int64(len(acked))
	stats.PutsPerSec = float64(putRes.Ops) / cfg.Duration.Seconds()
	stats.PutLatency = putRes.Latency
	res.Errors = putRes.Errors
	res.FirstError = putRes.FirstError

	// Watch side.
	isAcked := map[int64]bool{}
	for _, p := range acked {
		isAcked[p.rev] = true
	}
	stats.Expected = stats.Puts * int64(cfg.Watchers)
	for _, w := range watchers {
		w.mu.Lock()
		for _, p := range acked {
			if w.has(p.rev - base - 1) {
				stats.Delivered++
			} else {
				stats.Missed++
			}
		}
		// Events of revisions no acknowledged put returned (a put that timed out).
		for i := range len(w.seen) * 64 {
			if w.has(int64(i)) && !isAcked[base+1+int64(i)] {
				stats.Unexpected++
			}
		}
		stats.Unexpected += w.unexpected
		stats.Duplicates += w.duplicates
		stats.OutOfOrder += w.outOfOrder
		w.mu.Unlock()
	}
	h := newHist()
	for _, s := range shards {
		s.mu.Lock()
		h.Merge(s.hist)
		stats.DeliveriesInWindow += s.arrived
		s.mu.Unlock()
	}
	res.Latency = latencyOf(h)
	res.Ops = stats.DeliveriesInWindow
	stats.WatchErrors = watchErrs.Load()
	if v := firstWatchErr.Load(); v != nil {
		stats.FirstWatchError = v.(string)
	}
	finish(cs, cfg.Duration, res)
	return nil
}

func (w *fanWatcher) has(i int64) bool {
	return i >= 0 && i/64 < int64(len(w.seen)) && w.seen[i/64]&(1<<(i%64)) != 0
}

// event records one delivery; calls for one watcher never overlap, the lock is for the
// final count.
func (w *fanWatcher) event(rev int64, value []byte, base int64, win *window, winSet *atomic.Bool) {
	now := time.Now()
	i := rev - base - 1
	if i < 0 || len(value) < 16 {
		w.mu.Lock()
		w.unexpected++
		w.mu.Unlock()
		return
	}
	sent := time.Unix(0, int64(binary.BigEndian.Uint64(value[0:8])))
	w.mu.Lock()
	for int64(len(w.seen)) <= i/64 {
		w.seen = append(w.seen, 0)
	}
	first := !w.has(i)
	if !first {
		w.duplicates++
	} else {
		w.seen[i/64] |= 1 << (i % 64)
		w.delivered++
		if rev < w.lastRev {
			w.outOfOrder++
		}
	}
	w.lastRev = max(w.lastRev, rev)
	w.mu.Unlock()
	if first && winSet.Load() {
		sentIn, arrivedIn := win.contains(sent), win.contains(now)
		if sentIn || arrivedIn {
			s := w.shard
			s.mu.Lock()
			if sentIn {
				record(s.hist, now.Sub(sent))
			}
			if arrivedIn {
				s.arrived++
			}
			s.mu.Unlock()
		}
	}
}
