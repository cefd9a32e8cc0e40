"""The contract suite calls every public method of every repository protocol a unit of work
offers (and of the job store), so each runs on every backend."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

import stockdash.storage.base as base

CONTRACT = Path(__file__).parent


def _protocols() -> dict[str, type]:
    """Each repository protocol by the unit-of-work property that offers it."""
    tree = ast.parse(Path(inspect.getfile(base)).read_text())
    where = {
        alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    unit = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "UnitOfWork")
    found: dict[str, type] = {}
    for node in unit.body:
        if isinstance(node, ast.FunctionDef) and isinstance(node.returns, ast.Name):
            name = node.returns.id
            if name in where and where[name].startswith("stockdash."):
                found[node.name] = getattr(importlib.import_module(where[name]), name)
    return found


def _methods(protocol: type) -> list[str]:
    """The protocol's own public methods."""
    return [n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_")]


def test_every_repository_method_is_called_by_the_contract_suite() -> None:
    source = "\n".join(
        p.read_text() for p in CONTRACT.glob("test_*.py") if p.name != Path(__file__).name
    )
    protocols = _protocols()
    assert len(protocols) >= 10  # users, watchlist, api keys, tokens, cache, alerts, admin…
    missing = [
        f"{prop}.{method}"
        for prop, protocol in protocols.items()
        for method in _methods(protocol)
        if not re.search(rf"\.{prop}\.{method}\(", source)
    ]
    missing += [
        f"job_store.{method}"
        for method in _methods(importlib.import_module("stockdash.jobs.store").JobStore)
        if not re.search(rf"\bjobs\.{method}\(", source)
    ]
    assert missing == []
