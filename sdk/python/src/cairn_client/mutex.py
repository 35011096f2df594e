"""Mutex with fencing tokens, on a session (etcd's concurrency.Mutex layout).

    async with await Session.create(client, ttl=10) as session:
        mutex = Mutex(session, "locks/db")
        token = await mutex.lock()
        # A write that only applies while this holder still owns the lock
        # (mutex.txn() is client.txn().if_(mutex.guard())):
        result = await mutex.txn().then(Op.put("db/x", "1")).commit()   # result.succeeded
        await mutex.unlock()

The fencing token is the create revision of the holder's key: every later holder has a
larger one. A holder whose session was lost (paused past its TTL, for example) no longer
owns that key, so a write guarded by its token is refused.
"""

from __future__ import annotations

from types import TracebackType

from . import _queue
from ._gen.cairn.v1 import kv_pb2
from .errors import CairnError, SessionLostError
from .keys import Bytesish, to_bytes
from .results import KeyValue
from .session import Session
from .txn import Compare, Txn


class Mutex:
    """A lock named `name`, held through `session`: its key is `<name>/<lease id hex>`."""

    def __init__(self, session: Session, name: Bytesish) -> None:
        self.session = session
        self.prefix = to_bytes(name) + b"/"
        self.key = _queue.own_key(self.prefix, session)
        self.token = 0
        """The fencing token while held (the create revision of `key`); 0 when not held."""

    async def lock(self) -> int:
        """Waits until this session holds the lock and returns the fencing token. Cancel it
        (or use asyncio.timeout) to give up waiting; the queue entry is then removed.
        Raises SessionLostError if the session is lost while waiting."""
        revision, _ = await _queue.enqueue(self.session, self.key, b"")
        try:
            await _queue.wait_turn(self.session, self.prefix, self.key, revision)
        except BaseException:
            await self._abandon()
            raise
        self.token = revision
        return revision

    async def try_lock(self) -> int | None:
        """Takes the lock if nobody holds it and returns the token; None (and no queue
        entry left behind) otherwise."""
        revision, _ = await _queue.enqueue(self.session, self.key, b"")
        holder = await self.holder()
        if holder is not None and holder.create_revision == revision and holder.key == self.key:
            self.token = revision
            return revision
        await self._abandon()
        return None

    async def holder(self) -> KeyValue | None:
        """The key of the current holder (lowest create revision under the name), if any."""
        result = await self.session.client.get_prefix(self.prefix, keys_only=True, sort_by="create", limit=1)
        return result.kv

    def guard(self) -> kv_pb2.Compare:
        """The compare that holds only while this holder still owns the lock, for
        `client.txn().if_(mutex.guard())...`."""
        if not self.token:
            raise SessionLostError("the mutex is not held: lock() it first")
        return Compare.create(self.key) == self.token

    def txn(self) -> Txn:
        """A transaction with guard() already in its compares: it applies its `then` ops
        only while this holder still owns the lock."""
        return self.session.client.txn().if_(self.guard())

    async def unlock(self) -> None:
        """Releases the lock (deletes this session's key) so the next waiter gets it."""
        self.token = 0
        await self.session.client.delete(self.key)

    async def _abandon(self) -> None:
        self.token = 0
        if self.session.is_lost:
            return  # the key went (or goes) with the lease
        try:
            await self.session.client.delete(self.key)
        except CairnError:
            pass  # best effort: the key still goes with the session's lease

    async def __aenter__(self) -> Mutex:
        await self.lock()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.unlock()
