"""Leases and the recipes on them: sessions, mutex with fencing, election, discovery.

Each test uses its own keys on the shared cluster. Leases are short (the cluster's minimum
TTL) only where expiry is the point; elsewhere a lease ends by an outside revoke, which is
what an expiry does to the keys, without waiting for one."""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest

from cairn_client import (
    CairnClient,
    Election,
    Event,
    KeyValue,
    Mutex,
    NotFoundError,
    NotLeaderError,
    Op,
    ServiceChange,
    SessionLostError,
)

from cluster import Cluster, run, wait_until

# Bounds a stuck test only (CI shares two busy cores); never a guess at how long things take.
STUCK = 60.0


def test_lease_grant_keep_alive_time_to_live_revoke(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client:
            grant = await client.lease.grant(1)
            assert grant.id > 0 and grant.ttl >= 1  # raised to the cluster's minimum
            await client.put("lease-a/k1", "v", lease=grant.id)
            await client.txn().then(Op.put("lease-a/k2", "v", lease=grant.id)).commit()
            described = await client.lease.time_to_live(grant.id, keys=True)
            assert described.granted_ttl == grant.ttl and 0 < described.ttl <= grant.ttl
            assert sorted(described.keys) == [b"lease-a/k1", b"lease-a/k2"]
            assert grant.id in await client.lease.leases()

            # Renewed for twice its TTL, it is still there with its keys.
            loop = asyncio.get_running_loop()
            until = loop.time() + 2 * grant.ttl
            keep_alive = client.lease.keep_alive(grant.id)
            async for renewal in keep_alive:
                assert renewal.id == grant.id and renewal.ttl == grant.ttl
                if loop.time() > until:
                    break
            await keep_alive.aclose()
            assert (await client.lease.time_to_live(grant.id)).ttl > 0
            assert (await client.get("lease-a/k1")).kv is not None
            once = await client.lease.keep_alive_once(grant.id)
            assert once.ttl == grant.ttl

            # A renewal stream ends by itself once the lease is revoked.
            keep_alive = client.lease.keep_alive(grant.id)
            renewals = asyncio.ensure_future(_drain(keep_alive))
            revoked = await client.lease.revoke(grant.id)
            await asyncio.wait_for(renewals, STUCK)
            assert keep_alive.expired and not keep_alive.unreachable

            gone = await client.get_prefix("lease-a/")
            assert gone.kvs == [] and gone.revision >= revoked.revision
            assert (await client.lease.time_to_live(grant.id)).ttl == -1
            assert grant.id not in await client.lease.leases()
            with pytest.raises(NotFoundError):
                await client.lease.keep_alive_once(grant.id)
            with pytest.raises(NotFoundError):
                await client.lease.revoke(grant.id)
            with pytest.raises(NotFoundError):
                await client.put("lease-a/k3", "v", lease=grant.id)

    run(main())


async def _drain(keep_alive: object) -> None:
    async for _ in keep_alive:  # type: ignore[attr-defined]
        pass


def test_expired_lease_deletes_its_keys_at_one_revision(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client:
            grant = await client.lease.grant(1)
            put = await client.put("lease-b/k1", "v", lease=grant.id)
            await client.put("lease-b/k2", "v", lease=grant.id)
            deletes: list[Event] = []
            async with client.watch("lease-b/", prefix=True, start_revision=put.revision) as watch:
                async for event in watch:  # nobody renews the lease: it expires
                    if event.type == "DELETE":
                        deletes.append(event)
                        if len(deletes) == 2:
                            break
            assert {e.key for e in deletes} == {b"lease-b/k1", b"lease-b/k2"}
            assert deletes[0].revision == deletes[1].revision

    run(main())


def test_session_is_lost_when_its_lease_is_revoked_from_outside(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client, CairnClient(shared_cluster.endpoints) as other:
            session = await client.session(ttl=10)
            called: list[bool] = []
            session.on_lost(lambda: called.append(True))
            await session.register("sess-a/me", "1")
            assert (await other.get("sess-a/me")).kv.lease == session.lease_id  # type: ignore[union-attr]
            assert not session.is_lost

            await other.lease.revoke(session.lease_id)
            await asyncio.wait_for(session.lost.wait(), STUCK)
            assert called == [True]
            assert (await other.get("sess-a/me")).kv is None
            with pytest.raises(SessionLostError):
                await session.register("sess-a/again", "1")
            await session.close()  # nothing left to revoke: not an error

            # Closing a live session revokes its lease and so deletes its keys.
            session = await client.session(ttl=10)
            await session.register("sess-a/me", "2")
            await session.close()
            assert not session.is_lost
            assert (await other.get("sess-a/me")).kv is None
            assert (await other.lease.time_to_live(session.lease_id)).ttl == -1

    run(main())


def test_session_is_lost_when_no_member_renews_it_in_time(new_cluster: Callable[..., Cluster]) -> None:
    cluster = new_cluster()

    async def main() -> None:
        async with CairnClient(cluster.endpoints, dial_timeout=0.5, call_timeout=1) as client:
            session = await client.session(ttl=2)
            for member in cluster.members:  # every member stops answering, none refuses
                member.pause()
            try:
                await asyncio.wait_for(session.lost.wait(), STUCK)
            finally:
                for member in cluster.members:
                    member.resume()

    run(main())


def test_keep_alive_moves_to_another_member_when_the_leader_is_killed(new_cluster: Callable[..., Cluster]) -> None:
    cluster = new_cluster()
    leader = cluster.wait_for_leader()
    rest = [m.address for m in cluster.members if m is not leader]

    async def main() -> None:
        async with CairnClient([leader.address, *rest], dial_timeout=1, call_timeout=2) as client:
            session = await client.session(ttl=3)
            await session.register("failover/me", "1")
            grant = await client.lease.grant(3)
            keep_alive = client.lease.keep_alive(grant.id)
            renewals = aiter(keep_alive)
            await anext(renewals)
            leader.kill()
            # Renewed (by the survivors) for twice its TTL after the kill: still alive.
            loop = asyncio.get_running_loop()
            until = loop.time() + 2 * grant.ttl
            while loop.time() < until:
                renewal = await asyncio.wait_for(anext(renewals), STUCK)
                assert renewal.ttl > 0
            await keep_alive.aclose()
            assert not session.is_lost
            async with CairnClient(rest) as other:
                kv = (await other.get("failover/me")).kv
                assert kv is not None and kv.lease == session.lease_id
                assert (await other.lease.time_to_live(grant.id)).ttl > 0
            await session.close()

    run(main())


def test_mutex_excludes_and_fences_a_holder_that_lost_it(shared_cluster: Cluster) -> None:
    async def main() -> None:
        clients = [CairnClient(shared_cluster.endpoints) for _ in range(3)]
        try:
            sessions = [await c.session(ttl=10) for c in clients]

            # Exclusion: contenders never overlap in the critical section.
            inside: list[int] = []
            tokens: list[int] = []

            async def contend(i: int) -> None:
                mutex = Mutex(sessions[i], "mutex-a")
                for _ in range(3):
                    tokens.append(await mutex.lock())
                    inside.append(i)
                    assert len(inside) == 1, f"two holders at once: {inside}"
                    result = await mutex.txn().then(Op.put("mutex-a-data", str(i))).commit()
                    assert result.succeeded
                    await asyncio.sleep(0)  # let the others run while the lock is held
                    inside.remove(i)
                    await mutex.unlock()

            await asyncio.wait_for(asyncio.gather(*(contend(i) for i in range(3))), STUCK)
            assert tokens == sorted(tokens) and len(set(tokens)) == len(tokens)  # fencing tokens only grow

            # Fencing: the first holder's lease ends (as if it had been paused past its TTL);
            # the waiter takes the lock with a higher token, and the old token is refused.
            first, second = Mutex(sessions[0], "mutex-b"), Mutex(sessions[1], "mutex-b")
            old = await first.lock()
            waiting = asyncio.ensure_future(second.lock())
            await _until_queued(clients[2], "mutex-b/", 2)
            assert not waiting.done()
            await clients[2].lease.revoke(sessions[0].lease_id)
            new = await asyncio.wait_for(waiting, STUCK)
            assert new > old
            stale = await first.txn().then(Op.put("mutex-b-data", "from the old holder")).commit()
            assert not stale.succeeded
            fresh = await second.txn().then(Op.put("mutex-b-data", "from the new holder")).commit()
            assert fresh.succeeded
            assert (await clients[2].get("mutex-b-data")).kv.value == b"from the new holder"  # type: ignore[union-attr]
            holder = await second.holder()
            assert holder is not None and holder.key == second.key and holder.create_revision == new

            # try_lock does not wait and leaves nothing behind when the lock is taken.
            third = Mutex(sessions[2], "mutex-b")
            assert await third.try_lock() is None
            assert (await clients[2].get_prefix("mutex-b/", count_only=True)).count == 1
            await second.unlock()
            assert await third.try_lock() is not None

            # A waiter whose own session is lost gives up with SessionLostError.
            waiting = asyncio.ensure_future(Mutex(sessions[1], "mutex-b").lock())
            await _until_queued(clients[2], "mutex-b/", 2)
            await clients[0].lease.revoke(sessions[1].lease_id)
            with pytest.raises(SessionLostError):
                await asyncio.wait_for(waiting, STUCK)
        finally:
            for c in clients:
                await c.close()

    run(main())


async def _until_queued(client: CairnClient, prefix: str, count: int) -> None:
    """Waits until `count` keys exist under `prefix`, following creations and deletes."""

    async def queued() -> None:
        current = await client.get_prefix(prefix, count_only=True)
        present = current.count
        if present >= count:
            return
        async with client.watch(prefix, prefix=True, start_revision=current.revision + 1) as watch:
            async for event in watch:
                if event.type == "DELETE":
                    present -= 1
                elif event.kv.version == 1:
                    present += 1
                if present >= count:
                    return

    await asyncio.wait_for(queued(), STUCK)


def test_election_one_leader_resign_hands_over_observe_sees_each_change(shared_cluster: Cluster) -> None:
    async def main() -> None:
        clients = [CairnClient(shared_cluster.endpoints) for _ in range(3)]
        try:
            sessions = [await c.session(ttl=10) for c in clients]
            a, b, c = (Election(s, "elect-a") for s in sessions)
            assert await a.leader() is None

            seen: list[KeyValue] = []

            async def watch_leaders() -> None:
                async for leader in c.observe():
                    seen.append(leader)

            observer = asyncio.ensure_future(watch_leaders())
            await a.campaign("a")
            assert a.is_leader
            b_campaign = asyncio.ensure_future(b.campaign("b"))
            await _until_queued(clients[2], "elect-a/", 2)
            assert not b_campaign.done()
            leader = await b.leader()
            assert leader is not None and leader.value == b"a" and leader.key == a.key

            await a.proclaim("a2")
            await a.resign()
            with pytest.raises(NotLeaderError):
                await a.proclaim("a3")
            await asyncio.wait_for(b_campaign, STUCK)
            assert b.is_leader and b.revision > 0
            # b's session ends from outside; c, campaigning now, takes over.
            c_campaign = asyncio.ensure_future(c.campaign("c"))
            await _until_queued(clients[0], "elect-a/", 2)
            await clients[0].lease.revoke(sessions[1].lease_id)
            await asyncio.wait_for(c_campaign, STUCK)
            with pytest.raises(NotLeaderError):
                await b.proclaim("b2")

            await wait_until(lambda: len(seen) >= 4, STUCK, "the observer seeing four leader changes")
            observer.cancel()
            await asyncio.gather(observer, return_exceptions=True)
            assert [kv.value for kv in seen] == [b"a", b"a2", b"b", b"c"]
        finally:
            for client in clients:
                await client.close()

    run(main())


def test_discover_sees_the_live_set_then_joins_and_leaves(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client, CairnClient(shared_cluster.endpoints) as other:
            first = await other.session(ttl=10)
            await first.register("svc-a/1", "10.0.0.1:80")
            found = await client.discover("svc-a/")
            assert found.services == {b"svc-a/1": b"10.0.0.1:80"}
            start = found.revision

            second = await other.session(ttl=10)
            await second.register("svc-a/2", "10.0.0.2:80")
            changes: list[ServiceChange] = []

            async def follow() -> None:
                async for change in found.changes:
                    changes.append(change)
                    if len(changes) == 3:
                        return

            following = asyncio.ensure_future(follow())
            await second.close()  # an orderly leave: revoke
            await other.lease.revoke(first.lease_id)  # as if the process had died
            await asyncio.wait_for(following, STUCK)
            await found.aclose()
            assert [(c.type, c.key, c.value) for c in changes] == [
                ("join", b"svc-a/2", b"10.0.0.2:80"),
                ("leave", b"svc-a/2", b"10.0.0.2:80"),
                ("leave", b"svc-a/1", b"10.0.0.1:80"),
            ]
            assert found.services == {}
            revisions = [c.revision for c in changes]
            assert revisions[0] > start and revisions == sorted(revisions) and found.revision == revisions[-1]

    run(main())
