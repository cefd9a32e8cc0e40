"""The upstream request budget is shared by every process through Redis (`limits`)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from tests.conftest import REDIS_URL, _delete_keys

from stockdash.market.providers.shared_rate import SharedRateGate


async def test_two_processes_share_one_provider_budget() -> None:
    prefix = f"stockdash-test-gate-{uuid.uuid4().hex[:10]}"
    # Two gates on one Redis stand for two worker processes.
    first, second = (
        SharedRateGate(REDIS_URL, provider="polygon", per_minute=5, prefix=prefix) for _ in range(2)
    )
    try:
        for _ in range(3):
            await asyncio.wait_for(first.acquire(), timeout=5)
        for _ in range(2):
            await asyncio.wait_for(second.acquire(), timeout=5)
        # Five requests this minute in all: the sixth waits, whichever process asks.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(second.acquire(), timeout=0.5)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(first.acquire(), timeout=0.5)
    finally:
        await _delete_keys(prefix)
