package cairn

import "time"

// consistency is how a read is served.
type consistency int

const (
	linearizable consistency = iota
	stale
	bounded
)

// op collects the options of one operation.
type op struct {
	prefix       bool
	rangeEnd     string
	revision     int64
	consistency  consistency
	maxStaleness time.Duration
	limit        int64
	keysOnly     bool
	countOnly    bool
	prevKV       bool
	retryUnsafe  bool
	fromRevision int64
	lease        LeaseID
	sortTarget   SortTarget
	sortOrder    SortOrder
	physical     bool
}

// OpOption configures one operation. Options that do not apply to an operation are
// ignored by it.
type OpOption func(*op)

func buildOp(opts []OpOption) op {
	var o op
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Linearizable makes a read linearizable: it reflects every write acknowledged before it
// started. This is the default.
func Linearizable() OpOption { return func(o *op) { o.consistency = linearizable } }

// Stale makes a read serializable: served from the local state of the member in use
// without a quorum round, so it may miss recent writes, and still answers when that
// member is cut off from the others.
func Stale() OpOption { return func(o *op) { o.consistency = stale } }

// MaxStaleness makes a read serializable but bounded: the member answers from its local
// state only if it heard from the leader within d and has applied everything it was told
// was committed; otherwise the server serves the read linearizably.
func MaxStaleness(d time.Duration) OpOption {
	return func(o *op) {
		o.consistency = bounded
		o.maxStaleness = d
	}
}

// AtRevision reads the store as it was at revision r (0 means the latest).
func AtRevision(r int64) OpOption { return func(o *op) { o.revision = r } }

// WithPrefix makes Get, Delete or Watch apply to every key starting with the given key.
func WithPrefix() OpOption { return func(o *op) { o.prefix = true } }

// WithRange makes Get, Delete or Watch apply to the keys in [key, end).
func WithRange(end string) OpOption { return func(o *op) { o.rangeEnd = end } }

// WithLimit caps the number of keys a read returns.
func WithLimit(n int64) OpOption { return func(o *op) { o.limit = n } }

// WithKeysOnly makes a read return keys without values.
func WithKeysOnly() OpOption { return func(o *op) { o.keysOnly = true } }

// WithCountOnly makes a read return only the count of keys.
func WithCountOnly() OpOption { return func(o *op) { o.countOnly = true } }

// WithPrevKV asks Put and Delete for the previous version of the keys they change, and
// Watch for the previous version of each changed key.
func WithPrevKV() OpOption { return func(o *op) { o.prevKV = true } }

// WithRetryUnsafe lets a write be retried on another member even when its outcome is
// unknown (a timeout or a broken connection), so it may be applied twice. Use it for
// idempotent writes only.
func WithRetryUnsafe() OpOption { return func(o *op) { o.retryUnsafe = true } }

// WithPhysical makes Compact return only once the compacted history is removed from the
// member's storage, not just marked unreadable.
func WithPhysical() OpOption { return func(o *op) { o.physical = true } }

// FromRevision starts a watch at revision r, replaying every change since; 0 (the
// default) means from the next change.
func FromRevision(r int64) OpOption { return func(o *op) { o.fromRevision = r } }

// WithLease attaches the key of a Put (or OpPut) to a lease: the key is deleted when the
// lease expires or is revoked. A later put without it detaches the key.
func WithLease(id LeaseID) OpOption { return func(o *op) { o.lease = id } }

// SortTarget is the field a read sorts its keys by.
type SortTarget int32

// Sort targets (etcd's).
const (
	SortByKey SortTarget = iota + 1
	SortByVersion
	SortByCreateRevision
	SortByModRevision
	SortByValue
)

// SortOrder is the direction of a sort.
type SortOrder int32

// Sort orders.
const (
	SortAscend SortOrder = iota + 1
	SortDescend
)

// WithSort makes Get return its keys sorted by target in the given order (key order by
// default). With WithLimit, the limit applies after sorting.
func WithSort(target SortTarget, order SortOrder) OpOption {
	return func(o *op) { o.sortTarget, o.sortOrder = target, order }
}

// keyRange returns the [key, end) the options select for key.
func (o op) keyRange(key string) (k, end []byte) {
	k = []byte(key)
	switch {
	case o.rangeEnd != "":
		end = []byte(o.rangeEnd)
	case o.prefix:
		end = prefixEnd(k)
	}
	return k, end
}

// prefixEnd is the first key after every key starting with prefix: the prefix with its
// last byte below 0xff incremented, or "\0" (every key) when there is none.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

func (o op) writeKind() callKind {
	if o.retryUnsafe {
		return unsafeWriteCall
	}
	return writeCall
}
