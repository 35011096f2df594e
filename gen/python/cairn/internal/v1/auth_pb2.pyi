from cairn.v1 import auth_pb2 as _auth_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuthCommand(_message.Message):
    __slots__ = ["disable", "enable", "role_add", "role_delete", "role_grant_permission", "role_revoke_permission", "user_add", "user_change_password", "user_delete", "user_grant_role", "user_revoke_role"]
    DISABLE_FIELD_NUMBER: _ClassVar[int]
    ENABLE_FIELD_NUMBER: _ClassVar[int]
    ROLE_ADD_FIELD_NUMBER: _ClassVar[int]
    ROLE_DELETE_FIELD_NUMBER: _ClassVar[int]
    ROLE_GRANT_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_REVOKE_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    USER_ADD_FIELD_NUMBER: _ClassVar[int]
    USER_CHANGE_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    USER_DELETE_FIELD_NUMBER: _ClassVar[int]
    USER_GRANT_ROLE_FIELD_NUMBER: _ClassVar[int]
    USER_REVOKE_ROLE_FIELD_NUMBER: _ClassVar[int]
    disable: _auth_pb2.AuthDisableRequest
    enable: AuthEnableCommand
    role_add: _auth_pb2.RoleAddRequest
    role_delete: _auth_pb2.RoleDeleteRequest
    role_grant_permission: _auth_pb2.RoleGrantPermissionRequest
    role_revoke_permission: _auth_pb2.RoleRevokePermissionRequest
    user_add: UserAddCommand
    user_change_password: UserChangePasswordCommand
    user_delete: _auth_pb2.UserDeleteRequest
    user_grant_role: _auth_pb2.UserGrantRoleRequest
    user_revoke_role: _auth_pb2.UserRevokeRoleRequest
    def __init__(self, enable: _Optional[_Union[AuthEnableCommand, _Mapping]] = ..., disable: _Optional[_Union[_auth_pb2.AuthDisableRequest, _Mapping]] = ..., user_add: _Optional[_Union[UserAddCommand, _Mapping]] = ..., user_delete: _Optional[_Union[_auth_pb2.UserDeleteRequest, _Mapping]] = ..., user_change_password: _Optional[_Union[UserChangePasswordCommand, _Mapping]] = ..., user_grant_role: _Optional[_Union[_auth_pb2.UserGrantRoleRequest, _Mapping]] = ..., user_revoke_role: _Optional[_Union[_auth_pb2.UserRevokeRoleRequest, _Mapping]] = ..., role_add: _Optional[_Union[_auth_pb2.RoleAddRequest, _Mapping]] = ..., role_delete: _Optional[_Union[_auth_pb2.RoleDeleteRequest, _Mapping]] = ..., role_grant_permission: _Optional[_Union[_auth_pb2.RoleGrantPermissionRequest, _Mapping]] = ..., role_revoke_permission: _Optional[_Union[_auth_pb2.RoleRevokePermissionRequest, _Mapping]] = ...) -> None: ...

class AuthEnableCommand(_message.Message):
    __slots__ = ["token_key"]
    TOKEN_KEY_FIELD_NUMBER: _ClassVar[int]
    token_key: bytes
    def __init__(self, token_key: _Optional[bytes] = ...) -> None: ...

class AuthRoleRecord(_message.Message):
    __slots__ = ["name", "permissions"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    permissions: _containers.RepeatedCompositeFieldContainer[_auth_pb2.Permission]
    def __init__(self, name: _Optional[str] = ..., permissions: _Optional[_Iterable[_Union[_auth_pb2.Permission, _Mapping]]] = ...) -> None: ...

class AuthStateRecord(_message.Message):
    __slots__ = ["enabled", "revision", "token_key"]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TOKEN_KEY_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    revision: int
    token_key: bytes
    def __init__(self, enabled: bool = ..., revision: _Optional[int] = ..., token_key: _Optional[bytes] = ...) -> None: ...

class AuthUserRecord(_message.Message):
    __slots__ = ["credential_revision", "name", "password", "roles"]
    CREDENTIAL_REVISION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    credential_revision: int
    name: str
    password: PasswordHash
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., password: _Optional[_Union[PasswordHash, _Mapping]] = ..., roles: _Optional[_Iterable[str]] = ..., credential_revision: _Optional[int] = ...) -> None: ...

class PasswordHash(_message.Message):
    __slots__ = ["block_size", "cost", "hash", "parallelization", "salt"]
    BLOCK_SIZE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PARALLELIZATION_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    block_size: int
    cost: int
    hash: bytes
    parallelization: int
    salt: bytes
    def __init__(self, salt: _Optional[bytes] = ..., hash: _Optional[bytes] = ..., cost: _Optional[int] = ..., block_size: _Optional[int] = ..., parallelization: _Optional[int] = ...) -> None: ...

class UserAddCommand(_message.Message):
    __slots__ = ["name", "password"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    password: PasswordHash
    def __init__(self, name: _Optional[str] = ..., password: _Optional[_Union[PasswordHash, _Mapping]] = ...) -> None: ...

class UserChangePasswordCommand(_message.Message):
    __slots__ = ["name", "password"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    name: str
    password: PasswordHash
    def __init__(self, name: _Optional[str] = ..., password: _Optional[_Union[PasswordHash, _Mapping]] = ...) -> None: ...
