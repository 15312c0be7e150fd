"""SQLite answers to `LandscapeQueries` (store/queries.py): SQL over the incident fact tables.

The landscape's working set lives in temporary tables of the connection: `landscape_nexus(day,
nexus, fact, weight)` from `select_landscape`, the window's rows, incidents and victims from
`landscape_window`, and the sector/region lookups; `end_landscape` drops them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Literal

from threatscope.store.queries import IncidentAttribute, IncidentSelection, VictimFilter

__all__ = ["SQLiteLandscapeQueries"]

# Where each coded attribute lives: (table, column); fixed names, never user input.
_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "victim_sector": ("incident_victims", "sector"),
    "initiator_category": ("incident_initiators", "category"),
}
_WORKING_SET = (
    "landscape_nexus",
    "landscape_window",
    "landscape_window_facts",
    "landscape_victims",
)
# Breakdown groups: the lookup table, its group column, and the victim column it joins on.
_GROUPS = {
    "sector": ("sector_root", "root", "sector"),
    "region": ("country_region", "region", "country"),
}


def _victim_clause(victims: VictimFilter, params: list[object], fact: str = "i.fact") -> str:
    """` AND EXISTS (…)` restricting `fact` (a column) to incidents with a victim that passes
    `victims`; "" without such filters. Appends its parameters."""
    conditions = []
    if victims.sectors is not None:
        conditions.append(f"v.sector IN ({','.join('?' * len(victims.sectors))})")
        params.extend(victims.sectors)
    if victims.countries is not None:
        ordered = victims.countries
        conditions.append(f"v.country IN ({','.join('?' * len(ordered))})" if ordered else "0")
        params.extend(ordered)
    if not conditions:
        return ""
    # One victim row carries both its sector and its country, so both must hold for one victim.
    return (
        f" AND EXISTS (SELECT 1 FROM incident_victims v WHERE v.fact = {fact} AND "
        + " AND ".join(conditions)
        + ")"
    )


class SQLiteLandscapeQueries:
    _conn: sqlite3.Connection

    # -- sources and dates ---------------------------------------------------------------

    def latest_incident_day(self) -> int | None:
        return self._conn.execute("SELECT max(day) FROM incident_facts").fetchone()[0]

    def incident_source_names(self) -> list[str]:
        query = "SELECT source FROM incident_sources ORDER BY 1"
        return [row[0] for row in self._conn.execute(query)]

    def incident_source_summaries(self) -> list[tuple[str, int, int, int | None, int | None]]:
        return self._conn.execute(
            "SELECT source, incidents, dated, first_day, last_day FROM incident_sources"
            " ORDER BY source"
        ).fetchall()

    def source_has_incident_between(self, source: str, first_day: int, last_day: int) -> bool:
        return (
            self._conn.execute(
                "SELECT 1 FROM incident_facts WHERE source = ? AND day BETWEEN ? AND ? LIMIT 1",
                (source, first_day, last_day),
            ).fetchone()
            is not None
        )

    def source_incident_count(self, source: str, first_day: int, last_day: int) -> int:
        return self._conn.execute(
            "SELECT count(*) FROM incident_facts WHERE source = ? AND day BETWEEN ? AND ?",
            (source, first_day, last_day),
        ).fetchone()[0]

    def source_codes_any(
        self, source: str, attribute: IncidentAttribute, values: Iterable[str]
    ) -> bool:
        # Stops at the first, so a source that codes them costs next to nothing.
        table, column = _ATTRIBUTES[attribute]
        wanted = sorted(values)
        marks = ",".join("?" * len(wanted))
        return (
            self._conn.execute(
                f"SELECT 1 FROM {table} x JOIN incident_facts f ON f.fact = x.fact"
                f" WHERE f.source = ? AND x.{column} IN ({marks}) LIMIT 1",
                (source, *wanted),
            ).fetchone()
            is not None
        )

    def source_coded_values(self, source: str, attribute: IncidentAttribute) -> set[str]:
        table, column = _ATTRIBUTES[attribute]
        return {
            value
            for (value,) in self._conn.execute(
                f"SELECT DISTINCT x.{column} FROM incident_facts f JOIN {table} x"
                f" ON x.fact = f.fact WHERE f.source = ? AND x.{column} IS NOT NULL",
                (source,),
            )
        }

    def latest_import_finished(self) -> str | None:
        row = self._conn.execute("SELECT max(finished) FROM imports").fetchone()
        return row[0] if row else None

    def dated_incident_counts(self) -> list[tuple[str, int]]:
        return self._conn.execute(
            "SELECT source, dated FROM incident_sources ORDER BY source"
        ).fetchall()

    def source_day_counts_before(self, source: str, day: int) -> list[tuple[int, int]]:
        return self._conn.execute(
            "SELECT day, count(*) FROM incident_facts WHERE source = ? AND day < ?"
            " GROUP BY day ORDER BY day",
            (source, day),
        ).fetchall()

    def source_latest_days(self, source: str, earliest: int, limit: int) -> list[int]:
        return [
            day
            for (day,) in self._conn.execute(
                "SELECT day FROM incident_facts WHERE source = ? AND day >= ?"
                " ORDER BY day DESC LIMIT ?",
                (source, earliest, limit),
            )
        ]

    def source_incidents_after(self, source: str, day: int) -> int:
        return self._conn.execute(
            "SELECT count(*) FROM incident_facts WHERE source = ? AND day > ?", (source, day)
        ).fetchone()[0]

    def source_day_at(self, source: str, earliest: int, offset: int) -> int | None:
        row = self._conn.execute(
            "SELECT day FROM incident_facts WHERE source = ? AND day >= ?"
            " ORDER BY day DESC LIMIT 1 OFFSET ?",
            (source, earliest, offset),
        ).fetchone()
        return None if row is None else row[0]

    def source_first_day(self, source: str, earliest: int) -> int | None:
        return self._conn.execute(
            "SELECT min(day) FROM incident_facts WHERE source = ? AND day >= ?", (source, earliest)
        ).fetchone()[0]

    # -- the working set -------------------------------------------------------------------

    def select_landscape(self, selection: IncidentSelection) -> None:
        conn = self._conn
        params: list[object] = [selection.first_day, selection.last_day]
        extra = ""
        if selection.sources:
            extra = (
                " AND i.fact IN (SELECT fact FROM incident_facts f WHERE f.source IN"
                f" ({','.join('?' * len(selection.sources))}))"
            )
            params.extend(selection.sources)
        extra += _victim_clause(selection.victims, params)
        categories = list(selection.categories)
        state = list(selection.state_categories)
        conn.execute("DROP TABLE IF EXISTS temp.landscape_raw")
        conn.execute("DROP TABLE IF EXISTS temp.landscape_nexus")
        # Range scan of the covering day index; only initiators naming an actor probe
        # actor_members.
        conn.execute(
            "CREATE TEMP TABLE landscape_raw AS"
            " SELECT DISTINCT i.fact AS fact, i.day AS day,"
            f"  coalesce(CASE WHEN i.category IN ({','.join('?' * len(state))}) THEN i.country END,"
            "           (SELECT a.nexus FROM actor_members m JOIN actors a ON a.id = m.actor_id"
            "            WHERE m.object_id = i.actor_ref), 'unknown') AS nexus"
            " FROM incident_initiators i"
            f" WHERE i.day BETWEEN ? AND ?"
            f"  AND i.category IN ({','.join('?' * len(categories))}){extra}",
            [*state, *params[:2], *categories, *params[2:]],
        )
        conn.execute("CREATE INDEX temp.landscape_raw_by_fact ON landscape_raw(fact, nexus)")
        # `unknown` only where the incident has no known nexus at all.
        conn.execute(
            "DELETE FROM temp.landscape_raw WHERE nexus = 'unknown' AND fact IN"
            " (SELECT fact FROM temp.landscape_raw WHERE nexus != 'unknown')"
        )
        # Keyed (day, nexus, fact) and filled in that order: window counts and the trend read
        # it as a covering range without building a second index.
        conn.execute(
            "CREATE TEMP TABLE landscape_nexus (day INTEGER, nexus TEXT, fact INTEGER,"
            " weight REAL, PRIMARY KEY (day, nexus, fact)) WITHOUT ROWID"
        )
        conn.execute(
            "INSERT INTO temp.landscape_nexus SELECT r.day, r.nexus, r.fact,"
            " 1.0 / (SELECT count(*) FROM temp.landscape_raw k WHERE k.fact = r.fact)"
            " FROM temp.landscape_raw r ORDER BY r.day, r.nexus, r.fact"
        )
        conn.execute("DROP TABLE temp.landscape_raw")

    def landscape_lookups(
        self, sector_roots: Sequence[tuple[str, str]], country_regions: Sequence[tuple[str, str]]
    ) -> None:
        conn = self._conn
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS sector_root (sector TEXT PRIMARY KEY, root TEXT)"
        )
        conn.execute("DELETE FROM temp.sector_root")
        conn.executemany("INSERT INTO temp.sector_root VALUES (?, ?)", sector_roots)
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS country_region (country TEXT PRIMARY KEY, region TEXT)"
        )
        conn.execute("DELETE FROM temp.country_region")
        conn.executemany("INSERT INTO temp.country_region VALUES (?, ?)", country_regions)

    def landscape_window(self, first_day: int, last_day: int) -> None:
        # Every breakdown starts from these (and, through CROSS JOIN, SQLite keeps them as the
        # outer loop).
        conn = self._conn
        conn.execute(
            "CREATE TEMP TABLE landscape_window AS SELECT fact, nexus, weight"
            " FROM temp.landscape_nexus WHERE day BETWEEN ? AND ? ORDER BY fact",
            (first_day, last_day),
        )
        conn.execute(
            "CREATE TEMP TABLE landscape_window_facts AS"
            " SELECT DISTINCT fact FROM temp.landscape_window ORDER BY fact"
        )
        # (incident, nexus, victim sector, victim country): what sector and region breakdowns
        # count.
        conn.execute(
            "CREATE TEMP TABLE landscape_victims AS"
            " SELECT DISTINCT n.fact, n.nexus, v.sector, v.country FROM temp.landscape_window n"
            " CROSS JOIN incident_victims v ON v.fact = n.fact"
        )

    def landscape_nexus_counts(
        self, first_day: int, last_day: int, weighted: bool
    ) -> tuple[int, list[tuple[str, float]]]:
        total = self._conn.execute(
            "SELECT count(DISTINCT fact) FROM landscape_nexus WHERE day BETWEEN ? AND ?",
            (first_day, last_day),
        ).fetchone()[0]
        measure = "sum(weight)" if weighted else "count(*)"
        rows = self._conn.execute(
            f"SELECT nexus, {measure} FROM landscape_nexus WHERE day BETWEEN ? AND ?"
            " GROUP BY nexus",
            (first_day, last_day),
        ).fetchall()
        return total, rows

    def landscape_day_counts(
        self, first_day: int, last_day: int, weighted: bool
    ) -> tuple[list[tuple[int, str, float]], dict[int, int]]:
        measure = "sum(weight)" if weighted else "count(*)"
        by_day = self._conn.execute(
            f"SELECT day, nexus, {measure} FROM landscape_nexus"
            " WHERE day BETWEEN ? AND ? GROUP BY day, nexus",
            (first_day, last_day),
        ).fetchall()
        facts_by_day = dict(
            self._conn.execute(
                "SELECT day, count(DISTINCT fact) FROM landscape_nexus WHERE day BETWEEN ? AND ?"
                " GROUP BY day",
                (first_day, last_day),
            ).fetchall()
        )
        return by_day, facts_by_day

    def landscape_group_counts(
        self, by: Literal["sector", "region"]
    ) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]]:
        conn = self._conn
        table, group, join_column = _GROUPS[by]
        # Distinct (incident, nexus, group): an incident with two victims in one group counts
        # once.
        conn.execute("DROP TABLE IF EXISTS temp.landscape_groups")
        conn.execute(
            "CREATE TEMP TABLE landscape_groups AS SELECT DISTINCT v.fact, v.nexus,"
            f" t.{group} AS grp FROM temp.landscape_victims v CROSS JOIN temp.{table} t"
            f" ON t.{join_column} = v.{join_column}"
        )
        per_nexus = dict(
            ((nexus, value), count)
            for nexus, value, count in conn.execute(
                "SELECT nexus, grp, count(*) FROM temp.landscape_groups GROUP BY 1, 2"
            )
        )
        overall = dict(
            conn.execute(
                "SELECT grp, count(DISTINCT fact) FROM temp.landscape_groups GROUP BY 1"
            ).fetchall()
        )
        conn.execute("DROP TABLE temp.landscape_groups")
        nexus_totals = dict(
            conn.execute("SELECT nexus, count(*) FROM temp.landscape_window GROUP BY 1").fetchall()
        )
        return per_nexus, overall, nexus_totals

    def landscape_label_counts(
        self, kind: str
    ) -> tuple[list[tuple[str, int]], list[tuple[str, str, int]]]:
        overall = self._conn.execute(
            "SELECT l.value, count(*) FROM temp.landscape_window_facts n"
            " CROSS JOIN incident_labels l ON l.fact = n.fact AND l.kind = ?"
            " GROUP BY 1 ORDER BY 2 DESC, 1",
            (kind,),
        ).fetchall()
        per_nexus = self._conn.execute(
            "SELECT n.nexus, l.value, count(*) FROM temp.landscape_window n"
            " CROSS JOIN incident_labels l ON l.fact = n.fact AND l.kind = ?"
            " GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
            (kind,),
        ).fetchall()
        return overall, per_nexus

    def landscape_lacking(self) -> dict[str, int]:
        conn = self._conn

        def lacking(condition: str) -> int:
            return conn.execute(
                "SELECT count(*) FROM temp.landscape_window_facts n"
                f" WHERE NOT EXISTS ({condition})"
            ).fetchone()[0]

        def label(kind: str) -> str:
            return f"SELECT 1 FROM incident_labels l WHERE l.fact = n.fact AND l.kind = '{kind}'"

        victim = "SELECT 1 FROM incident_victims v WHERE v.fact = n.fact AND v.{} IS NOT NULL"
        return {
            "nexus": conn.execute(
                "SELECT count(*) FROM temp.landscape_window WHERE nexus = 'unknown'"
            ).fetchone()[0],
            "victim_sector": lacking(victim.format("sector")),
            "victim_country": lacking(victim.format("country")),
            "type": lacking(label("type")),
            "technique": lacking(label("technique")),
            "cve": lacking(label("cve")),
        }

    def end_landscape(self) -> None:
        for table in _WORKING_SET:
            self._conn.execute(f"DROP TABLE IF EXISTS temp.{table}")

    # -- beside the working set --------------------------------------------------------------

    def label_value_counts(self, kinds: Sequence[str]) -> list[tuple[str, str, int]]:
        return self._conn.execute(
            "SELECT kind, value, count(DISTINCT fact) FROM incident_labels"
            f" WHERE kind IN ({','.join('?' * len(kinds))}) GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
            list(kinds),
        ).fetchall()

    def incident_import_path(self, source: str) -> str | None:
        found = self._conn.execute(
            "SELECT i.path FROM incident_facts f JOIN objects o ON o.id = f.incident_id"
            " JOIN imports i ON i.id = o.import_id WHERE f.source = ? LIMIT 1",
            (source,),
        ).fetchone()
        return found[0] if found else None

    def unattributed_incidents(
        self, first_day: int, last_day: int, victims: VictimFilter, counted: Sequence[str]
    ) -> list[tuple[int, int]]:
        params: list[object] = [first_day, last_day]
        clause = _victim_clause(victims, params, fact="f.fact")
        params.extend(counted)
        return self._conn.execute(
            "SELECT f.fact, f.day FROM incident_facts f"
            f" WHERE f.day BETWEEN ? AND ?{clause}"
            "  AND f.fact NOT IN (SELECT fact FROM temp.landscape_nexus WHERE nexus != 'unknown')"
            "  AND NOT EXISTS (SELECT 1 FROM incident_initiators i WHERE i.fact = f.fact"
            f"   AND i.category NOT IN ({','.join('?' * len(counted))}))",
            params,
        ).fetchall()

    def incident_victims_and_labels(
        self, facts: Sequence[int]
    ) -> tuple[list[tuple[int, str | None, str | None]], list[tuple[int, str, str]]]:
        conn = self._conn
        conn.execute("DROP TABLE IF EXISTS temp.landscape_unattributed")
        conn.execute("CREATE TEMP TABLE landscape_unattributed (fact INTEGER PRIMARY KEY)")
        try:
            conn.executemany(
                "INSERT INTO temp.landscape_unattributed VALUES (?)", [(f,) for f in facts]
            )
            victims = conn.execute(
                "SELECT v.fact, v.sector, v.country FROM temp.landscape_unattributed u"
                " CROSS JOIN incident_victims v ON v.fact = u.fact"
            ).fetchall()
            labels = conn.execute(
                "SELECT l.fact, l.kind, l.value FROM temp.landscape_unattributed u"
                " CROSS JOIN incident_labels l ON l.fact = u.fact"
                " WHERE l.kind IN ('technique', 'cve')"
            ).fetchall()
        finally:
            conn.execute("DROP TABLE temp.landscape_unattributed")
        return victims, labels
