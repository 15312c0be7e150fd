"""Rendering UI pages: Jinja2 templates shipped as package data (server/templates), autoescaped,
with what every page needs (who is logged in, the CSRF token for forms, the navigation)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FunctionLoader, StrictUndefined

from threatscope import __version__
from threatscope.server.ui_session import ensure_session, save_session

__all__ = ["message_page", "render"]


def _load(name: str) -> str | None:
    # importlib.resources: templates load from a wheel as well as from a checkout.
    try:
        return files("threatscope.server").joinpath("templates", name).read_text("utf-8")
    except FileNotFoundError:
        return None


@cache
def _environment() -> Environment:
    return Environment(
        loader=FunctionLoader(_load),
        autoescape=True,  # every value is escaped: names and reports come from anywhere
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    who = getattr(request.state, "principal", None)
    session = ensure_session(request)
    html = _environment().get_template(template).render(
        user=who,
        csrf=session.csrf,
        path=request.url.path,
        version=__version__,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    save_session(request, response)
    return response


def message_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """A page that says one thing: a refusal, or what was not found."""
    return render(request, "message.html.j2", status=status, title=title, message=message)
