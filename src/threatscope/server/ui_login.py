"""/login and /logout: the user name and an API token (tokens are the credentials), checked by
the app's authenticator as HTTP Basic would be, with the same failed-login limit as the API."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from threatscope.server.deps import audited, remote_address
from threatscope.server.principal import Unauthenticated
from threatscope.server.ui_render import message_page, render
from threatscope.server.ui_session import csrf_ok, save_session, start_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def safe_next(value: object) -> str:
    """Where to go after login: a path on this server only (never `//host` or a URL)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value if "\\" not in value else "/"
    return "/"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(
        request, "login.html.j2", title="Log in", next=safe_next(next), error=None, username=""
    )


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return message_page(request, 403, "Refused", "The form's CSRF token is missing or wrong.")
    name = str(form.get("username") or "").strip()
    token = str(form.get("token") or "").strip()
    next_path = safe_next(form.get("next"))
    remote = remote_address(request)
    failed_logins = request.app.state.failed_logins

    def again(status: int, error: str) -> HTMLResponse:
        return render(
            request, "login.html.j2", status=status, title="Log in", next=next_path,
            error=error, username=name[:200],
        )

    wait = failed_logins.retry_after(remote)
    if wait is not None:
        response = again(429, f"Too many failed logins; try again in {wait} seconds.")
        response.headers["Retry-After"] = str(wait)
        return response
    if not name or not token:
        return again(400, "Enter your user name and an API token.")
    basic = base64.b64encode(f"{name}:{token}".encode()).decode()
    try:
        # argon2 verification takes tens of milliseconds: off the event loop.
        who = await run_in_threadpool(request.app.state.authenticator, f"Basic {basic}")
    except Unauthenticated:
        who = None
    if who is None:
        failed_logins.failed(remote)
        return again(401, "Wrong user name or token.")
    request.state.principal = who
    start_session(request, who.name)
    await run_in_threadpool(audited, request, "ui login")
    redirect = RedirectResponse(next_path, status_code=303)
    save_session(request, redirect)
    return redirect


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return message_page(request, 403, "Refused", "The form's CSRF token is missing or wrong.")
    start_session(request, None)  # a new anonymous session: the old cookie is replaced
    response = RedirectResponse("/login", status_code=303)
    save_session(request, response)
    return response
