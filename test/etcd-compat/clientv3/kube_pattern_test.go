package clientv3compat

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// kubeResult is what a kube-apiserver-like client sees of one run, with every revision made
// relative to the run's first one, so runs against etcd and Cairn compare field by field.
type kubeResult struct {
	Pages           []kubePage
	Total           int
	WatchEvents     []string
	ProgressNotify  bool
	UpdateOK        bool
	StaleUpdateOK   bool
	StaleUpdateSeen string
	LeaseEvents     []string
}

type kubePage struct {
	First, Last string
	Len         int
	Count       int64
	More        bool
}

const (
	kubeObjects  = 5000
	kubePageSize = 500
	kubePrefix   = "/registry/pods/default/"
)

// The access pattern of Kubernetes' API server, replayed with clientv3 against etcd and
// Cairn: a paginated list at a fixed revision over a large prefix (limit and continuation,
// as the apiserver's storage layer does it), a watch from that revision with progress
// notifications, optimistic updates by mod_revision compare, and lease-bound objects
// (events) deleted on expiry. Both servers must give the same result.
func TestKubeAPIServerPattern(t *testing.T) {
	results := map[string]kubeResult{}
	forEachTarget(t, func(t *testing.T, c *cluster) {
		results[t.Name()] = kubePattern(t, c)
	})
	etcd, cairn := results[t.Name()+"/etcd"], results[t.Name()+"/cairn"]
	if _, ran := results[t.Name()+"/cairn"]; !ran {
		return
	}
	if !reflect.DeepEqual(etcd, cairn) {
		t.Fatalf("Cairn differs from etcd:\netcd:  %+v\ncairn: %+v", etcd, cairn)
	}
}

func kubePattern(t *testing.T, c *cluster) kubeResult {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout*5)
	defer cancel()
	cli := c.client()
	var r kubeResult

	// Create the objects, 100 to a transaction (below both servers' txn op limit), each
	// transaction guarded by its first key's absence so that a retry cannot apply it twice.
	for i := 0; i < kubeObjects; i += 100 {
		ops := make([]clientv3.Op, 0, 100)
		for j := i; j < i+100; j++ {
			ops = append(ops, clientv3.OpPut(fmt.Sprintf("%spod-%05d", kubePrefix, j), fmt.Sprintf(`{"kind":"Pod","n":%d}`, j)))
		}
		first := fmt.Sprintf("%spod-%05d", kubePrefix, i)
		retry(t, ctx, func() error {
			_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(first), "=", 0)).Then(ops...).Commit()
			return err
		})
	}
	var listed *clientv3.GetResponse
	retry(t, ctx, func() (err error) {
		listed, err = cli.Get(ctx, kubePrefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err
	})
	listRev := listed.Header.Revision

	// Changes after the list's revision, each safe to retry: the paginated list must not
	// see them, the watch must see each once.
	changed, added := kubePrefix+"pod-00001", kubePrefix+"pod-99999"
	retry(t, ctx, func() error {
		_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(changed), "!=", "changed")).Then(clientv3.OpPut(changed, "changed")).Commit()
		return err
	})
	retry(t, ctx, func() error {
		_, err := cli.Delete(ctx, kubePrefix+"pod-00002")
		return err
	})
	retry(t, ctx, func() error {
		_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(added), "=", 0)).Then(clientv3.OpPut(added, "new")).Commit()
		return err
	})

	// The apiserver's list: limit, then continue from the last key + "\x00" at the same revision.
	end := clientv3.GetPrefixRangeEnd(kubePrefix)
	key := kubePrefix
	for {
		var page *clientv3.GetResponse
		retry(t, ctx, func() (err error) {
			page, err = cli.Get(ctx, key, clientv3.WithRange(end), clientv3.WithLimit(kubePageSize), clientv3.WithRev(listRev))
			return err
		})
		if page.Header.Revision < listRev {
			t.Fatalf("page header revision %d below the list's %d", page.Header.Revision, listRev)
		}
		p := kubePage{Len: len(page.Kvs), Count: page.Count, More: page.More}
		for _, kv := range page.Kvs {
			if kv.ModRevision > listRev {
				t.Fatalf("key %s at revision %d in a list at %d", kv.Key, kv.ModRevision, listRev)
			}
		}
		if len(page.Kvs) > 0 {
			p.First, p.Last = string(page.Kvs[0].Key), string(page.Kvs[len(page.Kvs)-1].Key)
			key = p.Last + "\x00"
		}
		r.Pages = append(r.Pages, p)
		r.Total += p.Len
		if !page.More {
			break
		}
	}
	if r.Total != kubeObjects {
		t.Fatalf("paginated list at revision %d returned %d objects, want %d", listRev, r.Total, kubeObjects)
	}

	// The watch from the list's revision + 1 sees exactly the three later changes, then a
	// progress notification on request (the apiserver's consistent-read-from-cache check).
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	events := cli.Watch(wctx, kubePrefix, clientv3.WithPrefix(), clientv3.WithRev(listRev+1), clientv3.WithProgressNotify(), clientv3.WithPrevKV())
	for len(r.WatchEvents) < 3 {
		resp, ok := <-events
		if !ok || resp.Err() != nil {
			t.Fatalf("watch ended: %v", resp.Err())
		}
		for _, ev := range resp.Events {
			prev := ""
			if ev.PrevKv != nil {
				prev = " prev " + string(ev.PrevKv.Value)
			}
			r.WatchEvents = append(r.WatchEvents, fmt.Sprintf("%s %s @+%d%s", ev.Type, ev.Kv.Key, ev.Kv.ModRevision-listRev, prev))
		}
	}
	retry(t, ctx, func() error { return cli.RequestProgress(wctx) })
	for !r.ProgressNotify {
		resp, ok := <-events
		if !ok || resp.Err() != nil {
			t.Fatalf("watch ended before a progress notification: %v", resp.Err())
		}
		if len(resp.Events) > 0 {
			t.Fatalf("unexpected events %v", resp.Events)
		}
		if resp.IsProgressNotify() && resp.Header.Revision >= listRev+3 {
			r.ProgressNotify = true
		}
	}

	// Optimistic concurrency: update guarded by the mod_revision read, then a stale retry.
	obj := kubePrefix + "pod-00003"
	var read *clientv3.GetResponse
	retry(t, ctx, func() (err error) {
		read, err = cli.Get(ctx, obj)
		return err
	})
	modRev := read.Kvs[0].ModRevision
	update := func(value string) (resp *clientv3.TxnResponse) {
		// Not retried: a retry of an applied update would rightly fail its compare, and
		// the result would then depend on a timeout.
		resp, err := cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(obj), "=", modRev)).
			Then(clientv3.OpPut(obj, value)).
			Else(clientv3.OpGet(obj)).
			Commit()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	r.UpdateOK = update("v2").Succeeded
	stale := update("v3")
	r.StaleUpdateOK = stale.Succeeded
	if !stale.Succeeded {
		r.StaleUpdateSeen = string(stale.Responses[0].GetResponseRange().Kvs[0].Value)
	}

	// Lease-bound objects (the apiserver's events): both deleted, in one revision, on expiry.
	var lease *clientv3.LeaseGrantResponse
	retry(t, ctx, func() (err error) {
		lease, err = cli.Grant(ctx, 2)
		return err
	})
	leased := cli.Watch(wctx, "/registry/events/", clientv3.WithPrefix(), clientv3.WithRev(listRev+1))
	for _, k := range []string{"/registry/events/e1", "/registry/events/e2"} {
		retry(t, ctx, func() error {
			_, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(k), "=", 0)).Then(clientv3.OpPut(k, "event", clientv3.WithLease(lease.ID))).Commit()
			return err
		})
	}
	deleteRev := int64(0)
	for len(r.LeaseEvents) < 4 {
		resp, ok := <-leased
		if !ok || resp.Err() != nil {
			t.Fatalf("lease watch ended: %v", resp.Err())
		}
		for _, ev := range resp.Events {
			r.LeaseEvents = append(r.LeaseEvents, fmt.Sprintf("%s %s", ev.Type, ev.Kv.Key))
			if ev.Type == clientv3.EventTypeDelete {
				if deleteRev != 0 && deleteRev != ev.Kv.ModRevision {
					t.Fatalf("the lease's keys were deleted at revisions %d and %d, not in one", deleteRev, ev.Kv.ModRevision)
				}
				deleteRev = ev.Kv.ModRevision
			}
		}
	}
	if os.Getenv("CAIRN_ETCD_COMPAT_VERBOSE") != "" {
		t.Logf("%s: %+v", c.kind, r)
	}
	return r
}
