"""The logs of a real `stockdash serve`: every line JSON, every line of a request carrying that
request's id (access line included), and no password, token or API key anywhere in the logs of
a full scripted session."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port

PASSWORD = "correct-horse-battery-9"
NEW_PASSWORD = "staple-horse-battery-10"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """A real server on SQLite (its own data dir) whose stderr goes to a file."""
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "JWT_SECRET_KEY": "log-test-secret-key-that-is-long-enough-0123",
        "DATABASE_URL": "",
        "DATA_DIR": str(tmp_path / "data"),
        "FRONTEND_DIST": str(tmp_path / "none"),
        "BCRYPT_ROUNDS": "4",
        "REFRESH_INTERVAL_SECONDS": "0",
        "WARM_ANALYSIS_CONTEXT": "false",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "REDIS_URL": "",
        "BROKER_URL": "",
        "SENTRY_DSN": "",
    }
    exe = Path(sys.executable).with_name("stockdash")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, proc)
            yield base, log, tmp_path / "data"
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def _wait_ready(base: str, proc: subprocess.Popen[Any]) -> None:
    # Generous: a loaded CI machine can take a minute to import and migrate.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not become ready")


def _session(base: str, data_dir: Path) -> tuple[str, list[str]]:
    """A full scripted session; returns one request's id and every secret it handled."""
    secrets: list[str] = [PASSWORD, NEW_PASSWORD]
    with httpx.Client(base_url=base, timeout=20) as c:
        body = {"username": "logan", "email": "logan@example.com", "password": PASSWORD}
        assert c.post("/api/v1/auth/register", json=body).status_code == 201
        login = c.post("/api/v1/auth/login", data={"username": "logan", "password": PASSWORD})
        tokens = login.json()
        secrets += [tokens["access_token"], tokens["refresh_token"]]
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        # A request with a known id: the app keeps a valid incoming X-Request-ID.
        request_id = uuid.uuid4().hex
        added = c.post(
            "/api/v1/watchlist",
            json={"symbol": "AAPL"},
            headers={**auth, "X-Request-ID": request_id},
        )
        assert added.status_code == 201 and added.headers["X-Request-ID"] == request_id
        key = c.post("/api/v1/api-keys", json={"name": "sheet"}, headers=auth).json()["key"]
        secrets.append(key)
        assert c.get("/api/v1/watchlist", headers={"X-API-Key": key}).status_code == 200
        assert c.get("/api/v1/watchlist", headers={"X-API-Key": key + "x"}).status_code == 401
        refreshed = c.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        secrets += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]
        changed = c.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"},
        )
        assert changed.status_code in (200, 204), changed.text
        reset = c.post("/api/v1/auth/password-reset/request", json={"email": "logan@example.com"})
        assert reset.status_code in (200, 202)
        assert (
            c.post(
                "/api/v1/auth/login", data={"username": "logan", "password": "nope-12345"}
            ).status_code
            == 401
        )
    secrets += _emailed_tokens(data_dir / "outbox", expected=2)
    return request_id, secrets


def _emailed_tokens(outbox: Path, expected: int) -> list[str]:
    """The single-use tokens in the emailed links (verification, reset), once they are written."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        texts = (
            [p.read_text(errors="replace") for p in outbox.glob("*.eml")] if outbox.exists() else []
        )
        found = [
            t for text in texts for t in re.findall(r"token=([\w.~-]+)", text.replace("=\n", ""))
        ]
        if len(found) >= expected:
            return found
        time.sleep(0.1)
    raise AssertionError(f"expected {expected} emailed tokens in {outbox}")


# /readyz (until ready: one or more) is not counted; the session makes these requests.
SESSION_REQUESTS = 10


def _settled_records(log: Path, access_lines: int) -> list[dict[str, Any]]:
    """The log once the session's access lines are all written (a line is written just after
    its response is sent, so it may trail the client by a moment)."""
    deadline = time.monotonic() + 15
    while True:
        records = _records(log)
        written = [r for r in records if r.get("logger") == "stockdash.access"]
        if len([r for r in written if r["path"] != "/readyz"]) >= access_lines:
            return records
        assert time.monotonic() < deadline, f"{len(written)} access lines in the log"
        time.sleep(0.05)


def _records(log: Path) -> list[dict[str, Any]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}")
    return records


def test_request_lines_are_json_with_one_request_id_and_no_secrets(
    server: tuple[str, Path, Path],
) -> None:
    base, log, data_dir = server
    request_id, secrets = _session(base, data_dir)
    records = _settled_records(log, access_lines=SESSION_REQUESTS)

    mine = [r for r in records if r.get("request_id") == request_id]
    access = [r for r in mine if r.get("logger") == "stockdash.access"]
    assert len(access) == 1 and access[0]["path"] == "/api/v1/watchlist"
    assert access[0]["status"] == 201 and access[0]["method"] == "POST"
    # The warm-up job the add queued ran under the same request id.
    assert any(r.get("logger", "").startswith("taskiq") for r in mine), mine
    # Every request got an access line with its own id.
    paths = [r["path"] for r in records if r.get("logger") == "stockdash.access"]
    assert paths.count("/api/v1/auth/login") == 2
    ids = [r["request_id"] for r in records if r.get("logger") == "stockdash.access"]
    assert len(set(ids)) == len(ids)

    text = log.read_text()
    leaked = [s for s in secrets if s in text]
    assert not leaked, f"{len(leaked)} secrets appear in the logs"
    # The outbox sender logs where it saved the email; outside development, not its text.
    assert "no SMTP configured: saved to" in text and "verify-email?token=" not in text
