"""Serve mongoeco's MongoDB wire protocol on a TCP port (tests and local `stockdash serve` on MongoDB).

Runs in its own Python >= 3.13 venv (`make mongo-server`), not in the app's venv: mongoeco needs 3.13.
Usage: mongo_test_server.py --port PORT [--host HOST] [--path FILE.sqlite]  (no --path: in memory).
"""

from __future__ import annotations

import argparse
import asyncio
import signal


async def serve(host: str, port: int, path: str | None) -> None:
    """Start the wire server and run until SIGTERM/SIGINT."""
    from mongoeco.engines import MemoryEngine, SQLiteEngine
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

    engine = SQLiteEngine(path) if path else MemoryEngine()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncMongoEcoProxyServer(engine=engine, host=host, port=port) as server:
        print(f"mongoeco listening on {server.address.uri}", flush=True)
        await stop.wait()


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default=None, help="SQLite file for an on-disk store (default: memory)")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.path))


if __name__ == "__main__":
    main()
