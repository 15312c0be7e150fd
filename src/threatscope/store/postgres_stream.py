"""Reading many rows from PostgreSQL a page at a time, for the store, its writer and the
queries they answer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

__all__ = ["stream"]

_FETCH = 2_000  # rows per round trip


def stream(
    conn: psycopg.Connection[Any],
    name: str,
    sql: str,
    params: Sequence[Any] | None,
    hold: bool,
) -> Iterator[tuple[Any, ...]]:
    """The rows of `sql` through a server-side cursor, a page at a time. `hold`: the cursor
    outlives its (autocommit) transaction, the result kept on the server until read. `params`
    None: `sql` is taken as written (a `%` in it is no placeholder)."""
    with conn.cursor(name=name, withhold=hold) as cursor:
        cursor.itersize = _FETCH
        cursor.execute(sql, params)
        yield from cursor
