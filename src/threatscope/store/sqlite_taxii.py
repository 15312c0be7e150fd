"""SQLite answers to `TaxiiQueries` (store/taxii_queries.py)."""

from __future__ import annotations

import sqlite3
from typing import Any

from threatscope.store.taxii_queries import CollectionFilter, TaxiiFilter, TaxiiRow, TaxiiScope
from threatscope.store.taxii_state import TaxiiStateSQL

__all__ = ["SQLiteTaxiiQueries"]


def _marks(values: tuple[Any, ...]) -> str:
    return ",".join("?" * len(values))


class SQLiteTaxiiQueries(TaxiiStateSQL):
    _conn: sqlite3.Connection

    def taxii_sources(self, clearance: int) -> list[str]:
        # One index probe per source (a skip scan of objects_by_source_added), not a table scan.
        rows = self._conn.execute(
            "WITH RECURSIVE s(source) AS ("
            " SELECT min(source) FROM objects"
            " UNION ALL SELECT (SELECT min(source) FROM objects WHERE source > s.source)"
            " FROM s WHERE s.source IS NOT NULL)"
            " SELECT source FROM s WHERE source IS NOT NULL AND EXISTS"
            " (SELECT 1 FROM objects o WHERE o.source = s.source AND o.tlp_rank <= ?)",
            (clearance,),
        ).fetchall()
        return [source for (source,) in rows]

    def taxii_page(
        self,
        scope: TaxiiScope,
        match: TaxiiFilter,
        after: tuple[str, str] | None,
        limit: int,
        with_json: bool = True,
    ) -> list[TaxiiRow]:
        clauses = ["tlp_rank <= ?"]
        params: list[Any] = [scope.clearance]
        if scope.kind == "source":
            clauses.append("source = ?")
            params.append(scope.value)
        elif scope.kind == "tlp":
            clauses.append("tlp_rank = ?")
            params.append(scope.value)
        elif isinstance(scope.value, CollectionFilter):
            for column, values in (
                ("source", scope.value.sources),
                ("type", scope.value.types),
                ("id", scope.value.ids),
            ):
                if values:
                    clauses.append(f"{column} IN ({_marks(values)})")
                    params.extend(values)
            if scope.value.tlp_ceiling is not None:
                clauses.append("tlp_rank <= ?")
                params.append(scope.value.tlp_ceiling)
        if match.ids:
            clauses.append(f"id IN ({_marks(match.ids)})")
            params.extend(match.ids)
        if match.types:
            clauses.append(f"type IN ({_marks(match.types)})")
            params.extend(match.types)
        if match.versions:
            clauses.append(f"modified IN ({_marks(match.versions)})")
            params.extend(match.versions)
        if match.spec_versions:
            # STIX 2.0 objects carry no spec_version.
            clauses.append(
                f"coalesce(json_extract(json, '$.spec_version'), '2.0')"
                f" IN ({_marks(match.spec_versions)})"
            )
            params.extend(match.spec_versions)
        if match.added_after is not None:
            clauses.append("date_added > ?")
            params.append(match.added_after)
        if after is not None:
            clauses.append("(date_added, id) > (?, ?)")
            params.extend(after)
        body = "json" if with_json else "''"
        rows = self._conn.execute(
            f"SELECT id, date_added, modified, created, {body} FROM objects"
            f" WHERE {' AND '.join(clauses)} ORDER BY date_added, id LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [TaxiiRow(*row) for row in rows]
