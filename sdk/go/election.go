package cairn

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrNotLeader is returned by Proclaim when the candidate does not lead (it never won,
// resigned, or its session was lost).
var ErrNotLeader = errors.New("cairn: not the leader")

// Election is a leader election held through a session (etcd's concurrency.Election
// layout): candidates queue under <name>/<lease id hex> with their value, and the one
// whose key has the lowest create revision leads until it resigns or its session ends.
type Election struct {
	s      *Session
	prefix string
	key    string

	mu  sync.Mutex
	rev int64 // create revision of key while leading (a fencing token), else 0
}

// NewElection returns the election called name, to campaign in through s.
func NewElection(s *Session, name string) *Election {
	prefix := name + "/"
	return &Election{s: s, prefix: prefix, key: queueKey(prefix, s)}
}

// Key is this candidate's key in the election's queue.
func (e *Election) Key() string { return e.key }

// Rev is the create revision of Key while leading (usable as a fencing token), 0 otherwise.
func (e *Election) Rev() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rev
}

// Campaign waits until this candidate leads, with val as the leader's value, and returns
// its revision. When ctx ends first, or the session is lost (ErrSessionLost), it
// withdraws and fails.
func (e *Election) Campaign(ctx context.Context, val string) (int64, error) {
	rev, current, err := enqueue(ctx, e.s, e.key, val)
	if err != nil {
		return 0, err
	}
	if string(current) != val {
		if err := e.putIfOwner(ctx, rev, val); err != nil {
			leaveQueue(e.s, e.key)
			return 0, err
		}
	}
	if err := waitTurn(ctx, e.s, e.prefix, e.key, rev); err != nil {
		leaveQueue(e.s, e.key)
		return 0, err
	}
	e.mu.Lock()
	e.rev = rev
	e.mu.Unlock()
	return rev, nil
}

// Proclaim sets the leader's value, only while this candidate still leads.
func (e *Election) Proclaim(ctx context.Context, val string) error {
	rev := e.Rev()
	if rev == 0 {
		return ErrNotLeader
	}
	return e.putIfOwner(ctx, rev, val)
}

func (e *Election) putIfOwner(ctx context.Context, rev int64, val string) error {
	resp, err := e.s.c.Txn(ctx).
		If(CreateRevision(e.key).Equal(rev)).
		Then(OpPut(e.key, val, WithLease(e.s.Lease()))).
		Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		e.mu.Lock()
		e.rev = 0
		e.mu.Unlock()
		return fmt.Errorf("%w: %s is no longer this candidate's", ErrNotLeader, e.key)
	}
	return nil
}

// Resign steps down (or withdraws): it deletes this candidate's key if it is still its own.
func (e *Election) Resign(ctx context.Context) error {
	e.mu.Lock()
	rev := e.rev
	e.rev = 0
	e.mu.Unlock()
	if rev == 0 {
		_, err := e.s.c.Delete(ctx, e.key)
		return err
	}
	_, err := e.s.c.Txn(ctx).If(CreateRevision(e.key).Equal(rev)).Then(OpDelete(e.key)).Commit()
	return err
}

// Leader returns the current leader's key and value, or nil when nobody leads.
func (e *Election) Leader(ctx context.Context) (*KeyValue, error) {
	return electionLeader(ctx, e.s.c, e.prefix)
}

func electionLeader(ctx context.Context, c *Client, prefix string) (*KeyValue, error) {
	resp, err := c.Get(ctx, prefix, WithPrefix(), WithSort(SortByCreateRevision, SortAscend), WithLimit(1))
	if err != nil || len(resp.Kvs) == 0 {
		return nil, err
	}
	return &resp.Kvs[0], nil
}

// Observe is Client.ObserveLeader for this election.
func (e *Election) Observe(ctx context.Context) <-chan KeyValue {
	return e.s.c.ObserveLeader(ctx, e.prefix[:len(e.prefix)-1])
}

// ObserveElection is ObserveLeader.
//
// Deprecated: use ObserveLeader, the name every Cairn SDK shares.
func (c *Client) ObserveElection(ctx context.Context, name string) <-chan KeyValue {
	return c.ObserveLeader(ctx, name)
}

// ObserveLeader delivers the leader of the election called name now (if any), then
// each new leader or new value of the leader, in revision order with nothing skipped (one
// watch on the whole queue). Like etcd's, it delivers nothing while nobody leads. The
// channel is closed when ctx is done or the watch fails for good (compaction past its
// position). It needs no session.
func (c *Client) ObserveLeader(ctx context.Context, name string) <-chan KeyValue {
	ch := make(chan KeyValue)
	prefix := name + "/"
	go func() {
		defer close(ch)
		current, err := c.Get(ctx, prefix, WithPrefix())
		if err != nil {
			return
		}
		queue := map[string]KeyValue{}
		for _, kv := range current.Kvs {
			queue[kv.Key] = kv
		}
		last := leaderOf(queue)
		if last != nil && !deliver(ctx, ch, *last) {
			return
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for resp := range c.Watch(wctx, prefix, WithPrefix(), FromRevision(current.Header.Revision+1)) {
			if resp.Err != nil {
				return
			}
			// A batch holds whole revisions: the leader is judged after each, so a
			// revision that removes several candidates at once shows no passing state.
			for i, ev := range resp.Events {
				if ev.Type == EventPut {
					queue[ev.KV.Key] = ev.KV
				} else {
					delete(queue, ev.KV.Key)
				}
				if i+1 < len(resp.Events) && resp.Events[i+1].KV.ModRevision == ev.KV.ModRevision {
					continue
				}
				leader := leaderOf(queue)
				if leader != nil && leaderChanged(last, leader) {
					last = leader
					if !deliver(ctx, ch, *leader) {
						return
					}
				}
			}
		}
	}()
	return ch
}

func deliver(ctx context.Context, ch chan<- KeyValue, kv KeyValue) bool {
	select {
	case ch <- kv:
		return true
	case <-ctx.Done():
		return false
	}
}

func leaderOf(queue map[string]KeyValue) *KeyValue {
	var leader *KeyValue
	for _, kv := range queue {
		if leader == nil || kv.CreateRevision < leader.CreateRevision {
			kv := kv
			leader = &kv
		}
	}
	return leader
}

func leaderChanged(before, after *KeyValue) bool {
	return before == nil || before.Key != after.Key || before.ModRevision != after.ModRevision
}
