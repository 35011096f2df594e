package cairn

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
)

// Backoff between failover attempts: it starts at backoffBase and doubles up to backoffCap.
const (
	backoffBase = 50 * time.Millisecond
	backoffCap  = time.Second
)

// Client is a connection to a Cairn cluster. It is safe for concurrent use. Close it when
// done.
type Client struct {
	cfg Config

	mu        sync.Mutex
	endpoints []string
	current   int
	conns     map[string]*grpc.ClientConn
	closed    bool

	// creds and secure are the transport the config asks for; tokens is nil without a user.
	creds  credentials.TransportCredentials
	secure bool
	tokens *tokenSource
}

// New connects to the cluster described by cfg. It reaches one member (bounded by ctx and
// DialTimeout per member) and, unless discovery is disabled, adds every member returned by
// MemberList to the endpoints. It fails when no endpoint answers.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.WatchProbeInterval <= 0 {
		cfg.WatchProbeInterval = DefaultWatchProbe
	}
	c := &Client{cfg: cfg, endpoints: cfg.endpoints(), conns: map[string]*grpc.ClientConn{}}
	var err error
	if c.creds, c.secure, err = cfg.transportCredentials(); err != nil {
		return nil, &Error{code: codes.InvalidArgument, Message: err.Error(), cause: err}
	}
	user, password, ok, err := cfg.userCredentials()
	if err != nil {
		return nil, &Error{code: codes.InvalidArgument, Message: err.Error(), cause: err}
	}
	if ok {
		c.tokens = &tokenSource{user: user, password: password}
	}
	if cfg.DisableDiscovery {
		err = c.invoke(ctx, readCall, func(ctx context.Context, cc *grpc.ClientConn) error {
			_, err := cairnv1.NewMaintenanceServiceClient(cc).Status(ctx, &cairnv1.StatusRequest{})
			return err
		})
	} else {
		_, err = c.MemberList(ctx)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Member is one member of the cluster.
type Member struct {
	ID      uint64
	Name    string
	Address string
}

// Sync is MemberList.
//
// Deprecated: use MemberList, the name every Cairn SDK shares.
func (c *Client) Sync(ctx context.Context) ([]Member, error) { return c.MemberList(ctx) }

// MemberList asks the cluster for its members (the MemberList RPC) and adds their
// addresses to the client's endpoints, for failover. It returns the members.
func (c *Client) MemberList(ctx context.Context) ([]Member, error) {
	var resp *cairnv1.MemberListResponse
	err := c.invoke(ctx, readCall, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewClusterServiceClient(cc).MemberList(ctx, &cairnv1.MemberListRequest{})
		return err
	})
	if err != nil {
		return nil, err
	}
	members := make([]Member, 0, len(resp.GetMembers()))
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range resp.GetMembers() {
		members = append(members, Member{ID: m.GetId(), Name: m.GetName(), Address: m.GetAddress()})
		if m.GetAddress() != "" {
			c.endpoints = dedupe(append(c.endpoints, m.GetAddress()))
		}
	}
	return members, nil
}

// Endpoints returns every endpoint the client knows, configured and discovered.
func (c *Client) Endpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.endpoints...)
}

// Endpoint returns the member the client currently sends requests to.
func (c *Client) Endpoint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endpoints[c.current]
}

// Close closes every connection. Calls in flight fail; watches end.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for ep, cc := range c.conns {
		errs = append(errs, cc.Close())
		delete(c.conns, ep)
	}
	return errors.Join(errs...)
}

// errClosed is returned by calls on a closed client.
var errClosed = &Error{code: codes.Canceled, Message: "client is closed"}

// pick returns the current endpoint and its connection, creating the connection lazily.
func (c *Client) pick() (string, *grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", nil, errClosed
	}
	ep := c.endpoints[c.current]
	if cc, ok := c.conns[ep]; ok {
		return ep, cc, nil
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(c.creds),
		// Client spans and W3C trace context in the metadata, through the global
		// OpenTelemetry providers: no-ops unless the application set them up.
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: c.cfg.DialTimeout,
		}),
	}
	if c.tokens != nil {
		opts = append(opts, grpc.WithChainUnaryInterceptor(c.tokens.unary), grpc.WithChainStreamInterceptor(c.tokens.stream))
	}
	cc, err := grpc.NewClient(ep, opts...)
	if err != nil {
		return ep, nil, &Error{code: codes.InvalidArgument, Message: err.Error(), Endpoint: ep, cause: err}
	}
	c.conns[ep] = cc
	return ep, cc, nil
}

// failover moves the client off ep, if it still uses ep. The connection to ep is kept:
// gRPC reconnects it in the background, and other streams may still use it.
func (c *Client) failover(ep string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endpoints[c.current] == ep {
		c.current = (c.current + 1) % len(c.endpoints)
	}
}

// waitReady waits until cc is connected, for at most DialTimeout. An error means no
// request was sent to the member.
func (c *Client) waitReady(ctx context.Context, ep string, cc *grpc.ClientConn) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	cc.Connect()
	attempted := false
	for {
		s := cc.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.Connecting:
			attempted = true
		case connectivity.TransientFailure:
			if attempted {
				return &Error{code: codes.Unavailable, Message: "cannot connect; " + connectHint(c.secure), Endpoint: ep}
			}
		case connectivity.Shutdown:
			return &Error{code: codes.Unavailable, Message: "connection closed", Endpoint: ep}
		case connectivity.Idle:
			cc.Connect()
		}
		if !cc.WaitForStateChange(ctx, s) {
			return &Error{code: codes.Unavailable, Message: "connect timed out; " + connectHint(c.secure), Endpoint: ep, cause: ctx.Err()}
		}
	}
}

// callKind says whether a call may be retried after an unknown outcome.
type callKind int

const (
	// readCall has no effect and is always safe to retry.
	readCall callKind = iota
	// writeCall is retried only when it is known not to have been applied.
	writeCall
	// unsafeWriteCall is a write the caller allowed to be retried even when it may have
	// applied (WithRetryUnsafe).
	unsafeWriteCall
)

// attemptFunc runs one attempt on a connected member.
type attemptFunc func(ctx context.Context, cc *grpc.ClientConn) error

// withDeadline applies CallTimeout when ctx has no deadline.
func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.cfg.CallTimeout)
}

// minAttemptTimeout is the least time a read attempt gets before the deadline is split.
const minAttemptTimeout = 500 * time.Millisecond

// attemptContext bounds one attempt. A call that is safe to retry (a read, or a write with
// WithRetryUnsafe) gets half of the time left when other members exist, so that a member
// that hangs (a stopped process, a dead host whose connection has not broken yet) leaves
// time to ask another, as in the other SDKs. Other writes get the whole deadline:
// abandoning one would leave its outcome unknown.
func (c *Client) attemptContext(ctx context.Context, kind callKind) (context.Context, context.CancelFunc) {
	c.mu.Lock()
	members := len(c.endpoints)
	c.mu.Unlock()
	deadline, ok := ctx.Deadline()
	if kind == writeCall || members < 2 || !ok {
		return context.WithCancel(ctx)
	}
	share := time.Until(deadline) / 2
	if share < minAttemptTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, share)
}

// invoke runs fn on the current member, failing over and retrying as kind allows until it
// succeeds, fails for good, or the deadline passes.
func (c *Client) invoke(ctx context.Context, kind callKind, fn attemptFunc) error {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	var last *Error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoffDelay(attempt)); err != nil {
				return finalError(last, err)
			}
		}
		ep, cc, err := c.pick()
		if err != nil {
			return toError(err, ep)
		}
		if err := c.waitReady(ctx, ep, cc); err != nil {
			if ctx.Err() != nil {
				return finalError(last, ctx.Err())
			}
			// Never connected: nothing was sent, so any call may go elsewhere.
			last = toError(err, ep)
			c.failover(ep)
			continue
		}
		actx, acancel := c.attemptContext(ctx, kind)
		err = fn(actx, cc)
		acancel()
		if err == nil {
			return nil
		}
		e := toError(err, ep)
		if ctx.Err() != nil {
			return finalError(e, ctx.Err())
		}
		if !retryable(e, kind) {
			return e
		}
		last = e
		c.failover(ep)
	}
}

// retryable reports whether a call of the given kind may be retried on another member
// after failing with e (the call's own deadline has not passed).
func retryable(e *Error, kind callKind) bool {
	switch e.CairnCode {
	case cairnv1.ErrorCode_ERROR_CODE_NO_LEADER, cairnv1.ErrorCode_ERROR_CODE_STOPPING:
		// Not applied: safe for every call.
		return true
	case cairnv1.ErrorCode_ERROR_CODE_TIMEOUT, cairnv1.ErrorCode_ERROR_CODE_LEADER_CHANGED:
		// Outcome unknown.
		return kind != writeCall
	case cairnv1.ErrorCode_ERROR_CODE_UNSPECIFIED:
		// The transport failed, the connection was closed under the call, or the attempt
		// ran out of its share of the deadline; a write may have reached the member.
		switch e.code {
		case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
			return kind != writeCall
		}
	}
	return false
}

// finalError returns the last attempt's error, noting that the deadline ended retrying, or
// the context error when there was no attempt.
func finalError(last *Error, ctxErr error) *Error {
	if last == nil {
		return toError(ctxErr, "")
	}
	e := *last
	if e.cause == nil || !errors.Is(e.cause, ctxErr) {
		e.cause = errors.Join(e.cause, ctxErr)
	}
	return &e
}

// backoffDelay is the jittered, capped exponential delay before retry number attempt (>= 1).
func backoffDelay(attempt int) time.Duration {
	d := backoffBase << min(attempt-1, 10)
	d = min(d, backoffCap)
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
