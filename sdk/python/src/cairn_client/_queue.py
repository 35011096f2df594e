"""The wait queue under a name that mutexes and elections share (etcd's layout): each
session owns the key `<name>/<lease id in hex>`; the owner of the key with the lowest
create revision holds the lock (is the leader). A waiter watches only the key just ahead of
it, so a release wakes one waiter, not the whole queue."""

from __future__ import annotations

import asyncio
from typing import Awaitable, TypeVar

from .errors import SessionLostError
from .keys import Bytesish, to_bytes
from .session import Session
from .txn import Compare, Op

T = TypeVar("T")


def own_key(prefix: bytes, session: Session) -> bytes:
    return prefix + format(session.lease_id, "x").encode()


async def enqueue(session: Session, key: bytes, value: Bytesish) -> tuple[int, bytes]:
    """Creates `key` bound to the session's lease unless it exists (this session queued
    already). Returns its create revision and its current value."""
    session.check()
    result = await (
        session.client.txn()
        .if_(Compare.create(key) == 0)
        .then(Op.put(key, value, lease=session.lease_id))
        .else_(Op.get(key))
        .commit()
    )
    if result.succeeded:
        return result.revision, to_bytes(value)
    existing = result.responses[0]
    kv = getattr(existing, "kv", None)
    if kv is None:  # deleted between the compare and the get: cannot happen in one txn
        raise SessionLostError(f"queue key {key!r} vanished")
    return kv.create_revision, kv.value


async def wait_turn(session: Session, prefix: bytes, key: bytes, revision: int) -> None:
    """Returns once `key` (created at `revision`) is the oldest key under `prefix`. Raises
    SessionLostError if the key disappears (its lease ended) or the session is lost."""
    client = session.client
    while True:
        session.check()
        queue = await client.get_prefix(prefix, keys_only=True, sort_by="create")
        if not any(kv.key == key for kv in queue.kvs):
            raise SessionLostError(f"queue key {key!r} was deleted (lease {session.lease_id:x} ended?)")
        ahead = [kv for kv in queue.kvs if kv.create_revision < revision]
        if not ahead:
            return
        await until_lost(session, _wait_deleted(session, ahead[-1].key, queue.revision + 1))


async def _wait_deleted(session: Session, key: bytes, from_revision: int) -> None:
    async with session.client.watch(key, start_revision=from_revision) as watch:
        async for event in watch:
            if event.type == "DELETE":
                return


async def until_lost(session: Session, work: Awaitable[T]) -> T:
    """Runs `work`, abandoning it with SessionLostError if the session is lost first."""
    task = asyncio.ensure_future(work)
    lost = asyncio.ensure_future(session.lost.wait())
    try:
        await asyncio.wait({task, lost}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lost.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.done() and not task.cancelled():
        return task.result()
    raise SessionLostError(f"session lease {session.lease_id:x} is lost")


async def dequeue(session: Session, key: bytes) -> None:
    await session.client.delete(key)
