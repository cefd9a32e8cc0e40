"""Assembling the dashboard from ready-made card fragments: the whole watchlist as one JSON body
put together from bytes, nothing re-validated or re-serialised per request."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import TypeAdapter

from stockdash.dashboard.cards import CardJson, CardStore
from stockdash.dashboard.schemas import DashboardView
from stockdash.subscriptions import tiers
from stockdash.watchlist.service import WatchEntry

UNAVAILABLE_CARD = "Data for this stock is unavailable right now."
_UNAVAILABLE = json.dumps(UNAVAILABLE_CARD)
# The exact JSON form pydantic gives a datetime in every other response.
_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)


def item_json(entry: WatchEntry, card: CardJson | None) -> str:
    """One dashboard item (`DashboardItem` or `DashboardSummaryItem`) as JSON."""
    head = (
        f'{{"symbol":{json.dumps(entry.symbol)},'
        f'"added_at":{_DATETIME.dump_json(entry.added_at).decode()},'
    )
    if card is None:
        return head + f'"quote":null,"analysis":null,"sparkline":[],"error":{_UNAVAILABLE}}}'
    return (
        head + f'"quote":{card.quote},"analysis":{card.analysis},'
        f'"sparkline":{card.sparkline},"error":null}}'
    )


async def build_dashboard(
    entries: tuple[WatchEntry, ...], tier: str, cards: CardStore, view: DashboardView = "full"
) -> bytes:
    """The dashboard (`Dashboard` or `DashboardSummary`) for these watchlist entries, as JSON."""
    loaded = await cards.cards([e.symbol for e in entries], tier, view)
    items = ",".join(item_json(e, c) for e, c in zip(entries, loaded, strict=True))
    body = f'{{"data":[{items}],"count":{len(entries)},"max_stocks":{tiers.max_stocks(tier)}}}'
    return body.encode()
