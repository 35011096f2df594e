"""Plain result types, decoupled from the generated protobuf classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

from ._gen.cairn.v1 import kv_pb2, types_pb2


@dataclass(frozen=True)
class KeyValue:
    key: bytes
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0

    @property
    def key_str(self) -> str:
        return self.key.decode()

    @property
    def value_str(self) -> str:
        return self.value.decode()

    @staticmethod
    def from_pb(kv: types_pb2.KeyValue) -> KeyValue:
        return KeyValue(kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease)


@dataclass(frozen=True)
class Header:
    """Which member answered, and the store revision it answered at."""

    cluster_id: int
    member_id: int
    revision: int
    raft_term: int

    @staticmethod
    def from_pb(h: types_pb2.ResponseHeader) -> Header:
        return Header(h.cluster_id, h.member_id, h.revision, h.raft_term)


@dataclass(frozen=True)
class GetResult:
    header: Header
    kvs: list[KeyValue]
    count: int
    more: bool

    @property
    def revision(self) -> int:
        return self.header.revision

    @property
    def kv(self) -> KeyValue | None:
        """The first key read, or None when nothing matched."""
        return self.kvs[0] if self.kvs else None

    @staticmethod
    def from_pb(r: kv_pb2.RangeResponse) -> GetResult:
        return GetResult(Header.from_pb(r.header), [KeyValue.from_pb(kv) for kv in r.kvs], r.count, r.more)


@dataclass(frozen=True)
class PutResult:
    header: Header
    prev_kv: KeyValue | None

    @property
    def revision(self) -> int:
        return self.header.revision

    @staticmethod
    def from_pb(r: kv_pb2.PutResponse) -> PutResult:
        return PutResult(Header.from_pb(r.header), KeyValue.from_pb(r.prev_kv) if r.HasField("prev_kv") else None)


@dataclass(frozen=True)
class DeleteResult:
    header: Header
    deleted: int
    prev_kvs: list[KeyValue]

    @property
    def revision(self) -> int:
        return self.header.revision

    @staticmethod
    def from_pb(r: kv_pb2.DeleteRangeResponse) -> DeleteResult:
        return DeleteResult(Header.from_pb(r.header), r.deleted, [KeyValue.from_pb(kv) for kv in r.prev_kvs])


OpResult = Union[GetResult, PutResult, DeleteResult, "TxnResult"]


@dataclass(frozen=True)
class TxnResult:
    header: Header
    succeeded: bool
    responses: list[OpResult] = field(default_factory=list)

    @property
    def revision(self) -> int:
        return self.header.revision

    @staticmethod
    def from_pb(r: kv_pb2.TxnResponse) -> TxnResult:
        return TxnResult(Header.from_pb(r.header), r.succeeded, [_op_result(op) for op in r.responses])


def _op_result(op: kv_pb2.ResponseOp) -> OpResult:
    which = op.WhichOneof("response")
    if which == "response_range":
        return GetResult.from_pb(op.response_range)
    if which == "response_put":
        return PutResult.from_pb(op.response_put)
    if which == "response_delete_range":
        return DeleteResult.from_pb(op.response_delete_range)
    if which == "response_txn":
        return TxnResult.from_pb(op.response_txn)
    raise ValueError(f"unknown txn response op {which!r}")


EventType = Literal["PUT", "DELETE"]


@dataclass(frozen=True)
class Event:
    """One change to one key. For a DELETE, `kv` carries the key and the delete's revision."""

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None

    @property
    def key(self) -> bytes:
        return self.kv.key

    @property
    def value(self) -> bytes:
        return self.kv.value

    @property
    def revision(self) -> int:
        return self.kv.mod_revision

    @staticmethod
    def from_pb(e: types_pb2.Event) -> Event:
        kind: EventType = "DELETE" if e.type == types_pb2.Event.EVENT_TYPE_DELETE else "PUT"
        prev = KeyValue.from_pb(e.prev_kv) if e.HasField("prev_kv") else None
        return Event(kind, KeyValue.from_pb(e.kv), prev)


@dataclass(frozen=True)
class Member:
    id: int
    name: str
    address: str
