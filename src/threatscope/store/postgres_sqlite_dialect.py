"""What `PostgresWriter.analytics()` hands to code above the store that still reads with SQLite
SQL inside an import (actors/cves.py derives the actor -> CVE links that way). It goes once that
code calls named store methods (issue 13, item 2)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.types.string import TextLoader

__all__ = ["SqliteDialectReader"]

# `json LIKE '%CVE-%'`: SQLite compares the stored JSON text; jsonb must be cast to compare.
_JSON_LIKE = re.compile(r"\b((?:\w+\.)?json) LIKE\b")


class SqliteDialectReader:
    """A read view of a write transaction that takes the SQLite SQL code above the store still
    sends (`?` placeholders, `json LIKE`), and returns the object JSON as text as SQLite's `json`
    column does."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        cursor = self._conn.cursor()
        cursor.adapters.register_loader("jsonb", TextLoader)
        sql = _JSON_LIKE.sub(r"\1::text LIKE", sql)
        if params:
            cursor.execute(sql.replace("%", "%%").replace("?", "%s"), list(params))
        else:
            cursor.execute(sql)
        return cursor
