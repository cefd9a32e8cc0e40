"""PolygonProvider against Polygon's recorded responses (tests/fixtures/polygon, MIT)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import httpx
import pytest
import respx

from stockdash.market.providers.polygon import PolygonProvider
from stockdash.market.types import MarketDataProvider, ProviderError, UnknownSymbolError

from .conftest import FakeTime, load_fixture, request_count

BASE = "https://api.polygon.test"
GROUPED = f"{BASE}/v2/aggs/grouped/locale/us/market/stocks"


def make_provider(fake_time: FakeTime, today: date = date(2005, 4, 4)) -> PolygonProvider:
    return PolygonProvider(
        "secret-key",
        base_url=BASE,
        today=lambda: today,
        sleep=fake_time.sleep,
        requests_per_minute=6000,
    )


def grouped_with_aapl() -> Any:
    """The recorded grouped-daily body (GIK) plus the recorded AAPL bar from prev.json."""
    body = load_fixture("polygon/v2_aggs_grouped_us_stocks_2005-04-04.json")
    body["results"].append(load_fixture("polygon/v2_aggs_ticker_AAPL_prev.json")["results"][0])
    return body


def previous_day_aapl() -> dict[str, object]:
    """A grouped body for 2005-04-01 holding the recorded AAPL daily bar of that date."""
    bar = dict(
        load_fixture("polygon/v2_aggs_ticker_AAPL_range_1_day_2005-04-01_2005-04-04.json")[
            "results"
        ][0]
    )
    bar["T"] = "AAPL"
    return {"status": "OK", "resultsCount": 1, "results": [bar]}


def test_satisfies_the_protocol(fake_time: FakeTime) -> None:
    assert isinstance(make_provider(fake_time), MarketDataProvider)


def test_api_key_is_required() -> None:
    with pytest.raises(ValueError, match="API key"):
        PolygonProvider("")


@respx.mock
async def test_quote_many_symbols_from_one_grouped_daily_call(fake_time: FakeTime) -> None:
    today = respx.get(f"{GROUPED}/2005-04-04").mock(
        return_value=httpx.Response(200, json=grouped_with_aapl())
    )
    previous = respx.get(f"{GROUPED}/2005-04-01").mock(
        return_value=httpx.Response(200, json=previous_day_aapl())
    )

    quotes = await make_provider(fake_time).quote(["GIK", "AAPL", "NOPE"])

    assert today.call_count == 1
    assert previous.call_count == 1  # the previous close, also one call for all symbols
    assert set(quotes) == {"GIK", "AAPL"}
    gik = quotes["GIK"]
    assert (gik.price, gik.volume, gik.previous_close, gik.change) == (10.02, 895345.0, None, None)
    aapl = quotes["AAPL"]
    assert aapl.price == 156.8
    assert aapl.previous_close == 1.4604
    assert aapl.change == pytest.approx(156.8 - 1.4604)
    assert aapl.change_percent == pytest.approx((156.8 - 1.4604) / 1.4604 * 100)
    assert aapl.as_of == date(2005, 4, 4)
    assert aapl.source == "polygon"
    assert today.calls.last.request.url.params["adjusted"] == "true"
    assert today.calls.last.request.headers["Authorization"] == "Bearer secret-key"
    assert "secret-key" not in str(today.calls.last.request.url)


@respx.mock
async def test_quote_steps_back_over_weekends_and_unpublished_days(fake_time: FakeTime) -> None:
    empty = {"status": "OK", "resultsCount": 0, "queryCount": 0}
    tuesday = respx.get(f"{GROUPED}/2005-04-05").mock(return_value=httpx.Response(200, json=empty))
    respx.get(f"{GROUPED}/2005-04-04").mock(
        return_value=httpx.Response(200, json=grouped_with_aapl())
    )
    respx.get(f"{GROUPED}/2005-04-01").mock(
        return_value=httpx.Response(200, json=previous_day_aapl())
    )

    quotes = await make_provider(fake_time, today=date(2005, 4, 5)).quote(["AAPL"])

    assert tuesday.call_count == 1
    assert quotes["AAPL"].as_of == date(2005, 4, 4)


async def test_quote_of_nothing_makes_no_call(fake_time: FakeTime) -> None:
    assert await make_provider(fake_time).quote([]) == {}


@respx.mock
async def test_history_maps_recorded_bars(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-04").mock(
        return_value=httpx.Response(
            200,
            json=load_fixture("polygon/v2_aggs_ticker_AAPL_range_1_day_2005-04-01_2005-04-04.json"),
        )
    )
    bars = await make_provider(fake_time).history("AAPL", date(2005, 4, 1), date(2005, 4, 4))

    assert [bar.date for bar in bars] == [date(2005, 4, 1), date(2005, 4, 4)]
    first = bars[0]
    assert (first.open, first.high, first.low, first.close) == (1.5032, 1.5064, 1.4489, 1.4604)
    assert first.volume == 642646396.0
    assert bars[1].close == 1.4675
    assert route.calls.last.request.url.params["sort"] == "asc"
    assert request_count("polygon", "aggs_range", "200") >= 1


@respx.mock
async def test_history_follows_next_url_on_our_own_host(fake_time: FakeTime) -> None:
    first_page = load_fixture("polygon/v2_aggs_ticker_AAPL_range_1_day_2005-04-01_2005-04-04.json")
    first_page["next_url"] = (
        "https://api.massive.com/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2022-12-31?cursor=PAGE2"
    )
    second_page = load_fixture("polygon/v2_aggs_ticker_AAPL_prev.json")  # bar of 2022-04-26
    path = f"{BASE}/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2022-12-31"
    route = respx.get(path).mock(
        side_effect=[httpx.Response(200, json=first_page), httpx.Response(200, json=second_page)]
    )

    bars = await make_provider(fake_time).history("AAPL", date(2005, 4, 1), date(2022, 12, 31))

    assert route.call_count == 2
    assert route.calls[1].request.url.params["cursor"] == "PAGE2"
    assert route.calls[1].request.headers["Authorization"] == "Bearer secret-key"
    assert [bar.date for bar in bars] == [date(2005, 4, 1), date(2005, 4, 4), date(2022, 4, 26)]
    assert bars[-1].close == 156.8


@respx.mock
async def test_profile_maps_ticker_details(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/v3/reference/tickers/AAPL").mock(
        return_value=httpx.Response(
            200, json=load_fixture("polygon/v3_reference_tickers_AAPL.json")
        )
    )
    profile = await make_provider(fake_time).profile("AAPL")

    assert profile.name == "Apple Inc."
    assert profile.exchange == "NASDAQ"
    assert profile.industry == "ELECTRONIC COMPUTERS"
    assert profile.sector is None
    assert profile.market_cap == 2488795282370
    assert profile.cik == "0000320193"
    assert profile.source == "polygon"


@respx.mock
async def test_profile_of_unknown_symbol(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/v3/reference/tickers/ZZZZ").mock(
        return_value=httpx.Response(404, json={"status": "NOT_FOUND"})
    )
    with pytest.raises(UnknownSymbolError):
        await make_provider(fake_time).profile("ZZZZ")


@respx.mock
async def test_fundamentals_map_statements(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/vX/reference/financials").mock(
        return_value=httpx.Response(200, json=load_fixture("polygon/vX_reference_financials.json"))
    )
    (year,) = await make_provider(fake_time).fundamentals("NXPI")

    params = route.calls.last.request.url.params
    assert (params["ticker"], params["timeframe"]) == ("NXPI", "annual")
    assert year.fiscal_year == 2022
    assert year.period_end == date(2022, 4, 3)
    assert year.filed == date(2022, 5, 3)
    assert year.filed_estimated is False
    assert year.revenue == 3136000000.0
    assert year.gross_profit == 1777000000.0
    assert year.operating_income == 873000000.0
    assert year.net_income == 657000000.0  # attributable to the parent, as in EDGAR's NetIncomeLoss
    assert year.eps_diluted == 2.48
    assert year.operating_cash_flow == 856000000.0
    assert year.shareholders_equity == 6509000000.0
    assert (year.capital_expenditure, year.free_cash_flow, year.total_debt) == (None, None, None)
    assert year.source == "polygon"


@respx.mock
async def test_fundamentals_estimate_filed_and_keep_latest_filing(fake_time: FakeTime) -> None:
    recorded = load_fixture("polygon/vX_reference_financials.json")["results"][0]
    undated = copy.deepcopy(recorded)
    del undated["filing_date"]
    amended = copy.deepcopy(recorded)
    amended["filing_date"] = "2022-06-01"
    amended["financials"]["income_statement"]["revenues"]["value"] = 3137000000.0
    respx.get(f"{BASE}/vX/reference/financials").mock(
        return_value=httpx.Response(200, json={"status": "OK", "results": [recorded, amended]})
    )
    (year,) = await make_provider(fake_time).fundamentals("NXPI")
    assert (year.filed, year.revenue) == (date(2022, 6, 1), 3137000000.0)

    respx.get(f"{BASE}/vX/reference/financials").mock(
        return_value=httpx.Response(200, json={"status": "OK", "results": [undated]})
    )
    (estimated,) = await make_provider(fake_time).fundamentals("NXPI")
    assert estimated.filed_estimated is True
    assert estimated.filed == date(2022, 7, 2)  # period end + 90 days


@respx.mock
async def test_search_maps_tickers_without_following_pages(fake_time: FakeTime) -> None:
    route = respx.get(f"{BASE}/v3/reference/tickers").mock(
        return_value=httpx.Response(200, json=load_fixture("polygon/v3_reference_tickers.json"))
    )
    hits = await make_provider(fake_time).search("a", limit=2)

    assert route.call_count == 1
    assert [(h.symbol, h.name, h.exchange) for h in hits] == [
        ("A", "Agilent Technologies Inc.", "NYSE"),
        ("AA", "Alcoa Corporation", "NYSE"),
    ]
    assert route.calls.last.request.url.params["search"] == "a"


@respx.mock
async def test_rate_limit_429_is_retried_after_advertised_delay(fake_time: FakeTime) -> None:
    body = load_fixture("polygon/v3_reference_tickers_AAPL.json")
    respx.get(f"{BASE}/v3/reference/tickers/AAPL").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(200, json=body),
        ]
    )
    before = request_count("polygon", "ticker_details", "429")
    profile = await make_provider(fake_time).profile("AAPL")
    assert profile.name == "Apple Inc."
    assert 7.0 in fake_time.sleeps
    assert request_count("polygon", "ticker_details", "429") == before + 1


@respx.mock
async def test_server_errors_surface_as_provider_error(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/v3/reference/tickers/AAPL").mock(return_value=httpx.Response(502))
    provider = PolygonProvider(
        "k", base_url=BASE, max_retries=1, sleep=fake_time.sleep, requests_per_minute=6000
    )
    with pytest.raises(ProviderError) as caught:
        await provider.profile("AAPL")
    assert caught.value.status == 502
    assert not isinstance(caught.value, UnknownSymbolError)
