package cairn

import (
	"context"
	"encoding/json"
	"fmt"
)

// GetConfig reads key linearizably and decodes its JSON value into a T. It returns the
// value and the revision that last modified the key. A missing key is not an error, as
// with Get: the value is nil (and the revision 0), as in every Cairn SDK. A value that is
// not valid JSON for T gives the json error.
func GetConfig[T any](ctx context.Context, c *Client, key string) (*T, int64, error) {
	resp, err := c.Get(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, nil
	}
	kv := resp.Kvs[0]
	v, err := decode[T](kv)
	if err != nil {
		return nil, 0, err
	}
	return &v, kv.ModRevision, nil
}

// ConfigUpdate is one version of a configuration value delivered by WatchConfig.
type ConfigUpdate[T any] struct {
	// Value is the decoded value; the zero T when Deleted or Err is set.
	Value T
	// Revision is the revision that wrote this version (or deleted the key).
	Revision int64
	// Deleted is true when the key does not exist: it was deleted, or (on the first
	// update) it did not exist when the watch started.
	Deleted bool
	// Err is a decoding error for this version (the watch goes on), or, on the last
	// update before the channel closes, the error that ended the watch.
	Err error
}

// WatchConfig delivers every version of the JSON configuration at key, decoded into a T:
// first the current one (Deleted when the key does not exist, as in the other SDKs), then
// each change. A version that does not
// decode is delivered with Err set and the watch goes on; a failure of the watch itself
// (see Client.Watch) is delivered with Err set and closes the channel. The channel is
// closed when ctx is done.
func WatchConfig[T any](ctx context.Context, c *Client, key string) <-chan ConfigUpdate[T] {
	out := make(chan ConfigUpdate[T])
	go func() {
		defer close(out)
		send := func(u ConfigUpdate[T]) bool {
			select {
			case out <- u:
				return true
			case <-ctx.Done():
				return false
			}
		}
		resp, err := c.Get(ctx, key)
		if err != nil {
			if ctx.Err() == nil {
				send(ConfigUpdate[T]{Err: err})
			}
			return
		}
		first := ConfigUpdate[T]{Revision: resp.Header.Revision, Deleted: true}
		if len(resp.Kvs) > 0 {
			kv := resp.Kvs[0]
			first = ConfigUpdate[T]{Revision: kv.ModRevision}
			first.Value, first.Err = decode[T](kv)
		}
		if !send(first) {
			return
		}
		for wr := range c.Watch(ctx, key, FromRevision(resp.Header.Revision+1)) {
			if wr.Err != nil {
				send(ConfigUpdate[T]{Err: wr.Err})
				return
			}
			for _, e := range wr.Events {
				u := ConfigUpdate[T]{Revision: e.KV.ModRevision, Deleted: e.Type == EventDelete}
				if !u.Deleted {
					u.Value, u.Err = decode[T](e.KV)
				}
				if !send(u) {
					return
				}
			}
		}
	}()
	return out
}

func decode[T any](kv KeyValue) (T, error) {
	var v T
	if err := json.Unmarshal(kv.Value, &v); err != nil {
		return v, fmt.Errorf("cairn: decoding %q at revision %d: %w", kv.Key, kv.ModRevision, err)
	}
	return v, nil
}
