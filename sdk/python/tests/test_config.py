"""Typed config helpers: get_config and watch_config."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Optional

import pytest

from cairn_client import CairnClient, ConfigDecodeError

from cluster import Cluster, run, wait_until


@dataclass
class Limits:
    rps: int
    burst: Optional[int] = None


@dataclass
class Service:
    name: str
    replicas: int
    hosts: list[str] = field(default_factory=list)
    limits: Optional[Limits] = None


def test_get_config(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client:
            doc = {"name": "web", "replicas": 3, "hosts": ["a", "b"], "limits": {"rps": 10}, "added_later": True}
            await client.put("cfg/web", json.dumps(doc))
            assert await client.get_config("cfg/web", into=Service) == Service("web", 3, ["a", "b"], Limits(10))
            assert await client.get_config("cfg/web", into=dict) == doc

            await client.put("cfg/bad", '{"name": "web", "replicas": "three"}')
            with pytest.raises(ConfigDecodeError, match="replicas"):
                await client.get_config("cfg/bad", into=Service)
            await client.put("cfg/notjson", "{")
            with pytest.raises(ConfigDecodeError):
                await client.get_config("cfg/notjson", into=dict)
            # A missing key reads as None, as get reads it as no key (the same in every SDK).
            assert await client.get_config("cfg/missing", into=Service) is None

    run(main())


def test_watch_config_yields_current_then_each_new_version(shared_cluster: Cluster) -> None:
    async def main() -> None:
        async with CairnClient(shared_cluster.endpoints) as client:
            await client.put("wcfg/app", json.dumps({"name": "v1", "replicas": 1}))
            seen: list[Service | None] = []

            async def follow() -> None:
                async for version in client.watch_config("wcfg/app", into=Service):
                    seen.append(version.value)
                    if len(seen) == 4:
                        return

            follower = asyncio.create_task(follow())
            await wait_until(lambda: bool(seen), 30, "the current config")
            await client.put("wcfg/app", json.dumps({"name": "v2", "replicas": 2}))
            await client.delete("wcfg/app")  # a version of its own: value None
            await client.put("wcfg/app", json.dumps({"name": "v3", "replicas": 3, "limits": {"rps": 5}}))
            await asyncio.wait_for(follower, 60)
            assert seen == [Service("v1", 1), Service("v2", 2), None, Service("v3", 3, limits=Limits(5))]

            missing = client.watch_config("wcfg/missing", into=Service)
            first = await anext(missing)  # a key that does not exist: value None, at once
            assert first.value is None and first.revision > 0
            await missing.aclose()  # type: ignore[attr-defined]

    run(main())
