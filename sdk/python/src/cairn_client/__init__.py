"""Cairn client: an asyncio SDK for the Cairn configuration store."""

from ._gen.cairn.v1.errors_pb2 import ErrorCode
from .backoff import Backoff
from .client import CairnClient, Consistency
from .config import ConfigVersion, decode_config
from .discovery import Discovery, ServiceChange, discover
from .election import Election, observe
from .errors import (
    AuthenticationError,
    CairnError,
    CompactedError,
    ConfigDecodeError,
    DeadlineExceededError,
    FutureRevisionError,
    InvalidArgumentError,
    NotFoundError,
    NotLeaderError,
    PermissionDeniedError,
    SessionLostError,
    UnavailableError,
)
from .keys import prefix_end
from .lease import KeepAlive, KeepAliveResult, LeaseClient, LeaseGrant, LeaseTimeToLive
from .mutex import Mutex
from .results import DeleteResult, Event, GetResult, Header, KeyValue, Member, PutResult, TxnResult
from .session import Session
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
    "ConfigVersion",
    "Consistency",
    "DeadlineExceededError",
    "DeleteResult",
    "Discovery",
    "Election",
    "ErrorCode",
    "Event",
    "FutureRevisionError",
    "GetResult",
    "Header",
    "InvalidArgumentError",
    "KeepAlive",
    "KeepAliveResult",
    "KeyValue",
    "LeaseClient",
    "LeaseGrant",
    "LeaseTimeToLive",
    "Member",
    "Mutex",
    "NotFoundError",
    "NotLeaderError",
    "Op",
    "PermissionDeniedError",
    "PutResult",
    "ServiceChange",
    "Session",
    "SessionLostError",
    "TlsOptions",
    "Txn",
    "TxnResult",
    "UnavailableError",
    "Watch",
    "decode_config",
    "discover",
    "observe",
    "prefix_end",
]
