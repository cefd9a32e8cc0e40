"""The admin API's view of jobs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from stockdash.jobs.store import Job, JobKind, JobStatus


class JobPublic(BaseModel):
    """A job: its state, progress, result or error."""

    id: str
    kind: JobKind
    status: JobStatus
    params: dict[str, Any]
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    attempts: int = Field(description="Attempts made (retries included).")
    deliveries: int = Field(description="Times a worker took the job's message (redeliveries).")
    worker: str | None
    parent_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        """The public form of a job."""
        return cls.model_validate(job, from_attributes=True)


class JobList(BaseModel):
    """A page of jobs, newest first."""

    data: list[JobPublic]
    total: int
    page: int
    size: int


class BacktestRequest(BaseModel):
    """A backtest to run on a worker (defaults as `stockdash backtest`)."""

    start: date | None = Field(None, description="First rebalance date (default 2016-04-01).")
    end: date | None = Field(None, description="Last date (default: the last bar).")
    cost_bps: float = Field(10.0, ge=0, le=500, description="Cost per unit of one-way turnover.")

    @model_validator(mode="after")
    def _ordered(self) -> BacktestRequest:
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        return self
