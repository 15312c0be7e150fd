"""FastAPI dependencies every route uses: who is asking, and the knowledge base to answer from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import HTTPException, Request

from threatscope.knowledge_base import KnowledgeBase
from threatscope.server.principal import ANONYMOUS, Principal, Role, Unauthenticated

__all__ = ["CHALLENGE", "audited", "principal", "reader", "remote_address", "requires"]

# TAXII 2.1 (section 1.6.8) requires HTTP Basic; tokens also come as Bearer.
CHALLENGE = {"WWW-Authenticate": 'Basic realm="ThreatScope", charset="UTF-8"'}


def principal(request: Request) -> Principal:
    """The request's principal; 401 for bad credentials, or for none when anonymous reads are
    off."""
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    authorization = request.headers.get("authorization")
    failed_logins = getattr(request.app.state, "failed_logins", None)
    remote = remote_address(request)
    if authorization and failed_logins is not None:
        wait = failed_logins.retry_after(remote)
        if wait is not None:
            raise HTTPException(
                429, "too many failed logins; try again later", headers={"Retry-After": str(wait)}
            )
    try:
        found = request.app.state.authenticator(authorization)
    except Unauthenticated as exc:
        if failed_logins is not None:
            failed_logins.failed(remote)
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
    """This thread's read-only knowledge base. Call it in the endpoint's body, never as
    `Depends(reader)`: FastAPI may run a sync dependency in another pool thread than the
    endpoint, and an SQLite connection serves only the thread that opened it (500s under
    concurrency, tests/test_taxii.py's concurrent clients)."""
    kb: KnowledgeBase = request.app.state.knowledge.reader()
    return kb


def remote_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def audited(
    request: Request,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Record the request's write in the audit log (who, when, what, from where); a route calls
    it once its write has landed. Writes no route records are logged by the app after the
    fact (app.py), so none goes unrecorded."""
    who = principal(request)
    with request.app.state.knowledge.writer() as kb:
        audit_id = kb.record_audit(
            who.name, action, target, remote=remote_address(request), detail=detail
        )
    request.state.audited = True
    return audit_id
