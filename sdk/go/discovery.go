package cairn

import (
	"context"
	"sync"
)

// ChangeType says what happened to a registered service.
type ChangeType int

// Change types.
const (
	// ServiceJoin: a key appeared under the prefix, or got a new value.
	ServiceJoin ChangeType = iota + 1
	// ServiceLeave: a key vanished (deregistered, or its session's lease ended).
	ServiceLeave
)

// String returns "join" or "leave".
func (t ChangeType) String() string {
	switch t {
	case ServiceJoin:
		return "join"
	case ServiceLeave:
		return "leave"
	}
	return "unknown"
}

// ServiceChange is one change to the set of services under a prefix.
type ServiceChange struct {
	Type ChangeType
	Key  string
	// Value is the new value; for a leave, the last value known.
	Value    []byte
	Revision int64
}

// Discovery is the set of services registered under a prefix (Session.Register): the
// live set at Revision, then every change from Revision+1 on Changes, with no gap and no
// duplicate.
type Discovery struct {
	// Services is the live set at Revision: key to value. It is not updated: apply Changes.
	Services map[string][]byte
	// Revision is the revision Members was read at.
	Revision int64
	// Changes delivers joins and leaves in revision order. It is closed when the
	// context given to Discover is done, or the watch fails for good (see Err).
	Changes <-chan ServiceChange

	mu  sync.Mutex
	err error
}

// Err is why Changes was closed, when it was not the context: a watch that failed for
// good (its position compacted).
func (d *Discovery) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Discover reads the services registered under prefix (Session.Register) and follows
// them until ctx is done.
func (c *Client) Discover(ctx context.Context, prefix string) (*Discovery, error) {
	current, err := c.Get(ctx, prefix, WithPrefix())
	if err != nil {
		return nil, err
	}
	ch := make(chan ServiceChange)
	d := &Discovery{Services: map[string][]byte{}, Revision: current.Header.Revision, Changes: ch}
	known := map[string][]byte{} // the live set as of the last change sent
	for _, kv := range current.Kvs {
		d.Services[kv.Key] = kv.Value
		known[kv.Key] = kv.Value
	}
	events := c.Watch(ctx, prefix, WithPrefix(), FromRevision(d.Revision+1))
	go func() {
		defer close(ch)
		for resp := range events {
			if resp.Err != nil {
				d.mu.Lock()
				d.err = resp.Err
				d.mu.Unlock()
				return
			}
			for _, ev := range resp.Events {
				change := ServiceChange{Type: ServiceJoin, Key: ev.KV.Key, Value: ev.KV.Value, Revision: ev.KV.ModRevision}
				if ev.Type == EventDelete {
					change.Type, change.Value = ServiceLeave, known[ev.KV.Key]
					delete(known, ev.KV.Key)
				} else {
					known[ev.KV.Key] = ev.KV.Value
				}
				select {
				case ch <- change:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return d, nil
}
