"""The REST API under /api/v1: what the CLI does, over HTTP, answered by `KnowledgeBase` with the
CLI's `--json` bytes. One router per area (rest_*.py); its OpenAPI document, of these routes
only, at /api/v1/openapi.json (the whole server's, TAXII included, is at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request

from threatscope import __version__
from threatscope.server.rest_actors import router as actors_router
from threatscope.server.rest_analysis import router as analysis_router
from threatscope.server.rest_imports import router as imports_router
from threatscope.server.rest_landscape import router as landscape_router

__all__ = ["PREFIX", "include_rest_api"]

PREFIX = "/api/v1"
_ROUTERS = (landscape_router, actors_router, analysis_router, imports_router)


def include_rest_api(app: FastAPI) -> None:
    for router in _ROUTERS:
        app.include_router(router)
    document = APIRouter()

    @document.get(f"{PREFIX}/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> dict[str, Any]:
        cached: dict[str, Any] | None = getattr(request.app.state, "rest_openapi", None)
        if cached is None:
            whole = request.app.openapi()  # FastAPI's document of every route, filtered here
            cached = {
                **whole,
                "info": {
                    "title": "ThreatScope REST API",
                    "version": __version__,
                    "description": "What the `threatscope` CLI does, over HTTP: every answer "
                    "is the CLI's `--json`. Authenticate with `Authorization: Bearer TOKEN` (or "
                    "HTTP Basic: user name, and the token as password).",
                },
                "paths": {
                    path: item
                    for path, item in whole.get("paths", {}).items()
                    if path.startswith(f"{PREFIX}/")
                },
            }
            cached["components"] = {
                **cached.get("components", {}),
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "basic": {"type": "http", "scheme": "basic"},
                },
            }
            cached["security"] = [{"bearer": []}, {"basic": []}]
            request.app.state.rest_openapi = cached
        return cached

    app.include_router(document)
