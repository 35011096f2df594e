from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CONF_CHANGE_TYPE_ADD_LEARNER: ConfChangeType
CONF_CHANGE_TYPE_PROMOTE_LEARNER: ConfChangeType
CONF_CHANGE_TYPE_REMOVE_MEMBER: ConfChangeType
CONF_CHANGE_TYPE_UNSPECIFIED: ConfChangeType
DESCRIPTOR: _descriptor.FileDescriptor
ENTRY_TYPE_CONF_CHANGE: EntryType
ENTRY_TYPE_NORMAL: EntryType
ENTRY_TYPE_UNSPECIFIED: EntryType
MESSAGE_TYPE_APP: MessageType
MESSAGE_TYPE_APP_RESP: MessageType
MESSAGE_TYPE_HEARTBEAT: MessageType
MESSAGE_TYPE_HEARTBEAT_RESP: MessageType
MESSAGE_TYPE_PRE_VOTE: MessageType
MESSAGE_TYPE_PRE_VOTE_RESP: MessageType
MESSAGE_TYPE_PROP: MessageType
MESSAGE_TYPE_READ_INDEX: MessageType
MESSAGE_TYPE_READ_INDEX_RESP: MessageType
MESSAGE_TYPE_SNAP: MessageType
MESSAGE_TYPE_TIMEOUT_NOW: MessageType
MESSAGE_TYPE_TRANSFER_LEADER: MessageType
MESSAGE_TYPE_UNSPECIFIED: MessageType
MESSAGE_TYPE_VOTE: MessageType
MESSAGE_TYPE_VOTE_RESP: MessageType

class ConfChange(_message.Message):
    __slots__ = ["context", "node_id", "type"]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    context: bytes
    node_id: int
    type: ConfChangeType
    def __init__(self, type: _Optional[_Union[ConfChangeType, str]] = ..., node_id: _Optional[int] = ..., context: _Optional[bytes] = ...) -> None: ...

class ConfState(_message.Message):
    __slots__ = ["learners", "voters"]
    LEARNERS_FIELD_NUMBER: _ClassVar[int]
    VOTERS_FIELD_NUMBER: _ClassVar[int]
    learners: _containers.RepeatedScalarFieldContainer[int]
    voters: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, voters: _Optional[_Iterable[int]] = ..., learners: _Optional[_Iterable[int]] = ...) -> None: ...

class Entry(_message.Message):
    __slots__ = ["data", "index", "term", "type"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    index: int
    term: int
    type: EntryType
    def __init__(self, term: _Optional[int] = ..., index: _Optional[int] = ..., type: _Optional[_Union[EntryType, str]] = ..., data: _Optional[bytes] = ...) -> None: ...

class HardState(_message.Message):
    __slots__ = ["commit", "term", "vote"]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    VOTE_FIELD_NUMBER: _ClassVar[int]
    commit: int
    term: int
    vote: int
    def __init__(self, term: _Optional[int] = ..., vote: _Optional[int] = ..., commit: _Optional[int] = ...) -> None: ...

class HashKVRequest(_message.Message):
    __slots__ = ["cluster_id", "revision"]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    revision: int
    def __init__(self, cluster_id: _Optional[int] = ..., revision: _Optional[int] = ..., **kwargs) -> None: ...

class HashKVResponse(_message.Message):
    __slots__ = ["compact_revision", "hash", "member_id", "revision"]
    COMPACT_REVISION_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    compact_revision: int
    hash: str
    member_id: int
    revision: int
    def __init__(self, member_id: _Optional[int] = ..., revision: _Optional[int] = ..., hash: _Optional[str] = ..., compact_revision: _Optional[int] = ...) -> None: ...

class Message(_message.Message):
    __slots__ = ["commit", "context", "entries", "has_context", "index", "log_term", "reject", "reject_hint", "snapshot_metadata", "term", "to", "type"]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    HAS_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LOG_TERM_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    REJECT_HINT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_METADATA_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    commit: int
    context: bytes
    entries: _containers.RepeatedCompositeFieldContainer[Entry]
    has_context: bool
    index: int
    log_term: int
    reject: bool
    reject_hint: int
    snapshot_metadata: SnapshotMetadata
    term: int
    to: int
    type: MessageType
    def __init__(self, type: _Optional[_Union[MessageType, str]] = ..., to: _Optional[int] = ..., term: _Optional[int] = ..., log_term: _Optional[int] = ..., index: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[Entry, _Mapping]]] = ..., commit: _Optional[int] = ..., reject: bool = ..., reject_hint: _Optional[int] = ..., snapshot_metadata: _Optional[_Union[SnapshotMetadata, _Mapping]] = ..., context: _Optional[bytes] = ..., has_context: bool = ..., **kwargs) -> None: ...

class SendSnapshotRequest(_message.Message):
    __slots__ = ["cluster_id", "data", "data_crc32", "message", "total_bytes", "total_crc32"]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_CRC32_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CRC32_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    data: bytes
    data_crc32: int
    message: Message
    total_bytes: int
    total_crc32: int
    def __init__(self, cluster_id: _Optional[int] = ..., message: _Optional[_Union[Message, _Mapping]] = ..., data: _Optional[bytes] = ..., total_bytes: _Optional[int] = ..., data_crc32: _Optional[int] = ..., total_crc32: _Optional[int] = ...) -> None: ...

class SendSnapshotResponse(_message.Message):
    __slots__ = ["applied"]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    def __init__(self, applied: bool = ...) -> None: ...

class SnapshotMetadata(_message.Message):
    __slots__ = ["conf_state", "index", "term"]
    CONF_STATE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    conf_state: ConfState
    index: int
    term: int
    def __init__(self, index: _Optional[int] = ..., term: _Optional[int] = ..., conf_state: _Optional[_Union[ConfState, _Mapping]] = ...) -> None: ...

class StreamRequest(_message.Message):
    __slots__ = ["cluster_id", "messages"]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    messages: _containers.RepeatedCompositeFieldContainer[Message]
    def __init__(self, cluster_id: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[Message, _Mapping]]] = ..., **kwargs) -> None: ...

class StreamResponse(_message.Message):
    __slots__ = ["received"]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    received: int
    def __init__(self, received: _Optional[int] = ...) -> None: ...

class MessageType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class EntryType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ConfChangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
