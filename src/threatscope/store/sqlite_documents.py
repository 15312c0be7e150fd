"""SQLite answers to `DocumentQueries` (store/queries.py): what a report credits and marks."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

__all__ = ["SQLiteDocumentQueries"]


class SQLiteDocumentQueries:
    _conn: sqlite3.Connection

    def marking_definitions(self) -> list[dict[str, Any]]:
        return [
            orjson.loads(doc)
            for (doc,) in self._conn.execute(
                "SELECT json FROM objects WHERE type = 'marking-definition' ORDER BY id"
            )
        ]

    def marking_ref_counts(self) -> list[tuple[str | None, int]]:
        return self._conn.execute(
            "SELECT m.value, count(DISTINCT o.id) FROM objects o,"
            " json_each(o.json, '$.object_marking_refs') m WHERE o.revoked = 0 GROUP BY 1"
            " UNION ALL SELECT json_extract(g.value, '$.marking_ref'), count(DISTINCT o.id)"
            " FROM objects o, json_each(o.json, '$.granular_markings') g WHERE o.revoked = 0"
            " GROUP BY 1 ORDER BY 1, 2"
        ).fetchall()

    def changing_imports(self) -> list[tuple[str, str, str | None]]:
        return self._conn.execute(
            "SELECT source, path, finished FROM imports WHERE added + updated > 0 ORDER BY id"
        ).fetchall()

    def object_sources(self) -> list[str]:
        return [
            name
            for (name,) in self._conn.execute(
                "SELECT DISTINCT source FROM objects WHERE revoked = 0 ORDER BY source"
            )
        ]

    def declared_sources(self) -> list[tuple[str, str | None, str | None]]:
        return self._conn.execute(
            "SELECT json_extract(json, '$.x_threatscope_source'),"
            " json_extract(json, '$.x_threatscope_citation'),"
            " json_extract(json, '$.x_threatscope_licence')"
            " FROM objects WHERE type = 'identity' AND revoked = 0"
            " AND json_extract(json, '$.x_threatscope_source') IS NOT NULL ORDER BY id"
        ).fetchall()

    def table_import_sources(self) -> list[tuple[str, str, str | None]]:
        # A table import's incidents carry the mapping's `source` as their first reference.
        return self._conn.execute(
            "SELECT name, path, finished FROM (SELECT json_extract(o.json,"
            " '$.external_references[0].source_name') AS name, max(o.import_id) AS import_id"
            " FROM objects o WHERE o.source = 'table' AND o.type = 'incident' AND o.revoked = 0"
            " GROUP BY 1) JOIN imports i ON i.id = import_id ORDER BY name"
        ).fetchall()

    def attack_matrix_domains(self) -> list[str | None]:
        return [
            raw
            for (raw,) in self._conn.execute(
                "SELECT json_extract(json, '$.x_mitre_domains') FROM objects"
                " WHERE type = 'x-mitre-matrix' AND source = 'attack' AND revoked = 0 ORDER BY id"
            )
        ]

    def attack_collection_versions(self) -> list[str | None]:
        return [
            version
            for (version,) in self._conn.execute(
                "SELECT json_extract(json, '$.x_mitre_version') FROM objects"
                " WHERE type = 'x-mitre-collection' AND source = 'attack' AND revoked = 0"
                " ORDER BY id"
            )
        ]

    def latest_modified(self, source: str, stix_type: str) -> str | None:
        return self._conn.execute(
            "SELECT max(modified) FROM objects WHERE source = ? AND type = ?", (source, stix_type)
        ).fetchone()[0]
