"""Render the bundled nginx config (core/nginx.conf.template) for a set of API instances.

    python -m stockdash.core.nginx --listen 8080 --upstream 127.0.0.1:8001 \
        --upstream 127.0.0.1:8002 --frontend-dist /srv/stockdash/frontend \
        --runtime-dir /var/lib/stockdash/nginx -o nginx.conf
    nginx -e stderr -p /var/lib/stockdash/nginx -c "$PWD/nginx.conf"

Placeholders are @@NAME@@ and filled with str.replace, so nginx's own $variables never clash.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from stockdash.core.middleware import CSP

TEMPLATE_NAME = "nginx.conf.template"
PLACEHOLDER = re.compile(r"@@[A-Z_]+@@")
# host:port with a hostname, IPv4 address or [IPv6] address; nothing nginx would parse further.
UPSTREAM = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$"
)
# Characters that would end or change an unquoted nginx argument ($ starts a variable in root).
UNSAFE_IN_PATH = re.compile(r"[\s;{}\"'$\\#]")
SERVER_OPTIONS = "max_fails=3 fail_timeout=10s"


def default_template() -> str:
    """The template shipped inside the package."""
    return resources.files("stockdash.core").joinpath(TEMPLATE_NAME).read_text(encoding="utf-8")


def render_nginx_conf(
    *,
    listen: int,
    upstreams: list[str],
    frontend_dist: Path,
    runtime_dir: Path,
    template: Path | None = None,
    worker_processes: int | str = "auto",
) -> str:
    """The nginx config: 127.0.0.1:listen in front of `upstreams` (host:port each), serving
    `frontend_dist`, with pid, logs and temp files under `runtime_dir`."""
    if not 1 <= listen <= 65535:
        raise ValueError(f"listen port out of range: {listen}")
    if not upstreams:
        raise ValueError("at least one upstream host:port is needed")
    for upstream in upstreams:
        match = UPSTREAM.match(upstream)
        if match is None or not 1 <= int(match.group(1)) <= 65535:
            raise ValueError(f"not a host:port upstream: {upstream!r}")
    if worker_processes != "auto" and not (
        isinstance(worker_processes, int) and worker_processes >= 1
    ):
        raise ValueError(f"worker_processes must be 'auto' or >= 1: {worker_processes!r}")
    text = template.read_text(encoding="utf-8") if template else default_template()
    values = {
        "LISTEN": str(listen),
        "UPSTREAM_SERVERS": "\n".join(
            f"        server {upstream} {SERVER_OPTIONS};" for upstream in upstreams
        ),
        "FRONTEND_DIST": _path(frontend_dist, "frontend_dist"),
        "RUNTIME_DIR": _path(runtime_dir, "runtime_dir"),
        "WORKER_PROCESSES": str(worker_processes),
        "CONTENT_SECURITY_POLICY": CSP,
    }
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    leftover = PLACEHOLDER.search(text)
    if leftover:
        raise ValueError(f"template placeholder without a value: {leftover.group()}")
    return text


def _path(path: Path, what: str) -> str:
    text = str(path.absolute()).rstrip("/") or "/"
    if UNSAFE_IN_PATH.search(text):
        raise ValueError(f"{what} contains a character nginx would misread: {text!r}")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Print the rendered config, headed by the command that regenerates it."""
    parser = argparse.ArgumentParser(
        prog="python -m stockdash.core.nginx",
        description="Render the bundled nginx config for a set of `stockdash serve` instances.",
    )
    parser.add_argument("--listen", type=int, default=8080, help="port on 127.0.0.1")
    parser.add_argument(
        "--upstream",
        action="append",
        required=True,
        metavar="HOST:PORT",
        help="a `stockdash serve` instance (repeat for each)",
    )
    parser.add_argument("--frontend-dist", type=Path, required=True, help="the built frontend")
    parser.add_argument(
        "--runtime-dir", type=Path, required=True, help="pid, logs and temp files (writable)"
    )
    parser.add_argument("--worker-processes", default="auto", help="'auto' or a count")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of to stdout")
    args = parser.parse_args(argv)
    workers: int | str = args.worker_processes
    if workers != "auto":
        try:
            workers = int(workers)
        except ValueError:
            parser.error("--worker-processes must be 'auto' or a number")
    try:
        config = render_nginx_conf(
            listen=args.listen,
            upstreams=args.upstream,
            frontend_dist=args.frontend_dist,
            runtime_dir=args.runtime_dir,
            worker_processes=workers,
        )
    except ValueError as exc:
        parser.error(str(exc))
    command = shlex.join(
        ["python", "-m", "stockdash.core.nginx", *(sys.argv[1:] if argv is None else argv)]
    )
    text = (
        f"# GENERATED by `python -m stockdash.core.nginx` from src/stockdash/core/{TEMPLATE_NAME};"
        f" do not edit.\n# Regenerate (from the checkout's root): {command}\n\n{config}"
    )
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
