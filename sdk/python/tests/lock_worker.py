"""A lock holder for test_lock_process.py: takes the lock NAME with a session of TTL
seconds, prints "holding KEY TOKEN", then on each line of stdin tries a write guarded by its
token and prints "write ok" or "write refused", and "lost" once its session is lost."""

from __future__ import annotations

import asyncio
import sys

from cairn_client import CairnClient, Mutex, Op


async def main(name: str, ttl: int) -> None:
    async with CairnClient() as client:  # endpoints from $CAIRN_ENDPOINTS
        session = await client.session(ttl=ttl)
        session.on_lost(lambda: print("lost", flush=True))
        mutex = Mutex(session, name)
        token = await mutex.lock()
        print(f"holding {mutex.key.decode()} {token}", flush=True)
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, sys.stdin.readline):
            result = await mutex.txn().then(Op.put(f"{name}-data", f"from {token}")).commit()
            print("write ok" if result.succeeded else "write refused", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
