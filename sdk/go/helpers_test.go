package cairn_test

import (
	"context"
	"testing"
	"time"

	cairn "github.com/cairn-dev/cairn/sdk/go"
)

// testBound bounds a test's calls as a whole. Generous, since CI shares two busy cores
// with other work (RELIABILITY.md 14): it only stops a test that is stuck, while the
// deadlines a test is about are set where it makes them.
const testBound = 90 * time.Second

// newClient connects to the given endpoints and closes the client at cleanup.
func newClient(t *testing.T, cfg cairn.Config) *cairn.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cairn.New(ctx, cfg)
	if err != nil {
		t.Fatalf("cairn.New(%v): %v", cfg.Endpoints, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// timeout returns a context that ends after d or at the end of the test.
func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// value returns the single value a Get returned, failing the test otherwise.
func value(t *testing.T, resp *cairn.GetResponse, err error) string {
	t.Helper()
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("get returned %d keys, want 1: %+v", len(resp.Kvs), resp.Kvs)
	}
	return string(resp.Kvs[0].Value)
}

func others(all []string, except string) []string {
	var out []string
	for _, s := range all {
		if s != except {
			out = append(out, s)
		}
	}
	return out
}

// get reads key through c and returns its single value, failing the test otherwise.
func get(t *testing.T, ctx context.Context, c *cairn.Client, key string, opts ...cairn.OpOption) string {
	t.Helper()
	resp, err := c.Get(ctx, key, opts...)
	return value(t, resp, err)
}
