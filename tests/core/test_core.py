"""Settings, health probes, error shape, persistence across restarts, the CLI."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from typer.testing import CliRunner

from stockdash.app import create_app
from stockdash.cli import app as cli_app
from stockdash.core.config import DEFAULT_JWT_SECRET, InsecureConfigError, Settings
from stockdash.market.snapshot.provider import SnapshotProvider
from tests.conftest import BACKEND, assert_error, free_port


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize("environment", ["test", "staging", "production"])
@pytest.mark.parametrize("secret", [None, "", "   ", DEFAULT_JWT_SECRET, "x" * 31])
def test_missing_blank_default_or_short_secrets_are_refused_outside_development(
    environment: str, secret: str | None
) -> None:
    values = {} if secret is None else {"jwt_secret_key": secret}
    with pytest.raises(InsecureConfigError, match="JWT_SECRET_KEY"):
        _settings(environment=environment, **values).check_secure()
    _settings(environment=environment, jwt_secret_key="x" * 32).check_secure()


@pytest.mark.parametrize("secret", ["", "  \t"])
def test_a_blank_secret_means_unset_in_development(
    secret: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`JWT_SECRET_KEY=` (as .env.example has it) falls back to the dev secret, loudly."""
    monkeypatch.setenv("JWT_SECRET_KEY", secret)
    settings = _settings(environment="development")
    assert settings.jwt_secret_key == DEFAULT_JWT_SECRET
    with caplog.at_level(logging.WARNING, logger="stockdash.core.config"):
        settings.check_secure()
    assert "JWT_SECRET_KEY is not set" in caplog.text


async def test_logins_work_in_development_with_a_blank_secret(
    settings: Settings, snapshot: SnapshotProvider
) -> None:
    dev = settings.model_copy(
        update={
            "environment": "development",
            "jwt_secret_key": _settings(jwt_secret_key="").jwt_secret_key,
        }
    )
    app = create_app(dev, snapshot=snapshot)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        creds = {
            "username": "devuser",
            "email": "dev@example.com",
            "password": "ochre-walnut-ferry-41",
        }
        assert (await c.post("/api/v1/auth/register", json=creds)).status_code == 201
        r = await c.post(
            "/api/v1/auth/login", data={"username": "devuser", "password": "ochre-walnut-ferry-41"}
        )
        assert r.status_code == 200, r.text
        me = await c.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )
        assert me.status_code == 200, me.text


def test_settings_cover_the_seed_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "MONGODB_URL": "mongodb://db:27017",
        "DATABASE_NAME": "x",
        "JWT_SECRET_KEY": "k" * 40,
        "JWT_ALGORITHM": "HS512",
        "JWT_EXPIRATION_HOURS": "2",
        "OPENAI_API_KEY": "o",
        "GROQ_API_KEY": "g",
        "POLYGON_API_KEY": "p",
        "MAX_WORKERS": "8",
        "REDIS_URL": "redis://r:6379",
        "CACHE_TTL": "60",
        "FEATURE_USER_REGISTRATION": "false",
        "DATABASE_URL": "postgresql://u@h/db",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (s.mongodb_url, s.database_name, s.jwt_algorithm, s.jwt_expiration_hours) == (
        "mongodb://db:27017",
        "x",
        "HS512",
        2,
    )
    assert (s.openai_api_key, s.groq_api_key, s.polygon_api_key, s.max_workers) == (
        "o",
        "g",
        "p",
        8,
    )
    assert (s.redis_url, s.cache_ttl, s.feature_user_registration) == ("redis://r:6379", 60, False)
    assert s.resolved_database_url == "postgresql+asyncpg://u@h/db"


def test_env_example_documents_every_setting() -> None:
    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    for name in Settings.model_fields:
        assert name.upper() in text, f"{name.upper()} missing from .env.example"


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    assert (await client.get("/readyz")).status_code == 200


async def test_ready_is_503_when_the_database_is_unreachable(
    tmp_path: Path, snapshot: SnapshotProvider
) -> None:
    settings = _settings(
        environment="test",
        jwt_secret_key="x" * 40,
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
    )
    app = create_app(settings, snapshot=snapshot)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
    ):
        r = await c.get("/readyz")
    assert_error(r, 503, "database_unavailable")


async def test_ready_answers_503_quickly_when_the_database_never_answers(
    snapshot: SnapshotProvider,
) -> None:
    """A server that accepts connections but never speaks: the probe gives up after its timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes handshakes; nobody ever reads or answers
        port = silent.getsockname()[1]
        settings = _settings(
            environment="test",
            jwt_secret_key="x" * 40,
            database_url=f"postgresql+asyncpg://nobody@127.0.0.1:{port}/none",
            readiness_timeout_seconds=0.5,
        )
        app = create_app(settings, snapshot=snapshot)
        async with (
            LifespanManager(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            started = time.monotonic()
            # Without the probe's own timeout this would wait for asyncpg's (60 s).
            async with asyncio.timeout(20):
                r = await c.get("/readyz")
            elapsed = time.monotonic() - started
    assert_error(r, 503, "database_unavailable")
    assert elapsed < 5, elapsed


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/nope"), 404, "not_found")
    assert_error(await client.patch("/api/v1/watchlist"), 405, "method_not_allowed")
    r = await client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(r, 422, "validation_error")


async def test_data_survives_a_restart(settings: Settings, snapshot: SnapshotProvider) -> None:
    async def run(step: str) -> int:
        app = create_app(settings, snapshot=snapshot)
        async with (
            LifespanManager(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c,
        ):
            if step == "write":
                registered = await c.post(
                    "/api/v1/auth/register",
                    json={
                        "username": "keeper",
                        "email": "k@example.com",
                        "password": "ochre-walnut-ferry-41",
                    },
                )
                assert registered.status_code == 201, registered.text
            login = await c.post(
                "/api/v1/auth/login",
                data={"username": "keeper", "password": "ochre-walnut-ferry-41"},
            )
            assert login.status_code == 200, login.text
            h = {"Authorization": f"Bearer {login.json()['access_token']}"}
            if step == "write":
                added = await c.post("/api/v1/watchlist", json={"symbol": "KO"}, headers=h)
                assert added.status_code == 201, added.text
            listed = await c.get("/api/v1/watchlist", headers=h)
            assert listed.status_code == 200, listed.text
            assert [s["symbol"] for s in listed.json()["data"]] == ["KO"]
            return int(listed.json()["count"])

    assert await run("write") == 1
    assert await run("read") == 1


def test_cli_help_on_every_command() -> None:
    runner = CliRunner()
    top = runner.invoke(cli_app, ["--help"])
    assert top.exit_code == 0
    for command in ("serve", "migrate", "create-admin", "snapshot", "backtest"):
        assert command in top.output
        result = runner.invoke(cli_app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, command


@pytest.mark.skipif(BACKEND != "sqlite", reason="process-level check of the embedded default")
def test_serve_migrates_and_create_admin_works(tmp_path: Path) -> None:
    """A real `stockdash serve` process on a fresh SQLite file, then a restart keeps the data."""
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "development",
        "REFRESH_INTERVAL_SECONDS": "0",
    }
    env.pop("DATABASE_URL", None)
    exe = [sys.executable, "-m", "stockdash.cli"]
    created = subprocess.run(
        [
            *exe,
            "create-admin",
            "--email",
            "root@example.com",
            "--username",
            "root",
            "--password",
            "ochre-walnut-ferry-45",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    for _ in range(2):
        port = free_port()
        proc = subprocess.Popen(
            [*exe, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            r = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/auth/login",
                data={"username": "root", "password": "ochre-walnut-ferry-45"},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            me = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/users/me",
                headers={"Authorization": f"Bearer {r.json()['access_token']}"},
                timeout=10,
            )
            assert me.json()["role"] == "admin"
            assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=10).status_code == 200
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert (tmp_path / "stockdash.db").is_file()
