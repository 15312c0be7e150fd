"""Warnings for when the data cannot answer what a landscape asks: `[{"kind", "message"}]`.

- granularity: a sector or actor category filter that a source in the window never codes
  (derived from the data: the sectors and categories that appear among each source's
  incidents), so "none" would mean "not recorded at that level";
- small-n: fewer incidents than `min_n` in the window; no headline is written then;
- recency: a source's latest quarter(s) far below its trailing level, the signature of
  reporting lag (RECENCY_RATIO and RECENCY_P below);
- dates: placeholder, pre-1990 or after-the-export dates in a source (see landscape.dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from threatscope.days import day_of
from threatscope.landscape.dates import ISOLATION_DAYS, SourceDates
from threatscope.landscape.selection import Filters
from threatscope.landscape.stats import poisson_at_most
from threatscope.landscape.window import Window, quarters_before
from threatscope.store.queries import Analytics
from threatscope.taxonomy import sectors

__all__ = ["RECENCY_P", "RECENCY_RATIO", "data_warnings"]

# A quarter is "far below" its trailing level when it holds less than RECENCY_RATIO of the mean
# of the TRAILING quarters before it and a count that low has Poisson probability < RECENCY_P.
RECENCY_RATIO = 0.6
RECENCY_P = 0.01
TRAILING = 4
_MAX_LAGGED = 3
_SHOWN = 3


def _warning(kind: str, message: str) -> dict[str, str]:
    return {"kind": kind, "message": message}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sources_in(db: Analytics, window: Window, filters: Filters) -> list[str]:
    """Sources with a dated incident in the window (of those `sources` keeps): one probe of
    the (source, day) index each."""
    lo, hi = day_of(window.start), day_of(window.end)
    return [
        source
        for source in db.incident_source_names()
        if (not filters.sources or source in filters.sources)
        and db.source_has_incident_between(source, lo, hi)
    ]


def _sector_granularity(
    db: Analytics, filters: Filters, sources: list[str]
) -> list[dict[str, str]]:
    if not filters.sector or not sources:
        return []
    taxonomy = sectors()
    wanted = set(taxonomy.within(filters.sector))
    lacking = [s for s in sources if not db.source_codes_any(s, "victim_sector", wanted)]
    if not lacking:
        return []
    coded = {s: db.source_coded_values(s, "victim_sector") for s in lacking}
    label = taxonomy.label(filters.sector)
    below = len(wanted) - 1
    level = f"{label}" + (f" or any of its {below} sub-sectors" if below else "")

    def what(source: str) -> str:
        values = sorted(taxonomy.label(s) for s in coded[source])
        if not values:
            return f"{source} codes no victim sector"
        top = all(taxonomy.by_id[s].parent is None for s in coded[source])
        return f"{source} codes {'top-level sectors only' if top else 'only'}: {', '.join(values)}"

    details = "; ".join(what(s) for s in lacking)
    if len(lacking) == len(sources):
        return [
            _warning(
                "granularity",
                f"--sector {filters.sector}: no source in the window codes victims as {level} "
                f"({details}). The count here says what the sources recorded at that level, "
                "not that there were no such incidents.",
            )
        ]
    coding = [s for s in sources if s not in lacking]
    return [
        _warning(
            "granularity",
            f"--sector {filters.sector}: only {_and(coding)} codes victims as {level}; "
            f"{details}. Incidents of {_and(lacking)} against {label.lower()} targets are "
            "not counted.",
        )
    ]


def _category_granularity(
    db: Analytics, filters: Filters, sources: list[str]
) -> list[dict[str, str]]:
    if not sources:
        return []
    asked = set(filters.actor_categories)
    # A source answers if it codes any category asked for: one that writes "state" for every
    # state-linked initiator still answers the default state + state-affiliated.
    lacking = [
        s for s in sources if not db.source_codes_any(s, "initiator_category", asked)
    ]
    if not lacking:
        return []
    coded = {s: db.source_coded_values(s, "initiator_category") for s in lacking}
    name = "/".join(filters.actor_categories)
    details = "; ".join(
        f"{s} codes {_and(sorted(coded[s]))}" if coded[s] else f"{s} codes no initiators"
        for s in lacking
    )
    if len(lacking) == len(sources):
        message = (
            f"--actor-category {name}: no source in the window codes initiators as {name} "
            f"({details}). Zero {name} incidents here means the sources do not use the "
            "category, not that there were none."
        )
    else:
        coding = [s for s in sources if s not in lacking]
        message = (
            f"--actor-category {name}: only {_and(coding)} codes initiators as {name}; "
            f"{details}, so {'its' if len(lacking) == 1 else 'their'} {name} incidents are "
            "not counted."
        )
    return [_warning("granularity", message)]


def _small_n(
    incidents: int, min_n: int, window_label: str, sources: list[str], dates: dict[str, Any]
) -> list[dict[str, str]]:
    if incidents >= min_n:
        return []
    found = (
        f"No incident in {window_label} passes"
        if incidents == 0
        else f"Only {incidents} incident{' in' if incidents == 1 else 's in'} {window_label} "
        + ("passes" if incidents == 1 else "pass")
    )
    message = (
        f"{found} the filters, fewer than --min-n {min_n}: shares and changes are too uncertain "
        "to state, so no headline is written and shares are shown as too few to estimate."
    )
    if not sources:
        covered = [
            f"{s.source} {s.first_valid} to {s.last_valid}"
            for s in dates.values()
            if s.first_valid and s.last_valid
        ]
        message += " No source has incidents dated in this window" + (
            f" (sources cover: {'; '.join(covered)})." if covered else "."
        )
    return [_warning("small-n", message)]


@dataclass(frozen=True)
class _Quarter:
    label: str
    count: int
    expected: float  # the trailing mean, scaled to the days of the quarter the window covers
    baseline: str  # the quarters the trailing mean is of
    p_value: float

    @property
    def lagging(self) -> bool:
        return self.count < RECENCY_RATIO * self.expected and self.p_value < RECENCY_P


def _quarter_label(quarter: Window) -> str:
    return f"{quarter.start.year}-Q{(quarter.start.month - 1) // 3 + 1}"


def _count(db: Analytics, source: str, start: date, end: date) -> int:
    return db.source_incident_count(source, day_of(start), day_of(end))


def _lagging_quarters(
    db: Analytics, source: str, last: date, window: Window
) -> list[_Quarter]:
    """The longest run (up to 3) of the source's latest quarters that are each far below the
    mean of the TRAILING quarters before the run."""
    quarters = quarters_before(last, _MAX_LAGGED + TRAILING)
    counts = [_count(db, source, q.start, min(q.end, window.end)) for q in quarters]
    found: list[_Quarter] = []
    for run in range(1, _MAX_LAGGED + 1):
        trailing = counts[-run - TRAILING : -run]
        mean = sum(trailing) / TRAILING
        baseline = (
            f"{_quarter_label(quarters[-run - TRAILING])} to {_quarter_label(quarters[-run - 1])}"
        )
        tested = []
        for quarter, count in zip(quarters[-run:], counts[-run:], strict=True):
            covered = (min(quarter.end, window.end) - quarter.start).days + 1
            expected = mean * covered / quarter.days
            tested.append(
                _Quarter(
                    _quarter_label(quarter),
                    count,
                    expected,
                    baseline,
                    poisson_at_most(count, expected),
                )
            )
        if all(q.lagging for q in tested) and quarters[-run].end >= window.start:
            found = tested
        else:
            break
    return found


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _recency(
    db: Analytics, window: Window, sources: list[str], dates: dict[str, SourceDates]
) -> list[dict[str, str]]:
    warnings = []
    for source in sources:
        info = dates.get(source)
        if info is None or info.last_valid is None:
            continue
        lagging = _lagging_quarters(db, source, min(window.end, info.last_valid), window)
        if not lagging:
            continue
        figures = "; ".join(
            f"{q.label} has {q.count} incidents against {q.expected:.1f} expected "
            f"({100 * q.count / q.expected:.0f}%, one-sided Poisson {_p(q.p_value)})"
            for q in lagging
        )
        warnings.append(
            _warning(
                "recency",
                f"{source}: {figures}; expected = the mean of {lagging[0].baseline}, all of "
                f"{source}'s incidents. Latest quarters below {100 * RECENCY_RATIO:.0f}% of the "
                f"mean of the {TRAILING} quarters before them (Poisson p < {RECENCY_P}) are "
                "very likely reporting lag: counts for them, and falls against an earlier "
                "window, understate activity.",
            )
        )
    return warnings


def _dates(dates: dict[str, SourceDates], sources: list[str]) -> list[dict[str, str]]:
    warnings = []
    for source in sources:
        info = dates.get(source)
        if info is None or not info.suspect:
            continue
        parts = [
            f"{n} dated {day.isoformat()} (a placeholder)" for day, n in info.placeholders.items()
        ]
        if info.before_1990:
            shown = ", ".join(d.isoformat() for d in sorted(set(info.before_1990))[:_SHOWN])
            parts.append(f"{len(info.before_1990)} dated before 1990 ({shown})")
        if info.after_export:
            shown = ", ".join(d.isoformat() for d in sorted(set(info.after_export))[:_SHOWN])
            parts.append(
                f"{len(info.after_export)} dated after the export ({shown}; the source's "
                f"other dates end {info.last_valid})"
            )
        warnings.append(
            _warning(
                "dates",
                f"{source}: {_and(parts)}. Placeholder dates, dates before 1990 and dates "
                f"after the latest import or more than {ISOLATION_DAYS} days past all the "
                "source's other dates cannot be true; they do not choose the default window. "
                "Check these incidents in the source.",
            )
        )
    return warnings


def data_warnings(
    db: Analytics,
    filters: Filters,
    window: Window,
    window_label: str,
    incidents: int,
    min_n: int,
    dates: dict[str, SourceDates],
) -> list[dict[str, str]]:
    sources = _sources_in(db, window, filters)
    # Sources the user named stay in view for dates even when the window holds none of theirs.
    dated_sources = list(filters.sources) or sorted(dates)
    return [
        *_sector_granularity(db, filters, sources),
        *_category_granularity(db, filters, sources),
        *_small_n(incidents, min_n, window_label, sources, dates),
        *_recency(db, window, sources, dates),
        *_dates(dates, dated_sources),
    ]
