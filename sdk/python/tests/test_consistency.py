"""Stale vs linearizable reads on a member cut off from the rest of the cluster."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

import pytest

from cairn_client import CairnClient, CairnError

from cluster import Cluster, run


def test_cut_off_member_serves_stale_reads_but_never_stale_linearizable_ones(
    new_cluster: Callable[..., Cluster],
) -> None:
    # A short server timeout, so that a read without a quorum fails fast.
    fresh_cluster = new_cluster("--request-timeout", "1500")
    leader = fresh_cluster.wait_for_leader()
    isolated = next(m for m in fresh_cluster.members if m is not leader)
    others = [m for m in fresh_cluster.members if m is not isolated]

    async def main() -> None:
        # Pinned to the isolated member: no discovery, so nothing can fail over elsewhere.
        async with CairnClient(
            [isolated.address], discover=False, dial_timeout=0.5, call_timeout=3, max_attempts=1
        ) as client:
            await client.put("iso/k", "v1")
            assert (await client.get("iso/k")).kv is not None  # the isolated member applied it

            for m in others:
                m.pause()
            stale = await client.get("iso/k", consistency="stale")
            assert stale.kv is not None and stale.kv.value == b"v1"

            started = time.monotonic()
            with pytest.raises(CairnError) as linearizable:
                await client.get("iso/k")
            assert linearizable.value.code.name in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
            assert time.monotonic() - started < 15  # fails at its deadline (3 s), not later

            # Far past the bound since the leader was last heard: served linearizably, so it fails.
            await asyncio.sleep(0.6)
            with pytest.raises(CairnError):
                await client.get("iso/k", consistency="stale", max_staleness=0.3)

            for m in others:
                m.resume()
            await asyncio.to_thread(fresh_cluster.wait_for_leader)
            await client.put("iso/k", "v2")
            # Back in touch: within the bound, the member serves it locally and sees v2.
            fresh = await client.get("iso/k", consistency="stale", max_staleness=2.0)
            assert fresh.kv is not None and fresh.kv.value == b"v2"

    run(main())
