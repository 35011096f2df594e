package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sync/errgroup"
)

// The lease keep-alive workload: cfg.Leases leases, each kept alive by its own session (one
// keep-alive stream per lease, renewing every TTL/3 as etcd's clientv3 sessions do), spread
// over cfg.Procs client processes of cfg.Connections connections each. It measures what the
// sessions cost the cluster when nothing else happens: keep-alive answers per second, the
// Raft entries the leader appends per second (from its status: the last log index at the
// window's start and end), and the leader's CPU. A store that writes a log entry per renewal
// appends about as many entries as it answers keep-alives; one that renews on the leader
// alone appends only its checkpoints.
//
// With cfg.Procs > 1 this process starts cfg.Procs children (itself with -lease-child),
// each holding its share of the sessions; they report "ready" once every session renewed
// once, get the window's start and end on stdin, and print their counts as JSON at the end.

// LeaseStats describes a lease keep-alive run.
type LeaseStats struct {
	Leases            int     `json:"leases"`
	Procs             int     `json:"procs"`
	TTL               int64   `json:"ttl_s"`
	IntervalMs        float64 `json:"keepalive_interval_ms"`
	GrantSec          float64 `json:"grant_s"`    // granting every lease and opening every session
	KeepAlives        int64   `json:"keepalives"` // answers in the window
	Lost              int64   `json:"lost"`       // sessions whose lease the server said was gone (TTL <= 0)
	RaftEntries       int64   `json:"raft_entries"`
	RaftEntriesPerSec float64 `json:"raft_entries_per_sec"`
	LeaderPID         string  `json:"leader_pid,omitempty"`
	LeaderCPUSec      float64 `json:"leader_cpu_s"`
	LeaderCores       float64 `json:"leader_cores"`
	ClientProcsCPUSec float64 `json:"client_procs_cpu_s"` // the children's CPU in the window
}

// leaseShare is one process's part: its counts and its latency histogram (base64 HDR).
type leaseShare struct {
	KeepAlives int64   `json:"keepalives"`
	Lost       int64   `json:"lost"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Histogram  string  `json:"histogram"`
	CPUSec     float64 `json:"cpu_s"`
}

func keepAliveInterval(ttl int64) time.Duration { return time.Duration(ttl) * time.Second / 3 }

func runLeaseKeepAlive(ctx context.Context, b Backend, cfg Config, res *Result) error {
	if cfg.Leases < 1 || cfg.LeaseTTL < 1 || cfg.Procs < 1 {
		return fmt.Errorf("lease-keepalive needs -leases, -lease-ttl and -procs >= 1")
	}
	stats := &LeaseStats{Leases: cfg.Leases, Procs: cfg.Procs, TTL: cfg.LeaseTTL, IntervalMs: float64(keepAliveInterval(cfg.LeaseTTL).Milliseconds())}
	res.Lease = stats
	start := time.Now()
	var shares []*leaseShare
	var err error
	if cfg.Procs == 1 {
		shares, err = leaseInProcess(ctx, b, cfg, stats, start, res)
	} else {
		shares, err = leaseInChildren(ctx, b, cfg, stats, start, res)
	}
	if err != nil {
		return err
	}
	h := newHist()
	for _, s := range shares {
		res.Ops += s.KeepAlives
		res.Errors += s.Errors
		stats.Lost += s.Lost
		stats.ClientProcsCPUSec += s.CPUSec
		if res.FirstError == "" {
			res.FirstError = s.FirstError
		}
		if raw, err := base64.StdEncoding.DecodeString(s.Histogram); err == nil {
			if sh, err := hdrhistogram.Decode(raw); err == nil {
				h.Merge(sh)
			}
		}
	}
	stats.KeepAlives = res.Ops
	res.OpsPerSec = float64(res.Ops) / cfg.Duration.Seconds()
	res.Latency = latencyOf(h)
	return nil
}

// leaseWindow measures the cluster over the window: the leader's log index and the servers'
// CPU at its start and end.
func leaseWindow(ctx context.Context, b Backend, cfg Config, stats *LeaseStats, win window, res *Result) error {
	cs := newCPUSampler(cfg.ServerPIDs)
	time.Sleep(time.Until(win.start))
	leader, first, err := leaderStatus(ctx, b, cfg.OpTimeout)
	if err != nil {
		return err
	}
	firstAt := time.Now()
	cs.begin()
	select {
	case <-time.After(time.Until(win.end)):
	case <-ctx.Done():
		return ctx.Err()
	}
	cs.end()
	_, last, err := leaderStatus(ctx, b, cfg.OpTimeout)
	if err != nil {
		return err
	}
	finish(cs, cfg.Duration, res)
	// Between the two answers: a slow status answer must not inflate the rate.
	stats.RaftEntries = int64(last.RaftIndex) - int64(first.RaftIndex)
	stats.RaftEntriesPerSec = float64(stats.RaftEntries) / time.Since(firstAt).Seconds()
	// Connection i goes to endpoint i mod len(endpoints); -server-pids lists them in order.
	if ep := leader % len(cfg.Endpoints); ep < len(cs.Servers) {
		stats.LeaderPID = cs.Servers[ep].PID
		stats.LeaderCPUSec = cs.Servers[ep].CPUSec
		stats.LeaderCores = stats.LeaderCPUSec / cfg.Duration.Seconds()
	}
	return nil
}

// leaderStatus returns the connection to the leader and its status. A member serving
// thousands of streams on a busy machine can be slow to answer: each status request may
// take the op timeout, and is tried three times.
func leaderStatus(ctx context.Context, b Backend, timeout time.Duration) (int, MemberStatus, error) {
	for conn := 0; conn < b.Conns(); conn++ {
		var st MemberStatus
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			sctx, cancel := context.WithTimeout(ctx, timeout)
			st, err = b.Status(sctx, conn)
			cancel()
			if err == nil || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return 0, st, fmt.Errorf("status: %w", err)
		}
		if st.Leader {
			return conn, st, nil
		}
	}
	return 0, MemberStatus{}, fmt.Errorf("no member says it leads (give -connections >= the number of endpoints)")
}

func leaseInProcess(ctx context.Context, b Backend, cfg Config, stats *LeaseStats, start time.Time, res *Result) ([]*leaseShare, error) {
	winCh := make(chan window, 1)
	var share *leaseShare
	var shareErr error
	done := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		defer close(done)
		share, shareErr = runLeaseShare(ctx, b, cfg, cfg.Leases, func() { close(ready) }, winCh)
	}()
	select {
	case <-ready:
	case <-done:
		return nil, shareErr
	}
	stats.GrantSec = time.Since(start).Seconds()
	now := time.Now()
	win := window{start: now.Add(cfg.Warmup), end: now.Add(cfg.Warmup + cfg.Duration)}
	winCh <- win
	werr := leaseWindow(ctx, b, cfg, stats, win, res)
	<-done
	if shareErr != nil {
		return nil, shareErr
	}
	return []*leaseShare{share}, werr
}

func leaseInChildren(ctx context.Context, b Backend, cfg Config, stats *LeaseStats, start time.Time, res *Result) ([]*leaseShare, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	type child struct {
		cmd   *exec.Cmd
		stdin *os.File
		out   *bufio.Reader
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	children := make([]*child, cfg.Procs)
	for p := range children {
		n := cfg.Leases / cfg.Procs
		if p < cfg.Leases%cfg.Procs {
			n++
		}
		args := []string{"-lease-child", "-target", cfg.Target, "-endpoints", strings.Join(cfg.Endpoints, ","),
			"-connections", strconv.Itoa(cfg.Connections), "-clients", strconv.Itoa(cfg.Clients),
			"-leases", strconv.Itoa(n), "-lease-ttl", strconv.FormatInt(cfg.LeaseTTL, 10),
			"-duration", cfg.Duration.String(), "-op-timeout", cfg.OpTimeout.String(), "-wait", "0"}
		cmd := exec.CommandContext(cctx, self, args...)
		// Under go test, self is the test binary: this makes its TestMain run main.
		cmd.Env = append(os.Environ(), "LOADGEN_RUN_MAIN=1")
		cmd.Stderr = os.Stderr
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd.Stdin = r
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting client process %d: %w", p, err)
		}
		r.Close()
		children[p] = &child{cmd: cmd, stdin: w, out: bufio.NewReader(stdout)}
	}
	defer func() {
		for _, c := range children {
			c.stdin.Close()
			c.cmd.Wait()
		}
	}()
	var ready errgroup.Group
	for p, c := range children {
		ready.Go(func() error {
			line, err := c.out.ReadString('\n')
			if strings.TrimSpace(line) != "ready" {
				return fmt.Errorf("client process %d did not get ready (%q): %v", p, line, err)
			}
			return nil
		})
	}
	if err := ready.Wait(); err != nil {
		return nil, err
	}
	stats.GrantSec = time.Since(start).Seconds()
	now := time.Now()
	win := window{start: now.Add(cfg.Warmup), end: now.Add(cfg.Warmup + cfg.Duration)}
	for _, c := range children {
		fmt.Fprintf(c.stdin, "%d %d\n", win.start.UnixNano(), win.end.UnixNano())
	}
	werr := leaseWindow(ctx, b, cfg, stats, win, res)
	shares := make([]*leaseShare, len(children))
	var collect errgroup.Group
	for p, c := range children {
		collect.Go(func() error {
			var s leaseShare
			if err := json.NewDecoder(c.out).Decode(&s); err != nil {
				return fmt.Errorf("client process %d: %w", p, err)
			}
			shares[p] = &s
			return nil
		})
	}
	if err := collect.Wait(); err != nil {
		return nil, err
	}
	return shares, werr
}

// leaseChildMain is a child process of a multi-process run: one share of the sessions.
func leaseChildMain(ctx context.Context, b Backend, cfg Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	winCh := make(chan window, 1)
	go func() {
		var startNs, endNs int64
		if _, err := fmt.Fscan(os.Stdin, &startNs, &endNs); err != nil {
			cancel() // the parent gave up (its stdin to us closed): stop
			return
		}
		winCh <- window{start: time.Unix(0, startNs), end: time.Unix(0, endNs)}
	}()
	share, err := runLeaseShare(ctx, b, cfg, cfg.Leases, func() { fmt.Println("ready") }, winCh)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(share)
}

// runLeaseShare runs n sessions. Each grants its lease (cfg.Clients grants at a time), opens
// its keep-alive stream (session i on connection i mod connections) and renews at once,
// then every TTL/3, its second renewal at a random point of the first interval so that
// renewals spread evenly; as a real session does, it starts renewing as soon as its own
// grant is answered, however long the other grants take. It calls ready once every session
// renewed once, then counts the answers that arrive inside the window it receives, and
// returns when the window has ended.
func runLeaseShare(ctx context.Context, b Backend, cfg Config, n int, ready func(), winCh <-chan window) (*leaseShare, error) {
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	interval := keepAliveInterval(cfg.LeaseTTL)
	var mu sync.Mutex
	share := &leaseShare{}
	hist := newHist()
	var setupErr error
	var win atomic.Pointer[window]
	var started sync.WaitGroup
	started.Add(n)
	grants := make(chan struct{}, max(cfg.Clients, 1))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			conn := i % b.Conns()
			id, st, err := openSession(sctx, b, cfg, conn, grants)
			if err != nil {
				mu.Lock()
				if setupErr == nil && sctx.Err() == nil {
					setupErr = fmt.Errorf("session %d: %w", i, err)
				}
				mu.Unlock()
				started.Done()
				return
			}
			rng := rand.New(rand.NewPCG(uint64(id), uint64(i)))
			first := true
			next := time.Now()
			for {
				t0 := time.Now()
				ttl, err := st.KeepAlive(id)
				t1 := time.Now()
				if first {
					// The second renewal at a random point of the first interval, then one
					// every interval: the sessions' renewals spread evenly over time.
					first = false
					started.Done()
					next = t0.Add(time.Duration(rng.Int64N(int64(interval))))
				} else {
					next = next.Add(interval)
				}
				w := win.Load()
				in := w != nil && w.contains(t1)
				if in || err != nil || ttl <= 0 {
					mu.Lock()
					switch {
					case err != nil:
						if sctx.Err() == nil {
							share.Errors++
							if share.FirstError == "" {
								share.FirstError = err.Error()
							}
						}
					case ttl <= 0:
						share.Lost++
					default:
						share.KeepAlives++
						record(hist, t1.Sub(t0))
					}
					mu.Unlock()
				}
				if err != nil || ttl <= 0 {
					return
				}
				select {
				case <-time.After(time.Until(next)):
				case <-sctx.Done():
					return
				}
			}
		})
	}
	started.Wait()
	mu.Lock()
	err := setupErr
	mu.Unlock()
	if err != nil {
		return nil, err
	}
	ready()
	var w window
	select {
	case w = <-winCh:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	win.Store(&w)
	time.Sleep(time.Until(w.start))
	cpuStart, _ := procCPU("self")
	time.Sleep(time.Until(w.end))
	cpuEnd, _ := procCPU("self")
	stop()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	share.CPUSec = cpuEnd - cpuStart
	if enc, err := hist.Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
		share.Histogram = base64.StdEncoding.EncodeToString(enc)
	}
	return share, nil
}

// openSession grants a lease (holding one of the grants slots meanwhile) and opens its
// keep-alive stream.
func openSession(ctx context.Context, b Backend, cfg Config, conn int, grants chan struct{}) (int64, KeepAliveStream, error) {
	select {
	case grants <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
	octx, cancel := context.WithTimeout(ctx, cfg.OpTimeout)
	id, err := b.LeaseGrant(octx, conn, cfg.LeaseTTL)
	cancel()
	<-grants
	if err != nil {
		return 0, nil, fmt.Errorf("grant: %w", err)
	}
	st, err := b.OpenKeepAlive(ctx, conn)
	if err != nil {
		return 0, nil, fmt.Errorf("opening its keep-alive stream: %w", err)
	}
	return id, st, nil
}
