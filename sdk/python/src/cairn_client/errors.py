"""Exceptions raised by the client, one class per kind of failure a caller handles."""

from __future__ import annotations

import grpc
import grpc.aio

from ._gen.cairn.v1 import errors_pb2
from ._gen.cairn.v1.errors_pb2 import ErrorCode

# The trailer in which gRPC carries rich status details: a serialized google.rpc.Status,
# decoded here as its wire twin cairn.v1.RpcStatus, whose details hold a cairn.v1.ErrorInfo.
STATUS_DETAILS_KEY = "grpc-status-details-bin"
_ERROR_INFO_TYPE_URL = "type.googleapis.com/" + errors_pb2.ErrorInfo.DESCRIPTOR.full_name

# Server codes meaning the request was not applied: retrying on another member is safe.
NOT_APPLIED_CODES = frozenset({errors_pb2.ERROR_CODE_NO_LEADER, errors_pb2.ERROR_CODE_STOPPING})

_STATUS_CODES = {c.value[0]: c for c in grpc.StatusCode}


class CairnError(Exception):
    """A failed call. `code` is the gRPC status; `cairn_code` the server's domain code, a
    value of the generated cairn.v1.ErrorCode (e.g. ERROR_CODE_NO_LEADER), or None when the
    server sent none."""

    def __init__(self, code: grpc.StatusCode, message: str, cairn_code: ErrorCode | None = None) -> None:
        name = errors_pb2.ErrorCode.Name(cairn_code) if cairn_code is not None else None
        super().__init__(f"{code.name}: {message}" + (f" ({name})" if name else ""))
        self.code = code
        self.cairn_code = cairn_code
        self.details = message

    @property
    def cairn_code_name(self) -> str | None:
        """The name of `cairn_code`, e.g. "ERROR_CODE_COMPACTED"; None without one."""
        return errors_pb2.ErrorCode.Name(self.cairn_code) if self.cairn_code is not None else None


class UnavailableError(CairnError):
    """No member could serve the call (down, unreachable, no leader, or stopping)."""


class DeadlineExceededError(CairnError):
    """The call did not finish within its deadline; a write may or may not have applied."""


class CompactedError(CairnError):
    """The requested revision was compacted. `compact_revision` is the oldest one left."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        cairn_code: ErrorCode | None = None,
        compact_revision: int | None = None,
    ) -> None:
        super().__init__(code, message, cairn_code)
        self.compact_revision = compact_revision


class FutureRevisionError(CairnError):
    """The requested revision is newer than the store's current revision."""


class InvalidArgumentError(CairnError):
    """The server rejected the request as malformed (empty key, too large, ...)."""


class NotFoundError(CairnError):
    """The key (e.g. a config key) does not exist."""


class PermissionDeniedError(CairnError):
    """Authentication is on and the caller's roles do not allow the call (a key or range
    outside its permissions, or an operation that needs root). Not retried."""


class AuthenticationError(CairnError):
    """The client could not prove who it is: a wrong user or password (AUTH_FAILED), no
    credentials while authentication is on (AUTH_REQUIRED), or a token still refused after
    authenticating again (INVALID_AUTH_TOKEN)."""


_AUTHENTICATION_CODES = frozenset(
    {errors_pb2.ERROR_CODE_AUTH_FAILED, errors_pb2.ERROR_CODE_AUTH_REQUIRED, errors_pb2.ERROR_CODE_INVALID_AUTH_TOKEN}
)


class ConfigDecodeError(CairnError):
    """A config value is not JSON of the shape asked for."""

    def __init__(self, message: str) -> None:
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, message)


def _status_details(err: grpc.aio.AioRpcError) -> errors_pb2.RpcStatus | None:
    for key, value in err.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                return errors_pb2.RpcStatus.FromString(value)
            except Exception:  # not ours to judge: the call's own status still stands
                return None
    return None


def _error_info(status: errors_pb2.RpcStatus | None) -> errors_pb2.ErrorInfo | None:
    for detail in status.details if status is not None else ():
        if detail.type_url == _ERROR_INFO_TYPE_URL:
            return errors_pb2.ErrorInfo.FromString(detail.value)
    return None


def _from_status(code: grpc.StatusCode, details: str, info: errors_pb2.ErrorInfo | None) -> CairnError:
    cairn_code = info.code if info is not None and info.code != errors_pb2.ERROR_CODE_UNSPECIFIED else None
    if info is not None and cairn_code == errors_pb2.ERROR_CODE_COMPACTED:
        return CompactedError(code, details, cairn_code, compact_revision=info.compact_revision or None)
    if cairn_code == errors_pb2.ERROR_CODE_FUTURE_REVISION:
        return FutureRevisionError(code, details, cairn_code)
    if cairn_code == errors_pb2.ERROR_CODE_PERMISSION_DENIED:
        return PermissionDeniedError(code, details, cairn_code)
    if cairn_code in _AUTHENTICATION_CODES:
        return AuthenticationError(code, details, cairn_code)
    cls: type[CairnError] = {
        grpc.StatusCode.UNAVAILABLE: UnavailableError,
        grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
        grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
        grpc.StatusCode.NOT_FOUND: NotFoundError,
    }.get(code, CairnError)
    return cls(code, details, cairn_code)


def from_rpc_error(err: grpc.aio.AioRpcError) -> CairnError:
    """Maps a gRPC failure to the matching exception class, with the Cairn code from the
    ErrorInfo in its status details."""
    return _from_status(err.code(), err.details() or "", _error_info(_status_details(err)))


def from_status(status: errors_pb2.RpcStatus) -> CairnError:
    """The exception a status from the server stands for (a watch's cancel_status)."""
    code = _STATUS_CODES.get(status.code, grpc.StatusCode.UNKNOWN)
    return _from_status(code, status.message, _error_info(status))


def never_sent(err: grpc.aio.AioRpcError) -> bool:
    """True when gRPC failed before the request left the client (no connection), so the
    server cannot have applied it."""
    if err.code() != grpc.StatusCode.UNAVAILABLE or _status_details(err) is not None:
        return False
    text = f"{err.details()} {err.debug_error_string()}".lower()
    return "failed to connect" in text or "connection refused" in text


class SessionLostError(Exception):
    """The session's lease is gone (expired, revoked, or not renewable in time): every key
    bound to it, locks and candidacies included, has been or will be deleted."""


class NotLeaderError(Exception):
    """An election call that needs leadership (proclaim) found this candidate is not the
    leader (it resigned, or its session was lost)."""
