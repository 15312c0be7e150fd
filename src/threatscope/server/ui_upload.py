"""Report upload `/upload`: paste text or upload a file (.txt, .md, .html, .pdf) → the
extraction shown for review (IOCs, CVEs, techniques, entities, suggested actors), each item with
a checkbox to drop it → "Store" (analysts; CSRF; audited) stores the reviewed extraction."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from threatscope.errors import ThreatScopeError
from threatscope.extract.text import read_report
from threatscope.server.deps import audited, reader
from threatscope.server.principal import Principal
from threatscope.server.ui_extraction import (
    drop_items,
    extract_upload,
    hidden_keys,
    review_items,
    store_reviewed,
    upload_name,
)
from threatscope.server.ui_render import message_page, render
from threatscope.server.ui_session import csrf_ok, page_principal

__all__ = ["MAX_UPLOAD_BYTES", "router"]

router = APIRouter(include_in_schema=False)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # one report; the app's body limit is for STIX bundles
REFUSED_CSRF = "The form's CSRF token is missing or wrong."


def _signed_in(request: Request) -> Principal | Response:
    who = page_principal(request)
    if who.anonymous:
        return message_page(request, 401, "Log in first", "Uploading a report needs a user.")
    return who


@router.get("/upload")
def upload_form(request: Request) -> Response:
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    return render(request, "upload.html.j2", title="Upload a report", error=None)


async def _read_upload(form: Any) -> tuple[str, str]:
    """(name, text) of the uploaded file, or of the pasted text when no file was chosen."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValueError(f"{upload.filename}: over {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
        name = upload_name(upload.filename)

        def read() -> str:
            # read_report knows each format by its suffix; it reads a file, so one is made.
            with tempfile.TemporaryDirectory(prefix="threatscope-upload-") as folder:
                path = Path(folder) / name
                path.write_bytes(data)
                return read_report(path)[1]

        return name, await run_in_threadpool(read)
    return upload_name(None), str(form.get("text") or "")


@router.post("/upload")
async def upload_review(request: Request) -> Response:
    # Starlette's default of 1 MB for a text field would cut a long pasted report short.
    form = await request.form(max_files=1, max_fields=10, max_part_size=MAX_UPLOAD_BYTES)
    if not csrf_ok(request, form.get("csrf")):
        return message_page(request, 403, "Refused", REFUSED_CSRF)
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    try:
        name, text = await _read_upload(form)
    except (ThreatScopeError, ValueError) as exc:
        return render(request, "upload.html.j2", status=400, title="Upload a report",
                      error=str(exc))
    if not text.strip():
        return render(request, "upload.html.j2", status=400, title="Upload a report",
                      error="Paste a report's text or choose a file.")

    def review() -> dict[str, Any]:
        kb = reader(request)
        extraction = extract_upload(kb, text, name)
        return review_items(kb, who, extraction)

    items = await run_in_threadpool(review)
    # A review reads and writes nothing: not a write for the app's audit of unrecorded POSTs.
    request.state.audited = True
    return render(
        request, "review.html.j2", title=f"Review: {name}", name=name, text=text,
        may_store=who.may("analyst"), **items,
    )


@router.post("/upload/store")
async def upload_store(request: Request) -> Response:
    form = await request.form(max_files=0, max_part_size=MAX_UPLOAD_BYTES)
    if not csrf_ok(request, form.get("csrf")):
        return message_page(request, 403, "Refused", REFUSED_CSRF)
    who = _signed_in(request)
    if isinstance(who, Response):
        return who
    if not who.may("analyst"):
        return message_page(
            request, 403, "Refused", f"{who.name} is a {who.role}; storing needs an analyst."
        )
    text = str(form.get("text") or "")
    name = upload_name(str(form.get("name") or ""))
    dropped = {str(key) for key in form.getlist("drop")}
    if not text.strip():
        return message_page(request, 400, "Nothing to store", "The review form held no text.")

    def store() -> dict[str, Any]:
        extraction = extract_upload(reader(request), text, name)
        withheld = hidden_keys(reader(request), who, extraction)
        with request.app.state.knowledge.writer() as kb:
            return store_reviewed(kb, drop_items(extraction, dropped | withheld))

    stored = await run_in_threadpool(store)
    await run_in_threadpool(
        audited, request, "ui extract store", stored["report"],
        {"file": name, "objects": stored["objects"], "dropped": sorted(dropped)},
    )
    return render(request, "stored.html.j2", title="Stored", name=name, stored=stored)
