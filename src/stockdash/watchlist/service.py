"""Watchlist rules: known symbols only, no duplicates, never above the tier's limit.

The functions take a unit of work (or the storage that opens one) and return domain values;
they never commit: the route or job that opened the unit does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from stockdash.core.errors import Conflict, Forbidden, NotFound
from stockdash.storage.base import Storage, UnitOfWork
from stockdash.subscriptions import tiers
from stockdash.users.cache import CurrentUserCache
from stockdash.users.records import UserRecord
from stockdash.watchlist.entities import AlreadyTracked, LimitReached, WatchEntry
from stockdash.watchlist.schemas import WatchlistItem, WatchlistPublic

SymbolResolver = Callable[[str], Awaitable[str | None]]
SYMBOL_PATTERN = re.compile(r"[A-Z0-9.]{1,12}")

__all__ = ["WatchEntry", "add_symbol", "cached_entries", "remove_symbol", "tracked_symbols"]


async def cached_entries(
    user_cache: CurrentUserCache, storage: Storage, user_id: int
) -> tuple[WatchEntry, ...]:
    """A user's watchlist, oldest first, kept with the cached user (any change to it moves the
    user to a new version, so the next request reads it again); a read-only unit of work is
    opened only when the database must answer."""

    async def load() -> tuple[WatchEntry, ...]:
        async with storage.unit(read_only=True) as unit:
            return tuple(await unit.watchlist.list_for_user(user_id))

    return await user_cache.attached(user_id, "watchlist", load)


async def watchlist_json(user_cache: CurrentUserCache, storage: Storage, user: UserRecord) -> bytes:
    """The user's `WatchlistPublic` as JSON, rendered once per version of the user."""

    async def render() -> bytes:
        items = await cached_entries(user_cache, storage, user.id)
        return (
            WatchlistPublic(
                data=[WatchlistItem(symbol=i.symbol, added_at=i.added_at) for i in items],
                count=len(items),
                max_stocks=tiers.max_stocks(user.subscription_tier),
            )
            .model_dump_json()
            .encode()
        )

    return await user_cache.attached(user.id, "watchlist.json", render)


async def tracked_symbols(storage: Storage) -> dict[str, tiers.Tier]:
    """Every symbol an active user tracks, with the highest tier tracking it."""
    async with storage.unit(read_only=True) as unit:
        tracked = await unit.watchlist.tracked_symbols()
    return {symbol: tiers.highest_tier(list(t)) for symbol, t in tracked.items()}


async def add_symbol(
    unit: UnitOfWork,
    user_id: int,
    raw_symbol: str,
    resolve: SymbolResolver,
    *,
    require_verified_email: bool = False,
) -> WatchEntry:
    """Track a symbol: 404 unknown, 409 duplicate, 403 over the limit or email not verified."""
    symbol = await resolve(raw_symbol)
    if symbol is None:
        raise NotFound(
            f"Unknown symbol '{raw_symbol.upper()}': search with /api/v1/stocks/search?q=...",
            code="unknown_symbol",
        )
    # SQL: the user row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) serialises concurrent
    # adds; MongoDB: no lock, the repository's conditional counter update holds the limit.
    user = await unit.users.lock(user_id)
    if user is None:
        raise NotFound("User not found.")
    if require_verified_email and not user.email_verified:
        raise Forbidden(
            "Verify your email address before adding stocks: open the link we emailed you "
            "(POST /api/v1/auth/verify/resend sends a new one).",
            code="email_not_verified",
        )
    limit = tiers.max_stocks(user.subscription_tier)
    try:
        return await unit.watchlist.add_within_limit(user_id, symbol, limit)
    except AlreadyTracked as exc:
        raise Conflict(f"{symbol} is already on your watchlist.", code="already_tracked") from exc
    except LimitReached as exc:
        raise Forbidden(
            f"Your {tiers.spec(user.subscription_tier).name} plan allows {limit} stocks; "
            "remove one or upgrade your plan to add more.",
            code="watchlist_limit_reached",
            details={"max_stocks": limit, "tier": user.subscription_tier},
        ) from exc


async def remove_symbol(unit: UnitOfWork, user_id: int, raw_symbol: str) -> None:
    """Stop tracking a symbol; 404 if it was not tracked."""
    symbol = raw_symbol.strip().upper().replace("-", ".")
    if not SYMBOL_PATTERN.fullmatch(symbol):
        raise NotFound(f"{symbol!r} is not on your watchlist.", code="not_tracked")
    if not await unit.watchlist.remove(user_id, symbol):
        raise NotFound(f"{symbol} is not on your watchlist.", code="not_tracked")
