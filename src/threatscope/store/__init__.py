"""Persistence behind one interface: SQLite now, PostgreSQL later behind the same protocol."""

from __future__ import annotations

from pathlib import Path

from threatscope.errors import ConfigError
from threatscope.store.base import ActorRow, ImportReport, Store, StoredObject, Writer
from threatscope.store.sqlite import SQLiteStore

__all__ = [
    "ActorRow",
    "ImportReport",
    "SQLiteStore",
    "Store",
    "StoredObject",
    "Writer",
    "open_store",
]


def open_store(location: str | Path, create: bool = True) -> Store:
    """Open the knowledge base at a file path, creating it unless `create` is False."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        raise ConfigError("the PostgreSQL backend is not available yet; use a SQLite file path")
    return SQLiteStore(text, create=create)
