"""The web UI, server-rendered: login, the landscape dashboard, actor pages, search and report
upload (ui_*.py), its stylesheet under /static. Added to the app by `add_ui`."""

from __future__ import annotations

from importlib.resources import files
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from threatscope.server import ui_actors, ui_dashboard, ui_login, ui_search, ui_upload
from threatscope.server.ui_session import LoginRequired, signer

__all__ = ["add_ui"]


def add_ui(app: FastAPI, secret: str | None = None) -> None:
    """`secret` signs the session cookies (default: THREATSCOPE_UI_SECRET, else random)."""
    app.state.ui_signer = signer(secret)
    for module in (ui_login, ui_dashboard, ui_actors, ui_search, ui_upload):
        app.include_router(module.router)
    static = files("threatscope.server").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_path, safe='/')}", status_code=303)
