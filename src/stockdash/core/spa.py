"""Serve the built frontend at / with a fallback to index.html for client-side routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

RESERVED_PREFIXES = ("api/", "docs", "redoc", "openapi.json", "metrics", "healthz", "readyz")


def default_dist() -> Path:
    """Where `make run` puts the built frontend (the repo's frontend/dist)."""
    return Path.cwd() / "frontend" / "dist"


def mount_frontend(app: FastAPI, dist: Path | None) -> None:
    """Serve files from dist, and index.html for any other non-API GET."""
    root = (dist or default_dist()).resolve()
    if not (root / "index.html").is_file():
        return

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str, request: Request) -> Response:
        if path.startswith(RESERVED_PREFIXES):
            raise StarletteHTTPException(status_code=404, detail="Not found.")
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            cache = (
                "public, max-age=31536000, immutable" if "/assets/" in f"/{path}" else "no-cache"
            )
            return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})
