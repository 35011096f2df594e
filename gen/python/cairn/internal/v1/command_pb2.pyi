from cairn.internal.v1 import auth_pb2 as _auth_pb2
from cairn.v1 import kv_pb2 as _kv_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Command(_message.Message):
    __slots__ = ["auth", "checked_as", "compact", "delete_range", "put", "txn"]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AS_FIELD_NUMBER: _ClassVar[int]
    COMPACT_FIELD_NUMBER: _ClassVar[int]
    DELETE_RANGE_FIELD_NUMBER: _ClassVar[int]
    PUT_FIELD_NUMBER: _ClassVar[int]
    TXN_FIELD_NUMBER: _ClassVar[int]
    auth: _auth_pb2.AuthCommand
    checked_as: str
    compact: _kv_pb2.CompactRequest
    delete_range: _kv_pb2.DeleteRangeRequest
    put: _kv_pb2.PutRequest
    txn: _kv_pb2.TxnRequest
    def __init__(self, put: _Optional[_Union[_kv_pb2.PutRequest, _Mapping]] = ..., delete_range: _Optional[_Union[_kv_pb2.DeleteRangeRequest, _Mapping]] = ..., txn: _Optional[_Union[_kv_pb2.TxnRequest, _Mapping]] = ..., compact: _Optional[_Union[_kv_pb2.CompactRequest, _Mapping]] = ..., auth: _Optional[_Union[_auth_pb2.AuthCommand, _Mapping]] = ..., checked_as: _Optional[str] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ["command", "id", "member_id"]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    command: Command
    id: int
    member_id: int
    def __init__(self, member_id: _Optional[int] = ..., id: _Optional[int] = ..., command: _Optional[_Union[Command, _Mapping]] = ...) -> None: ...
