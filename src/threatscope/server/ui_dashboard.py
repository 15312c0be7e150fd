"""The dashboard `/`: the landscape as the report shows it (nexus shares with intervals, trend,
sectors and regions, the report's own SVG charts) under a filter form whose GET parameters are
`threatscope landscape`'s options.

The landscape is computed over every incident; the library cannot filter it by TLP, so the page
is shown only to readers cleared for the knowledge base's marking (the one a report would
carry) and says so to the others."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from threatscope.errors import ConfigError, InputError
from threatscope.report.marking import report_marking
from threatscope.report.view import build_context
from threatscope.server.deps import reader
from threatscope.server.ui_render import render
from threatscope.server.ui_session import page_principal
from threatscope.taxonomy import CATEGORIES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

COUNTING = ("any", "fractional")


def _text(value: str | None) -> str | None:
    """An empty form field means "not given"."""
    value = (value or "").strip()
    return value or None


@router.get("/")
def dashboard(
    request: Request,
    sector: str | None = None,
    victim_region: str | None = None,
    victim_country: str | None = None,
    actor_category: list[str] = Query(default=[]),
    count: str = "any",
    source: list[str] = Query(default=[]),
    window: str | None = None,
    ending: str | None = None,
    months: str = "12",
    min_n: str = "10",
    infer_nexus: str | None = None,
) -> HTMLResponse:
    who = page_principal(request)
    kb = reader(request)
    marking, credits = report_marking(kb.store, None)
    form: dict[str, Any] = {
        "sector": sector or "",
        "victim_region": victim_region or "",
        "victim_country": victim_country or "",
        "actor_category": [c for c in actor_category if c],
        "count": count,
        "source": ", ".join(s for s in source if s),
        "window": window or "",
        "ending": ending or "",
        "months": months,
        "min_n": min_n,
        "infer_nexus": bool(infer_nexus),
    }
    common: dict[str, Any] = {
        "title": "Landscape", "form": form, "categories": CATEGORIES, "counting": COUNTING
    }
    if marking.rank > who.clearance.rank:
        return render(
            request, "dashboard.html.j2", status=403, hidden=marking.label, report=None,
            error=None, **common,
        )
    try:
        sources = [s.strip() for raw in source for s in raw.split(",") if s.strip()]
        result = kb.landscape(
            sector=_text(sector),
            victim_region=_text(victim_region),
            victim_country=_text(victim_country),
            actor_categories=form["actor_category"] or None,
            count=count,
            sources=sources or None,
            window=_text(window),
            ending=_text(ending),
            months=_number("months", months),
            infer_nexus=bool(infer_nexus),
            min_n=_number("min_n", min_n),
        ).as_dict()
    except (ConfigError, InputError) as exc:
        return render(
            request, "dashboard.html.j2", status=400, hidden=None, report=None,
            error=str(exc), **common,
        )
    report = build_context(result, marking=marking, credits=credits)
    return render(
        request, "dashboard.html.j2", hidden=None, report=report, error=None, **common
    )


def _number(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {value[:40]!r}") from None
