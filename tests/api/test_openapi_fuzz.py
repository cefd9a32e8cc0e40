"""Property-based run of schemathesis over the whole OpenAPI schema against a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import BACKEND, PG_SCHEMA, RATE_LIMIT_NAMES

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A real `stockdash serve` on a free port with one signed-in user."""
    data_dir = tmp_path_factory.mktemp("fuzz")
    if BACKEND == "postgres":
        url = migrated_template
    else:
        path = data_dir / "fuzz.db"
        path.write_bytes(Path(migrated_template).read_bytes())
        url = f"sqlite+aiosqlite:///{path}"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATABASE_SCHEMA": PG_SCHEMA if BACKEND == "postgres" else "",
        "DATA_DIR": str(data_dir),
        "ENVIRONMENT": "development",
        "BCRYPT_ROUNDS": "4",
        "REFRESH_INTERVAL_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        # The fuzzer sends thousands of requests as one user from one IP.
        **{f"RATE_LIMIT_{name.upper()}": "1000000/hour" for name in RATE_LIMIT_NAMES},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "stockdash.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        creds = {"username": "fuzzer", "email": "fuzzer@example.com", "password": "fuzz-pass-1"}
        assert httpx.post(f"{base}/api/v1/auth/register", json=creds).status_code == 201
        token = httpx.post(
            f"{base}/api/v1/auth/login", data={"username": "fuzzer", "password": "fuzz-pass-1"}
        ).json()["access_token"]
        yield {"base": base, "headers": {"Authorization": f"Bearer {token}"}}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become ready")


def test_api_conforms_and_never_500s(server: dict[str, Any]) -> None:
    """Every generated request to every operation gets a documented answer and never a 5xx."""
    schema = schemathesis.openapi.from_url(f"{server['base']}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        _fuzz(operation, server)


def _fuzz(operation: Any, server: dict[str, Any]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=server["base"], headers=server["headers"], checks=CHECKS)

    run()
