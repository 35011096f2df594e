"""ZooKeeper's ephemeral-node example in Cairn terms.

    python examples/ephemeral_config.py owner [--ttl 5] [--every 3]   # creates /config, bound to its session
    python examples/ephemeral_config.py watch                         # prints every change to /config

The owner puts a JSON value under /config attached to its session's lease and updates it
every few seconds. The watcher prints the current value, then every change. Stop the owner
with Ctrl-C and /config is deleted at once (the session is closed, revoking its lease);
kill it with `kill -9` and /config is deleted when the lease expires, within the TTL.
The cluster is named by $CAIRN_ENDPOINTS (default 127.0.0.1:7379).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket

from cairn_client import CairnClient

KEY = "/config"


async def owner(client: CairnClient, ttl: int, every: float) -> None:
    async with await client.session(ttl=ttl) as session:  # leaving it (Ctrl-C) revokes the lease
        version = 0
        while True:
            version += 1
            value = json.dumps({"owner": f"{socket.gethostname()}:{os.getpid()}", "version": version})
            await session.register(KEY, value)
            print(f"owner: {KEY} = {value} (lease {session.lease_id:x})", flush=True)
            try:
                await asyncio.wait_for(session.lost.wait(), every)
            except asyncio.TimeoutError:
                continue
            raise SystemExit("owner: session lost")


async def watch(client: CairnClient) -> None:
    current = await client.get(KEY)
    if current.kv is None:
        print(f"watch: {KEY} does not exist (revision {current.revision})", flush=True)
    else:
        print(f"watch: {KEY} = {current.kv.value_str} (revision {current.kv.mod_revision})", flush=True)
    async with client.watch(KEY, start_revision=current.revision + 1) as changes:
        async for event in changes:
            if event.type == "DELETE":
                print(f"watch: {KEY} deleted (revision {event.revision}): its owner is gone", flush=True)
            else:
                print(f"watch: {KEY} = {event.value.decode()} (revision {event.revision})", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("role", choices=["owner", "watch"])
    parser.add_argument(
        "--ttl", type=int, default=5, help="session TTL in seconds (how long /config outlives a killed owner)"
    )
    parser.add_argument("--every", type=float, default=3.0, help="seconds between the owner's updates")
    args = parser.parse_args()
    async with CairnClient() as client:  # endpoints from $CAIRN_ENDPOINTS
        if args.role == "owner":
            await owner(client, args.ttl, args.every)
        else:
            await watch(client)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
