"""Terminal output where the data is data: nothing read from a report, a feed or a table can
style, hide, link or rewrite what the analyst sees.

Rich reads `[...]` in any string as markup, so an extracted URL `http://c2/[link=…]x[/link]`
would display as a different value than the one extracted, and `[/]` in a CSV cell would crash
every command that prints it. `SafeConsole` therefore prints every string literally (markup
off) and drops terminal control characters from it (ESC and CSI/OSC sequences, C1 controls,
bidirectional overrides), in tables, rules and progress text alike. ThreatScope's own styling
goes through `styled`, which escapes and cleans each value put into its template.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

__all__ = ["SafeConsole", "clean", "count_progress", "literal", "styled"]

# C0 controls but tab and newline, DEL, C1 controls (0x9b is a one-byte CSI), and the Unicode
# bidirectional overrides and isolates that can make `exe.txt` read as `txt.exe`.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(value: object) -> str:
    """`value` as text with every terminal control character removed (linear time)."""
    return _CONTROL.sub("", str(value))


def styled(template: str, *values: Any) -> Text:
    """Our markup `template` ("[bold]{}[/] {}") with each value inserted as plain, clean text."""
    return Text.from_markup(template.format(*(escape(clean(v)) for v in values)))


def literal(value: object) -> Text:
    """`value` as clean text that nothing reads as markup (for spinners and progress labels,
    which parse plain strings as markup whatever the console says)."""
    return Text(clean(value))


class SafeConsole(Console):
    """A Console that never interprets markup in strings and strips control characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs["markup"] = False
        return super().render_str(clean(text), **kwargs)


def count_progress(console: Console) -> Progress:
    """The bar of a long import on `console` (stderr): objects counted, time elapsed; shown
    only on a terminal and gone when done, so piped output stays clean."""
    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
