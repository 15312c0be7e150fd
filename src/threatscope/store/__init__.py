"""Persistence behind one interface: SQLite (embedded, the default) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from threatscope.store.base import ActorRow, ImportReport, Store, StoredObject, Writer
from threatscope.store.location import postgres_url, sqlite_path
from threatscope.store.queries import Analytics, IncidentSelection, VictimFilter
from threatscope.store.sqlite import SQLiteStore

__all__ = [
    "ActorRow",
    "Analytics",
    "ImportReport",
    "IncidentSelection",
    "SQLiteStore",
    "Store",
    "StoredObject",
    "VictimFilter",
    "Writer",
    "open_store",
    "postgres_url",
    "sqlite_path",
]


def open_store(location: str | Path, create: bool = True, read_only: bool = False) -> Store:
    """Open the knowledge base at a file path or database URL (see `store.location`), creating
    it unless `create` is False; `read_only` never writes (a read-only directory works). A URL
    no backend serves is a ConfigError, nothing created."""
    url = postgres_url(location)
    if url is not None:
        # Imported here: SQLite-only use never loads psycopg.
        from threatscope.store.postgres import PostgresStore

        return PostgresStore(url, create=create, read_only=read_only)
    return SQLiteStore(sqlite_path(location), create=create, read_only=read_only)
