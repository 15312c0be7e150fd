"""Dates a source cannot mean: placeholders, dates before any plausible cyber incident, and
dates after the source was exported.

Rules (the `dates` warning and the README state them too):
- placeholder: exactly 1970-01-01 (the Unix epoch), 1900-01-01, 1899-12-30/31 (spreadsheet day
  zero) or 0001-01-01, what a system writes when it has no date;
- before 1990: any other date before 1990-01-01;
- after the export: later than the knowledge base's latest import (an incident cannot start
  after it was recorded), or the source's latest dates when a gap of more than 180 days
  (and more than 10 times the source's typical gap between dates) separates them from every
  earlier date of the source and they are at most 1% of its dated incidents: an isolated date
  far past the rest, the signature of a typo such as 2026-12-01 in an export that ends in
  March 2026.

None of these dates chooses the default window: `latest_valid_day` ignores them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from statistics import median

from threatscope.days import EPOCH, date_of, day_of
from threatscope.store.queries import Analytics

__all__ = ["ISOLATION_DAYS", "SourceDates", "latest_valid_day", "source_dates"]

PLACEHOLDERS = (date(1, 1, 1), date(1899, 12, 30), date(1899, 12, 31), date(1900, 1, 1), EPOCH)
EARLIEST_PLAUSIBLE = date(1990, 1, 1)
ISOLATION_DAYS = 180
_TAIL_SHARE = 0.01
SPARSE_FACTOR = 10


@dataclass
class SourceDates:
    source: str
    dated: int
    placeholders: dict[date, int] = field(default_factory=dict)
    before_1990: list[date] = field(default_factory=list)  # one entry per incident
    after_export: list[date] = field(default_factory=list)  # one entry per incident
    first_valid: date | None = None
    last_valid: date | None = None

    @property
    def suspect(self) -> int:
        return sum(self.placeholders.values()) + len(self.before_1990) + len(self.after_export)


def _as_of(db: Analytics) -> int | None:
    """The day of the knowledge base's latest finished import, if any."""
    finished = db.latest_import_finished()
    if not finished:
        return None
    try:
        return day_of(datetime.fromisoformat(finished.replace("Z", "+00:00")).date())
    except ValueError:
        return None


def _isolated_tail(days: list[int], cap: int) -> list[int]:
    """Of `days` (latest first), the leading ones cut off from the rest by a gap longer than
    ISOLATION_DAYS and than SPARSE_FACTOR times the typical gap between the source's dates
    before it (so a sparse source's quiet half-year is not a typo), looking no deeper than
    `cap` dates."""
    cut = 0
    for index in range(min(cap, len(days) - 1)):
        gap = days[index] - days[index + 1]
        if gap <= ISOLATION_DAYS:
            continue
        before = days[index + 1 : index + 102]
        typical = median(a - b for a, b in itertools.pairwise(before)) if len(before) > 1 else 0
        if gap > max(ISOLATION_DAYS, SPARSE_FACTOR * typical):
            cut = index + 1
    return days[:cut]


def source_dates(db: Analytics) -> dict[str, SourceDates]:
    """Every source's suspect dates; index range scans only, so a million incidents cost
    milliseconds (only the suspect dates themselves are fetched)."""
    placeholder_days = {day_of(d): d for d in PLACEHOLDERS}
    early = day_of(EARLIEST_PLAUSIBLE)
    as_of = _as_of(db)
    found: dict[str, SourceDates] = {}
    for source, dated in db.dated_incident_counts():
        info = found[source] = SourceDates(source, dated)
        for day, count in db.source_day_counts_before(source, early):
            if day in placeholder_days:
                info.placeholders[placeholder_days[day]] = count
            else:
                info.before_1990.extend([date_of(day)] * count)
        cap = max(1, int(dated * _TAIL_SHARE))
        latest = db.source_latest_days(source, early, cap + 102)
        beyond = len(_isolated_tail(latest, cap))
        if as_of is not None:
            # Both rules pick a run of the latest dates, so together they pick the longer run.
            beyond = max(beyond, db.source_incidents_after(source, as_of))
        if beyond:
            latest_first = db.source_latest_days(source, early, beyond)
            info.after_export = [date_of(day) for day in reversed(latest_first)]
        last = db.source_day_at(source, early, beyond)
        first = db.source_first_day(source, early)
        info.first_valid = date_of(first) if first is not None and last is not None else None
        info.last_valid = date_of(last) if last is not None else None
    return found


def latest_valid_day(dates: dict[str, SourceDates]) -> date | None:
    """The latest date of any source that is none of the suspect kinds above."""
    return max((s.last_valid for s in dates.values() if s.last_valid), default=None)
