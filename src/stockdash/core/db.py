"""Async SQLAlchemy engine and sessions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session, UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


# An execution option on the engine a read-only session uses: on SQLite its transactions begin
# DEFERRED, so readers never queue on the write lock (WAL lets them read beside a writer).
READ_ONLY = "stockdash_read_only"
# SQLite: a few connections are plenty (one writer at a time; readers are quick), and a fixed pool
# makes a burst wait for a connection instead of opening more than the file lock can serve.
SQLITE_POOL_SIZE = 5
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, a busy timeout; BEGIN IMMEDIATE on writing sessions so read-then-write
    rules hold, a deferred BEGIN on read-only ones."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN is DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock up front: a count-then-insert can never interleave.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    schema: str | None = None,
    connect_timeout: float | None = None,
    statement_timeout: float | None = None,
) -> AsyncEngine:
    """Create an async engine configured for the URL's backend (schema: PostgreSQL search_path;
    the timeouts: PostgreSQL's connect, pool wait and per-statement limits)."""
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=0)
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size * 2)
        kwargs["connect_args"] = _postgres_connect_args(schema, connect_timeout, statement_timeout)
        if connect_timeout is not None:
            kwargs["pool_timeout"] = connect_timeout
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    return engine


def _postgres_connect_args(
    schema: str | None, connect_timeout: float | None, statement_timeout: float | None
) -> dict[str, Any]:
    """asyncpg options: search_path, and timeouts enforced by the client (a black-holed server
    never answers, so only the client can give up) and by the server (which cancels the query)."""
    server_settings: dict[str, str] = {}
    args: dict[str, Any] = {"server_settings": server_settings}
    if schema:
        server_settings["search_path"] = schema
    if connect_timeout is not None:
        args["timeout"] = connect_timeout
    if statement_timeout is not None:
        args["command_timeout"] = statement_timeout
        server_settings["statement_timeout"] = str(int(statement_timeout * 1000))
    return args


class CommitListener(Protocol):
    """Told, after a commit, which of the objects it cares about the commit changed."""

    def key_of(self, obj: object) -> Hashable | None:
        """What to report for a changed object (None: not interesting)."""
        ...

    async def committed(self, keys: set[Hashable]) -> None:
        """Called once per commit that changed at least one interesting object."""
        ...


_LISTENERS = "stockdash.commit_listeners"
_CHANGED = "stockdash.changed"
_AFTER_COMMIT = "stockdash.after_commit"


@event.listens_for(Session, "after_flush")
def _collect_changes(session: Session, _: UOWTransaction) -> None:
    """Remember, per listener, the keys of the objects this flush wrote (reported on commit)."""
    _note(session, chain(session.new, session.dirty, session.deleted))


def record_change(session: AsyncSession, obj: object) -> None:
    """Report a change made by a bulk statement (which no flush sees), described by an object
    of the changed kind, to the commit listeners."""
    _note(session.sync_session, [obj])


def _note(session: Session, objects: Iterable[object]) -> None:
    listeners: list[CommitListener] | None = session.info.get(_LISTENERS)
    if not listeners:
        return
    changed: dict[int, set[Hashable]] = session.info.setdefault(_CHANGED, {})
    for obj in objects:
        for index, listener in enumerate(listeners):
            key = listener.key_of(obj)
            if key is not None:
                changed.setdefault(index, set()).add(key)


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    """Run `action` once the session's current transaction commits; a rollback drops it (a
    metric counted before the commit would count what a failed commit never did)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


class AppSession(AsyncSession):
    """An AsyncSession that reports what each commit changed to the factory's listeners.

    A flush that is rolled back may still be reported with a later commit of the same session:
    listeners invalidate caches, for which a needless invalidation is harmless.
    """

    async def commit(self) -> None:
        """Commit, then run the after-commit actions and tell every interested listener which
        keys changed."""
        await super().commit()
        for action in self.info.pop(_AFTER_COMMIT, []):
            action()
        changed: dict[int, set[Hashable]] | None = self.info.pop(_CHANGED, None)
        if not changed:
            return
        listeners: list[CommitListener] = self.info.get(_LISTENERS, [])
        for index, keys in changed.items():
            await listeners[index].committed(keys)

    async def rollback(self) -> None:
        """Roll back and forget the after-commit actions of the abandoned transaction."""
        self.info.pop(_AFTER_COMMIT, None)
        await super().rollback()


def create_sessionmaker(
    engine: AsyncEngine, *, listeners: list[CommitListener] | None = None
) -> async_sessionmaker[AsyncSession]:
    """A session factory whose objects stay usable after commit; `listeners` (a list that may
    still grow) hear about every commit's changes."""
    return async_sessionmaker(
        engine,
        class_=AppSession,
        expire_on_commit=False,
        autoflush=False,
        info={_LISTENERS: listeners if listeners is not None else []},
    )


def read_only_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool) for sessions that only read: no write lock on SQLite."""
    return engine.execution_options(**{READ_ONLY: True})


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Yield a session; services commit explicitly, anything left open is rolled back."""
    async with factory() as session:
        try:
            yield session
        finally:
            if session.in_transaction():
                await session.rollback()


async def ping(engine: AsyncEngine) -> bool:
    """Whether the database answers a trivial query (callers bound the wait with asyncio.timeout)."""
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
