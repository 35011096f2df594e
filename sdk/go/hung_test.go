package cairn_test

import (
	"context"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// TestHungMember stops (SIGSTOP) the member in use, whose connections stay open but never
// answer: a read moves on to another member within its deadline, and a watch notices the
// silence through its progress probes and resumes elsewhere without a gap or a repeat.
func TestHungMember(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	leader := cluster.WaitLeader(testcluster.LeaderWait)
	var hung *testcluster.Member
	for _, m := range cluster.Members {
		if m != leader {
			hung = m
			break
		}
	}
	endpoints := append([]string{hung.Address}, others(cluster.Endpoints(), hung.Address)...)
	reader := newClient(t, cairn.Config{Endpoints: endpoints})
	watcher := newClient(t, cairn.Config{Endpoints: endpoints, WatchProbeInterval: 300 * time.Millisecond})
	writer := newClient(t, cairn.Config{Endpoints: others(cluster.Endpoints(), hung.Address)})
	ctx := timeout(t, testBound)

	first, err := writer.Put(ctx, "h/1", "one")
	if err != nil {
		t.Fatal(err)
	}
	events := watcher.Watch(ctx, "h/", cairn.WithPrefix(), cairn.FromRevision(1))
	next := func() cairn.Event {
		t.Helper()
		select {
		case wr, ok := <-events:
			if !ok || wr.Err != nil || len(wr.Events) != 1 {
				t.Fatalf("watch delivered %+v (open %v); want one event", wr, ok)
			}
			return wr.Events[0]
		case <-ctx.Done():
			t.Fatal("no watch event in time")
		}
		panic("unreachable")
	}
	if e := next(); e.KV.ModRevision != first.Header.Revision {
		t.Fatalf("first event at %d, want %d", e.KV.ModRevision, first.Header.Revision)
	}
	// Both clients are connected to the member before it hangs.
	if got := get(t, ctx, reader, "h/1"); got != "one" || reader.Endpoint() != hung.Address {
		t.Fatalf("read %q from %s, want one from %s", got, reader.Endpoint(), hung.Address)
	}

	hung.Pause()
	t.Cleanup(hung.Resume)
	rctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	if got := get(t, rctx, reader, "h/1"); got != "one" {
		t.Errorf("read while the member hangs = %q", got)
	}
	if reader.Endpoint() == hung.Address {
		t.Error("the reader still uses the hung member")
	}
	second, err := writer.Put(ctx, "h/2", "two")
	if err != nil {
		t.Fatal(err)
	}
	if e := next(); e.KV.Key != "h/2" || e.KV.ModRevision != second.Header.Revision {
		t.Fatalf("after the hang the watch delivered %s at %d, want h/2 at %d", e.KV.Key, e.KV.ModRevision, second.Header.Revision)
	}
	if watcher.Endpoint() == hung.Address {
		t.Error("the watcher still uses the hung member")
	}
}
