"""deploy/nginx/web.conf (the `web` image's nginx) run for real by Debian's nginx in front of a
stub upstream: the frontend is served, the API proxied, and /metrics kept private."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.core.test_nginx import (
    REPO,
    Upstream,
    accepting,
    needs_nginx,
    nginx_command,
    start_upstream,
    stop,
    unprivileged,
    wait_until,
    workdir,  # noqa: F401 - the fixture
)

WEB_CONF = REPO / "deploy" / "nginx" / "web.conf"


def local_copy(root: Path, upstream: str, port: int) -> Path:
    """web.conf with what only exists inside a container replaced: the `api` name, the
    listening port, the frontend root and the /tmp paths."""
    text = (
        WEB_CONF.read_text()
        .replace("server api:8000", f"server {upstream}")
        .replace("listen 8080;", f"listen 127.0.0.1:{port};")
        .replace("root /usr/share/nginx/html;", f"root {root / 'dist'};")
        .replace("pid /tmp/nginx.pid;", f"pid {root / 'run' / 'nginx.pid'};")
        .replace("/tmp/nginx-", f"{root / 'run'}/")
        .replace("access_log /dev/stdout", f"access_log {root / 'run' / 'access.log'}")
        .replace("error_log /dev/stderr", f"error_log {root / 'run' / 'error.log'}")
    )
    directives = "\n".join(line.split("#")[0] for line in text.splitlines())
    assert "api:8000" not in directives and " /tmp/nginx" not in directives
    conf = root / "web.conf"
    conf.write_text(text)
    return conf


@pytest.fixture
def web(workdir: Path) -> Iterator[tuple[httpx.Client, Upstream]]:  # noqa: F811
    upstream = start_upstream("api", workdir)
    port = free_port()
    proc = subprocess.Popen(
        nginx_command(local_copy(workdir, upstream.address, port), workdir),
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "nginx.err").open("w"),
        **unprivileged(),
    )
    try:

        def up() -> bool:
            assert proc.poll() is None, (workdir / "nginx.err").read_text()
            return accepting(port)

        wait_until(up, "nginx to listen")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as c:
            yield c, upstream
    finally:
        stop(proc)
        stop(upstream.proc)


@needs_nginx
def test_web_serves_the_frontend_proxies_the_api_and_hides_metrics(
    web: tuple[httpx.Client, Upstream],
) -> None:
    client, upstream = web
    page = client.get("/watchlist")  # a client-side route: the SPA fallback
    assert page.status_code == 200 and "stockdash nginx test" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    api = client.get("/api/v1/stocks/search?q=AA")
    assert api.status_code == 200 and api.json()["path"] == "/api/v1/stocks/search?q=AA"
    assert client.get("/readyz").json()["path"] == "/readyz"
    assert client.get("/metrics").status_code == 404
    assert "GET /metrics" not in upstream.requests()
