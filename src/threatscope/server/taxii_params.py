"""The query parameters of the TAXII 2.1 object endpoints (section 3.4): `limit`, `next`,
`added_after` and `match[id|type|version|spec_version]`, read into the store's TaxiiFilter.
A value the specification does not allow is a TaxiiParameterError, answered 400."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from threatscope.stix.validate import normalise_timestamp
from threatscope.store.taxii_queries import TaxiiFilter

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "Paging",
    "TaxiiParameterError",
    "next_token",
    "read_filter",
    "read_paging",
]

DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000  # a larger `limit` is served as this many (the spec lets a server cap pages)
_MATCH_FIELDS = ("id", "type", "version", "spec_version")
_VERSION_KEYWORDS = ("last", "first", "all")
_SPEC_VERSIONS = ("2.0", "2.1")


class TaxiiParameterError(ValueError):
    """A query parameter the server cannot honour; its text names the parameter."""


@dataclass(frozen=True)
class Paging:
    limit: int
    after: tuple[str, str] | None


def _values(query: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = query.get(name)
    if raw is None:
        return ()
    values = tuple(value.strip() for value in raw.split(","))
    if not all(values):
        raise TaxiiParameterError(f"{name}: empty value in {raw!r}")
    return values


def _timestamp(name: str, value: str) -> str:
    stamp = normalise_timestamp(value)
    if stamp is None:
        raise TaxiiParameterError(f"{name}: {value!r} is not a STIX timestamp")
    return stamp


def read_filter(query: Mapping[str, str], *, allow: tuple[str, ...] = _MATCH_FIELDS) -> TaxiiFilter:
    """The filter of `query`; a `match[…]` field other than `allow` is refused, not ignored, so
    that a client never mistakes an unfiltered answer for a filtered one."""
    for key in query:
        if key.startswith("match[") and (not key.endswith("]") or key[6:-1] not in allow):
            raise TaxiiParameterError(f"{key}: not a filter here (use match[{'|'.join(allow)}])")
    versions = _values(query, "match[version]")
    if any(value in _VERSION_KEYWORDS for value in versions):
        # The knowledge base keeps one version of each object: it is the first, last and all.
        stamps: tuple[str, ...] = ()
    else:
        stamps = tuple(_timestamp("match[version]", value) for value in versions)
    spec_versions = _values(query, "match[spec_version]")
    for value in spec_versions:
        if value not in _SPEC_VERSIONS:
            raise TaxiiParameterError(f"match[spec_version]: {value!r} is not 2.0 or 2.1")
    added_after = query.get("added_after")
    return TaxiiFilter(
        ids=_values(query, "match[id]"),
        types=_values(query, "match[type]"),
        versions=stamps,
        spec_versions=spec_versions,
        added_after=_timestamp("added_after", added_after) if added_after is not None else None,
    )


def read_paging(query: Mapping[str, str]) -> Paging:
    raw = query.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not raw.isdigit() or int(raw) < 1:
            raise TaxiiParameterError(f"limit: {raw!r} is not a positive whole number")
        limit = min(int(raw), MAX_LIMIT)
    token = query.get("next")
    return Paging(limit, _read_token(token) if token else None)


def next_token(date_added: str, object_id: str) -> str:
    """The opaque `next` of a page ending at this key."""
    return base64.urlsafe_b64encode(orjson.dumps([date_added, object_id])).decode().rstrip("=")


def _read_token(token: str) -> tuple[str, str]:
    try:
        key = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != 2
        or not all(isinstance(part, str) for part in key)
    ):
        raise TaxiiParameterError(f"next: {token[:80]!r} is not a page token this server gave")
    return key[0], key[1]
