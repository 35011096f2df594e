package cairn_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// Leases are short (the cluster's minimum TTL) only where expiry is the point; elsewhere a
// lease ends by an outside Revoke, which does to its keys what an expiry does, without
// waiting for one.

// TestLeasesAndRecipes runs the tests that leave the cluster alone on one shared cluster
// (each on its own keys), in parallel: three member processes instead of three per test.
func TestLeasesAndRecipes(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	for _, tc := range []struct {
		name string
		run  func(*testing.T, *testcluster.Cluster)
	}{
		{"LeaseGrantKeepAliveTimeToLiveRevoke", testLeaseGrantKeepAliveTimeToLiveRevoke},
		{"SessionLostWhenLeaseRevoked", testSessionLostWhenLeaseRevoked},
		{"MutexExclusionAndFencing", testMutexExclusionAndFencing},
		{"Election", testElection},
		{"Discover", testDiscover},
		{"EphemeralConfigExample", testEphemeralConfigExample},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, cluster)
		})
	}
}

// testLeaseGrantKeepAliveTimeToLiveRevoke covers the lease calls: a lease renewed for twice
// its TTL keeps its keys; revoked, it and its keys are gone and the renewals stop.
func testLeaseGrantKeepAliveTimeToLiveRevoke(t *testing.T, cluster *testcluster.Cluster) {
	c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()})
	ctx := timeout(t, testBound)

	g, err := c.Grant(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g.ID <= 0 || g.TTL < 1 {
		t.Fatalf("grant: %+v", g)
	}
	if _, err := c.Put(ctx, "l/k1", "v", cairn.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Txn(ctx).Then(cairn.OpPut("l/k2", "v", cairn.WithLease(g.ID))).Commit(); err != nil {
		t.Fatal(err)
	}
	ttl, err := c.TimeToLive(ctx, g.ID, cairn.WithAttachedKeys())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ttl.Keys)
	if ttl.GrantedTTL != g.TTL || ttl.TTL <= 0 || ttl.TTL > g.TTL || !slices.Equal(ttl.Keys, []string{"l/k1", "l/k2"}) {
		t.Fatalf("time to live: %+v", ttl)
	}
	ids, err := c.Leases(ctx)
	if err != nil || !slices.Contains(ids, g.ID) {
		t.Fatalf("leases: %v %v, want %d among them", ids, err, g.ID)
	}

	kctx, stop := context.WithCancel(ctx)
	renewals := c.KeepAlive(kctx, g.ID)
	until := time.Now().Add(2 * time.Duration(g.TTL) * time.Second)
	for r := range renewals {
		if r.ID != g.ID || r.TTL != g.TTL {
			t.Fatalf("renewal: %+v", r)
		}
		if time.Now().After(until) {
			break
		}
	}
	stop()
	for range renewals { // closed once ctx is done
	}
	if ttl, err := c.TimeToLive(ctx, g.ID); err != nil || ttl.TTL <= 0 {
		t.Fatalf("after renewals: %+v %v", ttl, err)
	}
	get(t, ctx, c, "l/k1")
	if once, err := c.KeepAliveOnce(ctx, g.ID); err != nil || once.TTL != g.TTL {
		t.Fatalf("keep alive once: %+v %v", once, err)
	}

	renewals = c.KeepAlive(ctx, g.ID)
	<-renewals
	if _, err := c.Revoke(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	for range renewals { // closed once the cluster says the lease is gone
	}
	if resp, err := c.Get(ctx, "l/", cairn.WithPrefix()); err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("keys after revoke: %+v %v", resp, err)
	}
	if ttl, err := c.TimeToLive(ctx, g.ID); err != nil || ttl.TTL != -1 {
		t.Fatalf("time to live after revoke: %+v %v", ttl, err)
	}
	if _, err := c.KeepAliveOnce(ctx, g.ID); !errors.Is(err, cairn.ErrLeaseNotFound) {
		t.Fatalf("keep alive once after revoke: %v, want ErrLeaseNotFound", err)
	}
	if _, err := c.Revoke(ctx, g.ID); !errors.Is(err, cairn.ErrLeaseNotFound) {
		t.Fatalf("revoke twice: %v, want ErrLeaseNotFound", err)
	}
	if _, err := c.Put(ctx, "l/k3", "v", cairn.WithLease(g.ID)); !errors.Is(err, cairn.ErrLeaseNotFound) {
		t.Fatalf("put on a revoked lease: %v, want ErrLeaseNotFound", err)
	}

	// Nobody renews this one: it expires, and its keys go at one revision.
	g, err = c.Grant(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Put(ctx, "x/k1", "v", cairn.WithLease(g.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Put(ctx, "x/k2", "v", cairn.WithLease(g.ID)); err != nil {
		t.Fatal(err)
	}
	var deletes []cairn.Event
	for resp := range c.Watch(ctx, "x/", cairn.WithPrefix(), cairn.FromRevision(p.Header.Revision)) {
		for _, e := range resp.Events {
			if e.Type == cairn.EventDelete {
				deletes = append(deletes, e)
			}
		}
		if len(deletes) >= 2 || resp.Err != nil {
			break
		}
	}
	if len(deletes) != 2 || deletes[0].KV.ModRevision != deletes[1].KV.ModRevision {
		t.Fatalf("expiry deletes: %+v, want both keys at one revision", deletes)
	}
}

// testSessionLostWhenLeaseRevoked revokes a session's lease from another client: Done is
// closed with ErrSessionLost and the registered key is gone. Close of a live session
// revokes its lease.
func testSessionLostWhenLeaseRevoked(t *testing.T, cluster *testcluster.Cluster) {
	c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()})
	other := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()})
	ctx := timeout(t, testBound)

	s, err := cairn.NewSession(ctx, c, cairn.WithTTL(10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, "s/me", "1"); err != nil {
		t.Fatal(err)
	}
	if resp, err := other.Get(ctx, "s/me"); err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease != s.Lease() {
		t.Fatalf("registered key: %+v %v", resp, err)
	}
	if _, err := other.Revoke(ctx, s.Lease()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("the session never noticed its lease was revoked")
	}
	if !errors.Is(s.Err(), cairn.ErrSessionLost) {
		t.Fatalf("Err: %v, want ErrSessionLost", s.Err())
	}
	if _, err := s.Register(ctx, "s/again", "1"); !errors.Is(err, cairn.ErrSessionLost) {
		t.Fatalf("register on a lost session: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close of a lost session: %v", err)
	}

	s, err = cairn.NewSession(ctx, c, cairn.WithTTL(10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, "s/me", "2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if errors.Is(s.Err(), cairn.ErrSessionLost) {
		t.Fatal("a closed session reports itself lost")
	}
	if resp, err := other.Get(ctx, "s/me"); err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("key after close: %+v %v", resp, err)
	}
}

// TestSessionLostWhenNoMemberRenews pauses every member: no renewal is answered, and the
// session reports itself lost once its lease would have expired.
func TestSessionLostWhenNoMemberRenews(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints(), DialTimeout: 500 * time.Millisecond, CallTimeout: time.Second})
	ctx := timeout(t, testBound)
	s, err := cairn.NewSession(ctx, c, cairn.WithTTL(2))
	if err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	for _, m := range cluster.Members {
		m.Pause()
		defer m.Resume()
	}
	defer func() {
		t.Logf("lost %v after pausing every member (TTL %ds)", time.Since(paused).Round(time.Millisecond), s.TTL())
	}()
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("the session never noticed that nobody renews its lease")
	}
	if !errors.Is(s.Err(), cairn.ErrSessionLost) {
		t.Fatalf("Err: %v, want ErrSessionLost", s.Err())
	}
}

// TestKeepAliveSurvivesLeaderKill kills the leader the client renews through: renewals go
// on through the survivors, and neither the session nor the lease is lost.
func TestKeepAliveSurvivesLeaderKill(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	leader := cluster.WaitLeader(testcluster.LeaderWait)
	rest := others(cluster.Endpoints(), leader.Address)
	c := newClient(t, cairn.Config{Endpoints: append([]string{leader.Address}, rest...), DialTimeout: time.Second, CallTimeout: 2 * time.Second})
	ctx := timeout(t, testBound)
	// TTLs well above an election on a busy machine: failover is the point, not expiry.
	s, err := cairn.NewSession(ctx, c, cairn.WithTTL(5))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Register(ctx, "failover/me", "1"); err != nil {
		t.Fatal(err)
	}
	g, err := c.Grant(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	renewals := c.KeepAlive(ctx, g.ID)
	<-renewals
	leader.Kill()
	until := time.Now().Add(2 * time.Duration(g.TTL) * time.Second)
	for time.Now().Before(until) {
		r, ok := <-renewals
		if !ok {
			t.Fatal("renewals stopped after the leader was killed")
		}
		if r.TTL <= 0 {
			t.Fatalf("renewal %+v", r)
		}
	}
	if s.Err() != nil {
		t.Fatalf("session: %v", s.Err())
	}
	other := newClient(t, cairn.Config{Endpoints: rest})
	if resp, err := other.Get(ctx, "failover/me"); err != nil || len(resp.Kvs) != 1 || resp.Kvs[0].Lease != s.Lease() {
		t.Fatalf("registered key after the kill: %+v %v", resp, err)
	}
	if ttl, err := other.TimeToLive(ctx, g.ID); err != nil || ttl.TTL <= 0 {
		t.Fatalf("lease after the kill: %+v %v", ttl, err)
	}
}

// testMutexExclusionAndFencing: contenders never overlap; a holder whose lease ends loses
// the lock to the waiter, which gets a higher token, and the old token's guarded write is
// refused.
func testMutexExclusionAndFencing(t *testing.T, cluster *testcluster.Cluster) {
	ctx := timeout(t, testBound)
	var clients []*cairn.Client
	var sessions []*cairn.Session
	for range 3 {
		c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()})
		s, err := cairn.NewSession(ctx, c, cairn.WithTTL(10))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		clients, sessions = append(clients, c), append(sessions, s)
	}

	var mu sync.Mutex
	inside := 0
	var tokens []int64
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			m := cairn.NewMutex(sessions[i], "m")
			for range 3 {
				token, err := m.Lock(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				tokens = append(tokens, token)
				overlap := inside > 1
				mu.Unlock()
				if overlap {
					t.Error("two holders at once")
				}
				if r, err := m.Txn(ctx).Then(cairn.OpPut("m-data", "x")).Commit(); err != nil || !r.Succeeded {
					t.Errorf("guarded write by the holder: %+v %v", r, err)
				}
				mu.Lock()
				inside--
				mu.Unlock()
				if err := m.Unlock(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Tokens were appended while holding the lock, so in lock order: they only grow.
	if !slices.IsSorted(tokens) || len(slices.Compact(slices.Clone(tokens))) != len(tokens) {
		t.Fatalf("tokens %v do not strictly grow", tokens)
	}

	first, second := cairn.NewMutex(sessions[0], "f"), cairn.NewMutex(sessions[1], "f")
	old, err := first.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	locked := make(chan int64, 1)
	go func() {
		token, err := second.Lock(ctx)
		if err != nil {
			t.Error(err)
		}
		locked <- token
	}()
	untilQueued(t, ctx, clients[2], "f/", 2)
	select {
	case <-locked:
		t.Fatal("the second contender got a held lock")
	default:
	}
	if _, err := clients[2].Revoke(ctx, sessions[0].Lease()); err != nil { // as if first had been paused past its TTL
		t.Fatal(err)
	}
	token := <-locked
	if token <= old {
		t.Fatalf("new token %d not above the old one %d", token, old)
	}
	if r, err := first.Txn(ctx).Then(cairn.OpPut("f-data", "old holder")).Commit(); err != nil || r.Succeeded {
		t.Fatalf("write guarded by the stale token: %+v %v, want refused", r, err)
	}
	if r, err := second.Txn(ctx).Then(cairn.OpPut("f-data", "new holder")).Commit(); err != nil || !r.Succeeded {
		t.Fatalf("write guarded by the new token: %+v %v", r, err)
	}
	if got := get(t, ctx, clients[2], "f-data"); got != "new holder" {
		t.Fatalf("f-data = %q", got)
	}

	third := cairn.NewMutex(sessions[2], "f")
	if _, err := third.TryLock(ctx); !errors.Is(err, cairn.ErrLocked) {
		t.Fatalf("TryLock on a held lock: %v, want ErrLocked", err)
	}
	if err := second.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := third.TryLock(ctx); err != nil {
		t.Fatalf("TryLock on a free lock: %v", err)
	}
}

// untilQueued waits until n keys exist under prefix, following creations and deletes.
func untilQueued(t *testing.T, ctx context.Context, c *cairn.Client, prefix string, n int64) {
	t.Helper()
	resp, err := c.Get(ctx, prefix, cairn.WithPrefix(), cairn.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	present := resp.Count
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := c.Watch(wctx, prefix, cairn.WithPrefix(), cairn.FromRevision(resp.Header.Revision+1))
	for present < n {
		w, ok := <-events
		if !ok || w.Err != nil {
			t.Fatalf("waiting for %d keys under %s: %v", n, prefix, w.Err)
		}
		for _, e := range w.Events {
			switch {
			case e.Type == cairn.EventDelete:
				present--
			case e.KV.Version == 1:
				present++
			}
		}
	}
}

// testElection: one leader at a time; resigning and a lost session hand over; Observe
// sees every leader and value in order.
func testElection(t *testing.T, cluster *testcluster.Cluster) {
	ctx := timeout(t, testBound)
	var clients []*cairn.Client
	var elections []*cairn.Election
	var sessions []*cairn.Session
	for range 3 {
		c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()})
		s, err := cairn.NewSession(ctx, c, cairn.WithTTL(10))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		clients, sessions = append(clients, c), append(sessions, s)
		elections = append(elections, cairn.NewElection(s, "e"))
	}
	a, b, c := elections[0], elections[1], elections[2]
	if l, err := a.Leader(ctx); err != nil || l != nil {
		t.Fatalf("leader before any campaign: %+v %v", l, err)
	}
	octx, stopObserving := context.WithCancel(ctx)
	defer stopObserving()
	observed := clients[2].ObserveLeader(octx, "e")

	if _, err := a.Campaign(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	won := make(chan error, 2)
	go func() { _, err := b.Campaign(ctx, "b"); won <- err }()
	untilQueued(t, ctx, clients[2], "e/", 2)
	if l, err := b.Leader(ctx); err != nil || l == nil || string(l.Value) != "a" || l.Key != a.Key() {
		t.Fatalf("leader while a leads: %+v %v", l, err)
	}
	select {
	case <-won:
		t.Fatal("b won while a leads")
	default:
	}
	if err := a.Proclaim(ctx, "a2"); err != nil {
		t.Fatal(err)
	}
	if err := a.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Proclaim(ctx, "a3"); !errors.Is(err, cairn.ErrNotLeader) {
		t.Fatalf("proclaim after resign: %v", err)
	}
	if err := <-won; err != nil {
		t.Fatal(err)
	}
	go func() { _, err := c.Campaign(ctx, "c"); won <- err }()
	untilQueued(t, ctx, clients[0], "e/", 2)
	if _, err := clients[0].Revoke(ctx, sessions[1].Lease()); err != nil { // b's session ends
		t.Fatal(err)
	}
	if err := <-won; err != nil {
		t.Fatal(err)
	}
	if err := b.Proclaim(ctx, "b2"); !errors.Is(err, cairn.ErrNotLeader) {
		t.Fatalf("proclaim by a candidate whose session ended: %v", err)
	}

	var values []string
	for len(values) < 4 {
		kv, ok := <-observed
		if !ok {
			t.Fatalf("observe ended after %v", values)
		}
		values = append(values, string(kv.Value))
	}
	if !slices.Equal(values, []string{"a", "a2", "b", "c"}) {
		t.Fatalf("observed leaders %v, want [a a2 b c]", values)
	}
}

// testDiscover: the live set, then a join, an orderly leave (Close) and a leave by lease
// end (as when the process dies), in order and from the next revision.
func testDiscover(t *testing.T, cluster *testcluster.Cluster) {
	c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()})
	other := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()})
	ctx := timeout(t, testBound)

	first, err := cairn.NewSession(ctx, other, cairn.WithTTL(10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Register(ctx, "svc/1", "10.0.0.1:80"); err != nil {
		t.Fatal(err)
	}
	found, err := c.Discover(ctx, "svc/")
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Services) != 1 || string(found.Services["svc/1"]) != "10.0.0.1:80" {
		t.Fatalf("services: %v", found.Services)
	}
	second, err := cairn.NewSession(ctx, other, cairn.WithTTL(10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Register(ctx, "svc/2", "10.0.0.2:80"); err != nil {
		t.Fatal(err)
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Revoke(ctx, first.Lease()); err != nil {
		t.Fatal(err)
	}
	var got []string
	last := found.Revision
	for len(got) < 3 {
		ch, ok := <-found.Changes
		if !ok {
			t.Fatalf("changes ended after %v: %v", got, found.Err())
		}
		if ch.Revision <= last {
			t.Fatalf("change %+v not after revision %d", ch, last)
		}
		last = ch.Revision
		got = append(got, ch.Type.String()+" "+ch.Key+" "+string(ch.Value))
	}
	want := []string{"join svc/2 10.0.0.2:80", "leave svc/2 10.0.0.2:80", "leave svc/1 10.0.0.1:80"}
	if !slices.Equal(got, want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
}
