"""Rebuilding the snapshot from a live provider keeps what the provider lacks or fails on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from stockdash.market.counting import CountingProvider
from stockdash.market.snapshot.build import DATA_DIR
from stockdash.market.snapshot.live import rebuild_from_provider
from stockdash.market.snapshot.provider import SnapshotProvider
from stockdash.market.types import Bar, FundamentalsYear, ProviderError, Quote


class FakeLive(CountingProvider):
    """A 'live' provider: new prices and a filed 10-K for AAPL; MSFT history fails."""

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        quotes = await super().quote(symbols)
        return {
            s: replace(q, price=q.price * 2, source="polygon", as_of=date(2026, 11, 20))
            for s, q in quotes.items()
        }

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        if symbol == "MSFT":
            raise ProviderError("polygon", "HTTP 503", status=503)
        return [
            Bar(date(2026, 11, 19), 1.0, 2.0, 0.5, 1.5, 100.0),
            Bar(date(2026, 11, 20), 1.5, 2.5, 1.0, 2.0, 200.0),
        ]

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        return [
            FundamentalsYear(
                2026, date(2026, 9, 26), date(2026, 10, 31), False, revenue=1e12, source="polygon"
            )
        ]


async def test_live_rebuild_replaces_what_it_got_and_keeps_the_rest(tmp_path: Path) -> None:
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
    aapl = (await rebuilt.quote(["AAPL"]))["AAPL"]
    assert aapl.price == (await base.quote(["AAPL"]))["AAPL"].price * 2 and aapl.source == "polygon"
    assert [b.close for b in await rebuilt.history("AAPL", None, None)] == [1.5, 2.0]
    assert await rebuilt.history("MSFT", None, None) == await base.history("MSFT", None, None)
    years = await rebuilt.fundamentals("AAPL")
    assert years[-1].revenue == 1e12 and years[-1].filed_estimated is False
    assert (await rebuilt.quote(["KO"]))["KO"] == (await base.quote(["KO"]))["KO"]
    assert rebuilt.as_of() == date(2026, 11, 20)
    assert any(s["id"] == "polygon" for s in rebuilt.sources())
