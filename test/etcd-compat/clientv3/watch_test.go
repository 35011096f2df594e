package clientv3compat

import (
	"context"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A watch through a client that knows one member only, resumed by clientv3 after that
// member is killed and restarted: every change made before, during and after the outage
// arrives once, in revision order.
func TestWatchResumedAcrossMemberRestart(t *testing.T) {
	forEachTarget(t, func(t *testing.T, c *cluster) {
		const before, during, after = 10, 10, 10
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout*3)
		defer cancel()
		watched := c.members[0]
		writer := c.client(c.members[1].endpoint, c.members[2].endpoint)
		var start *clientv3.GetResponse
		retry(t, ctx, func() (err error) {
			start, err = writer.Get(ctx, "/compat/watch/")
			return err
		})
		watcher := c.client(watched.endpoint)
		events := watcher.Watch(ctx, "/compat/watch/", clientv3.WithPrefix(), clientv3.WithRev(start.Header.Revision+1))

		put := func(from, n int) {
			for i := from; i < from+n; i++ {
				// Created only if absent: a retry of a put that timed out but was applied
				// must not make a second event.
				key := fmt.Sprintf("/compat/watch/%03d", i)
				retry(t, ctx, func() error {
					_, err := writer.Txn(ctx).If(clientv3.Compare(clientv3.Version(key), "=", 0)).Then(clientv3.OpPut(key, "v")).Commit()
					return err
				})
			}
		}
		var got []string
		lastRev := start.Header.Revision
		receive := func(n int) {
			for len(got) < n {
				resp, ok := <-events
				if !ok {
					t.Fatalf("watch channel closed after %d events: %v", len(got), ctx.Err())
				}
				if resp.Err() != nil {
					t.Logf("watch response error (clientv3 resumes): %v", resp.Err())
					continue
				}
				for _, ev := range resp.Events {
					if ev.Kv.ModRevision <= lastRev {
						t.Fatalf("event at revision %d after one at %d: duplicated or out of order", ev.Kv.ModRevision, lastRev)
					}
					lastRev = ev.Kv.ModRevision
					got = append(got, string(ev.Kv.Key))
				}
			}
		}
		put(0, before)
		receive(before)
		watched.kill()
		put(before, during)
		if err := watched.start(); err != nil {
			t.Fatal(err)
		}
		// One more change after the last counted one: a duplicate delivered late would come
		// before it and show as an extra event.
		put(before+during, after+1)
		receive(before + during + after + 1)
		for i, key := range got {
			if want := fmt.Sprintf("/compat/watch/%03d", i); key != want {
				t.Fatalf("event %d is %s, want %s (all: %v)", i, key, want, got)
			}
		}
		if len(got) != before+during+after+1 {
			t.Fatalf("%d events, want %d", len(got), before+during+after+1)
		}
	})
}
