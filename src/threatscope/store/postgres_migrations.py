"""Ordered schema migrations of the PostgreSQL knowledge base, beside SQLite's (migrations.py).

The version lives in the one row of `threatscope_schema`. Versions:

1. the first PostgreSQL schema (postgres_schema.sql): the tables of SQLite's version 4 plus
   `actor_cves`.
2. objects.tlp_rank and objects.date_added, indexed, as SQLite's version 5 (the TAXII server).

A later change appends a `Migration` (the same plain-data step as SQLite's) to MIGRATIONS and
updates postgres_schema.sql, which always creates the latest version directly. Opening an older
database applies the pending steps, then recomputes the derived tables if a step asks for it, all
in one transaction under the writers' lock (postgres.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from threatscope.store.migrations import TAXII_INDEXES, Migration
from threatscope.store.tlp_backfill import POSTGRES_BACKFILL

__all__ = ["FIRST", "LATEST", "MIGRATIONS", "apply", "pending"]

FIRST = 1
"""The version postgres_schema.sql wrote when it was first released."""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        2,
        "TLP rank and date added of every object, indexed (the TAXII server)",
        (
            "ALTER TABLE objects ADD COLUMN tlp_rank INTEGER NOT NULL DEFAULT 4",
            # Byte-wise, as every text column here: dates page in SQLite's order.
            "ALTER TABLE objects ADD COLUMN date_added TEXT COLLATE \"C\" NOT NULL DEFAULT ''",
            POSTGRES_BACKFILL,
            *TAXII_INDEXES,
        ),
    ),
)
LATEST = MIGRATIONS[-1].version if MIGRATIONS else FIRST


def pending(version: int, steps: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    """The steps, in order, that bring a database at `version` up to the last of `steps`."""
    return [step for step in steps if step.version > version]


def apply(cursor: Any, version: int, steps: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    """Run the steps after `version` on `cursor` (inside the caller's transaction) and record
    the version each reaches; returns the steps applied."""
    applied = pending(version, steps)
    for step in applied:
        for statement in step.statements:
            cursor.execute(statement)
        cursor.execute("UPDATE threatscope_schema SET version = %s", (step.version,))
    return applied
