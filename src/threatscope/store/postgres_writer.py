"""Writing the PostgreSQL knowledge base: one `PostgresWriter` per transaction of
`PostgresStore.write()` (postgres.py says how writers queue and why)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from threatscope.errors import InputError
from threatscope.names import normalise_name, object_aliases
from threatscope.stix.tlp import object_tlp_rank, tlp_definitions
from threatscope.stix.validate import normalise_timestamp
from threatscope.store import versions
from threatscope.store.base import ActorRow, ImportReport, IncidentFacts, Progress, StoredObject
from threatscope.store.postgres_actors import PostgresActorQueries
from threatscope.store.postgres_documents import PostgresDocumentQueries
from threatscope.store.postgres_landscape import PostgresLandscapeQueries
from threatscope.store.postgres_stream import stream
from threatscope.store.postgres_taxii import PostgresTaxiiQueries

__all__ = ["WRITERS_LOCK", "PostgresWriter", "stream"]

WRITERS_LOCK = int.from_bytes(b"TSKB", "big")  # the advisory lock every writer queues on
_WRITE_CHUNK = 5_000  # rows per batch of incident facts; objects between progress calls
_ACTOR_TYPES = ["intrusion-set", "threat-actor"]
_FACT_TABLES = (
    "incident_facts",
    "incident_initiators",
    "incident_victims",
    "incident_labels",
    "incident_sources",
)
_OBJECT_COLUMNS = (
    "id, type, name, created, modified, revoked, deprecated, source, import_id, json, tlp_rank,"
    " date_added"
)
# Tables a new version of a stored object is merged into through a temporary table.
_MERGED = ("objects", "provenance", "external_ids", "aliases")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


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


class PostgresWriter(
    PostgresLandscapeQueries, PostgresActorQueries, PostgresDocumentQueries, PostgresTaxiiQueries
):
    read_only = False  # a write transaction: its landscape working set is a savepoint in it

    def __init__(
        self, conn: psycopg.Connection[Any], location: str, cursors: Iterator[int]
    ) -> None:
        self._conn = conn
        self._location = location
        self.location = location
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
        newest = versions.newest_versions(objects)
        stored = dict(
            conn.execute(
                "SELECT id, modified FROM objects WHERE id = ANY(%s)", (list(newest),)
            ).fetchall()
        )
        found = versions.classify(newest, stored)
        replaced = found.replaced
        foreign = self._foreign_versions(
            [newest[object_id][1] for object_id in replaced], source, path, allow_foreign
        )
        # Numbered under the writers' lock: no sequence, whose numbers a rollback would skip.
        started = _now()  # under the writers' lock: later imports start later (TAXII date_added)
        rows = conn.execute(
            "INSERT INTO imports (id, source, path, started)"
            " SELECT coalesce(max(id), 0) + 1, %s, %s, %s FROM imports RETURNING id",
            (source, path, started),
        ).fetchone()
        assert rows is not None
        import_id = int(rows[0])
        for table, key in (
            ("relationships", "id"),
            ("external_ids", "object_id"),
            ("aliases", "object_id"),
        ):
            conn.execute(f"DELETE FROM {table} WHERE {key} = ANY(%s)", (replaced,))
        custom = tlp_definitions([*self.marking_definitions(), *(obj for _, obj in found.changed)])
        self._write_objects(
            found.changed, source, path, (import_id, started, custom), progress, set(replaced)
        )
        older = found.older + len(objects) - len(newest)  # and superseded versions in the input
        conn.execute(
            "UPDATE imports SET finished = %s, received = %s, added = %s, updated = %s,"
            " unchanged = %s, older = %s WHERE id = %s",
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
        if not updates:
            return 0
        rows = self._conn.execute(
            "SELECT id, json -> 'created_by_ref', source FROM objects WHERE id = ANY(%s)",
            ([obj["id"] for obj in updates],),
        ).fetchall()
        held = {i: versions.Producer.of(ref, importer) for i, ref, importer in rows}
        return versions.count_foreign(updates, held, source, path, allow, self._names)

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
        stamp: tuple[int, str, dict[str, str]],
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
            self._copy_objects(cursor, new, source, path, stamp, "", counter)
            if not updates:
                return
            for table in _MERGED:
                cursor.execute(f"CREATE TEMP TABLE incoming_{table} (LIKE {table}) ON COMMIT DROP")
            self._copy_objects(cursor, updates, source, path, stamp, "incoming_", counter)
            cursor.execute(
                f"INSERT INTO objects SELECT {_OBJECT_COLUMNS} FROM incoming_objects"
                " ON CONFLICT (id) DO UPDATE SET type = excluded.type, name = excluded.name,"
                " created = excluded.created, modified = excluded.modified,"
                " revoked = excluded.revoked, deprecated = excluded.deprecated,"
                " source = excluded.source, import_id = excluded.import_id, json = excluded.json,"
                " tlp_rank = excluded.tlp_rank, date_added = excluded.date_added"
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
        stamp: tuple[int, str, dict[str, str]],
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
            self._object_rows(items, source, path, stamp, derived, counter),
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
        stamp: tuple[int, str, dict[str, str]],
        derived: _DerivedRows,
        counter: _Progress,
    ) -> Iterator[tuple[Any, ...]]:
        import_id, date_added, custom = stamp  # custom: TLP definitions under their own ids
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
                object_tlp_rank(obj, importer, custom),
                date_added,
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
        actor_rows: list[tuple[str, str, str | None, str]] = []
        member_rows: list[tuple[str, str, str]] = []  # object id, actor id, source
        lookup_rows: list[tuple[str, str]] = []  # normalised name, actor id
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
        yield from stream(
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
        rows: list[tuple[int, str, int | None, str]] = []
        initiators: list[tuple[Any, ...]] = []  # number, day, then an IncidentFacts tuple
        victims: list[tuple[Any, ...]] = []
        labels: list[tuple[Any, ...]] = []
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
