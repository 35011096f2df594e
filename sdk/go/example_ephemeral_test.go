package cairn_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// testEphemeralConfigExample runs examples/ephemeral-config as two real processes: the
// watcher prints the owner's value and its changes, then the key's disappearance once the
// owner is killed with SIGKILL (its lease expires).
func testEphemeralConfigExample(t *testing.T, cluster *testcluster.Cluster) {
	bin := filepath.Join(t.TempDir(), "ephemeral-config")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/ephemeral-config").CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}
	env := append(os.Environ(), "CAIRN_ENDPOINTS="+strings.Join(cluster.Endpoints(), ","))
	start := func(args ...string) (*exec.Cmd, *lines) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, readLines(out)
	}

	owner, ownerOut := start("owner", "--ttl", "2", "--every", "500ms")
	ownerOut.waitFor(t, `"version":1`)
	_, watchOut := start("watch")
	watchOut.waitFor(t, "watch: /config = {")
	watchOut.waitFor(t, `"version":`) // a change, seen as it happens
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	watchOut.waitFor(t, "watch: /config deleted")
}

// lines delivers a process's output line by line.
type lines struct {
	ch   chan string
	seen []string
}

func readLines(r io.Reader) *lines {
	l := &lines{ch: make(chan string, 64)}
	go func() {
		defer close(l.ch)
		s := bufio.NewScanner(r)
		for s.Scan() {
			l.ch <- s.Text()
		}
	}()
	return l
}

// waitFor reads lines until one contains text. The bound only stops a stuck test.
func (l *lines) waitFor(t *testing.T, text string) {
	t.Helper()
	stuck := time.After(testBound)
	for {
		select {
		case line, ok := <-l.ch:
			if !ok {
				t.Fatalf("output ended before %q: %q", text, l.seen)
			}
			l.seen = append(l.seen, line)
			if strings.Contains(line, text) {
				return
			}
		case <-stuck:
			t.Fatalf("no %q in the output: %q", text, l.seen)
		}
	}
}
