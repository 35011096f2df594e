"""CairnClient: the asyncio entry point."""

from __future__ import annotations

import asyncio
import warnings
import weakref
from datetime import timedelta
from types import TracebackType
from typing import AsyncIterator, Awaitable, Callable, Literal, TypeVar

import grpc
import grpc.aio

from ._gen.cairn.v1 import cluster_pb2, cluster_pb2_grpc, kv_pb2, kv_pb2_grpc
from .auth import Metadata, is_token_rejected, user_credentials
from .backoff import Backoff
from .config import ConfigVersion, decode_config
from .connection import Connection, default_endpoints
from .discovery import Discovery, discover
from .election import observe
from .errors import (
    NOT_APPLIED_CODES,
    CairnError,
    CompactedError,
    UnavailableError,
    from_rpc_error,
    never_sent,
)
from .keys import Bytesish, prefix_end, to_bytes
from .lease import LeaseClient
from .results import DeleteResult, GetResult, Header, KeyValue, Member, PutResult, TxnResult
from .session import DEFAULT_SESSION_TTL, Session
from .tls import TlsOptions, transport_for
from .txn import Txn
from .watch import Watch

T = TypeVar("T")
R = TypeVar("R")
Consistency = Literal["linearizable", "stale"]
# What a read sorts its keys by: key (the default order), version, create or mod revision, value.
SortTarget = Literal["key", "version", "create", "mod", "value"]
_RR = kv_pb2.RangeRequest
_SORT_TARGETS = {
    "key": _RR.SORT_TARGET_KEY,
    "version": _RR.SORT_TARGET_VERSION,
    "create": _RR.SORT_TARGET_CREATE,
    "mod": _RR.SORT_TARGET_MOD,
    "value": _RR.SORT_TARGET_VALUE,
}
_ASCEND, _DESCEND = _RR.SORT_ORDER_ASCEND, _RR.SORT_ORDER_DESCEND

# The defaults every Cairn SDK shares (sdk/README.md).
DEFAULT_DIAL_TIMEOUT = 2.0
"""Seconds a connection to one member may take before the next one is tried."""
DEFAULT_CALL_TIMEOUT = 5.0
"""Seconds a call may take, discovery and retries included: with no member answering, a
call fails this long after it was made."""
DEFAULT_WATCH_KEEPALIVE = 5.0
"""Seconds of silence after which a watch asks its member for progress."""
# The least time a read attempt gets before the call's deadline is split between members.
_MIN_ATTEMPT_TIMEOUT = 0.5


class CairnClient:
    """An asyncio client over a list of members.

    Every call has one deadline, `call_timeout` seconds (default 5), that covers the
    discovery of the members, every connection attempt and every retry: with no member
    answering, a call fails that long after it was made. A failed attempt moves to the
    next member after a capped exponential backoff (`max_attempts`, when given, also caps
    the number of attempts). Reads are always retried; writes only when the server said
    they were not applied (NO_LEADER, STOPPING) or the request never left the client,
    unless the call passes `retry_unsafe=True` (a retried write that had applied is
    applied twice).

    `tls` connects with TLS (unset fields default to CAIRN_CACERT, CAIRN_CERT, CAIRN_KEY);
    `user` and `password` (default CAIRN_USER, which may be NAME:PASSWORD, and
    CAIRN_PASSWORD) authenticate on first use; the token goes with every call and is
    renewed, and the call retried once, when a member refuses it (expired or revoked).
    """

    def __init__(
        self,
        endpoints: list[str] | str | None = None,
        *,
        dial_timeout: float = DEFAULT_DIAL_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        max_attempts: int | None = None,
        retry_unsafe: bool = False,
        discover: bool = True,
        backoff: Backoff | None = None,
        watch_keepalive: float = DEFAULT_WATCH_KEEPALIVE,
        tls: TlsOptions | None = None,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        if isinstance(endpoints, str):
            endpoints = [e.strip() for e in endpoints.split(",") if e.strip()]
        self._conn = Connection(
            endpoints or default_endpoints(),
            dial_timeout,
            discover,
            transport_for(tls),
            user_credentials(user, password),
        )
        self._call_timeout = call_timeout
        self._max_attempts = max_attempts
        if retry_unsafe:
            warnings.warn(
                "CairnClient(retry_unsafe=True) is deprecated: pass retry_unsafe=True to the write"
                " (put, delete, txn().commit), as in the other Cairn SDKs",
                DeprecationWarning,
                stacklevel=2,
            )
        self._retry_unsafe = retry_unsafe
        self._backoff = backoff or Backoff()
        self._watch_keepalive = watch_keepalive
        # Open watches, closed with the client; weak so that abandoned ones don't pile up.
        self._watches: weakref.WeakSet[Watch] = weakref.WeakSet()
        self.lease = LeaseClient(self._conn, self._with_retries, call_timeout, self._backoff)
        """Leases: grant, revoke, keep_alive, keep_alive_once, time_to_live, leases."""

    @property
    def endpoint(self) -> str:
        """The member in use (or the next to be tried)."""
        return self._conn.endpoint

    @property
    def endpoints(self) -> list[str]:
        """Configured endpoints plus members discovered through MemberList."""
        return list(self._conn.endpoints)

    async def __aenter__(self) -> CairnClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await asyncio.gather(*(w.aclose() for w in list(self._watches)), return_exceptions=True)
        await self._conn.close()

    # KV

    async def put(
        self,
        key: Bytesish,
        value: Bytesish,
        *,
        prev_kv: bool = False,
        lease: int = 0,
        retry_unsafe: bool | None = None,
    ) -> PutResult:
        """Sets `key` to `value`. With `lease`, the key is attached to that lease and deleted
        when it expires or is revoked; a later put without it detaches the key.
        `retry_unsafe=True` retries it even when its outcome is unknown (idempotent writes)."""
        req = kv_pb2.PutRequest(key=to_bytes(key), value=to_bytes(value), prev_kv=prev_kv, lease=lease)
        return PutResult.from_pb(await self._kv(lambda s: s.Put, req, read=False, retry_unsafe=retry_unsafe))

    async def get(
        self,
        key: Bytesish,
        *,
        consistency: Consistency = "linearizable",
        max_staleness: float | timedelta | None = None,
        revision: int = 0,
        keys_only: bool = False,
        count_only: bool = False,
        limit: int = 0,
        range_end: Bytesish = b"",
        sort_by: SortTarget | None = None,
        descending: bool = False,
    ) -> GetResult:
        """Reads one key (or [key, range_end)). "stale" serves the read from the member in
        use without a quorum round; with `max_staleness` (seconds) the member does so only
        if it is that fresh, and falls back to a linearizable read otherwise."""
        if consistency not in ("linearizable", "stale"):
            raise ValueError(f"consistency must be 'linearizable' or 'stale', not {consistency!r}")
        if max_staleness is not None and consistency != "stale":
            raise ValueError("max_staleness bounds a stale read: pass consistency='stale'")
        if descending and sort_by is None:
            sort_by = "key"
        seconds = max_staleness.total_seconds() if isinstance(max_staleness, timedelta) else max_staleness
        req = kv_pb2.RangeRequest(
            key=to_bytes(key),
            range_end=to_bytes(range_end),
            revision=revision,
            limit=limit,
            serializable=consistency == "stale",
            keys_only=keys_only,
            count_only=count_only,
            max_staleness_ms=max(1, round(seconds * 1000)) if seconds is not None else 0,
            sort_target=_SORT_TARGETS[sort_by] if sort_by is not None else _RR.SORT_TARGET_UNSPECIFIED,
            sort_order=(_DESCEND if descending else _ASCEND) if sort_by is not None else _RR.SORT_ORDER_UNSPECIFIED,
        )
        return GetResult.from_pb(await self._kv(lambda s: s.Range, req, read=True))

    async def get_prefix(
        self,
        prefix: Bytesish,
        *,
        consistency: Consistency = "linearizable",
        max_staleness: float | timedelta | None = None,
        revision: int = 0,
        keys_only: bool = False,
        count_only: bool = False,
        limit: int = 0,
        sort_by: SortTarget | None = None,
        descending: bool = False,
    ) -> GetResult:
        """Reads every key starting with `prefix`, in key order unless `sort_by` says otherwise."""
        p = to_bytes(prefix)
        return await self.get(
            p,
            range_end=prefix_end(p),
            consistency=consistency,
            max_staleness=max_staleness,
            revision=revision,
            keys_only=keys_only,
            count_only=count_only,
            limit=limit,
            sort_by=sort_by,
            descending=descending,
        )

    async def delete(
        self, key: Bytesish, *, prefix: bool = False, prev_kv: bool = False, retry_unsafe: bool | None = None
    ) -> DeleteResult:
        """Deletes `key` (or every key under it with `prefix`). `retry_unsafe` as for put."""
        k = to_bytes(key)
        req = kv_pb2.DeleteRangeRequest(key=k, range_end=prefix_end(k) if prefix else b"", prev_kv=prev_kv)
        return DeleteResult.from_pb(await self._kv(lambda s: s.DeleteRange, req, read=False, retry_unsafe=retry_unsafe))

    def txn(self) -> Txn:
        """A transaction builder; see cairn_client.txn."""

        async def commit(req: kv_pb2.TxnRequest, retry_unsafe: bool | None) -> TxnResult:
            # A transaction of gets only changes nothing: retried like a read.
            read = all(op.HasField("request_range") for op in (*req.success, *req.failure))
            return TxnResult.from_pb(await self._kv(lambda s: s.Txn, req, read=read, retry_unsafe=retry_unsafe))

        return Txn(commit)

    async def compact(self, revision: int, *, physical: bool = False) -> Header:
        """Discards history before `revision`; returns the header of the revision the
        compaction was recorded at. With `physical`, returns once the history is removed
        from storage. Compacting twice at one revision is harmless: retried like a read."""
        req = kv_pb2.CompactRequest(revision=revision, physical=physical)
        reply: kv_pb2.CompactResponse = await self._kv(lambda s: s.Compact, req, read=True)
        return Header.from_pb(reply.header)

    async def member_list(self) -> list[Member]:
        """The cluster's members (the MemberList RPC; the same name in every SDK)."""

        async def call(channel: grpc.aio.Channel, metadata: Metadata, timeout: float) -> cluster_pb2.MemberListResponse:
            stub = cluster_pb2_grpc.ClusterServiceStub(channel)
            reply: cluster_pb2.MemberListResponse = await stub.MemberList(
                cluster_pb2.MemberListRequest(), timeout=timeout, metadata=metadata
            )
            return reply

        reply = await self._with_retries(call, read=True)
        return [Member(m.id, m.name, m.address) for m in reply.members]

    # Watch

    def watch(self, key: Bytesish, *, prefix: bool = False, start_revision: int = 0, prev_kv: bool = False) -> Watch:
        """Events on a key or prefix from `start_revision` (0: from now on), as an async
        iterator that survives member failures; see cairn_client.watch."""
        k = to_bytes(key)
        w = Watch(
            self._conn,
            k,
            prefix_end(k) if prefix else b"",
            start_revision,
            prev_kv,
            self._call_timeout,
            self._backoff,
            self._watch_keepalive,
        )
        self._watches.add(w)
        return w

    # Recipes (cairn_client.session, .discovery): on leases, Txn and watches.

    async def session(self, *, ttl: int = DEFAULT_SESSION_TTL, lease_id: int | None = None) -> Session:
        """A started Session: a lease of `ttl` seconds kept alive in the background."""
        return await Session.create(self, ttl=ttl, lease_id=lease_id)

    async def discover(self, prefix: Bytesish) -> Discovery:
        """The services registered under `prefix` and a stream of joins and leaves."""
        return await discover(self, prefix)

    def observe_leader(self, name: Bytesish) -> AsyncIterator[KeyValue]:
        """The leader of election `name` each time it changes (see cairn_client.election.observe);
        needs no session."""
        return observe(self, name)

    # Config

    async def get_config(self, key: Bytesish, into: type[T]) -> T | None:
        """The JSON value of `key` decoded as `into` (dict or a dataclass); None if the key
        does not exist (as `get` reads a missing key as none, in every Cairn SDK)."""
        result = await self.get(key)
        if result.kv is None:
            return None
        return decode_config(result.kv.value, into, result.kv.key_str)

    async def watch_config(self, key: Bytesish, into: type[T]) -> AsyncIterator[ConfigVersion[T]]:
        """Each version of a config as a ConfigVersion: the current one first, then every
        new one; `value` is None while the key does not exist (absent, or deleted), as in
        the other SDKs. A value that doesn't decode raises ConfigDecodeError."""
        k = to_bytes(key)
        while True:
            current = await self.get(k)
            if current.kv is None:
                yield ConfigVersion(None, current.revision)
            else:
                yield ConfigVersion(decode_config(current.kv.value, into, current.kv.key_str), current.kv.mod_revision)
            watch = self.watch(k, start_revision=current.revision + 1)
            try:
                async for event in watch:
                    if event.type == "PUT":
                        yield ConfigVersion(decode_config(event.value, into, event.kv.key_str), event.revision)
                    else:
                        yield ConfigVersion(None, event.revision)
            except CompactedError:
                continue  # only the latest version matters: read it again and carry on
            finally:
                await watch.aclose()
                self._watches.discard(watch)

    # Calls

    async def _kv(
        self,
        method: Callable[[kv_pb2_grpc.KVServiceStub], Callable[..., Awaitable[R]]],
        request: object,
        *,
        read: bool,
        retry_unsafe: bool | None = None,
    ) -> R:
        async def call(channel: grpc.aio.Channel, metadata: Metadata, timeout: float) -> R:
            stub = kv_pb2_grpc.KVServiceStub(channel)
            return await method(stub)(request, timeout=timeout, metadata=metadata)

        return await self._with_retries(call, read=read, retry_unsafe=retry_unsafe)

    async def _with_retries(
        self,
        call: Callable[[grpc.aio.Channel, Metadata, float], Awaitable[R]],
        *,
        read: bool,
        retry_unsafe: bool | None = None,
    ) -> R:
        """Runs `call` (given a channel, the token metadata and the seconds left) under the
        call's one deadline, failing over and retrying as `read` and `retry_unsafe` allow."""
        unsafe = self._retry_unsafe if retry_unsafe is None else retry_unsafe
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._call_timeout

        def left() -> float:
            return max(0.001, deadline - loop.time())

        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            try:
                endpoint, channel = await self._conn.ready(left())
                metadata = await self._conn.tokens.metadata(channel, left())
            except UnavailableError as err:
                error: CairnError = err  # never sent: always safe to retry
            else:
                try:
                    return await call(channel, metadata, self._attempt_timeout(left(), read or unsafe))
                except grpc.aio.AioRpcError as rpc:
                    error = from_rpc_error(rpc)
                    # A refused token means the call was not applied: authenticate again
                    # and retry it once, at once and on the same member, whatever the call.
                    if is_token_rejected(error) and not reauthenticated:
                        reauthenticated = True
                        self._conn.tokens.invalidate(metadata)
                        attempt -= 1
                        continue
                    if not self._may_retry(rpc, error, read, unsafe):
                        raise error from None
                    self._conn.fail(endpoint)
            if self._max_attempts is not None and attempt >= self._max_attempts:
                raise error
            delay = self._backoff.delay(attempt)
            if loop.time() + delay >= deadline:
                raise error
            await asyncio.sleep(delay)

    def _attempt_timeout(self, left: float, retry_safe: bool) -> float:
        """A call safe to retry (a read, or a write passed with retry_unsafe) gets half of the
        time left when other members exist, so that a member that hangs (a stopped process)
        leaves time to ask another one, as in the other SDKs. Other writes get it all:
        abandoning one would leave its outcome unknown."""
        if retry_safe and len(self._conn.endpoints) > 1 and left / 2 >= _MIN_ATTEMPT_TIMEOUT:
            return left / 2
        return left

    def _may_retry(self, rpc: grpc.aio.AioRpcError, error: CairnError, read: bool, unsafe: bool) -> bool:
        if error.code == grpc.StatusCode.UNAVAILABLE and error.cairn_code in NOT_APPLIED_CODES:
            return True
        if never_sent(rpc):
            return True
        # The outcome is unknown (TIMEOUT, a lost connection, our deadline): only a read,
        # or a caller who accepts double application, may try again.
        unknown = error.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        return unknown and (read or unsafe)
