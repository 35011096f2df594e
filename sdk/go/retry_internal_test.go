package cairn

import (
	"errors"
	"fmt"
	"testing"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestRetryable pins down which failures are retried for reads, writes, and writes that
// opted in with WithRetryUnsafe.
func TestRetryable(t *testing.T) {
	cases := []struct {
		name               string
		err                *Error
		read, write, unsfe bool
	}{
		{"no leader: not applied", &Error{code: codes.Unavailable, CairnCode: cairnv1.ErrorCode_ERROR_CODE_NO_LEADER}, true, true, true},
		{"stopping: not applied", &Error{code: codes.Unavailable, CairnCode: cairnv1.ErrorCode_ERROR_CODE_STOPPING}, true, true, true},
		{"timeout: outcome unknown", &Error{code: codes.Unavailable, CairnCode: cairnv1.ErrorCode_ERROR_CODE_TIMEOUT}, true, false, true},
		{"leader changed: outcome unknown", &Error{code: codes.Unavailable, CairnCode: cairnv1.ErrorCode_ERROR_CODE_LEADER_CHANGED}, true, false, true},
		{"transport failure", &Error{code: codes.Unavailable}, true, false, true},
		{"invalid argument", &Error{code: codes.InvalidArgument, CairnCode: cairnv1.ErrorCode_ERROR_CODE_EMPTY_KEY}, false, false, false},
		{"compacted", &Error{code: codes.OutOfRange, CairnCode: cairnv1.ErrorCode_ERROR_CODE_COMPACTED}, false, false, false},
	}
	for _, c := range cases {
		for kind, want := range map[callKind]bool{readCall: c.read, writeCall: c.write, unsafeWriteCall: c.unsfe} {
			if got := retryable(c.err, kind); got != want {
				t.Errorf("%s, kind %d: retryable = %v, want %v", c.name, kind, got, want)
			}
		}
	}
	if (op{retryUnsafe: true}).writeKind() != unsafeWriteCall || (op{}).writeKind() != writeCall {
		t.Error("WithRetryUnsafe does not select unsafe retries")
	}
}

func TestToErrorReadsTheErrorInfoDetail(t *testing.T) {
	st, err := status.New(codes.Unavailable, "no leader").WithDetails(&cairnv1.ErrorInfo{Code: cairnv1.ErrorCode_ERROR_CODE_NO_LEADER})
	if err != nil {
		t.Fatal(err)
	}
	e := toError(st.Err(), "h:1")
	if e.Code() != codes.Unavailable || e.CairnCode != cairnv1.ErrorCode_ERROR_CODE_NO_LEADER || !errors.Is(e, ErrNoLeader) || errors.Is(e, ErrTimeout) {
		t.Errorf("toError = %#v", e)
	}
	if !errors.Is(e, ErrUnavailable) {
		t.Error("a NO_LEADER error does not match ErrUnavailable")
	}
	wrapped := fmt.Errorf("outer: %w", e)
	if !errors.Is(wrapped, ErrNoLeader) || status.Code(e) != codes.Unavailable {
		t.Error("wrapped errors lose their code")
	}
	if e := toError(status.Error(codes.OutOfRange, "no details"), "h:1"); e.CairnCode != cairnv1.ErrorCode_ERROR_CODE_UNSPECIFIED || errors.Is(e, ErrCompacted) {
		t.Errorf("a status without details has no Cairn code: %#v", e)
	}
}

func TestCancelErrorReadsTheCancelStatus(t *testing.T) {
	info, err := proto.Marshal(&cairnv1.ErrorInfo{Code: cairnv1.ErrorCode_ERROR_CODE_COMPACTED, CompactRevision: 7})
	if err != nil {
		t.Fatal(err)
	}
	resp := &cairnv1.WatchResponse{Canceled: true, CompactRevision: 7, CancelStatus: &cairnv1.RpcStatus{
		Code: int32(codes.OutOfRange), Message: "revision 3 has been compacted; the oldest available revision is 7",
		Details: []*cairnv1.StatusDetail{{TypeUrl: "type.googleapis.com/cairn.v1.ErrorInfo", Value: info}},
	}}
	e := cancelError(resp, 3, "h:1")
	if e.Code() != codes.OutOfRange || !errors.Is(e, ErrCompacted) || e.CompactRevision != 7 {
		t.Errorf("cancelError = %#v", e)
	}
	refused := cancelError(&cairnv1.WatchResponse{Created: true, Canceled: true, CancelStatus: &cairnv1.RpcStatus{Code: int32(codes.InvalidArgument), Message: "key is empty"}}, 0, "h:1")
	if refused.Code() != codes.InvalidArgument || refused.CairnCode != cairnv1.ErrorCode_ERROR_CODE_UNSPECIFIED {
		t.Errorf("cancelError without ErrorInfo = %#v", refused)
	}
}

func TestBackoffIsCappedAndGrows(t *testing.T) {
	for attempt := 1; attempt < 40; attempt++ {
		d := backoffDelay(attempt)
		if d < 0 || d > backoffCap {
			t.Fatalf("attempt %d: delay %v outside [0, %v]", attempt, d, backoffCap)
		}
	}
	if backoffDelay(1) > backoffBase || backoffDelay(20) < backoffCap/2 {
		t.Errorf("delays %v, %v do not grow from %v to about %v", backoffDelay(1), backoffDelay(20), backoffBase, backoffCap)
	}
}

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{"a": "b", "scn/": "scn0", "a\xff": "b", "\xff\xff": "\x00"} {
		if got := string(prefixEnd([]byte(in))); got != want {
			t.Errorf("prefixEnd(%q) = %q, want %q", in, got, want)
		}
	}
}
