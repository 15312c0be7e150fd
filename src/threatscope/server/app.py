"""The ASGI application: routes are added by their modules (TAXII, REST, UI); here is what every
request goes through.

- Security headers on every response; no stack trace ever leaves the server (errors are logged
  with their trace, and answered as a one-line JSON body).
- Request bodies over `max_body_bytes` are refused (413) before they are read in full.
- One structured access-log line (JSON) per request on the `threatscope.access` logger: time,
  remote address, user, method, path, status, milliseconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import HTTPException, RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threatscope import __version__
from threatscope.config import default_db_location
from threatscope.errors import ConfigError, InputError, NotFoundError, ThreatScopeError
from threatscope.server.knowledge import KnowledgeBases
from threatscope.server.principal import Authenticator
from threatscope.server.ratelimit import FailedLogins
from threatscope.server.rest import include_rest_api
from threatscope.server.taxii import router as taxii_router
from threatscope.server.ui import add_ui

__all__ = ["MAX_BODY_BYTES", "create_app"]

MAX_BODY_BYTES = 64 * 1024 * 1024  # a large STIX bundle; more is refused with 413
ACCESS_LOG = logging.getLogger("threatscope.access")
ERROR_LOG = logging.getLogger("threatscope.server")

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
    "'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}


def error_body(status: int, title: str, description: str | None = None) -> dict[str, Any]:
    """An error as TAXII 2.1 words it (section 3.6.1); REST answers use the same shape."""
    body: dict[str, Any] = {"title": title, "http_status": str(status)}
    if description:
        body["description"] = description
    return body


class _BodyLimit:
    """Refuses a request whose body is larger than `limit` bytes (413), by Content-Length when
    given and by counting otherwise, before the route reads it whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0
        too_large = False
        started = False

        async def counted() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # The route sees the client go away; what it answers is dropped below.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if too_large:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps(error_body(413, f"request body over {self.limit} bytes"))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(
    location: str | None = None,
    *,
    authenticator: Authenticator | None = None,
    anonymous_read: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The server for the knowledge base at `location` (path or URL; None: the default one).
    `authenticator` finds users from the Authorization header (default: no user accounts);
    `anonymous_read` answers unauthenticated reads with TLP:CLEAR objects only."""
    from threatscope.server.auth import default_authenticator

    knowledge = KnowledgeBases(location or default_db_location())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        knowledge.close()

    app = FastAPI(
        title="ThreatScope",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.knowledge = knowledge
    app.state.authenticator = authenticator or default_authenticator(knowledge.location)
    app.state.failed_logins = FailedLogins()
    app.state.anonymous_read = anonymous_read
    app.state.max_body_bytes = max_body_bytes

    @app.middleware("http")
    async def access_log(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response: Response = await call_next(request)
            status = response.status_code
            response.headers.update(SECURITY_HEADERS)
            await _audit_unrecorded_write(request, status)
            return response
        finally:
            who = getattr(request.state, "principal", None)
            ACCESS_LOG.info(
                orjson.dumps(
                    {
                        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "remote": request.client.host if request.client else None,
                        "user": who.name if who is not None else None,
                        "method": request.method,
                        "path": request.url.path,
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                ).decode()
            )

    _add_error_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(taxii_router)
    include_rest_api(app)
    add_ui(app)
    app.add_middleware(_BodyLimit, limit=max_body_bytes)
    return app


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def _audit_unrecorded_write(request: Request, status: int) -> None:
    """A write that succeeded for a user and that its route did not record (deps.audited) is
    recorded here as its method and path: every write is in the audit log."""
    who = getattr(request.state, "principal", None)
    if (
        request.method not in WRITE_METHODS
        or status >= 400
        or who is None
        or getattr(request.state, "audited", False)
    ):
        return
    knowledge: KnowledgeBases = request.app.state.knowledge
    remote = request.client.host if request.client else "unknown"

    def record() -> None:
        with knowledge.writer() as kb:
            kb.record_audit(
                who.name, f"{request.method} {request.url.path}", remote=remote,
                detail={"status": status},
            )

    await run_in_threadpool(record)


def _add_error_handlers(app: FastAPI) -> None:
    def answer(status: int, title: str, headers: dict[str, str] | None = None) -> JSONResponse:
        merged = {**SECURITY_HEADERS, **(headers or {})}
        return JSONResponse(error_body(status, title), status_code=status, headers=merged)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return answer(exc.status_code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return answer(422, f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(ThreatScopeError)
    async def library_error(request: Request, exc: ThreatScopeError) -> JSONResponse:
        if isinstance(exc, NotFoundError):
            return answer(404, str(exc))
        if isinstance(exc, ConfigError | InputError):
            return answer(400, str(exc))
        ERROR_LOG.error("%s %s: %s", request.method, request.url.path, exc)
        return answer(503, "the knowledge base cannot answer now")

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, ClientDisconnect):  # gone (or cut off by the body limit)
            ERROR_LOG.exception("%s %s failed", request.method, request.url.path)
        return answer(500, "internal error")
