"""Knowledge base -> STIX 2.1 bundle file."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import orjson

from threatscope.errors import ConfigError
from threatscope.store import Store

__all__ = ["export_bundle"]


def export_bundle(
    store: Store, target: Path, types: Sequence[str] | None = None, include_revoked: bool = False
) -> int:
    """Write current objects (optionally only some types) as one bundle; returns the count.

    Streams object by object, and writes to a temporary name first so a failure never leaves a
    half-written bundle behind.
    """
    partial = target.with_name(target.name + ".part")
    count = 0
    try:
        with partial.open("wb") as out:
            bundle_id = f"bundle--{uuid.uuid4()}".encode()
            out.write(b'{"type": "bundle", "id": "' + bundle_id + b'", "objects": [')
            for obj in store.iter_objects(types=types, include_revoked=include_revoked):
                out.write(b",\n" if count else b"\n")
                out.write(orjson.dumps(obj))
                count += 1
            out.write(b"\n]}\n")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ConfigError(f"{target}: cannot write: {exc.strerror or exc}") from None
    return count
