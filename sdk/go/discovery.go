package cairn

import (
	"context"
	"sync"
)

// ChangeKind says what happened to a registered service.
type ChangeKind int

// Change kinds.
const (
	// ServiceJoin: a key appeared under the prefix.
	ServiceJoin ChangeKind = iota + 1
	// ServiceUpdate: a registered key got a new value.
	ServiceUpdate
	// ServiceLeave: a key vanished (deregistered, or its session's lease ended).
	ServiceLeave
)

// String returns "join", "update" or "leave".
func (k ChangeKind) String() string {
	switch k {
	case ServiceJoin:
		return "join"
	case ServiceUpdate:
		return "update"
	case ServiceLeave:
		return "leave"
	}
	return "unknown"
}

// ServiceChange is one change to the set of services under a prefix.
type ServiceChange struct {
	Kind ChangeKind
	Key  string
	// Value is the new value; for a leave, the last value known.
	Value    []byte
	Revision int64
}

// Discovery is the set of services registered under a prefix (Session.Register): the
// live set at Revision, then every change from Revision+1 on Changes, with no gap and no
// duplicate.
type Discovery struct {
	// Members is the live set at Revision, by key. It is not updated: apply Changes.
	Members map[string]KeyValue
	// Revision is the revision Members was read at.
	Revision int64
	// Changes delivers joins, updates and leaves in revision order. It is closed when the
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

// Discover reads the services registered under prefix and follows them until ctx is done.
func Discover(ctx context.Context, c *Client, prefix string) (*Discovery, error) {
	current, err := c.Get(ctx, prefix, WithPrefix())
	if err != nil {
		return nil, err
	}
	ch := make(chan ServiceChange)
	d := &Discovery{Members: map[string]KeyValue{}, Revision: current.Header.Revision, Changes: ch}
	known := map[string]KeyValue{}
	for _, kv := range current.Kvs {
		d.Members[kv.Key] = kv
		known[kv.Key] = kv
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
				change := ServiceChange{Key: ev.KV.Key, Value: ev.KV.Value, Revision: ev.KV.ModRevision}
				prev, present := known[ev.KV.Key]
				switch {
				case ev.Type == EventDelete:
					change.Kind, change.Value = ServiceLeave, prev.Value
					delete(known, ev.KV.Key)
				case present:
					change.Kind = ServiceUpdate
					known[ev.KV.Key] = ev.KV
				default:
					change.Kind = ServiceJoin
					known[ev.KV.Key] = ev.KV
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
