"""Watchlist rules: known symbols only, no duplicates, never above the tier's limit."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.errors import Conflict, Forbidden, NotFound
from stockdash.subscriptions import tiers
from stockdash.users.cache import CurrentUserCache
from stockdash.users.models import User
from stockdash.users.service import lock_user
from stockdash.watchlist.models import UserStock
from stockdash.watchlist.repository import SqlWatchlistRepository
from stockdash.watchlist.schemas import WatchlistItem, WatchlistPublic

SymbolResolver = Callable[[str], Awaitable[str | None]]
SYMBOL_PATTERN = re.compile(r"[A-Z0-9.]{1,12}")


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """One tracked symbol of a user (a domain value, not a database row)."""

    symbol: str
    added_at: datetime


async def cached_entries(
    user_cache: CurrentUserCache, read: async_sessionmaker[AsyncSession], user_id: int
) -> tuple[WatchEntry, ...]:
    """A user's watchlist, oldest first, kept with the cached user (any change to it moves the
    user to a new version, so the next request reads it again); `read` opens a read-only
    session only when the database must answer."""

    async def load() -> tuple[WatchEntry, ...]:
        async with read() as session:
            rows = await list_entries(session, user_id)
        return tuple(WatchEntry(r.symbol, r.added_at) for r in rows)

    return await user_cache.attached(user_id, "watchlist", load)


async def watchlist_json(
    user_cache: CurrentUserCache, read: async_sessionmaker[AsyncSession], user: User
) -> bytes:
    """The user's `WatchlistPublic` as JSON, rendered once per version of the user."""

    async def render() -> bytes:
        items = await cached_entries(user_cache, read, user.id)
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


async def list_entries(session: AsyncSession, user_id: int) -> list[UserStock]:
    """A user's watchlist entries, oldest first."""
    return await SqlWatchlistRepository(session).list_for_user(user_id)


async def count_entries(session: AsyncSession, user_id: int) -> int:
    """How many stocks a user tracks."""
    return await SqlWatchlistRepository(session).count(user_id)


async def tracked_symbols(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, tiers.Tier]:
    """Every symbol an active user tracks, with the highest tier tracking it."""
    async with sessionmaker() as session:
        tracked = await SqlWatchlistRepository(session).tracked_symbols()
    return {symbol: tiers.highest_tier(list(t)) for symbol, t in tracked.items()}


async def add_symbol(
    session: AsyncSession,
    user_id: int,
    raw_symbol: str,
    resolve: SymbolResolver,
    *,
    require_verified_email: bool = False,
) -> UserStock:
    """Track a symbol: 404 unknown, 409 duplicate, 403 over the limit or email not verified."""
    symbol = await resolve(raw_symbol)
    if symbol is None:
        raise NotFound(
            f"Unknown symbol '{raw_symbol.upper()}': search with /api/v1/stocks/search?q=...",
            code="unknown_symbol",
        )
    # The user row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) serialises concurrent adds.
    user = await lock_user(session, user_id)
    if user is None:
        raise NotFound("User not found.")
    if require_verified_email and not user.email_verified:
        raise Forbidden(
            "Verify your email address before adding stocks: open the link we emailed you "
            "(POST /api/v1/auth/verify/resend sends a new one).",
            code="email_not_verified",
        )
    repo = SqlWatchlistRepository(session)
    if await repo.get(user_id, symbol) is not None:
        raise Conflict(f"{symbol} is already on your watchlist.", code="already_tracked")
    limit = tiers.max_stocks(user.subscription_tier)
    if await repo.count(user_id) >= limit:
        raise Forbidden(
            f"Your {tiers.spec(user.subscription_tier).name} plan allows {limit} stocks; "
            "remove one or upgrade your plan to add more.",
            code="watchlist_limit_reached",
            details={"max_stocks": limit, "tier": user.subscription_tier},
        )
    try:
        item = await repo.add(UserStock(user_id=user_id, symbol=symbol))
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"{symbol} is already on your watchlist.", code="already_tracked") from exc
    return item


async def remove_symbol(session: AsyncSession, user_id: int, raw_symbol: str) -> None:
    """Stop tracking a symbol; 404 if it was not tracked."""
    symbol = raw_symbol.strip().upper().replace("-", ".")
    if not SYMBOL_PATTERN.fullmatch(symbol):
        raise NotFound(f"{symbol!r} is not on your watchlist.", code="not_tracked")
    removed = await SqlWatchlistRepository(session).remove(user_id, symbol)
    if not removed:
        raise NotFound(f"{symbol} is not on your watchlist.", code="not_tracked")
    await session.commit()
