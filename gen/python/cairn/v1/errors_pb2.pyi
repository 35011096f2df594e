from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
ERROR_CODE_AUTH_FAILED: ErrorCode
ERROR_CODE_AUTH_NOT_ENABLED: ErrorCode
ERROR_CODE_AUTH_REQUIRED: ErrorCode
ERROR_CODE_COMPACTED: ErrorCode
ERROR_CODE_CORRUPT: ErrorCode
ERROR_CODE_DEFRAGMENT_UNSUPPORTED: ErrorCode
ERROR_CODE_DUPLICATE_WATCH_ID: ErrorCode
ERROR_CODE_EMPTY_KEY: ErrorCode
ERROR_CODE_FUTURE_REVISION: ErrorCode
ERROR_CODE_INTEGER_OUT_OF_RANGE: ErrorCode
ERROR_CODE_INVALID_ARGUMENT: ErrorCode
ERROR_CODE_INVALID_AUTH_MGMT: ErrorCode
ERROR_CODE_INVALID_AUTH_TOKEN: ErrorCode
ERROR_CODE_KEY_NOT_FOUND: ErrorCode
ERROR_CODE_KEY_TOO_LARGE: ErrorCode
ERROR_CODE_LEADER_CHANGED: ErrorCode
ERROR_CODE_LEARNER_NOT_READY: ErrorCode
ERROR_CODE_LEASE_EXISTS: ErrorCode
ERROR_CODE_LEASE_NOT_FOUND: ErrorCode
ERROR_CODE_LEASE_TTL_TOO_LARGE: ErrorCode
ERROR_CODE_MEMBERSHIP_CHANGE_REFUSED: ErrorCode
ERROR_CODE_MEMBER_EXISTS: ErrorCode
ERROR_CODE_MEMBER_NOT_FOUND: ErrorCode
ERROR_CODE_NOT_LEADER: ErrorCode
ERROR_CODE_NO_LEADER: ErrorCode
ERROR_CODE_NO_SPACE: ErrorCode
ERROR_CODE_PERMISSION_DENIED: ErrorCode
ERROR_CODE_PERMISSION_NOT_GRANTED: ErrorCode
ERROR_CODE_REQUEST_TOO_LARGE: ErrorCode
ERROR_CODE_ROLE_EXISTS: ErrorCode
ERROR_CODE_ROLE_NOT_FOUND: ErrorCode
ERROR_CODE_ROLE_NOT_GRANTED: ErrorCode
ERROR_CODE_ROOT_ROLE_NOT_EXIST: ErrorCode
ERROR_CODE_ROOT_USER_NOT_EXIST: ErrorCode
ERROR_CODE_STOPPING: ErrorCode
ERROR_CODE_TIMEOUT: ErrorCode
ERROR_CODE_TOO_MANY_KEYS_PER_LEASE: ErrorCode
ERROR_CODE_TOO_MANY_LEASES: ErrorCode
ERROR_CODE_TOO_MANY_LEASE_FORWARDS: ErrorCode
ERROR_CODE_TOO_MANY_SNAPSHOTS: ErrorCode
ERROR_CODE_TOO_MANY_TXN_OPS: ErrorCode
ERROR_CODE_TOO_MANY_WATCHES: ErrorCode
ERROR_CODE_TOO_MANY_WATCH_STREAMS: ErrorCode
ERROR_CODE_UNSPECIFIED: ErrorCode
ERROR_CODE_USER_EXISTS: ErrorCode
ERROR_CODE_USER_NOT_FOUND: ErrorCode
ERROR_CODE_VALUE_TOO_LARGE: ErrorCode

class ErrorInfo(_message.Message):
    __slots__ = ["code", "compact_revision"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    COMPACT_REVISION_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    compact_revision: int
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., compact_revision: _Optional[int] = ...) -> None: ...

class RpcStatus(_message.Message):
    __slots__ = ["code", "details", "message"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    details: _containers.RepeatedCompositeFieldContainer[StatusDetail]
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., details: _Optional[_Iterable[_Union[StatusDetail, _Mapping]]] = ...) -> None: ...

class StatusDetail(_message.Message):
    __slots__ = ["type_url", "value"]
    TYPE_URL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    type_url: str
    value: bytes
    def __init__(self, type_url: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
