"""Adding objects to the knowledge base over TAXII 2.1 (section 5.5) and the status resources
that answer it (section 4.3). An analyst posts an envelope to the knowledge-base collection; its
objects go through `threatscope import stix` (the same code: every object valid and every version
accepted, or nothing written), and the answer is a status, complete, kept for its poster. A
user-defined collection takes objects too, when its filter admits every one of them."""

from __future__ import annotations

import tempfile
import threading
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from threatscope.errors import InputError
from threatscope.server.deps import requires
from threatscope.server.principal import Principal
from threatscope.server.taxii_collections import WRITABLE, find_collection
from threatscope.server.taxii_http import (
    TAXII_MEDIA_TYPE,
    answer,
    reader,
    refuse,
    store,
    taxii_principal,
)
from threatscope.stix.tlp import tlp_definitions
from threatscope.store.taxii_queries import CollectionFilter
from threatscope.user_collections import admits

__all__ = ["router"]

router = APIRouter()
_STATUS_KEPT = 1_000  # the latest statuses; older ones are forgotten (404)


class _Statuses:
    """Status resources of finished adds, by id, with the principal that may read each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()

    def add(self, owner: str, status: dict[str, Any]) -> None:
        with self._lock:
            self._kept[status["id"]] = (owner, status)
            while len(self._kept) > _STATUS_KEPT:
                self._kept.popitem(last=False)

    def get(self, owner: str, status_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._kept.get(status_id)
        return found[1] if found is not None and found[0] == owner else None


def _statuses(request: Request) -> _Statuses:
    state = request.app.state
    if not hasattr(state, "taxii_statuses"):
        state.taxii_statuses = _Statuses()
    statuses: _Statuses = state.taxii_statuses
    return statuses


def taxii_analyst(request: Request) -> Principal:
    """An analyst (or admin) principal accepting TAXII 2.1 (406, 401 or 403 if not)."""
    taxii_principal(request)
    try:
        return requires("analyst")(request)
    except HTTPException as exc:
        raise refuse(exc.status_code, str(exc.detail), dict(exc.headers or {})) from None


def _is_taxii(content_type: str | None) -> bool:
    kind, *params = (part.strip().lower() for part in (content_type or "").split(";"))
    version = next((p[8:].strip('"') for p in params if p.startswith("version=")), None)
    return kind == "application/taxii+json" and version in (None, "2.1")


@router.post("/api/collections/{collection_id}/objects/")
async def add_objects(
    collection_id: str, request: Request, who: Principal = Depends(taxii_analyst)
) -> Response:
    """Store an envelope's objects as `threatscope import stix` does (the same code: every
    object valid and every version accepted, or nothing written), and answer the status."""
    if not _is_taxii(request.headers.get("content-type")):
        raise refuse(415, f"send {TAXII_MEDIA_TYPE}")
    spec: CollectionFilter | None = None
    if collection_id != WRITABLE:
        found = find_collection(store(reader(request)), who.clearance.rank, collection_id)
        if found is None:
            raise refuse(404, f"no collection {collection_id[:80]}")
        if not isinstance(found.scope.value, CollectionFilter):
            raise refuse(
                403,
                "objects are added to the knowledge base collection or a user-defined one only",
            )
        spec = found.scope.value
    body = await request.body()
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise refuse(400, f"the body is not JSON: {exc}") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("objects"), list):
        raise refuse(400, "expected an envelope: a JSON object with an 'objects' list")
    if spec is not None:
        _check_admitted(spec, envelope["objects"])
    status_id = str(uuid.uuid4())
    requested = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    bundle = orjson.dumps({"type": "bundle", "objects": envelope["objects"]})
    result = await run_in_threadpool(_import, request, who, status_id, bundle)
    objects = [obj for obj in envelope["objects"] if isinstance(obj, dict)]
    status = {
        "id": status_id,
        "status": "complete",
        "request_timestamp": requested,
        "total_count": result.received,
        "success_count": result.received,
        "successes": [
            {"id": obj.get("id"), "version": obj.get("modified") or obj.get("created")}
            for obj in objects
        ],
        "failure_count": 0,
        "pending_count": 0,
    }
    _statuses(request).add(who.name, status)
    return Response(orjson.dumps(status), status_code=202, media_type=TAXII_MEDIA_TYPE)


def _check_admitted(spec: CollectionFilter, objects: list[Any]) -> None:
    """Every object posted to a user-defined collection passes its filter as `import stix`
    files it, or none is stored (a 422 naming the first that does not)."""
    dicts = [obj for obj in objects if isinstance(obj, dict)]
    custom = tlp_definitions(dicts)
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            continue  # the import refuses it, naming it
        reason = admits(spec, obj, "stix", custom)
        if reason is not None:
            ident = obj.get("id")
            where = f"object {index}" + (f" ({ident})" if isinstance(ident, str) else "")
            raise refuse(422, f"{where}: {reason}; nothing was stored")


def _import(request: Request, who: Principal, status_id: str, bundle: bytes) -> Any:
    """The import, in a writer of its own, from a file named after the request (imports list
    it as the path)."""
    with tempfile.TemporaryDirectory(prefix="threatscope-taxii-") as folder:
        path = Path(folder) / f"taxii-{who.name}-{status_id}.json"
        path.write_bytes(bundle)
        try:
            with request.app.state.knowledge.writer() as kb:
                return kb.import_file("stix", path)
        except InputError as exc:
            raise refuse(400, str(exc).replace(str(path), "the envelope")) from None


@router.get("/api/status/{status_id}/")
def status(status_id: str, request: Request, who: Principal = Depends(taxii_principal)) -> Response:
    found = _statuses(request).get(who.name, status_id)
    if found is None or who.anonymous:
        raise refuse(404, f"no status {status_id[:80]}")
    return answer(found)
