"""Which incidents a landscape counts, and under which nexus: SQL over the incident fact tables.

`select()` fills a temporary table `landscape_nexus(day, nexus, fact, weight)` with one row per
incident and nexus for every incident in the requested day range that passes the filters.
The nexus of an initiator is its country when the source marks it state or state-affiliated,
else the nexus of the resolved actor it names (through actor_members, so `actor split` and new
actor knowledge apply at once); `unknown` when neither says. An incident with several nexuses
gets one row each, weighted 1/k for fractional counting; `unknown` is dropped when the incident
has a known nexus too.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import date

from threatscope.countries import to_iso2
from threatscope.errors import ConfigError
from threatscope.landscape.facts import EPOCH
from threatscope.taxonomy import (
    CATEGORIES,
    STATE_CATEGORIES,
    region_members,
    resolve_region,
    sectors,
)

__all__ = ["Filters", "check_sources", "day_number", "latest_day", "select", "victim_clause"]


@dataclass(frozen=True)
class Filters:
    sector: str | None = None
    victim_region: str | None = None
    victim_country: str | None = None
    actor_categories: tuple[str, ...] = STATE_CATEGORIES
    count: str = "any"  # or "fractional"
    sources: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        unknown = set(self.actor_categories) - set(CATEGORIES)
        if unknown or not self.actor_categories:
            raise ConfigError(
                f"unknown actor category {', '.join(sorted(unknown)) or '(none given)'}; "
                f"known: {', '.join(CATEGORIES)}"
            )
        if self.count not in ("any", "fractional"):
            raise ConfigError(f"--count {self.count!r}: expected 'any' or 'fractional'")
        # Labels and aliases become ids here, so the JSON, the headline and SQL see one name.
        if self.sector:
            object.__setattr__(self, "sector", sectors().resolve(self.sector))
        if self.victim_region:
            object.__setattr__(self, "victim_region", resolve_region(self.victim_region))
        if self.victim_country and to_iso2(self.victim_country) is None:
            raise ConfigError(f"--victim-country {self.victim_country!r} is not a country")

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["actor_categories"] = list(self.actor_categories)
        data["sources"] = list(self.sources)
        if self.victim_country:
            data["victim_country"] = to_iso2(self.victim_country)
        return data


def day_number(day: date) -> int:
    return (day - EPOCH).days


def latest_day(conn: sqlite3.Connection) -> date | None:
    row = conn.execute("SELECT max(day) FROM incident_facts").fetchone()
    return None if row[0] is None else date.fromordinal(EPOCH.toordinal() + row[0])


def check_sources(conn: sqlite3.Connection, filters: Filters) -> None:
    """`--source` names a source of the knowledge base's incidents (an importer such as eurepoc,
    or the `source =` of an `import table` mapping), or the command stops listing them."""
    if not filters.sources:
        return
    known = [row[0] for row in conn.execute("SELECT source FROM incident_sources ORDER BY 1")]
    unknown = [s for s in filters.sources if s not in known]
    if unknown:
        raise ConfigError(
            f"--source {', '.join(repr(s) for s in unknown)}: no incidents from "
            f"{'that source' if len(unknown) == 1 else 'those sources'}; "
            + (f"sources with incidents: {', '.join(known)}" if known else "no incidents imported")
        )


def victim_clause(filters: Filters, params: list[object], fact: str = "i.fact") -> str:
    """` AND EXISTS (…)` restricting `fact` (a column) to incidents with a victim that passes the
    sector, region and country filters; "" without such filters. Appends its parameters."""
    conditions = []
    if filters.sector:
        within = sorted(sectors().within(filters.sector))
        conditions.append(f"v.sector IN ({','.join('?' * len(within))})")
        params.extend(within)
    countries: set[str] | None = None
    if filters.victim_region:
        countries = set(region_members(filters.victim_region))
    if filters.victim_country:
        iso = to_iso2(filters.victim_country)
        countries = {iso} if countries is None else countries & {iso}
    if countries is not None:
        ordered = sorted(c for c in countries if c)
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


def select(conn: sqlite3.Connection, first: date, last: date, filters: Filters) -> None:
    params: list[object] = [day_number(first), day_number(last)]
    extra = ""
    if filters.sources:
        extra = (
            " AND i.fact IN (SELECT fact FROM incident_facts f WHERE f.source IN"
            f" ({','.join('?' * len(filters.sources))}))"
        )
        params.extend(filters.sources)
    extra += victim_clause(filters, params)
    categories = list(filters.actor_categories)
    state = list(STATE_CATEGORIES)
    conn.execute("DROP TABLE IF EXISTS temp.landscape_raw")
    conn.execute("DROP TABLE IF EXISTS temp.landscape_nexus")
    # Range scan of the covering day index; only initiators naming an actor probe actor_members.
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
    # Keyed (day, nexus, fact) and filled in that order: window counts and the trend read it
    # as a covering range without building a second index.
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
