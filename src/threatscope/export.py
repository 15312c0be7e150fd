"""Knowledge base -> STIX 2.1 bundle file."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import orjson

from threatscope.files import atomic_output
from threatscope.store import Store
from threatscope.store.versions import IMPORTER_PROPERTY

__all__ = ["export_bundle"]


def export_bundle(
    store: Store,
    target: Path,
    types: Sequence[str] | None = None,
    include_revoked: bool = False,
    protect: Path | None = None,
) -> int:
    """Write current objects (optionally only some types) as one bundle; returns the count.

    Each object names the importer that brought it (`x_threatscope_importer`), so importing the
    bundle restores it: actor resolution ranks ATT&CK over MISP, and a later `import eurepoc`
    may update EuRepoC's incidents, exactly as in the knowledge base exported.

    Streams object by object into a private temporary file renamed over `target` at the end, so
    a failure never leaves a half-written bundle behind; `protect` (the knowledge base being read)
    is never replaced.
    """
    count = 0
    with atomic_output(target, protect=protect) as out:
        bundle_id = f"bundle--{uuid.uuid4()}".encode()
        out.write(b'{"type": "bundle", "id": "' + bundle_id + b'", "objects": [')
        for stored in store.iter_stored(types=types, include_revoked=include_revoked):
            out.write(b",\n" if count else b"\n")
            out.write(orjson.dumps({**stored.data, IMPORTER_PROPERTY: stored.source}))
            count += 1
        out.write(b"\n]}\n")
    return count
