"""Failover when the member in use dies or hangs, and which calls are retried."""

from __future__ import annotations

import time

import pytest

from cairn_client import CairnClient, DeadlineExceededError

from cluster import Cluster, run


def test_fails_over_when_the_member_in_use_is_killed(fresh_cluster: Cluster) -> None:
    leader = fresh_cluster.wait_for_leader()
    # A follower: a write forwarded to a leader that dies has an unknown outcome (the server
    # answers TIMEOUT), which a client must not retry; the watch test covers leader loss.
    in_use = next(m for m in fresh_cluster.members if m is not leader)

    async def main() -> None:
        # A call timeout far above what a failover takes even on a busy machine, so that
        # "failed over, not waited out a deadline" shows in the elapsed time.
        async with CairnClient([in_use.address], dial_timeout=2, call_timeout=30) as client:
            await client.put("fo/before", "1")
            assert client.endpoint == in_use.address
            assert sorted(client.endpoints) == sorted(fresh_cluster.endpoints)  # learned via MemberList

            in_use.kill()
            started = time.monotonic()
            # A read fails over transparently. (A write sent on the dead connection before
            # gRPC noticed it closed has, to the client, an unknown outcome: not retried.)
            before = await client.get("fo/before")
            assert before.kv is not None and before.kv.value == b"1"
            assert client.endpoint != in_use.address
            put = await client.put("fo/after", "2")
            got = await client.get_prefix("fo/")
            assert [(kv.key_str, kv.value_str) for kv in got.kvs] == [("fo/after", "2"), ("fo/before", "1")]
            assert got.revision >= put.revision
            assert time.monotonic() - started < 15

    run(main())


def test_writes_with_unknown_outcome_are_retried_only_when_allowed(fresh_cluster: Cluster) -> None:
    hung = fresh_cluster.members[0]
    rest = [m.address for m in fresh_cluster.members[1:]]

    async def main() -> None:
        safe = CairnClient([hung.address, *rest], discover=False, dial_timeout=2, call_timeout=3)
        unsafe = CairnClient([hung.address, *rest], discover=False, dial_timeout=2, call_timeout=3)
        try:
            await safe.put("u/warm", "1")  # both clients now hold a ready channel to `hung`
            await unsafe.put("u/warm", "1")
            hung.pause()  # it accepts bytes but never answers: a sent write's fate is unknown
            with pytest.raises(DeadlineExceededError):
                await safe.put("u/k", "safe")
            assert (await safe.get("u/k")).kv is None  # reads are retried elsewhere
            assert (await unsafe.put("u/k", "unsafe", retry_unsafe=True)).revision > 0
            got = await safe.get("u/k")
            assert got.kv is not None and got.kv.value == b"unsafe"
        finally:
            hung.resume()
            await safe.close()
            await unsafe.close()

    run(main())
