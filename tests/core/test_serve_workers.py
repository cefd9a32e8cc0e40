"""Process roles refuse configurations that would silently split shared state."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import free_port

CLI = [sys.executable, "-m", "stockdash.cli"]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    prefix = f"stockdash-workers-{uuid.uuid4().hex[:8]}"
    return {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        "ENVIRONMENT": "test",
        "JWT_SECRET_KEY": "workers-test-secret-" + "x" * 32,
        "REFRESH_INTERVAL_SECONDS": "0",
        "WARM_ANALYSIS_CONTEXT": "false",
        "REDIS_KEY_PREFIX": f"{prefix}:",
        "RATE_LIMIT_KEY_PREFIX": f"{prefix}-rl",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def test_several_server_processes_without_shared_state_are_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CLI, "serve", "--workers", "2", "--port", str(free_port())],
        env=_env(tmp_path, REDIS_URL="", BROKER_URL=""),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--workers 2 needs REDIS_URL and BROKER_URL" in done.stderr


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (("worker",), {"BROKER_URL": ""}, 2, "`stockdash worker` needs BROKER_URL"),
        (("scheduler",), {"BROKER_URL": ""}, 2, "`stockdash scheduler` needs BROKER_URL"),
        (
            ("scheduler",),
            {"BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/", "REDIS_URL": ""},
            2,
            "`stockdash scheduler` needs REDIS_URL",
        ),
        (
            ("worker",),
            {"BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/", "STOCKDASH_ROLE": "scheduler"},
            2,
            "asked to be both `scheduler` (STOCKDASH_ROLE) and `worker`",
        ),
        (
            ("worker",),
            {
                "BROKER_URL": "amqp://guest:guest@127.0.0.1:1/",
                "BROKER_CONNECT_TIMEOUT_SECONDS": "2",
            },
            3,
            "cannot reach the broker at amqp://***@127.0.0.1:1/",
        ),
        (
            ("worker",),
            {"BROKER_URL": "redis://127.0.0.1:1/0", "BROKER_CONNECT_TIMEOUT_SECONDS": "2"},
            3,
            "cannot reach the broker at redis://127.0.0.1:1/0",
        ),
        (("worker",), {"BROKER_URL": "kafka://somewhere"}, 1, "BROKER_URL must start with"),
    ],
)
def test_a_role_with_bad_configuration_fails_fast_and_says_why(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], code: int, message: str
) -> None:
    done = _run(tmp_path, *args, **env)
    assert done.returncode == code, done.stderr
    assert message in " ".join(done.stderr.split()), done.stderr
