"""HTTP endpoints against a bare FastAPI app: req/s, p99 and server CPU per request of each
endpoint as a ratio to a bare FastAPI "hello" app served the same way, on SQLite, PostgreSQL
and PostgreSQL + Redis.

Both servers are the same venv's uvicorn with the same settings: one process, uvloop/httptools
chosen by uvicorn's `auto`, `proxy_headers=False`, log level info, and the access log on or off
as `stockdash serve` has it (seen in its log after the warm-up). stockdash runs as
`stockdash serve` on a fresh database (a temp SQLite file, or a fresh PostgreSQL schema migrated
with `stockdash migrate`), with rate limits off (RATE_LIMIT_ENABLED=false), no periodic refresh
(REFRESH_INTERVAL_SECONDS=0), the offline snapshot, and on the third backend REDIS_URL with its
own key prefix. One Expert user with 20 stocks is registered over HTTP; every endpoint is warmed
with a few requests, then for each endpoint `wrk -t1 -c16` alternates bare hello, stockdash,
bare hello, stockdash... (`--rounds` pairs); each figure is the median over the rounds, each
ratio the median of the ratios of the paired runs. Every request carries the user's bearer
token, the hello app's too. CPU ms/req: user + system CPU of the server process (and any
children) during the run, over the requests wrk completed.

Run: `.venv/bin/python -m bench.http [--seconds 5] [--rounds 3] [--backends sqlite,postgres,
postgres+redis] [--no-write]`; exits 1 when a target is missed. STOCKDASH_BENCH_KEEP=1 keeps
each backend's temp dir (the servers' logs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Literal
from urllib.parse import urlsplit

import asyncpg
import httpx
import redis
from tests.conftest import POPULAR_SYMBOLS, free_port
from tests.scale.cluster import (
    JWT_SECRET,
    PG_URL,
    REDIS_URL,
    ClusterError,
    Proc,
    accepting,
    asyncpg_dsn,
    clean_base_env,
    make_user,
    wait_for,
)

from bench.common import write_section
from bench.scale import cpu_by_pid, wrk

SECTION = "HTTP endpoints vs bare FastAPI (bench/http.py)"
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BACKENDS = ("sqlite", "postgres", "postgres+redis")
BACKEND_NAMES = {
    "sqlite": "SQLite",
    "postgres": "PostgreSQL",
    "postgres+redis": "PostgreSQL + Redis",
}
HELLO = "/hello"
ENDPOINTS = {
    "/healthz": "/healthz",
    "dashboard summary": "/api/v1/dashboard?view=summary",
    "dashboard full": "/api/v1/dashboard?view=full",
    "/stocks/AAPL": "/api/v1/stocks/AAPL",
    "/stocks/AAPL/history?range=5y": "/api/v1/stocks/AAPL/history?range=5y",
    "/stocks/AAPL/analysis": "/api/v1/stocks/AAPL/analysis",
    "/watchlist": "/api/v1/watchlist",
}
SYMBOLS = POPULAR_SYMBOLS[:20]
CONNECTIONS = 16
WARM_REQUESTS = 5
LOG_LEVEL = "info"
STARTUP_TIMEOUT = 120.0


@dataclass(frozen=True)
class Target:
    """One acceptance target: a req/s ratio floor or a p99 ratio ceiling."""

    endpoint: str
    metric: Literal["rps", "p99"]
    bound: float

    def describe(self) -> str:
        """e.g. `dashboard full req/s ≥ 10 % of bare hello`."""
        if self.metric == "rps":
            return f"{self.endpoint} req/s ≥ {self.bound:.0%} of bare hello"
        return f"{self.endpoint} p99 ≤ {self.bound:g}x bare hello's p99"


TARGETS = (
    Target("dashboard summary", "rps", 0.30),
    Target("dashboard full", "rps", 0.10),
    Target("dashboard summary", "p99", 10.0),
    Target("dashboard full", "p99", 10.0),
    Target("/stocks/AAPL", "rps", 0.40),
    Target("/watchlist", "rps", 0.40),
)


# -- measurements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One wrk run against one server and the CPU that server used meanwhile."""

    rps: float
    p99: float | None
    requests: int
    non_2xx: int
    socket_errors: str
    cpu_ms_per_request: float | None
    cores: float


@dataclass(frozen=True)
class Pair:
    """One round: a bare hello run, then a stockdash run."""

    hello: Run
    app: Run

    @property
    def rps_ratio(self) -> float:
        """stockdash req/s over bare hello's."""
        return self.app.rps / self.hello.rps if self.hello.rps else 0.0

    @property
    def p99_ratio(self) -> float | None:
        """stockdash p99 over bare hello's."""
        if self.app.p99 is None or not self.hello.p99:
            return None
        return self.app.p99 / self.hello.p99


@dataclass
class BackendResult:
    """Every round of every endpoint on one backend, or why it was not measured."""

    backend: str
    pairs: dict[str, list[Pair]] = field(default_factory=dict)
    warm_statuses: dict[str, list[int]] = field(default_factory=dict)
    access_log: bool = True
    logged_errors: int = 0
    last_logged: str | None = None
    error: str | None = None


def median(values: Sequence[float | None]) -> float | None:
    """The median of the values that are known (None if none is)."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def process_tree(pid: int) -> list[int]:
    """A process and its descendants still running."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(child) for child in children.read_text().split()]
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants so far."""
    return sum(cpu_by_pid(process_tree(pid)).values())


def measure(url: str, token: str, seconds: int, pid: int) -> Run:
    """One wrk run against `url`, with the CPU the server process `pid` used during it."""
    before, started = cpu_seconds(pid), time.monotonic()
    result = wrk(url, token, seconds, CONNECTIONS)
    used, elapsed = cpu_seconds(pid) - before, time.monotonic() - started
    requests = int(result["requests"])
    return Run(
        rps=float(result["rps"]),
        p99=result["p99"],
        requests=requests,
        non_2xx=int(result["non_2xx"]),
        socket_errors=str(result["socket_errors"]),
        cpu_ms_per_request=used * 1000 / requests if requests else None,
        cores=used / elapsed,
    )


def wait_idle(pid: int, timeout: float = 60.0) -> None:
    """Until the server uses under 5 % of a core (background warm-ups done), or `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            return


# -- servers -----------------------------------------------------------------------------------


def stockdash_env(backend: str, root: Path, run_id: str) -> dict[str, str]:
    """The environment `stockdash migrate` and `stockdash serve` run with on `backend`."""
    env = {
        **clean_base_env(),
        "ENVIRONMENT": "test",
        "LOG_LEVEL": LOG_LEVEL.upper(),
        "JWT_SECRET_KEY": JWT_SECRET,
        "BCRYPT_ROUNDS": "4",
        "DATA_DIR": str(root / "data"),
        "FRONTEND_DIST": str(root / "no-frontend"),
        "MARKET_DATA_PROVIDER": "snapshot",
        "RATE_LIMIT_ENABLED": "false",
        "REFRESH_INTERVAL_SECONDS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    if backend == "sqlite":
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{root / 'stockdash.db'}"
    else:
        env["DATABASE_URL"] = PG_URL
        env["DATABASE_SCHEMA"] = schema_name(run_id)
    if backend == "postgres+redis":
        env["REDIS_URL"] = REDIS_URL
        env["REDIS_KEY_PREFIX"] = f"{key_prefix(run_id)}:"
        env["RATE_LIMIT_KEY_PREFIX"] = f"{key_prefix(run_id)}-rl"
    return env


def schema_name(run_id: str) -> str:
    """The PostgreSQL schema of one backend's run."""
    return f"bench_http_{run_id}"


def key_prefix(run_id: str) -> str:
    """The Redis key prefix of one backend's run."""
    return f"stockdash-bench-http-{run_id}"


def service_problems(backend: str) -> list[str]:
    """What this machine lacks to measure `backend` (empty: nothing)."""
    problems = [] if shutil.which("wrk") else ["wrk (apt-get install wrk)"]
    for needed, url, port in (("postgres", PG_URL, 5432), ("redis", REDIS_URL, 6379)):
        if needed in backend:
            parsed = urlsplit(url)
            host = parsed.hostname or "127.0.0.1"
            if not accepting(host, parsed.port or port):
                problems.append(f"{needed} reachable at {host}:{parsed.port or port}")
    return problems


def migrate(env: dict[str, str], root: Path) -> None:
    """`stockdash migrate` on the backend's fresh database."""
    log = root / "migrate.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [str(BIN / "stockdash"), "migrate"],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=180,
            check=False,
        )
    if done.returncode != 0:
        raise ClusterError(f"`stockdash migrate` failed:\n{log.read_text()[-3000:]}")


def start(proc: Proc, ready_url: str) -> None:
    """Start a server and wait until `ready_url` answers 200."""
    proc.start()

    def ready() -> bool:
        if not proc.alive():
            raise ClusterError(f"{proc.name} exited while starting:\n{proc.tail(60)}")
        try:
            return httpx.get(ready_url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(
        ready,
        f"{proc.name} to be ready",
        timeout=STARTUP_TIMEOUT,
        interval=0.1,
        on_timeout=lambda: proc.tail(60),
    )


def stockdash_proc(env: dict[str, str], root: Path, port: int) -> Proc:
    """`stockdash serve` on a loopback port."""
    return Proc(
        name="stockdash",
        argv=[str(BIN / "stockdash"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        log=root / "stockdash.log",
        cwd=root,  # no .env file there
    )


def hello_proc(root: Path, port: int, access_log: bool) -> Proc:
    """The bare hello app under the same uvicorn settings as `stockdash serve`."""
    return Proc(
        name="hello",
        argv=[
            str(BIN / "uvicorn"),
            "bench.hello_app:app",
            "--app-dir",
            str(ROOT),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            LOG_LEVEL,
            "--no-proxy-headers",
            "--access-log" if access_log else "--no-access-log",
        ],
        env={**clean_base_env(), "PYTHONUNBUFFERED": "1"},
        log=root / "hello.log",
        cwd=root,
    )


def warm(base: str, token: str) -> dict[str, list[int]]:
    """A few requests to every endpoint; the statuses each answered (0: no answer)."""
    statuses: dict[str, list[int]] = {}
    with httpx.Client(
        base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for label, path in ENDPOINTS.items():
            statuses[label] = [status(client, path) for _ in range(WARM_REQUESTS)]
    return statuses


def status(client: httpx.Client, path: str) -> int:
    """GET `path`: the status, or 0 when the server gave no answer."""
    try:
        return client.get(path).status_code
    except httpx.TransportError:
        return 0


def cleanup(backend: str, run_id: str) -> None:
    """Drop the backend's PostgreSQL schema and Redis keys (nothing for SQLite)."""
    if "postgres" in backend:
        with contextlib.suppress(Exception):
            asyncio.run(drop_schema(schema_name(run_id)))
    if "redis" in backend:
        with contextlib.suppress(Exception):
            client = redis.Redis.from_url(REDIS_URL)
            try:
                keys = list(client.scan_iter(match=f"{key_prefix(run_id)}*", count=1000))
                if keys:
                    client.delete(*keys)
            finally:
                client.close()


async def drop_schema(schema: str) -> None:
    """DROP SCHEMA ... CASCADE."""
    conn = await asyncpg.connect(asyncpg_dsn(PG_URL))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


# -- one backend -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A started server process and its base URL."""

    proc: Proc
    url: str


def bench_backend(backend: str, seconds: int, rounds: int) -> BackendResult:
    """Start stockdash on `backend` and the hello app, seed, warm, measure; stop everything."""
    run_id = uuid.uuid4().hex[:10]
    root = Path(tempfile.mkdtemp(prefix=f"stockdash-bench-http-{backend.replace('+', '-')}-"))
    procs: list[Proc] = []
    try:
        env = stockdash_env(backend, root, run_id)
        migrate(env, root)
        port = free_port()
        app = Server(stockdash_proc(env, root, port), f"http://127.0.0.1:{port}")
        procs.append(app.proc)
        start(app.proc, f"{app.url}/readyz")
        token = make_user(app.url, tier="expert", symbols=SYMBOLS).token
        result = BackendResult(backend, warm_statuses=warm(app.url, token))
        result.access_log = '"GET /healthz HTTP/1.1"' in app.proc.output()
        port = free_port()
        hello = Server(hello_proc(root, port, result.access_log), f"http://127.0.0.1:{port}")
        procs.append(hello.proc)
        start(hello.proc, f"{hello.url}{HELLO}")
        wrk(f"{hello.url}{HELLO}", token, 1, CONNECTIONS)  # warm the hello app too
        wait_idle(app.proc.pid)
        errors_before = logged_errors(app.proc)
        result.pairs = measure_endpoints(backend, app, hello, token, seconds, rounds)
        result.logged_errors = logged_errors(app.proc) - errors_before
        result.last_logged = last_error(app.proc)
        return result
    except Exception as exc:  # one backend failing must not lose the others' figures
        tails = "\n".join(f"----- {p.name} -----\n{p.tail(40)}" for p in procs)
        print(f"{backend}: not measured: {exc}\n{tails}", file=sys.stderr, flush=True)
        reason = str(exc).splitlines()[0] if str(exc) else repr(exc)
        raised = last_exception(procs)
        return BackendResult(
            backend, error=f"{reason}" + (f" (server log: `{raised}`)" if raised else "")
        )
    finally:
        for proc in procs:
            proc.stop()
        cleanup(backend, run_id)
        if os.environ.get("STOCKDASH_BENCH_KEEP"):
            print(f"{backend}: logs kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def measure_endpoints(
    backend: str, app: Server, hello: Server, token: str, seconds: int, rounds: int
) -> dict[str, list[Pair]]:
    """For each endpoint, `rounds` pairs of runs: bare hello, then stockdash."""
    pairs: dict[str, list[Pair]] = {}
    for label, path in ENDPOINTS.items():
        pairs[label] = []
        for round_ in range(1, rounds + 1):
            pair = Pair(
                hello=measure(f"{hello.url}{HELLO}", token, seconds, hello.proc.pid),
                app=measure(f"{app.url}{path}", token, seconds, app.proc.pid),
            )
            pairs[label].append(pair)
            print(progress(backend, label, round_, pair), flush=True)
    return pairs


def last_exception(procs: list[Proc]) -> str | None:
    """The last exception a server logged (e.g. `AttributeError: ...`), if any."""
    for proc in reversed(procs):
        raised = [
            line
            for line in proc.output().splitlines()
            if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*?:", line)
        ]
        if raised:
            return raised[-1][:200]
    return None


def last_error(proc: Proc) -> str | None:
    """The last ERROR line the process logged (or the last exception), if any."""
    lines = [line for line in proc.output().splitlines() if " ERROR " in line]
    return last_exception([proc]) or (lines[-1][:200] if lines else None)


def logged_errors(proc: Proc) -> int:
    """ERROR lines (tracebacks' first lines included) the process logged so far."""
    return sum(
        1 for line in proc.output().splitlines() if " ERROR " in line or line.startswith("ERROR")
    )


def progress(backend: str, label: str, round_: int, pair: Pair) -> str:
    """One line per measured pair, for the console."""
    hello, app = pair.hello, pair.app
    return (
        f"{backend} {label} round {round_}: hello {hello.rps:,.0f} req/s p99 {ms(hello.p99)}"
        f" | stockdash {app.rps:,.0f} req/s p99 {ms(app.p99)} cpu {cpu(app)} ms/req"
        f" non-2xx {app.non_2xx} {app.socket_errors} -> {pair.rps_ratio:.0%}"
    )


# -- the report --------------------------------------------------------------------------------


def ms(value: float | None) -> str:
    """Milliseconds for the table."""
    if value is None:
        return "n/a"
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def cpu(run: Run) -> str:
    """CPU ms per request for the table."""
    return "n/a" if run.cpu_ms_per_request is None else f"{run.cpu_ms_per_request:.2f}"


def failures(runs: Sequence[Run]) -> str:
    """`non-2xx / socket errors` over some runs."""
    sockets = "; ".join(r.socket_errors for r in runs if r.socket_errors) or "none"
    return f"{sum(r.non_2xx for r in runs):,} / {sockets}"


def pct(value: float | None) -> str:
    """A ratio as a percentage (one decimal under 10 %)."""
    if value is None:
        return "n/a"
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def times(value: float | None) -> str:
    """A ratio as a multiple."""
    return "n/a" if value is None else f"{value:.1f}x"


def row(label: str, runs: list[Run], hellos: list[Run], pairs: list[Pair]) -> str:
    """One table row: medians over `runs` and `hellos` (the paired hello runs), and the median
    ratios of `pairs` (none: the hello row itself)."""
    cpu_ms = median([r.cpu_ms_per_request for r in runs])
    rps_ratio = median([p.rps_ratio for p in pairs]) if pairs else 1.0
    p99_ratio = median([p.p99_ratio for p in pairs]) if pairs else 1.0
    return (
        f"| {label} | {median([r.rps for r in runs]) or 0:,.0f} "
        f"| {median([r.rps for r in hellos]) or 0:,.0f} | {pct(rps_ratio)} "
        f"| {ms(median([r.p99 for r in runs]))} | {times(p99_ratio)} "
        f"| {'n/a' if cpu_ms is None else f'{cpu_ms:.2f}'} "
        f"| {median([r.cores for r in runs]) or 0:.2f} | {failures(runs)} |"
    )


def backend_table(result: BackendResult) -> list[str]:
    """One backend's table (or why it is missing)."""
    title = f"**{BACKEND_NAMES[result.backend]}**"
    if result.error is not None:
        return [f"{title}: not measured: {result.error}"]
    hellos = [p.hello for pairs in result.pairs.values() for p in pairs]
    lines = [
        title,
        "",
        "| endpoint | req/s | paired hello req/s | ratio to hello | p99 | p99 ratio | CPU ms/req "
        "| server cores | non-2xx / socket errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        row(f"bare hello `{HELLO}` (all runs)", hellos, hellos, []),
        *(
            row(f"`{label}`", [p.app for p in pairs], [p.hello for p in pairs], pairs)
            for label, pairs in result.pairs.items()
        ),
    ]
    bad_warm = {k: v for k, v in result.warm_statuses.items() if any(not 200 <= s < 300 for s in v)}
    if bad_warm:
        lines += ["", f"Warm-up statuses (0: no answer): {bad_warm}."]
    if result.logged_errors:
        lines += [
            "",
            f"stockdash logged {result.logged_errors} ERROR lines while measured; the last: "
            f"`{result.last_logged}`.",
        ]
    return lines


def verdicts(result: BackendResult) -> list[tuple[str, str, bool]]:
    """(target, measured value, met) for each target on one backend."""
    name = BACKEND_NAMES[result.backend]
    if result.error is not None:
        return [(f"{name}: {t.describe()}", "not measured", False) for t in TARGETS]
    found = []
    for target in TARGETS:
        pairs = result.pairs[target.endpoint]
        if target.metric == "rps":
            value = median([p.rps_ratio for p in pairs])
            met = value is not None and value >= target.bound
            shown = pct(value)
        else:
            value = median([p.p99_ratio for p in pairs])
            met = value is not None and value <= target.bound
            shown = times(value)
        found.append((f"{name}: {target.describe()}", shown, met))
    apps = [p.app for pairs in result.pairs.values() for p in pairs]
    bad = sum(r.non_2xx for r in apps), sum(1 for r in apps if r.socket_errors)
    found.append(
        (
            f"{name}: no non-2xx responses or socket errors on stockdash",
            f"{bad[0]:,} non-2xx, {bad[1]} runs with socket errors",
            bad == (0, 0),
        )
    )
    return found


def report(results: list[BackendResult], seconds: int, rounds: int) -> tuple[str, bool]:
    """The markdown section and whether every target was met."""
    access = {r.access_log for r in results if r.error is None}
    access_text = "on" if access == {True} else "off" if access == {False} else "as stockdash"
    lines = [
        "Each backend: `stockdash serve` (fresh database; rate limits off; no periodic refresh; "
        "offline snapshot; an Expert user with 20 stocks; every endpoint warmed with "
        f"{WARM_REQUESTS} requests) and a bare FastAPI app (`bench/hello_app.py`, one route "
        "returning `{'hello': 'world'}` as JSON), both from the same venv's uvicorn: one process, "
        f"loop/http `auto` (uvloop, httptools), `proxy_headers=False`, log level {LOG_LEVEL}, "
        f"access log {access_text}. `wrk -t1 -c{CONNECTIONS} -d{seconds}s --latency`, hello and "
        f"stockdash alternately, {rounds} round(s) per endpoint, every request with the user's "
        "bearer token. Figures are medians over the rounds; ratios are the median of the "
        "per-round ratios to the bare hello run just before (*paired hello req/s*: the median "
        "of those hello runs). *CPU ms/req*: the server process's user + system CPU during the "
        "run over the requests completed (PostgreSQL and Redis not counted); *server cores*: "
        "that CPU time over the run's wall time (well under 1: the server was waiting, not "
        "computing). wrk, the servers and the database share the machine's cores, and anything "
        "else running moves the figures, so compare rows of one run.",
        "",
    ]
    checks = []
    for result in results:
        lines += [*backend_table(result), ""]
        checks += verdicts(result)
    lines += ["**Targets** (ratios to bare hello in the same run):", ""]
    lines += [
        f"- {what}: {shown} — {'met' if met else '**missed**'}" for what, shown, met in checks
    ]
    return "\n".join(lines), all(met for _, _, met in checks)


# -- entry points ------------------------------------------------------------------------------


@contextlib.contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the servers and temp dirs are cleaned up."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(seconds: int = 5, rounds: int = 3, backends: Sequence[str] = BACKENDS) -> tuple[str, bool]:
    """Measure every backend; the markdown section and whether every target was met."""
    results = []
    with sigterm_as_exit():
        for backend in backends:
            problems = service_problems(backend)
            if problems:
                results.append(BackendResult(backend, error=f"needs {'; '.join(problems)}"))
                continue
            results.append(bench_backend(backend, seconds, rounds))
    return report(results, seconds, rounds)


def main(argv: list[str] | None = None) -> None:
    """Print the report, write its section of docs/benchmarks.md, exit 1 on a missed target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="hello/stockdash pairs per endpoint")
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help=f"comma-separated, from {', '.join(BACKENDS)}",
    )
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        parser.error(f"unknown backends {unknown}: use {', '.join(BACKENDS)}")
    started = time.monotonic()
    body, ok = run(args.seconds, args.rounds, backends)
    print(body)
    print(f"bench/http.py took {time.monotonic() - started:.0f}s")
    if not args.no_write:
        write_section(SECTION, body)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
