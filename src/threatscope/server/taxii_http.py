"""What every TAXII 2.1 endpoint shares: the media type both ways, error messages in it, the
principal (after the Accept check), and the knowledge base of the endpoint's thread."""

from __future__ import annotations

from typing import Any, cast

import orjson
from fastapi import HTTPException, Request, Response

from threatscope.knowledge_base import KnowledgeBase
from threatscope.server.deps import principal, reader
from threatscope.server.principal import Principal
from threatscope.store.taxii_queries import TaxiiQueries

__all__ = [
    "ROOT",
    "TAXII_MEDIA_TYPE",
    "answer",
    "reader",
    "refuse",
    "store",
    "taxii_principal",
]

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
ROOT = "/taxii2/api/"
_TYPE_HEADER = {"Content-Type": TAXII_MEDIA_TYPE}


def refuse(status: int, title: str, headers: dict[str, str] | None = None) -> HTTPException:
    """An HTTP error whose body (the app's error handler) goes out as TAXII's media type."""
    return HTTPException(status, title, headers={**_TYPE_HEADER, **(headers or {})})


def _accepts_taxii(accept: str | None) -> bool:
    """Whether an Accept header admits TAXII 2.1 JSON (no header: anything goes)."""
    if not accept:
        return True
    for media_range in accept.split(","):
        kind, *params = (part.strip().lower() for part in media_range.split(";"))
        version = next((p[8:].strip('"') for p in params if p.startswith("version=")), None)
        if kind in ("*/*", "application/*"):
            return True
        if kind == "application/taxii+json" and version in (None, "2.1"):
            return True
    return False


def taxii_principal(request: Request) -> Principal:
    """The principal, after checking that the client accepts TAXII 2.1 (406 if not)."""
    if not _accepts_taxii(request.headers.get("accept")):
        raise refuse(406, f"this server answers {TAXII_MEDIA_TYPE} only")
    try:
        return principal(request)
    except HTTPException as exc:
        raise refuse(exc.status_code, str(exc.detail), dict(exc.headers or {})) from None


def store(kb: KnowledgeBase) -> TaxiiQueries:
    return cast(TaxiiQueries, kb.store)


def answer(body: Any, headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(content, media_type=TAXII_MEDIA_TYPE, headers=headers)
