"""Which incidents a landscape counts, and under which nexus: the filters as a store selection.

`select()` asks the store (`select_landscape`) for one row per incident and nexus for every
incident in the requested day range that passes the filters. The nexus of an initiator is its
country when the source marks it state or state-affiliated, else the nexus of the resolved actor
it names (through actor_members, so `actor split` and new actor knowledge apply at once);
`unknown` when neither says. An incident with several nexuses gets one row each, weighted 1/k for
fractional counting; `unknown` is dropped when the incident has a known nexus too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from threatscope.countries import to_iso2
from threatscope.days import date_of, day_of
from threatscope.errors import ConfigError, ParameterError
from threatscope.store.queries import Analytics, IncidentSelection, VictimFilter
from threatscope.taxonomy import (
    CATEGORIES,
    STATE_CATEGORIES,
    region_members,
    resolve_region,
    sectors,
)

__all__ = ["Filters", "check_sources", "latest_day", "select", "victim_filter"]


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
            reason = f"{self.count!r}: expected 'any' or 'fractional'"
            raise ParameterError(f"count {reason}", f"--count {reason}")
        # Labels and aliases become ids here, so the JSON, the headline and SQL see one name.
        if self.sector:
            object.__setattr__(self, "sector", sectors().resolve(self.sector))
        if self.victim_region:
            object.__setattr__(self, "victim_region", resolve_region(self.victim_region))
        if self.victim_country and to_iso2(self.victim_country) is None:
            reason = f"{self.victim_country!r} is not a country"
            raise ParameterError(f"victim_country {reason}", f"--victim-country {reason}")

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["actor_categories"] = list(self.actor_categories)
        data["sources"] = list(self.sources)
        if self.victim_country:
            data["victim_country"] = to_iso2(self.victim_country)
        return data


def latest_day(db: Analytics) -> date | None:
    day = db.latest_incident_day()
    return None if day is None else date_of(day)


def check_sources(db: Analytics, filters: Filters) -> None:
    """`filters.sources` names sources of the knowledge base's incidents (an importer such as
    eurepoc, or the `source =` of an `import table` mapping), or this stops listing them."""
    if not filters.sources:
        return
    known = db.incident_source_names()
    unknown = [s for s in filters.sources if s not in known]
    if unknown:
        reason = (
            f"{', '.join(repr(s) for s in unknown)}: no incidents from "
            f"{'that source' if len(unknown) == 1 else 'those sources'}; "
            + (f"sources with incidents: {', '.join(known)}" if known else "no incidents imported")
        )
        raise ParameterError(f"sources {reason}", f"--source {reason}")


def victim_filter(filters: Filters) -> VictimFilter:
    """The victims the sector, region and country filters let pass (None where one is unset)."""
    within = tuple(sorted(sectors().within(filters.sector))) if filters.sector else None
    countries: set[str] | None = None
    if filters.victim_region:
        countries = set(region_members(filters.victim_region))
    if filters.victim_country:
        # A country we cannot map lets no victim pass.
        named = {iso} if (iso := to_iso2(filters.victim_country)) else set()
        countries = named if countries is None else countries & named
    ordered = None if countries is None else tuple(sorted(c for c in countries if c))
    return VictimFilter(within, ordered)


def select(db: Analytics, first: date, last: date, filters: Filters) -> None:
    db.select_landscape(
        IncidentSelection(
            first_day=day_of(first),
            last_day=day_of(last),
            categories=tuple(filters.actor_categories),
            state_categories=tuple(STATE_CATEGORIES),
            sources=tuple(filters.sources),
            victims=victim_filter(filters),
        )
    )
