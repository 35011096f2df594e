"""A lock holder in its own process, paused with SIGSTOP past its TTL: it loses the lock, a
second client takes it with a higher fencing token, and the paused holder's guarded write is
refused when it resumes (it also learns that its session was lost)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from cairn_client import CairnClient, Compare, Mutex, Op

from cluster import Cluster, run

WORKER = Path(__file__).resolve().parent / "lock_worker.py"
STUCK = 60.0  # bounds a stuck test only


async def _line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    raw = await asyncio.wait_for(proc.stdout.readline(), STUCK)
    assert raw, "the worker's output ended"
    return raw.decode().strip()


def test_a_paused_holder_loses_the_lock_and_its_token_is_refused(shared_cluster: Cluster) -> None:
    async def main() -> None:
        env = {**os.environ, "CAIRN_ENDPOINTS": ",".join(shared_cluster.endpoints)}
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            "proc-lock",
            "1",  # raised to the cluster's minimum TTL
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert worker.stdin is not None
        try:
            _, key, token = (await _line(worker)).split()
            worker.stdin.write(b"\n")
            assert await _line(worker) == "write ok"

            worker.send_signal(signal.SIGSTOP)
            async with CairnClient(shared_cluster.endpoints) as client:
                session = await client.session(ttl=10)
                mutex = Mutex(session, "proc-lock")
                new = await asyncio.wait_for(mutex.lock(), STUCK)  # once the paused holder's lease expired
                assert new > int(token)
                stale = await client.txn().if_(Compare.create(key) == int(token)).then(Op.put("x", "y")).commit()
                assert not stale.succeeded

                worker.send_signal(signal.SIGCONT)
                worker.stdin.write(b"\n")
                lines = {await _line(worker), await _line(worker)}
                assert lines == {"lost", "write refused"}
                data = await client.get("proc-lock-data")
                assert data.kv is not None and data.kv.value == f"from {token}".encode()
                await mutex.unlock()
                await session.close()
        finally:
            if worker.returncode is None:
                worker.send_signal(signal.SIGCONT)
                worker.kill()
                await worker.wait()

    run(main())
