package cairn

import (
	"context"
	"fmt"
	"strconv"
)

// The wait queue that Mutex and Election share (etcd's layout): each session owns the key
// <name>/<lease id in lowercase hex>; the owner of the key with the lowest create revision
// holds the lock (leads). A waiter watches only the key just ahead of it, so a release
// wakes one waiter, not the whole queue.

// queueKey is the session's key under prefix.
func queueKey(prefix string, s *Session) string {
	return prefix + strconv.FormatInt(int64(s.Lease()), 16)
}

// enqueue creates key bound to the session's lease unless it exists (this session queued
// already); it returns the key's create revision and current value.
func enqueue(ctx context.Context, s *Session, key, val string) (int64, []byte, error) {
	if err := s.Err(); err != nil {
		return 0, nil, err
	}
	resp, err := s.c.Txn(ctx).
		If(CreateRevision(key).Equal(0)).
		Then(OpPut(key, val, WithLease(s.Lease()))).
		Else(OpGet(key)).
		Commit()
	if err != nil {
		return 0, nil, err
	}
	if resp.Succeeded {
		return resp.Header.Revision, []byte(val), nil
	}
	kvs := resp.Responses[0].Get.Kvs
	if len(kvs) == 0 {
		return 0, nil, fmt.Errorf("%w: queue key %q vanished", ErrSessionLost, key)
	}
	return kvs[0].CreateRevision, kvs[0].Value, nil
}

// waitTurn returns once key (created at rev) is the oldest key under prefix. It fails with
// ErrSessionLost when the key disappears or the session ends, or with ctx's error.
func waitTurn(ctx context.Context, s *Session, prefix, key string, rev int64) error {
	for {
		if err := s.Err(); err != nil {
			return ErrSessionLost
		}
		queue, err := s.c.Get(ctx, prefix, WithPrefix(), WithKeysOnly(), WithSort(SortByCreateRevision, SortAscend))
		if err != nil {
			return err
		}
		var ahead *KeyValue
		mine := false
		for i, kv := range queue.Kvs {
			if kv.Key == key {
				mine = true
			}
			if kv.CreateRevision < rev {
				ahead = &queue.Kvs[i]
			}
		}
		if !mine {
			return fmt.Errorf("%w: queue key %q was deleted", ErrSessionLost, key)
		}
		if ahead == nil {
			return nil
		}
		if err := waitDeleted(ctx, s, ahead.Key, queue.Header.Revision+1); err != nil {
			return err
		}
	}
}

// waitDeleted waits for the delete of key from revision from on.
func waitDeleted(ctx context.Context, s *Session, key string, from int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := s.c.Watch(wctx, key, FromRevision(from))
	for {
		select {
		case resp, ok := <-events:
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errClosed
			}
			if resp.Err != nil {
				return resp.Err
			}
			for _, e := range resp.Events {
				if e.Type == EventDelete {
					return nil
				}
			}
		case <-s.Done():
			return ErrSessionLost
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// leaveQueue deletes key after a failed or abandoned wait, unless the session is gone
// (the key goes with its lease).
func leaveQueue(s *Session, key string) {
	if s.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.c.cfg.CallTimeout)
	defer cancel()
	_, _ = s.c.Delete(ctx, key) // best effort: the key still goes with the session's lease
}
