"""Cairn client: an asyncio SDK for the Cairn configuration store."""

from cairn.v1.errors_pb2 import ErrorCode

from .backoff import Backoff
from .client import CairnClient, Consistency
from .config import decode_config
from .errors import (
    AuthenticationError,
    CairnError,
    CompactedError,
    ConfigDecodeError,
    DeadlineExceededError,
    FutureRevisionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)
from .keys import prefix_end
from .results import DeleteResult, Event, GetResult, Header, KeyValue, Member, PutResult, TxnResult
from .tls import TlsOptions
from .txn import Compare, Op, Txn
from .watch import Watch

__all__ = [
    "AuthenticationError",
    "Backoff",
    "CairnClient",
    "CairnError",
    "CompactedError",
    "Compare",
    "ConfigDecodeError",
    "Consistency",
    "DeadlineExceededError",
    "DeleteResult",
    "ErrorCode",
    "Event",
    "FutureRevisionError",
    "GetResult",
    "Header",
    "InvalidArgumentError",
    "KeyValue",
    "Member",
    "NotFoundError",
    "Op",
    "PermissionDeniedError",
    "PutResult",
    "TlsOptions",
    "Txn",
    "TxnResult",
    "UnavailableError",
    "Watch",
    "decode_config",
    "prefix_end",
]
