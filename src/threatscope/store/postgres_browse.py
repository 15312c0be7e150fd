"""PostgreSQL answers to `BrowseQueries` (store/browse_queries.py), the same rows in the same
order as SQLite's (sqlite_browse.py): ILIKE where SQLite's LIKE ignores ASCII case, and lists as
one `= ANY(%s)` array parameter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from threatscope.store.browse_queries import like_pattern

__all__ = ["PostgresBrowseQueries"]


class PostgresBrowseQueries:
    _conn: psycopg.Connection[Any]

    def search_objects(
        self, text: str, types: Sequence[str], clearance: int, limit: int
    ) -> list[tuple[str, str, str]]:
        if not types:
            return []
        return self._conn.execute(
            "SELECT id, type, name FROM objects WHERE type = ANY(%s)"
            " AND revoked = 0 AND tlp_rank <= %s AND name ILIKE %s ESCAPE '\\'"
            " ORDER BY lower(name), id LIMIT %s",
            (list(types), clearance, like_pattern(text), limit),
        ).fetchall()

    def linked_objects(
        self, ids: Sequence[str], clearance: int
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        found: list[tuple[str, str, str, dict[str, Any]]] = []
        wanted = sorted(set(ids))
        for direction, near, far in (("out", "source_ref", "target_ref"),
                                     ("in", "target_ref", "source_ref")):
            rows = self._conn.execute(
                f"SELECT r.relationship_type, other.id, other.json FROM relationships r"
                " JOIN objects rel ON rel.id = r.id"
                f" JOIN objects other ON other.id = r.{far}"
                f" WHERE r.{near} = ANY(%s)"
                " AND rel.revoked = 0 AND rel.deprecated = 0 AND rel.tlp_rank <= %s"
                " AND other.revoked = 0 AND other.tlp_rank <= %s",
                (wanted, clearance, clearance),
            ).fetchall()
            found.extend((direction, t, i, doc) for t, i, doc in rows)
        found.sort(key=lambda row: row[:3])
        return found

    def initiated_incidents(
        self, actor_refs: Sequence[str], clearance: int, limit: int
    ) -> list[dict[str, Any]]:
        if not actor_refs:
            return []
        rows = self._conn.execute(
            "SELECT o.json FROM objects o JOIN incident_facts f ON f.incident_id = o.id"
            " WHERE o.revoked = 0 AND o.tlp_rank <= %s AND f.fact IN (SELECT fact FROM"
            " incident_initiators WHERE actor_ref = ANY(%s))"
            " ORDER BY f.day IS NULL, f.day DESC, o.id LIMIT %s",
            (clearance, sorted(set(actor_refs)), limit),
        ).fetchall()
        return [doc for (doc,) in rows]

    def object_tlp_ranks(self, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        return dict(
            self._conn.execute(
                "SELECT id, tlp_rank FROM objects WHERE id = ANY(%s) ORDER BY id",
                (sorted(set(ids)),),
            ).fetchall()
        )

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
            ).fetchall()
        )
