package cairn

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultSessionTTL is a session's lease TTL in seconds unless WithTTL says otherwise.
const DefaultSessionTTL = 60

// ErrSessionLost is returned by recipes whose session's lease is gone (expired, revoked,
// or not renewable in time): every key bound to it has been or will be deleted.
var ErrSessionLost = errors.New("cairn: the session's lease is lost")

// errSessionClosed is Session.Err after Close.
var errSessionClosed = errors.New("cairn: the session is closed")

// Session is a lease kept alive in the background, the basis of ephemeral keys
// (Register), Mutex and Election (etcd's concurrency layout, so recipes interoperate).
// Done is closed when the lease is lost or the session closed; Close revokes the lease.
type Session struct {
	c      *Client
	id     LeaseID
	ttl    int64
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	err    error // ErrSessionLost or errSessionClosed once Done is closed
	closed bool
}

// SessionOption configures NewSession.
type SessionOption func(*sessionOp)

type sessionOp struct {
	ttl   int64
	lease LeaseID
}

// WithTTL sets the session's lease TTL in seconds (default DefaultSessionTTL).
func WithTTL(seconds int64) SessionOption { return func(o *sessionOp) { o.ttl = seconds } }

// WithSessionLease adopts an existing lease instead of granting one.
func WithSessionLease(id LeaseID) SessionOption { return func(o *sessionOp) { o.lease = id } }

// NewSession grants a lease (unless WithSessionLease) and keeps it alive, renewing about
// every TTL/3 through whichever member answers, until Close or until the lease is lost:
// the cluster answers that it does not exist, or no member renewed it before it would
// have expired.
func NewSession(ctx context.Context, c *Client, opts ...SessionOption) (*Session, error) {
	o := sessionOp{ttl: DefaultSessionTTL}
	for _, f := range opts {
		f(&o)
	}
	s := &Session{c: c, id: o.lease, ttl: o.ttl, done: make(chan struct{})}
	var known time.Duration
	if s.id == 0 {
		// Granted again when a leader change leaves the outcome unknown: a session started
		// during an election should not fail for it (a repeat's unused lease just expires).
		g, err := c.grant(ctx, o.ttl, leaseOp{}, unsafeWriteCall)
		if err != nil {
			return nil, err
		}
		s.id, s.ttl = g.ID, g.TTL
		known = time.Duration(g.TTL) * time.Second
	}
	kctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		_ = c.keepAlive(kctx, s.id, known, func(LeaseKeepAliveResponse) {})
		s.finish(ErrSessionLost)
	}()
	return s, nil
}

// finish closes Done with err unless it is closed already.
func (s *Session) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if s.closed {
		err = errSessionClosed
	}
	s.err = err
	close(s.done)
}

// Client returns the client the session uses.
func (s *Session) Client() *Client { return s.c }

// Lease returns the session's lease id.
func (s *Session) Lease() LeaseID { return s.id }

// TTL returns the lease's granted TTL in seconds.
func (s *Session) TTL() int64 { return s.ttl }

// Done is closed when the session ends: its lease was lost, or Close was called.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is nil while the session lives, ErrSessionLost after its lease was lost, and a
// "closed" error after Close.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Register puts key bound to the session's lease: an ephemeral key, deleted when the
// session ends (closed, or its process dies and the lease expires).
func (s *Session) Register(ctx context.Context, key, val string) (*PutResponse, error) {
	if err := s.Err(); err != nil {
		return nil, err
	}
	return s.c.Put(ctx, key, val, WithLease(s.id))
}

// Close stops renewing and revokes the lease, deleting every key bound to it. A lease
// already gone is not an error, nor is any failure to revoke once the session was lost.
func (s *Session) Close() error {
	s.mu.Lock()
	lost := s.err != nil
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), s.c.cfg.CallTimeout)
	defer cancel()
	// After a loss the revoke is best effort: the lease is gone, or no member could be
	// reached (and the lease may outlive the session by its TTL).
	if _, err := s.c.Revoke(ctx, s.id); err != nil && !errors.Is(err, ErrLeaseNotFound) && !lost {
		return err
	}
	return nil
}
