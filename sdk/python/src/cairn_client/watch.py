"""A watch that keeps its place across member failures.

It remembers the next revision it owes the caller; when its stream breaks it reconnects
to another member and recreates the watch from that revision, so events arrive in order
with no gap and no duplicate. Only compaction past that revision ends it (CompactedError).
A member that stops answering without closing the connection (paused, partitioned) is
noticed by asking it for progress after `keepalive` seconds of silence.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from types import TracebackType
from typing import Any, AsyncGenerator, AsyncIterator, Coroutine

import grpc
import grpc.aio

from ._gen.cairn.v1 import watch_pb2, watch_pb2_grpc
from .auth import Metadata, is_token_rejected
from .backoff import Backoff
from .connection import Connection
from .errors import CairnError, UnavailableError, from_rpc_error, from_status
from .results import Event

# Stream failures that say nothing against the watch itself: reconnect elsewhere.
_RECONNECT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)


def _task_cancelling() -> bool:
    """Whether the running task itself is being cancelled (knowable from Python 3.11)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling()) if cancelling is not None else False


_PROGRESS = watch_pb2.WatchRequest(progress_request=watch_pb2.WatchProgressRequest())

# The event loop keeps only weak references to tasks: one nobody holds may be collected
# before it finishes. Background tasks stay here until they are done.
_background: set[asyncio.Task[None]] = set()


def _spawn(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


class Watch:
    """Async iterator of Events. Leave it with `break` or, for a deterministic close,
    `async with client.watch(...) as w:` / `await w.aclose()`."""

    def __init__(
        self,
        conn: Connection,
        key: bytes,
        range_end: bytes,
        start_revision: int,
        prev_kv: bool,
        create_timeout: float,
        backoff: Backoff,
        keepalive: float,
    ) -> None:
        self._conn = conn
        self._key = key
        self._range_end = range_end
        # 0 until the first stream tells us where "now" is.
        self._next_revision = start_revision
        self._prev_kv = prev_kv
        self._create_timeout = create_timeout
        self._backoff = backoff
        self._keepalive = keepalive
        self._heard = 0.0  # loop time of the last message from the member
        self._stalled = False  # the watchdog dropped the stream of a silent member
        self._call: grpc.aio.StreamStreamCall[watch_pb2.WatchRequest, watch_pb2.WatchResponse] | None = None
        self._endpoint: str | None = None
        self._pending: deque[Event] = deque()
        self._closed = False
        self._iterator: AsyncGenerator[Event, None] | None = None
        self._watchdog_task: asyncio.Task[None] | None = None
        self._receiving = False  # the iterator is suspended inside _receive, not at a yield
        self._metadata: Metadata = ()  # sent with the current stream (its token)
        self._reauthenticated = False  # since the last stream that was created

    @property
    def next_revision(self) -> int:
        """The revision the watch resumes from: one past the last event received."""
        return self._next_revision

    @property
    def pending_revision(self) -> int | None:
        """The revision of the next event already received and not yet yielded, if any:
        equal to the last event's revision when more of the same revision follow."""
        return self._pending[0].revision if self._pending else None

    @property
    def endpoint(self) -> str | None:
        """The member currently streaming to this watch."""
        return self._endpoint if self._call is not None else None

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    async def __anext__(self) -> Event:
        return await self.__aiter__().__anext__()

    async def __aenter__(self) -> Watch:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancels the watch. An iteration in progress in another task ends (it sees the
        stream canceled) instead of being interrupted."""
        self._closed = True
        self._drop_stream()
        if self._iterator is not None and not self._receiving:
            await self._iterator.aclose()

    async def _events(self) -> AsyncGenerator[Event, None]:
        # A generator, so that `break` in `async for` closes it (asyncio finalizes
        # abandoned async generators), which cancels the stream in `finally`.
        try:
            while not self._closed:
                while self._pending:
                    yield self._pending.popleft()
                self._receiving = True
                try:
                    await self._receive()
                finally:
                    self._receiving = False
        finally:
            self._closed = True
            self._drop_stream()

    def _drop_stream(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None
        if self._watchdog_task is not None:
            self._watchdog_task.cancel()
            self._watchdog_task = None

    async def _receive(self) -> None:
        """Waits for the next batch of events, reconnecting as often as needed."""
        failures = 0
        while not self._pending and not self._closed:
            try:
                if self._call is None:
                    await self._open()
                    failures = 0
                    continue  # the created reply was handled (or the watch closed meanwhile)
                response = await self._call.read()
            except asyncio.CancelledError:
                # grpc.aio reports our own call.cancel() (aclose, watchdog) this way.
                if self._stalled and not _task_cancelling():
                    self._lose_member()
                elif self._closed and not _task_cancelling():
                    return
                else:
                    raise
            except UnavailableError:
                pass  # no member connected; ready() already moved on
            except grpc.aio.AioRpcError as err:
                if self._closed and not self._stalled:
                    return
                error = from_rpc_error(err)
                if self._reauthenticate(error):
                    continue
                if err.code() not in _RECONNECT_CODES:
                    raise error from None
                self._lose_member()
            except asyncio.TimeoutError:
                self._lose_member()  # the member accepted the stream but never confirmed the watch
            else:
                if isinstance(response, watch_pb2.WatchResponse):
                    self._heard = asyncio.get_running_loop().time()
                    self._handle(response)
                    continue
                self._lose_member()  # EOF: the member ended the stream (e.g. shutting down)
            failures += 1
            await asyncio.sleep(self._backoff.delay(failures))

    def _lose_member(self) -> None:
        self._stalled = False
        if self._endpoint is not None:
            self._conn.fail(self._endpoint)
        self._drop_stream()

    async def _open(self) -> None:
        endpoint, channel = await self._conn.ready()
        metadata = await self._conn.tokens.metadata(channel, self._create_timeout)
        if self._closed:
            return
        call = watch_pb2_grpc.WatchServiceStub(channel).Watch(metadata=metadata)
        self._metadata = metadata
        self._call, self._endpoint = call, endpoint
        create = watch_pb2.WatchCreateRequest(
            key=self._key, range_end=self._range_end, start_revision=self._next_revision, prev_kv=self._prev_kv
        )
        try:
            await call.write(watch_pb2.WatchRequest(create_request=create))
        except asyncio.InvalidStateError:
            pass  # the call already ended (refused: a stale token, say); read() reports its status
        # The first reply confirms the watch; a member that can't send it is no use to us.
        first = await asyncio.wait_for(call.read(), self._create_timeout)
        if not isinstance(first, watch_pb2.WatchResponse):
            raise grpc.aio.AioRpcError(
                grpc.StatusCode.UNAVAILABLE,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                details="watch stream ended before the watch was created",
            )
        self._heard = asyncio.get_running_loop().time()
        self._handle(first)
        self._watchdog_task = _spawn(Watch._watchdog(weakref.ref(self), call, self._keepalive, self._create_timeout))

    @staticmethod
    async def _watchdog(
        ref: weakref.ref[Watch],
        call: grpc.aio.StreamStreamCall[watch_pb2.WatchRequest, watch_pb2.WatchResponse],
        keepalive: float,
        timeout: float,
    ) -> None:
        """Drops `call` when its member goes silent: after `keepalive` seconds without a
        message it asks for progress, which any live member answers at once. It holds the
        watch weakly, so that an abandoned watch is still collected (and closed)."""
        loop = asyncio.get_running_loop()

        def current() -> Watch | None:
            watch = ref()
            return watch if watch is not None and watch._call is call else None

        while True:
            await asyncio.sleep(keepalive)
            watch = current()
            if watch is None:
                return
            if loop.time() - watch._heard < keepalive:
                continue
            del watch
            asked = loop.time()
            # Not awaited: on a silent member the write itself may block for good.
            write = _spawn(call.write(_PROGRESS))
            write.add_done_callback(lambda t: t.cancelled() or t.exception())
            while (watch := current()) is not None and watch._heard < asked and loop.time() - asked < timeout:
                del watch
                await asyncio.sleep(0.05)
            if watch is None:
                return
            if watch._heard < asked:
                watch._stalled = True
                call.cancel()
                return
            del watch

    def _reauthenticate(self, error: CairnError) -> bool:
        """A refused token (expired, revoked): forget it and reopen the stream, once per
        stream that worked. True when the stream is to be reopened."""
        if not is_token_rejected(error) or self._reauthenticated:
            return False
        self._reauthenticated = True
        self._conn.tokens.invalidate(self._metadata)
        self._drop_stream()
        return True

    def _handle(self, response: watch_pb2.WatchResponse) -> None:
        if response.canceled and response.HasField("cancel_status"):
            if self._reauthenticate(from_status(response.cancel_status)):
                return
        if response.canceled:
            self._closed = True
            self._drop_stream()
            if response.HasField("cancel_status"):
                # Canceled because of an error (compacted history, a refused create): the
                # server sends the status and ErrorInfo a failed call would carry.
                raise from_status(response.cancel_status)
            raise CairnError(grpc.StatusCode.CANCELLED, response.cancel_reason or "the server canceled the watch")
        if response.created:
            self._reauthenticated = False
            if self._next_revision == 0:
                self._next_revision = response.header.revision + 1
            return
        # A replay after reconnecting may overlap what we already delivered: skip it.
        fresh = [Event.from_pb(e) for e in response.events if e.kv.mod_revision >= self._next_revision]
        if fresh:
            self._pending.extend(fresh)
            self._next_revision = fresh[-1].revision + 1
        elif not response.events and response.header.revision >= self._next_revision:
            # A progress notification: every event up to header.revision was sent.
            self._next_revision = response.header.revision + 1
