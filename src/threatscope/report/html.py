"""The landscape as one self-contained HTML file (inline CSS and SVG charts), optionally a PDF."""

from __future__ import annotations

import os
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined

from threatscope.errors import ConfigError
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


def _write_atomically(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part.write_text(text, encoding="utf-8")
        os.replace(part, path)
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror or error}") from error
    finally:
        part.unlink(missing_ok=True)


def write_report(
    result: dict[str, Any],
    path: Path,
    pdf: bool = False,
    marking: Tlp | None = None,
    credits: list[SourceCredit] | None = None,
) -> list[Path]:
    """Write the HTML report to `path` (and with `pdf`, `path` with suffix .pdf); a reader never
    sees a half-written file. Returns the paths written."""
    path = Path(path)
    _write_atomically(path, render_html(result, marking=marking, credits=credits))
    written = [path]
    if pdf:
        # Imported here so HTML-only use never looks for a browser.
        from threatscope.report.pdf import html_to_pdf

        pdf_path = path.with_suffix(".pdf")
        html_to_pdf(path, pdf_path)
        written.append(pdf_path)
    return written
