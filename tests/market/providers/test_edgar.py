"""EdgarProvider against real SEC companyfacts/submissions responses (tests/fixtures/sec)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
import respx

from stockdash.market.providers.edgar import EdgarProvider
from stockdash.market.types import MarketDataProvider, ProviderError, UnknownSymbolError

from .conftest import FakeTime, load_fixture

BASE = "https://data.sec.test"
CIKS = {"SNOW": "1640147", "AAPL": "320193", "TSLA": "0001318605"}
USER_AGENT = "stockdash tests admin@example.com"


def make_provider(fake_time: FakeTime) -> EdgarProvider:
    return EdgarProvider(USER_AGENT, base_url=BASE, cik_lookup=CIKS.get, sleep=fake_time.sleep)


def mock_facts(cik: str, body: object) -> respx.Route:
    url = f"{BASE}/api/xbrl/companyfacts/CIK{cik}.json"
    return respx.get(url).mock(return_value=httpx.Response(200, json=body))


@pytest.mark.parametrize("agent", ["", "   "])
def test_user_agent_is_required(agent: str) -> None:
    with pytest.raises(ValueError, match="user agent"):
        EdgarProvider(agent)


def test_satisfies_the_protocol(fake_time: FakeTime) -> None:
    assert isinstance(make_provider(fake_time), MarketDataProvider)


@respx.mock
async def test_snowflake_annual_fundamentals(fake_time: FakeTime) -> None:
    route = mock_facts(
        "0001640147", load_fixture("sec/companyfacts_CIK0001640147_SNOW_subset.json")
    )

    years = await make_provider(fake_time).fundamentals("SNOW")

    assert route.calls.last.request.headers["User-Agent"] == USER_AGENT
    assert [y.fiscal_year for y in years] == [2019, 2020, 2021, 2022, 2023, 2024, 2025]
    fy2025 = years[-1]
    assert fy2025.period_end == date(2025, 1, 31)
    assert fy2025.filed == date(2025, 3, 21)
    assert fy2025.filed_estimated is False
    assert fy2025.revenue == 3626396000
    assert fy2025.gross_profit == 2411723000
    assert fy2025.operating_income == -1456010000
    assert fy2025.net_income == -1285640000
    assert fy2025.eps_diluted == -3.86
    assert fy2025.operating_cash_flow == 959764000
    assert fy2025.capital_expenditure == 46279000
    assert fy2025.free_cash_flow == 959764000 - 46279000
    assert fy2025.cash == 2628798000
    assert fy2025.shareholders_equity == 2999929000
    assert fy2025.shares_outstanding == 334100000  # dei cover page of the FY2025 10-K
    assert (fy2025.total_debt, fy2025.dividends_per_share) == (None, None)  # not in the subset
    assert fy2025.source == "edgar"


@respx.mock
async def test_prior_years_keep_their_own_10k_filing_date(fake_time: FakeTime) -> None:
    mock_facts("0001640147", load_fixture("sec/companyfacts_CIK0001640147_SNOW_subset.json"))
    years = {y.fiscal_year: y for y in await make_provider(fake_time).fundamentals("SNOW")}

    # FY2023 also appears as a comparative in the FY2024 and FY2025 10-Ks.
    assert years[2023].filed == date(2023, 3, 29)
    assert years[2023].revenue == 2065659000
    # Pre-IPO FY2019 exists only as a comparative in the first 10-K.
    assert years[2019].filed == date(2021, 3, 31)
    assert years[2019].revenue == 96666000


@respx.mock
async def test_apple_fiscal_years_come_from_period_not_filing_fy(fake_time: FakeTime) -> None:
    mock_facts("0000320193", load_fixture("sec/companyfacts_CIK0000320193_AAPL_excerpt.json"))
    years = await make_provider(fake_time).fundamentals("AAPL")

    assert [(y.fiscal_year, y.revenue, y.filed) for y in years] == [
        (2023, 383285000000, date(2023, 11, 3)),
        (2024, 391035000000, date(2024, 11, 1)),
        (2025, 416161000000, date(2025, 10, 31)),
    ]
    assert years[-1].period_end == date(2025, 9, 27)


@respx.mock
async def test_dedup_keeps_the_latest_filing_for_a_fiscal_year(fake_time: FakeTime) -> None:
    facts = load_fixture("sec/companyfacts_CIK0000320193_AAPL_excerpt.json")
    revenue = facts["facts"]["us-gaap"]["RevenueFromContractWithCustomerExcludingAssessedTax"]
    amendment = {
        "start": "2023-10-01",
        "end": "2024-09-28",
        "val": 391036000000,
        "accn": "0000320193-25-000010",
        "fy": 2024,
        "fp": "FY",
        "form": "10-K/A",
        "filed": "2025-01-15",
    }
    revenue["units"]["USD"].append(amendment)
    mock_facts("0000320193", facts)

    years = {y.fiscal_year: y for y in await make_provider(fake_time).fundamentals("AAPL")}

    assert years[2024].revenue == 391036000000
    assert years[2024].filed == date(2025, 1, 15)
    assert years[2025].filed == date(2025, 10, 31)


@respx.mock
async def test_quarterly_and_10q_facts_are_ignored(fake_time: FakeTime) -> None:
    facts = load_fixture("sec/companyfacts_CIK0000320193_AAPL_excerpt.json")
    revenue = facts["facts"]["us-gaap"]["RevenueFromContractWithCustomerExcludingAssessedTax"]
    quarter = {
        "start": "2025-06-29",
        "end": "2025-09-27",
        "val": 1.0,
        "accn": "0000320193-25-000079",
        "fy": 2025,
        "fp": "FY",
        "form": "10-K",
        "filed": "2025-10-31",
    }
    ten_q = {
        "start": "2024-09-29",
        "end": "2025-09-27",
        "val": 2.0,
        "accn": "x",
        "fy": 2025,
        "fp": "FY",
        "form": "10-Q",
        "filed": "2025-12-01",
    }
    revenue["units"]["USD"] += [quarter, ten_q]
    mock_facts("0000320193", facts)

    years = await make_provider(fake_time).fundamentals("AAPL")
    assert years[-1].revenue == 416161000000


@respx.mock
async def test_profile_from_submissions(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/submissions/CIK0001318605.json").mock(
        return_value=httpx.Response(
            200, json=load_fixture("sec/submissions_CIK0001318605_TSLA.json")
        )
    )
    profile = await make_provider(fake_time).profile("TSLA")
    assert profile.name == "Tesla, Inc."
    assert profile.exchange == "Nasdaq"
    assert profile.industry == "Motor Vehicles & Passenger Car Bodies"
    assert profile.cik == "0001318605"
    assert profile.source == "edgar"


async def test_unknown_cik_and_missing_lookup(fake_time: FakeTime) -> None:
    with pytest.raises(UnknownSymbolError):
        await make_provider(fake_time).fundamentals("NOPE")
    with pytest.raises(ProviderError, match="CIK lookup"):
        await EdgarProvider(USER_AGENT).fundamentals("AAPL")


@respx.mock
async def test_404_is_unknown_symbol(fake_time: FakeTime) -> None:
    respx.get(f"{BASE}/api/xbrl/companyfacts/CIK0000320193.json").mock(
        return_value=httpx.Response(404)
    )
    with pytest.raises(UnknownSymbolError):
        await make_provider(fake_time).fundamentals("AAPL")


async def test_price_methods_are_not_supported(fake_time: FakeTime) -> None:
    provider = make_provider(fake_time)
    with pytest.raises(ProviderError, match="not supported"):
        await provider.quote(["AAPL"])
    with pytest.raises(ProviderError, match="not supported"):
        await provider.history("AAPL", None, None)
    with pytest.raises(ProviderError, match="not supported"):
        await provider.search("apple")
