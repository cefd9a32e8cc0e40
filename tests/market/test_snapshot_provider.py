"""Tests of SnapshotProvider against the shipped snapshot files."""

from __future__ import annotations

import gzip
import itertools
import json
import math
from datetime import date
from pathlib import Path

import pytest

from stockdash.market.snapshot.provider import DEFAULT_DATA_DIR, SnapshotProvider
from stockdash.market.types import MarketDataProvider, UnknownSymbolError


@pytest.fixture(scope="module")
def provider() -> SnapshotProvider:
    return SnapshotProvider()


def test_implements_protocol(provider: SnapshotProvider) -> None:
    assert isinstance(provider, MarketDataProvider)
    assert provider.name == "snapshot"


async def test_every_symbol_has_a_profile_and_a_real_or_no_price(
    provider: SnapshotProvider,
) -> None:
    symbols = provider.known_symbols()
    assert len(symbols) == 503
    profiles, quotes = provider.universe_profiles(), provider.universe_quotes()
    assert set(profiles) == set(quotes) == symbols
    for sym in symbols:
        q = quotes[sym]
        assert profiles[sym].name and q.source == "snapshot"
        if q.price is None:
            assert q.note and q.market_cap is None and q.change is None, sym
        else:
            assert q.price > 0 and q.as_of <= provider.as_of(), sym
    priceless = [s for s, q in quotes.items() if q.price is None]
    assert len(priceless) <= 40
    assert not {"AAPL", "XOM", "BNY", "MRSH", "BRK.B"} & set(priceless)


async def test_every_priced_symbol_has_a_chart(provider: SnapshotProvider) -> None:
    for sym, q in provider.universe_quotes().items():
        bars = await provider.history(sym, None, None)
        if q.price is not None:
            assert len(bars) >= 2, sym
            assert bars[-1].date <= q.as_of, sym


async def test_coverage_history_and_fundamentals(provider: SnapshotProvider) -> None:
    rich = 0
    for sym in provider.known_symbols():
        bars = await provider.history(sym, None, None)
        funds = await provider.fundamentals(sym)
        if bars and (bars[-1].date - bars[0].date).days >= 365 and len(funds) >= 3:
            rich += 1
    assert rich >= 95


async def test_aapl_numbers(provider: SnapshotProvider) -> None:
    fy = {f.fiscal_year: f for f in await provider.fundamentals("aapl")}
    assert fy[2025].operating_cash_flow == 111_482_000_000
    assert fy[2025].eps_diluted == pytest.approx(7.46, abs=0.01)
    assert fy[2017].eps_diluted == pytest.approx(2.30, abs=0.01)  # split-adjusted 4:1
    quote = (await provider.quote(["AAPL"]))["AAPL"]
    assert quote.previous_close == 311.3 and quote.price == 309.35
    assert quote.change == pytest.approx(-1.95)
    assert quote.as_of == provider.as_of() == date(2026, 8, 21)  # Friday's close
    assert 0 < (quote.dividend_yield or 0) < 0.05


async def test_xom_and_brk_fundamentals(provider: SnapshotProvider) -> None:
    xom = await provider.fundamentals("XOM")
    assert len(xom) >= 3
    assert all(f.operating_cash_flow and f.net_income for f in xom)
    brk = await provider.fundamentals("brk-b")
    assert brk and brk[-1].eps_diluted is not None


async def test_every_fundamentals_year_is_sane(provider: SnapshotProvider) -> None:
    for sym in provider.known_symbols():
        years = await provider.fundamentals(sym)
        assert [f.fiscal_year for f in years] == sorted({f.fiscal_year for f in years})
        for f in years:
            assert f.filed > f.period_end and f.filed_estimated


async def test_symbol_normalisation_and_unknown(provider: SnapshotProvider) -> None:
    assert (await provider.profile("brk-b")).symbol == "BRK.B"
    assert (await provider.profile(" Brk.B ")).symbol == "BRK.B"
    with pytest.raises(UnknownSymbolError):
        await provider.profile("NOPE")
    with pytest.raises(UnknownSymbolError):
        await provider.quote(["AAPL", "NOPE"])
    with pytest.raises(UnknownSymbolError):
        await provider.history("NOPE", None, None)


async def test_search(provider: SnapshotProvider) -> None:
    assert (await provider.search("aap"))[0].symbol == "AAPL"
    assert (await provider.search("apple"))[0].symbol == "AAPL"
    app = [h.symbol for h in await provider.search("app")]
    assert app[0] == "APP"  # exact ticker (AppLovin) wins; Apple follows by name
    assert "AAPL" in app[:3]
    assert [h.symbol for h in await provider.search("brk-b")] == ["BRK.B"]
    assert len(await provider.search("a", limit=5)) == 5
    assert await provider.search("  ") == []


async def test_history_window_and_order(provider: SnapshotProvider) -> None:
    bars = await provider.history("MSFT", date(2024, 1, 1), date(2024, 12, 31))
    assert bars[0].date >= date(2024, 1, 1) and bars[-1].date <= date(2024, 12, 31)
    assert all(a.date < b.date for a, b in itertools.pairwise(bars))
    assert 240 <= len(bars) <= 260
    full = await provider.history("AAPL", None, None)
    assert full[0].date == date(2010, 1, 4) and full[-2].date == date(2026, 8, 20)
    assert full[-1].date == date(2026, 8, 21) and full[-1].open is None  # published close only
    assert await provider.history("APP", None, None) == []
    closes = await provider.history("BNY", None, None)  # no OHLCV: closes of the key financials
    assert len(closes) >= 3 and all(b.open is None and b.volume is None for b in closes)
    info = provider.history_info("BNY")
    assert info is not None and info["kind"] == "close"


async def test_key_stats_and_sources(provider: SnapshotProvider) -> None:
    stats = provider.daily_key_stats("KO")
    assert len(stats) >= 70  # one per close: weekend republications and stale copies dropped
    assert stats[-1].date == date(2026, 8, 21) and stats[-1].price == 91.1
    assert len({s.date for s in stats}) == len(stats)
    ids = {s["id"] for s in provider.sources()}
    assert {"fundamentals-sec-annual", "sp500-daily-financials", "ticker-metadata"} <= ids
    assert provider.fundamentals_sources("AAPL")[2025]["total_debt"]
    fy2025 = {f.fiscal_year: f for f in await provider.fundamentals("AAPL")}[2025]
    assert fy2025.sources["revenue"] == "fundamentals-sec-annual"


def _reject(token: str) -> float:
    raise AssertionError(f"non-finite number {token} in shipped data")


def _check_finite(value: object) -> None:
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for v in value.values():
            _check_finite(v)
    elif isinstance(value, list):
        for v in value:
            _check_finite(v)


def test_shipped_files_have_no_nan_or_inf() -> None:
    files = sorted(Path(DEFAULT_DATA_DIR).glob("*.json.gz"))
    assert len(files) > 90
    for path in files:
        data = json.loads(gzip.decompress(path.read_bytes()), parse_constant=_reject)
        _check_finite(data)
