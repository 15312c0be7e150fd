"""`import stix PATH`: STIX 2.0/2.1 bundles, one file or a directory of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threatscope.errors import InputError
from threatscope.sources.base import Source, register
from threatscope.stix import parse_file

__all__ = ["bundle_files", "load_bundles"]


def bundle_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise InputError(str(path), "directory holds no .json bundle")
        return files
    if not path.exists():
        raise InputError(str(path), "no such file or directory")
    return [path]


def load_bundles(path: Path) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for file in bundle_files(path):
        objects.extend(parse_file(file).objects)
    return objects


register(Source("stix", "STIX 2.0/2.1 bundle files (a file or a directory)", load_bundles))
