package clientv3compat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// A mutex held across a leader kill stays held by its owner: the owner's session survives
// the election, a second client's TryLock is refused until the owner unlocks, and then the
// second client gets the lock with a larger revision (its fencing token).
func TestMutexUnderLeaderKill(t *testing.T) {
	forEachTarget(t, func(t *testing.T, c *cluster) {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout*3)
		defer cancel()
		s1 := newSession(t, c.client())
		s2 := newSession(t, c.client())
		m1 := concurrency.NewMutex(s1, "/compat/mutex")
		m2 := concurrency.NewMutex(s2, "/compat/mutex")
		retry(t, ctx, func() error { return m1.Lock(ctx) })
		leader := c.leader()
		leader.kill()

		// The owner's guarded write goes through once a new leader is elected (clientv3
		// retries on another endpoint): the lock survived the kill.
		var put *clientv3.TxnResponse
		retry(t, ctx, func() (err error) {
			put, err = s1.Client().Txn(ctx).If(m1.IsOwner()).Then(clientv3.OpPut("/compat/guarded", "m1")).Commit()
			return err
		})
		if !put.Succeeded {
			t.Fatal("m1 lost the lock across the leader kill")
		}
		retry(t, ctx, func() error {
			err := m2.TryLock(ctx)
			if err == nil {
				t.Fatal("m2's TryLock succeeded while m1 holds the lock")
			}
			if errors.Is(err, concurrency.ErrLocked) {
				return nil
			}
			return err
		})
		if err := leader.start(); err != nil {
			t.Fatal(err)
		}
		retry(t, ctx, func() error { return m1.Unlock(ctx) })
		retry(t, ctx, func() error { return m2.Lock(ctx) })
		if m2.Header().Revision <= put.Header.Revision {
			t.Fatalf("m2 locked at revision %d, not after m1's guarded write at %d", m2.Header().Revision, put.Header.Revision)
		}
		var stale *clientv3.TxnResponse
		retry(t, ctx, func() (err error) {
			stale, err = s1.Client().Txn(ctx).If(m1.IsOwner()).Then(clientv3.OpPut("/compat/guarded", "m1 again")).Commit()
			return err
		})
		if stale.Succeeded {
			t.Fatal("m1's guarded write succeeded after it unlocked and m2 locked")
		}
		retry(t, ctx, func() error { return m2.Unlock(ctx) })
	})
}

// An election keeps its leader across a leader kill of the cluster; the waiting candidate
// becomes leader only when the first resigns, and an observer sees both in order.
func TestElectionUnderLeaderKill(t *testing.T) {
	forEachTarget(t, func(t *testing.T, c *cluster) {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout*3)
		defer cancel()
		e1 := concurrency.NewElection(newSession(t, c.client()), "/compat/election")
		e2 := concurrency.NewElection(newSession(t, c.client()), "/compat/election")
		observer := concurrency.NewElection(newSession(t, c.client()), "/compat/election")
		retry(t, ctx, func() error { return e1.Campaign(ctx, "a") })
		observed := observer.Observe(ctx)
		if got := string((<-observed).Kvs[0].Value); got != "a" {
			t.Fatalf("observer sees %q first, want a", got)
		}
		e2won := make(chan error, 1)
		go func() {
			// Campaign again after a transient error: with the same session it finds its own
			// key and waits on, as a candidate does across a leader change.
			for {
				err := e2.Campaign(ctx, "b")
				if err == nil || !transient(err) || ctx.Err() != nil {
					e2won <- err
					return
				}
			}
		}()

		leader := c.leader()
		leader.kill()
		var got *clientv3.GetResponse
		retry(t, ctx, func() (err error) {
			got, err = e1.Leader(ctx)
			return err
		})
		if string(got.Kvs[0].Value) != "a" {
			t.Fatalf("leader after the kill: %q, want a", got.Kvs[0].Value)
		}
		if err := leader.start(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-e2won:
			t.Fatalf("b won the election while a leads (err %v)", err)
		default:
		}
		retry(t, ctx, func() error { return e1.Resign(ctx) })
		if err := <-e2won; err != nil {
			t.Fatal(err)
		}
		for resp := range observed {
			if v := string(resp.Kvs[0].Value); v == "b" {
				return
			} else if v != "a" {
				t.Fatalf("observer saw %q", v)
			}
		}
		t.Fatal("observer stopped before seeing b")
	})
}

// Serializable STM transactions from concurrent clients: every increment counted once.
func TestSTMConcurrentIncrements(t *testing.T) {
	forEachTarget(t, func(t *testing.T, c *cluster) {
		const workers, increments = 4, 15
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout*3)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			cli := c.client()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < increments; i++ {
					_, err := concurrency.NewSTM(cli, func(s concurrency.STM) error {
						n := 0
						if v := s.Get("/compat/stm/counter"); v != "" {
							var err error
							if n, err = strconv.Atoi(v); err != nil {
								return err
							}
						}
						// A second key written in the same transaction: both or neither.
						s.Put("/compat/stm/counter", strconv.Itoa(n+1))
						s.Put(fmt.Sprintf("/compat/stm/by/%d", n+1), "x")
						return nil
					}, concurrency.WithIsolation(concurrency.Serializable), concurrency.WithAbortContext(ctx))
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		cli := c.client()
		got, err := cli.Get(ctx, "/compat/stm/counter")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != strconv.Itoa(workers*increments) {
			t.Fatalf("counter %v, want %d", got.Kvs, workers*increments)
		}
		by, err := cli.Get(ctx, "/compat/stm/by/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if by.Count != workers*increments {
			t.Fatalf("%d distinct counter values written, want %d", by.Count, workers*increments)
		}
	})
}

func newSession(t *testing.T, cli *clientv3.Client) *concurrency.Session {
	t.Helper()
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(30))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
