"""Property-based run of schemathesis over the whole OpenAPI schema against a real server process.

Every operation is fuzzed as a signed-in user, the admin routes as an administrator, and the
routes that accept read-only API keys once more with only an `X-API-Key`. Beyond "no 5xx and
everything as documented", the run must prove its credentials worked: core operations of each
identity have to answer 2xx at least once (with a broken token they would all be 401).
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.checks import ignored_auth

from tests.served import CLI, own_storage, served_env, serving

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
PASSWORD = "fuzz-ochre-walnut-ferry-1"

# Operations that must have answered 2xx at least once for each identity.
MUST_SUCCEED = {
    "user": {
        "GET /api/v1/users/me",
        "GET /api/v1/watchlist",
        "GET /api/v1/api-keys",
        "POST /api/v1/api-keys",
        "GET /api/v1/subscriptions/me/history",
        "GET /api/v1/dashboard",
    },
    "admin": {"GET /api/v1/admin/users", "GET /api/v1/admin/stats", "GET /api/v1/admin/audit"},
    "api-key": {"GET /api/v1/watchlist", "GET /api/v1/dashboard"},
}


@dataclass
class FuzzServer:
    """A running `stockdash serve`, the credentials of each identity and the server's log."""

    base: str
    log: Path
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def log_tail(self, lines: int = 200) -> str:
        """The end of the server's output."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    """A real server on its own database (a SQLite file, or a PostgreSQL schema dropped
    afterwards) and, on the PostgreSQL pass, its own Redis keys (deleted afterwards)."""
    data_dir = tmp_path_factory.mktemp("fuzz")
    log = data_dir / "server.log"
    # The fuzzer sends thousands of requests per identity from one IP.
    with own_storage(data_dir, "fuzz") as storage:
        env = {**served_env(data_dir, "fuzz", rate_limit="1000000/hour"), **storage}
        admin = ["--email", "root@example.com", "--username", "fuzzadmin", "--password", PASSWORD]
        subprocess.run(
            [*CLI, "create-admin", *admin], env=env, check=True, capture_output=True, timeout=120
        )
        with serving(env, log) as base:
            server = FuzzServer(base=base, log=log)
            _sign_in_everyone(server)
            yield server


def _login(server: FuzzServer, username: str) -> dict[str, str]:
    r = httpx.post(
        f"{server.base}/api/v1/auth/login", data={"username": username, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _sign_in_everyone(server: FuzzServer) -> None:
    """A user for the ordinary routes; a second user whose read-only key the fuzzer cannot revoke."""
    for name in ("fuzzer", "fuzzreader"):
        creds = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        r = httpx.post(f"{server.base}/api/v1/auth/register", json=creds)
        assert r.status_code == 201, r.text
    server.headers["user"] = _login(server, "fuzzer")
    server.headers["admin"] = _login(server, "fuzzadmin")
    reader = _login(server, "fuzzreader")
    r = httpx.post(f"{server.base}/api/v1/api-keys", json={"name": "fuzz"}, headers=reader)
    assert r.status_code == 201, r.text
    server.headers["api-key"] = {"X-API-Key": r.json()["key"]}


def _plan(spec: dict[str, Any], operations: dict[str, Any]) -> list[tuple[str, Any]]:
    """(identity, operation) pairs: user routes first, API-key reads, admin routes last.

    Admin calls go last because they may deactivate the other fuzz accounts.
    """
    api_key_reads = {
        f"GET {path}"
        for path, item in spec["paths"].items()
        if any("APIKeyHeader" in s for s in item.get("get", {}).get("security", []))
    }
    admin = {label for label in operations if label.split(" ", 1)[1].startswith("/api/v1/admin")}
    plan = [("user", op) for label, op in operations.items() if label not in admin]
    plan += [("api-key", operations[label]) for label in sorted(api_key_reads)]
    plan += [("admin", operations[label]) for label in sorted(admin)]
    return plan


def test_api_conforms_and_never_500s(fuzz_server: FuzzServer) -> None:
    """Every generated request gets a documented answer, never a 5xx, and credentials work."""
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base}/openapi.json")
    spec = schema.raw_schema
    operations = {op.label: op for op in (r.ok() for r in schema.get_all_operations())}
    assert len(operations) >= 30
    statuses: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    try:
        for identity, operation in _plan(spec, operations):
            _fuzz(operation, fuzz_server, identity, statuses[identity, operation.label])
    except BaseException:
        print(f"--- server log (tail) ---\n{fuzz_server.log_tail()}")
        raise
    for (identity, label), seen in sorted(statuses.items()):
        print(f"{identity:8} {label:50} {dict(sorted(seen.items()))}")
    got_through = {
        identity: {
            label
            for (who, label), seen in statuses.items()
            if who == identity and any(200 <= status < 300 for status in seen)
        }
        for identity in MUST_SUCCEED
    }
    for identity, labels in MUST_SUCCEED.items():
        missing = labels - got_through[identity]
        report = {label: dict(statuses[identity, label]) for label in sorted(missing)}
        assert not missing, f"{identity} never got a 2xx from {report}\n{fuzz_server.log_tail()}"


def _fuzz(operation: Any, server: FuzzServer, identity: str, seen: Counter[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        # No shrinking: a failure is reported as found (with a curl line to replay it), so a
        # failing run stays as short as a passing one.
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        response = case.call_and_validate(
            base_url=server.base, headers=server.headers[identity], checks=CHECKS
        )
        seen[response.status_code] += 1

    run()
