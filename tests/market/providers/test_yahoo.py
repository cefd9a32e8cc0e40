"""YahooProvider against Yahoo responses recorded by node-yahoo-finance2 (tests/fixtures/yahoo)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
import respx

from stockdash.market.providers.yahoo import YahooProvider
from stockdash.market.types import MarketDataProvider, ProviderError, UnknownSymbolError

from .conftest import FakeTime, load_fixture

BASE = "https://query1.yahoo.test"
COOKIE_URL = "https://cookie.yahoo.test"
CHART_2020 = "yahoo/v8_chart_AAPL_1d_2020-08-31_2020-11-07.json"
CHART_2022 = "yahoo/v8_chart_AAPL_1d_2022-02-22.json"


def make_provider(fake_time: FakeTime) -> YahooProvider:
    return YahooProvider(
        base_url=BASE,
        cookie_url=COOKIE_URL,
        today=lambda: date(2025, 3, 24),
        sleep=fake_time.sleep,
        requests_per_minute=6000,
    )


def test_satisfies_the_protocol(fake_time: FakeTime) -> None:
    assert isinstance(make_provider(fake_time), MarketDataProvider)


@respx.mock
async def test_history_maps_recorded_chart(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/v8/finance/chart/AAPL").mock(
        return_value=httpx.Response(200, json=load_fixture(CHART_2020))
    )
    bars = await make_provider(fake_time).history("AAPL", date(2020, 8, 31), date(2020, 11, 6))

    params = route.calls.last.request.url.params
    # The same window the recording asked for.
    assert (params["period1"], params["period2"]) == ("1598832000", "1604707200")
    assert params["interval"] == "1d"
    assert len(bars) == 49
    first = bars[0]
    assert first.date == date(2020, 8, 31)
    assert first.open == 127.58000183105469
    assert first.high == 131
    assert first.low == 126
    assert first.close == 129.0399932861328  # raw close, not adjclose 125.8267...
    assert first.volume == 225702700
    assert bars[1].date == date(2020, 9, 1)
    assert bars[-1].date == date(2020, 11, 6)


@respx.mock
async def test_history_skips_null_entries(fake_time: FakeTime) -> None:
    chart = load_fixture(CHART_2020)
    chart["chart"]["result"][0]["indicators"]["quote"][0]["close"][1] = None
    respx.get(f"{BASE}/v8/finance/chart/AAPL").mock(return_value=httpx.Response(200, json=chart))

    bars = await make_provider(fake_time).history("AAPL", date(2020, 8, 31), date(2020, 11, 6))

    assert len(bars) == 48
    assert date(2020, 9, 1) not in {bar.date for bar in bars}


@respx.mock
async def test_quote_from_chart_meta(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/v8/finance/chart/AAPL").mock(
        return_value=httpx.Response(200, json=load_fixture(CHART_2022))
    )
    msft = respx.get(f"{BASE}/v8/finance/chart/MSFT").mock(
        return_value=httpx.Response(200, json=load_fixture(CHART_2020))
    )
    quotes = await make_provider(fake_time).quote(["AAPL", "MSFT"])

    assert route.call_count == 1 and msft.call_count == 1
    aapl = quotes["AAPL"]
    assert aapl.price == 220.003
    assert aapl.as_of == date(2025, 3, 24)  # regularMarketTime in New York time
    # The recorded range ends in 2022, so the last bar before the quote day is 2022-02-22.
    assert aapl.previous_close == 164.32000732421875
    assert aapl.change == pytest.approx(220.003 - 164.32000732421875)
    assert aapl.volume == 5800260
    assert (aapl.week52_high, aapl.week52_low) == (260.1, 164.08)
    assert aapl.source == "yahoo"


@respx.mock
async def test_unknown_chart_symbol(fake_time: FakeTime) -> None:
    not_found = {
        "chart": {"result": None, "error": {"code": "Not Found", "description": "No data"}}
    }
    respx.get(f"{BASE}/v8/finance/chart/ZZZZ").mock(
        return_value=httpx.Response(404, json=not_found)
    )
    with pytest.raises(UnknownSymbolError):
        await make_provider(fake_time).history("ZZZZ", None, None)


@respx.mock
async def test_fundamentals_from_timeseries(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/ws/fundamentals-timeseries/v1/finance/timeseries/AAPL").mock(
        return_value=httpx.Response(
            200, json=load_fixture("yahoo/ws_fundamentals-timeseries_AAPL_annual_all.json")
        )
    )
    years = await make_provider(fake_time).fundamentals("AAPL")

    assert "annualTotalRevenue" in route.calls.last.request.url.params["type"]
    assert [y.fiscal_year for y in years] == [2022, 2023, 2024]
    fy2024 = years[-1]
    assert fy2024.period_end == date(2024, 9, 30)
    assert fy2024.filed_estimated is True
    assert fy2024.filed == date(2024, 12, 29)
    assert fy2024.revenue == 391035000000
    assert fy2024.gross_profit == 180683000000
    assert fy2024.operating_income == 123216000000
    assert fy2024.net_income == 93736000000
    assert fy2024.eps_diluted == 6.08
    assert fy2024.operating_cash_flow == 118254000000
    assert fy2024.capital_expenditure == 9447000000  # positive outflow
    assert fy2024.free_cash_flow == 108807000000
    assert fy2024.depreciation_amortization == 11445000000
    assert fy2024.total_debt == 106629000000
    assert fy2024.cash == 29943000000
    assert fy2024.shareholders_equity == 56950000000
    assert fy2024.shares_outstanding == 15116786000
    assert fy2024.dividends_per_share is None  # the series is empty in the recording
    assert fy2024.source == "yahoo"


@respx.mock
async def test_profile_uses_cookie_and_crumb(fake_time: FakeTime) -> None:
    cookie = respx.get(COOKIE_URL).mock(
        return_value=httpx.Response(404, headers={"Set-Cookie": "A3=session; Path=/"})
    )
    crumb = respx.get(f"{BASE}/v1/test/getcrumb").mock(
        return_value=httpx.Response(200, text="crumb123")
    )
    summary = respx.get(f"{BASE}/v10/finance/quoteSummary/AAPL").mock(
        return_value=httpx.Response(
            200, json=load_fixture("yahoo/v10_quoteSummary_AAPL_all_modules.json")
        )
    )
    provider = make_provider(fake_time)
    profile = await provider.profile("AAPL")
    await provider.profile("AAPL")

    assert cookie.call_count == 1 and crumb.call_count == 1  # the crumb is reused
    assert summary.calls.last.request.url.params["crumb"] == "crumb123"
    assert profile.name == "Apple Inc."
    assert profile.sector == "Technology"
    assert profile.industry == "Consumer Electronics"
    assert profile.exchange == "NasdaqGS"
    assert profile.market_cap == 3688676720640


@respx.mock
async def test_missing_crumb_is_a_provider_error(fake_time: FakeTime) -> None:
    respx.get(COOKIE_URL).mock(return_value=httpx.Response(404))
    respx.get(f"{BASE}/v1/test/getcrumb").mock(return_value=httpx.Response(200, text=""))
    with pytest.raises(ProviderError, match="crumb"):
        await make_provider(fake_time).profile("AAPL")


async def test_search_is_not_supported(fake_time: FakeTime) -> None:
    with pytest.raises(ProviderError, match="not supported"):
        await make_provider(fake_time).search("apple")
