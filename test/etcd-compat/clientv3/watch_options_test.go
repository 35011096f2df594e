package clientv3compat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The fragment test deletes fragmentKeys keys of fragmentValueBytes at once; its watch
// has their values as prev_kv: 2.4 MB in one revision. etcd splits a revision past
// --max-request-bytes (default 1.5 MiB) plus 512 KiB of gRPC overhead, greedily: three
// events (1.8 MB) in the first response, the fourth in the second.
const (
	fragmentKeys       = 4
	fragmentValueBytes = 600 * 1024
)

// etcd's watch options and KV.RangeStream through clientv3, each as etcd answers it,
// against one cluster of each kind (periodic progress every half second). Revisions are
// read, never assumed.
func TestWatchOptionsAndRangeStream(t *testing.T) {
	flags := map[string][]string{
		"etcd":  {"--watch-progress-notify-interval", "500ms"},
		"cairn": {"--watch-progress-interval", "500"},
	}
	forEachTargetWith(t, flags, func(t *testing.T, c *cluster) {
		// One member: a write or compaction it answered is applied where the watch reads.
		cli := c.client(c.members[0].endpoint)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout*3)
		defer cancel()
		retry(t, ctx, func() error { _, err := cli.Get(ctx, "/opt/"); return err })

		t.Run("Refused", func(t *testing.T) { watchRefused(t, ctx, cli) })
		t.Run("CreatedNotify", func(t *testing.T) { watchCreatedNotify(t, ctx, cli) })
		t.Run("Filters", func(t *testing.T) { watchFilters(t, ctx, cli) })
		t.Run("PrevKV", func(t *testing.T) { watchPrevKV(t, ctx, cli) })
		t.Run("Fragment", func(t *testing.T) { watchFragment(t, ctx, cli) })
		t.Run("RequestProgress", func(t *testing.T) { watchRequestProgress(t, ctx, cli) })
		t.Run("ProgressNotify", func(t *testing.T) { watchProgressNotify(t, ctx, cli) })
		t.Run("RangeStream", func(t *testing.T) { rangeStream(t, ctx, cli) })
		// Last: compaction takes the history the others read.
		t.Run("Compacted", func(t *testing.T) { watchCompacted(t, ctx, cli) })
	})
}

// revision is the cluster's revision now, read through the member (a linearizable read:
// the member has applied every write answered before it).
func revision(t *testing.T, ctx context.Context, cli *clientv3.Client) int64 {
	t.Helper()
	r, err := cli.Get(ctx, "/opt/revision-probe")
	if err != nil {
		t.Fatal(err)
	}
	return r.Header.Revision
}

// next is the watch channel's next response; the channel must stay open.
func next(t *testing.T, ch clientv3.WatchChan) clientv3.WatchResponse {
	t.Helper()
	r, ok := <-ch
	if !ok {
		t.Fatal("watch channel closed")
	}
	return r
}

// events reads responses until n events came, failing on an error response.
func events(t *testing.T, ch clientv3.WatchChan, n int) []*clientv3.Event {
	t.Helper()
	var out []*clientv3.Event
	for len(out) < n {
		r := next(t, ch)
		if r.Err() != nil {
			t.Fatalf("watch error after %d events: %v", len(out), r.Err())
		}
		out = append(out, r.Events...)
	}
	return out
}

// describe renders events as "PUT key=value (prev value)" lines to compare.
func describe(evs []*clientv3.Event) []string {
	var out []string
	for _, e := range evs {
		s := fmt.Sprintf("%s %s=%s", e.Type, e.Kv.Key, e.Kv.Value)
		if e.PrevKv != nil {
			s += fmt.Sprintf(" (prev %s)", e.PrevKv.Value)
		}
		out = append(out, s)
	}
	return out
}

func mustDo(t *testing.T, ctx context.Context, cli *clientv3.Client, ops ...clientv3.Op) {
	t.Helper()
	for _, op := range ops {
		if _, err := cli.Do(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
}

func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// A negative start revision and a range with key >= range_end: the watch is refused, its
// channel gives one canceled response with etcd's reason and closes; the stream goes on.
func watchRefused(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	cases := []struct {
		name   string
		key    string
		opts   []clientv3.OpOption
		reason string
	}{
		{"negative start revision", "/opt/refused", []clientv3.OpOption{clientv3.WithRev(-1)}, rpctypes.ErrCompacted.Error()},
		{"key = range_end", "/opt/refused", []clientv3.OpOption{clientv3.WithRange("/opt/refused")}, "mvcc: watcher range is empty"},
		{"key > range_end", "/opt/refused/b", []clientv3.OpOption{clientv3.WithRange("/opt/refused/a")}, "mvcc: watcher range is empty"},
	}
	for _, tc := range cases {
		wctx, cancel := context.WithCancel(ctx)
		r := next(t, cli.Watch(wctx, tc.key, tc.opts...))
		cancel()
		if !r.Canceled || r.Err() == nil || r.Err().Error() != tc.reason || r.CompactRevision != 0 {
			t.Fatalf("%s: canceled %v, error %v, compact revision %d; want canceled with %q", tc.name, r.Canceled, r.Err(), r.CompactRevision, tc.reason)
		}
	}
	// A client's later watch (a new stream: the refusal closed the last one) still works.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from := revision(t, ctx, cli) + 1
	ch := cli.Watch(wctx, "/opt/refused", clientv3.WithRev(from))
	mustDo(t, ctx, cli, clientv3.OpPut("/opt/refused", "after"))
	sameLines(t, "events after the refusals", describe(events(t, ch, 1)), []string{"PUT /opt/refused=after"})
}

// WithCreatedNotify: the first response says created, without events, at the revision of now.
func watchCreatedNotify(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rev := revision(t, ctx, cli)
	r := next(t, cli.Watch(wctx, "/opt/created", clientv3.WithCreatedNotify()))
	if !r.Created || len(r.Events) != 0 || r.Err() != nil || r.Header.Revision != rev {
		t.Fatalf("first response: created %v, %d events, error %v, revision %d; want created, none, nil, %d",
			r.Created, len(r.Events), r.Err(), r.Header.Revision, rev)
	}
}

// WithFilterPut and WithFilterDelete leave out the puts or the deletes.
func watchFilters(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from := revision(t, ctx, cli) + 1
	noPut := cli.Watch(wctx, "/opt/filter/", clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithFilterPut())
	noDelete := cli.Watch(wctx, "/opt/filter/", clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithFilterDelete())
	mustDo(t, ctx, cli, clientv3.OpPut("/opt/filter/a", "1"), clientv3.OpDelete("/opt/filter/a"),
		clientv3.OpPut("/opt/filter/b", "2"), clientv3.OpDelete("/opt/filter/b"))
	sameLines(t, "WithFilterPut", describe(events(t, noPut, 2)), []string{"DELETE /opt/filter/a=", "DELETE /opt/filter/b="})
	sameLines(t, "WithFilterDelete", describe(events(t, noDelete, 2)), []string{"PUT /opt/filter/a=1", "PUT /opt/filter/b=2"})
}

// WithPrevKV: each event carries the key as it was before (none for a creation); without
// it, none.
func watchPrevKV(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	from := revision(t, ctx, cli) + 1
	with := cli.Watch(wctx, "/opt/prev", clientv3.WithRev(from), clientv3.WithPrevKV())
	without := cli.Watch(wctx, "/opt/prev", clientv3.WithRev(from))
	mustDo(t, ctx, cli, clientv3.OpPut("/opt/prev", "v1"), clientv3.OpPut("/opt/prev", "v2"), clientv3.OpDelete("/opt/prev"))
	sameLines(t, "WithPrevKV", describe(events(t, with, 3)),
		[]string{"PUT /opt/prev=v1", "PUT /opt/prev=v2 (prev v1)", "DELETE /opt/prev= (prev v2)"})
	sameLines(t, "without WithPrevKV", describe(events(t, without, 3)),
		[]string{"PUT /opt/prev=v1", "PUT /opt/prev=v2", "DELETE /opt/prev="})
}

// One revision larger than the max request size (fragmentKeys keys deleted at once, with
// their values as prev_kv): with WithFragment the server splits it and clientv3 hands it
// over whole; without, it comes in one response.
func watchFragment(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	value := strings.Repeat("f", fragmentValueBytes)
	var want []string
	for i := 0; i < fragmentKeys; i++ {
		key := fmt.Sprintf("/opt/frag/%d", i)
		mustDo(t, ctx, cli, clientv3.OpPut(key, value))
		want = append(want, fmt.Sprintf("DELETE %s= (prev %d bytes)", key, fragmentValueBytes))
	}
	del, err := cli.Delete(ctx, "/opt/frag/", clientv3.WithPrefix())
	if err != nil || del.Deleted != fragmentKeys {
		t.Fatalf("delete: %v, %v", del, err)
	}
	rev := del.Header.Revision
	summary := func(r clientv3.WatchResponse) []string {
		var out []string
		for _, e := range r.Events {
			out = append(out, fmt.Sprintf("%s %s=%s (prev %d bytes)", e.Type, e.Kv.Key, e.Kv.Value, len(e.PrevKv.Value)))
		}
		return out
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, opts := range [][]clientv3.OpOption{{clientv3.WithFragment()}, {}} {
		opts = append(opts, clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithPrevKV())
		r := next(t, cli.Watch(wctx, "/opt/frag/", opts...))
		if r.Err() != nil || r.Header.Revision != rev {
			t.Fatalf("error %v, revision %d; want the events of %d", r.Err(), r.Header.Revision, rev)
		}
		sameLines(t, "the revision's events in one response", summary(r), want)
	}

	// The split itself, on the wire: etcd's proto client on the same connection.
	stream, err := etcdserverpb.NewWatchClient(cli.ActiveConnection()).Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	create := &etcdserverpb.WatchCreateRequest{Key: []byte("/opt/frag/"), RangeEnd: []byte("/opt/frag0"),
		StartRevision: rev, PrevKv: true, Fragment: true}
	if err := stream.Send(&etcdserverpb.WatchRequest{RequestUnion: &etcdserverpb.WatchRequest_CreateRequest{CreateRequest: create}}); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for {
		r, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if r.Created || len(r.Events) == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d events, fragment %v", len(r.Events), r.Fragment))
		if !r.Fragment {
			break
		}
	}
	sameLines(t, "responses of the fragmented revision", parts,
		[]string{"3 events, fragment true", "1 events, fragment false"})
}

// RequestProgress: a progress notification for the client's watch stream, at the revision
// every watch on it has been sent through (here the member's, none of them has events due).
func watchRequestProgress(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := cli.Watch(wctx, "/opt/progress/quiet", clientv3.WithCreatedNotify())
	if r := next(t, ch); !r.Created {
		t.Fatalf("want the created response first, got %+v", r)
	}
	mustDo(t, ctx, cli, clientv3.OpPut("/opt/progress/other", "x"))
	rev := revision(t, ctx, cli)
	if err := cli.RequestProgress(wctx); err != nil {
		t.Fatal(err)
	}
	r := next(t, ch)
	if !r.IsProgressNotify() || r.Header.Revision != rev {
		t.Fatalf("progress notify %v at revision %d; want one at %d", r.IsProgressNotify(), r.Header.Revision, rev)
	}
}

// WithProgressNotify: a quiet watch gets periodic progress notifications at the revision of now.
func watchProgressNotify(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rev := revision(t, ctx, cli)
	ch := cli.Watch(wctx, "/opt/progress/periodic", clientv3.WithProgressNotify())
	for i := 0; i < 2; i++ {
		r := next(t, ch)
		if !r.IsProgressNotify() || r.Header.Revision != rev {
			t.Fatalf("response %d: progress notify %v at revision %d; want one at %d", i, r.IsProgressNotify(), r.Header.Revision, rev)
		}
	}
}

// A watch from a compacted revision: canceled with the compaction's revision and
// ErrCompacted, and the channel closes.
func watchCompacted(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	var revs []int64
	for _, v := range []string{"1", "2", "3"} {
		r, err := cli.Put(ctx, "/opt/compact", v)
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, r.Header.Revision)
	}
	if _, err := cli.Compact(ctx, revs[2], clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := cli.Watch(wctx, "/opt/compact", clientv3.WithRev(revs[0]))
	r := next(t, ch)
	if !r.Canceled || r.CompactRevision != revs[2] || !errors.Is(r.Err(), rpctypes.ErrCompacted) || len(r.Events) != 0 {
		t.Fatalf("canceled %v, compact revision %d, error %v, %d events; want canceled at %d with ErrCompacted",
			r.Canceled, r.CompactRevision, r.Err(), len(r.Events), revs[2])
	}
	if _, ok := <-ch; ok {
		t.Fatal("the channel stays open after the cancel")
	}
	// From the compaction's revision on, history is there: the last put.
	ch = cli.Watch(wctx, "/opt/compact", clientv3.WithRev(revs[2]))
	sameLines(t, "from the compaction's revision", describe(events(t, ch, 1)), []string{"PUT /opt/compact=3"})
}
