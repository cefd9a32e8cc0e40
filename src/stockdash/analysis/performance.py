"""Model performance report: its schema, the stored results file and GET /models/performance."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, ValidationError

from stockdash.core.errors import NotFound, error_responses

DEFAULT_RESULTS_PATH = Path(__file__).resolve().parent / "data" / "model-performance.json"
MISSING_MESSAGE = (
    "No model performance results yet: run `stockdash backtest` to compute them from the "
    "offline snapshot."
)

router = APIRouter(tags=["analysis"])


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)


class EquityPoint(_Frozen):
    """Value of the top-quintile portfolio (start = 1.0) on one rebalance date."""

    date: date
    value: float


class ModelFigures(_Frozen):
    """One model's backtest figures over a run of months (returns are fractions, 0.05 == 5 %).

    With `annualised` false (fewer than the minimum months) the three returns are cumulative
    over the run and Sharpe and Sortino are null: too few months to annualise.
    """

    model: str
    rank_ic: float | None
    rank_ic_t_stat: float | None
    hit_rate: float | None
    top_quintile_return: float
    universe_return: float
    excess_return: float
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    average_turnover: float  # one-way, fraction of the portfolio per month
    months: int
    annualised: bool


class ModelPerformance(ModelFigures):
    """A model's figures over the whole period, with its top-quintile equity curve."""

    equity_curve: list[EquityPoint]

    def figures(self) -> PeriodModel:
        """The figures without the equity curve."""
        return PeriodModel.model_validate(self.model_dump(exclude={"equity_curve"}))


class PeriodModel(ModelFigures):
    """One model's figures over one sub-period (no equity curve)."""


class PeriodTable(_Frozen):
    """The per-model table of one sub-period (e.g. before and after the universe broadens)."""

    label: str
    start: date
    end: date
    min_universe: int
    max_universe: int
    models: list[PeriodModel]


class ModelPerformanceReport(_Frozen):
    """The stored result of `stockdash backtest`."""

    source: str
    generated_at: datetime
    note: str
    period_start: date
    period_end: date
    rebalances: int
    transaction_cost_bps: float
    risk_free_rate: float | None = None  # constant over the period (setting RISK_FREE_RATE)
    assumptions: dict[str, float] = {}
    caveats: list[str] = []
    models: list[ModelPerformance]
    periods: list[PeriodTable] = []


def load_report(path: Path | None = None) -> ModelPerformanceReport:
    """The report stored at path (default: the package's results file); NotFound if absent."""
    target = path or DEFAULT_RESULTS_PATH
    try:
        text = target.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFound(MISSING_MESSAGE, code="model_performance_not_found") from exc
    try:
        return ModelPerformanceReport.model_validate_json(text)
    except ValidationError as exc:
        raise NotFound(
            f"The model performance file is unreadable ({exc.error_count()} errors); "
            "run `stockdash backtest` again.",
            code="model_performance_not_found",
        ) from exc


async def results_path() -> Path:
    """Where the route reads the report from (override this dependency to change it)."""
    return DEFAULT_RESULTS_PATH


@router.get(
    "/models/performance",
    response_model=ModelPerformanceReport,
    responses=error_responses(404),
    summary="Backtest of the four analyst models on the offline snapshot",
)
async def model_performance(
    path: Annotated[Path, Depends(results_path)],
) -> ModelPerformanceReport:
    """Rank IC, hit rate and top-quintile returns per model, as computed by `stockdash backtest`."""
    return await asyncio.to_thread(load_report, path)
