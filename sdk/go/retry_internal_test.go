package cairn

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestRetryable pins down which failures are retried for reads, writes, and writes that
// opted in with WithRetryUnsafe.
func TestRetryable(t *testing.T) {
	cases := []struct {
		name               string
		err                *Error
		read, write, unsfe bool
	}{
		{"no leader: not applied", &Error{code: codes.Unavailable, CairnCode: CodeNoLeader}, true, true, true},
		{"stopping: not applied", &Error{code: codes.Unavailable, CairnCode: CodeStopping}, true, true, true},
		{"timeout: outcome unknown", &Error{code: codes.Unavailable, CairnCode: CodeTimeout}, true, false, true},
		{"leader changed: outcome unknown", &Error{code: codes.Unavailable, CairnCode: CodeLeaderChanged}, true, false, true},
		{"transport failure", &Error{code: codes.Unavailable}, true, false, true},
		{"invalid argument", &Error{code: codes.InvalidArgument, CairnCode: CodeEmptyKey}, false, false, false},
		{"compacted", &Error{code: codes.OutOfRange, CairnCode: CodeCompacted}, false, false, false},
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

func TestToErrorReadsTrailerCode(t *testing.T) {
	e := toError(status.Error(codes.Unavailable, "no leader"), "h:1", CodeNoLeader)
	if e.Code() != codes.Unavailable || e.CairnCode != CodeNoLeader || !errors.Is(e, ErrNoLeader) || errors.Is(e, ErrTimeout) {
		t.Errorf("toError = %#v", e)
	}
	if !errors.Is(e, ErrUnavailable) {
		t.Error("a NO_LEADER error does not match ErrUnavailable")
	}
	wrapped := fmt.Errorf("outer: %w", e)
	if !errors.Is(wrapped, ErrNoLeader) || status.Code(e) != codes.Unavailable {
		t.Error("wrapped errors lose their code")
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
