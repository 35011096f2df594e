// Package testcluster runs a real Cairn cluster as node processes on loopback for the
// SDK's tests: free ports, temporary data directories, processes killed at cleanup.
package testcluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
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

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// readyTimeout bounds the wait for a member to print "serving on".
const readyTimeout = 30 * time.Second

// LeaderWait bounds the wait for an election: many election timeouts (1 s), because CI
// shares two busy cores with other work. It only stops a test that is stuck.
const LeaderWait = 30 * time.Second

// RepoRoot is the repository root, found upwards from this file (it holds package.json).
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the source file")
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no package.json above %s", file)
		}
	}
}

// Member is one member process.
type Member struct {
	Name    string
	Address string
	args    []string
	root    string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	output *lockedBuffer
	// creds is how the helper's status checks connect.
	creds credentials.TransportCredentials
}

func perMember(memberArgs func(string) []string, name string) []string {
	if memberArgs == nil {
		return nil
	}
	return memberArgs(name)
}

// Cluster is a running cluster.
type Cluster struct {
	Members []*Member
	t       testing.TB
}

// startAttempts bounds the retries of a cluster start that lost a port to another process.
const startAttempts = 4

// Start starts a cluster of size members with extra `cairn serve` flags and registers its
// cleanup with t. It fails t when the server is not built or a member does not come up.
// A start that loses a port to another process (EADDRINUSE) is retried on fresh ports.
func Start(t testing.TB, size int, extra ...string) *Cluster {
	t.Helper()
	return startWith(t, size, nil, nil, extra)
}

// StartTLS starts a cluster whose members serve TLS with the certificates in certs (made
// by MakeTestCerts) and require client certificates (--client-cert-auth); the helper's
// own status checks use the client certificate.
func StartTLS(t testing.TB, size int, certs string, extra ...string) *Cluster {
	t.Helper()
	creds, err := ClientTLS(certs)
	if err != nil {
		t.Fatal(err)
	}
	memberArgs := func(name string) []string {
		return []string{
			"--cert-file", filepath.Join(certs, name+".pem"), "--key-file", filepath.Join(certs, name+".key"),
			"--trusted-ca-file", filepath.Join(certs, "ca.pem"), "--client-cert-auth",
		}
	}
	return startWith(t, size, memberArgs, creds, extra)
}

// MakeTestCerts makes a CA, a certificate per member (n1..nN) and a client certificate in
// a temporary directory, with sdk/scenario/make-test-certs.sh (openssl), and returns it.
func MakeTestCerts(t testing.TB, size int) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{filepath.Join(root, "sdk", "scenario", "make-test-certs.sh"), dir}
	for i := 1; i <= size; i++ {
		args = append(args, fmt.Sprintf("n%d", i))
	}
	if out, err := exec.Command("bash", args...).CombinedOutput(); err != nil {
		t.Fatalf("making test certificates: %v\n%s", err, out)
	}
	return dir
}

// ClientTLS returns credentials with the CA and client certificate in certs.
func ClientTLS(certs string) (credentials.TransportCredentials, error) {
	ca, err := os.ReadFile(filepath.Join(certs, "ca.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	pair, err := tls.LoadX509KeyPair(filepath.Join(certs, "client.pem"), filepath.Join(certs, "client.key"))
	if err != nil {
		return nil, err
	}
	return credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}), nil
}

func startWith(t testing.TB, size int, memberArgs func(string) []string, creds credentials.TransportCredentials, extra []string) *Cluster {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "dist", "server", "cli", "cairn.js")); err != nil {
		t.Fatalf("the server is not built (run `npx tsc -p .` in %s): %v", root, err)
	}
	for attempt := 1; ; attempt++ {
		c := &Cluster{t: t}
		// The data dir first: cleanups run last-registered first, so the members are
		// stopped before the directory under them is removed.
		dir := t.TempDir()
		t.Cleanup(c.cleanup)
		err := c.start(root, dir, size, memberArgs, creds, extra)
		if err == nil {
			return c
		}
		logs := c.Logs()
		c.cleanup()
		if attempt == startAttempts || !strings.Contains(logs, "EADDRINUSE") {
			t.Fatalf("starting the cluster: %v\n%s", err, logs)
		}
		t.Logf("starting the cluster lost a port (attempt %d), retrying: %v", attempt, err)
	}
}

// start starts every member on fresh ports under dataRoot.
func (c *Cluster) start(root, dataRoot string, size int, memberArgs func(string) []string, creds credentials.TransportCredentials, extra []string) error {
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	ports := make([]int, size)
	initial := make([]string, size)
	for i := range ports {
		port, err := freePort()
		if err != nil {
			return err
		}
		ports[i] = port
		initial[i] = fmt.Sprintf("n%d=127.0.0.1:%d", i+1, ports[i])
	}
	token := fmt.Sprintf("test-%d-%d", os.Getpid(), time.Now().UnixNano())
	for i := range ports {
		name := fmt.Sprintf("n%d", i+1)
		addr := fmt.Sprintf("127.0.0.1:%d", ports[i])
		c.Members = append(c.Members, &Member{
			Name: name, Address: addr, root: root,
			args: append([]string{
				filepath.Join(root, "bin", "cairn.js"), "serve", "--name", name, "--listen", addr,
				"--initial-cluster", strings.Join(initial, ","), "--data-dir", filepath.Join(dataRoot, name),
				// Each test cluster is its own, with a token of its own.
				"--initial-cluster-token", token,
				"--log-level", "warn",
			}, append(perMember(memberArgs, name), extra...)...),
			output: &lockedBuffer{},
			creds:  creds,
		})
	}
	errs := make(chan error, size)
	for _, m := range c.Members {
		go func() { errs <- m.start() }()
	}
	var failed error
	for range c.Members {
		if err := <-errs; err != nil && failed == nil {
			failed = err
		}
	}
	return failed
}

// Endpoints returns every member's address.
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Address
	}
	return out
}

// Member returns the member with the given name or address.
func (c *Cluster) Member(nameOrAddr string) *Member {
	for _, m := range c.Members {
		if m.Name == nameOrAddr || m.Address == nameOrAddr {
			return m
		}
	}
	c.t.Fatalf("no member %s", nameOrAddr)
	return nil
}

// Logs returns every member's output, for failure messages.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, m := range c.Members {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", m.Name, m.Address, m.output.String())
	}
	return b.String()
}

// WaitLeader waits until a majority of members answer and agree on one leader, and
// returns the leader.
func (c *Cluster) WaitLeader(timeout time.Duration) *Member {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var leaders = map[uint64]bool{}
		var leader *Member
		answered := 0
		for _, m := range c.Members {
			st, err := m.Status(500 * time.Millisecond)
			if err != nil {
				continue
			}
			answered++
			leaders[st.GetLeader()] = true
			if st.GetRole() == "leader" {
				leader = m
			}
		}
		if leader != nil && len(leaders) == 1 && answered > len(c.Members)/2 {
			return leader
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader within %v\n%s", timeout, c.Logs())
	return nil
}

func (c *Cluster) cleanup() {
	for _, m := range c.Members {
		m.Kill()
	}
	if c.t.Failed() {
		c.t.Logf("cluster logs:\n%s", c.Logs())
	}
}

// Status asks the member for its status.
func (m *Member) Status(timeout time.Duration) (*cairnv1.StatusResponse, error) {
	cc, err := grpc.NewClient(m.Address, grpc.WithTransportCredentials(m.creds))
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return cairnv1.NewMaintenanceServiceClient(cc).Status(ctx, &cairnv1.StatusRequest{})
}

var servingRE = regexp.MustCompile(`serving on (\S+)`)

// start spawns the member and waits until it serves.
func (m *Member) start() error {
	cmd := exec.Command("node", m.args...)
	cmd.Dir = m.root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = m.output
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		signaled := false
		for sc.Scan() {
			line := sc.Text()
			m.output.Write([]byte(line + "\n"))
			if !signaled && servingRE.MatchString(line) {
				signaled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stdout)
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
		return fmt.Errorf("%s exited before serving", m.Name)
	case <-time.After(readyTimeout):
		m.Kill()
		return fmt.Errorf("%s not serving within %v", m.Name, readyTimeout)
	}
}

// Restart starts the member again on the same data directory and address.
func (m *Member) Restart() error { return m.start() }

// Kill sends SIGKILL (continuing a stopped process first) and waits for the exit.
func (m *Member) Kill() {
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
	cmd.Process.Signal(syscall.SIGCONT)
	cmd.Process.Kill()
	<-done
}

// Pause sends SIGSTOP: the member stops answering but keeps its connections open.
func (m *Member) Pause() { m.signal(syscall.SIGSTOP) }

// Resume sends SIGCONT.
func (m *Member) Resume() { m.signal(syscall.SIGCONT) }

func (m *Member) signal(s syscall.Signal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Signal(s)
	}
}

var (
	portsMu sync.Mutex
	// portsGiven holds the ports handed out by this process, never handed out twice.
	portsGiven = map[int]bool{}
)

// freePort returns a port the OS reports free now and this process has not handed out;
// the member binds it a moment later (another process may take it first: Start retries).
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port, nil
		}
	}
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
