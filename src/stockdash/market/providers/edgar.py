"""SEC EDGAR provider: annual fundamentals from XBRL company facts, profile from submissions.

Company facts tag every fact with the fiscal year of the *filing* (`fy`), not of the period it
describes: a FY2025 10-K also carries FY2024 and FY2023 comparatives with fy=2025. So each fact's
own fiscal year is derived from its period end relative to the filing's primary period, and each
year is built from that year's own 10-K (the latest amendment wins); later filings only fill gaps.
This keeps `filed` at the date the figures first became public.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final, Literal

import httpx

from stockdash.market.providers.http import ResilientHttp, RetryPolicy, Sleep, TokenBucket
from stockdash.market.types import (
    Bar,
    FundamentalsYear,
    Profile,
    ProviderError,
    Quote,
    SearchHit,
    UnknownSymbolError,
)

NAME: Final = "edgar"
ANNUAL_FORMS = frozenset({"10-K", "10-K/A"})
ANNUAL_DAYS = range(350, 381)  # 52/53-week years included
SEC_REQUESTS_PER_MINUTE = 600  # SEC fair-access policy: at most 10 requests per second
Kind = Literal["duration", "instant", "cover"]
CikLookup = Callable[[str], str | None]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """Which XBRL concepts, in priority order, feed one FundamentalsYear field."""

    field: str
    concepts: tuple[str, ...]  # "namespace:Tag"
    unit: str
    kind: Kind


FIELD_SPECS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "revenue",
        (
            "us-gaap:RevenueFromContractWithCustomerExcludingAssessedTax",
            "us-gaap:Revenues",
            "us-gaap:SalesRevenueNet",
        ),
        "USD",
        "duration",
    ),
    FieldSpec("gross_profit", ("us-gaap:GrossProfit",), "USD", "duration"),
    FieldSpec("operating_income", ("us-gaap:OperatingIncomeLoss",), "USD", "duration"),
    FieldSpec("net_income", ("us-gaap:NetIncomeLoss",), "USD", "duration"),
    FieldSpec(
        "eps_diluted",
        ("us-gaap:EarningsPerShareDiluted", "us-gaap:EarningsPerShareBasicAndDiluted"),
        "USD/shares",
        "duration",
    ),
    FieldSpec(
        "operating_cash_flow",
        ("us-gaap:NetCashProvidedByUsedInOperatingActivities",),
        "USD",
        "duration",
    ),
    FieldSpec(
        "capital_expenditure",
        ("us-gaap:PaymentsToAcquirePropertyPlantAndEquipment",),
        "USD",
        "duration",
    ),
    FieldSpec(
        "depreciation_amortization",
        ("us-gaap:DepreciationDepletionAndAmortization", "us-gaap:DepreciationAndAmortization"),
        "USD",
        "duration",
    ),
    FieldSpec(
        "total_debt", ("us-gaap:LongTermDebt", "us-gaap:LongTermDebtNoncurrent"), "USD", "instant"
    ),
    FieldSpec("cash", ("us-gaap:CashAndCashEquivalentsAtCarryingValue",), "USD", "instant"),
    FieldSpec("shareholders_equity", ("us-gaap:StockholdersEquity",), "USD", "instant"),
    FieldSpec("total_assets", ("us-gaap:Assets",), "USD", "instant"),
    FieldSpec("shares_outstanding", ("dei:EntityCommonStockSharesOutstanding",), "shares", "cover"),
    FieldSpec(
        "shares_outstanding",
        ("us-gaap:WeightedAverageNumberOfDilutedSharesOutstanding",),
        "shares",
        "duration",
    ),
    FieldSpec(
        "dividends_per_share",
        ("us-gaap:CommonStockDividendsPerShareDeclared",),
        "USD/shares",
        "duration",
    ),
)


@dataclass(frozen=True, slots=True)
class Fact:
    """One annual-report XBRL fact."""

    concept: str
    kind: Kind
    value: float
    start: date | None
    end: date
    accession: str
    filing_year: int  # the filing's `fy`, not necessarily the period's
    filed: date
    year: int = 0  # the period's own fiscal year, set once filings are known


@dataclass(frozen=True, slots=True)
class Filing:
    """One 10-K (or amendment): its fiscal year, primary period end and filing date."""

    accession: str
    fiscal_year: int
    period_end: date
    filed: date


def padded_cik(cik: str) -> str:
    """CIK as the ten-digit, zero-padded string EDGAR URLs use."""
    digits = cik.strip().removeprefix("CIK")
    if not digits.isdigit():
        raise ValueError(f"not a CIK: {cik!r}")
    return digits.zfill(10)


def _parse_fact(concept: str, kind: Kind, raw: Mapping[str, Any]) -> Fact | None:
    """An annual 10-K fact of the right shape, else None."""
    if raw.get("form") not in ANNUAL_FORMS or raw.get("fp") != "FY":
        return None
    try:
        start = date.fromisoformat(raw["start"]) if raw.get("start") else None
        end = date.fromisoformat(raw["end"])
        fact = Fact(
            concept=concept,
            kind=kind,
            value=float(raw["val"]),
            start=start,
            end=end,
            accession=str(raw["accn"]),
            filing_year=int(raw["fy"]),
            filed=date.fromisoformat(raw["filed"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    is_duration = start is not None and (end - start).days in ANNUAL_DAYS
    shape_ok = is_duration if kind == "duration" else start is None
    return fact if shape_ok else None


def annual_facts(company_facts: Mapping[str, Any]) -> list[Fact]:
    """Every annual fact for the concepts in FIELD_SPECS."""
    namespaces = company_facts.get("facts") or {}
    facts: list[Fact] = []
    for spec in FIELD_SPECS:
        for concept in spec.concepts:
            namespace, tag = concept.split(":")
            units = (namespaces.get(namespace) or {}).get(tag, {}).get("units") or {}
            for raw in units.get(spec.unit) or []:
                if (fact := _parse_fact(concept, spec.kind, raw)) is not None:
                    facts.append(fact)
    return facts


def filings_of(facts: Iterable[Fact]) -> dict[str, Filing]:
    """Each accession's primary period: the latest period end among its period facts."""
    filings: dict[str, Filing] = {}
    for fact in facts:
        if fact.kind == "cover":
            continue  # cover-page dates fall after the fiscal year end
        known = filings.get(fact.accession)
        if known is None or fact.end > known.period_end:
            filings[fact.accession] = Filing(fact.accession, fact.filing_year, fact.end, fact.filed)
    return filings


def period_year(fact: Fact, filing: Filing) -> int:
    """The fiscal year a fact describes, counted back from its filing's primary period."""
    if fact.kind == "cover":
        return filing.fiscal_year
    return filing.fiscal_year - round((filing.period_end - fact.end).days / 365.25)


def source_filings(year: int, candidates: list[Filing]) -> list[Filing]:
    """Filings to read a year from, best first.

    The year's own 10-K comes first (latest amendment wins); then comparatives in later 10-Ks,
    earliest first, so a year is dated by when its figures first became public.
    """
    by_filed = sorted(candidates, key=lambda filing: filing.filed)
    own = [filing for filing in reversed(by_filed) if filing.fiscal_year == year]
    return own + [filing for filing in by_filed if filing.fiscal_year != year]


def _pick(
    spec: FieldSpec, facts: list[Fact], filings: list[Filing], period_end: date
) -> Fact | None:
    """The value for one field: first filing in order, then first concept in priority."""
    for filing in filings:
        for concept in spec.concepts:
            for fact in facts:
                if fact.accession != filing.accession or fact.concept != concept:
                    continue
                if fact.kind == "cover" or fact.end == period_end:
                    return fact
    return None


def _sum_cover(fact: Fact, facts: list[Fact]) -> float:
    """Cover-page shares summed across share classes reported in the same filing."""
    return sum(
        other.value
        for other in facts
        if other.kind == "cover" and other.accession == fact.accession and other.end == fact.end
    )


def _build_year(year: int, facts: list[Fact], filings: dict[str, Filing]) -> FundamentalsYear:
    ordered = source_filings(year, [filings[a] for a in {f.accession for f in facts}])
    primary = ordered[0]
    period_end = max(f.end for f in facts if f.accession == primary.accession and f.kind != "cover")
    values: dict[str, Any] = {}
    used: list[Fact] = []
    for spec in FIELD_SPECS:
        if spec.field in values:
            continue
        fact = _pick(spec, facts, ordered, period_end)
        if fact is not None:
            values[spec.field] = _sum_cover(fact, facts) if fact.kind == "cover" else fact.value
            used.append(fact)
    bare = FundamentalsYear(
        fiscal_year=year,
        period_end=period_end,
        filed=max(f.filed for f in used) if used else primary.filed,
        filed_estimated=False,
        source=NAME,
    )
    return with_free_cash_flow(replace(bare, **values))


def with_free_cash_flow(year: FundamentalsYear) -> FundamentalsYear:
    """Free cash flow = operating cash flow - capex, only when both are reported."""
    if year.operating_cash_flow is None or year.capital_expenditure is None:
        return year
    return replace(year, free_cash_flow=year.operating_cash_flow - year.capital_expenditure)


def fundamentals_from_company_facts(company_facts: Mapping[str, Any]) -> list[FundamentalsYear]:
    """Annual FundamentalsYear rows, oldest first, from one companyfacts document."""
    facts = annual_facts(company_facts)
    filings = filings_of(facts)
    by_year: dict[int, list[Fact]] = defaultdict(list)
    for fact in facts:
        if fact.accession in filings:
            dated = replace(fact, year=period_year(fact, filings[fact.accession]))
            by_year[dated.year].append(dated)
    # A year needs income or cash-flow facts; stray opening balances alone do not make a year.
    years = [y for y, fs in by_year.items() if any(f.kind == "duration" for f in fs)]
    return [_build_year(year, by_year[year], filings) for year in sorted(years)]


class EdgarProvider:
    """Fundamentals and profile from SEC EDGAR (data.sec.gov); no prices."""

    name = NAME

    def __init__(
        self,
        user_agent: str,
        *,
        base_url: str = "https://data.sec.gov",
        client: httpx.AsyncClient | None = None,
        cik_lookup: CikLookup | None = None,
        max_retries: int = 3,
        timeout: float = 20.0,
        sleep: Sleep = asyncio.sleep,
        limiter: TokenBucket | None = None,
    ) -> None:
        if not user_agent or not user_agent.strip():
            raise ValueError(
                "EdgarProvider needs a user agent such as 'Your Name you@example.com': "
                "the SEC refuses requests that do not identify the caller"
            )
        self._cik_lookup = cik_lookup
        self._http = ResilientHttp(
            NAME,
            base_url=base_url,
            client=client,
            headers={"User-Agent": user_agent.strip(), "Accept-Encoding": "gzip, deflate"},
            timeout=timeout,
            retry=RetryPolicy(max_attempts=max_retries + 1),
            limiter=limiter or TokenBucket(SEC_REQUESTS_PER_MINUTE, sleep=sleep),
            sleep=sleep,
        )

    async def aclose(self) -> None:
        """Release the HTTP client if this provider created it."""
        await self._http.aclose()

    async def fundamentals(self, symbol: str) -> list[FundamentalsYear]:
        """Annual 10-K fundamentals, oldest first."""
        cik = self._cik(symbol)
        path = f"/api/xbrl/companyfacts/CIK{cik}.json"
        payload = await self._get(path, "companyfacts", symbol)
        return fundamentals_from_company_facts(payload)

    async def profile(self, symbol: str) -> Profile:
        """Name, exchange and SIC industry from the submissions endpoint."""
        cik = self._cik(symbol)
        payload = await self._get(f"/submissions/CIK{cik}.json", "submissions", symbol)
        exchanges = [e for e in payload.get("exchanges") or [] if e]
        return Profile(
            symbol=symbol,
            name=str(payload.get("name") or symbol),
            sector=None,  # EDGAR has SIC codes only, which are industries
            industry=payload.get("sicDescription") or None,
            exchange=exchanges[0] if exchanges else None,
            market_cap=None,
            cik=cik,
            source=NAME,
        )

    async def quote(self, symbols: list[str]) -> dict[str, Quote]:
        """Not offered by EDGAR."""
        raise ProviderError(NAME, "not supported")

    async def history(self, symbol: str, start: date | None, end: date | None) -> list[Bar]:
        """Not offered by EDGAR."""
        raise ProviderError(NAME, "not supported")

    async def search(self, query: str, limit: int = 10) -> list[SearchHit]:
        """Not offered by EDGAR."""
        raise ProviderError(NAME, "not supported")

    def _cik(self, symbol: str) -> str:
        if self._cik_lookup is None:
            raise ProviderError(NAME, "no CIK lookup configured")
        cik = self._cik_lookup(symbol)
        if not cik:
            raise UnknownSymbolError(NAME, f"no CIK known for {symbol}")
        return padded_cik(cik)

    async def _get(self, path: str, endpoint: str, symbol: str) -> Mapping[str, Any]:
        try:
            payload: Mapping[str, Any] = await self._http.get_json(path, endpoint=endpoint)
        except ProviderError as exc:
            if exc.status == 404:
                raise UnknownSymbolError(NAME, f"unknown symbol {symbol}", status=404) from exc
            raise
        return payload
