"""Service discovery over ephemeral keys: services `session.register(key, value)` under a
prefix; `discover(client, prefix)` gives the live set and then every join and leave.

    services = await discover(client, "services/api/")
    print(services.members)                  # {key: KeyValue} at services.revision
    async for change in services:            # from services.revision + 1: no gap, no duplicate
        print(change.kind, change.key_str)   # "join" / "leave" (services.members follows)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, AsyncGenerator, AsyncIterator, Literal

from .keys import Bytesish, to_bytes
from .results import KeyValue
from .watch import Watch

if TYPE_CHECKING:
    from .client import CairnClient

ChangeKind = Literal["join", "update", "leave"]


@dataclass(frozen=True)
class ServiceChange:
    """A service appeared ("join"), changed its value ("update") or vanished ("leave")."""

    kind: ChangeKind
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
    """The live set under a prefix (`members`, read at `revision`) and, as an async
    iterator, every change after it. `members` is kept up to date as changes are read."""

    def __init__(self, members: dict[bytes, KeyValue], revision: int, watch: Watch) -> None:
        self.members = members
        self.revision = revision
        self._watch = watch
        self._iterator: AsyncGenerator[ServiceChange, None] | None = None

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
                kind: ChangeKind = "update" if event.key in self.members else "join"
                self.members[event.key] = event.kv
                yield ServiceChange(kind, event.key, event.value, event.revision)
            else:
                gone = self.members.pop(event.key, None)
                yield ServiceChange("leave", event.key, gone.value if gone else b"", event.revision)

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
    return Discovery({kv.key: kv for kv in current.kvs}, current.revision, watch)
