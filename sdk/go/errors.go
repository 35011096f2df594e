package cairn

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Server error codes carried in the cairn-error-code trailing metadata.
const (
	CodeEmptyKey       = "EMPTY_KEY"
	CodeInvalidArg     = "INVALID_ARGUMENT"
	CodeCompacted      = "COMPACTED"
	CodeFutureRevision = "FUTURE_REVISION"
	CodeKeyNotFound    = "KEY_NOT_FOUND"
	CodeStopping       = "STOPPING"
	CodeNoLeader       = "NO_LEADER"
	CodeTimeout        = "TIMEOUT"
	CodeLeaderChanged  = "LEADER_CHANGED"
)

// errorCodeKey is the trailing metadata key in which the server names its error code.
const errorCodeKey = "cairn-error-code"

// Error is the error returned by every Client method. It carries the gRPC status code and,
// when the server sent one, the Cairn error code.
type Error struct {
	code codes.Code
	// CairnCode is the server's cairn-error-code (for example "NO_LEADER"), or "" when the
	// failure carried none (a transport failure or a client-side error).
	CairnCode string
	// Message describes the failure.
	Message string
	// Endpoint is the member that produced the error, when one did.
	Endpoint string
	// CompactRevision is the oldest revision still available, set on a watch canceled
	// because its start revision was compacted.
	CompactRevision int64
	cause           error
}

// Code returns the gRPC status code of the failure.
func (e *Error) Code() codes.Code { return e.code }

// Error implements error.
func (e *Error) Error() string {
	s := "cairn: " + e.code.String()
	if e.CairnCode != "" {
		s += " (" + e.CairnCode + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Endpoint != "" {
		s += " [" + e.Endpoint + "]"
	}
	return s
}

// Unwrap returns the underlying cause, such as a context error.
func (e *Error) Unwrap() error { return e.cause }

// GRPCStatus lets status.FromError and status.Code see the gRPC status of e.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.code, e.Message) }

// Is reports whether e matches target. A sentinel *Error matches when its CairnCode is set
// and equal to e's, or, for sentinels without a CairnCode, when the gRPC codes are equal.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.CairnCode != "" {
		return t.CairnCode == e.CairnCode
	}
	return t.code == e.code
}

// Sentinels for errors.Is. They are never returned themselves; returned errors are *Error
// values that match them.
var (
	// ErrCompacted: the requested revision was compacted away.
	ErrCompacted = &Error{code: codes.OutOfRange, CairnCode: CodeCompacted}
	// ErrFutureRevision: the requested revision is beyond the current one.
	ErrFutureRevision = &Error{code: codes.OutOfRange, CairnCode: CodeFutureRevision}
	// ErrNoLeader: the member has no leader; the request was not applied.
	ErrNoLeader = &Error{code: codes.Unavailable, CairnCode: CodeNoLeader}
	// ErrStopping: the member is shutting down; the request was not applied.
	ErrStopping = &Error{code: codes.Unavailable, CairnCode: CodeStopping}
	// ErrTimeout: consensus did not finish in time; a write may or may not have applied.
	ErrTimeout = &Error{code: codes.Unavailable, CairnCode: CodeTimeout}
	// ErrKeyNotFound: the key does not exist (returned by GetConfig).
	ErrKeyNotFound = &Error{code: codes.NotFound, CairnCode: CodeKeyNotFound}
	// ErrInvalidArgument: the request was rejected as malformed.
	ErrInvalidArgument = &Error{code: codes.InvalidArgument}
	// ErrUnavailable: no member could serve the request (any Unavailable failure).
	ErrUnavailable = &Error{code: codes.Unavailable}
)

// IsCompacted reports whether err says that a revision was compacted away.
func IsCompacted(err error) bool { return errors.Is(err, ErrCompacted) }

// toError converts an error from a gRPC call on endpoint into an *Error.
func toError(err error, endpoint string, trailerCode string) *Error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{code: status.FromContextError(err).Code(), Message: err.Error(), Endpoint: endpoint, cause: err}
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{code: codes.Unknown, Message: err.Error(), Endpoint: endpoint, cause: err}
	}
	e := &Error{code: st.Code(), CairnCode: trailerCode, Message: st.Message(), Endpoint: endpoint, cause: err}
	if e.CairnCode == "" && st.Code() == codes.OutOfRange {
		// Older servers or proxies may drop trailers; OUT_OF_RANGE on a read is compaction
		// unless the message says otherwise.
		e.CairnCode = CodeCompacted
	}
	switch st.Code() {
	case codes.DeadlineExceeded:
		e.cause = fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	case codes.Canceled:
		e.cause = fmt.Errorf("%w: %v", context.Canceled, err)
	}
	return e
}
