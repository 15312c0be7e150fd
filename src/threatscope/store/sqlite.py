"""The SQLite knowledge base: one file, WAL mode, one transaction per import.

Writers take the write lock up front (`BEGIN IMMEDIATE`) and wait for each other through
`busy_timeout`, so two importers running at once both land, one after the other, and a reader is
never blocked.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from threatscope.errors import ConfigError, StoreError
from threatscope.names import normalise_name, object_aliases
from threatscope.stix.tlp import object_tlp_rank, tlp_definitions
from threatscope.stix.validate import normalise_timestamp
from threatscope.store import migrations, versions
from threatscope.store.access_sql import AccessSQL
from threatscope.store.base import (
    ActorRow,
    ImportReport,
    IncidentFacts,
    Progress,
    SchemaUpgrade,
    StoredObject,
)
from threatscope.store.sqlite_actors import SQLiteActorQueries
from threatscope.store.sqlite_browse import SQLiteBrowseQueries
from threatscope.store.sqlite_documents import SQLiteDocumentQueries
from threatscope.store.sqlite_landscape import SQLiteLandscapeQueries
from threatscope.store.sqlite_taxii import SQLiteTaxiiQueries

__all__ = ["SQLiteStore"]

SCHEMA_VERSION = migrations.LATEST
_BUSY_TIMEOUT_MS = 600_000
_CHUNK = 500
_WRITE_CHUNK = 5_000
_ACTOR_TYPES = ("intrusion-set", "threat-actor")
# Derived actor -> CVE links (actors/cves.py), rebuilt after every import that changes objects.
# Not in schema.sql: created when first filled, and read by deriving the links in memory while a
# knowledge base has no such table yet, so no schema version needs it.
ACTOR_CVES_DDL = (
    "CREATE TABLE IF NOT EXISTS actor_cves ("
    " holder TEXT NOT NULL, cve TEXT NOT NULL, kind TEXT NOT NULL, via TEXT NOT NULL,"
    " label TEXT NOT NULL, origin TEXT NOT NULL, citations TEXT NOT NULL,"
    " PRIMARY KEY (holder, cve, via))",
    "CREATE INDEX IF NOT EXISTS actor_cves_by_cve ON actor_cves(cve)",
)
_FACT_TABLES = (
    "incident_facts",
    "incident_initiators",
    "incident_victims",
    "incident_labels",
    "incident_sources",
)


# Present in every schema version: how a knowledge base made before the application_id mark
# is recognised.
_OWN_TABLES = ("objects", "imports", "provenance", "external_ids", "aliases")


def _file_state(path: Path) -> str:
    """'missing', 'empty' (0 bytes) or 'file', from the file's metadata alone. Never open the
    database file outside SQLite: closing any descriptor of it drops every POSIX lock this
    process holds on it, so another thread's open connection loses its read lock and a writer
    elsewhere may checkpoint and delete the WAL under it ("database disk image is malformed";
    SQLite's "How To Corrupt An SQLite Database File", 2.2). SQLite itself tells a file that
    is not a database (`_NOT_A_DATABASE`)."""
    try:
        mode = os.stat(path)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    if stat.S_ISDIR(mode.st_mode):
        raise ConfigError(f"{path}: is a directory, not a knowledge base file")
    # A FIFO or device must be refused before SQLite opens it and waits for a writer forever.
    if not stat.S_ISREG(mode.st_mode):
        raise ConfigError(f"{path}: not a regular file, so not a knowledge base file")
    return "empty" if mode.st_size == 0 else "file"


_NOT_A_DATABASE = "file is not a database"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


class SQLiteAnalytics(
    SQLiteLandscapeQueries, SQLiteActorQueries, SQLiteDocumentQueries, SQLiteTaxiiQueries
):
    """Every read question of `store.queries.Analytics`, asked of one connection."""

    _conn: sqlite3.Connection


class SQLiteStore(SQLiteAnalytics, AccessSQL, SQLiteBrowseQueries):
    def __init__(self, path: Path | str, create: bool = True, read_only: bool = False) -> None:
        """Open the knowledge base at `path`. Only `create` makes one, and only in a new or
        empty file; any other file is refused untouched unless it is a ThreatScope knowledge
        base. `read_only` opens it without ever writing (a read-only directory works too)."""
        self.location = str(path)
        self.read_only = read_only
        if self.location != ":memory:":
            state = _file_state(Path(self.location))
            if state in ("missing", "empty") and not create:
                raise ConfigError(
                    f"{self.location}: no knowledge base here yet; "
                    "fill one with `threatscope sync` or `threatscope import`"
                )
            if state == "missing":
                Path(self.location).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._connect()
            try:
                self._refuse_foreign()
            except ConfigError:
                self._conn.close()
                raise
            self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            # WAL + NORMAL: a crash can lose the last commit but never corrupts or half-applies one.
            self._conn.execute("PRAGMA synchronous = NORMAL")
            # 256 MiB of page cache (allocated only as used) keeps a large import from spilling
            # half-built index pages to the WAL mid-transaction.
            self._conn.execute("PRAGMA cache_size = -262144")
            # Reads map the file instead of copying pages: a fresh connection (every CLI run)
            # scans a large fact table about 10% faster.
            self._conn.execute("PRAGMA mmap_size = 1073741824")
            self._ensure_schema()
        except sqlite3.DatabaseError as exc:
            if getattr(self, "_conn", None) is not None:
                self._conn.close()
            if str(exc) == _NOT_A_DATABASE:
                raise ConfigError(
                    f"{self.location}: not a ThreatScope knowledge base (not an SQLite file); "
                    "nothing was changed"
                ) from None
            raise StoreError(
                f"{self.location}: cannot open as a ThreatScope database: {exc}"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        timeout = _BUSY_TIMEOUT_MS / 1000
        if not self.read_only or self.location == ":memory:":
            return sqlite3.connect(self.location, isolation_level=None, timeout=timeout)
        uri = f"file:{quote(str(Path(self.location).resolve()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=timeout)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            # A WAL database needs its -shm file, which a read-only directory cannot hold;
            # nobody can write there either, so reading the file as immutable is exact.
            conn.close()
            return sqlite3.connect(
                uri + "&immutable=1", uri=True, isolation_level=None, timeout=timeout
            )

    def _refuse_foreign(self) -> None:
        """Refuse, before anything is written, a database some other application made."""
        # One read transaction: read apart, the mark and the tables can straddle another
        # process's creation of the file (no mark yet, then all its tables: "not ours").
        self._conn.execute("BEGIN")
        try:
            self._refuse_foreign_in_snapshot()
        finally:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")

    def _refuse_foreign_in_snapshot(self) -> None:
        conn = self._conn
        application = int(conn.execute("PRAGMA application_id").fetchone()[0])
        if application == migrations.APPLICATION_ID:
            return
        if application:
            raise ConfigError(
                f"{self.location}: not a ThreatScope knowledge base (another application's "
                f"database, application_id {application:#x}); nothing was changed"
            )
        tables = sorted(
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        )
        if not tables:
            return  # an empty database: ours to fill
        # Knowledge bases made before the mark (schema 1 to 3) are known by their tables.
        if 0 < self._user_version() < 4 and set(_OWN_TABLES) <= set(tables):
            return
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise ConfigError(
            f"{self.location}: not a ThreatScope knowledge base (it holds tables {shown}); "
            "nothing was changed"
        )

    def _ensure_schema(self) -> None:
        version = self._user_version()
        self.upgrade = SchemaUpgrade(version, version)
        if version == SCHEMA_VERSION:
            return
        self._refuse_newer(version)
        if self.read_only:
            self._upgrade_through_a_writer(version)
            return
        if version > 0:
            self._migrate()
            return
        self._enable_wal()
        script = resources.files("threatscope.store").joinpath("schema.sql").read_text()
        # Every statement is idempotent, so two processes creating the same file both succeed.
        self._conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nCOMMIT;")
        self.upgrade = SchemaUpgrade(version, SCHEMA_VERSION)

    def _upgrade_through_a_writer(self, version: int) -> None:
        """A read-only open of an old or empty file: upgrade it where the file can be written
        (as any command does), else say how; an empty file is never made a knowledge base here."""
        if version == 0:
            raise ConfigError(
                f"{self.location}: no knowledge base here yet; "
                "fill one with `threatscope sync` or `threatscope import`"
            )
        self._conn.close()
        with SQLiteStore(self.location, create=False) as writer:
            upgrade = writer.upgrade
        self._conn = self._connect()
        self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        self.upgrade = upgrade

    def _user_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.location}: schema version {version} is newer than this ThreatScope "
                f"understands ({SCHEMA_VERSION}); upgrade ThreatScope"
            )

    def _migrate(self) -> None:
        """Every pending step and the rebuild of derived tables in one transaction."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Read again under the write lock: another process may have migrated meanwhile.
            version = self._user_version()
            self._refuse_newer(version)
            steps = migrations.pending(version)
            for step in steps:
                for statement in step.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {step.version}")
            if any(step.rebuild_derived for step in steps):
                migrations.rebuild_derived(SQLiteWriter(conn))
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"{self.location}: cannot upgrade schema version {self.upgrade.from_version} "
                    f"to {SCHEMA_VERSION}, nothing was changed ({exc}); run `threatscope migrate` "
                    "with write access to the file"
                ) from None
            raise
        applied = [(step.version, step.description) for step in steps]
        self.upgrade = SchemaUpgrade(version, SCHEMA_VERSION, applied)

    def _enable_wal(self) -> None:
        # Unlike ordinary statements, switching the journal mode fails at once with "database is
        # locked" instead of waiting out busy_timeout: two processes creating one file race here.
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[SQLiteWriter]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"{self.location}: cannot start a write: {exc}") from None
        try:
            yield SQLiteWriter(conn)
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"{self.location}: write failed, nothing was changed: {exc}"
                ) from exc
            raise

    # -- reading ---------------------------------------------------------------------------

    def get_object(self, object_id: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT json FROM objects WHERE id = ?", (object_id,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def iter_objects(
        self, types: Sequence[str] | None = None, include_revoked: bool = False
    ) -> Iterator[dict[str, Any]]:
        for stored in self.iter_stored(types, include_revoked):
            yield stored.data

    def iter_stored(
        self, types: Sequence[str] | None = None, include_revoked: bool = False
    ) -> Iterator[StoredObject]:
        clauses: list[str] = []
        params: list[str] = []
        if types:
            clauses.append(f"type IN ({','.join('?' * len(types))})")
            params.extend(types)
        if not include_revoked:
            clauses.append("revoked = 0")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        for doc, source in self._conn.execute(
            f"SELECT json, source FROM objects {where} ORDER BY id", params
        ):
            yield StoredObject(orjson.loads(doc), source)

    def stats(self) -> dict[str, Any]:
        rows = self._conn.execute(
            "SELECT type, count(*) FROM objects WHERE revoked = 0 GROUP BY type ORDER BY type"
        ).fetchall()
        counts = {stix_type: n for stix_type, n in rows if stix_type != "relationship"}
        relationships = dict(rows).get("relationship", 0)
        actors = self._conn.execute("SELECT count(*) FROM actors").fetchone()[0]
        by_nexus = dict(
            self._conn.execute(
                "SELECT coalesce(nexus, 'unknown'), count(*) FROM actors GROUP BY 1"
                " ORDER BY 2 DESC, 1"
            ).fetchall()
        )
        return {
            "objects": counts,
            "relationships": relationships,
            "actors": actors,
            "actors_by_nexus": by_nexus,
        }

    def imports(self) -> list[dict[str, Any]]:
        cursor = self._conn.execute(
            "SELECT id, source, path, started, finished, received, added, updated, unchanged, older"
            " FROM imports ORDER BY id"
        )
        columns = [c[0] for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor]

    def find_actors(self, query: str) -> list[dict[str, Any]]:
        name_norm, bare = normalise_name(query), query.strip()
        rows = self._conn.execute(
            "SELECT doc FROM actors WHERE id IN ("
            " SELECT actor_id FROM actor_lookup WHERE name_norm = ?"
            " UNION SELECT actor_id FROM actor_members WHERE object_id = ?"
            # An identifier a member carries itself (a MISP cluster's uuid), in any case.
            " UNION SELECT m.actor_id FROM external_ids e"
            "  JOIN actor_members m ON m.object_id = e.object_id WHERE e.external_id IN (?, ?, ?)"
            " UNION SELECT id FROM actors WHERE id = ?) ORDER BY name",
            (name_norm, query, bare, bare.lower(), bare.upper(), query),
        ).fetchall()
        return [orjson.loads(doc) for (doc,) in rows]

    def suggest_actors(self, query: str, limit: int = 5) -> list[str]:
        norm = normalise_name(query)
        if not norm:
            return []
        rows = self._conn.execute(
            "SELECT DISTINCT a.name FROM actor_lookup l JOIN actors a ON a.id = l.actor_id"
            " WHERE l.name_norm LIKE ? ORDER BY length(l.name_norm), a.name LIMIT ?",
            (f"%{norm}%", limit),
        ).fetchall()
        return [name for (name,) in rows]

    def list_actors(self, nexus: str | None = None) -> list[dict[str, Any]]:
        if nexus is None:
            rows = self._conn.execute("SELECT doc FROM actors ORDER BY name").fetchall()
        elif nexus == "unknown":
            rows = self._conn.execute(
                "SELECT doc FROM actors WHERE nexus IS NULL ORDER BY name"
            ).fetchall()
        else:
            rows = self._conn.execute(
                "SELECT doc FROM actors WHERE nexus = ? ORDER BY name", (nexus,)
            ).fetchall()
        return [orjson.loads(doc) for (doc,) in rows]

    def analytics(self) -> sqlite3.Connection:
        """The raw connection, for this backend's own tests and benchmarks (ANALYZE, a row
        they plant); the package asks its questions through `store.queries.Analytics`."""
        return self._conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SQLiteWriter(SQLiteAnalytics):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def upsert(
        self,
        objects: Sequence[dict[str, Any]],
        source: str,
        path: str,
        progress: Progress | None = None,
        allow_foreign: bool = False,
    ) -> ImportReport:
        """See store/versions.py for which versions may replace a stored one; a refused one
        raises InputError before anything is written."""
        conn = self._conn
        versions.refuse_future(objects, path, datetime.now(UTC))
        newest = versions.newest_versions(objects)
        found = versions.classify(newest, self._stored_versions(list(newest)))
        changed, replaced = found.changed, [(object_id,) for object_id in found.replaced]
        foreign = self._foreign_versions(
            [newest[object_id][1] for object_id in found.replaced], source, path, allow_foreign
        )
        started = _now()  # under the write lock: later imports start later (TAXII date_added)
        import_id = conn.execute(
            "INSERT INTO imports (source, path, started) VALUES (?, ?, ?)", (source, path, started)
        ).lastrowid
        assert import_id is not None
        for table, key in (
            ("relationships", "id"),
            ("external_ids", "object_id"),
            ("aliases", "object_id"),
        ):
            conn.executemany(f"DELETE FROM {table} WHERE {key} = ?", replaced)
        changed.sort(key=lambda item: item[1]["id"])  # key order keeps B-tree inserts local
        custom = tlp_definitions([*self.marking_definitions(), *(obj for _, obj in changed)])
        for start in range(0, len(changed), _WRITE_CHUNK):
            chunk = changed[start : start + _WRITE_CHUNK]
            self._write_objects(chunk, source, import_id, (started, custom))
            if progress:
                progress(min(start + _WRITE_CHUNK, len(changed)), len(changed))
        older = found.older + len(objects) - len(newest)  # and superseded versions in the input
        conn.execute(
            "UPDATE imports SET finished = ?, received = ?, added = ?, updated = ?, unchanged = ?,"
            " older = ? WHERE id = ?",
            (_now(), len(objects), found.added, found.updated, found.unchanged, older, import_id),
        )
        return ImportReport(
            import_id,
            source,
            path,
            len(objects),
            found.added,
            found.updated,
            found.unchanged,
            older,
            foreign,
        )

    def _foreign_versions(
        self, updates: list[dict[str, Any]], source: str, path: str, allow: bool
    ) -> int:
        """How many of `updates` (newer versions of stored objects) come from another producer
        than the stored version; without `allow`, the first of them is refused."""
        foreign = 0
        for start in range(0, len(updates), _CHUNK):
            chunk = updates[start : start + _CHUNK]
            rows = self._conn.execute(
                "SELECT id, json_extract(json, '$.created_by_ref'), source FROM objects"
                f" WHERE id IN ({','.join('?' * len(chunk))})",
                [obj["id"] for obj in chunk],
            ).fetchall()
            held = {i: versions.Producer.of(ref, importer) for i, ref, importer in rows}
            foreign += versions.count_foreign(chunk, held, source, path, allow, self._names)
        return foreign

    def _names(self, ids: list[str]) -> dict[str, str]:
        """Stored names of the identities `ids`, to say who a producer is."""
        marks = ",".join("?" * len(ids))
        rows = self._conn.execute(
            f"SELECT id, name FROM objects WHERE id IN ({marks}) AND name IS NOT NULL", ids
        ).fetchall()
        return dict(rows)

    def _stored_versions(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found.update(
                self._conn.execute(
                    f"SELECT id, modified FROM objects WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
            )
        return found

    def _write_objects(
        self,
        changed: list[tuple[str, dict[str, Any]]],
        source: str,
        import_id: int,
        added: tuple[str, dict[str, str]],
    ) -> None:
        """`added`: the import's start (date_added) and its custom TLP definitions."""
        date_added, custom = added
        conn = self._conn
        object_rows, relationship_rows, external_rows, alias_rows, provenance_rows = (
            [],
            [],
            [],
            [],
            [],
        )
        for modified, obj in changed:
            object_id = obj["id"]
            importer = versions.importer_of(obj, source)
            if versions.IMPORTER_PROPERTY in obj:  # said by the object, stored as a column
                obj = {k: v for k, v in obj.items() if k != versions.IMPORTER_PROPERTY}
            name = obj.get("name")
            object_rows.append(
                (
                    object_id,
                    obj["type"],
                    name if isinstance(name, str) else None,
                    normalise_timestamp(obj.get("created")),
                    modified,
                    1 if obj.get("revoked") is True else 0,
                    1 if obj.get("x_mitre_deprecated") is True else 0,
                    importer,
                    import_id,
                    _dumps(obj),
                    object_tlp_rank(obj, importer, custom),
                    date_added,
                )
            )
            provenance_rows.append((object_id, modified, import_id))
            if obj["type"] == "relationship":
                relationship_rows.append(
                    (object_id, obj["source_ref"], obj["relationship_type"], obj["target_ref"])
                )
            for ref in obj.get("external_references") or ():
                if isinstance(ref, dict) and isinstance(ref.get("external_id"), str):
                    external_rows.append(
                        (object_id, str(ref.get("source_name")), ref["external_id"])
                    )
            if obj["type"] != "relationship":
                for alias in object_aliases(obj):
                    alias_rows.append((object_id, alias, normalise_name(alias), importer))
        conn.executemany(
            "INSERT INTO objects (id, type, name, created, modified, revoked, deprecated, source,"
            " import_id, json, tlp_rank, date_added) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET type = excluded.type, name = excluded.name,"
            " created = excluded.created, modified = excluded.modified,"
            " revoked = excluded.revoked, deprecated = excluded.deprecated,"
            " source = excluded.source, import_id = excluded.import_id, json = excluded.json,"
            " tlp_rank = excluded.tlp_rank, date_added = excluded.date_added",
            object_rows,
        )
        conn.executemany(
            "INSERT OR IGNORE INTO provenance (object_id, modified, import_id) VALUES (?, ?, ?)",
            provenance_rows,
        )
        conn.executemany("INSERT INTO relationships VALUES (?, ?, ?, ?)", relationship_rows)
        conn.executemany("INSERT OR IGNORE INTO external_ids VALUES (?, ?, ?)", external_rows)
        conn.executemany("INSERT OR IGNORE INTO aliases VALUES (?, ?, ?, ?)", alias_rows)

    # -- actors ----------------------------------------------------------------------------

    def actor_objects(self) -> list[StoredObject]:
        rows = self._conn.execute(
            f"SELECT json, source FROM objects WHERE type IN {_ACTOR_TYPES} AND revoked = 0"
            " ORDER BY id"
        ).fetchall()
        return [StoredObject(orjson.loads(doc), source) for doc, source in rows]

    def splits(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT object_id, from_actor FROM actor_splits").fetchall())

    def add_split(self, object_id: str, from_actor: str) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO actor_splits VALUES (?, ?, ?)", (object_id, from_actor, _now())
        )

    def remove_split(self, object_id: str) -> bool:
        cursor = self._conn.execute("DELETE FROM actor_splits WHERE object_id = ?", (object_id,))
        return cursor.rowcount > 0

    # -- incident facts ----------------------------------------------------------------------

    def incident_objects(self) -> Iterator[tuple[dict[str, Any], str]]:
        for doc, source in self._conn.execute(
            "SELECT json, source FROM objects WHERE type = 'incident' AND revoked = 0 ORDER BY id"
        ):
            yield orjson.loads(doc), source

    def technique_ids(self) -> dict[str, str]:
        """ATT&CK technique names and ids (casefolded) -> the id, for current techniques."""
        found: dict[str, str] = {}
        for attack_id, name in self._conn.execute(
            "SELECT e.external_id, o.name FROM objects o JOIN external_ids e ON e.object_id = o.id"
            " WHERE o.type = 'attack-pattern' AND o.revoked = 0 AND e.source_name = 'mitre-attack'"
            " ORDER BY e.external_id"
        ):
            found[attack_id.casefold()] = attack_id
            # A name shared by a technique and its sub-technique means the technique.
            found.setdefault((name or "").casefold(), attack_id)
        return found

    def replace_incident_facts(self, facts: Iterable[IncidentFacts]) -> int:
        conn = self._conn
        for table in _FACT_TABLES:
            conn.execute(f"DELETE FROM {table}")
        count = 0
        batch: list[IncidentFacts] = []
        for item in facts:
            batch.append(item)
            if len(batch) >= _WRITE_CHUNK:
                count += self._insert_facts(batch, count)
                batch = []
        count += self._insert_facts(batch, count)
        conn.execute(
            "INSERT INTO incident_sources SELECT source, count(*), count(day), min(day), max(day)"
            " FROM incident_facts GROUP BY source"
        )
        return count

    def _insert_facts(self, batch: list[IncidentFacts], offset: int) -> int:
        rows: list[tuple[int, str, int | None, str]] = []
        initiators: list[tuple[Any, ...]] = []  # number, day, then an IncidentFacts tuple
        victims: list[tuple[Any, ...]] = []
        labels: list[tuple[Any, ...]] = []
        for number, item in enumerate(batch, start=offset + 1):
            rows.append((number, item.incident_id, item.day, item.source))
            initiators.extend((number, item.day, *i) for i in item.initiators)
            victims.extend((number, *v) for v in item.victims)
            labels.extend((number, *label) for label in item.labels)
        conn = self._conn
        conn.executemany("INSERT INTO incident_facts VALUES (?, ?, ?, ?)", rows)
        conn.executemany("INSERT INTO incident_initiators VALUES (?, ?, ?, ?, ?)", initiators)
        conn.executemany("INSERT INTO incident_victims VALUES (?, ?, ?, ?)", victims)
        conn.executemany("INSERT INTO incident_labels VALUES (?, ?, ?)", labels)
        return len(batch)

    def replace_actor_cves(self, rows: Iterable[Sequence[str]]) -> int:
        """Replace the derived actor -> CVE links (holder, cve, kind, via, label, origin,
        citations as a JSON list)."""
        conn = self._conn
        for statement in ACTOR_CVES_DDL:
            conn.execute(statement)
        conn.execute("DELETE FROM actor_cves")
        batch = list(rows)
        conn.executemany("INSERT OR IGNORE INTO actor_cves VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
        return len(batch)

    def replace_actors(self, actors: Iterable[ActorRow]) -> None:
        conn = self._conn
        for table in ("actors", "actor_members", "actor_lookup"):
            conn.execute(f"DELETE FROM {table}")
        actor_rows: list[tuple[str, str, str | None, str]] = []
        member_rows: list[tuple[str, str, str]] = []  # object id, actor id, source
        lookup_rows: list[tuple[str, str]] = []  # normalised name, actor id
        for actor in actors:
            actor_rows.append((actor.id, actor.name, actor.nexus, _dumps(actor.doc)))
            member_rows.extend((object_id, actor.id, source) for object_id, source in actor.members)
            lookup_rows.extend((name, actor.id) for name in set(actor.lookup))
        conn.executemany("INSERT INTO actors VALUES (?, ?, ?, ?)", actor_rows)
        conn.executemany("INSERT INTO actor_members VALUES (?, ?, ?)", member_rows)
        conn.executemany("INSERT INTO actor_lookup VALUES (?, ?)", lookup_rows)
