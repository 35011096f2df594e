package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The smoke test runs every workload for about a second against a real Cairn member and
// checks that operations completed and that the counts agree. It has no timing gates: the
// machine may be busy. It needs the server built (npm run build); set LOADGEN_ETCD_BIN to an
// etcd binary (bench/compare.sh builds one into bench/.build/etcd) to run it against etcd
// too.

func TestSmokeCairn(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "dist", "server", "cli", "cairn.js")); err != nil {
		t.Fatalf("the server is not built (run `npm run build` in %s): %v", root, err)
	}
	cmd := exec.Command("node", filepath.Join(root, "bin", "cairn.js"), "serve",
		"--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"), "--log-level", "warn")
	addr, pid := startServer(t, cmd, regexp.MustCompile(`serving on (\S+)`))
	smoke(t, "cairn", addr, pid)
}

func TestSmokeEtcd(t *testing.T) {
	bin := os.Getenv("LOADGEN_ETCD_BIN")
	if bin == "" {
		t.Skip("LOADGEN_ETCD_BIN is not set")
	}
	client, peer := freePort(t), freePort(t)
	cmd := exec.Command(bin, "--name", "e1", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "e1=http://"+peer, "--log-level", "info")
	_, pid := startServer(t, cmd, regexp.MustCompile(`ready to serve client requests`))
	smoke(t, "etcd", client, pid)
}

func smoke(t *testing.T, target, addr string, pid int) {
	for _, w := range workloads {
		t.Run(w, func(t *testing.T) {
			cfg := Config{
				Target: target, Endpoints: []string{addr}, Workload: w, Clients: 4, Connections: 2,
				Keys: 300, ValueSize: 64, Warmup: 200 * time.Millisecond, Duration: time.Second,
				Watchers: 20, Streams: 4, Rate: 0, Batch: 100, Prefill: true, KeyPrefix: "smoke/",
				OpTimeout: 10 * time.Second, Drain: 10 * time.Second, ServerPIDs: []string{strconv.Itoa(pid)},
			}
			b, err := newBackend(target, cfg.Endpoints, cfg.Connections, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := Run(ctx, b, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			printText(&out, res)
			t.Log("\n" + out.String())
			if res.Ops <= 0 || res.Errors != 0 {
				t.Fatalf("ops %d, errors %d (first: %s)", res.Ops, res.Errors, res.FirstError)
			}
			if res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P99 || res.Latency.P99 < res.Latency.P50 {
				t.Errorf("latency percentiles out of order: %+v", res.Latency)
			}
			if len(res.Servers) != 1 || res.Servers[0].Error != "" || res.Servers[0].RSSKiB <= 0 || res.Servers[0].CPUSec < 0 {
				t.Errorf("server stats: %+v", res.Servers)
			}
			switch w {
			case WLoad:
				if res.Ops != int64(cfg.Keys) {
					t.Errorf("loaded %d keys, want %d", res.Ops, cfg.Keys)
				}
			case WLinGet, WSerGet, WTxn:
				if res.Prefill == nil || res.Prefill.Keys != cfg.Keys {
					t.Errorf("prefill: %+v", res.Prefill)
				}
			}
			if w == WTxn {
				if res.Txn == nil || res.Txn.Succeeded+res.Txn.Failed != res.Ops || res.Txn.Succeeded == 0 {
					t.Errorf("txn outcomes %+v do not add up to %d ops", res.Txn, res.Ops)
				}
			}
			if w == WWatch {
				s := res.Watch
				if s.Puts == 0 || s.Expected != s.Puts*int64(cfg.Watchers) || s.Delivered != s.Expected {
					t.Errorf("deliveries: %+v", s)
				}
				if s.Missed != 0 || s.Duplicates != 0 || s.OutOfOrder != 0 || s.Unexpected != 0 || s.WatchErrors != 0 {
					t.Errorf("missed, duplicate, out-of-order or unexpected events: %+v", s)
				}
				if res.Ops > s.Delivered {
					t.Errorf("%d deliveries in the window, more than the %d delivered", res.Ops, s.Delivered)
				}
			}
		})
	}
}

// startServer starts cmd, waits until a line of its output matches ready (its first group,
// if any, is returned as the address) and kills it at cleanup.
func startServer(t *testing.T, cmd *exec.Cmd, ready *regexp.Regexp) (string, int) {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var logs strings.Builder
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logs.WriteString(line + "\n")
			logMu.Unlock()
			if m := ready.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[len(m)-1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	exited := make(chan struct{})
	go func() { cmd.Wait(); pw.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			logMu.Lock()
			t.Logf("server output:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	select {
	case addr := <-found:
		return addr, cmd.Process.Pid
	case <-exited:
		t.Fatalf("%s exited before serving", cmd.Path)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not serving within 30 s", cmd.Path)
	}
	return "", 0
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}

func TestProcStat(t *testing.T) {
	cpu, err := procCPU("self")
	if err != nil || cpu < 0 {
		t.Fatalf("procCPU(self) = %v, %v", cpu, err)
	}
	rss, hwm, err := procMem("self")
	if err != nil || rss <= 0 || hwm < rss {
		t.Fatalf("procMem(self) = %d, %d, %v", rss, hwm, err)
	}
}
