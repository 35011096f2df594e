package clientv3compat

import (
	"context"
	"errors"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// transient tells whether an error is one etcd's clients retry by hand: Unavailable, which
// etcd answers while a leader is being elected ("request timed out, possibly due to previous
// leader failure", "no leader", "leader changed") and clientv3 does not retry for requests
// that are not idempotent (txn, put, delete).
func transient(err error) bool {
	var etcdErr rpctypes.EtcdError
	if errors.As(err, &etcdErr) {
		return etcdErr.Code() == codes.Unavailable
	}
	return status.Code(err) == codes.Unavailable
}

// retry runs op until it succeeds or fails with an error that is not transient, as an etcd
// application does across a leader change. Callers make op safe to repeat (a compare in the
// txn, or a request that changes nothing the second time): a timed-out request may have
// been applied.
func retry(t *testing.T, ctx context.Context, op func() error) {
	t.Helper()
	for {
		err := op()
		if err == nil {
			return
		}
		if !transient(err) || ctx.Err() != nil {
			t.Fatal(err)
		}
		t.Logf("retrying after a transient error: %v", err)
	}
}
