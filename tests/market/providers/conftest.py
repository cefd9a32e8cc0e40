"""Helpers for provider tests: recorded fixtures, a fake clock and a recording sleep."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stockdash.core.metrics import REGISTRY

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def load_fixture(relative: str) -> Any:
    """A recorded response body from tests/fixtures."""
    return json.loads((FIXTURES / relative).read_text())


def request_count(provider: str, endpoint: str, status: str) -> float:
    """Current PROVIDER_REQUESTS value for one label set (0 if never incremented)."""
    labels = {"provider": provider, "endpoint": endpoint, "status": status}
    value = REGISTRY.get_sample_value("stockdash_provider_requests_total", labels)
    return value or 0.0


class FakeTime:
    """A clock that only moves when the code under test sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
