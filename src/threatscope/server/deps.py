"""FastAPI dependencies every route uses: who is asking, and the knowledge base to answer from."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import HTTPException, Request

from threatscope.knowledge_base import KnowledgeBase
from threatscope.server.principal import ANONYMOUS, Principal, Role, Unauthenticated

__all__ = ["CHALLENGE", "principal", "reader", "requires"]

# TAXII 2.1 (section 1.6.8) requires HTTP Basic; tokens also come as Bearer.
CHALLENGE = {"WWW-Authenticate": 'Basic realm="ThreatScope", charset="UTF-8"'}


def principal(request: Request) -> Principal:
    """The request's principal; 401 for bad credentials, or for none when anonymous reads are
    off."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    try:
        found = request.app.state.authenticator(request.headers.get("authorization"))
    except Unauthenticated as exc:
        raise HTTPException(401, str(exc) or "bad credentials", headers=CHALLENGE) from None
    if found is None:
        if not request.app.state.anonymous_read:
            raise HTTPException(401, "authentication required", headers=CHALLENGE)
        found = ANONYMOUS
    request.state.principal = found
    return found


def requires(role: Role) -> Callable[[Request], Principal]:
    """A dependency: the principal, if it holds `role` (403 if not, 401 if anonymous)."""

    def check(request: Request) -> Principal:
        who = principal(request)
        if who.anonymous:
            raise HTTPException(401, f"{role} access requires authentication", headers=CHALLENGE)
        if not who.may(role):
            raise HTTPException(403, f"{who.name} is a {who.role}; this needs {role}")
        return who

    return check


def reader(request: Request) -> KnowledgeBase:
    """This worker thread's read-only knowledge base."""
    kb: KnowledgeBase = request.app.state.knowledge.reader()
    return kb
