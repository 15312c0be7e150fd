"""What the knowledge base remembers for TAXII, on either backend (one SQL, two markers): the
collections an admin defined on the server (`taxii_collections`, a filter over the objects) and
where `threatscope import taxii` resumes each collection it pulled (`taxii_resume`, written in
the import's own transaction, beside the import record it names).

Reads run on any connection; the writes run inside the caller's write transaction (the store's
`write()`), so a collection or a resume point lands with what goes with it, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["ResumePoint", "TaxiiStateSQL", "UserCollectionRow"]

_COLLECTION = "id, title, description, filter, created, created_by"


@dataclass(frozen=True)
class UserCollectionRow:
    """A user-defined collection; `filter`: its filter as stored (server/user_collections.py)."""

    id: str
    title: str
    description: str
    filter: dict[str, Any]
    created: str
    created_by: str


@dataclass(frozen=True)
class ResumePoint:
    """Where the next pull of (url, collection) starts: after `added_last`, which the import
    `import_id` reached."""

    url: str
    collection: str
    added_last: str
    import_id: int


class TaxiiStateSQL:
    """Mixed into a store's and a writer's query classes; SQL written with `?` markers."""

    _conn: Any
    _taxii_marker = "?"

    def _taxii_run(self, statement: str, params: tuple[Any, ...] = ()) -> Any:
        return self._conn.execute(statement.replace("?", self._taxii_marker), params)

    def taxii_user_collections(self) -> list[UserCollectionRow]:
        rows = self._taxii_run(f"SELECT {_COLLECTION} FROM taxii_collections ORDER BY created, id")
        return [
            UserCollectionRow(cid, title, description, orjson.loads(spec), created, by)
            for cid, title, description, spec, created, by in rows.fetchall()
        ]

    def insert_taxii_collection(self, row: UserCollectionRow) -> None:
        self._taxii_run(
            f"INSERT INTO taxii_collections ({_COLLECTION}) VALUES (?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.title,
                row.description,
                orjson.dumps(row.filter, option=orjson.OPT_SORT_KEYS).decode(),
                row.created,
                row.created_by,
            ),
        )

    def delete_taxii_collection(self, collection_id: str) -> bool:
        cursor = self._taxii_run("DELETE FROM taxii_collections WHERE id = ?", (collection_id,))
        return bool(cursor.rowcount)

    def taxii_resume_point(self, url: str, collection: str) -> ResumePoint | None:
        row = self._taxii_run(
            "SELECT url, collection, added_last, import_id FROM taxii_resume"
            " WHERE url = ? AND collection = ?",
            (url, collection),
        ).fetchone()
        return ResumePoint(*row) if row else None

    def record_taxii_resume(
        self, url: str, collection: str, added_last: str, import_id: int
    ) -> None:
        self._taxii_run(
            "INSERT INTO taxii_resume (url, collection, added_last, import_id)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (url, collection) DO UPDATE"
            " SET added_last = excluded.added_last, import_id = excluded.import_id",
            (url, collection, added_last, import_id),
        )
