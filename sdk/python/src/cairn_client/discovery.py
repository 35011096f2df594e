"""Service discovery over ephemeral keys: services `session.register(key, value)` under a
prefix; `discover(client, prefix)` gives the live set and then every join and leave.

    found = await client.discover("services/api/")   # or discover(client, prefix)
    print(found.services)                    # {key: value} at found.revision
    async for change in found.changes:       # from found.revision + 1: no gap, no duplicate
        print(change.type, change.key_str)   # "join" / "leave"; found.services follows
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, AsyncGenerator, AsyncIterator, Literal

from .keys import Bytesish, to_bytes
from .watch import Watch

if TYPE_CHECKING:
    from .client import CairnClient

ChangeType = Literal["join", "leave"]


@dataclass(frozen=True)
class ServiceChange:
    """A service appeared or changed its value ("join"), or vanished ("leave")."""

    type: ChangeType
    key: bytes
    value: bytes
    """The new value; for a leave, the last value known."""
    revision: int

    @property
    def key_str(self) -> str:
        return self.key.decode()

    @property
    def value_str(self) -> str:
        return self.value.decode()


class Discovery:
    """The live set under a prefix (`services`, key to value, read at `revision`) and
    `changes`, an async iterator of every change after it (iterating the Discovery itself
    is the same). `services` and `revision` follow the changes as they are read."""

    def __init__(self, services: dict[bytes, bytes], revision: int, watch: Watch) -> None:
        self.services = services
        self.revision = revision
        self._watch = watch
        self._iterator: AsyncGenerator[ServiceChange, None] | None = None

    @property
    def changes(self) -> AsyncIterator[ServiceChange]:
        return self.__aiter__()

    def __aiter__(self) -> AsyncIterator[ServiceChange]:
        if self._iterator is None:
            self._iterator = self._changes()
        return self._iterator

    async def __anext__(self) -> ServiceChange:
        return await self.__aiter__().__anext__()

    async def _changes(self) -> AsyncGenerator[ServiceChange, None]:
        async for event in self._watch:
            self.revision = event.revision
            if event.type == "PUT":
                self.services[event.key] = event.value
                yield ServiceChange("join", event.key, event.value, event.revision)
            else:
                gone = self.services.pop(event.key, b"")
                yield ServiceChange("leave", event.key, gone, event.revision)

    async def aclose(self) -> None:
        await self._watch.aclose()

    async def __aenter__(self) -> Discovery:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


async def discover(client: CairnClient, prefix: Bytesish) -> Discovery:
    """Reads the services registered under `prefix` and watches for changes from the next
    revision on."""
    p = to_bytes(prefix)
    current = await client.get_prefix(p)
    watch = client.watch(p, prefix=True, start_revision=current.revision + 1)
    return Discovery({kv.key: kv.value for kv in current.kvs}, current.revision, watch)
