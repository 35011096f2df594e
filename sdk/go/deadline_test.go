package cairn_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
)

// TestNoMemberAnswers checks the one deadline shared by every Cairn SDK: with no member
// answering, the first call (New, which asks for the member list) fails
// DefaultCallTimeout (5 s) after it was made, connection attempts and retries included,
// give or take 20%. The endpoint is a loopback port nobody listens on, so connections are
// refused at once and only the deadline ends the call.
func TestNoMemberAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  cairn.Config
	}{
		{"New", cairn.Config{}},
		{"NewWithoutDiscovery", cairn.Config{DisableDiscovery: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Endpoints = []string{closedPort(t)}
			start := time.Now()
			c, err := cairn.New(context.Background(), tc.cfg)
			elapsed := time.Since(start)
			if err == nil {
				c.Close()
				t.Fatal("New succeeded with no member listening")
			}
			t.Logf("New failed after %v: %v", elapsed.Round(time.Millisecond), err)
			if !errors.Is(err, cairn.ErrUnavailable) {
				t.Errorf("New: %v; want an error matching ErrUnavailable", err)
			}
			low, high := cairn.DefaultCallTimeout*8/10, cairn.DefaultCallTimeout*12/10
			if elapsed < low || elapsed > high {
				t.Errorf("New failed after %v; want the call timeout %v ±20%%", elapsed, cairn.DefaultCallTimeout)
			}
		})
	}
}

// closedPort returns a loopback address that was free a moment ago and that nothing
// listens on now.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
