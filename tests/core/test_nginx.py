"""The bundled nginx config: rendering, `nginx -t`, and a live nginx in front of two upstreams.

The live tests run the real nginx binary (unprivileged: as `nobody` when the tests run as root)
in the foreground, in front of two tiny stdlib HTTP servers that answer with their name and the
headers nginx passed on.
"""

from __future__ import annotations

import itertools
import os
import pwd
import selectors
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from stockdash.core import nginx
from stockdash.core.nginx import render_nginx_conf
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "nginx" / "nginx.conf"
NGINX = Path("/usr/sbin/nginx") if Path("/usr/sbin/nginx").exists() else None
if NGINX is None and shutil.which("nginx"):
    NGINX = Path(shutil.which("nginx") or "")
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (CI installs the Debian package nginx-light)"
)

INDEX = "<!doctype html><title>stockdash nginx test</title><div id=root></div>"
# Above gzip_min_length, so it is compressed on the way out.
ASSET = "console.log('hashed asset');\n" * 100

# An upstream instance: prints its port once listening, logs "METHOD PATH" per request before
# answering (so the log is complete once nginx has answered), and drops the connection without
# a response on /api/crash (as a worker dying mid-request would).
UPSTREAM = r"""
import http.server, json, sys
name, log = sys.argv[1], sys.argv[2]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(log, "a") as f:
            f.write(f"{self.command} {self.path}\n")
        if self.path.startswith("/api/crash"):
            self.close_connection = True
            return
        body = json.dumps({
            "name": name,
            "method": self.command,
            "path": self.path,
            "x_forwarded_for": self.headers.get("X-Forwarded-For"),
            "x_forwarded_proto": self.headers.get("X-Forwarded-Proto"),
            "host": self.headers.get("Host"),
            "connection": self.headers.get("Connection"),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = answer

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def accepting(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def unprivileged() -> dict[str, Any]:
    """Popen arguments that drop root to `nobody` (nothing when not root)."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory `nobody` can traverse (pytest's tmp_path is private to the test user), with
    a runtime dir nginx may write and a minimal frontend build."""
    root = Path(tempfile.mkdtemp(prefix="stockdash-nginx-"))
    try:
        root.chmod(0o755)
        runtime = root / "run"
        runtime.mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(runtime, nobody.pw_uid, nobody.pw_gid)
        (root / "dist" / "assets").mkdir(parents=True)
        (root / "dist" / "index.html").write_text(INDEX)
        (root / "dist" / "assets" / "app.js").write_text(ASSET)
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Upstream:
    name: str
    proc: subprocess.Popen[str]
    port: int
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)


def start_upstream(name: str, root: Path) -> Upstream:
    log = root / f"upstream-{name}.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", UPSTREAM, name, str(log)],
        stdout=subprocess.PIPE,
        stderr=(root / f"upstream-{name}.err").open("w"),
        text=True,
    )
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=15):
            stop(proc)
            raise AssertionError(f"upstream {name} did not start")
    line = proc.stdout.readline()
    if not line.strip().isdigit():
        stop(proc)
        raise AssertionError(
            f"upstream {name} failed: {(root / f'upstream-{name}.err').read_text()}"
        )
    return Upstream(name, proc, int(line), log)


@dataclass
class Stack:
    root: Path
    port: int
    proc: subprocess.Popen[bytes]
    upstreams: list[Upstream]
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", trust_env=False, timeout=10
        )

    def error_log(self) -> str:
        path = self.root / "run" / "error.log"
        return path.read_text() if path.exists() else ""


def render(root: Path, upstreams: list[str], port: int) -> Path:
    conf = root / "nginx.conf"
    conf.write_text(
        render_nginx_conf(
            listen=port,
            upstreams=upstreams,
            frontend_dist=root / "dist",
            runtime_dir=root / "run",
            worker_processes=1,
        )
    )
    return conf


def nginx_command(conf: Path, root: Path, *extra: str) -> list[str]:
    assert NGINX is not None
    return [str(NGINX), "-e", "stderr", "-p", str(root / "run"), "-c", str(conf), *extra]


@pytest.fixture
def stack(workdir: Path) -> Iterator[Stack]:
    """nginx on a free loopback port in front of upstreams A and B."""
    upstreams: list[Upstream] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        upstreams = [start_upstream("A", workdir), start_upstream("B", workdir)]
        port = free_port()
        conf = render(workdir, [u.address for u in upstreams], port)
        proc = subprocess.Popen(
            nginx_command(conf, workdir),
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "nginx.err").open("w"),
            **unprivileged(),
        )
        running = proc

        def up() -> bool:
            if running.poll() is not None:
                raise AssertionError(
                    f"nginx exited with {running.returncode}: {(workdir / 'nginx.err').read_text()}"
                )
            return accepting(port)

        wait_until(up, "nginx to listen")
        result = Stack(workdir, port, proc, upstreams)
        try:
            yield result
        finally:
            result.client.close()
    finally:
        if proc is not None:
            stop(proc)
        for upstream in upstreams:
            stop(upstream.proc)


# --- rendering ---------------------------------------------------------------------------------


def directives(config: str) -> list[str]:
    """The config's lines without comments or blank lines, stripped."""
    lines = (line.split("#", 1)[0].strip() for line in config.splitlines())
    return [line for line in lines if line]


def test_render_fills_the_template(tmp_path: Path) -> None:
    config = render_nginx_conf(
        listen=8080,
        upstreams=["127.0.0.1:8001", "api-2.internal:8002"],
        frontend_dist=tmp_path / "dist",
        runtime_dir=tmp_path / "run",
    )
    lines = directives(config)

    assert nginx.PLACEHOLDER.search(config) is None
    assert "listen 127.0.0.1:8080;" in lines
    assert "server 127.0.0.1:8001 max_fails=3 fail_timeout=10s;" in lines
    assert "server api-2.internal:8002 max_fails=3 fail_timeout=10s;" in lines
    assert f"root {tmp_path / 'dist'};" in lines
    assert f"pid {tmp_path / 'run'}/nginx.pid;" in lines
    assert "daemon off;" in lines
    assert "worker_processes auto;" in lines
    # Retries: never a non-idempotent replay, never on the app's own 503.
    assert "proxy_next_upstream error timeout http_502 http_504;" in lines
    assert "proxy_next_upstream_tries 2;" in lines
    assert not [line for line in lines if "non_idempotent" in line or "http_503" in line]
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in lines
    assert 'proxy_set_header Connection "";' in lines
    assert "keepalive 32;" in lines


@pytest.mark.parametrize(
    "change",
    [
        {"upstreams": []},
        {"upstreams": ["127.0.0.1"]},
        {"upstreams": ["127.0.0.1:8001; server evil:80"]},
        {"upstreams": ["127.0.0.1:70000"]},
        {"listen": 0},
        {"frontend_dist": Path("/srv/front end")},
        {"runtime_dir": Path("/run/$host")},
        {"worker_processes": 0},
    ],
)
def test_render_refuses_what_nginx_would_misread(change: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {
        "listen": 8080,
        "upstreams": ["127.0.0.1:8001"],
        "frontend_dist": Path("/srv/dist"),
        "runtime_dir": Path("/run/nginx"),
    }
    with pytest.raises(ValueError):
        render_nginx_conf(**{**arguments, **change})


def test_deploy_example_is_up_to_date(tmp_path: Path) -> None:
    """deploy/nginx/nginx.conf is exactly what its own "Regenerate" header line prints."""
    header = EXAMPLE.read_text().splitlines()[1]
    command = header.split(": ", 1)[1]
    args = shlex.split(command)[3:]  # without "python -m stockdash.core.nginx"
    output = args[args.index("-o") + 1]
    args[args.index("-o") + 1] = str(tmp_path / "nginx.conf")

    assert nginx.main(args) == 0
    fresh = (tmp_path / "nginx.conf").read_text().replace(str(tmp_path / "nginx.conf"), output)
    assert EXAMPLE.read_text() == fresh, f"stale example, regenerate: {command}"
    assert (REPO / "deploy" / "nginx" / "nginx.conf.template").resolve() == (
        REPO / "src" / "stockdash" / "core" / "nginx.conf.template"
    )


@needs_nginx
def test_nginx_accepts_the_config(workdir: Path) -> None:
    conf = render(workdir, ["127.0.0.1:8001", "127.0.0.1:8002"], free_port())
    done = subprocess.run(
        nginx_command(conf, workdir, "-t"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        **unprivileged(),
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    # Nothing outside the runtime dir was needed (no warnings about other paths either).
    assert "[warn]" not in done.stderr and "[emerg]" not in done.stderr


# --- live ----------------------------------------------------------------------------------------


@needs_nginx
def test_requests_alternate_between_upstreams(stack: Stack) -> None:
    names = [stack.client.get("/api/v1/ping").json()["name"] for _ in range(6)]

    assert sorted(set(names)) == ["A", "B"]
    assert all(a != b for a, b in itertools.pairwise(names)), names
    # Backend routes outside /api/ go to the instances too.
    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/redoc"):
        answer = stack.client.get(path)
        assert answer.status_code == 200 and answer.json()["path"] == path


@needs_nginx
def test_proxy_headers(stack: Stack) -> None:
    plain = stack.client.get("/api/v1/ping").json()
    forged = stack.client.get("/api/v1/ping", headers={"X-Forwarded-For": "6.6.6.6"}).json()

    # The app trusts the right-most entry (TRUSTED_PROXY_HOPS=1): always nginx's view.
    assert plain["x_forwarded_for"] == "127.0.0.1"
    assert forged["x_forwarded_for"] == "6.6.6.6, 127.0.0.1"
    assert plain["x_forwarded_proto"] == "http"
    assert plain["host"] == "127.0.0.1"
    assert plain["connection"] is None  # keepalive to the upstream, not "close"


@needs_nginx
def test_a_dead_upstream_costs_no_failed_requests(stack: Stack) -> None:
    a, b = stack.upstreams
    assert {stack.client.get("/api/v1/ping").json()["name"] for _ in range(2)} == {"A", "B"}
    a.kill()

    # Connection refused happens before the request is sent: retried even for POST.
    for i in range(4):
        answer = stack.client.post("/api/v1/things", json={"i": i})
        assert answer.status_code == 200, stack.error_log()
        assert answer.json()["name"] == "B"
    for _ in range(10):
        answer = stack.client.get("/api/v1/ping")
        assert answer.status_code == 200, stack.error_log()
        assert answer.json()["name"] == "B"
    assert "Connection refused" in stack.error_log()
    assert b.requests().count("POST /api/v1/things") == 4


@needs_nginx
def test_a_request_that_reached_an_instance_is_replayed_only_if_idempotent(stack: Stack) -> None:
    # Both instances drop the connection on /api/crash after reading the request.
    assert stack.client.post("/api/crash", json={}).status_code == 502
    sent = [line for u in stack.upstreams for line in u.requests()]
    assert sent == ["POST /api/crash"], "a POST that reached an instance was replayed"

    assert stack.client.get("/api/crash").status_code == 502
    sent = [line for u in stack.upstreams for line in u.requests()]
    assert sent.count("GET /api/crash") == 2  # retried once on the other instance


@needs_nginx
def test_static_files_and_spa_fallback(stack: Stack) -> None:
    asset = stack.client.get("/assets/app.js", headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.text == ASSET
    assert asset.headers["content-type"] == "application/javascript"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-encoding"] == "gzip"
    assert asset.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in asset.headers["content-security-policy"]

    assert stack.client.get("/assets/missing.js").status_code == 404

    for path in ("/", "/watchlist/AAPL", "/index.html"):
        page = stack.client.get(path)
        assert page.status_code == 200 and page.text == INDEX, path
        assert page.headers["cache-control"] == "no-cache"
        assert page.headers["x-frame-options"] == "DENY"
    assert all(u.requests() == [] for u in stack.upstreams)


@needs_nginx
def test_request_body_limit(stack: Stack) -> None:
    too_big = stack.client.post("/api/v1/things", content=b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert stack.client.post("/api/v1/things", content=b"x" * 1024).status_code == 200
