"""PostgreSQL answers to `DocumentQueries` (store/queries.py): what a report credits and marks,
the same rows in the same order as SQLite's (sqlite_documents.py). Properties are read with
jsonb operators; text they yield is sorted byte-wise (COLLATE "C", as the columns are) and NULL
first, as SQLite sorts."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg

__all__ = ["PostgresDocumentQueries"]


class PostgresDocumentQueries:
    _conn: psycopg.Connection[Any]

    def marking_definitions(self) -> list[dict[str, Any]]:
        return [
            doc
            for (doc,) in self._conn.execute(
                "SELECT json FROM objects WHERE type = 'marking-definition' ORDER BY id"
            )
        ]

    def marking_ref_counts(self) -> list[tuple[str | None, int]]:
        # A property that is no array marks nothing (STIX validation allows none here);
        # jsonb_array_elements would fail on it.
        return self._conn.execute(
            "SELECT m.value COLLATE \"C\", count(DISTINCT o.id) FROM objects o,"
            " jsonb_array_elements_text(CASE WHEN jsonb_typeof(o.json->'object_marking_refs')"
            " = 'array' THEN o.json->'object_marking_refs' END) m WHERE o.revoked = 0 GROUP BY 1"
            " UNION ALL SELECT (g.value->>'marking_ref') COLLATE \"C\", count(DISTINCT o.id)"
            " FROM objects o, jsonb_array_elements(CASE WHEN"
            " jsonb_typeof(o.json->'granular_markings') = 'array'"
            " THEN o.json->'granular_markings' END) g WHERE o.revoked = 0 GROUP BY 1"
            " ORDER BY 1 NULLS FIRST, 2"
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
            "SELECT json->>'x_threatscope_source', json->>'x_threatscope_citation',"
            " json->>'x_threatscope_licence' FROM objects WHERE type = 'identity'"
            " AND revoked = 0 AND json->>'x_threatscope_source' IS NOT NULL ORDER BY id"
        ).fetchall()

    def table_import_sources(self) -> list[tuple[str, str, str | None]]:
        # A table import's incidents carry the mapping's `source` as their first reference.
        return self._conn.execute(
            "SELECT t.name, i.path, i.finished FROM (SELECT"
            " (o.json->'external_references'->0->>'source_name') COLLATE \"C\" AS name,"
            " max(o.import_id) AS import_id FROM objects o WHERE o.source = 'table'"
            " AND o.type = 'incident' AND o.revoked = 0 GROUP BY 1) t"
            " JOIN imports i ON i.id = t.import_id ORDER BY t.name NULLS FIRST"
        ).fetchall()

    def attack_matrix_domains(self) -> list[str | None]:
        # SQLite's json_extract gives an array as compact JSON text and a string as itself.
        return [
            value if value is None or isinstance(value, str) else orjson.dumps(value).decode()
            for (value,) in self._conn.execute(
                "SELECT json->'x_mitre_domains' FROM objects WHERE type = 'x-mitre-matrix'"
                " AND source = 'attack' AND revoked = 0 ORDER BY id"
            )
        ]

    def attack_collection_versions(self) -> list[str | None]:
        return [
            version
            for (version,) in self._conn.execute(
                "SELECT json->>'x_mitre_version' FROM objects WHERE type = 'x-mitre-collection'"
                " AND source = 'attack' AND revoked = 0 ORDER BY id"
            )
        ]

    def latest_modified(self, source: str, stix_type: str) -> str | None:
        row = self._conn.execute(
            "SELECT max(modified) FROM objects WHERE source = %s AND type = %s",
            (source, stix_type),
        ).fetchone()
        return row[0] if row else None
