package cairn

import (
	"context"
	"encoding/json"
	"fmt"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc/codes"
)

// GetConfig reads key linearizably and decodes its JSON value into a T. It returns the
// value and the revision that last modified the key. A missing key gives an error matching
// ErrKeyNotFound; a value that is not valid JSON for T gives the json error.
func GetConfig[T any](ctx context.Context, c *Client, key string) (T, int64, error) {
	var zero T
	resp, err := c.Get(ctx, key)
	if err != nil {
		return zero, 0, err
	}
	if len(resp.Kvs) == 0 {
		return zero, 0, &Error{code: codes.NotFound, CairnCode: cairnv1.ErrorCode_ERROR_CODE_KEY_NOT_FOUND, Message: fmt.Sprintf("key %q does not exist", key)}
	}
	kv := resp.Kvs[0]
	v, err := decode[T](kv)
	return v, kv.ModRevision, err
}

// ConfigUpdate is one version of a configuration value delivered by WatchConfig.
type ConfigUpdate[T any] struct {
	// Value is the decoded value; the zero T when Deleted or Err is set.
	Value T
	// Revision is the revision that wrote this version (or deleted the key).
	Revision int64
	// Deleted is true when the key was deleted.
	Deleted bool
	// Err is a decoding error for this version (the watch goes on), or, on the last
	// update before the channel closes, the error that ended the watch.
	Err error
}

// WatchConfig delivers every version of the JSON configuration at key, decoded into a T:
// first the current one (if the key exists), then each change. A version that does not
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
		if len(resp.Kvs) > 0 {
			kv := resp.Kvs[0]
			v, err := decode[T](kv)
			if !send(ConfigUpdate[T]{Value: v, Revision: kv.ModRevision, Err: err}) {
				return
			}
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
