from cairn.internal.v1 import auth_pb2 as _auth_pb2
from cairn.v1 import kv_pb2 as _kv_pb2
from cairn.v1 import lease_pb2 as _lease_pb2
from cairn.v1 import maintenance_pb2 as _maintenance_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AlarmCommand(_message.Message):
    __slots__ = ["activate", "alarm", "detail", "member_id"]
    ACTIVATE_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    activate: bool
    alarm: _maintenance_pb2.AlarmType
    detail: str
    member_id: int
    def __init__(self, activate: bool = ..., member_id: _Optional[int] = ..., alarm: _Optional[_Union[_maintenance_pb2.AlarmType, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class AlarmRecord(_message.Message):
    __slots__ = ["alarm", "detail", "member_id"]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    alarm: _maintenance_pb2.AlarmType
    detail: str
    member_id: int
    def __init__(self, member_id: _Optional[int] = ..., alarm: _Optional[_Union[_maintenance_pb2.AlarmType, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class ApplyLimits(_message.Message):
    __slots__ = ["max_keys_per_lease", "max_leases"]
    MAX_KEYS_PER_LEASE_FIELD_NUMBER: _ClassVar[int]
    MAX_LEASES_FIELD_NUMBER: _ClassVar[int]
    max_keys_per_lease: int
    max_leases: int
    def __init__(self, max_leases: _Optional[int] = ..., max_keys_per_lease: _Optional[int] = ...) -> None: ...

class Command(_message.Message):
    __slots__ = ["alarm", "auth", "checked_as", "compact", "delete_range", "lease_checkpoint", "lease_expire", "lease_grant", "lease_revoke", "put", "txn"]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AS_FIELD_NUMBER: _ClassVar[int]
    COMPACT_FIELD_NUMBER: _ClassVar[int]
    DELETE_RANGE_FIELD_NUMBER: _ClassVar[int]
    LEASE_CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRE_FIELD_NUMBER: _ClassVar[int]
    LEASE_GRANT_FIELD_NUMBER: _ClassVar[int]
    LEASE_REVOKE_FIELD_NUMBER: _ClassVar[int]
    PUT_FIELD_NUMBER: _ClassVar[int]
    TXN_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmCommand
    auth: _auth_pb2.AuthCommand
    checked_as: str
    compact: _kv_pb2.CompactRequest
    delete_range: _kv_pb2.DeleteRangeRequest
    lease_checkpoint: LeaseCheckpoint
    lease_expire: LeaseExpire
    lease_grant: LeaseGrant
    lease_revoke: _lease_pb2.LeaseRevokeRequest
    put: _kv_pb2.PutRequest
    txn: _kv_pb2.TxnRequest
    def __init__(self, put: _Optional[_Union[_kv_pb2.PutRequest, _Mapping]] = ..., delete_range: _Optional[_Union[_kv_pb2.DeleteRangeRequest, _Mapping]] = ..., txn: _Optional[_Union[_kv_pb2.TxnRequest, _Mapping]] = ..., compact: _Optional[_Union[_kv_pb2.CompactRequest, _Mapping]] = ..., lease_grant: _Optional[_Union[LeaseGrant, _Mapping]] = ..., lease_revoke: _Optional[_Union[_lease_pb2.LeaseRevokeRequest, _Mapping]] = ..., lease_expire: _Optional[_Union[LeaseExpire, _Mapping]] = ..., lease_checkpoint: _Optional[_Union[LeaseCheckpoint, _Mapping]] = ..., auth: _Optional[_Union[_auth_pb2.AuthCommand, _Mapping]] = ..., alarm: _Optional[_Union[AlarmCommand, _Mapping]] = ..., checked_as: _Optional[str] = ...) -> None: ...

class LeaseCheckpoint(_message.Message):
    __slots__ = ["remaining"]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    remaining: _containers.RepeatedCompositeFieldContainer[LeaseRemaining]
    def __init__(self, remaining: _Optional[_Iterable[_Union[LeaseRemaining, _Mapping]]] = ...) -> None: ...

class LeaseExpire(_message.Message):
    __slots__ = ["ids"]
    IDS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, ids: _Optional[_Iterable[int]] = ...) -> None: ...

class LeaseGrant(_message.Message):
    __slots__ = ["id", "ttl"]
    ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    id: int
    ttl: int
    def __init__(self, id: _Optional[int] = ..., ttl: _Optional[int] = ...) -> None: ...

class LeaseRecord(_message.Message):
    __slots__ = ["id", "remaining_ms", "ttl"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REMAINING_MS_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    id: int
    remaining_ms: int
    ttl: int
    def __init__(self, id: _Optional[int] = ..., ttl: _Optional[int] = ..., remaining_ms: _Optional[int] = ...) -> None: ...

class LeaseRemaining(_message.Message):
    __slots__ = ["id", "remaining_ms"]
    ID_FIELD_NUMBER: _ClassVar[int]
    REMAINING_MS_FIELD_NUMBER: _ClassVar[int]
    id: int
    remaining_ms: int
    def __init__(self, id: _Optional[int] = ..., remaining_ms: _Optional[int] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ["command", "id", "limits", "member_id", "traceparent"]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    command: Command
    id: int
    limits: ApplyLimits
    member_id: int
    traceparent: str
    def __init__(self, member_id: _Optional[int] = ..., id: _Optional[int] = ..., command: _Optional[_Union[Command, _Mapping]] = ..., limits: _Optional[_Union[ApplyLimits, _Mapping]] = ..., traceparent: _Optional[str] = ...) -> None: ...
