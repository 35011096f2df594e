package cairn_test

import (
	"context"
	"errors"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
	"google.golang.org/grpc/codes"
)

// TestStaleVersusLinearizable cuts one member off (the two others are stopped with
// SIGSTOP): a stale read from it answers from its local data, while linearizable and
// over-bound reads fail instead of returning data that may be stale.
func TestStaleVersusLinearizable(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3, "--request-timeout", "1500")
	leader := cluster.WaitLeader(testcluster.LeaderWait)
	var isolated *testcluster.Member
	for _, m := range cluster.Members {
		if m != leader {
			isolated = m
			break
		}
	}
	// A client held to the isolated member, so every read is answered by it.
	pinned := newClient(t, cairn.Config{Endpoints: []string{isolated.Address}, DisableDiscovery: true, DialTimeout: 500 * time.Millisecond})
	ctx := timeout(t, testBound)
	if _, err := pinned.Put(ctx, "k", "v1"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, ctx, pinned, "k"); got != "v1" {
		t.Fatalf("linearizable get before the cut = %q", got)
	}

	for _, m := range cluster.Members {
		if m != isolated {
			m.Pause()
			t.Cleanup(m.Resume)
		}
	}
	stale, err := pinned.Get(ctx, "k", cairn.Stale())
	if got := value(t, stale, err); got != "v1" {
		t.Errorf("stale get from the cut-off member = %q, want its local v1", got)
	}

	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	resp, err := pinned.Get(lctx, "k", cairn.Linearizable())
	if err == nil {
		t.Fatalf("linearizable get without a quorum returned %+v; want an error", resp.Kvs)
	}
	var ce *cairn.Error
	if !errors.As(err, &ce) || (ce.Code() != codes.Unavailable && ce.Code() != codes.DeadlineExceeded) {
		t.Errorf("linearizable get error = %v; want Unavailable or DeadlineExceeded", err)
	}
	// It fails at its deadline rather than hanging; the slack is for a busy machine.
	if time.Since(start) > 14*time.Second {
		t.Errorf("the failing read took %v; the deadline was 4s", time.Since(start))
	}

	// Long past the bound since the member last heard from the leader: the server serves
	// the read linearizably, so it fails too.
	time.Sleep(600 * time.Millisecond)
	bctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if resp, err := pinned.Get(bctx, "k", cairn.MaxStaleness(300*time.Millisecond)); err == nil {
		t.Errorf("a read bounded to 300ms answered %+v from a member cut off for longer", resp.Kvs)
	}

	for _, m := range cluster.Members {
		m.Resume()
	}
	cluster.WaitLeader(testcluster.LeaderWait)
	if _, err := pinned.Put(ctx, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	// Back in touch with the leader: the bounded read answers within the bound, and a
	// linearizable read sees the new value.
	if got := get(t, ctx, pinned, "k"); got != "v2" {
		t.Errorf("linearizable get after the cut = %q, want v2", got)
	}
	bounded, err := pinned.Get(ctx, "k", cairn.MaxStaleness(2*time.Second))
	if got := value(t, bounded, err); got != "v2" {
		t.Errorf("bounded get after the cut = %q, want v2", got)
	}
}
