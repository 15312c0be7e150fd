"""The landscape as one self-contained HTML file (inline CSS and SVG charts), optionally a PDF."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined

from threatscope.errors import ConfigError
from threatscope.files import write_atomically
from threatscope.report.marking import Tlp
from threatscope.report.provenance import SourceCredit
from threatscope.report.view import build_context

__all__ = ["render_html", "write_report"]

_TEMPLATE = "report.html.j2"


def _load(name: str) -> str | None:
    # importlib.resources, not a filesystem path: templates ship as package data and must load
    # from a wheel or a zip as well as from a source checkout.
    try:
        return files("threatscope.report").joinpath("templates", name).read_text("utf-8")
    except FileNotFoundError:
        return None  # Jinja turns this into TemplateNotFound naming the template


@cache
def _environment() -> Environment:
    return Environment(
        loader=FunctionLoader(_load),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


def render_html(
    result: dict[str, Any],
    marking: Tlp | None = None,
    credits: list[SourceCredit] | None = None,
) -> str:
    """The report for one landscape result, as a complete HTML document, marked `marking`
    (default TLP:CLEAR) and crediting `credits` (default: the result's incident sources)."""
    context = build_context(result, marking=marking, credits=credits)
    return _environment().get_template(_TEMPLATE).render(**context)


def write_report(
    result: dict[str, Any],
    path: Path,
    pdf: bool = False,
    marking: Tlp | None = None,
    credits: list[SourceCredit] | None = None,
    protect: Path | None = None,
) -> list[Path]:
    """Write the HTML report to `path` (and with `pdf`, `path` with suffix .pdf); a reader never
    sees a half-written file, and `protect` (the knowledge base read) is never replaced. Returns
    the paths written."""
    path = Path(path)
    pdf_path = path.with_suffix(".pdf")
    if pdf and pdf_path == path:
        raise ConfigError(f"{path}: the HTML report and its PDF would be the same file")
    html = render_html(result, marking=marking, credits=credits)
    write_atomically(path, html.encode("utf-8"), protect=protect, parents=True)
    written = [path]
    if pdf:
        # Imported here so HTML-only use never looks for a browser.
        from threatscope.report.pdf import html_to_pdf

        html_to_pdf(path, pdf_path, protect=protect)
        written.append(pdf_path)
    return written
