from cairn.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ALARM_ACTION_DISARM: AlarmAction
ALARM_ACTION_LIST: AlarmAction
ALARM_ACTION_UNSPECIFIED: AlarmAction
ALARM_TYPE_CORRUPT: AlarmType
ALARM_TYPE_NOSPACE: AlarmType
ALARM_TYPE_UNSPECIFIED: AlarmType
DESCRIPTOR: _descriptor.FileDescriptor

class AlarmMember(_message.Message):
    __slots__ = ["alarm", "detail", "member_id"]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    alarm: AlarmType
    detail: str
    member_id: int
    def __init__(self, member_id: _Optional[int] = ..., alarm: _Optional[_Union[AlarmType, str]] = ..., detail: _Optional[str] = ...) -> None: ...

class AlarmsRequest(_message.Message):
    __slots__ = ["action", "alarm", "member_id"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    action: AlarmAction
    alarm: AlarmType
    member_id: int
    def __init__(self, action: _Optional[_Union[AlarmAction, str]] = ..., member_id: _Optional[int] = ..., alarm: _Optional[_Union[AlarmType, str]] = ...) -> None: ...

class AlarmsResponse(_message.Message):
    __slots__ = ["alarms", "header"]
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    alarms: _containers.RepeatedCompositeFieldContainer[AlarmMember]
    header: _types_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_types_pb2.ResponseHeader, _Mapping]] = ..., alarms: _Optional[_Iterable[_Union[AlarmMember, _Mapping]]] = ...) -> None: ...

class DefragmentRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class DefragmentResponse(_message.Message):
    __slots__ = ["db_size_after", "db_size_before", "duration_ms", "header", "write_pause_ms"]
    DB_SIZE_AFTER_FIELD_NUMBER: _ClassVar[int]
    DB_SIZE_BEFORE_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    WRITE_PAUSE_MS_FIELD_NUMBER: _ClassVar[int]
    db_size_after: int
    db_size_before: int
    duration_ms: int
    header: _types_pb2.ResponseHeader
    write_pause_ms: int
    def __init__(self, header: _Optional[_Union[_types_pb2.ResponseHeader, _Mapping]] = ..., db_size_before: _Optional[int] = ..., db_size_after: _Optional[int] = ..., duration_ms: _Optional[int] = ..., write_pause_ms: _Optional[int] = ...) -> None: ...

class HashKVRequest(_message.Message):
    __slots__ = ["revision"]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    def __init__(self, revision: _Optional[int] = ...) -> None: ...

class HashKVResponse(_message.Message):
    __slots__ = ["compact_revision", "hash", "header", "keys", "revision"]
    COMPACT_REVISION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    compact_revision: int
    hash: str
    header: _types_pb2.ResponseHeader
    keys: int
    revision: int
    def __init__(self, header: _Optional[_Union[_types_pb2.ResponseHeader, _Mapping]] = ..., hash: _Optional[str] = ..., revision: _Optional[int] = ..., compact_revision: _Optional[int] = ..., keys: _Optional[int] = ...) -> None: ...

class MoveLeaderRequest(_message.Message):
    __slots__ = ["target_id"]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    target_id: int
    def __init__(self, target_id: _Optional[int] = ...) -> None: ...

class MoveLeaderResponse(_message.Message):
    __slots__ = ["header"]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    header: _types_pb2.ResponseHeader
    def __init__(self, header: _Optional[_Union[_types_pb2.ResponseHeader, _Mapping]] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class SnapshotResponse(_message.Message):
    __slots__ = ["blob", "estimated_bytes", "header", "revision", "version"]
    BLOB_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_BYTES_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    blob: bytes
    estimated_bytes: int
    header: _types_pb2.ResponseHeader
    revision: int
    version: str
    def __init__(self, header: _Optional[_Union[_types_pb2.ResponseHeader, _Mapping]] = ..., blob: _Optional[bytes] = ..., revision: _Optional[int] = ..., version: _Optional[str] = ..., estimated_bytes: _Optional[int] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ["alarms", "compacted_revision", "db_size", "db_size_in_use", "header", "leader", "name", "raft_applied_index", "raft_commit_index", "raft_index", "raft_term", "role", "storage_engine", "version"]
    ALARMS_FIELD_NUMBER: _ClassVar[int]
    COMPACTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    DB_SIZE_FIELD_NUMBER: _ClassVar[int]
    DB_SIZE_IN_USE_FIELD_NUMBER: _ClassVar[int]
    HEADER_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RAFT_APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    RAFT_COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    RAFT_INDEX_FIELD_NUMBER: _ClassVar[int]
    RAFT_TERM_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STORAGE_ENGINE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    alarms: _containers.RepeatedCompositeFieldContainer[AlarmMember]
    compacted_revision: int
    db_size: int
    db_size_in_use: int
    header: _types_pb2.ResponseHeader
    leader: int
    name: str
    raft_applied_index: int
    raft_commit_index: int
    raft_index: int
    raft_term: int
    role: str
    storage_engine: str
    version: str
    def __init__(self, header: _Optional[_Union[_types_pb2.ResponseHeader, _Mapping]] = ..., version: _Optional[str] = ..., name: _Optional[str] = ..., leader: _Optional[int] = ..., role: _Optional[str] = ..., raft_index: _Optional[int] = ..., raft_term: _Optional[int] = ..., raft_commit_index: _Optional[int] = ..., raft_applied_index: _Optional[int] = ..., compacted_revision: _Optional[int] = ..., storage_engine: _Optional[str] = ..., alarms: _Optional[_Iterable[_Union[AlarmMember, _Mapping]]] = ..., db_size: _Optional[int] = ..., db_size_in_use: _Optional[int] = ...) -> None: ...

class AlarmType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AlarmAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
