"""The web UI's session: a signed cookie (itsdangerous) holding the user name, an expiry and a
CSRF token; no server-side table. The token is the credential at login only: afterwards the
cookie names the user, and every page looks the user up again, so a revoked user is out at once.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site sends it), and
Secure when the request came over https. Every POST form carries the session's CSRF token in a
hidden field; a POST without the matching token is refused (403)."""

from __future__ import annotations

import hmac
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from threatscope.server.principal import ANONYMOUS, Principal

__all__ = [
    "COOKIE",
    "SESSION_SECONDS",
    "LoginRequired",
    "Session",
    "csrf_ok",
    "page_principal",
    "save_session",
    "session_of",
    "signer",
]

COOKIE = "threatscope_session"
SESSION_SECONDS = 8 * 3600  # a working day; then the token is asked for again
SECRET_VARIABLE = "THREATSCOPE_UI_SECRET"


@dataclass(frozen=True)
class Session:
    user: str | None  # None before login: the session then only carries the CSRF token
    csrf: str
    expires: int


class LoginRequired(Exception):
    """The page needs a logged-in user; the UI answers with a redirect to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def signer(secret: str | None = None) -> URLSafeTimedSerializer:
    """Signs session cookies with `secret`, else THREATSCOPE_UI_SECRET, else a random key for
    this process (sessions then end when the server restarts)."""
    key = secret or os.environ.get(SECRET_VARIABLE) or secrets.token_urlsafe(32)
    return URLSafeTimedSerializer(key, salt="threatscope-ui-session")


def _new(user: str | None = None) -> Session:
    return Session(user, secrets.token_urlsafe(32), int(time.time()) + SESSION_SECONDS)


def session_of(request: Request) -> Session | None:
    """The request's valid session, or None (absent, forged, tampered with or expired)."""
    cached: Session | None = getattr(request.state, "ui_session", None)
    if cached is not None:
        return cached
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data: Any = request.app.state.ui_signer.loads(raw, max_age=SESSION_SECONDS)
        found = Session(data["u"], str(data["c"]), int(data["e"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if found.expires < time.time():
        return None
    request.state.ui_session = found
    return found


def ensure_session(request: Request) -> Session:
    """The request's session, or a new anonymous one (the login form needs a CSRF token)."""
    found = session_of(request)
    if found is None:
        found = _new()
        request.state.ui_session = found
        request.state.ui_session_changed = True
    return found


def start_session(request: Request, user: str | None) -> Session:
    """A fresh session (and CSRF token) for `user`: a login never keeps the token of before."""
    found = _new(user)
    request.state.ui_session = found
    request.state.ui_session_changed = True
    return found


def save_session(request: Request, response: Response) -> None:
    """Set the cookie when the session is new or changed."""
    if not getattr(request.state, "ui_session_changed", False):
        return
    found: Session = request.state.ui_session
    payload = {"u": found.user, "c": found.csrf, "e": found.expires}
    value = request.app.state.ui_signer.dumps(payload)
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def csrf_ok(request: Request, submitted: object) -> bool:
    """Whether a POSTed form's token is this session's (compared in constant time)."""
    found = session_of(request)
    return (
        found is not None
        and isinstance(submitted, str)
        and hmac.compare_digest(found.csrf.encode(), submitted.encode())
    )


def page_principal(request: Request) -> Principal:
    """Who is looking at a UI page: the session's user, looked up now (a revoked or deleted
    user's session counts for nothing), or ANONYMOUS when the server allows anonymous reads;
    otherwise LoginRequired."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    found = session_of(request)
    if found is not None and found.user is not None:
        kb = request.app.state.knowledge.reader()
        for user in kb.users():
            if user.name == found.user and user.active:
                who = Principal(user.name, user.role, user.clearance)
                request.state.principal = who
                return who
    if request.app.state.anonymous_read:
        request.state.principal = ANONYMOUS
        return ANONYMOUS
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise LoginRequired(path)
