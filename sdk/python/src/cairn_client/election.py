"""Leader election on a session (etcd's concurrency.Election layout).

    election = Election(session, "elections/scheduler")
    await election.campaign("host-a")          # returns once this candidate leads
    await election.proclaim("host-a:v2")       # refused (NotLeaderError) once it no longer leads
    await election.resign()

    async for leader in observe(client, "elections/scheduler"):   # or election.observe()
        print(leader.key_str, leader.value_str)

Candidates queue under `<name>/<lease id hex>` with their value; the one whose key has the
lowest create revision leads, until it resigns or its session ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, AsyncIterator

from . import _queue
from .errors import CairnError, NotLeaderError
from .keys import Bytesish, to_bytes
from .results import KeyValue
from .session import Session
from .txn import Compare, Op

if TYPE_CHECKING:
    from .client import CairnClient


class Election:
    def __init__(self, session: Session, name: Bytesish) -> None:
        self.session = session
        self.prefix = to_bytes(name) + b"/"
        self.key = _queue.own_key(self.prefix, session)
        self.revision = 0
        """While leading: the create revision of this candidate's key (a fencing token)."""

    @property
    def is_leader(self) -> bool:
        """Whether campaign() returned and neither resign() nor a lost session followed."""
        return self.revision != 0 and not self.session.is_lost

    async def campaign(self, value: Bytesish) -> int:
        """Waits until this candidate leads, with `value` as the leader's value; returns its
        revision. Cancel it to withdraw. Raises SessionLostError if the session is lost."""
        revision, current = await _queue.enqueue(self.session, self.key, value)
        try:
            if current != to_bytes(value):
                await self._put_if_owner(revision, value)
            await _queue.wait_turn(self.session, self.prefix, self.key, revision)
        except BaseException:
            try:
                if not self.session.is_lost:
                    await self.session.client.delete(self.key)
            except CairnError:
                pass  # best effort: the key still goes with the session's lease
            raise
        self.revision = revision
        return revision

    async def proclaim(self, value: Bytesish) -> None:
        """Sets the leader's value, only while this candidate still leads."""
        if not self.revision:
            raise NotLeaderError("not the leader: campaign() first")
        await self._put_if_owner(self.revision, value)

    async def _put_if_owner(self, revision: int, value: Bytesish) -> None:
        result = await (
            self.session.client.txn()
            .if_(Compare.create(self.key) == revision)
            .then(Op.put(self.key, value, lease=self.session.lease_id))
            .commit()
        )
        if not result.succeeded:
            self.revision = 0
            raise NotLeaderError(f"{self.key!r} is no longer this candidate's (resigned, or the session was lost)")

    async def resign(self) -> None:
        """Steps down (or withdraws): deletes this candidate's key if it is still its own."""
        revision, self.revision = self.revision, 0
        if revision:
            await self.session.client.txn().if_(Compare.create(self.key) == revision).then(Op.delete(self.key)).commit()
        else:
            await self.session.client.delete(self.key)

    async def leader(self) -> KeyValue | None:
        """The current leader's key and value, or None when nobody leads."""
        result = await self.session.client.get_prefix(self.prefix, sort_by="create", limit=1)
        return result.kv

    def observe(self) -> AsyncIterator[KeyValue]:
        """See observe(client, name): the leader's key and value at each change."""
        return observe(self.session.client, self.prefix[:-1])


async def observe(client: CairnClient, name: Bytesish) -> AsyncIterator[KeyValue]:
    """The leader of election `name` now (if any), then each new leader or new value of
    the leader, in revision order with nothing skipped (one watch on the whole queue).
    Like etcd's, it yields nothing while nobody leads. Needs no session."""
    prefix = to_bytes(name) + b"/"
    current = await client.get_prefix(prefix)
    queue = {kv.key: kv for kv in current.kvs}
    last = _leader_of(queue)
    if last is not None:
        yield last
    async with client.watch(prefix, prefix=True, start_revision=current.revision + 1) as watch:
        async for event in watch:
            if event.type == "PUT":
                queue[event.key] = event.kv
            else:
                queue.pop(event.key, None)
            if watch.pending_revision == event.revision:
                continue  # judge the leader after whole revisions: an expiry deletes several keys at once
            leader = _leader_of(queue)
            if leader is not None and _changed(last, leader):
                last = leader
                yield leader


def _leader_of(queue: dict[bytes, KeyValue]) -> KeyValue | None:
    return min(queue.values(), key=lambda kv: kv.create_revision, default=None)


def _changed(before: KeyValue | None, after: KeyValue) -> bool:
    return before is None or (before.key, before.mod_revision) != (after.key, after.mod_revision)
