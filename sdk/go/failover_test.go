package cairn_test

import (
	"testing"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
)

// TestFailover kills the member a client is using (the leader, so the others also answer
// NO_LEADER for a while): reads and writes go on through the other members.
func TestFailover(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	leader := cluster.WaitLeader(testcluster.LeaderWait)
	all := cluster.Endpoints()
	c := newClient(t, cairn.Config{Endpoints: append([]string{leader.Address}, others(all, leader.Address)...)})
	ctx := timeout(t, testBound)
	if c.Endpoint() != leader.Address {
		t.Fatalf("client uses %s, want the first endpoint %s", c.Endpoint(), leader.Address)
	}
	before, err := c.Put(ctx, "f/before", "1")
	if err != nil {
		t.Fatal(err)
	}

	leader.Kill()
	// The read notices the dead member and moves on.
	if got := get(t, ctx, c, "f/before"); got != "1" {
		t.Errorf("read after the kill = %q", got)
	}
	if c.Endpoint() == leader.Address {
		t.Errorf("client still uses the killed member %s", leader.Address)
	}
	after, err := c.Put(ctx, "f/after", "2")
	if err != nil {
		t.Fatalf("write after the kill: %v", err)
	}
	if after.Header.Revision <= before.Header.Revision {
		t.Errorf("write after the kill at revision %d, before it at %d", after.Header.Revision, before.Header.Revision)
	}

	// A client whose first endpoint is dead never reaches it, so even its first write is
	// safe to send elsewhere.
	fresh := newClient(t, cairn.Config{Endpoints: []string{leader.Address, others(all, leader.Address)[0]}})
	if _, err := fresh.Put(ctx, "f/fresh", "3"); err != nil {
		t.Fatalf("write through a client whose first member is dead: %v", err)
	}
	resp, err := fresh.GetPrefix(ctx, "f/")
	if err != nil || resp.Count != 3 {
		t.Fatalf("keys after failover: %+v, %v; want 3", resp, err)
	}

	// The killed member comes back and catches up.
	if err := leader.Restart(); err != nil {
		t.Fatal(err)
	}
	back := newClient(t, cairn.Config{Endpoints: []string{leader.Address}, DisableDiscovery: true})
	if got := get(t, ctx, back, "f/fresh"); got != "3" {
		t.Errorf("read from the restarted member = %q", got)
	}
}
