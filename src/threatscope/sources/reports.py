"""The `reports` source: report files -> one incident each (sources/report_incidents.py).

Registered here without importing the extraction machinery, which every other command would
otherwise pay for at start-up (half a second).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threatscope.sources.base import Source, register

__all__ = ["REPORT_SUFFIXES"]

REPORT_SUFFIXES = frozenset({".txt", ".md", ".html", ".htm", ".pdf"})


def _load(path: Path) -> list[dict[str, Any]]:
    """The registry's one-path form, without a knowledge base to resolve actors against;
    `threatscope import reports` passes the store and several paths."""
    from threatscope.sources.report_incidents import load_reports

    return load_reports([path], None)


register(
    Source(
        name="reports",
        summary="Incidents from report files (.txt, .md, .html, .pdf; files or directories)",
        load=_load,
        selection="one incident per report file the user imported, as its text describes it",
    )
)
