"""Market test helpers."""

from __future__ import annotations

from stockdash.market.counting import CountingProvider

__all__ = ["CountingProvider"]
