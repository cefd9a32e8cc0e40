"""Fixtures for the analyst tests."""

from __future__ import annotations

import pytest

from stockdash.analysis.context import MarketContext
from stockdash.market.types import StockData
from tests.analysis.analysis_builders import AS_OF, SECTOR, SECTOR_PE, index_for, make_stock


@pytest.fixture
def stock() -> StockData:
    return make_stock()


@pytest.fixture
def ctx(stock: StockData) -> MarketContext:
    return MarketContext(
        sector_pe_median={SECTOR: SECTOR_PE},
        index_returns=index_for(stock),
        risk_free_rate=0.04,
        equity_risk_premium=0.05,
        as_of=AS_OF,
    )
