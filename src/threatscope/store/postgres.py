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
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import set_json_loads

from threatscope.errors import ConfigError, StoreError
from threatscope.names import normalise_name
from threatscope.store import migrations, postgres_migrations
from threatscope.store.access_sql import AccessSQL
from threatscope.store.base import SchemaUpgrade, StoredObject
from threatscope.store.location import shown_location
from threatscope.store.postgres_actors import PostgresActorQueries
from threatscope.store.postgres_browse import PostgresBrowseQueries
from threatscope.store.postgres_documents import PostgresDocumentQueries
from threatscope.store.postgres_landscape import PostgresLandscapeQueries
from threatscope.store.postgres_taxii import PostgresTaxiiQueries
from threatscope.store.postgres_writer import WRITERS_LOCK, PostgresWriter, stream
from threatscope.store.queries import ActorQueries, DocumentQueries, LandscapeQueries

__all__ = ["PostgresStore", "libpq_url"]

_APPLICATION = "ThreatScope knowledge base"
_NO_KB_YET = "no knowledge base here yet; fill one with `threatscope sync` or `threatscope import`"


def libpq_url(url: str) -> str:
    """`url` as libpq takes it: SQLAlchemy's `postgresql+psycopg://` names the same database."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.lower().startswith("postgres") else url


def _sorted_keys(data: bytes | bytearray | memoryview | str) -> Any:
    """A jsonb value parsed with its keys in sorted order at every level, as SQLite stores
    documents (jsonb keeps them shortest first): dicts iterate, and print, alike on both
    backends. orjson sorts in C, a few times faster than sorting in Python."""
    return orjson.loads(orjson.dumps(orjson.loads(data), option=orjson.OPT_SORT_KEYS))


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


class PostgresStore(
    PostgresLandscapeQueries,
    PostgresActorQueries,
    PostgresDocumentQueries,
    PostgresTaxiiQueries,
    AccessSQL,
    PostgresBrowseQueries,
):
    _marker = "%s"
    _json_marker = "%s::jsonb"

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
        self._url = libpq_url(url)
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
                f"changed: {_reason(exc, self._url)}"
            ) from None
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            # An unreachable host fails in seconds instead of hanging the command.
            timeout: dict[str, Any] = (
                {} if "connect_timeout" in _settings(self._url) else {"connect_timeout": 10}
            )
            conn = psycopg.connect(self._url, autocommit=True, **timeout)
        except psycopg.Error as exc:
            reason = _reason(exc, self._url)
            raise ConfigError(f"{self.location}: cannot connect: {reason}") from None
        set_json_loads(_sorted_keys, conn)
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
            with PostgresStore(self._url, create=False, steps=self._steps) as writer:
                self.upgrade = writer.upgrade
            return
        self._create_or_migrate()

    def _create_or_migrate(self) -> None:
        """Create the schema in an empty database, or bring an older one up to date: one
        transaction under the writers' lock, so two processes opening at once both succeed."""
        conn = self._conn
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITERS_LOCK,))
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
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITERS_LOCK,))
                yield PostgresWriter(conn, self.location, self._cursors)
        except psycopg.Error as exc:
            raise StoreError(
                f"{self.location}: write failed, nothing was changed: {_reason(exc, self._url)}"
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
        for doc, source in stream(
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
        """Raw SQL is SQLite's (tests and benches); here it says it is not available."""
        raise _unavailable(self.location, sys._getframe(1))

    def __getattr__(self, name: str) -> Any:
        """An analytics question (`store.queries.Analytics`) PostgreSQL does not answer yet
        (`_NOT_YET`) says so in one line, naming the feature that asked."""
        if name in _NOT_YET:
            raise _unavailable(self.location, sys._getframe(1))
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# The questions of the analytics protocols PostgresStore does not answer yet (no mixin of its
# class holds them): computed, so each leaves this set as its protocol is mixed in.
_NOT_YET = frozenset(
    name
    for protocol in (LandscapeQueries, ActorQueries, DocumentQueries)
    for name in vars(protocol)
    if not name.startswith("_") and not hasattr(PostgresStore, name)
)
