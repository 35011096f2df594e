"""The ephemeral /config example, run as two real processes: the watcher prints the owner's
value and its changes, then the key's disappearance once the owner is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from cluster import Cluster, run

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ephemeral_config.py"
STUCK = 60.0  # bounds a stuck test only


async def _line_with(proc: asyncio.subprocess.Process, text: str, seen: list[str]) -> str:
    assert proc.stdout is not None
    while True:
        raw = await asyncio.wait_for(proc.stdout.readline(), STUCK)
        if not raw:
            raise AssertionError(f"output ended before {text!r}: {seen}")
        line = raw.decode().rstrip()
        seen.append(line)
        if text in line:
            return line


def test_ephemeral_config_disappears_when_its_owner_is_killed(shared_cluster: Cluster) -> None:
    async def main() -> None:
        env = {**os.environ, "CAIRN_ENDPOINTS": ",".join(shared_cluster.endpoints)}

        async def start(*args: str) -> asyncio.subprocess.Process:
            return await asyncio.create_subprocess_exec(
                sys.executable, str(EXAMPLE), *args, env=env, stdout=asyncio.subprocess.PIPE
            )

        owner = await start("owner", "--ttl", "2", "--every", "0.5")
        watcher: asyncio.subprocess.Process | None = None
        owner_out: list[str] = []
        watch_out: list[str] = []
        try:
            await _line_with(owner, '"version": 1', owner_out)
            watcher = await start("watch")
            await _line_with(watcher, "watch: /config = {", watch_out)
            await _line_with(watcher, '"version": ', watch_out)  # a change, seen as it happens
            owner.kill()  # SIGKILL: no goodbye, the lease has to expire
            await owner.wait()
            await _line_with(watcher, "watch: /config deleted", watch_out)
        finally:
            for proc in (owner, watcher):
                if proc is not None and proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    run(main())
