"""Bundles in, validated STIX 2.1 dicts out.

orjson does the parsing; objects stay plain dicts so custom properties survive untouched and the
hot path never builds the `stix2` object model. STIX 2.0 content is upgraded on the way in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threatscope import json_input
from threatscope.errors import InputError
from threatscope.files import read_input
from threatscope.stix.validate import is_identifier, validate_object

__all__ = ["Bundle", "parse_bundle", "parse_file"]

# STIX 2.0 `labels` became these typed vocabularies in 2.1.
_LABELS_TO_2_1 = {
    "malware": "malware_types",
    "tool": "tool_types",
    "indicator": "indicator_types",
    "report": "report_types",
    "threat-actor": "threat_actor_types",
}


@dataclass
class Bundle:
    """A parsed bundle: its objects are valid STIX 2.1 dicts, in file order."""

    file: str
    id: str | None
    spec_version: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    upgraded: int = 0


def parse_file(path: Path | str) -> Bundle:
    path = Path(path)
    return parse_bundle(read_input(path, "a STIX bundle file"), str(path))


def parse_bundle(data: bytes | str, file: str = "<input>") -> Bundle:
    """Parse, validate and upgrade one bundle (or a single bare STIX object).

    Raises InputError naming the first bad object by index and id; nothing is returned partially.
    """
    try:
        doc = json_input.loads(data)
    except json_input.JSONInputError as exc:
        raise InputError(file, str(exc)) from None
    if not isinstance(doc, dict):
        raise InputError(file, "expected a STIX bundle (a JSON object)")
    if doc.get("type") != "bundle":
        if "type" in doc and "id" in doc:
            doc = {"type": "bundle", "objects": [doc]}
        else:
            raise InputError(file, f"expected type 'bundle', got {doc.get('type')!r}")
    bundle_id = doc.get("id")
    if bundle_id is not None and not (
        is_identifier(bundle_id) and bundle_id.startswith("bundle--")
    ):
        raise InputError(file, f"invalid bundle id {bundle_id!r}")
    objects = doc.get("objects", [])
    if not isinstance(objects, list):
        raise InputError(file, "'objects' must be a list")
    bundle_version = doc.get("spec_version")
    bundle = Bundle(file=file, id=bundle_id, spec_version=str(bundle_version or "2.1"))

    problems: list[tuple[str, str]] = []
    for index, obj in enumerate(objects):
        reason = validate_object(obj)
        if reason is None and isinstance(obj, dict):
            version = obj.get("spec_version", bundle_version or "2.0")
            if version not in ("2.0", "2.1"):
                reason = f"unsupported spec_version {version!r}"
            elif version == "2.0":
                _upgrade_to_2_1(obj)
                bundle.upgraded += 1
            else:
                obj.setdefault("spec_version", "2.1")  # 2.1 bundles that put it on the bundle
        if reason is not None:
            ident = obj.get("id") if isinstance(obj, dict) else None
            label = f"object {index}" + (f" ({ident})" if isinstance(ident, str) else "")
            problems.append((label, reason))
        else:
            bundle.objects.append(obj)
    if problems:
        more = f" (and {len(problems) - 1} more bad objects)" if len(problems) > 1 else ""
        where, reason = problems[0]
        raise InputError(file, reason + more, where=where)
    return bundle


def _upgrade_to_2_1(obj: dict[str, Any]) -> None:
    """Rewrite a STIX 2.0 object in place as 2.1, keeping everything it had."""
    obj["spec_version"] = "2.1"
    stix_type = obj["type"]
    typed = _LABELS_TO_2_1.get(stix_type)
    if typed and typed not in obj and isinstance(obj.get("labels"), list):
        obj[typed] = list(obj["labels"])
    if stix_type == "malware":
        obj.setdefault("is_family", True)
    elif stix_type == "indicator":
        obj.setdefault("pattern_type", "stix")
