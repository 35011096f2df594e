from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from cluster import Cluster


@pytest.fixture(scope="session")
def shared_cluster() -> Iterator[Cluster]:
    """One cluster for the tests that don't disturb it (they use distinct keys)."""
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def new_cluster() -> Iterator[Callable[..., Cluster]]:
    """Starts clusters for one test (revisions start at 1; members may be killed);
    every member is killed by pid and its data removed at teardown."""
    started: list[Cluster] = []

    def start(*extra_args: str, **options: Any) -> Cluster:
        cluster = Cluster(extra_args=list(extra_args), **options)
        started.append(cluster)
        return cluster.start()

    yield start
    for cluster in started:
        cluster.stop()


@pytest.fixture
def fresh_cluster(new_cluster: Callable[..., Cluster]) -> Cluster:
    return new_cluster()
