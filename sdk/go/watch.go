package cairn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// WatchResponse is one batch of events delivered by Watch: every event of one or more
// revisions, in revision order. A response with Err set is the last one; the channel is
// closed after it.
type WatchResponse struct {
	// Header.Revision is the member's revision when it sent the batch.
	Header Header
	// Events are the changes, in revision order.
	Events []Event
	// Err ends the watch: it matches ErrCompacted (see IsCompacted) when the revision to
	// resume from was compacted, or reports a request the server rejected.
	Err error
}

// Watch follows changes to key (or the keys selected with WithPrefix or WithRange) and
// delivers them on the returned channel, in batches (see WatchResponse). Options:
// FromRevision to replay history first, WithPrefix, WithRange, WithPrevKV.
//
// When the member serving the watch fails, the watch reconnects to another member and
// resumes right after the last revision it delivered, so no event is missed or repeated.
// If that revision was compacted meanwhile, a final WatchResponse whose Err matches
// ErrCompacted is delivered. The channel is closed when ctx is done (without an error
// item), after an error item, or when the client is closed. Receive from the channel
// until it is closed; the watch waits for the receiver.
func (c *Client) Watch(ctx context.Context, key string, opts ...OpOption) <-chan WatchResponse {
	ch := make(chan WatchResponse)
	w := &watcher{c: c, key: key, o: buildOp(opts), out: ch}
	w.next = w.o.fromRevision
	go w.run(ctx)
	return ch
}

// watcher is the state of one Watch across reconnections.
type watcher struct {
	c   *Client
	key string
	o   op
	out chan<- WatchResponse
	// next is the revision to resume from; 0 until the first member told the current one.
	next int64
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.out)
	reauthenticated := false
	for attempt := 0; ; attempt++ {
		if attempt > 0 && sleep(ctx, backoffDelay(attempt)) != nil {
			return
		}
		ep, cc, err := w.c.pick()
		if err != nil {
			w.send(ctx, WatchResponse{Err: err})
			return
		}
		if err := w.c.waitReady(ctx, ep, cc); err != nil {
			if ctx.Err() != nil {
				return
			}
			w.c.failover(ep)
			continue
		}
		var sent string
		if w.c.tokens != nil {
			sent = w.c.tokens.current()
		}
		progressed, err := w.stream(ctx, ep, cairnv1.NewWatchServiceClient(cc))
		if ctx.Err() != nil {
			return
		}
		if progressed {
			reauthenticated = false
		}
		// A refused token (expired, revoked): authenticate again and reopen on this member,
		// once per stream that worked.
		var e *Error
		if w.c.tokens != nil && errors.As(err, &e) && tokenRejected(e) && !reauthenticated {
			reauthenticated = true
			w.c.tokens.invalidate(sent)
			attempt = -1
			continue
		}
		if isTerminal(err) {
			w.send(ctx, WatchResponse{Err: err})
			return
		}
		if progressed {
			attempt = 0
		}
		w.c.failover(ep)
	}
}

// send delivers r unless ctx is done first; it reports whether r was delivered.
func (w *watcher) send(ctx context.Context, r WatchResponse) bool {
	select {
	case w.out <- r:
		return true
	case <-ctx.Done():
		return false
	}
}

// stream runs the watch on one stream until it fails. progressed reports whether the
// stream got as far as creating the watch.
func (w *watcher) stream(ctx context.Context, ep string, client cairnv1.WatchServiceClient) (progressed bool, err error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stream, err := client.Watch(sctx)
	if err != nil {
		return false, toError(err, ep)
	}
	key, end := w.o.keyRange(w.key)
	create := &cairnv1.WatchCreateRequest{Key: key, RangeEnd: end, StartRevision: w.next, PrevKv: w.o.prevKV}
	if err := stream.Send(&cairnv1.WatchRequest{Request: &cairnv1.WatchRequest_CreateRequest{CreateRequest: create}}); err != nil {
		// The stream broke; Recv returns its status.
		for {
			if _, err := stream.Recv(); err != nil {
				return false, toError(err, ep)
			}
		}
	}
	var lastHeard atomic.Int64
	lastHeard.Store(time.Now().UnixNano())
	go w.probe(sctx, cancel, stream, &lastHeard)
	for {
		resp, err := stream.Recv()
		if err != nil {
			if cause := context.Cause(sctx); errors.Is(cause, errHung) {
				return progressed, &Error{code: codes.Unavailable, Endpoint: ep, Message: cause.Error(), cause: cause}
			}
			return progressed, toError(err, ep)
		}
		lastHeard.Store(time.Now().UnixNano())
		if resp.GetCanceled() {
			return progressed, cancelError(resp, w.next, ep)
		}
		if resp.GetCreated() {
			progressed = true
			if w.next == 0 {
				w.next = resp.GetHeader().GetRevision() + 1
			}
		}
		if len(resp.GetEvents()) == 0 {
			continue
		}
		batch := WatchResponse{Header: fromHeader(resp.GetHeader()), Events: make([]Event, 0, len(resp.GetEvents()))}
		for _, e := range resp.GetEvents() {
			// A member replaying from an older point never happens with a correct start
			// revision; skipping guards the no-duplicate promise anyway.
			if e.GetKv().GetModRevision() < w.next {
				continue
			}
			batch.Events = append(batch.Events, fromEvent(e))
		}
		if len(batch.Events) == 0 {
			continue
		}
		// Time spent waiting for the receiver is not the member's silence.
		lastHeard.Store(delivering)
		if !w.send(ctx, batch) {
			return progressed, ctx.Err()
		}
		lastHeard.Store(time.Now().UnixNano())
		w.next = batch.Events[len(batch.Events)-1].KV.ModRevision + 1
	}
}

// delivering marks lastHeard while the watch waits for its receiver.
const delivering = math.MaxInt64

// errHung is the cause of canceling a stream whose member stopped answering.
var errHung = errors.New("the member left watch progress requests unanswered")

// probe asks the member for progress every WatchProbeInterval and cancels the stream when
// nothing arrived for two intervals. It returns when ctx is done.
func (w *watcher) probe(ctx context.Context, cancel context.CancelCauseFunc, stream grpc.BidiStreamingClient[cairnv1.WatchRequest, cairnv1.WatchResponse], lastHeard *atomic.Int64) {
	interval := w.c.cfg.WatchProbeInterval
	t := time.NewTicker(interval)
	defer t.Stop()
	progress := &cairnv1.WatchRequest{Request: &cairnv1.WatchRequest_ProgressRequest{ProgressRequest: &cairnv1.WatchProgressRequest{}}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if heard := lastHeard.Load(); heard != delivering && time.Since(time.Unix(0, heard)) > 2*interval {
			cancel(errHung)
			return
		}
		if err := stream.Send(progress); err != nil {
			return // Recv reports the failure.
		}
	}
}

// cancelError turns a cancellation from the server into an error.
func cancelError(resp *cairnv1.WatchResponse, next int64, ep string) *Error {
	if st := resp.GetCancelStatus(); st != nil {
		// Canceled because of an error (compacted history, a refused create): the server
		// sends the status and ErrorInfo a failed call would carry.
		e := fromStatus(codes.Code(st.GetCode()), st.GetMessage(), statusInfo(st), ep)
		if e.CairnCode == cairnv1.ErrorCode_ERROR_CODE_COMPACTED {
			e.Message = fmt.Sprintf("watch canceled: revision %d was compacted; the oldest available is %d", next, e.CompactRevision)
		} else if resp.GetCreated() {
			e.Message = "watch rejected: " + e.Message
		}
		return e
	}
	// Canceled after it ran (the member is stopping, for example): resume elsewhere.
	return &Error{code: codes.Unavailable, Endpoint: ep, Message: "watch canceled by the server: " + resp.GetCancelReason()}
}

// isTerminal reports whether a watch must end after err rather than resume elsewhere.
func isTerminal(err error) bool {
	if err == nil || errors.Is(err, io.EOF) {
		return false
	}
	var e *Error
	if !errors.As(err, &e) {
		return true
	}
	switch e.code {
	case codes.InvalidArgument, codes.OutOfRange, codes.NotFound, codes.AlreadyExists,
		codes.PermissionDenied, codes.Unauthenticated, codes.Unimplemented, codes.FailedPrecondition:
		return true
	}
	return false
}
