"""The PostgreSQL knowledge base (psycopg 3): the Store and Writer protocols of base.py over the
tables of postgres_schema.sql, with the same version rules as SQLite (store/versions.py).

- One transaction per `write()`: all of an import lands, or none of it does.
- Writers queue on one transaction-level advisory lock, taken first thing in `write()`. That is
  SQLite's `BEGIN IMMEDIATE`: the version checks of `upsert` and the derived tables rebuilt after
  it (actors, incident facts, CVE links) see every import committed before, so two importers
  running at once both land and neither can deadlock the other. Readers take no lock and are
  never blocked: derived tables are emptied with DELETE, never TRUNCATE.
- Imports COPY their rows: new objects straight into their tables (under the writers' lock no
  one else can add them), new versions of stored objects into temporary tables, then
  INSERT … ON CONFLICT into the real ones.
- The connection runs in autocommit between writes, so a long-lived store holds no snapshot.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads
from psycopg.types.string import TextLoader

from threatscope.errors import ConfigError, InputError, StoreError
from threatscope.names import normalise_name, object_aliases
from threatscope.stix.validate import normalise_timestamp
from threatscope.store import migrations, postgres_migrations, versions
from threatscope.store.base import (
    ActorRow,
    ImportReport,
    IncidentFacts,
    Progress,
    SchemaUpgrade,
    StoredObject,
)
from threatscope.store.location import shown_location

__all__ = ["PostgresStore", "PostgresWriter"]

_APPLICATION = "ThreatScope knowledge base"
_WRITERS_LOCK = int.from_bytes(b"TSKB", "big")  # the advisory lock every writer queues on
_WRITE_CHUNK = 5_000  # rows per batch of incident facts; objects between progress calls
_FETCH = 2_000  # rows per round trip when streaming objects
_ACTOR_TYPES = ["intrusion-set", "threat-actor"]
_FACT_TABLES = (
    "incident_facts",
    "incident_initiators",
    "incident_victims",
    "incident_labels",
    "incident_sources",
)
_OBJECT_COLUMNS = "id, type, name, created, modified, revoked, deprecated, source, import_id, json"
# Tables a new version of a stored object is merged into through a temporary table.
_MERGED = ("objects", "provenance", "external_ids", "aliases")
_NO_KB_YET = "no knowledge base here yet; fill one with `threatscope sync` or `threatscope import`"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def libpq_url(url: str) -> str:
    """`url` as libpq takes it: SQLAlchemy's `postgresql+psycopg://` names the same database."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.lower().startswith("postgres") else url


def _settings(url: str) -> dict[str, Any]:
    """The connection settings `url` spells out; none when libpq cannot read it."""
    try:
        return conninfo_to_dict(url)
    except psycopg.Error:
        return {}


def _reason(error: BaseException, url: str) -> str:
    """A psycopg error as one line, the URL's password never in it."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = "; ".join(lines[:2]) or type(error).__name__
    password = _settings(url).get("password")
    return text.replace(str(password), "***") if password else text


# What a caller of `Store.analytics()` is, named by its package: the message says what it was.
_FEATURES = {
    "landscape": "the landscape",
    "attribution": "attribution",
    "report": "the report",
    "extract": "extraction against a knowledge base",
    "sources": "importing reports",
    "actors": "actor CVE links",
    "demo": "the demo",
}
_KB_FEATURES = {
    "actor": "actor show (its CVE links)",
    "landscape": "the landscape",
    "report": "the report",
    "extract": "extract",
    "attribute": "attribute",
}


def _unavailable(location: str, caller: Any) -> StoreError:
    module = str(caller.f_globals.get("__name__", ""))
    package = module.split(".")[1] if module.startswith("threatscope.") else ""
    if package == "knowledge_base":
        feature = _KB_FEATURES.get(caller.f_code.co_name, caller.f_code.co_name)
    else:
        feature = _FEATURES.get(package, "this command")
    return StoreError(
        f"{location}: {feature} is not available on PostgreSQL yet (it still reads the "
        "knowledge base with SQLite SQL); use a SQLite knowledge base for it"
    )


class PostgresStore:
    def __init__(
        self,
        url: str,
        create: bool = True,
        read_only: bool = False,
        *,
        steps: Sequence[migrations.Migration] = postgres_migrations.MIGRATIONS,
    ) -> None:
        """Open the knowledge base in the PostgreSQL database at `url`. Only `create` makes one,
        and only in a database holding no tables; another application's database is refused
        untouched. `read_only` never writes. `steps`: the schema migrations to apply (tests pass
        a longer list to prove an upgrade)."""
        self.url = libpq_url(url)
        self.location = shown_location(url)
        self.read_only = read_only
        self._steps = tuple(steps)
        self._cursors = itertools.count()
        self._conn = self._connect()
        try:
            self._ensure_schema(create)
        except psycopg.Error as exc:
            self._conn.close()
            raise StoreError(
                f"{self.location}: cannot open as a ThreatScope knowledge base, nothing was "
                f"changed: {_reason(exc, self.url)}"
            ) from None
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            # An unreachable host fails in seconds instead of hanging the command.
            timeout = {} if "connect_timeout" in _settings(self.url) else {"connect_timeout": 10}
            conn = psycopg.connect(self.url, autocommit=True, **timeout)
        except psycopg.Error as exc:
            reason = _reason(exc, self.url)
            raise ConfigError(f"{self.location}: cannot connect: {reason}") from None
        set_json_loads(orjson.loads, conn)
        if self.read_only:
            conn.execute("SET default_transaction_read_only = on")
        return conn

    # -- schema ----------------------------------------------------------------------------

    @property
    def _latest(self) -> int:
        return max([postgres_migrations.LATEST, *(step.version for step in self._steps)])

    def _version(self) -> int:
        """The schema version; 0 for a database holding no tables. Another application's
        database is a ConfigError."""
        conn = self._conn
        # One statement, one snapshot: a creator committing in between must not make our
        # tables look like another application's.
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
            )
        ]
        if "threatscope_schema" not in tables:
            if not tables:
                return 0
            shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
            raise ConfigError(
                f"{self.location}: not a ThreatScope knowledge base (it holds tables {shown}); "
                "nothing was changed"
            )
        rows = conn.execute("SELECT application, version FROM threatscope_schema").fetchall()
        if len(rows) != 1 or rows[0][0] != _APPLICATION:
            raise ConfigError(
                f"{self.location}: not a ThreatScope knowledge base (its threatscope_schema "
                "table is not ours); nothing was changed"
            )
        return int(rows[0][1])

    def _refuse_newer(self, version: int) -> None:
        if version > self._latest:
            raise StoreError(
                f"{self.location}: schema version {version} is newer than this ThreatScope "
                f"understands ({self._latest}); upgrade ThreatScope"
            )

    def _ensure_schema(self, create: bool) -> None:
        version = self._version()
        self.upgrade = SchemaUpgrade(version, version)
        if version == self._latest:
            return
        self._refuse_newer(version)
        if version == 0 and not create:
            raise ConfigError(f"{self.location}: {_NO_KB_YET}")
        if self.read_only:  # an older schema: upgraded by a writer, as any command would
            with PostgresStore(self.url, create=False, steps=self._steps) as writer:
                self.upgrade = writer.upgrade
            return
        self._create_or_migrate()

    def _create_or_migrate(self) -> None:
        """Create the schema in an empty database, or bring an older one up to date: one
        transaction under the writers' lock, so two processes opening at once both succeed."""
        conn = self._conn
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITERS_LOCK,))
            version = self._version()  # again under the lock: another process may have won
            self._refuse_newer(version)
            start = version
            if version == 0:
                script = resources.files("threatscope.store").joinpath("postgres_schema.sql")
                conn.execute(script.read_text())
                conn.execute(
                    "INSERT INTO threatscope_schema VALUES (%s, %s)",
                    (_APPLICATION, postgres_migrations.LATEST),
                )
                version = postgres_migrations.LATEST  # the script creates the latest schema
            with conn.cursor() as cursor:
                applied = postgres_migrations.apply(cursor, version, self._steps)
            if any(step.rebuild_derived for step in applied):
                migrations.rebuild_derived(PostgresWriter(conn, self.location, self._cursors))
        steps = [(step.version, step.description) for step in applied]
        self.upgrade = SchemaUpgrade(start, self._latest, steps)

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[PostgresWriter]:
        conn = self._conn
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITERS_LOCK,))
                yield PostgresWriter(conn, self.location, self._cursors)
        except psycopg.Error as exc:
            raise StoreError(
                f"{self.location}: write failed, nothing was changed: {_reason(exc, self.url)}"
            ) from None

    # -- reading ---------------------------------------------------------------------------

    def get_object(self, object_id: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT json FROM objects WHERE id = %s", (object_id,)).fetchone()
        return row[0] if row else None

    def iter_objects(
        self, types: Sequence[str] | None = None, include_revoked: bool = False
    ) -> Iterator[dict[str, Any]]:
        for stored in self.iter_stored(types, include_revoked):
            yield stored.data

    def iter_stored(
        self, types: Sequence[str] | None = None, include_revoked: bool = False
    ) -> Iterator[StoredObject]:
        clauses: list[str] = []
        params: list[Any] = []
        if types:
            clauses.append("type = ANY(%s)")
            params.append(list(types))
        if not include_revoked:
            clauses.append("revoked = 0")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        # A held server-side cursor: one consistent snapshot streamed in pages, and the
        # connection stays free for other reads while the caller iterates.
        for doc, source in _stream(
            self._conn,
            f"ts_read_{next(self._cursors)}",
            f"SELECT json, source FROM objects {where} ORDER BY id",
            params,
            hold=True,
        ):
            yield StoredObject(doc, source)

    def stats(self) -> dict[str, Any]:
        rows = self._conn.execute(
            "SELECT type, count(*) FROM objects WHERE revoked = 0 GROUP BY type ORDER BY type"
        ).fetchall()
        counts = {stix_type: n for stix_type, n in rows if stix_type != "relationship"}
        relationships = dict(rows).get("relationship", 0)
        actors = self._conn.execute("SELECT count(*) FROM actors").fetchone()
        by_nexus = dict(
            self._conn.execute(
                "SELECT coalesce(nexus, 'unknown'), count(*) FROM actors GROUP BY 1"
                " ORDER BY 2 DESC, 1"
            ).fetchall()
        )
        return {
            "objects": counts,
            "relationships": relationships,
            "actors": actors[0] if actors else 0,
            "actors_by_nexus": by_nexus,
        }

    def imports(self) -> list[dict[str, Any]]:
        with self._conn.cursor() as cursor:
            cursor.execute(
                "SELECT id, source, path, started, finished, received, added, updated,"
                " unchanged, older FROM imports ORDER BY id"
            )
            columns = [c.name for c in cursor.description or ()]
            return [dict(zip(columns, row, strict=True)) for row in cursor]

    def find_actors(self, query: str) -> list[dict[str, Any]]:
        name_norm, bare = normalise_name(query), query.strip()
        rows = self._conn.execute(
            "SELECT doc FROM actors WHERE id IN ("
            " SELECT actor_id FROM actor_lookup WHERE name_norm = %s"
            " UNION SELECT actor_id FROM actor_members WHERE object_id = %s"
            # An identifier a member carries itself (a MISP cluster's uuid), in any case.
            " UNION SELECT m.actor_id FROM external_ids e"
            "  JOIN actor_members m ON m.object_id = e.object_id"
            "  WHERE e.external_id IN (%s, %s, %s)"
            " UNION SELECT id FROM actors WHERE id = %s) ORDER BY name",
            (name_norm, query, bare, bare.lower(), bare.upper(), query),
        ).fetchall()
        return [doc for (doc,) in rows]

    def suggest_actors(self, query: str, limit: int = 5) -> list[str]:
        norm = normalise_name(query)
        if not norm:
            return []
        pattern = "%" + norm.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._conn.execute(
            "SELECT a.name FROM actor_lookup l JOIN actors a ON a.id = l.actor_id"
            " WHERE l.name_norm LIKE %s GROUP BY a.name"
            " ORDER BY min(length(l.name_norm)), a.name LIMIT %s",
            (pattern, limit),
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
                "SELECT doc FROM actors WHERE nexus = %s ORDER BY name", (nexus,)
            ).fetchall()
        return [doc for (doc,) in rows]

    def analytics(self) -> Any:
        """Analyses above the store still speak SQLite SQL to this view; until they call named
        store methods, each says it is not available here (one line, not a traceback)."""
        raise _unavailable(self.location, sys._getframe(1))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stream(
    conn: psycopg.Connection[Any], name: str, sql: str, params: Sequence[Any], hold: bool
) -> Iterator[tuple[Any, ...]]:
    with conn.cursor(name=name, withhold=hold) as cursor:
        cursor.itersize = _FETCH
        cursor.execute(sql, params)
        yield from cursor


def _copy(cursor: psycopg.Cursor[Any], table: str, rows: Iterable[Sequence[Any]]) -> None:
    with cursor.copy(f"COPY {table} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


class _Progress:
    """Calls `progress(done, total)` every _WRITE_CHUNK objects and at the end."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress, self._total, self._done = progress, total, 0

    def step(self) -> None:
        self._done += 1
        if self._progress and (self._done % _WRITE_CHUNK == 0 or self._done == self._total):
            self._progress(self._done, self._total)


@dataclass
class _DerivedRows:
    """The rows of the index tables that the objects being copied bring."""

    provenance: list[tuple[str, str, int]] = field(default_factory=list)
    relationships: list[tuple[str, str, str, str]] = field(default_factory=list)
    external_ids: list[tuple[str, str, str]] = field(default_factory=list)
    aliases: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(
        self, obj: dict[str, Any], object_id: str, modified: str, import_id: int, importer: str
    ) -> None:
        self.provenance.append((object_id, modified, import_id))
        if obj["type"] == "relationship":
            self.relationships.append(
                (object_id, obj["source_ref"], obj["relationship_type"], obj["target_ref"])
            )
        for ref in obj.get("external_references") or ():
            if isinstance(ref, dict) and isinstance(ref.get("external_id"), str):
                named = (object_id, str(ref.get("source_name")), ref["external_id"])
                self.external_ids.append(named)
        if obj["type"] != "relationship":
            for alias in object_aliases(obj):
                self.aliases.append((object_id, alias, normalise_name(alias), importer))


class PostgresWriter:
    def __init__(
        self, conn: psycopg.Connection[Any], location: str, cursors: Iterator[int]
    ) -> None:
        self._conn = conn
        self._location = location
        self._cursors = cursors

    def upsert(
        self,
        objects: Sequence[dict[str, Any]],
        source: str,
        path: str,
        progress: Progress | None = None,
        allow_foreign: bool = False,
    ) -> ImportReport:
        """See store/versions.py for which versions may replace a stored one; a refused one
        raises InputError before anything is written. The same rules as SQLiteWriter.upsert."""
        conn = self._conn
        versions.refuse_future(objects, path, datetime.now(UTC))
        newest: dict[str, tuple[str, dict[str, Any]]] = {}
        for obj in objects:
            modified = normalise_timestamp(obj.get("modified") or obj.get("created")) or ""
            held = newest.get(obj["id"])
            if held is None or modified > held[0]:
                newest[obj["id"]] = (modified, obj)

        stored = dict(
            conn.execute(
                "SELECT id, modified FROM objects WHERE id = ANY(%s)", (list(newest),)
            ).fetchall()
        )
        added = updated = unchanged = older = 0
        changed: list[tuple[str, dict[str, Any]]] = []
        replaced: list[str] = []
        for object_id, (modified, obj) in newest.items():
            current = stored.get(object_id)
            if current is None:
                added += 1
            elif modified > current:
                updated += 1
                replaced.append(object_id)
            else:
                if modified == current:
                    unchanged += 1
                else:
                    older += 1
                continue
            changed.append((modified, obj))
        foreign = self._foreign_versions(
            [newest[object_id][1] for object_id in replaced], source, path, allow_foreign
        )
        # Numbered under the writers' lock: no sequence, whose numbers a rollback would skip.
        rows = conn.execute(
            "INSERT INTO imports (id, source, path, started)"
            " SELECT coalesce(max(id), 0) + 1, %s, %s, %s FROM imports RETURNING id",
            (source, path, _now()),
        ).fetchone()
        assert rows is not None
        import_id = int(rows[0])
        for table, key in (
            ("relationships", "id"),
            ("external_ids", "object_id"),
            ("aliases", "object_id"),
        ):
            conn.execute(f"DELETE FROM {table} WHERE {key} = ANY(%s)", (replaced,))
        self._write_objects(changed, source, path, import_id, progress, set(replaced))
        older += len(objects) - len(newest)  # superseded versions within the same input
        conn.execute(
            "UPDATE imports SET finished = %s, received = %s, added = %s, updated = %s,"
            " unchanged = %s, older = %s WHERE id = %s",
            (_now(), len(objects), added, updated, unchanged, older, import_id),
        )
        return ImportReport(
            import_id, source, path, len(objects), added, updated, unchanged, older, foreign
        )

    def _foreign_versions(
        self, updates: list[dict[str, Any]], source: str, path: str, allow: bool
    ) -> int:
        """How many of `updates` (newer versions of stored objects) come from another producer
        than the stored version; without `allow`, the first of them is refused."""
        if not updates:
            return 0
        rows = self._conn.execute(
            "SELECT id, json -> 'created_by_ref', source FROM objects WHERE id = ANY(%s)",
            ([obj["id"] for obj in updates],),
        ).fetchall()
        producers = {i: versions.Producer.of(ref, importer) for i, ref, importer in rows}
        foreign = 0
        for obj in updates:
            new = versions.Producer.of(obj.get("created_by_ref"), versions.importer_of(obj, source))
            held = producers[obj["id"]]
            if new.same_as(held):
                continue
            if not allow:
                refs = [p.created_by_ref for p in (new, held) if p.created_by_ref]
                raise versions.foreign_version(obj, new, held, path, self._names(refs))
            foreign += 1
        return foreign

    def _names(self, ids: list[str]) -> dict[str, str]:
        """Stored names of the identities `ids`, to say who a producer is."""
        rows = self._conn.execute(
            "SELECT id, name FROM objects WHERE id = ANY(%s) AND name IS NOT NULL", (ids,)
        ).fetchall()
        return dict(rows)

    def _write_objects(
        self,
        changed: list[tuple[str, dict[str, Any]]],
        source: str,
        path: str,
        import_id: int,
        progress: Progress | None,
        replaced: set[str],
    ) -> None:
        """COPY the changed objects and the rows derived from each. New objects go straight
        into their tables: no other writer can add them meanwhile (the writers' lock). New
        versions of stored objects go into temporary tables, merged into the real ones by
        INSERT … ON CONFLICT."""
        conn = self._conn
        new = [item for item in changed if item[1]["id"] not in replaced]
        updates = [item for item in changed if item[1]["id"] in replaced]
        counter = _Progress(progress, len(changed))
        with conn.cursor() as cursor:
            self._copy_objects(cursor, new, source, path, import_id, "", counter)
            if not updates:
                return
            for table in _MERGED:
                cursor.execute(f"CREATE TEMP TABLE incoming_{table} (LIKE {table}) ON COMMIT DROP")
            self._copy_objects(cursor, updates, source, path, import_id, "incoming_", counter)
            cursor.execute(
                f"INSERT INTO objects SELECT {_OBJECT_COLUMNS} FROM incoming_objects"
                " ON CONFLICT (id) DO UPDATE SET type = excluded.type, name = excluded.name,"
                " created = excluded.created, modified = excluded.modified,"
                " revoked = excluded.revoked, deprecated = excluded.deprecated,"
                " source = excluded.source, import_id = excluded.import_id, json = excluded.json"
            )
            for table in _MERGED[1:]:
                cursor.execute(
                    f"INSERT INTO {table} SELECT * FROM incoming_{table} ON CONFLICT DO NOTHING"
                )
            for table in _MERGED:
                cursor.execute(f"DROP TABLE incoming_{table}")  # a second upsert may follow

    def _copy_objects(
        self,
        cursor: psycopg.Cursor[Any],
        items: list[tuple[str, dict[str, Any]]],
        source: str,
        path: str,
        import_id: int,
        into: str,
        counter: _Progress,
    ) -> None:
        """COPY `items` into the tables named with the prefix `into` (and relationships, whose
        replaced rows were deleted). The objects stream in one COPY, so building rows here and
        parsing jsonb on the server overlap; the rows derived from them follow."""
        if not items:
            return
        derived = _DerivedRows()
        _copy(
            cursor,
            f"{into}objects",
            self._object_rows(items, source, path, import_id, derived, counter),
        )
        _copy(cursor, f"{into}provenance", derived.provenance)
        # One row per key, the first, as SQLite's INSERT OR IGNORE keeps it.
        _copy(cursor, f"{into}external_ids", dict.fromkeys(derived.external_ids))
        first_alias: dict[tuple[str, str], tuple[str, str, str, str]] = {}
        for row in derived.aliases:
            first_alias.setdefault((row[0], row[2]), row)
        _copy(cursor, f"{into}aliases", first_alias.values())
        _copy(cursor, "relationships", derived.relationships)

    def _object_rows(
        self,
        items: list[tuple[str, dict[str, Any]]],
        source: str,
        path: str,
        import_id: int,
        derived: _DerivedRows,
        counter: _Progress,
    ) -> Iterator[tuple[Any, ...]]:
        for modified, obj in items:
            object_id = obj["id"]
            importer = versions.importer_of(obj, source)
            if versions.IMPORTER_PROPERTY in obj:  # said by the object, stored as a column
                obj = {k: v for k, v in obj.items() if k != versions.IMPORTER_PROPERTY}
            name = obj.get("name")
            text = _dumps(obj)
            if "\\u0000" in text:
                raise InputError(
                    path,
                    "a string holds a NUL character (\\u0000), which PostgreSQL cannot store",
                    where=f"object {object_id}",
                )
            yield (
                object_id,
                obj["type"],
                name if isinstance(name, str) else None,
                normalise_timestamp(obj.get("created")),
                modified,
                1 if obj.get("revoked") is True else 0,
                1 if obj.get("x_mitre_deprecated") is True else 0,
                importer,
                import_id,
                text,
            )
            derived.add(obj, object_id, modified, import_id, importer)
            counter.step()

    # -- actors ----------------------------------------------------------------------------

    def actor_objects(self) -> list[StoredObject]:
        rows = self._conn.execute(
            "SELECT json, source FROM objects WHERE type = ANY(%s) AND revoked = 0 ORDER BY id",
            (_ACTOR_TYPES,),
        ).fetchall()
        return [StoredObject(doc, source) for doc, source in rows]

    def splits(self) -> dict[str, str]:
        return dict(self._conn.execute("SELECT object_id, from_actor FROM actor_splits").fetchall())

    def add_split(self, object_id: str, from_actor: str) -> None:
        self._conn.execute(
            "INSERT INTO actor_splits VALUES (%s, %s, %s) ON CONFLICT (object_id)"
            " DO UPDATE SET from_actor = excluded.from_actor, created = excluded.created",
            (object_id, from_actor, _now()),
        )

    def remove_split(self, object_id: str) -> bool:
        cursor = self._conn.execute("DELETE FROM actor_splits WHERE object_id = %s", (object_id,))
        return cursor.rowcount > 0

    def replace_actors(self, actors: Iterable[ActorRow]) -> None:
        conn = self._conn
        for table in ("actors", "actor_members", "actor_lookup"):
            conn.execute(f"DELETE FROM {table}")
        actor_rows, member_rows, lookup_rows = [], [], []
        for actor in actors:
            actor_rows.append((actor.id, actor.name, actor.nexus, _dumps(actor.doc)))
            member_rows.extend((object_id, actor.id, source) for object_id, source in actor.members)
            lookup_rows.extend((name, actor.id) for name in set(actor.lookup))
        with conn.cursor() as cursor:
            _copy(cursor, "actors", actor_rows)
            _copy(cursor, "actor_members", member_rows)
            _copy(cursor, "actor_lookup", lookup_rows)

    def replace_actor_cves(self, rows: Iterable[Sequence[str]]) -> int:
        """Replace the derived actor -> CVE links (holder, cve, kind, via, label, origin,
        citations as a JSON list)."""
        conn = self._conn
        conn.execute("DELETE FROM actor_cves")
        batch = list(rows)
        with conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO actor_cves VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                batch,
            )
        return len(batch)

    # -- incident facts ----------------------------------------------------------------------

    def incident_objects(self) -> Iterator[tuple[dict[str, Any], str]]:
        # A server-side cursor: a million incidents stream instead of landing in memory at once.
        yield from _stream(
            self._conn,
            f"ts_incidents_{next(self._cursors)}",
            "SELECT json, source FROM objects WHERE type = 'incident' AND revoked = 0 ORDER BY id",
            (),
            hold=False,
        )

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
                count += self._copy_facts(batch, count)
                batch = []
        count += self._copy_facts(batch, count)
        conn.execute(
            "INSERT INTO incident_sources SELECT source, count(*), count(day), min(day), max(day)"
            " FROM incident_facts GROUP BY source"
        )
        return count

    def _copy_facts(self, batch: list[IncidentFacts], offset: int) -> int:
        rows, initiators, victims, labels = [], [], [], []
        for number, item in enumerate(batch, start=offset + 1):
            rows.append((number, item.incident_id, item.day, item.source))
            initiators.extend((number, item.day, *i) for i in item.initiators)
            victims.extend((number, *v) for v in item.victims)
            labels.extend((number, *label) for label in item.labels)
        with self._conn.cursor() as cursor:
            _copy(cursor, "incident_facts", rows)
            _copy(cursor, "incident_initiators", initiators)
            _copy(cursor, "incident_victims", victims)
            _copy(cursor, "incident_labels", labels)
        return len(batch)

    def analytics(self) -> SqliteDialectReader:
        """This transaction, for the code above the store that derives tables from objects with
        SQLite SQL while every import runs (actors/cves.py); callers only read."""
        return SqliteDialectReader(self._conn)


# `json LIKE '%CVE-%'`: SQLite compares the stored JSON text; jsonb must be cast to compare.
_JSON_LIKE = re.compile(r"\b((?:\w+\.)?json) LIKE\b")


class SqliteDialectReader:
    """A read view of a write transaction that takes the SQLite SQL code above the store still
    sends (`?` placeholders, `json LIKE`), and returns the object JSON as text as SQLite's `json`
    column does. It goes once that code calls named store methods (issue 13, item 2)."""

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
