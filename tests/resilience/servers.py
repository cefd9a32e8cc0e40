"""Real servers the resilience tests break on purpose: a private redis-server on a spare port
and a TCP proxy in front of the shared PostgreSQL."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import free_port

DEADLINE_SECONDS = 10.0


def wait_until_listening(port: int, *, deadline: float = DEADLINE_SECONDS) -> None:
    """Poll until something accepts on the loopback port, or fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port} after {deadline} s")


class RedisServer:
    """A redis-server of one test's own that the test can kill, restart and pause."""

    def __init__(self, tmp_path: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (run `make services`)")
        self._binary = binary
        self._dir = tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL (valid whether or not it is running)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) the server on its port and wait until it accepts connections."""
        self._proc = subprocess.Popen(
            [*self._command(), "--dir", str(self._dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_listening(self.port)

    def _command(self) -> list[str]:
        return [self._binary, "--port", str(self.port), "--save", "", "--appendonly", "no"]

    def kill(self) -> None:
        """SIGKILL the server: connections drop, new ones are refused."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=DEADLINE_SECONDS)
            self._proc = None

    def pause(self, seconds: float) -> None:
        """CLIENT PAUSE ALL: the server accepts connections but answers nothing for `seconds`."""
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "CLIENT", "PAUSE", str(int(seconds * 1000)), "ALL"],
            check=True,
            capture_output=True,
            timeout=DEADLINE_SECONDS,
        )


class TcpProxy:
    """A TCP proxy in front of a real server that a test can stop and black-hole.

    `forward`: bytes flow both ways. `refuse`: every connection is dropped and new ones are
    closed at once (the server is stopped). `blackhole`: connections stay open but nothing
    reaches either side (a dead host or a network partition), so only timeouts end a request.
    """

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.mode = "forward"
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def set_mode(self, mode: str) -> None:
        """Switch mode; leaving `blackhole` or entering `refuse` drops every open connection."""
        self.mode = mode
        if mode != "blackhole":
            self._drop_all()

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._listener.close()
        self._drop_all()

    def _drop_all(self) -> None:
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.mode == "refuse":
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with self._lock:
            self._open.append(client)
        if self.mode == "blackhole":
            self._pump(client, None)
            return
        try:
            upstream = socket.create_connection(self._target, timeout=DEADLINE_SECONDS)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._open.append(upstream)
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

    def _pump(self, source: socket.socket, sink: socket.socket | None) -> None:
        """Copy source to sink until either closes; in blackhole mode swallow the bytes."""
        try:
            while data := source.recv(65536):
                if sink is not None and self.mode == "forward":
                    sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
