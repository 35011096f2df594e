package cairn_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// TestWatchSurvivesLeaderKill watches a prefix on the leader while another client writes,
// kills the leader mid-stream, and checks the events against the write history: every
// revision exactly once, in order, with the acknowledged values.
func TestWatchSurvivesLeaderKill(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	leader := cluster.WaitLeader(testcluster.LeaderWait)
	rest := others(cluster.Endpoints(), leader.Address)
	watcher := newClient(t, cairn.Config{Endpoints: append([]string{leader.Address}, rest...)})
	writer := newClient(t, cairn.Config{Endpoints: rest})
	ctx := timeout(t, testBound)

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	events := watcher.Watch(wctx, "w/", cairn.WithPrefix(), cairn.FromRevision(1))

	const writes = 60
	acked := map[int64]string{} // revision -> key, for acknowledged writes
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range writes {
			if i == writes/3 {
				leader.Kill()
			}
			key := fmt.Sprintf("w/%03d", i)
			p, err := writer.Put(ctx, key, strconv.Itoa(i))
			if err != nil {
				// Outcome unknown (for example a timeout): the watch may or may not show it.
				t.Logf("put %s: %v", key, err)
				continue
			}
			mu.Lock()
			acked[p.Header.Revision] = key
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	<-done
	last, err := writer.Get(ctx, "w/", cairn.WithPrefix(), cairn.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	head := last.Header.Revision
	if len(acked) < writes*2/3 {
		t.Fatalf("only %d of %d writes were acknowledged", len(acked), writes)
	}

	var seen []cairn.Event
	for len(seen) == 0 || seen[len(seen)-1].KV.ModRevision < head {
		select {
		case wr, ok := <-events:
			if !ok {
				t.Fatalf("watch closed after %d events", len(seen))
			}
			if wr.Err != nil {
				t.Fatalf("watch failed after %d events: %v", len(seen), wr.Err)
			}
			seen = append(seen, wr.Events...)
		case <-ctx.Done():
			t.Fatalf("watch saw %d events up to revision %d, want up to %d", len(seen), lastRev(seen), head)
		}
	}

	// The cluster is fresh (at revision 1, with no key) and only this test writes, under w/:
	// every revision 2..head is one put, and the watch must deliver each exactly once, in order.
	for i, e := range seen {
		if want := int64(i + 2); e.KV.ModRevision != want {
			t.Fatalf("event %d at revision %d, want %d (gap or duplicate): %v", i, e.KV.ModRevision, want, revs(seen))
		}
		n, err := strconv.Atoi(string(e.KV.Value))
		if e.Type != cairn.EventPut || err != nil || e.KV.Key != fmt.Sprintf("w/%03d", n) {
			t.Fatalf("event %d = %+v, not a put from the writer", i, e)
		}
		if i > 0 {
			prev, _ := strconv.Atoi(string(seen[i-1].KV.Value))
			if n <= prev {
				t.Fatalf("event %d writes %d after %d: out of order", i, n, prev)
			}
		}
	}
	for rev, key := range acked {
		if rev > int64(len(seen))+1 || seen[rev-2].KV.Key != key {
			t.Errorf("acknowledged write of %s at revision %d missing from the watch", key, rev)
		}
	}
	if watcher.Endpoint() == leader.Address {
		t.Errorf("the watch did not move off the killed member")
	}
}

func lastRev(events []cairn.Event) int64 {
	if len(events) == 0 {
		return 0
	}
	return events[len(events)-1].KV.ModRevision
}

func revs(events []cairn.Event) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "%d ", e.KV.ModRevision)
	}
	return b.String()
}
