"""The bare FastAPI app bench/http.py measures stockdash against: one tiny JSON route."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    """The smallest JSON response FastAPI can give."""
    return {"hello": "world"}
