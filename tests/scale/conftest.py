"""One real multi-process cluster per broker (module scope), shared by the scale tests.

Each test starts with every process running (`ensure_running` restarts what an earlier test
killed), so the tests also hold when pytest-xdist spreads them over several workers (each worker
then runs its own cluster: unique schema, Redis prefixes and queue). On failure the end of every
process's log is attached to the report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.scale.cluster import Cluster, ClusterSpec, service_problems

BROKERS = ["amqp", "redis"]


@pytest.fixture(scope="module", params=BROKERS)
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """2 API instances behind nginx, 2 workers, 2 schedulers on PostgreSQL, Redis and the broker."""
    problems = service_problems(request.param)
    if problems:
        pytest.skip(f"scale tests on {request.param} need: {'; '.join(problems)}")
    running = Cluster(ClusterSpec(broker=request.param))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _whole_cluster(request: pytest.FixtureRequest) -> None:
    """Every process of the cluster runs when a test starts."""
    if "cluster" in request.fixturenames:
        cluster: Cluster = request.getfixturevalue("cluster")
        cluster.ensure_running()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and isinstance(cluster, Cluster):
        report.sections.append(("cluster logs", cluster.tails(40)))
    return report
