"""Ordered schema migrations: every knowledge base any ThreatScope wrote opens in this one.

Versions (PRAGMA user_version; the DDL of each is kept in tests/data/schemas/vN.sql):

1. 0f97bf2..2a0e834: objects, import history, derived lookups, actors and analyst splits.
2. d5fd441..57c54ec: + incident fact tables for the landscape.
3. f728fba..: facts ordered by day, per-source coverage (`incident_sources`). These commits
   still wrote user_version 2, so a file marked 2 holds either schema; the step to 3 rebuilds
   the fact tables from the stored incidents, which is right for both.
4. PRAGMA application_id 'TSKB' (0x54534B42): the file says it is a ThreatScope knowledge base,
   so `--db` can refuse another application's SQLite file without touching it.
5. objects.tlp_rank and objects.date_added (indexed), for the TAXII server: filtering by clearance
   and paging by the date a version was added happen in the database (store/tlp_backfill.py).
6. user accounts: `users`, `api_tokens` (argon2 hashes only) and the `audit_log`.
7. TAXII state: `taxii_collections` (user-defined collections of the server) and `taxii_resume`
   (where `import taxii` resumes each (API root, collection) it pulled, with the import it was).

Each step is plain data (the version it produces, what it changes, the statements to run), so
another backend can keep its own list beside this one. Tables derived from stored objects
(actors, incident facts) are recomputed after the steps instead of being converted row by row;
objects, provenance, import history and actor splits are never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from threatscope.store.base import Writer
from threatscope.store.tlp_backfill import SQLITE_BACKFILL

__all__ = ["APPLICATION_ID", "LATEST", "MIGRATIONS", "Migration", "pending", "rebuild_derived"]

APPLICATION_ID = int.from_bytes(b"TSKB", "big")


@dataclass(frozen=True)
class Migration:
    """One step from schema `version - 1` to `version`."""

    version: int
    description: str
    statements: tuple[str, ...]
    rebuild_derived: bool = False


_V2_FACT_TABLES = (
    """CREATE TABLE incident_facts (
    fact INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL UNIQUE,
    day INTEGER,
    source TEXT NOT NULL
)""",
    "CREATE INDEX incident_facts_by_day ON incident_facts(day)",
    """CREATE TABLE incident_initiators (
    fact INTEGER NOT NULL,
    category TEXT NOT NULL,
    country TEXT,
    actor_ref TEXT
)""",
    "CREATE INDEX incident_initiators_by_fact ON incident_initiators(fact)",
    """CREATE TABLE incident_victims (
    fact INTEGER NOT NULL,
    victim INTEGER NOT NULL,
    country TEXT,
    sector TEXT
)""",
    "CREATE INDEX incident_victims_by_fact ON incident_victims(fact)",
    """CREATE TABLE incident_labels (
    fact INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL
)""",
    "CREATE INDEX incident_labels_by_fact ON incident_labels(fact, kind)",
)

# Dropping the tables drops their indexes; the facts come back from the incident objects.
_DROP_FACT_TABLES = tuple(
    f"DROP TABLE IF EXISTS {table}"
    for table in (
        "incident_facts",
        "incident_initiators",
        "incident_victims",
        "incident_labels",
        "incident_sources",
    )
)

_V3_FACT_TABLES = (
    """CREATE TABLE incident_facts (
    fact INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL UNIQUE,
    day INTEGER,
    source TEXT NOT NULL
)""",
    "CREATE INDEX incident_facts_by_day ON incident_facts(day)",
    "CREATE INDEX incident_facts_by_source ON incident_facts(source, day)",
    """CREATE TABLE incident_initiators (
    fact INTEGER NOT NULL,
    day INTEGER,
    category TEXT NOT NULL,
    country TEXT,
    actor_ref TEXT
)""",
    """CREATE INDEX incident_initiators_by_day
    ON incident_initiators(day, category, fact, country, actor_ref)""",
    """CREATE TABLE incident_victims (
    fact INTEGER NOT NULL,
    victim INTEGER NOT NULL,
    country TEXT,
    sector TEXT
)""",
    "CREATE INDEX incident_victims_by_fact ON incident_victims(fact, sector, country)",
    """CREATE TABLE incident_sources (
    source TEXT PRIMARY KEY,
    incidents INTEGER NOT NULL,
    dated INTEGER NOT NULL,
    first_day INTEGER,
    last_day INTEGER
)""",
    """CREATE TABLE incident_labels (
    fact INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL
)""",
    "CREATE INDEX incident_labels_by_fact ON incident_labels(fact, kind, value)",
    "CREATE INDEX incident_labels_by_kind ON incident_labels(kind, value)",
)

# Shared with PostgreSQL's step 2 (postgres_migrations.py): the same columns and indexes.
# tlp_rank defaults to RED: a row some writer failed to rank is hidden, never leaked.
TAXII_COLUMNS = (
    "ALTER TABLE objects ADD COLUMN tlp_rank INTEGER NOT NULL DEFAULT 4",
    "ALTER TABLE objects ADD COLUMN date_added TEXT NOT NULL DEFAULT ''",
)
TAXII_INDEXES = (
    "CREATE INDEX objects_by_added ON objects(date_added, id)",
    "CREATE INDEX objects_by_source_added ON objects(source, date_added, id)",
    "CREATE INDEX objects_by_tlp_added ON objects(tlp_rank, date_added, id)",
)

# Shared with schema.sql, which creates the same tables for a new knowledge base.
ACCESS_TABLES = (
    """CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    clearance TEXT NOT NULL,
    created TEXT NOT NULL,
    revoked TEXT
)""",
    """CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(name),
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT
)""",
    "CREATE INDEX IF NOT EXISTS api_tokens_by_user ON api_tokens(username)",
    """CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    remote TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
)""",
)

# Shared with schema.sql, which creates the same tables for a new knowledge base. `filter` is
# the collection's filter as JSON (server/user_collections.py reads it).
TAXII_STATE_TABLES = (
    """CREATE TABLE IF NOT EXISTS taxii_collections (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    filter TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS taxii_resume (
    url TEXT NOT NULL,
    collection TEXT NOT NULL,
    added_last TEXT NOT NULL,
    import_id INTEGER NOT NULL REFERENCES imports(id),
    PRIMARY KEY (url, collection)
)""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "incident fact tables for the landscape", _V2_FACT_TABLES),
    Migration(
        3,
        "incident facts ordered by day, per-source coverage (incident_sources)",
        _DROP_FACT_TABLES + _V3_FACT_TABLES,
        rebuild_derived=True,
    ),
    Migration(4, "mark the file as a ThreatScope knowledge base (application_id)", (
        f"PRAGMA application_id = {APPLICATION_ID}",
    )),
    Migration(
        5,
        "TLP rank and date added of every object, indexed (the TAXII server)",
        (*TAXII_COLUMNS, SQLITE_BACKFILL, *TAXII_INDEXES),
    ),
    Migration(6, "user accounts: users, api_tokens, audit_log", ACCESS_TABLES),
    Migration(
        7, "TAXII state: user-defined collections, import resume points", TAXII_STATE_TABLES
    ),
)
LATEST = MIGRATIONS[-1].version


def pending(version: int) -> list[Migration]:
    """The steps, in order, that bring a database at `version` to LATEST."""
    return [step for step in MIGRATIONS if step.version > version]


def rebuild_derived(writer: Writer) -> None:
    """Recompute actors and incident facts from the stored objects, as an import does."""
    # Imported here: actor resolution and the fact builder sit above the store and import it.
    from threatscope.actors import resolve_actors
    from threatscope.landscape.facts import refresh_incident_facts

    resolve_actors(writer)
    refresh_incident_facts(writer)
