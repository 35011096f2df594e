"""Session: one lease kept alive in the background, the basis of ephemeral keys, locks and
elections (the layout of etcd's concurrency package, so recipes interoperate).

    async with await Session.create(client, ttl=10) as session:
        await session.register("services/api/1", "10.0.0.5:80")
        ...   # session.lost is set if the lease is lost; leaving the block revokes it
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Callable

from .errors import CairnError, NotFoundError, SessionLostError
from .keys import Bytesish
from .lease import KeepAlive
from .results import PutResult

if TYPE_CHECKING:
    from .client import CairnClient

DEFAULT_SESSION_TTL = 60


class Session:
    """A lease of `ttl` seconds renewed about every ttl/3 (see LeaseClient.keep_alive).

    `lost` (an asyncio.Event) is set, and the `on_lost` callbacks run, when the cluster says
    the lease is gone or no member renewed it before it would have expired. `close()` stops
    renewing and revokes the lease, deleting every key bound to it. Pass `lease_id` to
    adopt an existing lease instead of granting one."""

    def __init__(self, client: CairnClient, *, ttl: int = DEFAULT_SESSION_TTL, lease_id: int | None = None) -> None:
        if ttl <= 0:
            raise ValueError("a session's ttl must be positive")
        self.client = client
        self.ttl = ttl
        self._lease_id = lease_id
        self.lost = asyncio.Event()
        self._callbacks: list[Callable[[], object]] = []
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def create(
        cls, client: CairnClient, *, ttl: int = DEFAULT_SESSION_TTL, lease_id: int | None = None
    ) -> Session:
        session = cls(client, ttl=ttl, lease_id=lease_id)
        await session.start()
        return session

    @property
    def lease_id(self) -> int:
        if self._lease_id is None:
            raise RuntimeError("the session is not started: await session.start() or use Session.create")
        return self._lease_id

    @property
    def is_lost(self) -> bool:
        return self.lost.is_set()

    def on_lost(self, callback: Callable[[], object]) -> None:
        """Calls `callback()` when the session is lost (at once if it already is)."""
        if self.lost.is_set():
            callback()
        else:
            self._callbacks.append(callback)

    async def start(self) -> Session:
        """Grants the lease (unless adopting one) and starts renewing it. Idempotent."""
        if self._task is not None:
            return self
        ttl: int | None = None
        if self._lease_id is None:
            # Granted again when a leader change leaves the outcome unknown: a session started
            # during an election should not fail for it (a repeat's unused lease just expires).
            grant = await self.client.lease.grant(self.ttl, retry_unsafe=True)
            self._lease_id, self.ttl = grant.id, grant.ttl
            ttl = grant.ttl
        keep_alive = self.client.lease.keep_alive(self._lease_id, ttl=ttl)
        self._task = asyncio.get_running_loop().create_task(self._renew(keep_alive))
        return self

    async def _renew(self, keep_alive: KeepAlive) -> None:
        try:
            async for _ in keep_alive:
                pass
        except Exception:
            # A refusal no member will answer differently, or a failure nobody expected:
            # either way the lease is no longer kept, and the holder must know.
            pass
        finally:
            await keep_alive.aclose()
        if not self._closed:
            self._mark_lost()

    def _mark_lost(self) -> None:
        if self.lost.is_set():
            return
        self.lost.set()
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def check(self) -> None:
        """Raises SessionLostError if the session is lost."""
        if self.lost.is_set():
            raise SessionLostError(f"session lease {self.lease_id:x} is lost")

    async def register(self, key: Bytesish, value: Bytesish) -> PutResult:
        """Puts `key` bound to this session's lease: an ephemeral key, deleted when the
        session ends (closed, or its process dies and the lease expires)."""
        self.check()
        return await self.client.put(key, value, lease=self.lease_id)

    async def close(self) -> None:
        """Stops renewing and revokes the lease (its keys are deleted at once). After a
        loss, the revoke is best effort: the lease is gone, or no member could be reached."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._lease_id is None:
            return
        try:
            await self.client.lease.revoke(self._lease_id)
        except NotFoundError:
            pass  # already gone
        except CairnError:
            if not self.lost.is_set():
                raise
            # Lost because no member answered in time: the lease may outlive us by its TTL.

    async def __aenter__(self) -> Session:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
