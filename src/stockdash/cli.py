"""The `stockdash` command line."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from stockdash import __version__
from stockdash.core.config import InsecureConfigError, Settings, get_settings, redact_url

if TYPE_CHECKING:
    from stockdash.container import Container

app = typer.Typer(
    name="stockdash",
    help="Self-hostable AI stock dashboard: serve the API and UI, run migrations, manage data.",
    no_args_is_help=True,
    add_completion=False,
)
snapshot_app = typer.Typer(
    help="Build or inspect the offline market data snapshot.", no_args_is_help=True
)
app.add_typer(snapshot_app, name="snapshot")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stockdash {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Self-hostable AI stock dashboard."""
    from stockdash.monitoring.logs import configure_logging

    configure_logging(get_settings().log_level, get_settings().log_format)


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply database migrations (to the latest revision by default); on MongoDB, create the
    collections and indexes."""
    from stockdash.core.migrate import upgrade

    if get_settings().mongo is not None:
        _prepare_mongo(get_settings())  # no SQL database is used beside it
        return
    url = get_settings().resolved_database_url
    upgrade(url, revision, schema=get_settings().database_schema)
    typer.echo(f"Database at {redact_url(url)} is at revision {revision}.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes (ignored with --reload). More than one needs REDIS_URL and "
            "BROKER_URL: caches, limits and the schedule must be shared, not per process.",
        ),
    ] = 1,
) -> None:
    """Serve the API (and the built frontend, if present) with uvicorn.

    Without BROKER_URL this one process also runs the queue, the worker and the scheduler
    in-process (the embedded default); with BROKER_URL, run `stockdash worker` and
    `stockdash scheduler` beside it.
    """
    import uvicorn

    settings = _role_settings("serve")
    _default_public_base_url(settings, host, port)
    if workers > 1 and not reload:
        _require_shared(settings, f"--workers {workers}")
        _prepare_metrics_dir(settings)
    if settings.is_sqlite:
        from stockdash.core.migrate import upgrade

        upgrade(settings.resolved_database_url, schema=settings.database_schema)
    mode = (
        "in-process queue" if settings.broker_kind == "memory" else f"{settings.broker_kind} queue"
    )
    typer.echo(f"stockdash {__version__} on http://{host}:{port} (API docs at /docs; {mode})")
    uvicorn.run(
        "stockdash.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=None if reload else workers,
        log_level=settings.log_level.lower(),
        # The app's structlog pipeline formats every record, access lines included.
        log_config=None,
        access_log=False,
        # The app reads X-Forwarded-For itself (TRUST_PROXY_HEADERS, TRUSTED_PROXY_HOPS);
        # uvicorn's own rewriting would trust any loopback peer.
        proxy_headers=False,
    )


@app.command()
def worker() -> None:
    """Consume the job queue (BROKER_URL): refresh batches, warm-ups, emails, backtests.

    A job's message is acknowledged only after the job ran, so the jobs of a worker that dies
    are delivered to another one; each job is idempotent, so a redelivery does no double work.
    """
    from stockdash.jobs.roles import run_worker

    settings = _role_settings("worker")
    if settings.broker_kind == "memory":
        _fail(
            "`stockdash worker` needs BROKER_URL (amqp://... or redis://...): without it "
            "`stockdash serve` runs the jobs in-process."
        )
    _run_role(settings, run_worker)


@app.command()
def scheduler() -> None:
    """Enqueue the periodic refresh (one active scheduler even if several run: a Redis lease)."""
    from stockdash.jobs.roles import run_scheduler

    settings = _role_settings("scheduler")
    if settings.broker_kind == "memory":
        _fail("`stockdash scheduler` needs BROKER_URL: it hands the refresh to the workers.")
    _require_shared(settings, "`stockdash scheduler`")
    if settings.refresh_interval_seconds <= 0:
        _fail("REFRESH_INTERVAL_SECONDS is 0: there is nothing to schedule.")
    _run_role(settings, run_scheduler)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"Refusing to start: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)


# Addresses that bind every interface: not something a browser can open.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "", "::"})  # noqa: S104 - compared against, never bound


def public_base_url_for(host: str, port: int) -> str:
    """The address browsers reach `serve --host --port` at (a wildcard bind means this machine)."""
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _default_public_base_url(settings: Settings, host: str, port: int) -> None:
    """Point email links at this server unless PUBLIC_BASE_URL was configured.

    The app factory reads the settings again (in each uvicorn process), so the
    environment is where the served port has to go, not just this settings object.
    """
    if "public_base_url" in settings.model_fields_set:
        return
    url = public_base_url_for(host, port)
    os.environ["PUBLIC_BASE_URL"] = url
    settings.public_base_url = url
    get_settings.cache_clear()


def _role_settings(role: str) -> Settings:
    """The settings, checked, for a process that takes `role`."""
    from stockdash.jobs.roles import RoleConflict, claim_role

    try:
        claim_role(role)
        settings = get_settings()
        settings.check_secure()
    except (RoleConflict, InsecureConfigError) as exc:
        _fail(str(exc))
    if settings.mongo is not None:
        # Every store a process role uses is on the storage seam: check MongoDB answers and
        # create its indexes before serving.
        _prepare_mongo(settings)
    return settings


def _prepare_mongo(settings: Settings) -> None:
    """Ping MongoDB (failing fast with a clear message) and create its collections and indexes."""
    import asyncio

    from stockdash.container import open_storage
    from stockdash.core.mongo import MongoUnreachable, redacted

    target = settings.mongo
    assert target is not None

    async def prepare() -> None:
        async with open_storage(settings):  # ensures the schema on the way in
            pass

    try:
        asyncio.run(prepare())
    except MongoUnreachable as exc:
        _fail(str(exc))
    typer.echo(f"MongoDB database {target.database!r} at {redacted(target.url)} is ready.")


def _require_shared(settings: Settings, what: str) -> None:
    missing = [
        name
        for name, value in (("REDIS_URL", settings.redis_url), ("BROKER_URL", settings.broker_url))
        if not value
    ]
    if missing:
        _fail(
            f"{what} needs {' and '.join(missing)}: with several processes the cache, rate limits, "
            "locks and the refresh schedule must be shared, not kept per process."
        )


def _prepare_metrics_dir(settings: Settings) -> None:
    """Several server processes: Prometheus multiprocess mode over one directory, set before
    the server processes start (they import prometheus_client with it set)."""
    import os

    from stockdash.core.metrics import MULTIPROC_DIR_ENV, prepare_multiprocess_dir

    directory = os.environ.setdefault(MULTIPROC_DIR_ENV, str(settings.data_dir / "prometheus"))
    prepare_multiprocess_dir(Path(directory))


def _run_role(settings: Settings, role: Callable[[Container], Awaitable[None]]) -> None:
    """Build the container and run a role until interrupted; a broker that cannot be reached
    fails fast (exit 3) with the reason."""
    from stockdash.container import build_container
    from stockdash.jobs.broker import BrokerUnavailable
    from stockdash.jobs.roles import ROLE_ENV
    from stockdash.monitoring.instrument import serve_metrics
    from stockdash.monitoring.sentry import init_sentry

    init_sentry(settings, os.environ.get(ROLE_ENV, "worker"))
    if settings.metrics_port:
        serve_metrics(settings.metrics_port)

    async def main() -> None:
        container = build_container(settings)
        try:
            await role(container)
        finally:
            await container.aclose()

    try:
        asyncio.run(main())
    except BrokerUnavailable as exc:
        _fail(str(exc), code=3)
    except ValueError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        pass


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(prompt=True, help="Admin email address.")],
    username: Annotated[str, typer.Option(prompt=True, help="Admin username.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="At least 8 characters."
        ),
    ],
) -> None:
    """Create an administrator account, or promote the existing account with that email and username.

    Promoting needs the account's current password; create-admin never changes a password.
    """
    from pydantic import ValidationError

    from stockdash.core.errors import AppError
    from stockdash.users.admin import AdminBootstrapError, AdminOutcome, ensure_admin
    from stockdash.users.schemas import UserCreate

    try:
        data = UserCreate(username=username, email=email, password=password)
    except ValidationError as exc:
        for err in exc.errors():
            typer.secho(
                f"{'.'.join(map(str, err['loc']))}: {err['msg']}", fg=typer.colors.RED, err=True
            )
        raise typer.Exit(code=2) from exc
    from stockdash.core.migrate import upgrade

    settings = get_settings()
    if settings.is_sqlite:
        upgrade(settings.resolved_database_url, schema=settings.database_schema)
    try:
        outcome = asyncio.run(ensure_admin(settings, data))
    except (AdminBootstrapError, AppError) as exc:
        typer.secho(f"Nothing changed: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    who = f"{data.username} <{data.email.lower()}>"
    messages = {
        AdminOutcome.CREATED: f"Created admin {who}.",
        AdminOutcome.PROMOTED: f"Promoted the existing account {who} to admin.",
        AdminOutcome.ALREADY_ADMIN: f"{who} is already an admin; nothing changed.",
    }
    typer.echo(messages[outcome])


@snapshot_app.command("build")
def snapshot_build(
    source: Annotated[
        Path, typer.Option(help="Folder with the raw market data (the repo's ../shared/data).")
    ] = Path("../shared/data"),
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: the package's data folder).")
    ] = None,
    provider: Annotated[
        str,
        typer.Option(
            help="files: build from --source; polygon (POLYGON_API_KEY) or edgar (SEC_USER_AGENT): "
            "refresh the shipped snapshot from that live provider."
        ),
    ] = "files",
    symbols: Annotated[
        str | None, typer.Option(help="Live rebuild only: comma-separated symbols (default: all).")
    ] = None,
) -> None:
    """Rebuild the offline snapshot the package ships, from the raw data files or a live provider."""
    from stockdash.market.snapshot import build

    if provider == "files":
        if not source.is_dir():
            typer.secho(f"No data folder at {source}.", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=2)
        build.main(source, out or build.DATA_DIR)
        return
    live_provider = _live_provider(provider)
    wanted = [s.strip().upper() for s in symbols.split(",")] if symbols else None
    asyncio.run(_live_rebuild(live_provider, out or build.DATA_DIR, wanted))


def _live_provider(name: str) -> Any:
    from stockdash.market.snapshot.provider import SnapshotProvider

    settings = get_settings()
    if name == "polygon":
        if not settings.polygon_api_key:
            typer.secho(
                "Set POLYGON_API_KEY to rebuild from Polygon.", fg=typer.colors.RED, err=True
            )
            raise typer.Exit(code=2)
        from stockdash.market.providers.polygon import PolygonProvider

        return PolygonProvider(
            settings.polygon_api_key,
            base_url=settings.polygon_base_url,
            requests_per_minute=settings.polygon_requests_per_minute,
        )
    if name == "edgar":
        if not settings.sec_user_agent:
            typer.secho(
                'Set SEC_USER_AGENT (e.g. "Your Name you@example.com"): the SEC requires it.',
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(code=2)
        from stockdash.market.providers.edgar import EdgarProvider

        profiles = SnapshotProvider().universe_profiles()
        return EdgarProvider(
            settings.sec_user_agent,
            base_url=settings.edgar_base_url,
            cik_lookup=lambda s: profiles[s].cik if s in profiles else None,
        )
    typer.secho(
        f"Unknown provider {name!r}: use files, polygon or edgar.", fg=typer.colors.RED, err=True
    )
    raise typer.Exit(code=2)


async def _live_rebuild(provider: Any, out: Path, symbols: list[str] | None) -> None:
    from rich.progress import Progress as RichProgress

    from stockdash.market.snapshot.live import rebuild_from_provider

    with RichProgress() as bar:
        task = bar.add_task("live rebuild", total=None)

        def update(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        report = await rebuild_from_provider(
            provider, out_dir=out, symbols=symbols, progress=update
        )
    typer.echo(
        f"{report.provider}: {report.symbols} symbols; replaced {report.replaced or 'nothing'}; "
        f"{len(report.failed)} failures kept the shipped data."
    )
    for symbol, reason in list(report.failed.items())[:10]:
        typer.echo(f"  {symbol}: {reason}")


@app.command()
def backtest(
    start: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First rebalance date (default 2016-04-01)."),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last date (default: the last bar)."),
    ] = None,
    cost_bps: Annotated[
        float,
        typer.Option(
            min=0, max=500, help="Transaction cost per unit of one-way turnover, in basis points."
        ),
    ] = 10.0,
    out: Annotated[
        Path | None,
        typer.Option(help="Results JSON (default: the package's data folder, served by the API)."),
    ] = None,
    doc: Annotated[Path, typer.Option(help="Markdown report to write.")] = Path(
        "docs/model-performance.md"
    ),
) -> None:
    """Backtest each analyst point-in-time over the snapshot: rank IC, hit rate, returns, Sharpe, drawdown."""
    from stockdash.analysis import backtest as bt

    if start and end and start >= end:
        typer.secho("--start must be before --end.", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2)
    bt.main(
        start=start.date() if start else None,
        end=end.date() if end else None,
        cost_bps=cost_bps,
        out=out,
        doc=doc,
    )


if __name__ == "__main__":
    app()
