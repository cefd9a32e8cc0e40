"""A MongoDB wire-protocol server for the tests: mongoeco in its own Python 3.13 venv.

`MONGODB_TEST_URL` (a real server, ideally a single-node replica set) replaces it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

ROOT = Path(__file__).resolve().parents[1]
SERVER_PYTHON = ROOT / ".mongo-venv" / "bin" / "python"
SERVER_SCRIPT = ROOT / "scripts" / "mongo_test_server.py"
MONGODB_TEST_URL = os.environ.get("MONGODB_TEST_URL", "")
# mongoeco runs isolated transactions but its `hello` names no replica set, so it is declared;
# a real server says for itself whether it is a replica set.
TRANSACTIONS = "auto" if MONGODB_TEST_URL else "on"
START_TIMEOUT_SECONDS = 60.0


def available() -> bool:
    """Whether a server can be had: MONGODB_TEST_URL, or the venv `make mongo-server` builds."""
    return bool(MONGODB_TEST_URL) or SERVER_PYTHON.exists()


def answers(url: str, timeout_ms: int = 500) -> bool:
    """Whether a MongoDB server at `url` answers a ping."""
    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
    )
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


@contextmanager
def mongo_server(port: int, path: Path | None = None) -> Iterator[str]:
    """Run the test server on `port` (in memory, or on-disk at `path`) until the block ends."""
    url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    args = [str(SERVER_PYTHON), str(SERVER_SCRIPT), "--port", str(port)]
    if path is not None:
        args += ["--path", str(path)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=sys.stderr)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not answers(url):
            if process.poll() is not None:
                raise RuntimeError(f"the MongoDB test server exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the MongoDB test server did not answer on port {port}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
