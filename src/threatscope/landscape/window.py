"""Reporting windows: "the 12 months ending 31 March 2026", the one before it, and quarters."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from threatscope.errors import ConfigError

# 9999 years: any longer window would start before year 1 whatever its end.
_MAX_MONTHS = 9999 * 12

__all__ = ["Window", "comparison_windows", "default_ending", "parse_window", "quarters_before"]


@dataclass(frozen=True)
class Window:
    start: date  # inclusive
    end: date  # inclusive
    months: int | None = None  # set when the window is a whole number of months

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Window:
        """The window of the same length just before this one."""
        if self.months:
            end = self.start - timedelta(days=1)
            return Window(_add_months(end, -self.months) + timedelta(days=1), end, self.months)
        return Window(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def describe(self) -> str:
        if self.months:
            unit = "month" if self.months == 1 else "months"
            return f"the {self.months} {unit} ending {_long(self.end)}"
        return f"{_long(self.start)} to {_long(self.end)}"

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def _long(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def _add_months(day: date, months: int) -> date:
    """Same day of month `months` later; month ends stay month ends (31 Mar -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    at_month_end = day.day == calendar.monthrange(day.year, day.month)[1]
    return date(year, month + 1, last if at_month_end else min(day.day, last))


def default_ending(latest: date) -> date:
    """The latest 31 March the data covers."""
    year = latest.year if latest >= date(latest.year, 3, 31) else latest.year - 1
    return date(year, 3, 31)


def parse_window(
    window: str | None, ending: str | None, months: int, latest: date | None
) -> Window:
    if months < 1:
        raise ConfigError("--months must be at least 1")
    if months > _MAX_MONTHS:
        raise ConfigError(f"--months {months}: at most {_MAX_MONTHS} (the calendar ends at 9999)")
    if window:
        if ending:
            raise ConfigError("give either --window or --ending, not both")
        start_text, sep, end_text = window.partition("..")
        if not sep:
            raise ConfigError(
                f"--window {window!r}: expected START..END, e.g. 2025-04-01..2026-03-31"
            )
        start, end = _date("--window start", start_text), _date("--window end", end_text)
        if end < start:
            raise ConfigError(f"--window {window!r}: END is before START")
        return Window(start, end)
    if ending:
        end = _date("--ending", ending)
    elif latest is not None:
        end = default_ending(latest)
    else:
        raise ConfigError(
            "no dated incidents in the knowledge base; import some (e.g. "
            "`threatscope import eurepoc FILE`) or give --window"
        )
    try:
        start = _add_months(end, -months) + timedelta(days=1)
    except (ValueError, OverflowError):
        raise ConfigError(
            f"the {months} months ending {end.isoformat()} would start before year 1"
        ) from None
    return Window(start, end, months)


def comparison_windows(current: Window, quarters: int) -> tuple[Window, list[Window]]:
    """The window before `current` and the `quarters` calendar quarters up to its end; a
    ConfigError when they would reach outside the calendar (years 1 to 9999)."""
    try:
        return current.previous(), quarters_before(current.end, quarters)
    except (ValueError, OverflowError):
        raise ConfigError(
            f"{current.start.isoformat()}..{current.end.isoformat()}: the window before it, or"
            f" the {quarters} quarters of its trend, would start before year 1"
        ) from None


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def quarters_before(end: date, count: int) -> list[Window]:
    """The `count` calendar quarters up to and including the one containing `end`, oldest first.
    Raises ValueError when they would start before year 1."""
    index = end.year * 4 + (end.month - 1) // 3  # quarters since year 0
    quarters = []
    # Each quarter from its own year and months, never a day past it: 9999-Q4 ends on 31 Dec.
    for year, quarter in (divmod(i, 4) for i in range(index - count + 1, index + 1)):
        first_month, last_month = 3 * quarter + 1, 3 * quarter + 3
        last_day = calendar.monthrange(year, last_month)[1]
        quarters.append(
            Window(date(year, first_month, 1), date(year, last_month, last_day), 3)
        )
    return quarters
