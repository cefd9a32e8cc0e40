"""The latest analyses per symbol, kept beside their market data so a restart starts warm.

The refresh stores each symbol's analyses with the cache keys they are cached under, as the
attachment of the symbol's stock_cache row (`MarketService.store_attachments`, which joins a
refresh batch's single transaction). When a cold cache reads that row back, the market hands
the attachment to `AnalysisStore.restore`, which puts the analyses back under their keys. The
format of the stored document is this module's alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stockdash.analysis.schemas import Analysis, ModelName
from stockdash.market.service import MarketService


@dataclass(frozen=True, slots=True)
class AnalysisRun:
    """One symbol's analyses with the cache keys they are stored under."""

    analyses: dict[ModelName, Analysis]
    cache_keys: dict[ModelName, str]


class AnalysisStore:
    """Persists analyses in the market's stock_cache rows and restores them on a cold start."""

    def __init__(self, market: MarketService) -> None:
        self.market = market
        market.restore_attachments_with(self.restore)

    @staticmethod
    def payload(run: AnalysisRun) -> dict[str, Any]:
        """The stored document: {"models": {model: analysis}, "cache_keys": {model: key}}."""
        return {
            "models": {m: a.model_dump(mode="json") for m, a in run.analyses.items()},
            "cache_keys": dict(run.cache_keys),
        }

    async def save(self, runs: Mapping[str, AnalysisRun]) -> None:
        """Persist the latest analyses of several symbols next to their data, in one transaction
        (inside `MarketService.batched_writes`, with the batch's other writes)."""
        await self.market.store_attachments({s: self.payload(r) for s, r in runs.items()})

    async def restore(self, symbol: str, stored: dict[str, Any] | None) -> int:
        """On a cold start, put a symbol's persisted analyses back under their cache keys; how many.

        A key names the exact inputs an analysis was computed on, so a restored entry is only
        ever read for the same data; `add` never overwrites a fresher one.
        """
        if not stored:
            return 0
        models: dict[str, Any] = stored.get("models") or {}
        keys: dict[str, str] = stored.get("cache_keys") or {}
        restored = 0
        for model, key in keys.items():
            if model in models:
                restored += await self.market.cache.add(
                    key, json.dumps(models[model]), self.market.ttl
                )
        return restored
