"""PostgreSQL answers to `TaxiiQueries` (store/taxii_queries.py): the same rows in the same order
as SQLite's (sqlite_taxii.py); the JSON comes back as jsonb's text."""

from __future__ import annotations

from typing import Any

import psycopg

from threatscope.store.taxii_queries import CollectionFilter, TaxiiFilter, TaxiiRow, TaxiiScope
from threatscope.store.taxii_state import TaxiiStateSQL

__all__ = ["PostgresTaxiiQueries"]


class PostgresTaxiiQueries(TaxiiStateSQL):
    _conn: psycopg.Connection[Any]
    _taxii_marker = "%s"

    def taxii_sources(self, clearance: int) -> list[str]:
        # One index probe per source (a loose index scan of objects_by_source_added).
        rows = self._conn.execute(
            "WITH RECURSIVE s(source) AS ("
            " SELECT min(source) FROM objects"
            " UNION ALL SELECT (SELECT min(source) FROM objects WHERE source > s.source)"
            " FROM s WHERE s.source IS NOT NULL)"
            " SELECT source FROM s WHERE source IS NOT NULL AND EXISTS"
            " (SELECT 1 FROM objects o WHERE o.source = s.source AND o.tlp_rank <= %s)",
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
        clauses = ["tlp_rank <= %s"]
        params: list[Any] = [scope.clearance]
        if scope.kind == "source":
            clauses.append("source = %s")
            params.append(scope.value)
        elif scope.kind == "tlp":
            clauses.append("tlp_rank = %s")
            params.append(scope.value)
        elif isinstance(scope.value, CollectionFilter):
            for column, values in (
                ("source", scope.value.sources),
                ("type", scope.value.types),
                ("id", scope.value.ids),
            ):
                if values:
                    clauses.append(f"{column} = ANY(%s)")
                    params.append(list(values))
            if scope.value.tlp_ceiling is not None:
                clauses.append("tlp_rank <= %s")
                params.append(scope.value.tlp_ceiling)
        for column, values in (
            ("id", match.ids),
            ("type", match.types),
            ("modified", match.versions),
            ("coalesce(json ->> 'spec_version', '2.0')", match.spec_versions),
        ):
            if values:
                clauses.append(f"{column} = ANY(%s)")
                params.append(list(values))
        if match.added_after is not None:
            clauses.append("date_added > %s")
            params.append(match.added_after)
        if after is not None:
            clauses.append("(date_added, id) > (%s, %s)")
            params.extend(after)
        body = "json::text" if with_json else "''"
        rows = self._conn.execute(
            f"SELECT id, date_added, modified, created, {body} FROM objects"
            f" WHERE {' AND '.join(clauses)} ORDER BY date_added, id LIMIT %s",
            (*params, limit),
        ).fetchall()
        return [TaxiiRow(*row) for row in rows]
