package cairn_test

import (
	"context"
	"testing"

	cairn "github.com/cairn-dev/cairn/sdk/go"
)

type service struct {
	Name     string `json:"name"`
	Replicas int    `json:"replicas"`
}

func testConfig(t *testing.T, c *cairn.Client) {
	ctx := timeout(t, testBound)
	put, err := c.Put(ctx, "cfg/web", `{"name":"web","replicas":3}`)
	if err != nil {
		t.Fatal(err)
	}
	got, rev, err := cairn.GetConfig[service](ctx, c, "cfg/web")
	if err != nil || got == nil || *got != (service{"web", 3}) || rev != put.Header.Revision {
		t.Fatalf("GetConfig = %+v at %d, %v; want web/3 at %d", got, rev, err, put.Header.Revision)
	}
	if got, rev, err := cairn.GetConfig[service](ctx, c, "cfg/none"); got != nil || rev != 0 || err != nil {
		t.Errorf("GetConfig of a missing key = %+v at %d, %v; want nil at 0, no error", got, rev, err)
	}
	if _, err := c.Put(ctx, "cfg/bad", `{"name":`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cairn.GetConfig[service](ctx, c, "cfg/bad"); err == nil {
		t.Error("GetConfig of invalid JSON succeeded")
	}
}

func testWatchConfig(t *testing.T, c *cairn.Client) {
	ctx := timeout(t, testBound)
	first, err := c.Put(ctx, "cfg/api", `{"name":"api","replicas":1}`)
	if err != nil {
		t.Fatal(err)
	}
	updates := cairn.WatchConfig[service](ctx, c, "cfg/api")
	next := func() cairn.ConfigUpdate[service] {
		t.Helper()
		select {
		case u, ok := <-updates:
			if !ok {
				t.Fatal("config watch closed")
			}
			return u
		case <-ctx.Done():
			t.Fatal("no config update in time")
		}
		panic("unreachable")
	}
	if u := next(); u.Err != nil || u.Value != (service{"api", 1}) || u.Revision != first.Header.Revision {
		t.Fatalf("first update = %+v; want the current api/1 at %d", u, first.Header.Revision)
	}
	var revs []int64
	for _, v := range []string{`{"name":"api","replicas":2}`, `not json`, `{"name":"api","replicas":5}`} {
		p, err := c.Put(ctx, "cfg/api", v)
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, p.Header.Revision)
	}
	if _, err := c.Put(ctx, "cfg/other", `{}`); err != nil { // not watched
		t.Fatal(err)
	}
	del, err := c.Delete(ctx, "cfg/api")
	if err != nil {
		t.Fatal(err)
	}
	if u := next(); u.Err != nil || u.Value.Replicas != 2 || u.Revision != revs[0] {
		t.Errorf("second update = %+v; want replicas 2 at %d", u, revs[0])
	}
	if u := next(); u.Err == nil || u.Revision != revs[1] {
		t.Errorf("third update = %+v; want a decoding error at %d", u, revs[1])
	}
	if u := next(); u.Err != nil || u.Value.Replicas != 5 || u.Revision != revs[2] {
		t.Errorf("fourth update = %+v; want replicas 5 at %d", u, revs[2])
	}
	if u := next(); !u.Deleted || u.Revision != del.Header.Revision {
		t.Errorf("fifth update = %+v; want the delete at %d", u, del.Header.Revision)
	}

	// A key that does not exist: the first update says so at once, as in the other SDKs.
	mctx, stop := context.WithCancel(ctx)
	defer stop()
	select {
	case u := <-cairn.WatchConfig[service](mctx, c, "cfg/missing"):
		if !u.Deleted || u.Err != nil || u.Value != (service{}) || u.Revision < del.Header.Revision {
			t.Errorf("first update of a missing key = %+v; want Deleted at a revision >= %d", u, del.Header.Revision)
		}
	case <-ctx.Done():
		t.Fatal("no first update for a missing key")
	}
}
