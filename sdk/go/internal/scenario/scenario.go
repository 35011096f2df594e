// Package scenario runs the cross-SDK scenario of sdk/scenario/SCENARIO.md with the Go
// SDK, printing one line per step.
package scenario

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	cairn "github.com/cairn-dev/cairn/sdk/go"
	"google.golang.org/grpc/codes"
)

// Run runs the scenario against a fresh cluster through c and writes its lines to w.
func Run(ctx context.Context, c *cairn.Client, w io.Writer) error {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }

	for _, kv := range [][2]string{{"scn/a", "1"}, {"scn/b", "2"}} {
		put, err := c.Put(ctx, kv[0], kv[1])
		if err != nil {
			return fmt.Errorf("put %s: %w", kv[0], err)
		}
		p("put %s rev=%d", kv[0], put.Header.Revision)
	}

	get, err := c.Get(ctx, "scn/a", cairn.Linearizable())
	if err != nil || len(get.Kvs) != 1 {
		return fmt.Errorf("get scn/a: %v (%d keys)", err, lenKvs(get))
	}
	a := get.Kvs[0]
	p("get scn/a=%s version=%d create=%d mod=%d", a.Value, a.Version, a.CreateRevision, a.ModRevision)

	put, err := c.Put(ctx, "scn/a", "3", cairn.WithPrevKV())
	if err != nil || put.PrevKV == nil {
		return fmt.Errorf("put scn/a with prev: %v", err)
	}
	p("put scn/a rev=%d prev=%s", put.Header.Revision, put.PrevKV.Value)

	rng, err := c.GetPrefix(ctx, "scn/")
	if err != nil {
		return fmt.Errorf("range scn/: %w", err)
	}
	pairs := make([]string, len(rng.Kvs))
	for i, kv := range rng.Kvs {
		pairs[i] = fmt.Sprintf("%s=%s", kv.Key, kv.Value)
	}
	p("range scn/ count=%d: %s", rng.Count, strings.Join(pairs, " "))

	txn, err := c.Txn(ctx).
		If(cairn.Value("scn/a").Equal("3")).
		Then(cairn.OpPut("scn/c", "4")).
		Else(cairn.OpPut("scn/c", "x")).
		Commit()
	if err != nil {
		return fmt.Errorf("txn 1: %w", err)
	}
	p("txn succeeded=%t rev=%d", txn.Succeeded, txn.Header.Revision)

	txn, err = c.Txn(ctx).
		If(cairn.Version("scn/b").Greater(5)).
		Then(cairn.OpDelete("scn/b")).
		Else(cairn.OpGet("scn/b")).
		Commit()
	if err != nil || len(txn.Responses) != 1 || txn.Responses[0].Get == nil || len(txn.Responses[0].Get.Kvs) != 1 {
		return fmt.Errorf("txn 2: %v (%+v)", err, txn)
	}
	p("txn succeeded=%t rev=%d get scn/b=%s", txn.Succeeded, txn.Header.Revision, txn.Responses[0].Get.Kvs[0].Value)

	del, err := c.Delete(ctx, "scn/b")
	if err != nil {
		return fmt.Errorf("delete scn/b: %w", err)
	}
	p("delete scn/b deleted=%d rev=%d", del.Deleted, del.Header.Revision)

	if _, err := c.Get(ctx, "scn/c"); err != nil {
		return fmt.Errorf("get scn/c: %w", err)
	}
	stale, err := c.Get(ctx, "scn/c", cairn.Stale())
	if err != nil || len(stale.Kvs) != 1 {
		return fmt.Errorf("stale get scn/c: %v (%d keys)", err, lenKvs(stale))
	}
	p("stale get scn/c=%s", stale.Kvs[0].Value)

	if err := watchFive(ctx, c, p); err != nil {
		return err
	}

	if _, err := c.Put(ctx, "scn/config", `{"name":"web","replicas":3}`); err != nil {
		return fmt.Errorf("put scn/config: %w", err)
	}
	type service struct {
		Name     string `json:"name"`
		Replicas int    `json:"replicas"`
	}
	cfg, _, err := cairn.GetConfig[service](ctx, c, "scn/config")
	if err != nil {
		return fmt.Errorf("get config: %w", err)
	}
	if cfg == nil {
		return fmt.Errorf("get config: scn/config does not exist")
	}
	p("config name=%s replicas=%d", cfg.Name, cfg.Replicas)

	if _, err := c.Compact(ctx, 3); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	_, err = c.Get(ctx, "scn/a", cairn.AtRevision(2))
	var ce *cairn.Error
	if !errors.As(err, &ce) {
		return fmt.Errorf("get scn/a at 2 after compaction: want an error, got %v", err)
	}
	p("get scn/a rev=2 error=%s", StatusName(ce.Code()))
	return nil
}

// watchFive prints the first five events of a prefix watch from revision 1.
func watchFive(ctx context.Context, c *cairn.Client, p func(string, ...any)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	for wr := range c.Watch(ctx, "scn/", cairn.WithPrefix(), cairn.FromRevision(1)) {
		if wr.Err != nil {
			return fmt.Errorf("watch: %w", wr.Err)
		}
		for _, e := range wr.Events {
			if e.Type == cairn.EventDelete {
				p("event DELETE %s rev=%d", e.KV.Key, e.KV.ModRevision)
			} else {
				p("event PUT %s=%s rev=%d", e.KV.Key, e.KV.Value, e.KV.ModRevision)
			}
			if n++; n == 5 {
				return nil
			}
		}
	}
	return fmt.Errorf("watch ended after %d events: %w", n, ctx.Err())
}

func lenKvs(r *cairn.GetResponse) int {
	if r == nil {
		return 0
	}
	return len(r.Kvs)
}

// StatusName is the canonical name of a gRPC status code, as in the gRPC spec
// ("OUT_OF_RANGE").
func StatusName(c codes.Code) string {
	if name, ok := statusNames[c]; ok {
		return name
	}
	return fmt.Sprintf("CODE_%d", uint32(c))
}

var statusNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}
