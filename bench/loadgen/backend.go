package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"strconv"
	"sync"
	"time"

	cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Backend is what a workload needs of a store. Every call names the connection to use
// (0 <= conn < Conns()); connection i goes to endpoint i mod len(endpoints), so the load is
// spread evenly over the members of a cluster, for both stores alike.
type Backend interface {
	Conns() int
	// Put sets key and returns the revision of the write.
	Put(ctx context.Context, conn int, key, value []byte) (rev int64, err error)
	// Get reads one key, linearizable or serializable, and returns the header revision.
	Get(ctx context.Context, conn int, key []byte, serializable bool) (rev int64, err error)
	// CAS puts value if key's mod revision is modRev, else reads key; it returns whether
	// the put happened and the key's mod revision afterwards (0 when absent).
	CAS(ctx context.Context, conn int, key []byte, modRev int64, value []byte) (ok bool, newModRev int64, err error)
	// PutAll puts every key in one transaction and returns its revision.
	PutAll(ctx context.Context, conn int, keys, values [][]byte) (rev int64, err error)
	// OpenWatchStream opens watch stream number stream on connection conn; errors that end
	// or cancel its watchers later are given to onErr. The stream lives as long as ctx.
	OpenWatchStream(ctx context.Context, conn, stream int, onErr func(error)) (WatchStream, error)
	Close() error
}

// WatchFunc receives one event: its revision and value. Calls for one watcher never overlap.
type WatchFunc func(rev int64, value []byte)

// WatchStream carries many watchers.
type WatchStream interface {
	// Watch adds a watcher on key from startRev and returns once the server confirmed it.
	Watch(ctx context.Context, key []byte, startRev int64, fn WatchFunc) error
}

func newBackend(target string, endpoints []string, conns int, tlsConfig *tls.Config) (Backend, error) {
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("no endpoints")
	}
	if conns < 1 {
		conns = 1
	}
	switch target {
	case "cairn":
		return newCairn(endpoints, conns, tlsConfig)
	case "etcd":
		return newEtcd(endpoints, conns, tlsConfig)
	}
	return nil, fmt.Errorf("unknown target %q (cairn or etcd)", target)
}

// ---- Cairn, on the generated gRPC stubs (gen/go): no retries, no failover, one HTTP/2
// connection per grpc.ClientConn. (The SDK's failover and retries are not what is measured.)

type cairnBackend struct {
	conns []*grpc.ClientConn
	kv    []cairnv1.KVServiceClient
	watch []cairnv1.WatchServiceClient
}

func newCairn(endpoints []string, n int, tlsConfig *tls.Config) (*cairnBackend, error) {
	b := &cairnBackend{}
	creds := insecure.NewCredentials()
	if tlsConfig != nil {
		creds = credentials.NewTLS(tlsConfig)
	}
	for i := 0; i < n; i++ {
		// WaitForReady, as clientv3 does by default: a call waits for the connection rather
		// than failing while it (re)connects.
		cc, err := grpc.NewClient(endpoints[i%len(endpoints)], grpc.WithTransportCredentials(creds),
			grpc.WithDefaultCallOptions(grpc.WaitForReady(true)))
		if err != nil {
			b.Close()
			return nil, err
		}
		cc.Connect()
		b.conns = append(b.conns, cc)
		b.kv = append(b.kv, cairnv1.NewKVServiceClient(cc))
		b.watch = append(b.watch, cairnv1.NewWatchServiceClient(cc))
	}
	return b, nil
}

func (b *cairnBackend) Conns() int { return len(b.conns) }

func (b *cairnBackend) Close() error {
	for _, cc := range b.conns {
		cc.Close()
	}
	return nil
}

func (b *cairnBackend) Put(ctx context.Context, conn int, key, value []byte) (int64, error) {
	resp, err := b.kv[conn].Put(ctx, &cairnv1.PutRequest{Key: key, Value: value})
	if err != nil {
		return 0, err
	}
	return resp.GetHeader().GetRevision(), nil
}

func (b *cairnBackend) Get(ctx context.Context, conn int, key []byte, serializable bool) (int64, error) {
	resp, err := b.kv[conn].Range(ctx, &cairnv1.RangeRequest{Key: key, Serializable: serializable})
	if err != nil {
		return 0, err
	}
	return resp.GetHeader().GetRevision(), nil
}

func (b *cairnBackend) CAS(ctx context.Context, conn int, key []byte, modRev int64, value []byte) (bool, int64, error) {
	resp, err := b.kv[conn].Txn(ctx, &cairnv1.TxnRequest{
		Compare: []*cairnv1.Compare{{
			Result:      cairnv1.Compare_COMPARE_RESULT_EQUAL,
			Target:      cairnv1.Compare_COMPARE_TARGET_MOD,
			Key:         key,
			TargetUnion: &cairnv1.Compare_ModRevision{ModRevision: modRev},
		}},
		Success: []*cairnv1.RequestOp{{Request: &cairnv1.RequestOp_RequestPut{RequestPut: &cairnv1.PutRequest{Key: key, Value: value}}}},
		Failure: []*cairnv1.RequestOp{{Request: &cairnv1.RequestOp_RequestRange{RequestRange: &cairnv1.RangeRequest{Key: key}}}},
	})
	if err != nil {
		return false, 0, err
	}
	if resp.GetSucceeded() {
		return true, resp.GetHeader().GetRevision(), nil
	}
	var cur int64
	if rs := resp.GetResponses(); len(rs) == 1 {
		if kvs := rs[0].GetResponseRange().GetKvs(); len(kvs) == 1 {
			cur = kvs[0].GetModRevision()
		}
	}
	return false, cur, nil
}

func (b *cairnBackend) PutAll(ctx context.Context, conn int, keys, values [][]byte) (int64, error) {
	ops := make([]*cairnv1.RequestOp, len(keys))
	for i := range keys {
		ops[i] = &cairnv1.RequestOp{Request: &cairnv1.RequestOp_RequestPut{RequestPut: &cairnv1.PutRequest{Key: keys[i], Value: values[i]}}}
	}
	resp, err := b.kv[conn].Txn(ctx, &cairnv1.TxnRequest{Success: ops})
	if err != nil {
		return 0, err
	}
	return resp.GetHeader().GetRevision(), nil
}

type cairnStream struct {
	stream cairnv1.WatchService_WatchClient
	onErr  func(error)

	mu       sync.Mutex
	nextID   int64
	watchers map[int64]*cairnWatcher
	err      error // set once the stream ended
}

type cairnWatcher struct {
	fn        WatchFunc
	created   chan error // one value: nil once created, or why not
	confirmed bool       // created has its value (touched by the reader only)
}

func (b *cairnBackend) OpenWatchStream(ctx context.Context, conn, _ int, onErr func(error)) (WatchStream, error) {
	st, err := b.watch[conn].Watch(ctx)
	if err != nil {
		return nil, err
	}
	s := &cairnStream{stream: st, onErr: onErr, watchers: map[int64]*cairnWatcher{}}
	go s.receive(ctx)
	return s, nil
}

// receive runs the stream's single reader: it hands each event to its watcher in order.
func (s *cairnStream) receive(ctx context.Context) {
	for {
		resp, err := s.stream.Recv()
		if err != nil {
			s.mu.Lock()
			s.err = err
			for _, w := range s.watchers {
				if !w.confirmed {
					w.confirmed = true
					w.created <- err
				}
			}
			s.mu.Unlock()
			if ctx.Err() == nil {
				s.onErr(fmt.Errorf("watch stream ended: %w", err))
			}
			return
		}
		s.mu.Lock()
		w := s.watchers[resp.GetWatchId()]
		s.mu.Unlock()
		if w == nil {
			continue // progress notifications for the whole stream (watch_id -1)
		}
		var cerr error
		if resp.GetCanceled() {
			cerr = fmt.Errorf("watch %d canceled: %s", resp.GetWatchId(), resp.GetCancelReason())
		}
		if !w.confirmed && (resp.GetCreated() || resp.GetCanceled()) {
			w.confirmed = true
			w.created <- cerr
		} else if cerr != nil {
			s.onErr(cerr)
		}
		for _, ev := range resp.GetEvents() {
			w.fn(ev.GetKv().GetModRevision(), ev.GetKv().GetValue())
		}
	}
}

func (s *cairnStream) Watch(ctx context.Context, key []byte, startRev int64, fn WatchFunc) error {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	s.nextID++
	id := s.nextID
	w := &cairnWatcher{fn: fn, created: make(chan error, 1)}
	s.watchers[id] = w
	// Send is not safe for concurrent use on one stream; the lock serializes it.
	err := s.stream.Send(&cairnv1.WatchRequest{Request: &cairnv1.WatchRequest_CreateRequest{CreateRequest: &cairnv1.WatchCreateRequest{
		Key: key, StartRevision: startRev, WatchId: id,
	}}})
	s.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case err := <-w.created:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ---- etcd, on its official client (go.etcd.io/etcd/client/v3): one clientv3.Client per
// connection, each with a single endpoint.

type etcdBackend struct {
	clients []*clientv3.Client
}

func newEtcd(endpoints []string, n int, tlsConfig *tls.Config) (*etcdBackend, error) {
	b := &etcdBackend{}
	for i := 0; i < n; i++ {
		c, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{endpoints[i%len(endpoints)]},
			DialTimeout: 5 * time.Second,
			TLS:         tlsConfig,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.clients = append(b.clients, c)
	}
	return b, nil
}

func (b *etcdBackend) Conns() int { return len(b.clients) }

func (b *etcdBackend) Close() error {
	for _, c := range b.clients {
		c.Close()
	}
	return nil
}

func (b *etcdBackend) Put(ctx context.Context, conn int, key, value []byte) (int64, error) {
	resp, err := b.clients[conn].Put(ctx, string(key), string(value))
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

func (b *etcdBackend) Get(ctx context.Context, conn int, key []byte, serializable bool) (int64, error) {
	var opts []clientv3.OpOption
	if serializable {
		opts = append(opts, clientv3.WithSerializable())
	}
	resp, err := b.clients[conn].Get(ctx, string(key), opts...)
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

func (b *etcdBackend) CAS(ctx context.Context, conn int, key []byte, modRev int64, value []byte) (bool, int64, error) {
	k := string(key)
	resp, err := b.clients[conn].Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(k), "=", modRev)).
		Then(clientv3.OpPut(k, string(value))).
		Else(clientv3.OpGet(k)).
		Commit()
	if err != nil {
		return false, 0, err
	}
	if resp.Succeeded {
		return true, resp.Header.Revision, nil
	}
	var cur int64
	if len(resp.Responses) == 1 {
		if kvs := resp.Responses[0].GetResponseRange().GetKvs(); len(kvs) == 1 {
			cur = kvs[0].ModRevision
		}
	}
	return false, cur, nil
}

func (b *etcdBackend) PutAll(ctx context.Context, conn int, keys, values [][]byte) (int64, error) {
	ops := make([]clientv3.Op, len(keys))
	for i := range keys {
		ops[i] = clientv3.OpPut(string(keys[i]), string(values[i]))
	}
	resp, err := b.clients[conn].Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}

// etcdStream: clientv3 puts watchers whose contexts carry the same outgoing metadata on
// one gRPC stream, so a distinct metadata value per stream gives S streams.
type etcdStream struct {
	cli   *clientv3.Client
	ctx   context.Context
	onErr func(error)
}

func (b *etcdBackend) OpenWatchStream(ctx context.Context, conn, stream int, onErr func(error)) (WatchStream, error) {
	return &etcdStream{
		cli:   b.clients[conn],
		ctx:   metadata.AppendToOutgoingContext(ctx, "cairn-bench-stream", strconv.Itoa(stream)),
		onErr: onErr,
	}, nil
}

func (s *etcdStream) Watch(ctx context.Context, key []byte, startRev int64, fn WatchFunc) error {
	wch := s.cli.Watch(s.ctx, string(key), clientv3.WithRev(startRev), clientv3.WithCreatedNotify())
	select {
	case wr, ok := <-wch:
		if !ok {
			return fmt.Errorf("watch closed before it was created")
		}
		if err := wr.Err(); err != nil {
			return err
		}
		if !wr.Created {
			return fmt.Errorf("first watch response is not the creation")
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	go func() {
		for wr := range wch {
			if err := wr.Err(); err != nil && s.ctx.Err() == nil {
				s.onErr(err)
			}
			for _, ev := range wr.Events {
				fn(ev.Kv.ModRevision, ev.Kv.Value)
			}
		}
	}()
	return nil
}
