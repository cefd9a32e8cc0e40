"""Market data endpoints: search, quote, history, fundamentals."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, get_args

from fastapi import APIRouter, Query, Request, Response

from stockdash.container import Container, container_of
from stockdash.core.errors import error_responses
from stockdash.core.fastlane import HotRoute
from stockdash.core.routes import RetryRoute
from stockdash.market.deps import MarketDep
from stockdash.market.public import memo_json, stock_public_json
from stockdash.market.schemas import (
    BarPublic,
    DataSourcesPublic,
    FundamentalsPublic,
    FundamentalsRow,
    HistoryPublic,
    Range,
    SearchResult,
    SearchResults,
    StockPublic,
)
from stockdash.market.service import HistoryView, MarketService
from stockdash.users.deps import CurrentReader

router = APIRouter(
    route_class=RetryRoute,
    prefix="/stocks",
    tags=["stocks"],
    responses=error_responses(401, 403, 404, 422, 429),
)

RANGE_DAYS: dict[str, int | None] = {
    "1m": 31,
    "3m": 92,
    "6m": 183,
    "1y": 366,
    "5y": 1827,
    "max": None,
}


@router.get("/search", response_model=SearchResults)
async def search(
    market: MarketDep,
    q: Annotated[
        str, Query(min_length=1, max_length=64, description="Ticker prefix or part of a name.")
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResults:
    """Symbols whose ticker starts with, or whose name contains, the query."""
    hits = await market.search(q.strip(), limit)
    data = [
        SearchResult(symbol=h.symbol, name=h.name, exchange=h.exchange, sector=h.sector)
        for h in hits
    ]
    return SearchResults(data=data, count=len(data))


@router.get("/sources", response_model=DataSourcesPublic)
async def sources(market: MarketDep) -> DataSourcesPublic:
    """The market data provider, the snapshot's date and the credited sources."""
    return DataSourcesPublic(
        provider=market.provider.name,
        as_of=market.snapshot.as_of(),
        sources=market.snapshot.sources(),
    )


@router.get("/{symbol}", response_model=StockPublic, responses=error_responses(503))
async def get_stock(symbol: str, request: Request, _: CurrentReader) -> Response:
    """Latest quote and key statistics (`stale: true` when the provider is failing)."""
    # The hot read routes take the market from the request: one dependency fewer to solve.
    body = await stock_body(container_of(request).market, symbol)
    return Response(body, media_type="application/json")


async def stock_body(market: MarketService, symbol: str) -> bytes:
    """The quote response body, for the route and its fast lane."""
    return stock_public_json(await market.stock(await market.require_symbol(symbol)))


@router.get("/{symbol}/history", response_model=HistoryPublic, responses=error_responses(503))
async def get_history(
    symbol: str, request: Request, _: CurrentReader, range: Range = "1y"
) -> Response:
    """Daily bars for a range, oldest first (`stale: true` when the provider is failing)."""
    body = await history_body(container_of(request).market, symbol, range)
    return Response(body, media_type="application/json")


async def history_body(market: MarketService, symbol: str, range: Range) -> bytes:
    """The history response body, rendered once per view and range, for the route and its lane."""
    canonical = await market.require_symbol(symbol)
    view = await market.history_view(canonical)
    return memo_json(
        f"history:{canonical}:{range}",
        view,
        lambda: _history_public(market, canonical, view, range).model_dump_json().encode(),
    )


def hot_reads(container: Container) -> list[HotRoute]:
    """Quotes and histories in the fast lane (a range it does not know is the full stack's 422)."""
    market = container.market

    async def stock(_: object, params: Mapping[str, str], __: Mapping[str, str]) -> bytes:
        return await stock_body(market, params["symbol"])

    async def history(
        _: object, params: Mapping[str, str], query: Mapping[str, str]
    ) -> bytes | None:
        range = query.get("range", "1y")
        if range not in get_args(Range):
            return None
        return await history_body(market, params["symbol"], range)  # type: ignore[arg-type]

    return [
        HotRoute(f"{router.prefix}/{{symbol}}", stock),
        HotRoute(f"{router.prefix}/{{symbol}}/history", history, frozenset({"range"})),
    ]


def _history_public(
    market: MarketService, canonical: str, view: HistoryView, range: Range
) -> HistoryPublic:
    """The history response for one range of a view."""
    bars = view.bars
    days = RANGE_DAYS[range]
    if days is not None and bars:
        start = bars[-1].date - timedelta(days=days)
        bars = [b for b in bars if b.date >= start]
    info = market.snapshot.history_info(canonical) if view.source == market.snapshot.name else None
    return HistoryPublic(
        symbol=canonical,
        source=view.source,
        range=range,
        stale=view.stale,
        last_updated=view.fetched_at,
        note=info["note"] if info else None,
        bars=[BarPublic(**dataclasses.asdict(b)) for b in bars],
    )


@router.get(
    "/{symbol}/fundamentals", response_model=FundamentalsPublic, responses=error_responses(503)
)
async def get_fundamentals(symbol: str, market: MarketDep, _: CurrentReader) -> FundamentalsPublic:
    """Annual statements, newest first, in USD, with each field's source."""
    canonical = await market.require_symbol(symbol)
    view = await market.fundamentals_view(canonical)
    data = [FundamentalsRow(**dataclasses.asdict(r)) for r in reversed(view.rows)]
    return FundamentalsPublic(
        symbol=canonical,
        source=view.source,
        stale=view.stale,
        last_updated=view.fetched_at,
        data=data,
        count=len(data),
    )
