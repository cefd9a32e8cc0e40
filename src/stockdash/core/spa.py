"""Serve the built frontend at / with a fallback to index.html for client-side routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

# First path segments owned by the backend: never answered with the SPA.
RESERVED_SEGMENTS = frozenset(
    {"api", "docs", "redoc", "openapi.json", "metrics", "healthz", "readyz"}
)

# src/stockdash/core/spa.py -> the checkout's root (an editable install runs from the checkout).
CHECKOUT_DIST = Path(__file__).resolve().parents[3] / "frontend" / "dist"


def is_reserved(path: str) -> bool:
    """Whether a request path (without the leading /) belongs to the backend."""
    return path.split("/", 1)[0] in RESERVED_SEGMENTS


def mount_frontend(app: FastAPI, dist: Path | None) -> None:
    """Serve files from dist (default: the checkout's frontend/dist, where `make frontend`
    builds), and index.html for any other non-API GET; no-op when not built."""
    root = (dist or CHECKOUT_DIST).resolve()
    if not (root / "index.html").is_file():
        return

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str) -> Response:
        if is_reserved(path):
            raise StarletteHTTPException(status_code=404, detail="Not found.")
        candidate = (root / path).resolve()
        if not candidate.is_relative_to(root):
            # ../ (or an absolute path) escaping the build directory.
            raise StarletteHTTPException(status_code=404, detail="Not found.")
        if path and candidate.is_file():
            immutable = path.startswith("assets/")
            cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
            return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})
