"""Assembling the dashboard from ready-made card fragments: the whole watchlist as one JSON body
put together from bytes, nothing re-validated or re-serialised per request."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import TypeAdapter

from stockdash.dashboard.cards import CardJson, CardStore
from stockdash.dashboard.schemas import DashboardView
from stockdash.storage.base import Storage
from stockdash.subscriptions import tiers
from stockdash.users.cache import CurrentUserCache
from stockdash.users.records import UserRecord
from stockdash.watchlist.service import WatchEntry, cached_entries

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


async def dashboard_json(
    user_cache: CurrentUserCache,
    storage: Storage,
    user: UserRecord,
    cards: CardStore,
    view: DashboardView,
) -> bytes:
    """The user's dashboard as JSON; the same body again while neither the user (tier,
    watchlist) nor any card's version changed: then a request costs one version lookup."""
    entries = await cached_entries(user_cache, storage, user.id)
    symbols = [e.symbol for e in entries]
    versions = await cards.versions(symbols)
    slot = f"dashboard.{view}"
    seen: tuple[list[str | None], bytes] | None = user_cache.recall(user.id, slot)
    if seen is not None and seen[0] == versions:
        return seen[1]
    loaded = await cards.cards_at(symbols, versions, user.subscription_tier, view)
    body = _assemble(entries, user.subscription_tier, loaded)
    if None not in versions and None not in loaded:
        # Only a body made entirely of stored cards: one with a built or failed card is not
        # what the next request, with the new versions, would assemble.
        user_cache.remember(user.id, slot, (versions, body))
    return body


def _assemble(entries: tuple[WatchEntry, ...], tier: str, loaded: list[CardJson | None]) -> bytes:
    items = ",".join(item_json(e, c) for e, c in zip(entries, loaded, strict=True))
    body = f'{{"data":[{items}],"count":{len(entries)},"max_stocks":{tiers.max_stocks(tier)}}}'
    return body.encode()
