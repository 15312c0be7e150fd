"""SQLite answers to `BrowseQueries` (store/browse_queries.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from threatscope.store.browse_queries import like_pattern

__all__ = ["SQLiteBrowseQueries"]

_CHUNK = 500  # ids per `IN (…)`: well below SQLite's bound-parameter limit


def _marks(count: int) -> str:
    return ",".join("?" * count)


class SQLiteBrowseQueries:
    _conn: sqlite3.Connection

    def search_objects(
        self, text: str, types: Sequence[str], clearance: int, limit: int
    ) -> list[tuple[str, str, str]]:
        if not types:
            return []
        return self._conn.execute(
            f"SELECT id, type, name FROM objects WHERE type IN ({_marks(len(types))})"
            " AND revoked = 0 AND tlp_rank <= ? AND name LIKE ? ESCAPE '\\'"
            " ORDER BY lower(name), id LIMIT ?",
            (*types, clearance, like_pattern(text), limit),
        ).fetchall()

    def linked_objects(
        self, ids: Sequence[str], clearance: int
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        found: list[tuple[str, str, str, dict[str, Any]]] = []
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            for direction, near, far in (("out", "source_ref", "target_ref"),
                                         ("in", "target_ref", "source_ref")):
                rows = self._conn.execute(
                    f"SELECT r.relationship_type, other.id, other.json FROM relationships r"
                    " JOIN objects rel ON rel.id = r.id"
                    f" JOIN objects other ON other.id = r.{far}"
                    f" WHERE r.{near} IN ({_marks(len(chunk))})"
                    " AND rel.revoked = 0 AND rel.deprecated = 0 AND rel.tlp_rank <= ?"
                    " AND other.revoked = 0 AND other.tlp_rank <= ?",
                    (*chunk, clearance, clearance),
                )
                found.extend((direction, t, i, orjson.loads(doc)) for t, i, doc in rows)
        found.sort(key=lambda row: row[:3])
        return found

    def initiated_incidents(
        self, actor_refs: Sequence[str], clearance: int, limit: int
    ) -> list[dict[str, Any]]:
        if not actor_refs:
            return []
        # Every actor's members can be thousands of ids: one JSON array, not chunks, so that
        # the order and the limit apply to the whole answer.
        refs = orjson.dumps(sorted(set(actor_refs))).decode()
        rows = self._conn.execute(
            "SELECT o.json FROM objects o JOIN incident_facts f ON f.incident_id = o.id"
            " WHERE o.revoked = 0 AND o.tlp_rank <= ? AND f.fact IN (SELECT fact FROM"
            " incident_initiators WHERE actor_ref IN (SELECT value FROM json_each(?)))"
            " ORDER BY f.day IS NULL, f.day DESC, o.id LIMIT ?",
            (clearance, refs, limit),
        )
        return [orjson.loads(doc) for (doc,) in rows]

    def object_tlp_ranks(self, ids: Sequence[str]) -> dict[str, int]:
        ranks: dict[str, int] = {}
        wanted = sorted(set(ids))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            ranks.update(
                self._conn.execute(
                    f"SELECT id, tlp_rank FROM objects WHERE id IN ({_marks(len(chunk))})", chunk
                )
            )
        return dict(sorted(ranks.items()))

    def recorded_splits(self) -> dict[str, str]:
        return dict(
            self._conn.execute(
                "SELECT object_id, from_actor FROM actor_splits ORDER BY object_id"
            ).fetchall()
        )

    def actor_tlp_ranks(self) -> dict[str, int]:
        return dict(
            self._conn.execute(
                "SELECT m.actor_id, max(o.tlp_rank) FROM actor_members m"
                " JOIN objects o ON o.id = m.object_id GROUP BY m.actor_id ORDER BY m.actor_id"
            )
        )
