"""GET /api/v1/landscape and /api/v1/report: `threatscope landscape --json` and `threatscope
report` over HTTP, with the CLI's nine filters as query parameters of the same names
(cli_options.LandscapeFilters), and `infer_nexus`, `min_n` (and `tlp` for the report)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from threatscope.cli_options import LandscapeFilters
from threatscope.errors import ConfigError, ExternalToolError
from threatscope.server.rest_clearance import whole_base_reader
from threatscope.server.rest_output import as_cli_prints, errors, query_names

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["landscape"])

_STATUSES = errors(400, 401, 403, 422, 503)


def landscape_filters(
    sector: Annotated[str | None, Query(description="Victim sector id or label")] = None,
    victim_region: Annotated[str | None, Query(description="Region or group (EU, NATO…)")] = None,
    victim_country: Annotated[str | None, Query(description="Victim country")] = None,
    actor_category: Annotated[
        list[str] | None, Query(description="state, state-affiliated, criminal, …; repeatable")
    ] = None,
    count: Annotated[str, Query(description="any or fractional")] = "any",
    ending: Annotated[str | None, Query(description="Last day of the window")] = None,
    months: Annotated[int, Query(description="Window length in months")] = 12,
    window: Annotated[str | None, Query(description="START..END")] = None,
    source: Annotated[list[str] | None, Query(description="Only this source; repeatable")] = None,
) -> LandscapeFilters:
    """The nine filters, parsed into the dataclass the CLI hands the library (a dependency:
    it touches no knowledge base, so any thread may run it)."""
    return LandscapeFilters(
        sector, victim_region, victim_country, actor_category, count, ending, months, window, source
    )


@router.get("/landscape", responses=_STATUSES, response_description="`landscape --json`")
def get_landscape(
    request: Request,
    filters: Annotated[LandscapeFilters, Depends(landscape_filters)],
    infer_nexus: bool = False,
    min_n: int = 10,
) -> Response:
    """Nexus shares with 95% intervals, change, trend, sectors, regions: exactly `threatscope
    landscape --json` with the same options."""
    _, kb = whole_base_reader(request)
    with query_names():
        result = kb.landscape(**filters.as_kwargs(), infer_nexus=infer_nexus, min_n=min_n)
    return as_cli_prints(result.as_dict())


_MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@router.get(
    "/report",
    responses={
        **_STATUSES,
        200: {"content": {"text/html": {}, "application/pdf": {}}, "description": "The report"},
    },
    response_class=Response,
)
def get_report(
    request: Request,
    filters: Annotated[LandscapeFilters, Depends(landscape_filters)],
    format: Literal["html", "pdf"] = "html",
    infer_nexus: bool = False,
    min_n: int = 10,
    tlp: Annotated[
        str | None, Query(description="clear, green, amber, amber+strict or red")
    ] = None,
) -> Response:
    """The landscape as `threatscope report` writes it: self-contained HTML, or the PDF Chromium
    prints of it (503 when the server has no Chromium)."""
    pdf = format == "pdf"
    if pdf:
        _chromium_or_503()
    _, kb = whole_base_reader(request)
    with tempfile.TemporaryDirectory(prefix="threatscope-report-") as folder:
        target = Path(folder) / "report.html"
        options: dict[str, Any] = filters.as_kwargs()
        try:
            with query_names():
                kb.report(target, pdf=pdf, tlp=tlp, **options, infer_nexus=infer_nexus, min_n=min_n)
        except ExternalToolError as error:
            raise HTTPException(503, f"PDF output failed: {error}") from None
        body = (target.with_suffix(".pdf") if pdf else target).read_bytes()
    return Response(body, media_type=_MEDIA[format])


def _chromium_or_503() -> None:
    from threatscope.report.pdf import find_chromium

    try:
        find_chromium()
    except ConfigError as error:
        raise HTTPException(503, str(error)) from None
