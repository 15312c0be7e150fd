"""The TAXII 2.1 server (OASIS TAXII 2.1, sections 4 and 5): discovery at /taxii2/, one API root
at /taxii2/api/, its collections (taxii_collections.py), and for each: objects, one object, its
versions and the manifest, paged by (date_added, id) in the database.

Every answer is filtered to the principal's clearance by the store: an object above it is
absent from pages and manifests, and asked for by id it is 404 (as an object that does not
exist), so nothing tells its existence. The knowledge base keeps one version of each object (the
newest imported), so that version is the first, the last and all of them.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from threatscope.knowledge_base import KnowledgeBase
from threatscope.server.principal import Principal
from threatscope.server.taxii_collections import (
    STIX_MEDIA_TYPE,
    WRITABLE,
    Collection,
    find_collection,
    visible_collections,
)
from threatscope.server.taxii_http import (
    ROOT,
    TAXII_MEDIA_TYPE,
    answer,
    reader,
    refuse,
    store,
    taxii_principal,
)
from threatscope.server.taxii_params import (
    TaxiiParameterError,
    next_token,
    read_filter,
    read_paging,
)
from threatscope.store.taxii_queries import TaxiiFilter, TaxiiRow

__all__ = ["TAXII_MEDIA_TYPE", "router"]

router = APIRouter(prefix="/taxii2", tags=["TAXII 2.1"])


@router.get("/")
def discovery(request: Request, who: Principal = Depends(taxii_principal)) -> Response:
    return answer(
        {
            "title": "ThreatScope",
            "description": "Adversary intelligence from the ThreatScope knowledge base.",
            "default": ROOT,
            "api_roots": [ROOT],
        }
    )


@router.get("/api/")
def api_root(request: Request, who: Principal = Depends(taxii_principal)) -> Response:
    return answer(
        {
            "title": "ThreatScope knowledge base",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": request.app.state.max_body_bytes,
        }
    )


@router.get("/api/collections/")
def collections(request: Request, who: Principal = Depends(taxii_principal)) -> Response:
    kb = reader(request)
    found = visible_collections(store(kb), who.clearance.rank)
    return answer({"collections": [_resource(collection, who) for collection in found]})


def _resource(collection: Collection, who: Principal) -> dict[str, Any]:
    writable = collection.id == WRITABLE or collection.scope.kind == "user"
    return collection.resource(can_write=writable and who.may("analyst"))


def _collection(kb: KnowledgeBase, who: Principal, collection_id: str) -> Collection:
    found = find_collection(store(kb), who.clearance.rank, collection_id)
    if found is None:
        raise refuse(404, f"no collection {collection_id[:80]}")
    return found


@router.get("/api/collections/{collection_id}/")
def collection(
    collection_id: str,
    request: Request,
    who: Principal = Depends(taxii_principal),
) -> Response:
    kb = reader(request)
    return answer(_resource(_collection(kb, who, collection_id), who))


def _page(
    request: Request,
    kb: KnowledgeBase,
    who: Principal,
    collection_id: str,
    *,
    only: str | None = None,
    with_json: bool = True,
    allow: tuple[str, ...] = ("id", "type", "version", "spec_version"),
) -> tuple[list[TaxiiRow], bool, str | None]:
    """One page of the collection's objects the request asks for: rows, `more`, `next`."""
    found = _collection(kb, who, collection_id)
    try:
        match = read_filter(request.query_params, allow=allow)
        paging = read_paging(request.query_params)
    except TaxiiParameterError as exc:
        raise refuse(400, str(exc)) from None
    if only is not None:
        match = TaxiiFilter(
            (only,), match.types, match.versions, match.spec_versions, match.added_after
        )
    rows = store(kb).taxii_page(found.scope, match, paging.after, paging.limit + 1, with_json)
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    token = next_token(rows[-1].date_added, rows[-1].id) if more else None
    return rows, more, token


def _added_headers(rows: list[TaxiiRow]) -> dict[str, str]:
    if not rows:
        return {}
    return {
        "X-TAXII-Date-Added-First": rows[0].date_added,
        "X-TAXII-Date-Added-Last": rows[-1].date_added,
    }


def _envelope(rows: list[TaxiiRow], more: bool, token: str | None) -> bytes:
    """The envelope (section 3.7) with the stored JSON spliced in as it is, unparsed."""
    head: dict[str, Any] = {"more": more}
    if token is not None:
        head["next"] = token
    if not rows:
        return orjson.dumps(head)
    objects = ",".join(row.json for row in rows).encode()
    return orjson.dumps(head)[:-1] + b',"objects":[' + objects + b"]}"


@router.get("/api/collections/{collection_id}/objects/")
def objects(
    collection_id: str,
    request: Request,
    who: Principal = Depends(taxii_principal),
) -> Response:
    kb = reader(request)
    rows, more, token = _page(request, kb, who, collection_id)
    return answer(_envelope(rows, more, token), _added_headers(rows))


def _version(row: TaxiiRow) -> str:
    # An object without `modified` (a cyber observable) is versioned by when it was created,
    # else by when it was added.
    return row.modified or row.created or row.date_added


def _exists(kb: KnowledgeBase, who: Principal, collection_id: str, object_id: str) -> bool:
    found = _collection(kb, who, collection_id)
    return bool(store(kb).taxii_page(found.scope, TaxiiFilter(ids=(object_id,)), None, 1, False))


@router.get("/api/collections/{collection_id}/objects/{object_id}/")
def one_object(
    collection_id: str,
    object_id: str,
    request: Request,
    who: Principal = Depends(taxii_principal),
) -> Response:
    kb = reader(request)
    rows, more, token = _page(
        request, kb, who, collection_id, only=object_id, allow=("version", "spec_version")
    )
    if not rows and not _exists(kb, who, collection_id, object_id):
        raise refuse(404, f"no object {object_id[:120]} in this collection")
    return answer(_envelope(rows, more, token), _added_headers(rows))


@router.get("/api/collections/{collection_id}/objects/{object_id}/versions/")
def versions(
    collection_id: str,
    object_id: str,
    request: Request,
    who: Principal = Depends(taxii_principal),
) -> Response:
    kb = reader(request)
    rows, more, token = _page(
        request, kb, who, collection_id, only=object_id, with_json=False, allow=("spec_version",)
    )
    if not rows and not _exists(kb, who, collection_id, object_id):
        raise refuse(404, f"no object {object_id[:120]} in this collection")
    body: dict[str, Any] = {"more": more}
    if token is not None:
        body["next"] = token
    if rows:
        body["versions"] = [_version(row) for row in rows]
    return answer(body, _added_headers(rows))


@router.get("/api/collections/{collection_id}/manifest/")
def manifest(
    collection_id: str,
    request: Request,
    who: Principal = Depends(taxii_principal),
) -> Response:
    kb = reader(request)
    rows, more, token = _page(request, kb, who, collection_id, with_json=False)
    body: dict[str, Any] = {"more": more}
    if token is not None:
        body["next"] = token
    if rows:
        body["objects"] = [
            {
                "id": row.id,
                "date_added": row.date_added,
                "version": _version(row),
                "media_type": STIX_MEDIA_TYPE,
            }
            for row in rows
        ]
    return answer(body, _added_headers(rows))


# Adding objects and status resources: their own module, on this router.
from threatscope.server.taxii_add import router as _add_router  # noqa: E402

router.include_router(_add_router)
