"""Issue 17's acceptance with a Python etcd client: etcd-sdk-python (import name `pyetcd`),
the maintained fork of python-etcd3 (`etcd3` itself was last released in 2020 and needs
protobuf 3; `aetcd` is asyncio-only; `etcd3gw` speaks the HTTP gateway, not gRPC). A small
scenario (put/get, prefix, watch from a revision with prev kv, lease-bound key, txn
compare-and-swap, lock) runs against a real etcd, where its transcript must be EXPECTED
(which validates the scenario), and against Cairn, where it must be the same."""

from __future__ import annotations

from typing import Any, Iterator

import pyetcd
import pytest
from etcd_cluster import EtcdCluster

from cluster import Cluster

EXPECTED = [
    "get p/a: 1",
    "prefix p/: [('p/a', '1'), ('p/b', '2')]",
    "watch: PutEvent p/w/x=1 (no prev)",
    "watch: PutEvent p/w/x=2 (prev 1)",
    "watch: DeleteEvent p/w/x (prev 2)",
    "lease ttl: 30",
    "lease key before revoke: v",
    "lease key after revoke: None",
    "txn compare holds: True",
    "txn compare stale: False, saw 10",
    "lock acquired: True",
]


def scenario(endpoint: str) -> list[str]:
    host, port = endpoint.split(":")
    client = pyetcd.client(host=host, port=int(port), timeout=60)
    out: list[str] = []
    try:
        client.put("p/a", "1")
        client.put("p/b", "2")
        value, _ = client.get("p/a")
        out.append(f"get p/a: {value.decode()}")
        pairs = [(meta.key.decode(), v.decode()) for v, meta in client.get_prefix("p/")]
        out.append(f"prefix p/: {pairs}")

        # Three changes first, then a watch from the first one's revision: replayed with prev kv.
        client.put("p/w/x", "1")
        first_rev = client.get("p/w/x")[1].mod_revision
        client.put("p/w/x", "2")
        client.delete("p/w/x")
        events, cancel = client.watch_prefix("p/w/", start_revision=first_rev, prev_kv=True)
        seen = 0
        for event in events:
            prev = (
                "no prev"
                if event.prev_value is None or event.prev_value == b""
                else f"prev {event.prev_value.decode()}"
            )
            value = f"={event.value.decode()}" if type(event).__name__ == "PutEvent" else ""
            out.append(f"watch: {type(event).__name__} {event.key.decode()}{value} ({prev})")
            seen += 1
            if seen == 3:
                cancel()
                break

        lease = client.lease(30)
        client.put("p/l", "v", lease=lease)
        out.append(f"lease ttl: {lease.granted_ttl}")
        out.append(f"lease key before revoke: {client.get('p/l')[0].decode()}")
        lease.revoke()
        out.append(f"lease key after revoke: {client.get('p/l')[0]}")

        def swap() -> Any:
            return client.transaction(
                compare=[client.transactions.value("p/a") == "1"],
                success=[client.transactions.put("p/a", "10")],
                failure=[client.transactions.get("p/a")],
            )

        ok, _ = swap()
        out.append(f"txn compare holds: {ok}")
        ok, responses = swap()
        out.append(f"txn compare stale: {ok}, saw {responses[0][0][0].decode()}")

        lock = client.lock("p/lock", ttl=30)
        out.append(f"lock acquired: {lock.acquire(timeout=60)}")
        lock.release()
        return out
    finally:
        client.close()


@pytest.fixture(scope="module")
def etcd() -> Iterator[EtcdCluster]:
    cluster = EtcdCluster().start()
    yield cluster
    cluster.stop()


def test_scenario_against_etcd(etcd: EtcdCluster) -> None:
    assert scenario(etcd.endpoints[0]) == EXPECTED


def test_scenario_against_cairn(fresh_cluster: Cluster) -> None:
    fresh_cluster.wait_for_leader()
    assert scenario(fresh_cluster.endpoints[0]) == EXPECTED
