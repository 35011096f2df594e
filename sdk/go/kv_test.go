package cairn_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	cairn "github.com/cairn-dev/cairn/sdk/go"
	"github.com/cairn-dev/cairn/sdk/go/internal/testcluster"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestKV exercises the key-value API, transactions, errors and typed configuration on one
// cluster; the subtests run in order and use distinct keys.
func TestKV(t *testing.T) {
	t.Parallel()
	cluster := testcluster.Start(t, 3)
	cluster.WaitLeader(testcluster.LeaderWait)
	c := newClient(t, cairn.Config{Endpoints: cluster.Endpoints()[:1]})
	if got := len(c.Endpoints()); got != 3 {
		t.Fatalf("discovered %d endpoints, want 3: %v", got, c.Endpoints())
	}

	t.Run("MemberList", func(t *testing.T) {
		members, err := c.MemberList(timeout(t, testBound))
		if err != nil || len(members) != 3 {
			t.Fatalf("MemberList = %+v, %v; want 3 members", members, err)
		}
	})
	t.Run("PutGet", func(t *testing.T) { testPutGet(t, c) })
	t.Run("Range", func(t *testing.T) { testRange(t, c) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, c) })
	t.Run("Txn", func(t *testing.T) { testTxn(t, c) })
	t.Run("Errors", func(t *testing.T) { testErrors(t, c) })
	t.Run("WatchCancel", func(t *testing.T) { testWatchCancel(t, c) })
	t.Run("Config", func(t *testing.T) { testConfig(t, c) })
	t.Run("WatchConfig", func(t *testing.T) { testWatchConfig(t, c) })
	t.Run("Compaction", func(t *testing.T) { testCompaction(t, c) })
}

func testPutGet(t *testing.T, c *cairn.Client) {
	ctx := timeout(t, testBound)
	p1, err := c.Put(ctx, "kv/k", "v1")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.Put(ctx, "kv/k", "v2", cairn.WithPrevKV())
	if err != nil {
		t.Fatal(err)
	}
	if p2.Header.Revision != p1.Header.Revision+1 {
		t.Errorf("second put at revision %d, want %d", p2.Header.Revision, p1.Header.Revision+1)
	}
	if p2.PrevKV == nil || string(p2.PrevKV.Value) != "v1" || p2.PrevKV.ModRevision != p1.Header.Revision {
		t.Errorf("prev kv = %+v, want v1 at %d", p2.PrevKV, p1.Header.Revision)
	}
	resp, err := c.Get(ctx, "kv/k")
	if got := value(t, resp, err); got != "v2" {
		t.Errorf("get = %q, want v2", got)
	}
	kv := resp.Kvs[0]
	if kv.Version != 2 || kv.CreateRevision != p1.Header.Revision || kv.ModRevision != p2.Header.Revision {
		t.Errorf("kv = %+v, want version 2, create %d, mod %d", kv, p1.Header.Revision, p2.Header.Revision)
	}
	old, err := c.Get(ctx, "kv/k", cairn.AtRevision(p1.Header.Revision))
	if got := value(t, old, err); got != "v1" {
		t.Errorf("get at revision %d = %q, want v1", p1.Header.Revision, got)
	}
	for _, opt := range []cairn.OpOption{cairn.Stale(), cairn.MaxStaleness(5 * time.Second), cairn.Linearizable()} {
		r, err := c.Get(ctx, "kv/k", opt)
		if err != nil {
			t.Fatal(err)
		}
		// A serializable read may lag, but never shows a value the key never had.
		if len(r.Kvs) == 1 && string(r.Kvs[0].Value) != "v1" && string(r.Kvs[0].Value) != "v2" {
			t.Errorf("read = %q", r.Kvs[0].Value)
		}
	}
	missing, err := c.Get(ctx, "kv/missing")
	if err != nil || len(missing.Kvs) != 0 || missing.Count != 0 {
		t.Errorf("get of a missing key = %+v, %v; want no keys and no error", missing, err)
	}
}

func testRange(t *testing.T, c *cairn.Client) {
	ctx := timeout(t, testBound)
	for _, k := range []string{"r/c", "r/a", "r/b", "r0", "q/x"} {
		if _, err := c.Put(ctx, k, "val-"+k); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := c.GetPrefix(ctx, "r/")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, kv.Key)
		if string(kv.Value) != "val-"+kv.Key {
			t.Errorf("%s = %q", kv.Key, kv.Value)
		}
	}
	if want := []string{"r/a", "r/b", "r/c"}; !equal(keys, want) || resp.Count != 3 {
		t.Errorf("prefix r/ = %v (count %d), want %v", keys, resp.Count, want)
	}
	limited, err := c.GetPrefix(ctx, "r/", cairn.WithLimit(2))
	if err != nil || len(limited.Kvs) != 2 || !limited.More || limited.Count != 3 {
		t.Errorf("limit 2 = %+v, %v; want 2 keys, more, count 3", limited, err)
	}
	counted, err := c.GetPrefix(ctx, "r/", cairn.WithCountOnly())
	if err != nil || len(counted.Kvs) != 0 || counted.Count != 3 {
		t.Errorf("count only = %+v, %v", counted, err)
	}
	ranged, err := c.Get(ctx, "r/a", cairn.WithRange("r/c"))
	if err != nil || ranged.Count != 2 {
		t.Errorf("range [r/a, r/c) = %+v, %v; want 2 keys", ranged, err)
	}
}

func testDelete(t *testing.T, c *cairn.Client) {
	ctx := timeout(t, testBound)
	for _, k := range []string{"d/1", "d/2", "d/3"} {
		if _, err := c.Put(ctx, k, k); err != nil {
			t.Fatal(err)
		}
	}
	one, err := c.Delete(ctx, "d/1")
	if err != nil || one.Deleted != 1 {
		t.Fatalf("delete d/1 = %+v, %v", one, err)
	}
	rest, err := c.Delete(ctx, "d/", cairn.WithPrefix(), cairn.WithPrevKV())
	if err != nil || rest.Deleted != 2 || len(rest.PrevKVs) != 2 || rest.PrevKVs[0].Key != "d/2" {
		t.Fatalf("delete prefix d/ = %+v, %v", rest, err)
	}
	if rest.Header.Revision != one.Header.Revision+1 {
		t.Errorf("prefix delete at %d, want %d", rest.Header.Revision, one.Header.Revision+1)
	}
	none, err := c.Delete(ctx, "d/1")
	if err != nil || none.Deleted != 0 || none.Header.Revision != rest.Header.Revision {
		t.Errorf("deleting nothing = %+v, %v; want 0 deleted at revision %d", none, err, rest.Header.Revision)
	}
	left, err := c.GetPrefix(ctx, "d/")
	if err != nil || left.Count != 0 {
		t.Errorf("after delete: %+v, %v", left, err)
	}
}

func testTxn(t *testing.T, c *cairn.Client) {
	ctx := timeout(t, testBound)
	// Create-if-absent, twice: only the first succeeds.
	create := func() *cairn.TxnResponse {
		r, err := c.Txn(ctx).
			If(cairn.CreateRevision("t/lock").Equal(0)).
			Then(cairn.OpPut("t/lock", "me")).
			Else(cairn.OpGet("t/lock")).
			Commit()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := create()
	if !first.Succeeded || len(first.Responses) != 1 || first.Responses[0].Put == nil {
		t.Fatalf("first create = %+v", first)
	}
	second := create()
	if second.Succeeded || second.Responses[0].Get == nil || string(second.Responses[0].Get.Kvs[0].Value) != "me" {
		t.Fatalf("second create = %+v", second)
	}
	if second.Header.Revision != first.Header.Revision {
		t.Errorf("a read-only txn moved the revision: %d -> %d", first.Header.Revision, second.Header.Revision)
	}
	// Compare-and-swap on mod revision, value and version.
	rev := first.Header.Revision
	cas, err := c.Txn(ctx).
		If(cairn.ModRevision("t/lock").Equal(rev), cairn.Value("t/lock").Equal("me"), cairn.Version("t/lock").Less(2)).
		Then(cairn.OpPut("t/lock", "you", cairn.WithPrevKV()), cairn.OpDelete("t/other")).
		Commit()
	if err != nil || !cas.Succeeded || len(cas.Responses) != 2 || string(cas.Responses[0].Put.PrevKV.Value) != "me" {
		t.Fatalf("cas = %+v, %v", cas, err)
	}
	stale, err := c.Txn(ctx).If(cairn.ModRevision("t/lock").Equal(rev)).Then(cairn.OpPut("t/lock", "again")).Commit()
	if err != nil || stale.Succeeded {
		t.Fatalf("cas on an old revision = %+v, %v; want not succeeded", stale, err)
	}
	ne, err := c.Txn(ctx).If(cairn.Value("t/lock").NotEqual("you"), cairn.Value("t/lock").Greater("a")).Commit()
	if err != nil || ne.Succeeded {
		t.Fatalf("value != you = %+v, %v; want false", ne, err)
	}
	resp, err := c.Get(ctx, "t/lock")
	if got := value(t, resp, err); got != "you" {
		t.Errorf("t/lock = %q, want you", got)
	}
}

func testErrors(t *testing.T, c *cairn.Client) {
	ctx := timeout(t, testBound)
	_, err := c.Put(ctx, "", "v")
	var ce *cairn.Error
	if !errors.As(err, &ce) || ce.Code() != codes.InvalidArgument || !errors.Is(err, cairn.ErrInvalidArgument) {
		t.Errorf("put of an empty key: %v; want an InvalidArgument *cairn.Error", err)
	}
	if ce.CairnCode != cairnv1.ErrorCode_ERROR_CODE_EMPTY_KEY {
		t.Errorf("put of an empty key: CairnCode = %v, want ERROR_CODE_EMPTY_KEY", ce.CairnCode)
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("status.Code = %v", status.Code(err))
	}
	_, err = c.Get(ctx, "kv/k", cairn.AtRevision(1_000_000))
	if !errors.Is(err, cairn.ErrFutureRevision) || cairn.IsCompacted(err) {
		t.Errorf("get at a future revision: %v; want ErrFutureRevision", err)
	}
	// The server's default limit is 128 operations per txn list.
	ops := make([]cairn.Op, 129)
	for i := range ops {
		ops[i] = cairn.OpPut(fmt.Sprintf("many/%d", i), "v")
	}
	_, err = c.Txn(ctx).Then(ops...).Commit()
	if !errors.As(err, &ce) || ce.Code() != codes.ResourceExhausted || ce.CairnCode != cairnv1.ErrorCode_ERROR_CODE_TOO_MANY_TXN_OPS {
		t.Errorf("txn of 129 puts: %v; want ResourceExhausted with ERROR_CODE_TOO_MANY_TXN_OPS", err)
	}
	// grpc-go itself finds the ErrorInfo among the status details.
	if details := status.Convert(errors.Unwrap(err)).Details(); len(details) != 1 {
		t.Errorf("status details = %v; want one cairn.v1.ErrorInfo", details)
	} else if info, ok := details[0].(*cairnv1.ErrorInfo); !ok || info.GetCode() != cairnv1.ErrorCode_ERROR_CODE_TOO_MANY_TXN_OPS {
		t.Errorf("status detail = %#v; want a cairn.v1.ErrorInfo", details[0])
	}
	expired, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-expired.Done()
	_, err = c.Get(expired, "kv/k")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ce) || ce.Code() != codes.DeadlineExceeded {
		t.Errorf("get with an expired context: %v; want DeadlineExceeded", err)
	}
}

func testWatchCancel(t *testing.T, c *cairn.Client) {
	ctx, cancel := context.WithCancel(timeout(t, testBound))
	ch := c.Watch(ctx, "wc/k")
	// A watch from "now" starts when the member creates it, which the caller can't see: put
	// until it delivers (instead of sleeping and hoping it was created by then). It must
	// deliver puts made after it started, and nothing else.
	puts := map[int64]bool{}
	var wr cairn.WatchResponse
	for delivered := false; !delivered; {
		put, err := c.Put(ctx, "wc/k", "1")
		if err != nil {
			t.Fatal(err)
		}
		puts[put.Header.Revision] = true
		select {
		case wr = <-ch:
			delivered = true
		case <-time.After(100 * time.Millisecond):
		}
	}
	if wr.Err != nil || len(wr.Events) == 0 {
		t.Fatalf("watch from now = %+v; want one of the puts at %v", wr, puts)
	}
	for _, e := range wr.Events {
		if e.Type != cairn.EventPut || e.KV.Key != "wc/k" || !puts[e.KV.ModRevision] {
			t.Fatalf("watch from now delivered %+v; want only the puts at %v", e, puts)
		}
	}
	cancel()
	select {
	case wr, ok := <-ch:
		if ok {
			t.Fatalf("after cancel the watch delivered %+v; want the channel closed", wr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watch channel was not closed after cancel")
	}
}

func testCompaction(t *testing.T, c *cairn.Client) {
	ctx := timeout(t, testBound)
	p1, err := c.Put(ctx, "cp/k", "old")
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.Put(ctx, "cp/k", "new")
	if err != nil {
		t.Fatal(err)
	}
	if h, err := c.Compact(ctx, p2.Header.Revision, cairn.WithPhysical()); err != nil || h.Revision < p2.Header.Revision {
		t.Fatalf("Compact(%d, WithPhysical) = header at %d, %v", p2.Header.Revision, h.Revision, err)
	}
	_, err = c.Get(ctx, "cp/k", cairn.AtRevision(p1.Header.Revision))
	var ce *cairn.Error
	if !cairn.IsCompacted(err) || !errors.Is(err, cairn.ErrCompacted) || !errors.As(err, &ce) || ce.Code() != codes.OutOfRange {
		t.Fatalf("get at a compacted revision: %v; want ErrCompacted (OutOfRange)", err)
	}
	if ce.CairnCode != cairnv1.ErrorCode_ERROR_CODE_COMPACTED || ce.CompactRevision != p2.Header.Revision {
		t.Errorf("get at a compacted revision: CairnCode %v, CompactRevision %d; want ERROR_CODE_COMPACTED, %d", ce.CairnCode, ce.CompactRevision, p2.Header.Revision)
	}
	ch := c.Watch(ctx, "cp/", cairn.WithPrefix(), cairn.FromRevision(p1.Header.Revision))
	wr, ok := <-ch
	if !ok || !cairn.IsCompacted(wr.Err) || len(wr.Events) != 0 {
		t.Fatalf("watch from a compacted revision delivered %+v (open %v); want a compaction error", wr, ok)
	}
	if !errors.As(wr.Err, &ce) || ce.CompactRevision != p2.Header.Revision || ce.Code() != codes.OutOfRange {
		t.Errorf("compaction error %v: CompactRevision = %d, want %d", wr.Err, ce.CompactRevision, p2.Header.Revision)
	}
	if wr, ok := <-ch; ok {
		t.Fatalf("after the error the watch delivered %+v; want the channel closed", wr)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
