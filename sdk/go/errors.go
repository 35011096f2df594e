package cairn

import (
	"context"
	"errors"
	"fmt"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Error is the error returned by every Client method. It carries the gRPC status code and,
// when the server sent one, the Cairn error code.
type Error struct {
	code codes.Code
	// CairnCode is the server's error code, read from the cairn.v1.ErrorInfo in the status
	// details (for example cairnv1.ErrorCode_ERROR_CODE_NO_LEADER), or
	// ERROR_CODE_UNSPECIFIED when the failure carried none (a transport failure or a
	// client-side error).
	CairnCode cairnv1.ErrorCode
	// Message describes the failure.
	Message string
	// Endpoint is the member that produced the error, when one did.
	Endpoint string
	// CompactRevision is the oldest revision still available, set with ERROR_CODE_COMPACTED
	// (a read below the compaction, or a watch canceled because its start revision was
	// compacted).
	CompactRevision int64
	cause           error
}

// Code returns the gRPC status code of the failure.
func (e *Error) Code() codes.Code { return e.code }

// Error implements error.
func (e *Error) Error() string {
	s := "cairn: " + e.code.String()
	if e.CairnCode != cairnv1.ErrorCode_ERROR_CODE_UNSPECIFIED {
		s += " (" + e.CairnCode.String() + ")"
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
	if t.CairnCode != cairnv1.ErrorCode_ERROR_CODE_UNSPECIFIED {
		return t.CairnCode == e.CairnCode
	}
	return t.code == e.code
}

// Sentinels for errors.Is. They are never returned themselves; returned errors are *Error
// values that match them.
var (
	// ErrCompacted: the requested revision was compacted away.
	ErrCompacted = &Error{code: codes.OutOfRange, CairnCode: cairnv1.ErrorCode_ERROR_CODE_COMPACTED}
	// ErrFutureRevision: the requested revision is beyond the current one.
	ErrFutureRevision = &Error{code: codes.OutOfRange, CairnCode: cairnv1.ErrorCode_ERROR_CODE_FUTURE_REVISION}
	// ErrNoLeader: the member has no leader; the request was not applied.
	ErrNoLeader = &Error{code: codes.Unavailable, CairnCode: cairnv1.ErrorCode_ERROR_CODE_NO_LEADER}
	// ErrStopping: the member is shutting down; the request was not applied.
	ErrStopping = &Error{code: codes.Unavailable, CairnCode: cairnv1.ErrorCode_ERROR_CODE_STOPPING}
	// ErrTimeout: consensus did not finish in time; a write may or may not have applied.
	ErrTimeout = &Error{code: codes.Unavailable, CairnCode: cairnv1.ErrorCode_ERROR_CODE_TIMEOUT}
	// ErrKeyNotFound: the key does not exist. No KV or config call returns it (a missing
	// key reads as none); it matches ERROR_CODE_KEY_NOT_FOUND from the server.
	ErrKeyNotFound = &Error{code: codes.NotFound, CairnCode: cairnv1.ErrorCode_ERROR_CODE_KEY_NOT_FOUND}
	// ErrInvalidArgument: the request was rejected as malformed.
	ErrInvalidArgument = &Error{code: codes.InvalidArgument}
	// ErrUnavailable: no member could serve the request (any Unavailable failure).
	ErrUnavailable = &Error{code: codes.Unavailable}
	// ErrPermissionDenied: authentication is on and the caller's roles do not allow the
	// call (a key or range outside its permissions, or an operation that needs root).
	ErrPermissionDenied = &Error{code: codes.PermissionDenied, CairnCode: cairnv1.ErrorCode_ERROR_CODE_PERMISSION_DENIED}
	// ErrAuthentication: the client could not prove who it is (any Unauthenticated
	// failure): a wrong user or password (ERROR_CODE_AUTH_FAILED, also ErrAuthFailed), no
	// credentials while authentication is on (ERROR_CODE_AUTH_REQUIRED), or a token still
	// refused after authenticating again (ERROR_CODE_INVALID_AUTH_TOKEN).
	ErrAuthentication = &Error{code: codes.Unauthenticated}
	// ErrAuthFailed: Authenticate refused the user and password.
	ErrAuthFailed = &Error{code: codes.Unauthenticated, CairnCode: cairnv1.ErrorCode_ERROR_CODE_AUTH_FAILED}
)

// IsPermissionDenied reports whether err says the caller's roles do not allow the call.
func IsPermissionDenied(err error) bool { return errors.Is(err, ErrPermissionDenied) }

// IsCompacted reports whether err says that a revision was compacted away.
func IsCompacted(err error) bool { return errors.Is(err, ErrCompacted) }

// toError converts an error from a gRPC call on endpoint into an *Error. The Cairn code
// comes from the cairn.v1.ErrorInfo among the status details (grpc-status-details-bin).
func toError(err error, endpoint string) *Error {
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
	var info *cairnv1.ErrorInfo
	for _, d := range st.Details() {
		if i, ok := d.(*cairnv1.ErrorInfo); ok {
			info = i
			break
		}
	}
	e := fromStatus(st.Code(), st.Message(), info, endpoint)
	e.cause = err
	switch st.Code() {
	case codes.DeadlineExceeded:
		e.cause = fmt.Errorf("%w: %v", context.DeadlineExceeded, err)
	case codes.Canceled:
		e.cause = fmt.Errorf("%w: %v", context.Canceled, err)
	}
	return e
}

// fromStatus builds the *Error for a status from endpoint and its ErrorInfo (nil if none).
func fromStatus(code codes.Code, message string, info *cairnv1.ErrorInfo, endpoint string) *Error {
	return &Error{code: code, CairnCode: info.GetCode(), CompactRevision: info.GetCompactRevision(), Message: message, Endpoint: endpoint}
}

// statusInfo returns the ErrorInfo among the details of st (a watch's cancel_status), or nil.
func statusInfo(st *cairnv1.RpcStatus) *cairnv1.ErrorInfo {
	for _, d := range st.GetDetails() {
		info := &cairnv1.ErrorInfo{}
		if d.GetTypeUrl() == errorInfoTypeURL && proto.Unmarshal(d.GetValue(), info) == nil {
			return info
		}
	}
	return nil
}

// errorInfoTypeURL is the type URL of an ErrorInfo packed in a status detail.
var errorInfoTypeURL = "type.googleapis.com/" + string((&cairnv1.ErrorInfo{}).ProtoReflect().Descriptor().FullName())
