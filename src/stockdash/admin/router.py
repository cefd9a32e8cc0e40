"""Administration: accounts, service statistics and the audit log (role `admin` only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from stockdash.admin import service
from stockdash.admin.repository import UserFilter
from stockdash.admin.schemas import AdminStats, AdminUserList, AdminUserUpdate, AuditLogList
from stockdash.container import ContainerDep, UnitOfWorkDep
from stockdash.core.errors import Conflict, NotFound, error_responses
from stockdash.core.routes import RetryRoute
from stockdash.jobs.schemas import BacktestRequest, JobList, JobPublic
from stockdash.jobs.store import JobKind, JobStatus
from stockdash.subscriptions.tiers import Tier
from stockdash.users.deps import AdminUser
from stockdash.users.schemas import UserPublic
from stockdash.users.service import to_public

router = APIRouter(
    route_class=RetryRoute,
    prefix="/admin",
    tags=["admin"],
    responses=error_responses(401, 403, 422, 429),
)

Page = Annotated[int, Query(ge=1, le=100_000, description="1-based page number.")]
Size = Annotated[int, Query(ge=1, le=100, description="Items per page (at most 100).")]


@router.get("/users", response_model=AdminUserList)
async def list_users(
    _: AdminUser,
    unit: UnitOfWorkDep,
    q: Annotated[
        str | None, Query(max_length=254, description="Part of a username or email.")
    ] = None,
    tier: Tier | None = None,
    active: bool | None = None,
    page: Page = 1,
    size: Size = 20,
) -> AdminUserList:
    """Search accounts by name or email, filter by tier and status, page by page."""
    return await service.list_users(
        unit,
        UserFilter(q=q, tier=tier.value if tier else None, active=active),
        page=page,
        size=size,
    )


@router.patch("/users/{user_id}", response_model=UserPublic, responses=error_responses(404, 409))
async def update_user(
    user_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: AdminUserUpdate,
    admin: AdminUser,
    unit: UnitOfWorkDep,
) -> UserPublic:
    """Change an account's tier, role or status (not your own role or status)."""
    user = await service.update_user(unit, admin, user_id, body)
    await unit.commit()
    return to_public(user)


@router.get("/stats", response_model=AdminStats)
async def stats(_: AdminUser, unit: UnitOfWorkDep) -> AdminStats:
    """Users by tier, sign-ups over the last 30 days, active users, upgrades, top symbols."""
    return await service.stats(unit)


@router.get("/audit", response_model=AuditLogList)
async def audit_log(
    _: AdminUser, unit: UnitOfWorkDep, page: Page = 1, size: Size = 50
) -> AuditLogList:
    """Every administrative change, newest first."""
    return await service.audit_log(unit, page=page, size=size)


@router.get("/jobs", response_model=JobList)
async def list_jobs(
    _: AdminUser,
    container: ContainerDep,
    status: JobStatus | None = Query(None, description="e.g. `dead`: the dead letters."),
    kind: JobKind | None = None,
    parent_id: Annotated[str | None, Query(max_length=36)] = None,
    page: Page = 1,
    size: Size = 50,
) -> JobList:
    """Queued and finished jobs, newest first; `status=dead` lists the jobs whose retries ran out."""
    jobs, total = await container.jobs.list(
        status=status, kind=kind, parent_id=parent_id, offset=(page - 1) * size, limit=size
    )
    return JobList(data=[JobPublic.of(j) for j in jobs], total=total, page=page, size=size)


@router.get("/jobs/{job_id}", response_model=JobPublic, responses=error_responses(404))
async def get_job(
    job_id: Annotated[str, Path(max_length=36)], _: AdminUser, container: ContainerDep
) -> JobPublic:
    """One job with its progress (a backtest reports `done` of `total` months)."""
    job = await container.jobs.get(job_id)
    if job is None:
        raise NotFound(f"No job {job_id}.", code="job_not_found")
    return JobPublic.of(job)


@router.post(
    "/jobs/backtest",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(409, 503),
)
async def start_backtest(
    body: BacktestRequest, admin: AdminUser, container: ContainerDep
) -> JobPublic:
    """Start a point-in-time backtest on a worker; follow it at `GET /admin/jobs/{id}`.

    One at a time: a backtest takes half a minute of CPU; while one is queued or running,
    another is refused with 409 `backtest_running`.
    """
    params = {
        "start": body.start.isoformat() if body.start else None,
        "end": body.end.isoformat() if body.end else None,
        "cost_bps": body.cost_bps,
    }
    running = await container.jobs.unfinished(JobKind.BACKTEST)
    if running is not None:
        raise Conflict(
            f"Backtest {running.id} is {running.status.value}; wait for it to finish "
            f"(GET /api/v1/admin/jobs/{running.id}).",
            code="backtest_running",
            details={"job_id": running.id},
        )
    job, _ = await container.jobs.create(JobKind.BACKTEST, params, created_by=admin.id)
    await container.queue.start(job)
    return JobPublic.of(job)


@router.post(
    "/jobs/refresh",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(409, 503),
)
async def start_refresh(admin: AdminUser, container: ContainerDep) -> JobPublic:
    """Run a refresh cycle now instead of at the next scheduled one (alerts are evaluated and
    live updates published as on schedule); follow it at `GET /admin/jobs/{id}`.

    While a refresh cycle is queued or running, another is refused with 409 `refresh_running`.
    """
    running = await container.jobs.unfinished(JobKind.REFRESH_CYCLE)
    if running is not None:
        raise Conflict(
            f"Refresh cycle {running.id} is {running.status.value}; wait for it to finish.",
            code="refresh_running",
            details={"job_id": running.id},
        )
    job, _ = await container.jobs.create(JobKind.REFRESH_CYCLE, {}, created_by=admin.id)
    await container.queue.start(job)
    return JobPublic.of(job)
