"""Polygon.io live provider: grouped daily quotes, daily aggregates, reference data, financials."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from stockdash.market.providers.guard import ProviderGuard
from stockdash.market.providers.http import (
    RateGate,
    ResilientHttp,
    RetryPolicy,
    Sleep,
    TokenBucket,
    validated_by,
)
from stockdash.market.types import (
    Bar,
    FundamentalsYear,
    Profile,
    ProviderError,
    Quote,
    SearchHit,
    UnknownSymbolError,
)

NAME: Final = "polygon"
# Polygon reports ISO 10383 MICs; the dashboard shows the familiar names.
EXCHANGE_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "XNAS": "NASDAQ",
        "XNYS": "NYSE",
        "ARCX": "NYSE Arca",
        "XASE": "NYSE American",
        "BATS": "Cboe BZX",
    }
)
DEFAULT_HISTORY_DAYS = 730  # the free plan serves two years of aggregates
TRADING_DAY_LOOKBACK = 10  # enough to step over a long weekend plus a holiday
FILING_LAG_ESTIMATE = timedelta(days=90)  # latest 10-K deadline for non-accelerated filers
MAX_PAGES = 200


validated = validated_by(NAME)


def same_host_path(next_url: str) -> str:
    """Path and query of a next_url, so it is fetched from our base_url.

    The bearer token must never travel to whatever host a response names.
    """
    parts = urlsplit(next_url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def utc_today() -> date:
    """Today's date in UTC."""
    return datetime.now(UTC).date()


def bar_date(epoch_ms: int | float) -> date:
    """Polygon stamps daily bars at US/Eastern midnight, which is the same day in UTC."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).date()


def exchange_name(mic: str | None) -> str | None:
    """Friendly exchange name for a MIC (unknown MICs pass through)."""
    return EXCHANGE_NAMES.get(mic, mic) if mic else None


def previous_weekday(day: date) -> date:
    """The weekday before `day`."""
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def latest_weekday(day: date) -> date:
    """`day` itself if a weekday, else the Friday before."""
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _field(section: Mapping[str, Any], *keys: str) -> float | None:
    """First present `value` among Polygon financial line items."""
    for key in keys:
        item = section.get(key)
        if isinstance(item, Mapping) and (value := _float(item.get("value"))) is not None:
            return value
    return None


def _quote_from_bars(
    symbol: str, bar: Mapping[str, Any], previous: Mapping[str, Any] | None, as_of: date
) -> Quote:
    price = float(bar["c"])
    previous_close = _float(previous.get("c")) if previous else None
    change = price - previous_close if previous_close is not None else None
    change_percent = (
        change / previous_close * 100 if change is not None and previous_close else None
    )
    return Quote(
        symbol=symbol,
        price=price,
        previous_close=previous_close,
        change=change,
        change_percent=change_percent,
        volume=_float(bar.get("v")),
        market_cap=None,
        pe_ratio=None,
        eps=None,
        dividend_yield=None,
        week52_high=None,
        week52_low=None,
        ebitda=None,
        price_to_sales=None,
        price_to_book=None,
        as_of=as_of,
        source=NAME,
    )


def _bar(raw: Mapping[str, Any]) -> Bar:
    return Bar(
        date=bar_date(raw["t"]),
        open=_float(raw.get("o")),
        high=_float(raw.get("h")),
        low=_float(raw.get("l")),
        close=float(raw["c"]),
        volume=_float(raw.get("v")),
    )


def _fundamentals_year(result: Mapping[str, Any]) -> FundamentalsYear | None:
    """Map one financials result; None when it lacks a fiscal year or period end."""
    try:
        fiscal_year = int(result["fiscal_year"])
        period_end = date.fromisoformat(result["end_date"])
    except (KeyError, TypeError, ValueError):
        return None
    filing_date = result.get("filing_date")
    filed = date.fromisoformat(filing_date) if filing_date else period_end + FILING_LAG_ESTIMATE
    statements = result.get("financials") or {}
    income = statements.get("income_statement") or {}
    balance = statements.get("balance_sheet") or {}
    cash_flow = statements.get("cash_flow_statement") or {}
    operating_cash_flow = _field(cash_flow, "net_cash_flow_from_operating_activities")
    return FundamentalsYear(
        fiscal_year=fiscal_year,
        period_end=period_end,
        filed=filed,
        filed_estimated=not filing_date,
        revenue=_field(income, "revenues"),
        gross_profit=_field(income, "gross_profit"),
        operating_income=_field(income, "operating_income_loss"),
        net_income=_field(income, "net_income_loss_attributable_to_parent", "net_income_loss"),
        eps_diluted=_field(income, "diluted_earnings_per_share"),
        operating_cash_flow=operating_cash_flow,
        depreciation_amortization=_field(income, "depreciation_and_amortization"),
        total_debt=_field(balance, "long_term_debt"),
        cash=_field(balance, "cash"),
        shareholders_equity=_field(balance, "equity_attributable_to_parent", "equity"),
        total_assets=_field(balance, "assets"),
        shares_outstanding=_field(income, "diluted_average_shares"),
        source=NAME,
    )


def latest_filing_per_year(years: list[FundamentalsYear]) -> list[FundamentalsYear]:
    """One entry per fiscal year (the latest filed), oldest first."""
    by_year: dict[int, FundamentalsYear] = {}
    for year in years:
        kept = by_year.get(year.fiscal_year)
        if kept is None or year.filed >= kept.filed:
            by_year[year.fiscal_year] = year
    return [by_year[fy] for fy in sorted(by_year)]


class PolygonProvider:
    """Market data from Polygon.io REST (works within the free plan's 5 requests/minute)."""

    name = NAME

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = "https://api.polygon.io",
        client: httpx.AsyncClient | None = None,
        requests_per_minute: float = 5,
        max_retries: int = 3,
        timeout: float = 10.0,
        today: Callable[[], date] = utc_today,
        sleep: Sleep = asyncio.sleep,
        limiter: RateGate | None = None,
        guard: ProviderGuard | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("PolygonProvider needs an API key")
        self._today = today
        self._http = ResilientHttp(
            NAME,
            base_url=base_url,
            client=client,
            # A header keeps the key out of URLs, logs and the next_url links Polygon returns.
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            retry=RetryPolicy(max_attempts=max_retries + 1),
            limiter=limiter or TokenBucket(requests_per_minute, sleep=sleep),
            sleep=sleep,
            guard=guard,
        )

    async def aclose(self) -> None:
        """Release the HTTP client if this provider created it."""
        await self._http.aclose()

    @validated
    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        """Quotes from the latest grouped-daily bars; symbols Polygon lacks are left out."""
        wanted = set(symbols)
        if not wanted:
            return {}
        day, latest = await self._latest_grouped(latest_weekday(self._today()))
        _, previous = await self._latest_grouped(previous_weekday(day))
        return {
            symbol: _quote_from_bars(symbol, bar, previous.get(symbol), day)
            for symbol, bar in latest.items()
            if symbol in wanted
        }

    @validated
    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        """Daily adjusted bars between start and end inclusive, following pagination."""
        end = end or self._today()
        start = start or end - timedelta(days=DEFAULT_HISTORY_DAYS)
        path = f"/v2/aggs/ticker/{symbol}/range/1/day/{start.isoformat()}/{end.isoformat()}"
        params = {"adjusted": "true", "sort": "asc", "limit": 50000}
        results = await self._paginated(path, "aggs_range", params)
        bars = {bar.date: bar for bar in map(_bar, results) if start <= bar.date <= end}
        return [bars[day] for day in sorted(bars)]

    @validated
    async def profile(self, symbol: str) -> Profile:
        """Company profile from ticker details."""
        path = f"/v3/reference/tickers/{symbol}"
        payload = await self._get_symbol(path, "ticker_details", symbol)
        details = payload.get("results")
        if not isinstance(details, Mapping):
            raise UnknownSymbolError(NAME, f"unknown symbol {symbol}", status=404)
        return Profile(
            symbol=symbol,
            name=str(details.get("name") or symbol),
            sector=None,  # Polygon gives an SIC description only, which is an industry
            industry=details.get("sic_description"),
            exchange=exchange_name(details.get("primary_exchange")),
            market_cap=_float(details.get("market_cap")),
            cik=details.get("cik"),
            source=NAME,
        )

    @validated
    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Annual financials (income, balance sheet, cash flow), oldest first."""
        params = {
            "ticker": symbol,
            "timeframe": "annual",
            "order": "asc",
            "sort": "period_of_report_date",
            "limit": 100,
        }
        results = await self._paginated("/vX/reference/financials", "financials", params)
        years = [year for year in map(_fundamentals_year, results) if year is not None]
        return latest_filing_per_year(years)

    @validated
    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Active stock tickers matching the query (one page, no pagination)."""
        params = {"search": query, "active": "true", "market": "stocks", "limit": limit}
        path = "/v3/reference/tickers"
        payload = await self._http.get_json(path, endpoint="search", params=params)
        return [
            SearchHit(
                symbol=str(item["ticker"]),
                name=str(item.get("name") or item["ticker"]),
                exchange=exchange_name(item.get("primary_exchange")),
            )
            for item in payload.get("results") or []
            if item.get("ticker")
        ][:limit]

    async def _latest_grouped(self, day: date) -> tuple[date, dict[str, Mapping[str, Any]]]:
        """The most recent trading day at or before `day` that has grouped bars."""
        for _ in range(TRADING_DAY_LOOKBACK):
            bars = await self._grouped(day)
            if bars:
                return day, bars
            day = previous_weekday(day)  # holiday, or today's bars are not published yet
        raise ProviderError(NAME, f"no grouped daily bars in the {TRADING_DAY_LOOKBACK} days")

    async def _grouped(self, day: date) -> dict[str, Mapping[str, Any]]:
        path = f"/v2/aggs/grouped/locale/us/market/stocks/{day.isoformat()}"
        payload = await self._http.get_json(
            path, endpoint="grouped_daily", params={"adjusted": "true"}
        )
        return {str(bar["T"]): bar for bar in payload.get("results") or [] if "T" in bar}

    async def _paginated(
        self, path: str, endpoint: str, params: Mapping[str, Any]
    ) -> list[Mapping[str, Any]]:
        """All `results` across `next_url` pages (next_url already carries the cursor)."""
        payload = await self._http.get_json(path, endpoint=endpoint, params=params)
        results: list[Mapping[str, Any]] = list(payload.get("results") or [])
        for _ in range(MAX_PAGES):
            next_url = payload.get("next_url")
            if not next_url:
                return results
            payload = await self._http.get_json(same_host_path(next_url), endpoint=endpoint)
            results.extend(payload.get("results") or [])
        raise ProviderError(NAME, f"{endpoint}: more than {MAX_PAGES} pages")

    async def _get_symbol(self, path: str, endpoint: str, symbol: str) -> Mapping[str, Any]:
        try:
            payload: Mapping[str, Any] = await self._http.get_json(path, endpoint=endpoint)
        except ProviderError as exc:
            if exc.status == 404:
                raise UnknownSymbolError(NAME, f"unknown symbol {symbol}", status=404) from exc
            raise
        return payload
