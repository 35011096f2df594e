package clientv3compat

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
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// readyTimeout bounds a member's start; waitTimeout bounds any wait on the cluster (a leader,
// an event). Both only stop a stuck test: CI shares two busy cores with other work.
const (
	readyTimeout = 60 * time.Second
	waitTimeout  = 60 * time.Second
)

// target is one kind of server the same test runs against: "etcd" (the real one, which
// validates the test) or "cairn" (which the test is about).
type target struct {
	name string
	// start returns a running three-member cluster, its members started with extra flags.
	start func(t *testing.T, extra ...string) *cluster
}

var targets = []target{
	{name: "etcd", start: startEtcd},
	{name: "cairn", start: startCairn},
}

// forEachTarget runs body once against each target, each with a fresh cluster: Cairn must
// give what etcd gives, or the test fails.
func forEachTarget(t *testing.T, body func(t *testing.T, c *cluster)) {
	forEachTargetWith(t, nil, body)
}

// forEachTargetWith is forEachTarget with extra flags for the members, by target name (the
// same setting is spelt differently by etcd and Cairn).
func forEachTargetWith(t *testing.T, flags map[string][]string, body func(t *testing.T, c *cluster)) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			body(t, tg.start(t, flags[tg.name]...))
		})
	}
}

// repoRoot is the repository root, found upwards from this file (it holds package.json).
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source file")
	}
	for dir := filepath.Dir(file); filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
			return dir
		}
	}
	t.Fatalf("no package.json above %s", file)
	return ""
}

// etcdBinary is the etcd scripts/install-etcd-tools.sh builds (npm test runs it first).
func etcdBinary(t testing.TB) string {
	dir := os.Getenv("CAIRN_ETCD_TOOLS")
	if dir == "" {
		mod, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "etcd-tools", "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`go\.etcd\.io/etcd/server/v3 (v\S+)`).FindSubmatch(mod)
		if m == nil {
			t.Fatal("scripts/etcd-tools/go.mod pins no etcd server version")
		}
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(home, ".cache", "cairn", "etcd-tools", string(m[1]))
	}
	bin := filepath.Join(dir, "etcd")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%v: run scripts/install-etcd-tools.sh", err)
	}
	return bin
}

// member is one server process; its command line is kept to restart it.
type member struct {
	name     string
	endpoint string
	argv     []string
	// ready is the line a member prints once it serves clients.
	ready *regexp.Regexp

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	output *lockedBuffer
}

type cluster struct {
	t       *testing.T
	kind    string
	members []*member
}

func (c *cluster) endpoints() []string {
	out := make([]string, len(c.members))
	for i, m := range c.members {
		out[i] = m.endpoint
	}
	return out
}

func (c *cluster) logs() string {
	var b strings.Builder
	for _, m := range c.members {
		fmt.Fprintf(&b, "--- %s %s (%s) ---\n%s\n", c.kind, m.name, m.endpoint, m.output.String())
	}
	return b.String()
}

// client connects to the given endpoints (every member's when none are given); closed at
// the test's end.
func (c *cluster) client(endpoints ...string) *clientv3.Client {
	c.t.Helper()
	if len(endpoints) == 0 {
		endpoints = c.endpoints()
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 30 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cli.Close() })
	return cli
}

// leader waits until a member answers Status naming itself the leader, and returns it.
func (c *cluster) leader() *member {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		for _, m := range c.members {
			if !m.running() {
				continue
			}
			cli := c.client(m.endpoint)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := cli.Status(ctx, m.endpoint)
			cancel()
			cli.Close()
			if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("%s: no leader within %v\n%s", c.kind, waitTimeout, c.logs())
	return nil
}

var portsMu sync.Mutex
var portsGiven = map[int]bool{}

// freePort is a port the OS reports free now and this process has not handed out before.
func freePort(t testing.TB) int {
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port
		}
	}
}

func startEtcd(t *testing.T, extra ...string) *cluster {
	bin := etcdBinary(t)
	dir := t.TempDir()
	c := &cluster{t: t, kind: "etcd"}
	var initial []string
	type ports struct{ client, peer int }
	ps := make([]ports, 3)
	for i := range ps {
		ps[i] = ports{freePort(t), freePort(t)}
		initial = append(initial, fmt.Sprintf("n%d=http://127.0.0.1:%d", i+1, ps[i].peer))
	}
	for i, p := range ps {
		name := fmt.Sprintf("n%d", i+1)
		client := fmt.Sprintf("http://127.0.0.1:%d", p.client)
		peer := fmt.Sprintf("http://127.0.0.1:%d", p.peer)
		c.members = append(c.members, &member{
			name: name, endpoint: fmt.Sprintf("127.0.0.1:%d", p.client),
			argv: append([]string{bin, "--name", name, "--data-dir", filepath.Join(dir, name),
				"--listen-client-urls", client, "--advertise-client-urls", client,
				"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
				"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-token", dir,
				"--listen-metrics-urls", ""},
				extra...),
			ready:  regexp.MustCompile(`serving client traffic`),
			output: &lockedBuffer{},
		})
	}
	c.startAll()
	return c
}

func startCairn(t *testing.T, extra ...string) *cluster {
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "dist", "server", "cli", "cairn.js")); err != nil {
		t.Fatalf("the server is not built (run `npx tsc -p .` in %s): %v", root, err)
	}
	dir := t.TempDir()
	c := &cluster{t: t, kind: "cairn"}
	var initial []string
	ports := []int{freePort(t), freePort(t), freePort(t)}
	for i, p := range ports {
		initial = append(initial, fmt.Sprintf("n%d=127.0.0.1:%d", i+1, p))
	}
	for i, p := range ports {
		name := fmt.Sprintf("n%d", i+1)
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		c.members = append(c.members, &member{
			name: name, endpoint: addr,
			argv: append([]string{"node", filepath.Join(root, "bin", "cairn.js"), "serve", "--name", name, "--listen", addr,
				"--initial-cluster", strings.Join(initial, ","), "--data-dir", filepath.Join(dir, name),
				"--initial-cluster-token", dir, "--log-level", "warn"},
				extra...),
			ready:  regexp.MustCompile(`serving on \S+`),
			output: &lockedBuffer{},
		})
	}
	c.startAll()
	return c
}

// startAll starts every member at once (a member waits for its peers to elect a leader)
// and registers their killing with the test.
func (c *cluster) startAll() {
	c.t.Cleanup(func() {
		for _, m := range c.members {
			m.kill()
		}
		if c.t.Failed() {
			c.t.Logf("%s cluster logs:\n%s", c.kind, c.logs())
		}
	})
	errs := make(chan error, len(c.members))
	for _, m := range c.members {
		go func() { errs <- m.start() }()
	}
	for range c.members {
		if err := <-errs; err != nil {
			c.t.Fatalf("starting %s: %v\n%s", c.kind, err, c.logs())
		}
	}
}

func (m *member) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// start spawns the member and waits until it prints its ready line.
func (m *member) start() error {
	cmd := exec.Command(m.argv[0], m.argv[1:]...)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		signaled := false
		for sc.Scan() {
			line := sc.Text()
			m.output.Write([]byte(line + "\n"))
			if !signaled && m.ready.MatchString(line) {
				signaled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, pipe)
		cmd.Wait()
		close(done)
	}()
	m.mu.Lock()
	m.cmd, m.done = cmd, done
	m.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-done:
		return fmt.Errorf("%s exited before serving", m.name)
	case <-time.After(readyTimeout):
		m.kill()
		return fmt.Errorf("%s not serving within %v", m.name, readyTimeout)
	}
}

// kill sends SIGKILL to the member's process (by its PID) and waits for the exit.
func (m *member) kill() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// lockedBuffer is an output buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
