"""Watches: resuming across a leader kill without gap or duplicate, and clean cancellation."""

from __future__ import annotations

import asyncio
import gc
from typing import Callable

from cairn_client import CairnClient, CairnError, Event

from cluster import Cluster, run, wait_until

WRITES = 60
KILL_AFTER = 20


def test_watch_keeps_its_place_across_a_leader_kill(new_cluster: Callable[..., Cluster]) -> None:
    # A short server timeout: writes caught in the election fail fast instead of in 7 s.
    cluster = new_cluster("--request-timeout", "1500")
    leader = cluster.wait_for_leader()
    followers = [m.address for m in cluster.members if m is not leader]

    async def main() -> None:
        watcher = CairnClient([leader.address], dial_timeout=2, call_timeout=5)
        writer = CairnClient(followers, dial_timeout=2, call_timeout=3)
        try:
            watch = watcher.watch("hist/", prefix=True, start_revision=1)
            events: list[Event] = []
            acked: list[int] = []

            async def write() -> int:
                for i in range(WRITES):
                    if i == KILL_AFTER:
                        assert watch.endpoint == leader.address
                        leader.kill()
                    try:
                        acked.append((await writer.put(f"hist/{i % 7}", str(i))).revision)
                    except CairnError:
                        pass  # outcome unknown: the history read below is the reference
                    await asyncio.sleep(0.01)
                return (await writer.get("hist/", range_end="hist0")).revision

            async def consume() -> None:
                async for event in watch:
                    events.append(event)

            first = await writer.put("hist/start", "0")  # so the watch has something at once
            acked.append(first.revision)
            consumer = asyncio.ensure_future(consume())
            # Bounds for a stuck test only (CI shares two busy cores).
            final = await asyncio.wait_for(write(), 120)
            await wait_until(lambda: bool(events) and events[-1].revision >= final, 60, f"the watch reaching {final}")
            assert watch.endpoint is not None and watch.endpoint != leader.address
            await watch.aclose()
            await asyncio.wait_for(consumer, 30)

            # The reference: the whole history, replayed by a new watch on a survivor.
            history: list[Event] = []

            async def replay() -> None:
                async with writer.watch("hist/", prefix=True, start_revision=1) as w:
                    async for event in w:
                        history.append(event)
                        if event.revision >= final:
                            return

            await asyncio.wait_for(replay(), 60)
            revisions = [e.revision for e in events]
            assert revisions == sorted(set(revisions)), "out of order or duplicated"
            assert [(e.type, e.key, e.value, e.revision) for e in events] == [
                (e.type, e.key, e.value, e.revision) for e in history
            ]
            assert set(acked) <= set(revisions)
            assert len(acked) > KILL_AFTER
        finally:
            await watcher.close()
            await writer.close()

    run(main())


def test_leaving_a_watch_cancels_it(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client:
            put = await client.put("leave/a", "1")
            async for event in client.watch("leave/", prefix=True, start_revision=put.revision):
                assert event.value == b"1"
                break

            # asyncio closes the abandoned iterator in a task of its own: wait for that.
            def closed() -> bool:
                gc.collect()
                return len(client._watches) == 0

            await wait_until(closed, 10, "the abandoned watch closed")

            async with client.watch("leave/", prefix=True, start_revision=put.revision) as watch:
                assert (await watch.__anext__()).key == b"leave/a"
                assert watch.endpoint is not None
                watchdog = watch._watchdog_task
                assert watchdog is not None and not watchdog.done()  # referenced while it runs
            assert watch.endpoint is None
            assert watch._watchdog_task is None
            await asyncio.wait({watchdog}, timeout=10)
            assert watchdog.cancelled()

    run(main())


def test_watch_leaves_a_member_that_hangs(fresh_cluster: Cluster) -> None:
    leader = fresh_cluster.wait_for_leader()
    hung = next(m for m in fresh_cluster.members if m is not leader)

    async def main() -> None:
        # The probe after 0.5 s of silence must be answered within call_timeout: generous,
        # so that a live member on a busy machine is not taken for a hung one.
        watcher = CairnClient([hung.address], dial_timeout=1, call_timeout=3, watch_keepalive=0.5)
        writer = CairnClient([leader.address], discover=False)
        try:
            watch = watcher.watch("hang/", prefix=True)
            first = asyncio.ensure_future(watch.__anext__())
            # A watch from now knows where "now" is once the member confirmed it: from then
            # on nothing is missed. (Its endpoint is set earlier, when the stream opens.)
            await wait_until(lambda: watch.next_revision > 0, 30, "the watch created")
            await writer.put("hang/1", "1")
            assert (await asyncio.wait_for(first, 30)).value == b"1"
            await asyncio.sleep(1.5)  # idle past the keepalive: a live member answers the probe
            assert watch.endpoint == hung.address

            hung.pause()  # its connections stay open; it just stops answering
            await writer.put("hang/2", "2")
            await writer.put("hang/3", "3")
            got = [await asyncio.wait_for(watch.__anext__(), 30) for _ in range(2)]
            assert [e.value for e in got] == [b"2", b"3"]
            assert watch.endpoint not in (None, hung.address)
            await watch.aclose()
        finally:
            hung.resume()
            await watcher.close()
            await writer.close()

    run(main())
