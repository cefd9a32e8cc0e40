"""The Prometheus scrape endpoint: this process's (or, in multiprocess mode, every local
process's) counters and histograms, then the figures read from the database at scrape time."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from stockdash.container import ContainerDep
from stockdash.core.metrics import render_metrics
from stockdash.monitoring.snapshot import render_snapshot

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(container: ContainerDep) -> Response:
    """Prometheus metrics in the text exposition format (all worker processes in multiprocess
    mode)."""
    settings = container.settings
    shared = await render_snapshot(container.storage, settings, settings.metrics_top_symbols)
    return Response(render_metrics() + shared, media_type=CONTENT_TYPE_LATEST)
