"""Yahoo Finance provider (unofficial endpoints): chart history and quotes, profile, fundamentals.

History keeps Yahoo's raw `quote` OHLC, which is split-adjusted but not dividend-adjusted
(`adjclose` is ignored), matching Polygon's `adjusted=true` bars. Yahoo has no filing dates,
so fundamentals carry an estimated `filed` (period end + 90 days).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

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

NAME: Final = "yahoo"
DEFAULT_HISTORY_DAYS = 3650
FILING_LAG_ESTIMATE = timedelta(days=90)  # latest 10-K deadline for non-accelerated filers
FUNDAMENTALS_START = 493590046  # 1985-08-22, the period1 yfinance uses for "all history"
# FundamentalsYear field -> Yahoo annual time series, in priority order.
TIMESERIES_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("revenue", ("annualTotalRevenue",)),
    ("gross_profit", ("annualGrossProfit",)),
    ("operating_income", ("annualOperatingIncome",)),
    ("net_income", ("annualNetIncome", "annualNetIncomeCommonStockholders")),
    ("eps_diluted", ("annualDilutedEPS",)),
    ("operating_cash_flow", ("annualOperatingCashFlow",)),
    ("capital_expenditure", ("annualCapitalExpenditure",)),
    ("free_cash_flow", ("annualFreeCashFlow",)),
    (
        "depreciation_amortization",
        ("annualDepreciationAndAmortization", "annualReconciledDepreciation"),
    ),
    ("total_debt", ("annualTotalDebt",)),
    ("cash", ("annualCashAndCashEquivalents",)),
    ("shareholders_equity", ("annualStockholdersEquity",)),
    ("total_assets", ("annualTotalAssets",)),
    ("shares_outstanding", ("annualOrdinarySharesNumber", "annualDilutedAverageShares")),
    ("dividends_per_share", ("annualDividendPerShare",)),
)
PROFILE_MODULES = "assetProfile,price"
BROWSER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) stockdash"  # Yahoo rejects bare clients


validated = validated_by(NAME)


def utc_today() -> date:
    """Today's date in UTC."""
    return datetime.now(UTC).date()


def epoch(day: date) -> int:
    """Unix seconds at 00:00 UTC of `day`."""
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


def local_date(timestamp: int | float, gmtoffset: int) -> date:
    """Exchange-local date of a Unix timestamp."""
    return datetime.fromtimestamp(timestamp + gmtoffset, tz=UTC).date()


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def chart_result(payload: Mapping[str, Any], symbol: str) -> Mapping[str, Any]:
    """The single `chart.result` entry, or UnknownSymbolError."""
    chart = payload.get("chart") or {}
    results = chart.get("result") or []
    if not results:
        error = chart.get("error") or {}
        raise UnknownSymbolError(NAME, f"{symbol}: {error.get('description', 'no data')}")
    result: Mapping[str, Any] = results[0]
    return result


def bars_from_chart(result: Mapping[str, Any]) -> list[Bar]:
    """Daily bars from a chart result; entries with a null close are skipped."""
    gmtoffset = int(result.get("meta", {}).get("gmtoffset") or 0)
    timestamps = result.get("timestamp") or []
    quote = (result.get("indicators", {}).get("quote") or [{}])[0]

    def column(key: str) -> list[Any]:
        values = quote.get(key) or []
        return list(values) + [None] * (len(timestamps) - len(values))

    rows = zip(
        timestamps,
        column("open"),
        column("high"),
        column("low"),
        column("close"),
        column("volume"),
        strict=True,
    )
    bars = {
        local_date(ts, gmtoffset): Bar(
            date=local_date(ts, gmtoffset),
            open=_float(o),
            high=_float(h),
            low=_float(lo),
            close=float(c),
            volume=_float(v),
        )
        for ts, o, h, lo, c, v in rows
        if isinstance(c, int | float)
    }
    return [bars[day] for day in sorted(bars)]


def quote_from_chart(symbol: str, result: Mapping[str, Any]) -> Quote:
    """Quote from chart meta; previous close is the last bar before the quote's trading day."""
    meta = result.get("meta") or {}
    price = _float(meta.get("regularMarketPrice"))
    if price is None:
        raise ProviderError(NAME, f"{symbol}: no regularMarketPrice")
    gmtoffset = int(meta.get("gmtoffset") or 0)
    market_time = meta.get("regularMarketTime")
    as_of = local_date(market_time, gmtoffset) if market_time else utc_today()
    previous_close = _previous_close(meta, bars_from_chart(result), as_of)
    change = price - previous_close if previous_close is not None else None
    return Quote(
        symbol=symbol,
        price=price,
        previous_close=previous_close,
        change=change,
        change_percent=change / previous_close * 100
        if change is not None and previous_close
        else None,
        volume=_float(meta.get("regularMarketVolume")),
        market_cap=None,
        pe_ratio=None,
        eps=None,
        dividend_yield=None,
        week52_high=_float(meta.get("fiftyTwoWeekHigh")),
        week52_low=_float(meta.get("fiftyTwoWeekLow")),
        ebitda=None,
        price_to_sales=None,
        price_to_book=None,
        as_of=as_of,
        source=NAME,
    )


def _previous_close(meta: Mapping[str, Any], bars: list[Bar], as_of: date) -> float | None:
    explicit = _float(meta.get("previousClose"))
    if explicit is not None:
        return explicit
    earlier = [bar for bar in bars if bar.date < as_of]
    if earlier:
        return earlier[-1].close
    # chartPreviousClose is the close before the requested range, right only for short ranges.
    return _float(meta.get("chartPreviousClose"))


def _series_values(payload: Mapping[str, Any]) -> dict[str, dict[date, float]]:
    """Yahoo time series by type name: period end -> reported value (nulls dropped)."""
    series: dict[str, dict[date, float]] = {}
    for entry in (payload.get("timeseries") or {}).get("result") or []:
        name = ((entry.get("meta") or {}).get("type") or [None])[0]
        if not name:
            continue
        for point in entry.get(name) or []:
            value = _float(((point or {}).get("reportedValue") or {}).get("raw"))
            if value is not None and point.get("asOfDate"):
                series.setdefault(name, {})[date.fromisoformat(point["asOfDate"])] = value
    return series


def fundamentals_from_timeseries(payload: Mapping[str, Any]) -> list[FundamentalsYear]:
    """Annual rows, oldest first; fiscal year = calendar year of Yahoo's period end."""
    wanted = {name for _, names in TIMESERIES_FIELDS for name in names}
    series = {n: v for n, v in _series_values(payload).items() if n in wanted}
    period_ends = sorted({day for values in series.values() for day in values})
    return [_year_from_series(series, end) for end in period_ends]


def _year_from_series(series: dict[str, dict[date, float]], period_end: date) -> FundamentalsYear:
    values: dict[str, Any] = {}
    for field, names in TIMESERIES_FIELDS:
        found = [series[n][period_end] for n in names if period_end in series.get(n, {})]
        if found:
            values[field] = found[0]
    if "capital_expenditure" in values:
        values["capital_expenditure"] = -values["capital_expenditure"]  # Yahoo reports outflows < 0
    bare = FundamentalsYear(
        fiscal_year=period_end.year,
        period_end=period_end,
        filed=period_end + FILING_LAG_ESTIMATE,
        filed_estimated=True,
        source=NAME,
    )
    return replace(bare, **values)


def profile_from_summary(symbol: str, payload: Mapping[str, Any]) -> Profile:
    """Profile from quoteSummary's assetProfile and price modules."""
    results = (payload.get("quoteSummary") or {}).get("result") or []
    if not results:
        raise UnknownSymbolError(NAME, f"unknown symbol {symbol}")
    summary = results[0]
    asset = summary.get("assetProfile") or {}
    price = summary.get("price") or {}
    return Profile(
        symbol=symbol,
        name=str(price.get("longName") or price.get("shortName") or symbol),
        sector=asset.get("sector") or None,
        industry=asset.get("industry") or None,
        exchange=price.get("exchangeName") or None,
        market_cap=_float(price.get("marketCap")),
        source=NAME,
    )


class YahooProvider:
    """Market data from Yahoo Finance's unofficial JSON endpoints; no symbol search."""

    name = NAME

    def __init__(
        self,
        *,
        base_url: str = "https://query1.finance.yahoo.com",
        client: httpx.AsyncClient | None = None,
        cookie_url: str = "https://fc.yahoo.com",
        requests_per_minute: float = 60,
        max_retries: int = 3,
        timeout: float = 10.0,
        user_agent: str = BROWSER_USER_AGENT,
        today: Callable[[], date] = utc_today,
        sleep: Sleep = asyncio.sleep,
        limiter: RateGate | None = None,
        guard: ProviderGuard | None = None,
    ) -> None:
        self._today = today
        self._cookie_url = cookie_url
        self._crumb: str | None = None
        self._http = ResilientHttp(
            NAME,
            base_url=base_url,
            client=client,
            headers={"User-Agent": user_agent},
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
    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        """Daily bars between start and end inclusive (raw, split-adjusted OHLC)."""
        end = end or self._today()
        start = start or end - timedelta(days=DEFAULT_HISTORY_DAYS)
        params = {
            "period1": epoch(start),
            "period2": epoch(end + timedelta(days=1)),
            "interval": "1d",
        }
        result = await self._chart(symbol, params)
        return [bar for bar in bars_from_chart(result) if start <= bar.date <= end]

    @validated
    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        """Quotes from one chart call per symbol (Yahoo's batch quote needs a crumb)."""
        params = {"range": "5d", "interval": "1d"}
        results = await asyncio.gather(*(self._chart(s, params) for s in symbols))
        return {s: quote_from_chart(s, r) for s, r in zip(symbols, results, strict=True)}

    @validated
    async def profile(self, symbol: str) -> Profile:
        """Profile from quoteSummary (needs Yahoo's cookie + crumb handshake)."""
        params = {
            "modules": PROFILE_MODULES,
            "formatted": "false",
            "crumb": await self._get_crumb(),
        }
        path = f"/v10/finance/quoteSummary/{symbol}"
        payload = await self._symbol_json(path, "quote_summary", symbol, params)
        return profile_from_summary(symbol, payload)

    @validated
    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Annual statements from the fundamentals-timeseries endpoint, oldest first."""
        types = ",".join(name for _, names in TIMESERIES_FIELDS for name in names)
        params = {
            "symbol": symbol,
            "type": types,
            "period1": FUNDAMENTALS_START,
            "period2": epoch(self._today() + timedelta(days=1)),
        }
        path = f"/ws/fundamentals-timeseries/v1/finance/timeseries/{symbol}"
        payload = await self._symbol_json(path, "fundamentals_timeseries", symbol, params)
        return fundamentals_from_timeseries(payload)

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Not supported: no recorded search response to build and test against."""
        raise ProviderError(NAME, "not supported")

    async def _chart(self, symbol: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        payload = await self._symbol_json(f"/v8/finance/chart/{symbol}", "chart", symbol, params)
        return chart_result(payload, symbol)

    async def _get_crumb(self) -> str:
        """Yahoo's anti-CSRF crumb, fetched once per provider after obtaining a session cookie."""
        if self._crumb is None:
            # The cookie host answers 404 yet still sets the session cookie the crumb needs.
            with contextlib.suppress(ProviderError):
                await self._http.get(self._cookie_url, endpoint="cookie")
            response = await self._http.get("/v1/test/getcrumb", endpoint="crumb")
            crumb = response.text.strip()
            if not crumb or "<" in crumb:
                raise ProviderError(NAME, "could not obtain a crumb", status=response.status_code)
            self._crumb = crumb
        return self._crumb

    async def _symbol_json(
        self, path: str, endpoint: str, symbol: str, params: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        try:
            payload: Mapping[str, Any] = await self._http.get_json(
                path, endpoint=endpoint, params=params
            )
        except ProviderError as exc:
            if exc.status == 404:
                raise UnknownSymbolError(NAME, f"unknown symbol {symbol}", status=404) from exc
            raise
        return payload
