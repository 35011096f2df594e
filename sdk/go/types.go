package cairn

import cairnv1 "github.com/cairn-dev/cairn/gen/go/cairn/v1"

// Header describes the member that served a request and the store revision it saw.
type Header struct {
	ClusterID uint64
	MemberID  uint64
	// Revision is the revision a write created or a read observed.
	Revision int64
	RaftTerm uint64
}

// KeyValue is one version of a key.
type KeyValue struct {
	Key            string
	Value          []byte
	CreateRevision int64
	ModRevision    int64
	// Version counts the puts to the key since it was (re)created, starting at 1.
	Version int64
	// Lease is the lease the key is attached to (WithLease), 0 for none.
	Lease LeaseID
}

// EventType is the kind of a watch event.
type EventType int

// Event types.
const (
	EventPut EventType = iota + 1
	EventDelete
)

// String returns "PUT" or "DELETE".
func (t EventType) String() string {
	switch t {
	case EventPut:
		return "PUT"
	case EventDelete:
		return "DELETE"
	}
	return "UNKNOWN"
}

// Event is one change to one key.
type Event struct {
	Type EventType
	// KV is the key after the change; for a delete, only Key and ModRevision are set.
	KV KeyValue
	// PrevKV is the key before the change, when asked for with WithPrevKV and available.
	PrevKV *KeyValue
}

func fromHeader(h *cairnv1.ResponseHeader) Header {
	return Header{ClusterID: h.GetClusterId(), MemberID: h.GetMemberId(), Revision: h.GetRevision(), RaftTerm: h.GetRaftTerm()}
}

func fromKV(kv *cairnv1.KeyValue) KeyValue {
	return KeyValue{
		Key:            string(kv.GetKey()),
		Value:          kv.GetValue(),
		CreateRevision: kv.GetCreateRevision(),
		ModRevision:    kv.GetModRevision(),
		Version:        kv.GetVersion(),
		Lease:          LeaseID(kv.GetLease()),
	}
}

func fromKVPtr(kv *cairnv1.KeyValue) *KeyValue {
	if kv == nil {
		return nil
	}
	v := fromKV(kv)
	return &v
}

func fromKVs(kvs []*cairnv1.KeyValue) []KeyValue {
	out := make([]KeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = fromKV(kv)
	}
	return out
}

func fromEvent(e *cairnv1.Event) Event {
	t := EventPut
	if e.GetType() == cairnv1.Event_EVENT_TYPE_DELETE {
		t = EventDelete
	}
	return Event{Type: t, KV: fromKV(e.GetKv()), PrevKV: fromKVPtr(e.GetPrevKv())}
}
