package cairn_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// TestElectionAcrossLeaderKills runs three candidates that campaign, write under their
// leadership and resign, over and over, while the Raft leader is killed (and restarted)
// three times. Two observers on their own clients must see the same succession, one
// leader at a time: each next leader's key younger than the last (the queue's order), and
// each the candidate that won there. A write a leader guards with its campaign revision is
// refused only once its key is gone.
func TestElectionAcrossLeaderKills(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	ctx := timeout(t, 3*testBound)
	cfg := cairn.Config{Endpoints: cluster.Endpoints(), DialTimeout: time.Second, CallTimeout: 3 * time.Second}

	type observer struct {
		mu      sync.Mutex
		leaders []cairn.KeyValue
		changed chan struct{}
	}
	octx, stopObservers := context.WithCancel(ctx)
	defer stopObservers()
	observers := make([]*observer, 2)
	var observing sync.WaitGroup
	for i := range observers {
		o := &observer{changed: make(chan struct{}, 1)}
		observers[i] = o
		c := newClient(t, cfg)
		observing.Go(func() {
			for kv := range c.ObserveLeader(octx, "kills") {
				o.mu.Lock()
				o.leaders = append(o.leaders, kv)
				o.mu.Unlock()
				select {
				case o.changed <- struct{}{}:
				default:
				}
			}
		})
	}
	seen := func() int {
		o := observers[0]
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.leaders)
	}
	// awaitChanges waits until the first observer saw n more leaders.
	awaitChanges := func(n int) {
		target := seen() + n
		for seen() < target {
			select {
			case <-observers[0].changed:
			case <-ctx.Done():
				t.Fatalf("the observer saw %d leaders, waiting for %d", seen(), target)
			}
		}
	}

	cctx, stopCandidates := context.WithCancel(ctx)
	var campaigning sync.WaitGroup
	var mu sync.Mutex
	wins := map[int64]string{} // campaign revision -> candidate, for every won campaign
	for i := range 3 {
		name := fmt.Sprintf("c%d", i)
		c := newClient(t, cfg)
		campaigning.Go(func() {
			for cctx.Err() == nil {
				s, err := cairn.NewSession(cctx, c, cairn.WithTTL(5))
				if err != nil {
					continue // no leader right now: try again
				}
				e := cairn.NewElection(s, "kills")
				for cctx.Err() == nil && s.Err() == nil {
					rev, err := e.Campaign(cctx, name)
					if err != nil {
						continue
					}
					mu.Lock()
					wins[rev] = name
					mu.Unlock()
					resp, err := c.Txn(cctx).If(cairn.CreateRevision(e.Key()).Equal(rev)).Then(cairn.OpPut("kills-term", fmt.Sprint(rev))).Commit()
					if err == nil && !resp.Succeeded {
						// Refused: legitimate only if the key is gone (its lease ended).
						if now, err := c.Get(cctx, e.Key()); err == nil && len(now.Kvs) == 1 && now.Kvs[0].CreateRevision == rev {
							t.Errorf("%s's write guarded by revision %d was refused while it held that key", name, rev)
						}
					}
					rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_ = e.Resign(rctx)
					cancel()
				}
				s.Close()
			}
		})
	}

	for kill := range 3 {
		awaitChanges(2)
		leader := cluster.WaitLeader(testcluster.LeaderWait)
		t.Logf("kill %d: %s", kill+1, leader.Name)
		leader.Kill()
		awaitChanges(2)
		if err := leader.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	awaitChanges(2)
	stopCandidates()
	campaigning.Wait()
	stopObservers()
	observing.Wait()

	var sequences [][]int64
	for i, o := range observers {
		var revs []int64
		for _, kv := range o.leaders {
			revs = append(revs, kv.CreateRevision)
			mu.Lock()
			winner, ok := wins[kv.CreateRevision]
			mu.Unlock()
			if ok && string(kv.Value) != winner {
				t.Errorf("observer %d: leader at revision %d is %q, but %s won there", i, kv.CreateRevision, kv.Value, winner)
			}
		}
		if !slices.IsSorted(revs) || len(slices.Compact(slices.Clone(revs))) != len(revs) {
			t.Fatalf("observer %d: leaders' revisions %v do not strictly grow: two leaders at once", i, revs)
		}
		sequences = append(sequences, revs)
	}
	// Both followed the same history; the one stopped earlier may have seen less of it.
	short, long := sequences[0], sequences[1]
	if len(short) > len(long) {
		short, long = long, short
	}
	if !slices.Equal(short, long[:len(short)]) {
		t.Fatalf("observers disagree:\n%v\n%v", sequences[0], sequences[1])
	}
	if len(short) < 8 {
		t.Fatalf("observers saw only %d leaders", len(short))
	}
	t.Logf("%d leaders observed, %d campaigns won", len(long), len(wins))
}
