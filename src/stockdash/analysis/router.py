"""Analysis endpoints: one stock's multi-analyst view (the dashboard is `stockdash.dashboard`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from stockdash.analysis.schemas import DcfOverrides, MultiAIAnalysis
from stockdash.container import Container, container_of
from stockdash.core.errors import Unprocessable, error_responses
from stockdash.core.fastlane import HotRoute
from stockdash.core.metrics import ANALYSES_SERVED
from stockdash.core.routes import RetryRoute
from stockdash.subscriptions import tiers
from stockdash.users.deps import CurrentReader
from stockdash.users.records import UserRecord

router = APIRouter(
    route_class=RetryRoute, tags=["analysis"], responses=error_responses(401, 403, 404, 422, 429)
)


def _overrides(
    discount_rate: float | None, terminal_growth: float | None, growth: float | None
) -> DcfOverrides | None:
    if discount_rate is None and terminal_growth is None and growth is None:
        return None
    try:
        return DcfOverrides(
            discount_rate=discount_rate, terminal_growth=terminal_growth, growth=growth
        )
    except ValidationError as exc:
        raise Unprocessable(
            "Invalid DCF assumptions: " + "; ".join(e["msg"] for e in exc.errors()),
            details=[{"loc": e["loc"], "msg": e["msg"]} for e in exc.errors()],
        ) from exc


@router.get("/stocks/{symbol}/analysis", response_model=MultiAIAnalysis)
async def stock_analysis(
    symbol: str,
    request: Request,
    user: CurrentReader,
    discount_rate: Annotated[
        float | None, Query(ge=0.01, le=0.30, description="DCF override: discount rate, e.g. 0.09")
    ] = None,
    terminal_growth: Annotated[
        float | None,
        Query(ge=-0.02, le=0.05, description="DCF override: terminal growth, e.g. 0.025"),
    ] = None,
    growth: Annotated[
        float | None,
        Query(ge=-0.5, le=1.0, description="DCF override: stage-1 FCF growth, e.g. 0.08"),
    ] = None,
) -> Response:
    """The analyses your plan allows for one stock; the others are listed as locked."""
    container = container_of(request)
    canonical = await container.market.require_symbol(symbol)  # 404 before any 422
    overrides = _overrides(discount_rate, terminal_growth, growth)
    body = await analysis_body(container, user, canonical, overrides)
    return Response(body, media_type="application/json")


async def analysis_body(
    container: Container, user: UserRecord, symbol: str, overrides: DcfOverrides | None
) -> bytes:
    """The analysis response body: without overrides, the ready JSON of the stock's card (the
    same bytes the analyses serialise to); with them, computed for this request."""
    canonical = await container.market.require_symbol(symbol)
    tier = user.subscription_tier
    text = None if overrides else await container.cards.analysis_json(canonical, tier)
    if text is None:
        result = await container.analysis.for_tier(canonical, tier, overrides)
        text = result.model_dump_json()
    for model in tiers.allowed_models(tier):
        ANALYSES_SERVED.labels(model.value).inc()
    return text.encode()


def hot_reads(container: Container) -> list[HotRoute]:
    """A stock's analyses in the fast lane (DCF overrides take the full stack, which checks them)."""

    async def answer(user: UserRecord, params: Mapping[str, str], _: Mapping[str, str]) -> bytes:
        return await analysis_body(container, user, params["symbol"], None)

    return [HotRoute("/stocks/{symbol}/analysis", answer)]
