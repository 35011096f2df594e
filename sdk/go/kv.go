package cairn

import (
	"context"
	"time"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	"google.golang.org/grpc"
)

// PutResponse reports a put.
type PutResponse struct {
	Header Header
	// PrevKV is the previous version of the key, when asked for with WithPrevKV and the
	// key existed.
	PrevKV *KeyValue
}

// GetResponse holds the keys a read returned.
type GetResponse struct {
	Header Header
	// Kvs are the keys read, in key order.
	Kvs []KeyValue
	// Count is the number of keys in the range, regardless of WithLimit.
	Count int64
	// More is true when WithLimit cut the result short.
	More bool
}

// DeleteResponse reports a delete.
type DeleteResponse struct {
	Header  Header
	Deleted int64
	// PrevKVs are the deleted keys, when asked for with WithPrevKV.
	PrevKVs []KeyValue
}

// Put sets key to val. Options: WithPrevKV, WithLease, WithRetryUnsafe.
func (c *Client) Put(ctx context.Context, key, val string, opts ...OpOption) (*PutResponse, error) {
	o := buildOp(opts)
	req := putRequest(key, val, o)
	var resp *cairnv1.PutResponse
	err := c.invoke(ctx, o.writeKind(), func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewKVServiceClient(cc).Put(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fromPutResponse(resp), nil
}

// Get reads key. Options: Linearizable (default), Stale, MaxStaleness, AtRevision,
// WithPrefix, WithRange, WithSort, WithLimit, WithKeysOnly, WithCountOnly. A missing key gives an
// empty Kvs, not an error.
func (c *Client) Get(ctx context.Context, key string, opts ...OpOption) (*GetResponse, error) {
	req := rangeRequest(key, buildOp(opts))
	var resp *cairnv1.RangeResponse
	err := c.invoke(ctx, readCall, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewKVServiceClient(cc).Range(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fromRangeResponse(resp), nil
}

// GetPrefix reads every key starting with prefix; it is Get with WithPrefix.
func (c *Client) GetPrefix(ctx context.Context, prefix string, opts ...OpOption) (*GetResponse, error) {
	return c.Get(ctx, prefix, append(opts, WithPrefix())...)
}

// Delete deletes key, or the keys selected with WithPrefix or WithRange. Options also:
// WithPrevKV, WithRetryUnsafe.
func (c *Client) Delete(ctx context.Context, key string, opts ...OpOption) (*DeleteResponse, error) {
	o := buildOp(opts)
	req := deleteRequest(key, o)
	var resp *cairnv1.DeleteRangeResponse
	err := c.invoke(ctx, o.writeKind(), func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewKVServiceClient(cc).DeleteRange(ctx, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fromDeleteResponse(resp), nil
}

// Compact discards the history before revision: reads and watches below it fail with an
// error matching ErrCompacted afterwards. It returns the header of the revision the
// compaction was recorded at. Option: WithPhysical. Compacting twice at one revision is
// harmless, so Compact is retried like a read.
func (c *Client) Compact(ctx context.Context, revision int64, opts ...OpOption) (Header, error) {
	req := &cairnv1.CompactRequest{Revision: revision, Physical: buildOp(opts).physical}
	var resp *cairnv1.CompactResponse
	err := c.invoke(ctx, readCall, func(ctx context.Context, cc *grpc.ClientConn) (err error) {
		resp, err = cairnv1.NewKVServiceClient(cc).Compact(ctx, req)
		return err
	})
	if err != nil {
		return Header{}, err
	}
	return fromHeader(resp.GetHeader()), nil
}

func putRequest(key, val string, o op) *cairnv1.PutRequest {
	return &cairnv1.PutRequest{Key: []byte(key), Value: []byte(val), PrevKv: o.prevKV, Lease: int64(o.lease)}
}

func rangeRequest(key string, o op) *cairnv1.RangeRequest {
	k, end := o.keyRange(key)
	req := &cairnv1.RangeRequest{
		Key: k, RangeEnd: end, Revision: o.revision, Limit: o.limit,
		KeysOnly: o.keysOnly, CountOnly: o.countOnly,
		SortTarget: cairnv1.RangeRequest_SortTarget(o.sortTarget), SortOrder: cairnv1.RangeRequest_SortOrder(o.sortOrder),
	}
	switch o.consistency {
	case stale:
		req.Serializable = true
	case bounded:
		req.Serializable = true
		req.MaxStalenessMs = durationMs(o.maxStaleness)
	}
	return req
}

func deleteRequest(key string, o op) *cairnv1.DeleteRangeRequest {
	k, end := o.keyRange(key)
	return &cairnv1.DeleteRangeRequest{Key: k, RangeEnd: end, PrevKv: o.prevKV}
}

func fromPutResponse(r *cairnv1.PutResponse) *PutResponse {
	return &PutResponse{Header: fromHeader(r.GetHeader()), PrevKV: fromKVPtr(r.GetPrevKv())}
}

func fromRangeResponse(r *cairnv1.RangeResponse) *GetResponse {
	return &GetResponse{Header: fromHeader(r.GetHeader()), Kvs: fromKVs(r.GetKvs()), Count: r.GetCount(), More: r.GetMore()}
}

func fromDeleteResponse(r *cairnv1.DeleteRangeResponse) *DeleteResponse {
	return &DeleteResponse{Header: fromHeader(r.GetHeader()), Deleted: r.GetDeleted(), PrevKVs: fromKVs(r.GetPrevKvs())}
}

// durationMs is d in whole milliseconds, at least 1 for a positive d.
func durationMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return max(1, d.Milliseconds())
}
