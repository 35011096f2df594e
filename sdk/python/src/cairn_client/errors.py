"""Exceptions raised by the client, one class per kind of failure a caller handles."""

from __future__ import annotations

import re

import grpc

# Trailing metadata key the server sets on every domain error (server/api/errors.ts).
ERROR_CODE_KEY = "cairn-error-code"

# Server codes meaning the request was not applied: retrying on another member is safe.
NOT_APPLIED_CODES = frozenset({"NO_LEADER", "STOPPING"})

_COMPACTED_RE = re.compile(r"oldest available revision is (\d+)")


class CairnError(Exception):
    """A failed call. `code` is the gRPC status; `cairn_code` the server's domain code
    (e.g. NO_LEADER, TIMEOUT, COMPACTED), or None when the server sent none."""

    def __init__(self, code: grpc.StatusCode, message: str, cairn_code: str | None = None) -> None:
        super().__init__(f"{code.name}: {message}" + (f" ({cairn_code})" if cairn_code else ""))
        self.code = code
        self.cairn_code = cairn_code
        self.details = message


class UnavailableError(CairnError):
    """No member could serve the call (down, unreachable, no leader, or stopping)."""


class DeadlineExceededError(CairnError):
    """The call did not finish within its deadline; a write may or may not have applied."""


class CompactedError(CairnError):
    """The requested revision was compacted. `compact_revision` is the oldest one left."""

    def __init__(
        self, code: grpc.StatusCode, message: str, cairn_code: str | None = None, compact_revision: int | None = None
    ) -> None:
        super().__init__(code, message, cairn_code)
        if compact_revision is None:
            match = _COMPACTED_RE.search(message)
            compact_revision = int(match.group(1)) if match else None
        self.compact_revision = compact_revision


class FutureRevisionError(CairnError):
    """The requested revision is newer than the store's current revision."""


class InvalidArgumentError(CairnError):
    """The server rejected the request as malformed (empty key, too large, ...)."""


class NotFoundError(CairnError):
    """The key (e.g. a config key) does not exist."""


class ConfigDecodeError(CairnError):
    """A config value is not JSON of the shape asked for."""

    def __init__(self, message: str) -> None:
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, message, "CONFIG_DECODE")


def _cairn_code(err: grpc.aio.AioRpcError) -> str | None:
    for key, value in err.trailing_metadata() or ():
        if key == ERROR_CODE_KEY:
            return value.decode() if isinstance(value, bytes) else str(value)
    return None


def from_rpc_error(err: grpc.aio.AioRpcError) -> CairnError:
    """Maps a gRPC failure to the matching exception class."""
    code = err.code()
    details = err.details() or ""
    cairn_code = _cairn_code(err)
    if code == grpc.StatusCode.OUT_OF_RANGE:
        if cairn_code == "FUTURE_REVISION":
            return FutureRevisionError(code, details, cairn_code)
        return CompactedError(code, details, cairn_code)
    cls: type[CairnError] = {
        grpc.StatusCode.UNAVAILABLE: UnavailableError,
        grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
        grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
        grpc.StatusCode.NOT_FOUND: NotFoundError,
    }.get(code, CairnError)
    return cls(code, details, cairn_code)


def never_sent(err: grpc.aio.AioRpcError) -> bool:
    """True when gRPC failed before the request left the client (no connection), so the
    server cannot have applied it."""
    if err.code() != grpc.StatusCode.UNAVAILABLE or _cairn_code(err) is not None:
        return False
    text = f"{err.details()} {err.debug_error_string()}".lower()
    return "failed to connect" in text or "connection refused" in text
