"""The API views of market data, for every router that shows them (market's and others')."""

from __future__ import annotations

from stockdash.market.schemas import StockPublic
from stockdash.market.service import StockView


def stock_public(view: StockView) -> StockPublic:
    """The API view of a quote."""
    q, p = view.quote, view.profile
    return StockPublic(
        symbol=q.symbol,
        name=p.name,
        sector=p.sector,
        industry=p.industry,
        exchange=p.exchange,
        price=q.price,
        price_note=q.note,
        change=q.change,
        change_percent=q.change_percent,
        volume=q.volume,
        market_cap=q.market_cap if q.market_cap is not None else p.market_cap,
        pe_ratio=q.pe_ratio,
        eps=q.eps,
        dividend_yield=q.dividend_yield,
        week52_high=q.week52_high,
        week52_low=q.week52_low,
        as_of=q.as_of,
        source=q.source,
        stale=view.stale,
        last_updated=view.fetched_at,
    )
