"""Job state in the database (SQL or MongoDB): each operation is its own short transaction or
single-document update, from any process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stockdash.core.db import utcnow
from stockdash.core.mongo import bson_time
from stockdash.jobs.models import JobRow


class JobKind(StrEnum):
    """Every kind of queued job."""

    REFRESH_CYCLE = "refresh_cycle"
    REFRESH_BATCH = "refresh_batch"
    WARM_ANALYSIS = "warm_analysis"
    SEND_EMAIL = "send_email"
    BACKTEST = "backtest"


class JobStatus(StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # retries spent: the dead-letter list the admin API shows


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.DEAD})


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the rest of the code sees it (never the ORM row)."""

    id: str
    kind: JobKind
    status: JobStatus
    dedup_key: str | None
    params: dict[str, Any]
    progress: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    attempts: int
    deliveries: int
    worker: str | None
    parent_id: str | None
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @property
    def finished(self) -> bool:
        """Whether nothing more will happen to it."""
        return self.status in FINISHED


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=JobKind(row.kind),
        status=JobStatus(row.status),
        dedup_key=row.dedup_key,
        params=dict(row.params or {}),
        progress=dict(row.progress or {}),
        result=row.result,
        error=row.error,
        attempts=row.attempts,
        deliveries=row.deliveries,
        worker=row.worker,
        parent_id=row.parent_id,
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        updated_at=row.updated_at,
    )


class JobStore(Protocol):
    """Create, claim, advance and list jobs, whatever the backend."""

    async def create(
        self,
        kind: JobKind,
        params: dict[str, Any],
        *,
        dedup_key: str | None = None,
        parent_id: str | None = None,
        created_by: int | None = None,
    ) -> tuple[Job, bool]: ...
    async def get(self, job_id: str) -> Job | None: ...
    async def claim(self, job_id: str, worker: str, *, stale_after: float) -> Job | None: ...
    async def touch(self, job_id: str) -> None: ...
    async def mark_retrying(self, job_id: str, error: str) -> None: ...
    async def attempt(self, job_id: str) -> None: ...
    async def set_progress(self, job_id: str, progress: dict[str, Any]) -> None: ...
    async def succeed(self, job_id: str, result: dict[str, Any]) -> bool: ...
    async def bury(self, job_id: str, error: str) -> bool: ...
    async def unfinished(self, kind: JobKind) -> Job | None: ...
    async def list(
        self,
        *,
        status: JobStatus | None = None,
        kind: JobKind | None = None,
        parent_id: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[Job], int]: ...
    async def purge_finished(self, older_than: datetime) -> int: ...
    async def queued_by_kind(self) -> dict[str, int]: ...


class SqlJobStore:
    """Jobs in the SQL `jobs` table."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def create(
        self,
        kind: JobKind,
        params: dict[str, Any],
        *,
        dedup_key: str | None = None,
        parent_id: str | None = None,
        created_by: int | None = None,
    ) -> tuple[Job, bool]:
        """A new queued job, or the existing one with the same dedup key; whether it is new."""
        now = utcnow()
        row = JobRow(
            id=str(uuid.uuid4()),
            kind=kind.value,
            dedup_key=dedup_key,
            status=JobStatus.QUEUED.value,
            params=params,
            progress={},
            attempts=0,
            deliveries=0,
            parent_id=parent_id,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        async with self._sessionmaker() as session:
            session.add(row)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                existing = await self._by_key(session, dedup_key) if dedup_key else None
                if existing is None:
                    raise
                return existing, False
        return _job(row), True

    @staticmethod
    async def _by_key(session: AsyncSession, key: str) -> Job | None:
        row = (
            await session.execute(select(JobRow).where(JobRow.dedup_key == key))
        ).scalar_one_or_none()
        return _job(row) if row else None

    async def get(self, job_id: str) -> Job | None:
        """One job by id."""
        async with self._sessionmaker() as session:
            row = await session.get(JobRow, job_id)
            return _job(row) if row else None

    async def claim(self, job_id: str, worker: str, *, stale_after: float) -> Job | None:
        """Mark a delivered job running; None when it is unknown, finished, or running elsewhere
        with a heartbeat younger than `stale_after` seconds."""
        now = utcnow()
        stale = now - timedelta(seconds=stale_after)
        async with self._sessionmaker() as session:
            updated = await session.execute(
                update(JobRow)
                .where(
                    JobRow.id == job_id,
                    JobRow.status.not_in([s.value for s in FINISHED]),
                    or_(JobRow.status != JobStatus.RUNNING.value, JobRow.updated_at < stale),
                )
                .values(
                    status=JobStatus.RUNNING.value,
                    deliveries=JobRow.deliveries + 1,
                    worker=worker,
                    started_at=func.coalesce(JobRow.started_at, now),
                    updated_at=now,
                )
            )
            await session.commit()
            if updated.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = await session.get(JobRow, job_id, populate_existing=True)
            return _job(row) if row else None

    async def touch(self, job_id: str) -> None:
        """The running job's heartbeat."""
        await self._update(job_id, {"updated_at": utcnow()}, only_unfinished=True)

    async def mark_retrying(self, job_id: str, error: str) -> None:
        """An attempt failed and another will follow after a backoff."""
        await self._update(
            job_id,
            {"status": JobStatus.RETRYING.value, "error": error, "updated_at": utcnow()},
            only_unfinished=True,
        )

    async def attempt(self, job_id: str) -> None:
        """Count one more attempt; the job is running."""
        await self._update(
            job_id,
            {
                "attempts": JobRow.attempts + 1,
                "status": JobStatus.RUNNING.value,
                "updated_at": utcnow(),
            },
            only_unfinished=True,
        )

    async def set_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        """Replace the job's progress report."""
        await self._update(job_id, {"progress": progress, "updated_at": utcnow()})

    async def succeed(self, job_id: str, result: dict[str, Any]) -> bool:
        """Finish the job; False when another delivery already finished it (it counts once)."""
        now = utcnow()
        return await self._update(
            job_id,
            {
                "status": JobStatus.SUCCEEDED.value,
                "result": result,
                "error": None,
                "finished_at": now,
                "updated_at": now,
            },
            only_unfinished=True,
        )

    async def bury(self, job_id: str, error: str) -> bool:
        """Give up on the job: it joins the dead letters."""
        now = utcnow()
        return await self._update(
            job_id,
            {"status": JobStatus.DEAD.value, "error": error, "finished_at": now, "updated_at": now},
            only_unfinished=True,
        )

    async def _update(
        self, job_id: str, values: dict[str, Any], *, only_unfinished: bool = False
    ) -> bool:
        statement = update(JobRow).where(JobRow.id == job_id)
        if only_unfinished:
            statement = statement.where(JobRow.status.not_in([s.value for s in FINISHED]))
        async with self._sessionmaker() as session:
            result = await session.execute(statement.values(**values))
            await session.commit()
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def unfinished(self, kind: JobKind) -> Job | None:
        """The oldest job of a kind that is not finished (queued, running or retrying), if any."""
        async with self._sessionmaker() as session:
            row = (
                await session.execute(
                    select(JobRow)
                    .where(
                        JobRow.kind == kind.value,
                        JobRow.status.not_in([s.value for s in FINISHED]),
                    )
                    .order_by(JobRow.created_at)
                    .limit(1)
                )
            ).scalar_one_or_none()
            return _job(row) if row else None

    async def list(
        self,
        *,
        status: JobStatus | None = None,
        kind: JobKind | None = None,
        parent_id: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[Job], int]:
        """Jobs newest first, filtered; with the total that match."""
        query = select(JobRow)
        if status is not None:
            query = query.where(JobRow.status == status.value)
        if kind is not None:
            query = query.where(JobRow.kind == kind.value)
        if parent_id is not None:
            query = query.where(JobRow.parent_id == parent_id)
        async with self._sessionmaker() as session:
            total = (
                await session.execute(select(func.count()).select_from(query.subquery()))
            ).scalar_one()
            rows = (
                await session.execute(
                    query.order_by(JobRow.created_at.desc(), JobRow.id).offset(offset).limit(limit)
                )
            ).scalars()
            return [_job(r) for r in rows], int(total)

    async def purge_finished(self, older_than: datetime) -> int:
        """Delete finished jobs last updated before `older_than`; how many."""
        async with self._sessionmaker() as session:
            result = await session.execute(
                delete(JobRow).where(
                    JobRow.status.in_([s.value for s in FINISHED]), JobRow.updated_at < older_than
                )
            )
            await session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def queued_by_kind(self) -> dict[str, int]:
        """How many jobs of each kind wait for a worker (queued, not started)."""
        stmt = (
            select(JobRow.kind, func.count())
            .where(JobRow.status == JobStatus.QUEUED.value)
            .group_by(JobRow.kind)
        )
        async with self._sessionmaker() as session:
            return {kind: int(n) for kind, n in (await session.execute(stmt)).all()}


FINISHED_VALUES = [s.value for s in FINISHED]


class MongoJobStore:
    """Jobs in MongoDB's `jobs` (`_id` = the job's UUID; a unique sparse index on `dedup_key`,
    stored only when there is one; indexes on (status, created_at) and (kind, created_at)).
    Every transition is one conditional single-document update, as the SQL store's UPDATE."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.jobs = db["jobs"]

    @staticmethod
    def _job(doc: dict[str, Any]) -> Job:
        return Job(
            id=doc["_id"],
            kind=JobKind(doc["kind"]),
            status=JobStatus(doc["status"]),
            dedup_key=doc.get("dedup_key"),
            params=dict(doc.get("params") or {}),
            progress=dict(doc.get("progress") or {}),
            result=doc.get("result"),
            error=doc.get("error"),
            attempts=doc["attempts"],
            deliveries=doc["deliveries"],
            worker=doc.get("worker"),
            parent_id=doc.get("parent_id"),
            created_by=doc.get("created_by"),
            created_at=doc["created_at"],
            started_at=doc.get("started_at"),
            finished_at=doc.get("finished_at"),
            updated_at=doc["updated_at"],
        )

    async def create(
        self,
        kind: JobKind,
        params: dict[str, Any],
        *,
        dedup_key: str | None = None,
        parent_id: str | None = None,
        created_by: int | None = None,
    ) -> tuple[Job, bool]:
        """A new queued job, or the existing one with the same dedup key; whether it is new."""
        now = bson_time(utcnow())
        doc: dict[str, Any] = {
            "_id": str(uuid.uuid4()),
            "kind": kind.value,
            "status": JobStatus.QUEUED.value,
            "params": params,
            "progress": {},
            "result": None,
            "error": None,
            "attempts": 0,
            "deliveries": 0,
            "worker": None,
            "parent_id": parent_id,
            "created_by": created_by,
            "created_at": now,
            "started_at": None,
            "finished_at": None,
            "updated_at": now,
        }
        if dedup_key is not None:
            doc["dedup_key"] = dedup_key  # absent otherwise: the sparse unique index skips it
        try:
            await self.jobs.insert_one(doc)
        except DuplicateKeyError:
            existing = await self.jobs.find_one({"dedup_key": dedup_key}) if dedup_key else None
            if existing is None:
                raise
            return self._job(existing), False
        return self._job(doc), True

    async def get(self, job_id: str) -> Job | None:
        """One job by id."""
        doc = await self.jobs.find_one({"_id": job_id})
        return None if doc is None else self._job(doc)

    async def claim(self, job_id: str, worker: str, *, stale_after: float) -> Job | None:
        """Mark a delivered job running; None when it is unknown, finished, or running elsewhere
        with a heartbeat younger than `stale_after` seconds."""
        now = bson_time(utcnow())
        stale = now - timedelta(seconds=stale_after)
        doc = await self.jobs.find_one_and_update(
            {
                "_id": job_id,
                "status": {"$nin": FINISHED_VALUES},
                "$or": [
                    {"status": {"$ne": JobStatus.RUNNING.value}},
                    {"updated_at": {"$lt": stale}},
                ],
            },
            {
                "$set": {"status": JobStatus.RUNNING.value, "worker": worker, "updated_at": now},
                "$inc": {"deliveries": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        if doc.get("started_at") is None:
            # The first claim starts the clock; a redelivery keeps it.
            await self.jobs.update_one(
                {"_id": job_id, "started_at": None}, {"$set": {"started_at": now}}
            )
            doc["started_at"] = now
        return self._job(doc)

    async def touch(self, job_id: str) -> None:
        """The running job's heartbeat."""
        await self._update(job_id, {"$set": {"updated_at": bson_time(utcnow())}}, True)

    async def mark_retrying(self, job_id: str, error: str) -> None:
        """An attempt failed and another will follow after a backoff."""
        values = {"status": JobStatus.RETRYING.value, "error": error, "updated_at": utcnow()}
        await self._update(job_id, {"$set": values}, True)

    async def attempt(self, job_id: str) -> None:
        """Count one more attempt; the job is running."""
        values = {"status": JobStatus.RUNNING.value, "updated_at": utcnow()}
        await self._update(job_id, {"$set": values, "$inc": {"attempts": 1}}, True)

    async def set_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        """Replace the job's progress report."""
        await self._update(job_id, {"$set": {"progress": progress, "updated_at": utcnow()}})

    async def succeed(self, job_id: str, result: dict[str, Any]) -> bool:
        """Finish the job; False when another delivery already finished it (it counts once)."""
        now = utcnow()
        values = {
            "status": JobStatus.SUCCEEDED.value,
            "result": result,
            "error": None,
            "finished_at": now,
            "updated_at": now,
        }
        return await self._update(job_id, {"$set": values}, True)

    async def bury(self, job_id: str, error: str) -> bool:
        """Give up on the job: it joins the dead letters."""
        now = utcnow()
        values = {
            "status": JobStatus.DEAD.value,
            "error": error,
            "finished_at": now,
            "updated_at": now,
        }
        return await self._update(job_id, {"$set": values}, True)

    async def _update(
        self, job_id: str, change: dict[str, Any], only_unfinished: bool = False
    ) -> bool:
        for values in change.values():
            for key, value in values.items():
                if isinstance(value, datetime):
                    values[key] = bson_time(value)
        query: dict[str, Any] = {"_id": job_id}
        if only_unfinished:
            query["status"] = {"$nin": FINISHED_VALUES}
        return (await self.jobs.update_one(query, change)).matched_count == 1

    async def unfinished(self, kind: JobKind) -> Job | None:
        """The oldest job of a kind that is not finished (queued, running or retrying), if any."""
        doc = await self.jobs.find_one(
            {"kind": kind.value, "status": {"$nin": FINISHED_VALUES}}, sort=[("created_at", 1)]
        )
        return None if doc is None else self._job(doc)

    async def list(
        self,
        *,
        status: JobStatus | None = None,
        kind: JobKind | None = None,
        parent_id: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[Job], int]:
        """Jobs newest first, filtered; with the total that match."""
        query: dict[str, Any] = {}
        if status is not None:
            query["status"] = status.value
        if kind is not None:
            query["kind"] = kind.value
        if parent_id is not None:
            query["parent_id"] = parent_id
        total = await self.jobs.count_documents(query)
        cursor = self.jobs.find(query).sort([("created_at", -1), ("_id", 1)])
        return [self._job(d) async for d in cursor.skip(offset).limit(limit)], total

    async def purge_finished(self, older_than: datetime) -> int:
        """Delete finished jobs last updated before `older_than`; how many."""
        result = await self.jobs.delete_many(
            {"status": {"$in": FINISHED_VALUES}, "updated_at": {"$lt": bson_time(older_than)}}
        )
        return result.deleted_count

    async def queued_by_kind(self) -> dict[str, int]:
        """How many jobs of each kind wait for a worker (queued, not started)."""
        pipeline: list[dict[str, Any]] = [
            {"$match": {"status": JobStatus.QUEUED.value}},
            {"$group": {"_id": "$kind", "n": {"$sum": 1}}},
        ]
        return {d["_id"]: int(d["n"]) async for d in await self.jobs.aggregate(pipeline)}
