"""Reading evidence over REST: `attribute --json` for a JSON body of evidence, `extract --json`
for an uploaded report, and storing a reviewed extraction (the analyst's edit of what
/extract answered) as `extract --store` stores one (KnowledgeBase.store_extraction)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from threatscope.errors import ConfigError, InputError
from threatscope.knowledge_base import NoEvidenceError
from threatscope.server.deps import audited, principal, requires
from threatscope.server.principal import Principal
from threatscope.server.rest_clearance import whole_base_reader
from threatscope.server.rest_output import as_cli_prints, errors, query_names, writes_nothing

__all__ = ["router", "safe_name"]

router = APIRouter(prefix="/api/v1", tags=["analysis"])


class Evidence(BaseModel):
    """What `threatscope attribute` takes as options (`text`: the report's text itself)."""

    techniques: list[str] | None = Field(None, description="ATT&CK ids")
    software: list[str] | None = Field(None, description="Malware or tool names")
    cves: list[str] | None = None
    iocs: list[str] | None = Field(None, description="IPs, domains, URLs or hashes")
    sectors: list[str] | None = None
    victim_countries: list[str] | None = None
    first_seen: str | None = Field(None, description="YYYY-MM or YYYY-MM-DD")
    text: str | None = Field(None, description="A report's text, read through `extract`")


@router.post("/attribute", responses=errors(400, 401, 403, 422, 503))
def attribute(request: Request, evidence: Evidence) -> Response:
    """Which actor, and which nexus, best explain the evidence: `threatscope attribute --json`."""
    _, kb = whole_base_reader(request)
    try:
        with query_names():
            result = kb.attribute(**evidence.model_dump())
    except NoEvidenceError:
        fields = ", ".join(Evidence.model_fields)
        raise ConfigError(f"give some evidence: {fields}") from None
    writes_nothing(request)
    return as_cli_prints(result.as_dict())


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


def safe_name(name: str | None, default: str) -> str:
    """An uploaded file's name, reduced to a plain file name (no directories, no dot files)."""
    cleaned = _UNSAFE.sub("_", Path(name or "").name).lstrip(".")
    return cleaned[:100] or default


async def _upload(request: Request, name: str) -> tuple[str, bytes]:
    """(file name, content) of a text body or of a multipart form's `file` part."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise HTTPException(400, "multipart upload without a `file` part")
        return safe_name(part.filename, name), await part.read()
    return safe_name(name, "report.txt"), await request.body()


@router.post("/extract", openapi_extra=_UPLOAD, responses=errors(400, 401, 403, 413, 503))
async def extract(
    request: Request,
    who: Annotated[Principal, Depends(principal)],
    name: Annotated[
        str, Query(description="File name of a text body (its suffix picks the reader)")
    ] = "report.txt",
) -> Response:
    """IOCs, CVEs, techniques, actors, malware, sectors and countries in an uploaded report
    (.txt, .md, .html or .pdf): `threatscope extract FILE --json`, the file named as uploaded.
    Nothing is stored; POST the (reviewed) answer to /extract/store to store it."""
    filename, content = await _upload(request, name)

    def read() -> dict[str, Any]:
        _, kb = whole_base_reader(request)
        with tempfile.TemporaryDirectory(prefix="threatscope-upload-") as folder:
            path = Path(folder) / filename
            path.write_bytes(content)
            try:
                summary = kb.extract(path).as_dict()
            except (ConfigError, InputError) as error:
                raise ConfigError(str(error).replace(f"{folder}/", "")) from None
        return {**summary, "file": filename}

    answer = as_cli_prints(await run_in_threadpool(read))
    writes_nothing(request)
    return answer


@router.post("/extract/store", responses=errors(400, 401, 403, 422, 503))
def store_extraction(
    request: Request,
    extraction: Annotated[
        dict[str, Any], Body(description="What /extract answered, reviewed (edited or not)")
    ],
    who: Annotated[Principal, Depends(requires("analyst"))],
    created: Annotated[
        str | None, Query(description="Timestamp its objects carry (default: now)")
    ] = None,
) -> Response:
    """Store a reviewed extraction as `threatscope extract FILE --store` stores one: the report,
    its indicators and vulnerabilities, linked to the actors, software and techniques kept.
    Answers the extraction with `stored` (what the import did)."""
    whole_base_reader(request)
    with request.app.state.knowledge.writer() as kb, query_names():
        result = kb.store_extraction(extraction, created=created).as_dict()
    audited(request, "extract.store", result["file"], {"stored": result["stored"]})
    return as_cli_prints(result)
