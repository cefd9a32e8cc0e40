"""`serve --port` points email links at the served port unless PUBLIC_BASE_URL is set."""

from __future__ import annotations

import os

import pytest

from stockdash.cli import _default_public_base_url, public_base_url_for
from stockdash.core.config import Settings, get_settings


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
        ("0.0.0.0", 9000, "http://127.0.0.1:9000"),
        ("example.test", 80, "http://example.test:80"),
        ("::1", 8000, "http://[::1]:8000"),
    ],
)
def test_public_base_url_for(host: str, port: int, url: str) -> None:
    assert public_base_url_for(host, port) == url


def test_serve_port_becomes_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    # setenv first records the original state, so the value serve writes is undone too.
    monkeypatch.setenv("PUBLIC_BASE_URL", "unset")
    monkeypatch.delenv("PUBLIC_BASE_URL")
    settings = Settings(_env_file=None)
    _default_public_base_url(settings, "127.0.0.1", 8765)
    assert settings.public_base_url == "http://127.0.0.1:8765"
    # The app factory (in every uvicorn process) reads it from the environment.
    assert os.environ["PUBLIC_BASE_URL"] == "http://127.0.0.1:8765"
    assert get_settings().public_base_url == "http://127.0.0.1:8765"
    get_settings.cache_clear()


def test_configured_public_base_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://stocks.example.test")
    settings = Settings(_env_file=None)
    _default_public_base_url(settings, "127.0.0.1", 8765)
    assert settings.public_base_url == "https://stocks.example.test"
    assert os.environ["PUBLIC_BASE_URL"] == "https://stocks.example.test"
