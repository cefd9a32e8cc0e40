"""The API views of market data, for every router that shows them (market's and others')."""

from __future__ import annotations

from collections.abc import Callable

from cachetools import LRUCache

from stockdash.market.schemas import StockPublic
from stockdash.market.service import HistoryView, StockView

# The JSON of the last view seen per key. Views are immutable and the market service hands out
# the same object for the same cached text, so an identity check tells whether a memo is current.
# Bounded by size: a five-year history is about 130 kB of JSON.
JSON_MEMO_BYTES = 64 * 1024 * 1024
_json_process_local: LRUCache[str, tuple[object, bytes]] = LRUCache(
    JSON_MEMO_BYTES, getsizeof=lambda seen: len(seen[1]) + 200
)


def memo_json(key: str, view: StockView | HistoryView, render: Callable[[], bytes]) -> bytes:
    """`render()`, or what it returned for this very view object the last time."""
    seen = _json_process_local.get(key)
    if seen is not None and seen[0] is view:
        return seen[1]
    body = render()
    _json_process_local[key] = (view, body)
    return body


def stock_public_json(view: StockView) -> bytes:
    """`stock_public(view)` as JSON, rendered once per view."""
    return memo_json(
        f"stock:{view.quote.symbol}", view, lambda: stock_public(view).model_dump_json().encode()
    )


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
