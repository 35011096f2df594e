package cairn_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// lockWorkerEnv makes the test binary run as a lock holder (lockWorker) instead of the
// tests.
const lockWorkerEnv = "CAIRN_TEST_LOCK_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(lockWorkerEnv) != "" {
		if err := lockWorker(); err != nil {
			fmt.Fprintln(os.Stderr, "lock worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lockWorker is the paused holder of TestPausedHolderLosesTheLock, in its own process: it
// takes the lock "proc-lock" with a session of the cluster's minimum TTL, prints "holding
// KEY TOKEN", then on each line of stdin tries a write guarded by its token and prints
// "write ok" or "write refused", and "lost" when its session is lost.
func lockWorker() error {
	ctx := context.Background()
	c, err := cairn.New(ctx, cairn.Config{}) // endpoints from CAIRN_ENDPOINTS
	if err != nil {
		return err
	}
	s, err := cairn.NewSession(ctx, c, cairn.WithTTL(1))
	if err != nil {
		return err
	}
	go func() {
		<-s.Done()
		fmt.Println("lost")
	}()
	m := cairn.NewMutex(s, "proc-lock")
	token, err := m.Lock(ctx)
	if err != nil {
		return err
	}
	fmt.Println("holding", m.Key(), token)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		resp, err := m.Txn(ctx).Then(cairn.OpPut("proc-lock-data", fmt.Sprint("from ", token))).Commit()
		switch {
		case err != nil:
			fmt.Println("write failed:", err)
		case resp.Succeeded:
			fmt.Println("write ok")
		default:
			fmt.Println("write refused")
		}
	}
	return in.Err()
}

// TestPausedHolderLosesTheLock pauses a lock holder process with SIGSTOP past its TTL: a
// second client takes the lock with a higher fencing token, a write guarded by the old
// token is refused, and the holder, resumed, learns its session was lost and has its own
// guarded write refused.
func TestPausedHolderLosesTheLock(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	ctx := timeout(t, testBound)
	worker := exec.Command(os.Args[0])
	worker.Env = append(os.Environ(), lockWorkerEnv+"=1", "CAIRN_ENDPOINTS="+strings.Join(cluster.Endpoints(), ","))
	worker.Stderr = os.Stderr
	stdin, err := worker.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := worker.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		worker.Process.Signal(syscall.SIGCONT)
		worker.Process.Kill()
		worker.Wait()
	})
	out := readLines(stdout)
	next := func() string {
		t.Helper()
		select {
		case line, ok := <-out.ch:
			if !ok {
				t.Fatal("the worker's output ended")
			}
			return line
		case <-time.After(testBound):
			t.Fatal("the worker is silent")
		}
		return ""
	}

	fields := strings.Fields(next())
	if len(fields) != 3 || fields[0] != "holding" {
		t.Fatalf("worker said %q", fields)
	}
	key := fields[1]
	old, _ := strconv.ParseInt(fields[2], 10, 64)
	fmt.Fprintln(stdin)
	if line := next(); line != "write ok" {
		t.Fatalf("the holder's guarded write: %q", line)
	}

	worker.Process.Signal(syscall.SIGSTOP)
	c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()})
	s, err := cairn.NewSession(ctx, c, cairn.WithTTL(10))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := cairn.NewMutex(s, "proc-lock")
	token, err := m.Lock(ctx) // once the paused holder's lease expired
	if err != nil {
		t.Fatal(err)
	}
	if token <= old {
		t.Fatalf("new token %d not above the paused holder's %d", token, old)
	}
	if r, err := c.Txn(ctx).If(cairn.CreateRevision(key).Equal(old)).Then(cairn.OpPut("x", "y")).Commit(); err != nil || r.Succeeded {
		t.Fatalf("write guarded by the old token: %+v %v, want refused", r, err)
	}

	worker.Process.Signal(syscall.SIGCONT)
	fmt.Fprintln(stdin)
	got := []string{next(), next()}
	if !(got[0] == "lost" && got[1] == "write refused" || got[0] == "write refused" && got[1] == "lost") {
		t.Fatalf("the resumed holder said %q, want lost and write refused", got)
	}
	if v := get(t, ctx, c, "proc-lock-data"); v != fmt.Sprint("from ", old) {
		t.Fatalf("proc-lock-data = %q", v)
	}
}
