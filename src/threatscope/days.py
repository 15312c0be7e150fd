"""Days as the knowledge base stores them: whole days since 1970-01-01 (`EPOCH`)."""

from __future__ import annotations

from datetime import date
from typing import Any

__all__ = ["EPOCH", "date_of", "day_of", "day_of_iso"]

EPOCH = date(1970, 1, 1)
_EPOCH_ORDINAL = EPOCH.toordinal()


def day_of(value: date) -> int:
    """The day number of a date (1970-01-02 -> 1; before the epoch, negative)."""
    return value.toordinal() - _EPOCH_ORDINAL


def date_of(day: int) -> date:
    """The date of a day number: `day_of`'s inverse."""
    return date.fromordinal(_EPOCH_ORDINAL + day)


def day_of_iso(value: Any) -> int | None:
    """The day number of an ISO date or timestamp (its first ten characters); None when it
    is not a string holding one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return day_of(date.fromisoformat(value[:10]))
    except ValueError:
        return None
