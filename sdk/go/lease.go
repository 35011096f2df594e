package cairn

import (
	"context"
	"errors"
	"fmt"
	"time"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// LeaseID identifies a lease. Keys attached to a lease (WithLease) are deleted when it
// expires or is revoked, all at one revision.
type LeaseID int64

// LeaseGrantResponse reports a granted lease.
type LeaseGrantResponse struct {
	Header Header
	ID     LeaseID
	// TTL is the granted time to live in seconds (raised to the cluster's minimum).
	TTL int64
}

// LeaseKeepAliveResponse reports one renewal.
type LeaseKeepAliveResponse struct {
	Header Header
	ID     LeaseID
	// TTL is the remaining time to live in seconds after the renewal; 0 or less means the
	// lease is gone.
	TTL int64
}

// LeaseTimeToLiveResponse describes a lease.
type LeaseTimeToLiveResponse struct {
	Header Header
	ID     LeaseID
	// TTL is the remaining time to live in seconds; -1 when the lease does not exist.
	TTL        int64
	GrantedTTL int64
	// Keys are the attached keys, when asked for with WithAttachedKeys.
	Keys []string
}

// LeaseOption configures a lease call.
type LeaseOption func(*leaseOp)

type leaseOp struct {
	id   LeaseID
	keys bool
}

// WithLeaseID asks Grant for a particular lease id instead of one chosen by the cluster.
func WithLeaseID(id LeaseID) LeaseOption { return func(o *leaseOp) { o.id = id } }

// WithAttachedKeys makes TimeToLive list the keys attached to the lease.
func WithAttachedKeys() LeaseOption { return func(o *leaseOp) { o.keys = true } }

func buildLeaseOp(opts []LeaseOption) leaseOp {
	var o leaseOp
	for _, f := range opts {
		f(&o)
	}
	return o
}

// ErrLeaseNotFound matches the error for a lease that does not exist (expired, revoked,
// or never granted).
var ErrLeaseNotFound = &Error{code: codes.NotFound, CairnCode: cairnv1.ErrorCode_ERROR_CODE_LEASE_NOT_FOUND}

// errLeaseGone ends a keep-alive whose lease the cluster no longer has.
var errLeaseGone = errors.New("cairn: the lease expired or was revoked")

// errLeaseUnreachable ends a keep-alive that could not renew the lease before it would
// have expired.
var errLeaseUnreachable = errors.New("cairn: no member renewed the lease before it would have expired")

// Grant creates a lease of ttl seconds. Option: WithLeaseID. A grant is a write: retried
// only when it cannot have been applied.
func (c *Client) Grant(ctx context.Context, ttl int64, opts ...LeaseOption) (*LeaseGrantResponse, error) {
	return c.grant(ctx, ttl, buildLeaseOp(opts), writeCall)
}

// grant is Grant with the retry policy chosen by the caller: NewSession grants again after
// an unknown outcome, since a repeat leaves at most an unused lease that expires by itself.
func (c *Client) grant(ctx context.Context, ttl int64, o leaseOp, kind callKind) (*LeaseGrantResponse, error) {
	var resp *cairnv1.LeaseGrantResponse
	err := c.invoke(ctx, kind, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewLeaseServiceClient(cc).LeaseGrant(ctx, &cairnv1.LeaseGrantRequest{Ttl: ttl, Id: int64(o.id)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &LeaseGrantResponse{Header: fromHeader(resp.GetHeader()), ID: LeaseID(resp.GetId()), TTL: resp.GetTtl()}, nil
}

// Revoke ends a lease at once; its keys are deleted at the revision in the returned
// header. An unknown lease gives an error matching ErrLeaseNotFound.
func (c *Client) Revoke(ctx context.Context, id LeaseID) (*Header, error) {
	var resp *cairnv1.LeaseRevokeResponse
	err := c.invoke(ctx, writeCall, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewLeaseServiceClient(cc).LeaseRevoke(ctx, &cairnv1.LeaseRevokeRequest{Id: int64(id)})
		return err
	})
	if err != nil {
		return nil, err
	}
	h := fromHeader(resp.GetHeader())
	return &h, nil
}

// TimeToLive describes a lease (TTL -1: it does not exist). Option: WithAttachedKeys.
func (c *Client) TimeToLive(ctx context.Context, id LeaseID, opts ...LeaseOption) (*LeaseTimeToLiveResponse, error) {
	o := buildLeaseOp(opts)
	var resp *cairnv1.LeaseTimeToLiveResponse
	err := c.invoke(ctx, readCall, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewLeaseServiceClient(cc).LeaseTimeToLive(ctx, &cairnv1.LeaseTimeToLiveRequest{Id: int64(id), Keys: o.keys})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &LeaseTimeToLiveResponse{Header: fromHeader(resp.GetHeader()), ID: LeaseID(resp.GetId()), TTL: resp.GetTtl(), GrantedTTL: resp.GetGrantedTtl()}
	for _, k := range resp.GetKeys() {
		out.Keys = append(out.Keys, string(k))
	}
	return out, nil
}

// Leases lists the ids of every live lease, ascending.
func (c *Client) Leases(ctx context.Context) ([]LeaseID, error) {
	var resp *cairnv1.LeaseLeasesResponse
	err := c.invoke(ctx, readCall, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewLeaseServiceClient(cc).LeaseLeases(ctx, &cairnv1.LeaseLeasesRequest{})
		return err
	})
	if err != nil {
		return nil, err
	}
	ids := make([]LeaseID, 0, len(resp.GetLeases()))
	for _, l := range resp.GetLeases() {
		ids = append(ids, LeaseID(l.GetId()))
	}
	return ids, nil
}

// KeepAliveOnce renews a lease once. A lease that is gone gives an error matching
// ErrLeaseNotFound. Renewing twice is harmless, so it is retried like a read.
func (c *Client) KeepAliveOnce(ctx context.Context, id LeaseID) (*LeaseKeepAliveResponse, error) {
	var resp *cairnv1.LeaseKeepAliveResponse
	err := c.invoke(ctx, readCall, func(ctx context.Context, cc *grpc.ClientConn) error {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := cairnv1.NewLeaseServiceClient(cc).LeaseKeepAlive(sctx)
		if err != nil {
			return err
		}
		if err := stream.Send(&cairnv1.LeaseKeepAliveRequest{Id: int64(id)}); err != nil {
			_, err = stream.Recv()
			return err
		}
		resp, err = stream.Recv()
		return err
	})
	if err != nil {
		return nil, err
	}
	if resp.GetTtl() <= 0 {
		return nil, &Error{code: codes.NotFound, CairnCode: cairnv1.ErrorCode_ERROR_CODE_LEASE_NOT_FOUND, Message: fmt.Sprintf("lease %x not found", id)}
	}
	return &LeaseKeepAliveResponse{Header: fromHeader(resp.GetHeader()), ID: LeaseID(resp.GetId()), TTL: resp.GetTtl()}, nil
}

// KeepAlive renews a lease about every third of its TTL until ctx is done or the lease is
// gone, and delivers each renewal on the returned channel. The channel is closed when
// renewing stops: ctx done, the cluster answered that the lease does not exist, or no
// member renewed it before it would have expired. A renewal the receiver is not ready for
// is dropped (the channel holds one), so a slow receiver never delays renewals.
func (c *Client) KeepAlive(ctx context.Context, id LeaseID) <-chan LeaseKeepAliveResponse {
	ch := make(chan LeaseKeepAliveResponse, 1)
	go func() {
		defer close(ch)
		_ = c.keepAlive(ctx, id, 0, func(r LeaseKeepAliveResponse) {
			select {
			case ch <- r:
			default:
			}
		})
	}()
	return ch
}

// minRenewInterval keeps renewals of the shortest leases from spinning.
const minRenewInterval = 100 * time.Millisecond

// keepAlive renews id until ctx is done (ctx.Err()), the lease is gone (errLeaseGone), no
// member renewed it before it would have expired (errLeaseUnreachable), or a member
// refused the request for good. ttl, when known (just granted), bounds the wait for the
// first renewal; 0 retries it until a member answers.
func (c *Client) keepAlive(ctx context.Context, id LeaseID, ttl time.Duration, renewed func(LeaseKeepAliveResponse)) error {
	var deadline time.Time // when the lease expires unless renewed; zero while unknown
	if ttl > 0 {
		deadline = time.Now().Add(ttl)
	}
	for attempt := 0; ; attempt++ {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return errLeaseUnreachable
		}
		if attempt > 0 {
			pause := backoffDelay(attempt)
			if !deadline.IsZero() {
				pause = min(pause, time.Until(deadline))
			}
			if err := sleep(ctx, pause); err != nil {
				return err
			}
		}
		ep, cc, err := c.pick()
		if err != nil {
			return err
		}
		if err := c.waitReady(ctx, ep, cc); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.failover(ep)
			continue
		}
		progressed, err := c.keepAliveStream(ctx, ep, cc, id, &deadline, renewed)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errLeaseGone) || isTerminal(err) {
			return err
		}
		if progressed {
			attempt = 0
		}
		c.failover(ep)
	}
}

// keepAliveStream renews id over one stream until it fails. A member that does not answer
// within CallTimeout, or before the lease would expire, counts as failed.
func (c *Client) keepAliveStream(ctx context.Context, ep string, cc *grpc.ClientConn, id LeaseID, deadline *time.Time, renewed func(LeaseKeepAliveResponse)) (progressed bool, err error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := cairnv1.NewLeaseServiceClient(cc).LeaseKeepAlive(sctx)
	if err != nil {
		return false, toError(err, ep)
	}
	req := &cairnv1.LeaseKeepAliveRequest{Id: int64(id)}
	for {
		sent := time.Now()
		if err := stream.Send(req); err != nil {
			_, err = stream.Recv()
			return progressed, toError(err, ep)
		}
		budget := c.cfg.CallTimeout
		if !deadline.IsZero() {
			budget = min(budget, deadline.Sub(sent))
		}
		timer := time.AfterFunc(budget, cancel)
		resp, err := stream.Recv()
		if !timer.Stop() {
			return progressed, &Error{code: codes.Unavailable, Endpoint: ep, Message: "no keep-alive answer in time"}
		}
		if err != nil {
			return progressed, toError(err, ep)
		}
		if resp.GetTtl() <= 0 {
			return progressed, errLeaseGone
		}
		progressed = true
		// Counted from the send: the cluster cannot have renewed the lease earlier.
		granted := time.Duration(resp.GetTtl()) * time.Second
		*deadline = sent.Add(granted)
		renewed(LeaseKeepAliveResponse{Header: fromHeader(resp.GetHeader()), ID: LeaseID(resp.GetId()), TTL: resp.GetTtl()})
		if err := sleep(ctx, max(granted/3, minRenewInterval)); err != nil {
			return progressed, err
		}
	}
}
