"""Rebuilding the snapshot from a live provider merges into the shipped data and loses nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from stockdash.market.counting import CountingProvider
from stockdash.market.snapshot.build import DATA_DIR
from stockdash.market.snapshot.live import rebuild_from_provider
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import Bar, FundamentalsYear, ProviderError, Quote


class FakeLive(CountingProvider):
    """A 'live' provider like Polygon's free plan: bare quotes, two years of bars, one 10-K."""

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        quotes = await super().quote(symbols)
        return {
            s: replace(
                q,
                price=(q.price or 0) * 2,
                source="polygon",
                as_of=date(2026, 11, 20),
                pe_ratio=None,  # grouped daily has no P/E, market cap or 52-week range
                market_cap=None,
                week52_high=None,
                week52_low=None,
            )
            for s, q in quotes.items()
        }

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        if symbol == "MSFT":
            raise ProviderError("polygon", "HTTP 503", status=503)
        shipped = await self.inner.history(symbol, date(2024, 11, 20), None)
        # The last two years at twice the shipped level (another adjustment basis), then two new
        # days, one of them without open/high/low.
        bars = [
            replace(
                b,
                open=None if b.open is None else b.open * 2,
                high=None if b.high is None else b.high * 2,
                low=None if b.low is None else b.low * 2,
                close=b.close * 2,
            )
            for b in shipped
        ]
        last = bars[-1].date
        return [
            *bars,
            Bar(last + timedelta(days=3), 1.0, 2.0, 0.5, 620.0, 100.0),
            Bar(last + timedelta(days=4), None, None, None, 630.0, None),
        ]

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        return [
            FundamentalsYear(
                2026, date(2026, 9, 26), date(2026, 10, 31), False, revenue=1e12, source="polygon"
            )
        ]


async def test_live_rebuild_merges_and_keeps_what_the_provider_lacks(tmp_path: Path) -> None:
    base = SnapshotProvider()
    live = FakeLive(base, name="polygon")
    report = await rebuild_from_provider(
        live,
        base_dir=DATA_DIR,
        out_dir=tmp_path,
        symbols=["AAPL", "MSFT"],
        today=date(2026, 11, 20),
    )
    assert report.replaced == {"quote": 2, "history": 1, "fundamentals": 2}
    assert set(report.failed) == {"MSFT"}
    rebuilt = SnapshotProvider(tmp_path)
    before = (await base.quote(["AAPL"]))["AAPL"]
    aapl = (await rebuilt.quote(["AAPL"]))["AAPL"]
    assert aapl.price == (before.price or 0) * 2 and aapl.source == "polygon"
    assert aapl.as_of == date(2026, 11, 20)
    # Fields the provider does not report keep the shipped values.
    assert aapl.pe_ratio == before.pe_ratio and aapl.market_cap == before.market_cap
    assert aapl.week52_high == before.week52_high and aapl.week52_low == before.week52_low

    old_bars = await base.history("AAPL", None, None)
    new_bars = await rebuilt.history("AAPL", None, None)
    assert new_bars[0].date == old_bars[0].date == date(2010, 1, 4)  # 16 years kept
    assert new_bars[0].close == pytest.approx(old_bars[0].close * 2, rel=1e-3)  # rescaled
    assert [b.close for b in new_bars[-2:]] == [620.0, 630.0]
    assert new_bars[-1].open is None and new_bars[-1].high is None and new_bars[-1].volume is None
    assert await rebuilt.history("MSFT", None, None) == await base.history("MSFT", None, None)

    years = {f.fiscal_year: f for f in await rebuilt.fundamentals("AAPL")}
    old_years = {f.fiscal_year: f for f in await base.fundamentals("AAPL")}
    assert years[2026].revenue == 1e12 and years[2026].filed_estimated is False
    assert years[2026].sources["revenue"] == "polygon"
    assert set(old_years) < set(years) and years[2018] == old_years[2018]
    assert (await rebuilt.quote(["KO"]))["KO"] == (await base.quote(["KO"]))["KO"]
    assert rebuilt.as_of() == date(2026, 11, 20)
    assert any(s["id"] == "polygon" for s in rebuilt.sources())
