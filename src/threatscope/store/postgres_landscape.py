"""PostgreSQL answers to `LandscapeQueries` (store/queries.py): the same questions as
sqlite_landscape.py, computed in the database; no incident row is fetched into Python.

The landscape's working set lives in temporary tables of the store's session: `landscape_nexus(day,
nexus, fact, weight)` from `select_landscape`, the window's rows, incidents and victims from
`landscape_window`, and the sector/region lookups; `end_landscape` drops them. PostgreSQL never
autovacuums temporary tables, so each is ANALYZEd once filled: without statistics the planner
guesses and the breakdowns' joins go badly wrong on large windows.

Temporary tables are writes as far as a read-only transaction is concerned, so a read-only store
builds them in a transaction it declares READ WRITE: only temporary tables are written there.

Results match SQLite's exactly: text columns compare byte-wise (COLLATE "C", as the schema's),
weights are double precision as SQLite's REAL, and every list comes back in the order SQLite's
plans give it (the callers break ties by that order).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import psycopg

from threatscope.errors import StoreError
from threatscope.store.queries import IncidentAttribute, IncidentSelection, VictimFilter

__all__ = ["PostgresLandscapeQueries"]

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
    "landscape_labels",
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
        conditions.append("v.sector = ANY(%s)")
        params.append(list(victims.sectors))
    if victims.countries is not None:
        conditions.append("v.country = ANY(%s)")  # an empty list: no victim passes
        params.append(list(victims.countries))
    if not conditions:
        return ""
    # One victim row carries both its sector and its country, so both must hold for one victim.
    return (
        f" AND EXISTS (SELECT 1 FROM incident_victims v WHERE v.fact = {fact} AND "
        + " AND ".join(conditions)
        + ")"
    )


class PostgresLandscapeQueries:
    _conn: psycopg.Connection[Any]
    read_only: bool
    location: str

    def _one(self, query: str, params: Sequence[Any] = ()) -> Any:
        row = self._conn.execute(query, params).fetchone()
        return None if row is None else row[0]

    def _rows(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(query, params).fetchall()

    @contextmanager
    def _scratch(self) -> Iterator[psycopg.Connection[Any]]:
        """One transaction that may write temporary tables, even on a read-only store. A
        server that refuses them (a role without TEMP, a standby) is one StoreError line."""
        conn = self._conn
        try:
            with conn.transaction():
                if self.read_only:
                    conn.execute("SET TRANSACTION READ WRITE")
                # A few thousand sampled rows tell the planner a temporary table's sizes and
                # spreads as well as the default 30,000 do, in a fifth of the time.
                conn.execute("SET LOCAL default_statistics_target = 10")
                yield conn
        except psycopg.Error as exc:
            reason = next((line for line in str(exc).splitlines() if line.strip()), "")
            raise StoreError(
                f"{self.location}: the landscape needs temporary tables on the server: "
                f"{reason or type(exc).__name__}"
            ) from None

    # -- sources and dates ---------------------------------------------------------------

    def latest_incident_day(self) -> int | None:
        return self._one("SELECT max(day) FROM incident_facts")

    def incident_source_names(self) -> list[str]:
        return [row[0] for row in self._rows("SELECT source FROM incident_sources ORDER BY 1")]

    def incident_source_summaries(self) -> list[tuple[str, int, int, int | None, int | None]]:
        return self._rows(
            "SELECT source, incidents, dated, first_day, last_day FROM incident_sources"
            " ORDER BY source"
        )

    def source_has_incident_between(self, source: str, first_day: int, last_day: int) -> bool:
        query = "SELECT 1 FROM incident_facts WHERE source = %s AND day BETWEEN %s AND %s LIMIT 1"
        return self._one(query, (source, first_day, last_day)) is not None

    def source_incident_count(self, source: str, first_day: int, last_day: int) -> int:
        return self._one(
            "SELECT count(*) FROM incident_facts WHERE source = %s AND day BETWEEN %s AND %s",
            (source, first_day, last_day),
        )

    def source_codes_any(
        self, source: str, attribute: IncidentAttribute, values: Iterable[str]
    ) -> bool:
        # Stops at the first, so a source that codes them costs next to nothing.
        table, column = _ATTRIBUTES[attribute]
        found = self._one(
            f"SELECT 1 FROM {table} x JOIN incident_facts f ON f.fact = x.fact"
            f" WHERE f.source = %s AND x.{column} = ANY(%s) LIMIT 1",
            (source, sorted(values)),
        )
        return found is not None

    def source_coded_values(self, source: str, attribute: IncidentAttribute) -> set[str]:
        table, column = _ATTRIBUTES[attribute]
        rows = self._rows(
            f"SELECT DISTINCT x.{column} FROM incident_facts f JOIN {table} x"
            f" ON x.fact = f.fact WHERE f.source = %s AND x.{column} IS NOT NULL",
            (source,),
        )
        return {value for (value,) in rows}

    def latest_import_finished(self) -> str | None:
        return self._one("SELECT max(finished) FROM imports")

    def dated_incident_counts(self) -> list[tuple[str, int]]:
        return self._rows("SELECT source, dated FROM incident_sources ORDER BY source")

    def source_day_counts_before(self, source: str, day: int) -> list[tuple[int, int]]:
        return self._rows(
            "SELECT day, count(*) FROM incident_facts WHERE source = %s AND day < %s"
            " GROUP BY day ORDER BY day",
            (source, day),
        )

    def source_latest_days(self, source: str, earliest: int, limit: int) -> list[int]:
        rows = self._rows(
            "SELECT day FROM incident_facts WHERE source = %s AND day >= %s"
            " ORDER BY day DESC LIMIT %s",
            (source, earliest, limit),
        )
        return [day for (day,) in rows]

    def source_incidents_after(self, source: str, day: int) -> int:
        return self._one(
            "SELECT count(*) FROM incident_facts WHERE source = %s AND day > %s", (source, day)
        )

    def source_day_at(self, source: str, earliest: int, offset: int) -> int | None:
        return self._one(
            "SELECT day FROM incident_facts WHERE source = %s AND day >= %s"
            " ORDER BY day DESC LIMIT 1 OFFSET %s",
            (source, earliest, offset),
        )

    def source_first_day(self, source: str, earliest: int) -> int | None:
        return self._one(
            "SELECT min(day) FROM incident_facts WHERE source = %s AND day >= %s",
            (source, earliest),
        )

    # -- the working set -------------------------------------------------------------------

    def select_landscape(self, selection: IncidentSelection) -> None:
        params: list[object] = [
            list(selection.state_categories),
            selection.first_day,
            selection.last_day,
            list(selection.categories),
        ]
        extra = ""
        if selection.sources:
            extra = " AND i.fact IN (SELECT f.fact FROM incident_facts f WHERE f.source = ANY(%s))"
            params.append(list(selection.sources))
        extra += _victim_clause(selection.victims, params)
        with self._scratch() as conn:
            # Until end_landscape: JIT compiling these statements costs more than running them
            # (0.4 s of the selection over 1,000,000 incidents), and their sorts of a window's
            # rows spill to disk in the default 4 MB.
            conn.execute("SET jit = off")
            conn.execute("SET work_mem = '64MB'")
            conn.execute("DROP TABLE IF EXISTS pg_temp.landscape_nexus")
            conn.execute(
                "CREATE TEMP TABLE landscape_nexus (day INTEGER, nexus TEXT COLLATE \"C\","
                " fact BIGINT, weight DOUBLE PRECISION)"
            )
            # An initiator of a state category speaks for its country, any other for its
            # resolved actor (only those naming one probe actor_members); `unknown` only where
            # the incident has no known nexus at all; weight 1/k over its k nexuses.
            conn.execute(
                "INSERT INTO landscape_nexus"
                " WITH raw AS ("
                "  SELECT DISTINCT i.fact, i.day,"
                "   coalesce(CASE WHEN i.category = ANY(%s) THEN i.country END,"
                "    (SELECT a.nexus FROM actor_members m JOIN actors a ON a.id = m.actor_id"
                "     WHERE m.object_id = i.actor_ref), 'unknown') AS nexus"
                "  FROM incident_initiators i"
                f"  WHERE i.day BETWEEN %s AND %s AND i.category = ANY(%s){extra}),"
                " marked AS (SELECT fact, day, nexus,"
                "  bool_or(nexus <> 'unknown') OVER (PARTITION BY fact) AS known FROM raw),"
                " kept AS (SELECT fact, day, nexus FROM marked"
                "  WHERE nexus <> 'unknown' OR NOT known)"
                " SELECT day, nexus, fact,"
                "  1.0::double precision / count(*) OVER (PARTITION BY fact) FROM kept",
                params,
            )
            # No index: every reader of it takes a large share of its days (a scan is faster).
            conn.execute("ANALYZE landscape_nexus")

    def landscape_lookups(
        self, sector_roots: Sequence[tuple[str, str]], country_regions: Sequence[tuple[str, str]]
    ) -> None:
        with self._scratch() as conn:
            for table, key, group, rows in (
                ("sector_root", "sector", "root", sector_roots),
                ("country_region", "country", "region", country_regions),
            ):
                conn.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {table}"
                    f' ({key} TEXT COLLATE "C" PRIMARY KEY, {group} TEXT COLLATE "C")'
                )
                conn.execute(f"DELETE FROM pg_temp.{table}")
                with conn.cursor() as cursor, cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                conn.execute(f"ANALYZE pg_temp.{table}")

    def landscape_window(self, first_day: int, last_day: int) -> None:
        with self._scratch() as conn:
            conn.execute(
                "CREATE TEMP TABLE landscape_window AS SELECT fact, nexus, weight"
                " FROM landscape_nexus WHERE day BETWEEN %s AND %s",
                (first_day, last_day),
            )
            conn.execute(
                "CREATE TEMP TABLE landscape_window_facts AS"
                " SELECT DISTINCT fact FROM landscape_window"
            )
            # The window's incidents are read from the victim and label tables by one index
            # scan over their sorted ids: a hash join scans the whole table instead (2.5x as
            # long with the window a few percent of 1,000,000 incidents), a nested loop probes
            # in random order.
            window_facts = "ANY(ARRAY(SELECT fact FROM landscape_window_facts ORDER BY fact))"
            # (incident, nexus, victim sector, victim country): what sector and region
            # breakdowns count (they keep distinct rows themselves; so no DISTINCT here).
            conn.execute(
                "CREATE TEMP TABLE landscape_victims AS"
                " SELECT n.fact, n.nexus, v.sector, v.country FROM landscape_window n"
                " JOIN (SELECT fact, sector, country FROM incident_victims"
                f"  WHERE fact = {window_facts}) v ON v.fact = n.fact"
            )
            # Every label of the window's incidents, duplicates kept as the join counts them:
            # one pass instead of one per breakdown and coverage count.
            conn.execute(
                "CREATE TEMP TABLE landscape_labels AS SELECT fact, kind, value"
                f" FROM incident_labels WHERE fact = {window_facts}"
            )
            for table in _WORKING_SET[1:]:
                conn.execute(f"ANALYZE pg_temp.{table}")

    def landscape_nexus_counts(
        self, first_day: int, last_day: int, weighted: bool
    ) -> tuple[int, list[tuple[str, float]]]:
        days = (first_day, last_day)
        total = self._one(
            "SELECT count(DISTINCT fact) FROM landscape_nexus WHERE day BETWEEN %s AND %s", days
        )
        measure = "sum(weight)" if weighted else "count(*)"
        rows = self._rows(
            f"SELECT nexus, {measure} FROM landscape_nexus WHERE day BETWEEN %s AND %s"
            " GROUP BY nexus ORDER BY nexus",
            days,
        )
        return total, rows

    def landscape_day_counts(
        self, first_day: int, last_day: int, weighted: bool
    ) -> tuple[list[tuple[int, str, float]], dict[int, int]]:
        days = (first_day, last_day)
        measure = "sum(weight)" if weighted else "count(*)"
        by_day = self._rows(
            f"SELECT day, nexus, {measure} FROM landscape_nexus"
            " WHERE day BETWEEN %s AND %s GROUP BY day, nexus ORDER BY day, nexus",
            days,
        )
        facts_by_day = dict(
            self._rows(
                "SELECT day, count(DISTINCT fact) FROM landscape_nexus"
                " WHERE day BETWEEN %s AND %s GROUP BY day ORDER BY day",
                days,
            )
        )
        return by_day, facts_by_day

    def landscape_group_counts(
        self, by: Literal["sector", "region"]
    ) -> tuple[dict[tuple[str, str], int], dict[str, int], dict[str, int]]:
        table, group, join_column = _GROUPS[by]
        # Distinct (incident, nexus, group): an incident with two victims in one group counts
        # once. Both groupings in one pass; per (nexus, group) the distinct incidents are its
        # rows. Ordered by (nexus, group) as SQLite's grouping returns them: the caller keeps
        # that order among equal counts.
        rows = self._rows(
            "SELECT nexus, grp, count(DISTINCT fact), grouping(nexus) FROM"
            f" (SELECT DISTINCT v.fact, v.nexus, t.{group} AS grp FROM landscape_victims v"
            f"  JOIN pg_temp.{table} t ON t.{join_column} = v.{join_column}) g"
            " GROUP BY GROUPING SETS ((nexus, grp), (grp)) ORDER BY 4, 1, 2"
        )
        per_nexus = {(nexus, value): count for nexus, value, count, whole in rows if not whole}
        overall = {value: count for _, value, count, whole in rows if whole}
        nexus_totals = dict(
            self._rows("SELECT nexus, count(*) FROM landscape_window GROUP BY 1 ORDER BY 1")
        )
        return per_nexus, overall, nexus_totals

    def landscape_label_counts(
        self, kind: str
    ) -> tuple[list[tuple[str, int]], list[tuple[str, str, int]]]:
        overall = self._rows(
            "SELECT value, count(*) FROM landscape_labels WHERE kind = %s"
            " GROUP BY 1 ORDER BY 2 DESC, 1",
            (kind,),
        )
        per_nexus = self._rows(
            "SELECT n.nexus, l.value, count(*) FROM landscape_window n"
            " JOIN landscape_labels l ON l.fact = n.fact AND l.kind = %s"
            " GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
            (kind,),
        )
        return overall, per_nexus

    def landscape_lacking(self) -> dict[str, int]:
        # The working set holds every victim and label of the window's incidents: those lacking
        # one are the window's incidents less those that have it.
        incidents = self._one("SELECT count(*) FROM landscape_window_facts")
        victims = self._conn.execute(
            "SELECT count(DISTINCT fact) FILTER (WHERE sector IS NOT NULL),"
            " count(DISTINCT fact) FILTER (WHERE country IS NOT NULL) FROM landscape_victims"
        ).fetchone()
        labelled = dict(
            self._rows(
                "SELECT kind, count(DISTINCT fact) FROM landscape_labels"
                " WHERE kind IN ('type', 'technique', 'cve') GROUP BY kind"
            )
        )
        sector, country = victims or (0, 0)
        return {
            "nexus": self._one("SELECT count(*) FROM landscape_window WHERE nexus = 'unknown'"),
            "victim_sector": incidents - sector,
            "victim_country": incidents - country,
            **{kind: incidents - labelled.get(kind, 0) for kind in ("type", "technique", "cve")},
        }

    def end_landscape(self) -> None:
        with self._scratch() as conn:
            for table in _WORKING_SET:
                conn.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
            conn.execute("RESET jit")
            conn.execute("RESET work_mem")

    # -- beside the working set --------------------------------------------------------------

    def label_value_counts(self, kinds: Sequence[str]) -> list[tuple[str, str, int]]:
        return self._rows(
            "SELECT kind, value, count(DISTINCT fact) FROM incident_labels"
            " WHERE kind = ANY(%s) GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2",
            (list(kinds),),
        )

    def incident_import_path(self, source: str) -> str | None:
        # SQLite reads the source's incidents in its (source, day) index order: the same first.
        return self._one(
            "SELECT i.path FROM incident_facts f JOIN objects o ON o.id = f.incident_id"
            " JOIN imports i ON i.id = o.import_id WHERE f.source = %s"
            " ORDER BY f.day NULLS FIRST, f.fact LIMIT 1",
            (source,),
        )

    def unattributed_incidents(
        self, first_day: int, last_day: int, victims: VictimFilter, counted: Sequence[str]
    ) -> list[tuple[int, int]]:
        params: list[object] = [first_day, last_day]
        clause = _victim_clause(victims, params, fact="f.fact")
        params.append(list(counted))
        return self._rows(
            "SELECT f.fact, f.day FROM incident_facts f"
            f" WHERE f.day BETWEEN %s AND %s{clause}"
            "  AND f.fact NOT IN (SELECT fact FROM landscape_nexus WHERE nexus <> 'unknown')"
            "  AND NOT EXISTS (SELECT 1 FROM incident_initiators i WHERE i.fact = f.fact"
            "   AND i.category <> ALL(%s))"
            " ORDER BY f.day, f.fact",
            params,
        )

    def incident_victims_and_labels(
        self, facts: Sequence[int]
    ) -> tuple[list[tuple[int, str | None, str | None]], list[tuple[int, str, str]]]:
        wanted = (list(facts),)
        victims = self._rows(
            "SELECT v.fact, v.sector, v.country FROM incident_victims v"
            " WHERE v.fact = ANY(%s) ORDER BY v.fact, v.victim",
            wanted,
        )
        labels = self._rows(
            "SELECT l.fact, l.kind, l.value FROM incident_labels l"
            " WHERE l.fact = ANY(%s) AND l.kind IN ('technique', 'cve')"
            " ORDER BY l.fact, l.kind, l.value",
            wanted,
        )
        return victims, labels
