package clientv3compat

import (
	"context"
	"fmt"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rangeStreamKeys is how many keys the RangeStream cases read: more than etcd's first
// chunk (10 keys), so the range comes in several chunks.
const rangeStreamKeys = 25

// KV.RangeStream (etcd 3.7) through clientv3's GetStream: the chunks as etcd cuts them
// (10 keys, then twice as many while small; header, more and count on the last only), and
// merged, the same answer as Get with the same options.
func rangeStream(t *testing.T, ctx context.Context, cli *clientv3.Client) {
	var puts []clientv3.Op
	for i := 0; i < rangeStreamKeys; i++ {
		puts = append(puts, clientv3.OpPut(fmt.Sprintf("/opt/stream/%02d", i), fmt.Sprintf("v%d", i)))
	}
	first, err := cli.Txn(ctx).Then(puts...).Commit()
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, ctx, cli, clientv3.OpPut("/opt/stream/07", "changed"))
	cases := []struct {
		name   string
		key    string
		opts   []clientv3.OpOption
		chunks string
	}{
		{"prefix", "/opt/stream/", []clientv3.OpOption{clientv3.WithPrefix()}, "10 keys, 15 keys+header"},
		{"prefix with a limit", "/opt/stream/", []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithLimit(12)}, "10 keys, 2 keys+header"},
		{"keys only", "/opt/stream/", []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithKeysOnly()}, "10 keys, 15 keys+header"},
		{"count only", "/opt/stream/", []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithCountOnly()}, "0 keys+header"},
		{"an older revision", "/opt/stream/", []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithRev(first.Header.Revision)}, "10 keys, 15 keys+header"},
		{"serializable", "/opt/stream/", []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSerializable()}, "10 keys, 15 keys+header"},
		{"one key", "/opt/stream/03", nil, "1 keys+header"},
		{"nothing", "/opt/stream-none/", []clientv3.OpOption{clientv3.WithPrefix()}, "0 keys+header"},
	}
	for _, tc := range cases {
		want, err := cli.Get(ctx, tc.key, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := cli.GetStream(ctx, tc.key, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		var chunks []string
		var kvs []string
		var last *clientv3.RangeStreamResponse
		for r := range ch {
			if r.Err() != nil {
				t.Fatalf("%s: %v", tc.name, r.Err())
			}
			chunk := fmt.Sprintf("%d keys", len(r.RangeResponse.Kvs))
			if r.RangeResponse.Header != nil {
				chunk += "+header"
			}
			chunks = append(chunks, chunk)
			for _, kv := range r.RangeResponse.Kvs {
				kvs = append(kvs, fmt.Sprintf("%s=%s@%d", kv.Key, kv.Value, kv.ModRevision))
			}
			last = &r
		}
		if got := strings.Join(chunks, ", "); got != tc.chunks {
			t.Fatalf("%s: chunks %q, want %q", tc.name, got, tc.chunks)
		}
		var wantKvs []string
		for _, kv := range want.Kvs {
			wantKvs = append(wantKvs, fmt.Sprintf("%s=%s@%d", kv.Key, kv.Value, kv.ModRevision))
		}
		sameLines(t, tc.name+": keys as Get's", kvs, wantKvs)
		end := last.RangeResponse
		if end.Header.Revision != want.Header.Revision || end.Header.MemberId != want.Header.MemberId ||
			end.Header.ClusterId != want.Header.ClusterId || end.More != want.More || end.Count != want.Count {
			t.Fatalf("%s: last chunk revision %d member %x cluster %x more %v count %d; Get: %d %x %x %v %d", tc.name,
				end.Header.Revision, end.Header.MemberId, end.Header.ClusterId, end.More, end.Count,
				want.Header.Revision, want.Header.MemberId, want.Header.ClusterId, want.More, want.Count)
		}
	}

	// What RangeStream leaves to Range: other orders, revision filters.
	refused := []struct {
		opts    []clientv3.OpOption
		message string
	}{
		{[]clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend)}, "RangeStream does not support custom sort orders"},
		{[]clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithMinModRev(first.Header.Revision)}, "RangeStream does not support revision filters"},
	}
	for _, tc := range refused {
		ch, err := cli.GetStream(ctx, "/opt/stream/", tc.opts...)
		if err == nil {
			_, err = clientv3.GetStreamToGetResponse(ch)
		}
		if status.Code(err) != codes.Unimplemented || status.Convert(err).Message() != tc.message {
			t.Fatalf("error %v; want Unimplemented %q", err, tc.message)
		}
	}
}
