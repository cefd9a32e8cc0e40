"""Prometheus multiprocess mode: /metrics sums every worker's metrics (PROMETHEUS_MULTIPROC_DIR).

prometheus_client picks its storage when it is imported, so the processes that write and read
the shared directory are subprocesses started with the variable already set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from stockdash.core import metrics
from stockdash.core.metrics import (
    MULTIPROC_DIR_ENV,
    REGISTRY,
    mark_process_dead,
    prepare_multiprocess_dir,
    render_metrics,
)

# One "worker": count fetches, record a refresh cycle, then exit.
WRITER = """
import sys
from stockdash.core.metrics import PROVIDER_FETCHES, REFRESH_CYCLE_SECONDS, REFRESH_SYMBOLS
PROVIDER_FETCHES.labels("snapshot", "quote").inc(int(sys.argv[1]))
REFRESH_SYMBOLS.set(int(sys.argv[2]))
REFRESH_CYCLE_SECONDS.observe(0.2)
"""

# One API process: two requests through the real app (the HTTP instrumentator's metrics).
API_WRITER = """
import asyncio, sys, httpx
from stockdash.app import create_app
from stockdash.core.config import Settings
app = create_app(Settings(_env_file=None, environment="development", data_dir=sys.argv[1],
                          frontend_dist=sys.argv[1], refresh_interval_seconds=0))
async def main():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for _ in range(2):
            assert (await c.get("/healthz")).status_code == 200
asyncio.run(main())
"""

# A scrape of the process metrics /metrics serves, printed as {sample name + labels: value}.
READER = """
import json
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from stockdash.core.metrics import render_metrics
samples = {}
for family in text_string_to_metric_families(render_metrics().decode()):
    for s in family.samples:
        samples[s.name + json.dumps(s.labels, sort_keys=True)] = s.value
print(json.dumps({"content_type": CONTENT_TYPE_LATEST, "samples": samples}))
"""


def run_python(code: str, *args: str, multiproc_dir: Path) -> str:
    env = {**os.environ, MULTIPROC_DIR_ENV: str(multiproc_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_metrics_endpoint_sums_every_process(tmp_path: Path) -> None:
    shared = tmp_path / "prom"
    prepare_multiprocess_dir(shared)
    # Two workers, one after the other (so the gauge's "most recent" is well defined).
    run_python(WRITER, "2", "40", multiproc_dir=shared)
    run_python(WRITER, "3", "25", multiproc_dir=shared)

    scraped = json.loads(run_python(READER, multiproc_dir=shared))
    samples = scraped["samples"]

    assert scraped["content_type"].startswith("text/plain")
    fetches = 'stockdash_provider_fetches_total{"endpoint": "quote", "provider": "snapshot"}'
    assert samples[fetches] == 5.0
    assert samples["stockdash_refresh_cycle_seconds_count{}"] == 2.0
    assert samples["stockdash_refresh_cycle_seconds_sum{}"] == pytest.approx(0.4)
    # The last cycle's figure, not the larger earlier one (nor a sum, nor one series per pid).
    assert samples["stockdash_refresh_symbols{}"] == 25.0
    assert [k for k in samples if k.startswith("stockdash_refresh_symbols")] == [
        "stockdash_refresh_symbols{}"
    ]


def test_prepare_multiprocess_dir_creates_and_empties(tmp_path: Path) -> None:
    shared = tmp_path / "a" / "prom"
    prepare_multiprocess_dir(shared)
    assert shared.is_dir()

    (shared / "counter_123.db").write_bytes(b"stale")
    (shared / "gauge_mostrecent_123.db").write_bytes(b"stale")
    (shared / "README").write_text("not ours")
    prepare_multiprocess_dir(shared)

    assert sorted(p.name for p in shared.iterdir()) == ["README"]


def test_mark_process_dead_drops_only_live_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["gauge_livesum_123.db", "gauge_livemax_123.db", "counter_123.db", "gauge_max_123.db"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "gauge_livesum_456.db").write_bytes(b"")

    monkeypatch.delenv(MULTIPROC_DIR_ENV, raising=False)
    mark_process_dead(123)  # single-process mode: nothing to do
    assert len(list(tmp_path.iterdir())) == 5

    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(tmp_path))
    mark_process_dead(123)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_123.db",
        "gauge_livesum_456.db",
        "gauge_max_123.db",
    ]


def test_single_process_serves_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_DIR_ENV, raising=False)
    assert metrics.multiprocess_dir() is None
    before = REGISTRY.get_sample_value("stockdash_refresh_symbols")
    metrics.REFRESH_SYMBOLS.set(7)
    try:
        body = render_metrics()
        assert body == generate_latest(REGISTRY)
        assert b"stockdash_refresh_symbols 7.0" in body
    finally:
        metrics.REFRESH_SYMBOLS.set(before or 0)


def test_http_metrics_sum_over_api_processes(tmp_path: Path) -> None:
    """The instrumentator's request counter and latency histogram, written by two API processes,
    are summed by one scrape (each process alone counted 2)."""
    shared = tmp_path / "prom"
    prepare_multiprocess_dir(shared)
    for n in range(2):
        run_python(API_WRITER, str(tmp_path / f"api{n}"), multiproc_dir=shared)

    samples = json.loads(run_python(READER, multiproc_dir=shared))["samples"]

    labels = '{"handler": "/healthz", "method": "GET", "status": "2xx"}'
    assert samples["http_requests_total" + labels] == 4.0
    assert samples["http_request_duration_seconds_count" + labels] == 4.0
    # Requests in flight is a live sum: zero once both processes are done.
    assert samples["stockdash_http_requests_in_flight{}"] == 0.0
