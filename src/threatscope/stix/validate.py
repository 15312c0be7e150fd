"""What STIX requires of every object, checked on the dict as parsed.

We check the rules that decide whether an object can be stored and versioned correctly: the id,
its type, the timestamps that drive versioning, every reference, and the shape of every property
ThreatScope reads (stix/properties.py). Vocabulary rules are left to producers, and custom
properties we do not read (most `x_mitre_*`) are kept untouched.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from threatscope.stix.properties import property_problem

__all__ = ["SCO_TYPES", "is_identifier", "normalise_timestamp", "validate_object"]

# Cyber-observable objects carry no created/modified (STIX 2.1 §6).
SCO_TYPES = frozenset(
    {
        "artifact",
        "autonomous-system",
        "directory",
        "domain-name",
        "email-addr",
        "email-message",
        "file",
        "ipv4-addr",
        "ipv6-addr",
        "mac-addr",
        "mutex",
        "network-traffic",
        "process",
        "software",
        "url",
        "user-account",
        "windows-registry-key",
        "x509-certificate",
    }
)
# Objects that have `created` but may lack `modified`.
_CREATED_ONLY = frozenset({"marking-definition"})

_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{1,248}[a-z0-9]")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_IDENTIFIER = re.compile(rf"([a-z0-9][a-z0-9-]*[a-z0-9])--{_UUID}")
# fullmatch, not `$` (which allows a trailing newline); [0-9], not \d (any script's digits).
# The importer `export stix` names on each object (x_threatscope_importer): a source name.
_IMPORTER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")


def is_identifier(value: Any) -> bool:
    return isinstance(value, str) and _valid_identifier(value)


@lru_cache(maxsize=65536)
def _valid_identifier(value: str) -> bool:
    return _IDENTIFIER.fullmatch(value) is not None


def normalise_timestamp(value: Any) -> str | None:
    """A STIX timestamp as a fixed-width, sortable UTC string; None when it is not valid STIX.

    STIX allows any sub-second precision, so `...:00.1Z` and `...:00.100Z` are the same instant:
    versioning must compare instants, not strings.
    """
    return _normalise_timestamp(value) if isinstance(value, str) else None


@lru_cache(maxsize=65536)  # a bundle repeats the same few thousand stamps
def _normalise_timestamp(value: str) -> str | None:
    if _TIMESTAMP.fullmatch(value) is None:
        return None
    head, _, frac = value[:-1].partition(".")
    try:
        datetime.fromisoformat(head)  # the regex fixed the width; this rejects 2025-02-30
    except ValueError:
        return None
    return f"{head}.{(frac + '000000')[:6]}Z"


def validate_object(obj: Any) -> str | None:
    """The reason `obj` is not a valid STIX object, or None when it is."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    stix_type = obj.get("type")
    if not isinstance(stix_type, str) or not _TYPE.fullmatch(stix_type):
        return f"invalid or missing 'type': {stix_type!r}"
    ident = obj.get("id")
    if not isinstance(ident, str):
        return "missing 'id'"
    match = _IDENTIFIER.fullmatch(ident)
    if match is None:
        return f"invalid id {ident!r}: expected '{stix_type}--<uuid>'"
    if match.group(1) != stix_type:
        return f"id {ident!r} does not match type {stix_type!r}"
    if stix_type not in SCO_TYPES:
        created = normalise_timestamp(obj.get("created"))
        if created is None:
            return f"invalid or missing 'created': {obj.get('created')!r}"
        if "modified" in obj or stix_type not in _CREATED_ONLY:
            modified = normalise_timestamp(obj.get("modified"))
            if modified is None:
                return f"invalid or missing 'modified': {obj.get('modified')!r}"
            if modified < created:
                return f"'modified' {obj['modified']} is earlier than 'created' {obj['created']}"
    importer = obj.get("x_threatscope_importer")
    if importer is not None and not (
        isinstance(importer, str) and _IMPORTER_NAME.fullmatch(importer)
    ):
        return f"'x_threatscope_importer' must be an importer name such as 'attack': {importer!r}"
    if "revoked" in obj and not isinstance(obj["revoked"], bool):
        return "'revoked' must be true or false"
    refs = obj.get("external_references")
    if refs is not None and not (
        isinstance(refs, list) and all(isinstance(r, dict) and r.get("source_name") for r in refs)
    ):
        return "'external_references' must be a list of objects, each with a 'source_name'"
    problem = property_problem(obj)
    if problem is not None:
        return problem
    if stix_type == "relationship":
        rel_type = obj.get("relationship_type")
        if not isinstance(rel_type, str) or not rel_type:
            return "relationship without 'relationship_type'"
        for key in ("source_ref", "target_ref"):
            if key not in obj:
                return f"relationship without '{key}'"
    return _check_references(obj)


def _reference_kind(key: str) -> int:
    """0: not a reference; 1: `*_ref`; 2: `*_refs`. Custom `x_*` properties are not checked:
    they are the producer's business (ATT&CK ships `x_mitre_data_source_ref: ""`)."""
    kind = _KEY_KINDS.get(key)
    if kind is None:
        kind = 0
        if not key.startswith("x_"):
            kind = 1 if key.endswith("_ref") else 2 if key.endswith("_refs") else 0
        _KEY_KINDS[key] = kind
    return kind


_KEY_KINDS: dict[str, int] = {}


def _check_references(obj: dict[str, Any]) -> str | None:
    for key, value in obj.items():
        kind = _reference_kind(key)
        if kind == 1:
            if not is_identifier(value):
                return f"'{key}' is not a STIX identifier: {value!r}"
        elif kind == 2:
            if not isinstance(value, list):
                return f"'{key}' must be a list of STIX identifiers"
            for item in value:
                if not is_identifier(item):
                    return f"'{key}' holds a value that is not a STIX identifier: {item!r}"
    return None
