"""Leases: time-to-live contracts that keys are attached to (`put(..., lease=id)`).

A lease lives while keep-alives renew it; when it expires or is revoked, every key attached
to it is deleted at one revision. `client.lease.keep_alive(id)` renews a lease for as long as
it is iterated; a Session (cairn_client.session) does that in the background.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncGenerator, AsyncIterator, Awaitable, Callable, Protocol, TypeVar

import grpc
import grpc.aio

from ._gen.cairn.v1 import errors_pb2, lease_pb2, lease_pb2_grpc
from .auth import Metadata, is_token_rejected
from .backoff import Backoff
from .connection import Connection
from .errors import NotFoundError, UnavailableError, from_rpc_error
from .results import Header

R = TypeVar("R")

# Stream failures that say nothing against the lease itself: renew through another member.
_RECONNECT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)


class _Retrying(Protocol):
    def __call__(
        self,
        call: Callable[[grpc.aio.Channel, Metadata, float], Awaitable[R]],
        *,
        read: bool,
        retry_unsafe: bool | None = None,
    ) -> Awaitable[R]: ...


@dataclass(frozen=True)
class LeaseGrant:
    header: Header
    id: int
    ttl: int
    """The granted time to live in seconds (raised to the cluster's minimum when lower)."""


@dataclass(frozen=True)
class KeepAliveResult:
    header: Header
    id: int
    ttl: int
    """The remaining time to live in seconds after the renewal; 0 or less: the lease is gone."""


@dataclass(frozen=True)
class LeaseTimeToLive:
    header: Header
    id: int
    ttl: int
    """Remaining seconds; -1 when the lease does not exist."""
    granted_ttl: int
    keys: list[bytes]


class LeaseClient:
    """The LeaseService calls, with the client's failover and retry rules: grant and revoke
    are writes (retried only when they cannot have applied); the others are reads."""

    def __init__(self, conn: Connection, with_retries: _Retrying, call_timeout: float, backoff: Backoff) -> None:
        self._conn = conn
        self._with_retries = with_retries
        self._call_timeout = call_timeout
        self._backoff = backoff

    async def grant(
        self,
        ttl: int,
        *,
        id: int = 0,  # noqa: A002 - the API's name
        retry_unsafe: bool | None = None,
    ) -> LeaseGrant:
        """A new lease of `ttl` seconds; `id` asks for a particular id (0: the cluster picks).
        `retry_unsafe=True` grants again when the outcome is unknown (a leader change): a
        repeat may leave an unused lease, which expires after its TTL."""
        reply: lease_pb2.LeaseGrantResponse = await self._call(
            lambda s: s.LeaseGrant, lease_pb2.LeaseGrantRequest(ttl=ttl, id=id), read=False, retry_unsafe=retry_unsafe
        )
        return LeaseGrant(Header.from_pb(reply.header), reply.id, reply.ttl)

    async def revoke(self, lease_id: int) -> Header:
        """Ends the lease now; its keys are deleted at the revision in the returned header.
        NotFoundError if it does not exist (any more)."""
        reply: lease_pb2.LeaseRevokeResponse = await self._call(
            lambda s: s.LeaseRevoke, lease_pb2.LeaseRevokeRequest(id=lease_id), read=False
        )
        return Header.from_pb(reply.header)

    async def time_to_live(self, lease_id: int, *, keys: bool = False) -> LeaseTimeToLive:
        """The lease's remaining and granted TTL (ttl == -1: it does not exist), and with
        `keys` the keys attached to it."""
        reply: lease_pb2.LeaseTimeToLiveResponse = await self._call(
            lambda s: s.LeaseTimeToLive, lease_pb2.LeaseTimeToLiveRequest(id=lease_id, keys=keys), read=True
        )
        return LeaseTimeToLive(Header.from_pb(reply.header), reply.id, reply.ttl, reply.granted_ttl, list(reply.keys))

    async def leases(self) -> list[int]:
        """The ids of every live lease, ascending."""
        reply: lease_pb2.LeaseLeasesResponse = await self._call(
            lambda s: s.LeaseLeases, lease_pb2.LeaseLeasesRequest(), read=True
        )
        return [status.id for status in reply.leases]

    async def keep_alive_once(self, lease_id: int) -> KeepAliveResult:
        """Renews the lease once. NotFoundError (ERROR_CODE_LEASE_NOT_FOUND) if it is gone."""

        async def call(
            channel: grpc.aio.Channel, metadata: Metadata, timeout: float
        ) -> lease_pb2.LeaseKeepAliveResponse:
            # A stream carries the user's token like every other call (authentication on).
            stream = lease_pb2_grpc.LeaseServiceStub(channel).LeaseKeepAlive(timeout=timeout, metadata=metadata)
            try:
                try:
                    await stream.write(lease_pb2.LeaseKeepAliveRequest(id=lease_id))
                except asyncio.InvalidStateError:
                    pass  # the call already ended: read() reports its status
                reply = await stream.read()
            finally:
                stream.cancel()
            if not isinstance(reply, lease_pb2.LeaseKeepAliveResponse):
                raise UnavailableError(grpc.StatusCode.UNAVAILABLE, "keep-alive stream ended without an answer")
            return reply

        # Renewing twice is harmless: safe to retry like a read.
        reply = await self._with_retries(call, read=True)
        if reply.ttl <= 0:
            raise NotFoundError(
                grpc.StatusCode.NOT_FOUND, f"lease {lease_id:x} not found", errors_pb2.ERROR_CODE_LEASE_NOT_FOUND
            )
        return KeepAliveResult(Header.from_pb(reply.header), reply.id, reply.ttl)

    def keep_alive(self, lease_id: int, *, ttl: int | None = None) -> KeepAlive:
        """Renews the lease about every third of its TTL for as long as it is iterated,
        yielding each renewal; see KeepAlive. `ttl` (the granted TTL, when just granted)
        bounds the wait for the first renewal; without it the first one is retried until
        some member answers."""
        return KeepAlive(self._conn, lease_id, self._call_timeout, self._backoff, ttl)

    async def _call(
        self,
        method: Callable[[lease_pb2_grpc.LeaseServiceStub], Callable[..., Awaitable[R]]],
        request: object,
        *,
        read: bool,
        retry_unsafe: bool | None = None,
    ) -> R:
        async def call(channel: grpc.aio.Channel, metadata: Metadata, timeout: float) -> R:
            stub = lease_pb2_grpc.LeaseServiceStub(channel)
            return await method(stub)(request, timeout=timeout, metadata=metadata)

        return await self._with_retries(call, read=read, retry_unsafe=retry_unsafe)


class KeepAlive:
    """An async iterator of KeepAliveResult: one per renewal, sent about every TTL/3 over a
    LeaseKeepAlive stream. When the member in use fails, it renews through the next one.

    It ends (StopAsyncIteration) when the lease is gone: the cluster answered ttl <= 0
    (`expired` is then True), or no member answered before the lease would have expired
    counting from the last renewal sent (`unreachable` is then True). Leaving the loop or
    `aclose()` stops renewing; the lease then expires after its TTL unless revoked.
    """

    def __init__(
        self, conn: Connection, lease_id: int, call_timeout: float, backoff: Backoff, ttl: int | None = None
    ) -> None:
        self.lease_id = lease_id
        self._ttl = ttl
        self.expired = False
        self.unreachable = False
        self._conn = conn
        self._call_timeout = call_timeout
        self._backoff = backoff
        self._iterator: AsyncGenerator[KeepAliveResult, None] | None = None

    def __aiter__(self) -> AsyncIterator[KeepAliveResult]:
        if self._iterator is None:
            self._iterator = self._renewals()
        return self._iterator

    async def __anext__(self) -> KeepAliveResult:
        return await self.__aiter__().__anext__()

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()

    async def _renewals(self) -> AsyncGenerator[KeepAliveResult, None]:
        loop = asyncio.get_running_loop()
        request = lease_pb2.LeaseKeepAliveRequest(id=self.lease_id)
        # When the lease expires unless renewed; None when unknown (before the first answer).
        deadline: float | None = loop.time() + self._ttl if self._ttl is not None else None
        failures = 0
        reauthenticated = False
        while True:
            metadata: Metadata | None = None
            if deadline is not None and loop.time() >= deadline:
                self.unreachable = True
                return
            endpoint: str | None = None
            stream: grpc.aio.StreamStreamCall[lease_pb2.LeaseKeepAliveRequest, lease_pb2.LeaseKeepAliveResponse] | None
            stream = None
            try:
                endpoint, channel = await self._conn.ready()
                metadata = await self._conn.tokens.metadata(channel, self._call_timeout)
                stream = lease_pb2_grpc.LeaseServiceStub(channel).LeaseKeepAlive(metadata=metadata)
                while True:
                    sent = loop.time()
                    await stream.write(request)
                    # A member that does not answer before the lease would expire is no use.
                    budget = self._call_timeout if deadline is None else min(self._call_timeout, deadline - sent)
                    reply = await asyncio.wait_for(stream.read(), max(budget, 0.001))
                    if not isinstance(reply, lease_pb2.LeaseKeepAliveResponse):
                        raise UnavailableError(grpc.StatusCode.UNAVAILABLE, "keep-alive stream ended")
                    if reply.ttl <= 0:
                        self.expired = True
                        return
                    failures = 0
                    # Counted from when the renewal was sent: the cluster cannot have
                    # renewed it earlier, so the lease lives at least until then.
                    deadline = sent + reply.ttl
                    yield KeepAliveResult(Header.from_pb(reply.header), reply.id, reply.ttl)
                    await asyncio.sleep(max(reply.ttl / 3, 0.1))
            except grpc.aio.AioRpcError as err:
                error = from_rpc_error(err)
                if metadata is not None and is_token_rejected(error) and not reauthenticated:
                    # A refused token (expired, revoked): authenticate again and reopen, once.
                    reauthenticated = True
                    self._conn.tokens.invalidate(metadata)
                    continue
                if err.code() not in _RECONNECT_CODES:
                    raise error from None
            except (UnavailableError, asyncio.TimeoutError, asyncio.InvalidStateError):
                pass  # no member, no answer in time, or a write on a stream that had ended
            finally:
                if stream is not None:
                    stream.cancel()
            if endpoint is not None:
                self._conn.fail(endpoint)
            failures += 1
            pause = self._backoff.delay(failures)
            if deadline is not None:
                pause = min(pause, max(0.0, deadline - loop.time()))
            await asyncio.sleep(pause)
