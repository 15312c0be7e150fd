"""Ordered schema migrations of the PostgreSQL knowledge base, beside SQLite's (migrations.py).

The version lives in the one row of `threatscope_schema`. Versions:

1. the first PostgreSQL schema (postgres_schema.sql): the tables of SQLite's version 4 plus
   `actor_cves`.
2. objects.tlp_rank and objects.date_added, indexed, as SQLite's version 5 (the TAXII server).
3. user accounts: `users`, `api_tokens` (argon2 hashes only) and the `audit_log`.
4. TAXII state: `taxii_collections` and `taxii_resume`, as SQLite's version 7.

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

# Shared with postgres_schema.sql, which creates the same tables for a new knowledge base.
ACCESS_TABLES = (
    """CREATE TABLE IF NOT EXISTS users (
    name TEXT COLLATE "C" PRIMARY KEY,
    role TEXT COLLATE "C" NOT NULL,
    clearance TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    revoked TEXT COLLATE "C"
)""",
    """CREATE TABLE IF NOT EXISTS api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    prefix TEXT COLLATE "C" NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    last_used TEXT COLLATE "C",
    revoked TEXT COLLATE "C"
)""",
    "CREATE INDEX IF NOT EXISTS api_tokens_by_user ON api_tokens(username)",
    """CREATE TABLE IF NOT EXISTS audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C",
    remote TEXT COLLATE "C",
    detail JSONB NOT NULL DEFAULT '{}'
)""",
)

# Shared with postgres_schema.sql, which creates the same tables for a new knowledge base.
TAXII_STATE_TABLES = (
    """CREATE TABLE IF NOT EXISTS taxii_collections (
    id TEXT COLLATE "C" PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    filter TEXT NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS taxii_resume (
    url TEXT COLLATE "C" NOT NULL,
    collection TEXT COLLATE "C" NOT NULL,
    added_last TEXT COLLATE "C" NOT NULL,
    import_id BIGINT NOT NULL,
    PRIMARY KEY (url, collection)
)""",
)

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
    Migration(3, "user accounts: users, api_tokens, audit_log", ACCESS_TABLES),
    Migration(
        4, "TAXII state: user-defined collections, import resume points", TAXII_STATE_TABLES
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
