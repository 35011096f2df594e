"""With no member answering, the first call fails one call timeout (DEFAULT_CALL_TIMEOUT,
5 s, the same in every SDK) after it was made: discovery, connection attempts and retries
share that one deadline. The endpoint is a loopback port nobody listens on, so connections
are refused at once and only the deadline ends the call."""

from __future__ import annotations

import socket
import time
from typing import Awaitable, Callable

import pytest

from cairn_client import CairnClient, UnavailableError
from cairn_client.client import DEFAULT_CALL_TIMEOUT

from cluster import run


def closed_port() -> str:
    """A loopback address that was free a moment ago and that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


CALLS: dict[str, Callable[[CairnClient], Awaitable[object]]] = {
    "put": lambda c: c.put("k", "v"),
    "get": lambda c: c.get("k"),
    "member_list": lambda c: c.member_list(),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_first_call_with_no_member_answering_fails_at_the_call_timeout(name: str) -> None:
    async def main() -> None:
        async with CairnClient(closed_port()) as client:
            started = time.monotonic()
            with pytest.raises(UnavailableError) as failed:
                await CALLS[name](client)
            elapsed = time.monotonic() - started
            print(f"{name} failed after {elapsed:.3f}s: {failed.value}")
            assert DEFAULT_CALL_TIMEOUT * 0.8 <= elapsed <= DEFAULT_CALL_TIMEOUT * 1.2, elapsed

    run(main())
