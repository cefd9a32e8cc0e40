"""The dashboard endpoint: the whole watchlist with quotes, sparklines and analyses in one request."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, get_args

from fastapi import APIRouter, Query, Request, Response

from stockdash.container import Container, container_of
from stockdash.core.errors import error_responses
from stockdash.core.fastlane import HotRoute
from stockdash.core.routes import RetryRoute
from stockdash.dashboard.schemas import DashboardResponse, DashboardView
from stockdash.dashboard.service import dashboard_json
from stockdash.users.deps import CurrentReader
from stockdash.users.records import UserRecord

# Listed under "analysis" in the OpenAPI document, where it has always been.
router = APIRouter(
    route_class=RetryRoute, tags=["analysis"], responses=error_responses(401, 403, 404, 422, 429)
)


@router.get(
    "/dashboard",
    response_model=DashboardResponse,
    response_description=(
        "`view=full`: a `Dashboard`, every analysis with its factors and reasoning. "
        "`view=summary`: a `DashboardSummary`, each analysis as model, score, signal, "
        "confidence, summary, inputs_as_of and methodology_version (the consensus and locked "
        "models as in full). The summary's fields are a subset of the full response's."
    ),
)
async def dashboard(
    request: Request,
    user: CurrentReader,
    view: Annotated[
        DashboardView,
        Query(
            description=(
                "`full` (default): each analysis complete, as /stocks/{symbol}/analysis returns "
                "it. `summary`: per model only score, signal, confidence and summary (plus the "
                "consensus and locked models), a small fraction of the size; what the dashboard "
                "page shows."
            )
        ),
    ] = "full",
) -> Response:
    """Every watchlist stock with its quote, sparkline and analyses (in full or summarised)."""
    body = await dashboard_body(container_of(request), user, view)
    return Response(body, media_type="application/json")


async def dashboard_body(container: Container, user: UserRecord, view: DashboardView) -> bytes:
    """The dashboard response body, for the route and its fast lane."""
    return await dashboard_json(
        container.user_cache, container.storage, user, container.cards, view
    )


def hot_reads(container: Container) -> list[HotRoute]:
    """The dashboard in the fast lane (a view it does not know is the full stack's 422)."""

    async def answer(
        user: UserRecord, _: Mapping[str, str], query: Mapping[str, str]
    ) -> bytes | None:
        view = query.get("view", "full")
        if view not in get_args(DashboardView):
            return None
        return await dashboard_body(container, user, view)  # type: ignore[arg-type]

    return [HotRoute("/dashboard", answer, frozenset({"view"}))]
