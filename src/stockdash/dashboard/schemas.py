"""Response bodies of the dashboard: in full, or with each analysis summarised."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from stockdash.analysis.schemas import (
    Analysis,
    Consensus,
    LockedModel,
    ModelName,
    MultiAIAnalysis,
    NotRatedReason,
    Signal,
)
from stockdash.market.schemas import StockPublic


class DashboardItem(BaseModel):
    """One watchlist stock with everything the dashboard card shows."""

    symbol: str
    added_at: datetime
    quote: StockPublic | None
    analysis: MultiAIAnalysis | None
    sparkline: list[float]
    error: str | None = None


class Dashboard(BaseModel):
    """The whole watchlist in one response, every analysis in full (`view=full`)."""

    data: list[DashboardItem]
    count: int
    max_stocks: int


class _Summary(BaseModel):
    # Only the listed fields: a full analysis never passes for a summary.
    model_config = ConfigDict(extra="forbid")


class AnalysisSummary(_Summary):
    """One analyst's verdict without its factors, reasoning and details."""

    model: ModelName
    score: float | None = Field(ge=0, le=100)
    signal: Signal
    confidence: float = Field(ge=0, le=1)
    not_rated_reason: NotRatedReason | None = None
    summary: str
    inputs_as_of: date
    methodology_version: str

    @classmethod
    def of(cls, analysis: Analysis) -> AnalysisSummary:
        """The summary of a full analysis."""
        return cls.model_validate({name: getattr(analysis, name) for name in cls.model_fields})


class MultiAISummary(_Summary):
    """All analyses the caller may see for one symbol, each as its summary."""

    symbol: str
    as_of: date
    analyses: dict[ModelName, AnalysisSummary]
    locked_models: list[LockedModel] = Field(default_factory=list)
    consensus: Consensus | None = None

    @classmethod
    def of(cls, full: MultiAIAnalysis) -> MultiAISummary:
        """The summary form of a stock's analyses (consensus and locked models unchanged)."""
        return cls(
            symbol=full.symbol,
            as_of=full.as_of,
            analyses={m: AnalysisSummary.of(a) for m, a in full.analyses.items()},
            locked_models=full.locked_models,
            consensus=full.consensus,
        )


class DashboardSummaryItem(_Summary):
    """One watchlist stock as the dashboard card shows it: analyses as summaries."""

    symbol: str
    added_at: datetime
    quote: StockPublic | None
    analysis: MultiAISummary | None
    sparkline: list[float]
    error: str | None = None


class DashboardSummary(_Summary):
    """The whole watchlist in one response, analyses as summaries (`view=summary`).

    Field for field a subset of `Dashboard`: a client written for this shape can read either.
    """

    data: list[DashboardSummaryItem]
    count: int
    max_stocks: int


DashboardView = Literal["full", "summary"]
DashboardResponse = Dashboard | DashboardSummary
