package cairn

import (
	"context"
	"errors"
	"sync"
)

// ErrLocked is returned by TryLock when another session holds the lock.
var ErrLocked = errors.New("cairn: the lock is held by another session")

// Mutex is a distributed lock held through a session (etcd's concurrency.Mutex layout):
// its key is <name>/<lease id hex>, and the key with the lowest create revision under
// <name>/ holds the lock.
//
// The fencing token is the create revision of the holder's key: every later holder gets a
// larger one. A holder whose session was lost (paused past its TTL, say) no longer owns
// that key, so a write guarded by its token (Guard) is refused:
//
//	token, err := m.Lock(ctx)
//	resp, err := m.Txn(ctx).Then(cairn.OpPut("db/x", "1")).Commit() // Txn(ctx).If(m.Guard())
//	// resp.Succeeded is false if the lock was lost meanwhile
type Mutex struct {
	s      *Session
	prefix string
	key    string

	mu    sync.Mutex
	token int64
}

// NewMutex returns the lock called name, to be held through s.
func NewMutex(s *Session, name string) *Mutex {
	prefix := name + "/"
	return &Mutex{s: s, prefix: prefix, key: queueKey(prefix, s)}
}

// Key is this session's key in the lock's queue.
func (m *Mutex) Key() string { return m.key }

// Token is the fencing token while the lock is held (the create revision of Key), 0
// otherwise.
func (m *Mutex) Token() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.token
}

// Lock waits until the session holds the lock and returns the fencing token. When ctx
// ends first, or the session is lost (ErrSessionLost), it leaves the queue and fails.
func (m *Mutex) Lock(ctx context.Context) (int64, error) {
	rev, _, err := enqueue(ctx, m.s, m.key, "")
	if err != nil {
		return 0, err
	}
	if err := waitTurn(ctx, m.s, m.prefix, m.key, rev); err != nil {
		leaveQueue(m.s, m.key)
		return 0, err
	}
	m.setToken(rev)
	return rev, nil
}

// TryLock takes the lock if nobody holds it and returns the token; otherwise it leaves no
// queue entry behind and fails with ErrLocked.
func (m *Mutex) TryLock(ctx context.Context) (int64, error) {
	rev, _, err := enqueue(ctx, m.s, m.key, "")
	if err != nil {
		return 0, err
	}
	holder, err := m.Holder(ctx)
	if err != nil {
		leaveQueue(m.s, m.key)
		return 0, err
	}
	if holder == nil || holder.Key != m.key {
		leaveQueue(m.s, m.key)
		return 0, ErrLocked
	}
	m.setToken(rev)
	return rev, nil
}

// Holder returns the key of the current holder (its create revision is its token), or
// nil when the lock is free.
func (m *Mutex) Holder(ctx context.Context) (*KeyValue, error) {
	resp, err := m.s.c.Get(ctx, m.prefix, WithPrefix(), WithKeysOnly(), WithSort(SortByCreateRevision, SortAscend), WithLimit(1))
	if err != nil || len(resp.Kvs) == 0 {
		return nil, err
	}
	return &resp.Kvs[0], nil
}

// Guard is the compare that holds only while this session still owns the lock with the
// token Lock returned, for Txn(ctx).If(m.Guard()). While the lock is not held it never
// holds.
func (m *Mutex) Guard() Cmp {
	token := m.Token()
	if token == 0 {
		return CreateRevision(m.key).Equal(notHeld)
	}
	return CreateRevision(m.key).Equal(token)
}

// Txn starts a transaction with Guard already among its compares: its Then operations
// apply only while this session still holds the lock.
func (m *Mutex) Txn(ctx context.Context) *Txn { return m.s.c.Txn(ctx).If(m.Guard()) }

// notHeld is a create revision no key has: the guard of a mutex not held never holds.
const notHeld = -1

// Unlock releases the lock (deletes the session's key) so the next waiter gets it.
func (m *Mutex) Unlock(ctx context.Context) error {
	m.setToken(0)
	_, err := m.s.c.Delete(ctx, m.key)
	return err
}

func (m *Mutex) setToken(t int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.token = t
}
