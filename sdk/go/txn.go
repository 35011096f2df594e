package cairn

import (
	"context"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc"
)

// Cmp is one condition of a transaction. Build it from a target:
//
//	cairn.Value("k").Equal("v")
//	cairn.Version("k").Greater(5)
//	cairn.CreateRevision("k").Equal(0) // the key does not exist
//	cairn.ModRevision("k").Less(rev)
//
// A key that does not exist has version, create and mod revision 0 and no value.
type Cmp struct{ pb *cairnv1.Compare }

// ValueTarget compares the value of a key.
type ValueTarget struct{ key string }

// RevisionTarget compares a counter of a key: its version, create or mod revision.
type RevisionTarget struct {
	key    string
	target cairnv1.Compare_CompareTarget
}

// Value targets the value of key.
func Value(key string) ValueTarget { return ValueTarget{key} }

// Version targets the version of key (puts since its creation; 0 when it does not exist).
func Version(key string) RevisionTarget {
	return RevisionTarget{key, cairnv1.Compare_COMPARE_TARGET_VERSION}
}

// CreateRevision targets the revision that created key (0 when it does not exist).
func CreateRevision(key string) RevisionTarget {
	return RevisionTarget{key, cairnv1.Compare_COMPARE_TARGET_CREATE}
}

// ModRevision targets the revision of the last change to key (0 when it does not exist).
func ModRevision(key string) RevisionTarget {
	return RevisionTarget{key, cairnv1.Compare_COMPARE_TARGET_MOD}
}

func (t ValueTarget) cmp(r cairnv1.Compare_CompareResult, v string) Cmp {
	return Cmp{&cairnv1.Compare{
		Result: r, Target: cairnv1.Compare_COMPARE_TARGET_VALUE, Key: []byte(t.key),
		TargetUnion: &cairnv1.Compare_Value{Value: []byte(v)},
	}}
}

// Equal holds when the value is v.
func (t ValueTarget) Equal(v string) Cmp { return t.cmp(cairnv1.Compare_COMPARE_RESULT_EQUAL, v) }

// NotEqual holds when the value is not v.
func (t ValueTarget) NotEqual(v string) Cmp {
	return t.cmp(cairnv1.Compare_COMPARE_RESULT_NOT_EQUAL, v)
}

// Greater holds when the value sorts after v, bytewise.
func (t ValueTarget) Greater(v string) Cmp {
	return t.cmp(cairnv1.Compare_COMPARE_RESULT_GREATER, v)
}

// Less holds when the value sorts before v, bytewise.
func (t ValueTarget) Less(v string) Cmp { return t.cmp(cairnv1.Compare_COMPARE_RESULT_LESS, v) }

func (t RevisionTarget) cmp(r cairnv1.Compare_CompareResult, n int64) Cmp {
	pb := &cairnv1.Compare{Result: r, Target: t.target, Key: []byte(t.key)}
	switch t.target {
	case cairnv1.Compare_COMPARE_TARGET_VERSION:
		pb.TargetUnion = &cairnv1.Compare_Version{Version: n}
	case cairnv1.Compare_COMPARE_TARGET_CREATE:
		pb.TargetUnion = &cairnv1.Compare_CreateRevision{CreateRevision: n}
	default:
		pb.TargetUnion = &cairnv1.Compare_ModRevision{ModRevision: n}
	}
	return Cmp{pb}
}

// Equal holds when the counter is n.
func (t RevisionTarget) Equal(n int64) Cmp {
	return t.cmp(cairnv1.Compare_COMPARE_RESULT_EQUAL, n)
}

// NotEqual holds when the counter is not n.
func (t RevisionTarget) NotEqual(n int64) Cmp {
	return t.cmp(cairnv1.Compare_COMPARE_RESULT_NOT_EQUAL, n)
}

// Greater holds when the counter is above n.
func (t RevisionTarget) Greater(n int64) Cmp {
	return t.cmp(cairnv1.Compare_COMPARE_RESULT_GREATER, n)
}

// Less holds when the counter is below n.
func (t RevisionTarget) Less(n int64) Cmp {
	return t.cmp(cairnv1.Compare_COMPARE_RESULT_LESS, n)
}

// Op is one operation of a transaction.
type Op struct {
	pb    *cairnv1.RequestOp
	write bool
}

// OpGet reads key inside a transaction (options as for Client.Get; consistency options are
// ignored: a transaction is always linearizable).
func OpGet(key string, opts ...OpOption) Op {
	o := buildOp(opts)
	o.consistency = linearizable
	return Op{pb: &cairnv1.RequestOp{Request: &cairnv1.RequestOp_RequestRange{RequestRange: rangeRequest(key, o)}}}
}

// OpPut sets key to val inside a transaction (options: WithPrevKV, WithLease).
func OpPut(key, val string, opts ...OpOption) Op {
	return Op{pb: &cairnv1.RequestOp{Request: &cairnv1.RequestOp_RequestPut{RequestPut: putRequest(key, val, buildOp(opts))}}, write: true}
}

// OpDelete deletes key inside a transaction (options: WithPrefix, WithRange, WithPrevKV).
func OpDelete(key string, opts ...OpOption) Op {
	return Op{pb: &cairnv1.RequestOp{Request: &cairnv1.RequestOp_RequestDeleteRange{RequestDeleteRange: deleteRequest(key, buildOp(opts))}}, write: true}
}

// Txn builds a transaction: if every compare holds, the Then operations run, otherwise the
// Else operations, all atomically at one revision.
//
//	resp, err := client.Txn(ctx).
//		If(cairn.Value("k").Equal("old")).
//		Then(cairn.OpPut("k", "new")).
//		Else(cairn.OpGet("k")).
//		Commit()
type Txn struct {
	c           *Client
	ctx         context.Context
	cmps        []Cmp
	then, els   []Op
	retryUnsafe bool
}

// Txn starts a transaction bound to ctx. Options: WithRetryUnsafe.
func (c *Client) Txn(ctx context.Context, opts ...OpOption) *Txn {
	return &Txn{c: c, ctx: ctx, retryUnsafe: buildOp(opts).retryUnsafe}
}

// If adds compares; all of them must hold for Then to run.
func (t *Txn) If(cmps ...Cmp) *Txn { t.cmps = append(t.cmps, cmps...); return t }

// Then adds operations run when every compare holds.
func (t *Txn) Then(ops ...Op) *Txn { t.then = append(t.then, ops...); return t }

// Else adds operations run when a compare fails.
func (t *Txn) Else(ops ...Op) *Txn { t.els = append(t.els, ops...); return t }

// OpResponse is the result of one transaction operation; exactly one field is set.
type OpResponse struct {
	Get    *GetResponse
	Put    *PutResponse
	Delete *DeleteResponse
}

// TxnResponse reports a transaction.
type TxnResponse struct {
	// Header.Revision is the revision of the transaction (unchanged if it wrote nothing).
	Header Header
	// Succeeded is true when every compare held and the Then operations ran.
	Succeeded bool
	// Responses are the results of the operations that ran, in order.
	Responses []OpResponse
}

// Commit sends the transaction. A transaction with writes is retried like a write; one
// with only reads like a read.
func (t *Txn) Commit() (*TxnResponse, error) {
	req := &cairnv1.TxnRequest{}
	kind := readCall
	for _, c := range t.cmps {
		req.Compare = append(req.Compare, c.pb)
	}
	for _, list := range []struct {
		ops []Op
		dst *[]*cairnv1.RequestOp
	}{{t.then, &req.Success}, {t.els, &req.Failure}} {
		for _, op := range list.ops {
			*list.dst = append(*list.dst, op.pb)
			if op.write {
				kind = writeCall
			}
		}
	}
	if kind == writeCall && t.retryUnsafe {
		kind = unsafeWriteCall
	}
	var resp *cairnv1.TxnResponse
	err := t.c.invoke(t.ctx, kind, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewKVServiceClient(cc).Txn(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &TxnResponse{Header: fromHeader(resp.GetHeader()), Succeeded: resp.GetSucceeded()}
	for _, r := range resp.GetResponses() {
		var or OpResponse
		switch {
		case r.GetResponseRange() != nil:
			or.Get = fromRangeResponse(r.GetResponseRange())
		case r.GetResponsePut() != nil:
			or.Put = fromPutResponse(r.GetResponsePut())
		case r.GetResponseDeleteRange() != nil:
			or.Delete = fromDeleteResponse(r.GetResponseDeleteRange())
		}
		out.Responses = append(out.Responses, or)
	}
	return out, nil
}
