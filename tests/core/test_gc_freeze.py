"""The served app freezes what startup built out of the garbage collector's walks; apps built
elsewhere (tests, the CLI) leave the collector alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from asgi_lifespan import LifespanManager

from stockdash.app import create_app
from stockdash.core.config import Settings
from stockdash.market.snapshot.provider import SnapshotProvider


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Start and end with nothing frozen (this is one shared test process)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
@pytest.mark.parametrize("freeze", [True, False])
async def test_startup_objects_are_frozen_only_when_serving(
    settings: Settings, snapshot: SnapshotProvider, freeze: bool
) -> None:
    app = create_app(settings, snapshot=snapshot, freeze_gc=freeze)
    async with LifespanManager(app):
        frozen = gc.get_freeze_count()
    if freeze:
        # The settings, the container and the snapshot's data at least.
        assert frozen > 10_000, frozen
    else:
        assert frozen == 0
