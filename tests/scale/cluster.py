"""A whole stockdash deployment as local subprocesses, for the scale tests and bench/scale.py.

One `Cluster` is: a fresh PostgreSQL schema (migrated with `stockdash migrate`), N x `stockdash
serve` on free loopback ports, nginx in front of them (the bundled template, run unprivileged),
N x `stockdash worker` and N x `stockdash scheduler`, all sharing one Redis (unique key
prefixes), one broker queue (RabbitMQ or a Redis stream, unique name) and one Prometheus
multiprocess directory. Every process writes to its own log file; `tails()` shows the end of
each. Nothing here sleeps for a fixed time: readiness is always polled with a deadline.

Synchronous on purpose (plain subprocesses, httpx sync clients, a private event loop thread for
asyncpg/aio-pika), so it works the same from pytest (with or without xdist) and from a script.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import asyncpg
import httpx
import redis

from stockdash.core.config import Settings
from stockdash.core.nginx import render_nginx_conf
from tests.conftest import free_port

T = TypeVar("T")
Broker = Literal["amqp", "redis"]

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The Redis-streams broker lives in its own database, away from the caches and rate limits.
REDIS_BROKER_URL = os.environ.get("TEST_REDIS_BROKER_URL", "redis://127.0.0.1:6379/2")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
NGINX = next(
    (p for p in (shutil.which("nginx"), "/usr/sbin/nginx") if p and Path(p).exists()), None
)
JWT_SECRET = "scale-test-secret-key-that-is-long-enough-0123456789abcdef"
GENEROUS = "100000/minute"
API_LIMITS = (
    "RATE_LIMIT_REGISTER_IP",
    "RATE_LIMIT_VERIFY_RESEND",
    "RATE_LIMIT_PASSWORD_RESET",
    "RATE_LIMIT_API_FREE",
    "RATE_LIMIT_API_PRO",
    "RATE_LIMIT_API_EXPERT",
    "RATE_LIMIT_API_KEY",
)
WORKER_READY = "worker consuming"
SCHEDULER_ACTIVE = "this scheduler is now the active one"
SCHEDULER_LOST = "lost the scheduler lease"
INDEX_HTML = "<!doctype html><title>stockdash scale test</title><div id=root></div>"


class ClusterError(RuntimeError):
    """The cluster could not be started or did not behave (the message has the log tails)."""


def accepting(host: str, port: int) -> bool:
    """Whether something accepts TCP connections there."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(
    check: Callable[[], T],
    what: str,
    *,
    timeout: float,
    interval: float = 0.05,
    on_timeout: Callable[[], str] | None = None,
) -> T:
    """Poll `check` until it returns something truthy (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n{on_timeout()}" if on_timeout else ""
            raise ClusterError(f"timed out after {timeout:g}s waiting for {what}{detail}")
        time.sleep(interval)


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as asyncpg takes it."""
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if scheme.startswith("postgres") else url


def service_problems(broker: Broker) -> list[str]:
    """What is missing on this machine to run a cluster on `broker` (empty: nothing)."""
    problems = []
    if NGINX is None:
        problems.append("nginx is not installed (Debian: apt-get install nginx-light)")
    if broker == "amqp":
        amqp = httpx.URL(AMQP_URL.replace("amqp://", "http://", 1))
        if not accepting(amqp.host or "127.0.0.1", amqp.port or 5672):
            problems.append(f"RabbitMQ is not reachable at {amqp.host}:{amqp.port or 5672}")
    return problems


class Loop:
    """A private event loop on a daemon thread, for the few async clients (asyncpg, aio-pika)
    synchronous code needs."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


class Db:
    """Direct SQL on the cluster's schema (one asyncpg connection on a private loop)."""

    def __init__(self, loop: Loop, dsn: str, schema: str) -> None:
        self._loop = loop
        self._conn: asyncpg.Connection = loop.run(
            asyncpg.connect(dsn, server_settings={"search_path": schema})
        )

    def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        """Rows as dicts (json columns decoded)."""
        rows = self._loop.run(self._conn.fetch(sql, *args))
        return [{k: _decode(v) for k, v in row.items()} for row in rows]

    def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row."""
        return self._loop.run(self._conn.fetchval(sql, *args))

    def execute(self, sql: str, *args: Any) -> str:
        """Run a statement."""
        return str(self._loop.run(self._conn.execute(sql, *args)))

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(Exception):
            self._loop.run(self._conn.close(), timeout=5)


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


@dataclass
class Proc:
    """One subprocess of the cluster, restartable, with its own log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path
    popen_kwargs: dict[str, Any] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None
    log_offset: int = 0

    def start(self) -> None:
        """Start (or start again) the process, appending to its log."""
        with self.log.open("ab") as out:
            out.write(f"\n--- {time.strftime('%H:%M:%S')} starting {self.name}\n".encode())
            self.log_offset = out.tell()
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                **self.popen_kwargs,
            )

    @property
    def pid(self) -> int:
        """The current process id."""
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        """Whether the process is running (a stopped process counts as alive)."""
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        """Send a signal to the process."""
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL, and reap it."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (a stopped process is continued first), then SIGKILL after `timeout` s."""
        if not self.alive() or self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        """Everything the current run has logged so far."""
        try:
            with self.log.open("rb") as f:
                f.seek(self.log_offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 30) -> str:
        """The last lines of the whole log (earlier runs included)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class ClusterSpec:
    """What to start; `env` overrides any setting (environment variable names)."""

    broker: Broker
    apis: int = 2
    workers: int = 2
    schedulers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = 90.0


def clean_base_env() -> dict[str, str]:
    """The runner's environment without any stockdash setting (so a developer's shell or CI
    variables cannot leak into the cluster)."""
    names = {name.upper() for name in Settings.model_fields}
    drop = names | {"STOCKDASH_ROLE", "PROMETHEUS_MULTIPROC_DIR"}
    return {k: v for k, v in os.environ.items() if k.upper() not in drop}


class Cluster:
    """Start with `start()` (or use as a context manager), stop with `stop()`."""

    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self.run_id = uuid.uuid4().hex[:10]
        self.schema = f"scale_{self.run_id}"
        self.key_prefix = f"stockdash-scale-{self.run_id}"
        self.queue = f"stockdash-scale-{self.run_id}"
        self.root = Path(tempfile.mkdtemp(prefix=f"stockdash-scale-{spec.broker}-"))
        self.logs = self.root / "logs"
        self.runtime = self.root / "nginx"
        self.metrics_dir = self.root / "prometheus"
        self.dist = self.root / "dist"
        self.api_ports = [free_port() for _ in range(spec.apis)]
        self.nginx_port = free_port()
        self.env = self._env()
        self.apis: list[Proc] = []
        self.workers: list[Proc] = []
        self.schedulers: list[Proc] = []
        self.nginx: Proc | None = None
        self.loop: Loop | None = None
        self._db: Db | None = None
        self._redis_clients: list[redis.Redis] = []
        self.hostname = socket.gethostname()
        self.started_at = 0.0
        # When a worker or scheduler last came back after being killed: the refresh schedule
        # is only steady after it.
        self.schedule_steady_since = 0.0
        self.cache: dict[str, Any] = {}  # for callers: things set up once per cluster

    # -- configuration ---------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        broker_url = AMQP_URL if self.spec.broker == "amqp" else REDIS_BROKER_URL
        env = {
            **clean_base_env(),
            "ENVIRONMENT": "test",
            "LOG_LEVEL": "INFO",
            "JWT_SECRET_KEY": JWT_SECRET,
            "BCRYPT_ROUNDS": "4",
            "WARM_ANALYSIS_CONTEXT": "false",
            "DATA_DIR": str(self.root / "data"),
            "FRONTEND_DIST": str(self.root / "no-frontend"),  # nginx serves the frontend
            "DATABASE_URL": PG_URL,
            "DATABASE_SCHEMA": self.schema,
            "DB_POOL_SIZE": "4",
            "REDIS_URL": REDIS_URL,
            "REDIS_KEY_PREFIX": f"{self.key_prefix}:",
            "RATE_LIMIT_KEY_PREFIX": f"{self.key_prefix}-rl",
            "BROKER_URL": broker_url,
            "BROKER_QUEUE": self.queue,
            "BROKER_REDELIVERY_SECONDS": "3",
            "REFRESH_INTERVAL_SECONDS": "4",
            "SCHEDULER_LOCK_SECONDS": "4",
            "JOB_LEASE_SECONDS": "4",
            "JOB_RETRY_BACKOFF_SECONDS": "0.2",
            "REFRESH_BATCH_SIZE": "2",
            # Shorter than the interval: every cycle fetches every tracked symbol's history again.
            "CACHE_TTL": "2",
            "TRUST_PROXY_HEADERS": "true",
            "TRUSTED_PROXY_HOPS": "1",
            "RATE_LIMIT_LOGIN_ACCOUNT": "5/minute",
            "RATE_LIMIT_LOGIN_IP": "1000/minute",
            **dict.fromkeys(API_LIMITS, GENEROUS),
            "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
            "PYTHONUNBUFFERED": "1",
        }
        env.update(self.spec.env)
        return env

    def setting(self, name: str) -> str:
        """One setting as the processes see it."""
        return self.env[name]

    @property
    def interval(self) -> float:
        """REFRESH_INTERVAL_SECONDS."""
        return float(self.env["REFRESH_INTERVAL_SECONDS"])

    @property
    def lock_seconds(self) -> float:
        """SCHEDULER_LOCK_SECONDS."""
        return float(self.env["SCHEDULER_LOCK_SECONDS"])

    # -- life cycle --------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _stockdash(self, name: str, *args: str) -> Proc:
        return Proc(
            name=name,
            argv=[sys.executable, "-m", "stockdash.cli", *args],
            env=self.env,
            log=self.logs / f"{name}.log",
            cwd=self.root,  # no .env file there
        )

    def start(self) -> None:
        """Start everything and wait until it is ready; on failure everything is stopped."""
        try:
            self._start()
        except KeyboardInterrupt:
            self.stop()
            raise
        except Exception as exc:
            tails = self.tails()
            self.stop()
            if isinstance(exc, ClusterError) and "-----" in str(exc):
                raise
            raise ClusterError(f"{type(exc).__name__}: {exc}\n{tails}") from exc

    def _start(self) -> None:
        problems = service_problems(self.spec.broker)
        if problems:
            raise ClusterError("; ".join(problems))
        self.root.chmod(0o755)  # nginx runs as nobody: it must traverse to its files
        for path in (self.logs, self.runtime, self.metrics_dir, self.dist, self.root / "data"):
            path.mkdir(parents=True, exist_ok=True)
        (self.dist / "index.html").write_text(INDEX_HTML)
        self.loop = Loop()
        self._migrate()
        self._db = Db(self.loop, asyncpg_dsn(PG_URL), self.schema)
        self.apis = [
            self._stockdash(f"api-{i}", "serve", "--host", "127.0.0.1", "--port", str(port))
            for i, port in enumerate(self.api_ports)
        ]
        self.workers = [self._stockdash(f"worker-{i}", "worker") for i in range(self.spec.workers)]
        self.schedulers = [
            self._stockdash(f"scheduler-{i}", "scheduler") for i in range(self.spec.schedulers)
        ]
        self.nginx = self._nginx_proc()
        for proc in self.processes():
            proc.start()
        timeout = self.spec.startup_timeout
        for proc in self.apis:
            self.wait_ready(proc, timeout=timeout)
        self.wait_ready(self.nginx, timeout=timeout)
        for proc in self.workers:
            self.wait_ready(proc, timeout=timeout)
        if self.schedulers:
            wait_for(
                lambda: self.active_scheduler(),
                "a scheduler to become active",
                timeout=timeout,
                on_timeout=self.tails,
            )
        self.started_at = self.schedule_steady_since = time.time()

    def _migrate(self) -> None:
        log = self.logs / "migrate.log"
        with log.open("wb") as out:
            done = subprocess.run(
                [sys.executable, "-m", "stockdash.cli", "migrate"],
                env=self.env,
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=180,
                check=False,
            )
        if done.returncode != 0:
            raise ClusterError(f"`stockdash migrate` failed:\n{log.read_text()[-3000:]}")

    def _write_nginx_conf(self, ports: list[int]) -> Path:
        conf = self.root / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                listen=self.nginx_port,
                upstreams=[f"127.0.0.1:{port}" for port in ports],
                frontend_dist=self.dist,
                runtime_dir=self.runtime,
                worker_processes=1,
            )
        )
        return conf

    def _nginx_proc(self) -> Proc:
        assert NGINX is not None
        conf = self._write_nginx_conf(self.api_ports)
        kwargs: dict[str, Any] = {}
        if os.geteuid() == 0:  # never run nginx as root: it runs as `nobody`, as in production
            nobody = pwd.getpwnam("nobody")
            os.chown(self.runtime, nobody.pw_uid, nobody.pw_gid)
            kwargs = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        return Proc(
            name="nginx",
            argv=[NGINX, "-e", "stderr", "-p", str(self.runtime), "-c", str(conf)],
            env=clean_base_env(),
            log=self.logs / "nginx.log",
            cwd=self.root,
            popen_kwargs=kwargs,
        )

    def processes(self) -> Iterator[Proc]:
        """Every long-running process."""
        yield from self.apis
        yield from self.workers
        yield from self.schedulers
        if self.nginx is not None:
            yield self.nginx

    def stop(self) -> None:
        """Stop every process, then drop the schema, the Redis keys and the broker queue."""
        procs = list(self.processes())
        for proc in procs:  # SIGTERM all first, so they wind down in parallel
            if proc.alive() and proc.popen is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGCONT)
                proc.popen.terminate()
        for proc in procs:
            proc.stop(timeout=10)
        if self._db is not None:
            self._db.close()
            self._db = None
        for client in self._redis_clients:
            with contextlib.suppress(Exception):
                client.close()
        self._redis_clients = []
        if self.loop is not None:
            with contextlib.suppress(Exception):
                self.loop.run(self._drop_schema(), timeout=60)
            if self.spec.broker == "amqp":
                with contextlib.suppress(Exception):
                    self.loop.run(self._delete_amqp_queues(), timeout=30)
            self.loop.close()
            self.loop = None
        with contextlib.suppress(Exception):
            self._delete_redis_keys()
        if not os.environ.get("STOCKDASH_SCALE_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)

    async def _drop_schema(self) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(PG_URL))
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            await conn.close()

    async def _delete_amqp_queues(self) -> None:
        import aio_pika

        connection = await aio_pika.connect(AMQP_URL, timeout=10)
        try:
            channel = await connection.channel()
            for name in (self.queue, f"{self.queue}.dead_letter"):
                with contextlib.suppress(Exception):
                    await channel.queue_delete(name)
        finally:
            await connection.close()

    def _delete_redis_keys(self) -> None:
        patterns = {REDIS_URL: [f"{self.key_prefix}*"]}
        if self.spec.broker == "redis":
            patterns.setdefault(REDIS_BROKER_URL, []).append(f"*{self.queue}*")
        for url, globs in patterns.items():
            client = redis.Redis.from_url(url)
            try:
                for glob in globs:
                    keys = list(client.scan_iter(match=glob, count=1000))
                    if keys:
                        client.delete(*keys)
            finally:
                client.close()

    # -- processes ---------------------------------------------------------------------------

    def wait_ready(self, proc: Proc, *, timeout: float = 60.0) -> None:
        """Until the process answers (API, nginx: /readyz 200; worker: consuming)."""

        def ready() -> bool:
            if not proc.alive():
                raise ClusterError(f"{proc.name} exited while starting:\n{proc.tail(60)}")
            if proc in self.apis:
                return self._ready(self.api_url(self.apis.index(proc)))
            if proc is self.nginx:
                return self._ready(self.nginx_url)
            if proc in self.workers:
                return WORKER_READY in proc.output()
            return True

        wait_for(ready, f"{proc.name} to be ready", timeout=timeout, on_timeout=self.tails)

    @staticmethod
    def _ready(base: str) -> bool:
        try:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def restart(self, proc: Proc, *, timeout: float = 60.0) -> None:
        """Start a process again (stopping it first if it runs), and wait until it is ready."""
        proc.stop()
        proc.start()
        self.wait_ready(proc, timeout=timeout)
        self._restarted([proc])

    def use_upstreams(self, count: int) -> None:
        """Point nginx at the first `count` API instances only (nginx restarted, then ready)."""
        assert self.nginx is not None
        self._write_nginx_conf(self.api_ports[:count])
        self.restart(self.nginx)

    def add_worker(self) -> Proc:
        """Start one more `stockdash worker` and wait until it consumes."""
        proc = self._stockdash(f"worker-{len(self.workers)}", "worker")
        self.workers.append(proc)
        proc.start()
        self.wait_ready(proc)
        return proc

    def ensure_running(self) -> None:
        """Restart whatever is not running (a test killed it), so each test starts whole."""
        dead = [p for p in self.processes() if not p.alive()]
        for proc in dead:
            proc.start()
        for proc in dead:
            self.wait_ready(proc)
        self._restarted(dead)

    def _restarted(self, procs: list[Proc]) -> None:
        if any(p in self.workers or p in self.schedulers for p in procs):
            self.schedule_steady_since = time.time()

    def worker_name(self, proc: Proc) -> str:
        """How the jobs table names this worker process."""
        return f"{self.hostname}:{proc.pid}"

    def active_scheduler(self) -> Proc | None:
        """The scheduler that says (in its current run's log) that it holds the lease; None if
        none does, or more than one (for a moment during a hand-over)."""
        active = [
            proc
            for proc in self.schedulers
            if proc.alive()
            and proc.output().count(SCHEDULER_ACTIVE) > proc.output().count(SCHEDULER_LOST)
        ]
        return active[0] if len(active) == 1 else None

    def tails(self, lines: int = 25) -> str:
        """The end of every process's log (and nginx's error log)."""
        parts = [f"cluster {self.run_id} ({self.spec.broker}) logs under {self.logs}"]
        for proc in self.processes():
            state = "running" if proc.alive() else f"exited {proc.popen and proc.popen.returncode}"
            parts.append(f"----- {proc.name} ({state}) -----\n{proc.tail(lines)}")
        error_log = self.runtime / "error.log"
        if error_log.exists():
            text = error_log.read_text(errors="replace").splitlines()[-lines:]
            parts.append("----- nginx error.log -----\n" + "\n".join(text))
        return "\n".join(parts)

    # -- clients -----------------------------------------------------------------------------

    def api_url(self, index: int) -> str:
        """One API instance, directly."""
        return f"http://127.0.0.1:{self.api_ports[index]}"

    @property
    def nginx_url(self) -> str:
        """The cluster's front door."""
        return f"http://127.0.0.1:{self.nginx_port}"

    @property
    def db(self) -> Db:
        """SQL on the cluster's schema."""
        assert self._db is not None, "the cluster is not started"
        return self._db

    def redis(self) -> redis.Redis:
        """A client for the cache Redis (closed with the cluster)."""
        client = redis.Redis.from_url(REDIS_URL)
        self._redis_clients.append(client)
        return client

    def jobs(self, kind: str | None = None, **where: Any) -> list[dict[str, Any]]:
        """Rows of the jobs table (oldest first), filtered by kind and equal columns."""
        filters = {"kind": kind} if kind else {}
        filters.update(where)
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in filters.items():
            args.append(value)
            clauses.append(f"{column} = ${len(args)}")
        sql = "SELECT * FROM jobs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return self.db.fetch(sql + " ORDER BY created_at, id", *args)

    def metrics(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample of /metrics (all processes summed), from the first instance that answers."""
        from prometheus_client.parser import text_string_to_metric_families

        for index, proc in enumerate(self.apis):
            if not proc.alive():
                continue
            try:
                response = httpx.get(f"{self.api_url(index)}/metrics", timeout=5)
            except httpx.HTTPError:
                continue
            if response.status_code != 200:
                continue
            samples = {}
            for family in text_string_to_metric_families(response.text):
                for sample in family.samples:
                    samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
            return samples
        raise ClusterError("no API instance answered /metrics")

    @staticmethod
    def metric(
        samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
    ) -> float:
        """The sum of a metric's samples whose labels include `labels`."""
        want = set(labels.items())
        return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def tracked_symbols(db: Db) -> set[str]:
    """What a refresh cycle should fetch: every symbol an active user tracks."""
    rows = db.fetch(
        "SELECT DISTINCT s.symbol FROM user_stocks s JOIN users u ON u.id = s.user_id "
        "WHERE u.is_active"
    )
    return {row["symbol"] for row in rows}


def cycle_slot(job: dict[str, Any]) -> int:
    """The interval slot of a refresh_cycle job (its dedup key is refresh-cycle:<interval>:<slot>)."""
    return int(str(job["dedup_key"]).rsplit(":", 1)[1])


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Items in lists of at most `size`."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class ApiUser:
    """A registered, logged-in user of a cluster."""

    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The bearer header."""
        return {"Authorization": f"Bearer {self.token}"}


def login(base: str, username: str, password: str) -> httpx.Response:
    """POST /auth/login (the form the API takes)."""
    return httpx.post(
        f"{base}/api/v1/auth/login", data={"username": username, "password": password}, timeout=30
    )


def make_user(base: str, *, tier: str = "free", symbols: Iterable[str] = ()) -> ApiUser:
    """Register a new user through `base`, log in, set the tier, fill the watchlist."""
    name = f"u{uuid.uuid4().hex[:12]}"
    password = "correct-horse-battery-9"
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": password},
        )
        if r.status_code != 201:
            raise ClusterError(f"register: {r.status_code} {r.text}")
        r = client.post("/api/v1/auth/login", data={"username": name, "password": password})
        if r.status_code != 200:
            raise ClusterError(f"login: {r.status_code} {r.text}")
        user = ApiUser(name, password, r.json()["access_token"])
        if tier != "free":
            r = client.put("/api/v1/subscriptions/me", json={"tier": tier}, headers=user.headers)
            if r.status_code != 200:
                raise ClusterError(f"tier: {r.status_code} {r.text}")
        for symbol in symbols:
            r = client.post("/api/v1/watchlist", json={"symbol": symbol}, headers=user.headers)
            if r.status_code != 201:
                raise ClusterError(f"watchlist add {symbol}: {r.status_code} {r.text}")
    return user
