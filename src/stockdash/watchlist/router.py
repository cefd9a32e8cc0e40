"""The current user's watchlist."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from fastapi import APIRouter, BackgroundTasks, Request, Response, status

from stockdash.container import Container, ContainerDep, UnitOfWorkDep, container_of
from stockdash.core.deps import SettingsDep
from stockdash.core.errors import ServiceUnavailable, error_responses
from stockdash.core.fastlane import HotRoute
from stockdash.core.metrics import WATCHLIST_ADDS
from stockdash.core.routes import RetryRoute
from stockdash.events.service import watchlist_changed
from stockdash.jobs.queue import JobQueue
from stockdash.jobs.store import JobKind
from stockdash.market.deps import MarketDep
from stockdash.users.deps import CurrentReader, CurrentUser
from stockdash.users.records import UserRecord
from stockdash.watchlist import service
from stockdash.watchlist.schemas import WatchlistAdd, WatchlistItem, WatchlistPublic

logger = logging.getLogger(__name__)
WARM_DEDUP_SECONDS = 300

router = APIRouter(
    route_class=RetryRoute,
    prefix="/watchlist",
    tags=["watchlist"],
    responses=error_responses(401, 403, 429),
)


@router.get("", response_model=WatchlistPublic)
async def get_watchlist(user: CurrentReader, request: Request) -> Response:
    """The symbols you track, with your plan's limit."""
    container = container_of(request)
    body = await service.watchlist_json(container.user_cache, container.storage, user)
    return Response(body, media_type="application/json")


def hot_reads(container: Container) -> list[HotRoute]:
    """The watchlist in the fast lane."""

    async def answer(user: UserRecord, _: Mapping[str, str], __: Mapping[str, str]) -> bytes:
        return await service.watchlist_json(container.user_cache, container.storage, user)

    return [HotRoute(router.prefix, answer)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WatchlistItem,
    responses=error_responses(403, 404, 409, 422),
)
async def add_to_watchlist(
    body: WatchlistAdd,
    user: CurrentUser,
    unit: UnitOfWorkDep,
    market: MarketDep,
    container: ContainerDep,
    background: BackgroundTasks,
    settings: SettingsDep,
) -> WatchlistItem:
    """Track a symbol (fetched and analysed at once, not at the next refresh)."""
    item = await service.add_symbol(
        unit,
        user.id,
        body.symbol,
        market.resolve_symbol,
        require_verified_email=settings.require_email_verification,
    )
    await unit.commit()
    WATCHLIST_ADDS.labels(user.subscription_tier).inc()
    background.add_task(warm_later, container.queue, item.symbol, user.subscription_tier)
    await watchlist_changed(container.events, user.id, settings.feature_real_time_updates)
    return WatchlistItem(symbol=item.symbol, added_at=item.added_at)


async def warm_later(queue: JobQueue, symbol: str, tier: str) -> None:
    """Queue the analysis warm-up of a newly tracked symbol (once per symbol, tier and 5 min)."""
    slot = int(time.time() // WARM_DEDUP_SECONDS)
    try:
        await queue.enqueue(
            JobKind.WARM_ANALYSIS,
            {"symbol": symbol, "tier": tier},
            dedup_key=f"warm:{symbol}:{tier}:{slot}",
        )
    except ServiceUnavailable:  # the next refresh fetches it anyway
        logger.warning("could not queue the warm-up of %s", symbol)


@router.delete(
    "/{symbol}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(404),
)
async def remove_from_watchlist(
    symbol: str, user: CurrentUser, unit: UnitOfWorkDep, container: ContainerDep
) -> Response:
    """Stop tracking a symbol."""
    await service.remove_symbol(unit, user.id, symbol)
    await unit.commit()
    await watchlist_changed(container.events, user.id, container.settings.feature_real_time_updates)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
