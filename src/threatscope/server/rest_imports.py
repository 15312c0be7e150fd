"""Importing over REST (an analyst uploads a file; `threatscope import SOURCE FILE --json`, one
transaction, audited) and the knowledge base's counts (`threatscope stats --json`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from threatscope.errors import ConfigError, InputError
from threatscope.server.deps import audited, requires
from threatscope.server.principal import Principal
from threatscope.server.rest_analysis import safe_name
from threatscope.server.rest_clearance import whole_base_reader
from threatscope.server.rest_output import as_cli_prints, errors, query_names

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["knowledge base"])

_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "The file to import (`reports`: one or more)",
                        },
                        "mapping": {
                            "type": "string",
                            "format": "binary",
                            "description": "`table`: the TOML mapping",
                        },
                    },
                    "required": ["file"],
                }
            }
        },
    }
}


async def _saved(request: Request, folder: Path) -> tuple[list[Path], Path | None]:
    """The uploaded files (and mapping) written into `folder` under their own names."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(400, "upload the file as multipart/form-data, in a `file` part")
    form = await request.form()
    paths: list[Path] = []
    for number, part in enumerate(form.getlist("file")):
        if not isinstance(part, UploadFile):
            raise HTTPException(400, "the `file` part must be a file")
        path = folder / f"{number}" / safe_name(part.filename, "upload")
        path.parent.mkdir()
        path.write_bytes(await part.read())
        paths.append(path)
    if not paths:
        raise HTTPException(400, "multipart upload without a `file` part")
    mapping = form.get("mapping")
    if mapping is None:
        return paths, None
    if not isinstance(mapping, UploadFile):
        raise HTTPException(400, "the `mapping` part must be a file")
    mapping_path = folder / "mapping" / safe_name(mapping.filename, "mapping.toml")
    mapping_path.parent.mkdir()
    mapping_path.write_bytes(await mapping.read())
    return paths, mapping_path


@router.post(
    "/import/{source}", openapi_extra=_FORM, responses=errors(400, 401, 403, 413, 422, 503)
)
async def import_file(
    request: Request, source: str, who: Annotated[Principal, Depends(requires("analyst"))]
) -> Response:
    """Import an uploaded file through `source` (see `threatscope sources`) in one transaction:
    `threatscope import SOURCE FILE --json`. Bad input is 400 with the line the CLI prints for
    it (files named as uploaded), and nothing is written."""
    with tempfile.TemporaryDirectory(prefix="threatscope-import-") as folder:
        paths, mapping = await _saved(request, Path(folder))

        def run() -> dict[str, Any]:
            whole_base_reader(request)
            try:
                with request.app.state.knowledge.writer() as kb, query_names():
                    return kb.import_file(source, paths, mapping=mapping).as_dict()
            except (ConfigError, InputError) as error:
                raise ConfigError(_as_uploaded(str(error), Path(folder))) from None

        result = await run_in_threadpool(run)
        result["path"] = _as_uploaded(str(result["path"]), Path(folder))
    names = [path.name for path in paths]
    counts = ("received", "added", "updated", "unchanged")
    detail: dict[str, Any] = {k: result[k] for k in counts if k in result}
    await run_in_threadpool(audited, request, f"import.{source}", ", ".join(names), detail)
    return as_cli_prints(result)


def _as_uploaded(text: str, folder: Path) -> str:
    """`text` with the upload folder's paths named as uploaded (`0/bad.json` -> `bad.json`)."""
    for numbered in sorted(folder.iterdir(), reverse=True):
        text = text.replace(f"{numbered}/", "")
    return text.replace(f"{folder}/", "").replace(str(folder), ".")


@router.get("/stats", responses=errors(401, 403, 503))
def stats(request: Request) -> Response:
    """Current objects per STIX type, relationships, actors per nexus: `threatscope stats
    --json`."""
    _, kb = whole_base_reader(request)
    return as_cli_prints(kb.stats().as_dict())
