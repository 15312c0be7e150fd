"""User-defined TAXII collections: an admin names a title and a filter (importers, STIX types, a
TLP ceiling, an explicit set of object ids), and the server offers the objects passing it beside
its built-in collections, under the same clearance rules (server/taxii_collections.py).

The filter is stored as JSON (store/taxii_state.py) and read back as the store's
`CollectionFilter`; `admits()` says whether an object posted to the collection passes it, as
the store would file it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from threatscope.errors import ConfigError
from threatscope.report.marking import LEVELS, parse_tlp
from threatscope.stix.tlp import object_tlp_rank
from threatscope.stix.validate import is_identifier
from threatscope.store.taxii_queries import CollectionFilter
from threatscope.store.taxii_state import UserCollectionRow

__all__ = ["UserCollection", "admits", "new_collection"]

_MAX_TITLE = 200
_MAX_IDS = 10_000  # an explicit id set is a curated list, not a copy of the knowledge base


@dataclass(frozen=True)
class UserCollection:
    """A user-defined collection as `threatscope collections list --json` prints it."""

    id: str
    title: str
    description: str
    sources: tuple[str, ...]
    types: tuple[str, ...]
    tlp: str | None  # the TLP ceiling's key, None for no ceiling
    ids: tuple[str, ...]
    created: str
    created_by: str

    @classmethod
    def from_row(cls, row: UserCollectionRow) -> UserCollection:
        spec = row.filter
        return cls(
            row.id,
            row.title,
            row.description,
            tuple(spec.get("sources", ())),
            tuple(spec.get("types", ())),
            spec.get("tlp"),
            tuple(spec.get("ids", ())),
            row.created,
            row.created_by,
        )

    @property
    def filter(self) -> CollectionFilter:
        ceiling = None if self.tlp is None else LEVELS[self.tlp].rank
        return CollectionFilter(self.sources, self.types, ceiling, self.ids)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "sources": list(self.sources),
            "types": list(self.types),
            "tlp": self.tlp,
            "ids": list(self.ids),
            "created": self.created,
            "created_by": self.created_by,
        }


def new_collection(
    title: str,
    *,
    sources: Sequence[str] = (),
    types: Sequence[str] = (),
    tlp: str | None = None,
    ids: Sequence[str] = (),
    description: str = "",
    created: str,
    created_by: str,
) -> UserCollectionRow:
    """The row of a new collection, validated (a ConfigError names the bad part)."""
    title = " ".join(title.split())
    if not title or len(title) > _MAX_TITLE:
        raise ConfigError(f"a collection title takes 1 to {_MAX_TITLE} characters")
    bad_type = next((t for t in types if not _is_type(t)), None)
    if bad_type is not None:
        raise ConfigError(f"type {bad_type!r}: not a STIX type (such as intrusion-set)")
    bad_id = next((i for i in ids if not is_identifier(i)), None)
    if bad_id is not None:
        raise ConfigError(f"id {bad_id!r}: not a STIX identifier (type--uuid)")
    if len(ids) > _MAX_IDS:
        raise ConfigError(f"a collection lists at most {_MAX_IDS} ids, got {len(ids)}")
    bad_source = next((s for s in sources if not s.strip()), None)
    if bad_source is not None:
        raise ConfigError("a source name is empty")
    spec: dict[str, Any] = {
        "sources": sorted(set(sources)),
        "types": sorted(set(types)),
        "tlp": None if tlp is None else parse_tlp(tlp).key,
        "ids": sorted(set(ids)),
    }
    return UserCollectionRow(
        str(uuid.uuid4()), title, description.strip(), spec, created, created_by
    )


def _is_type(value: str) -> bool:
    return is_identifier(f"{value}--00000000-0000-4000-8000-000000000000")


def admits(
    spec: CollectionFilter,
    obj: dict[str, Any],
    importer: str,
    custom: Mapping[str, str] | None = None,
) -> str | None:
    """Why the filter `spec` refuses `obj` filed by `importer` (`custom`: TLP definitions
    arriving with it, stix.tlp.tlp_definitions); None when it admits it."""
    if spec.sources and importer not in spec.sources:
        return f"the collection takes objects of {', '.join(spec.sources)} only, not {importer}"
    if spec.types and obj.get("type") not in spec.types:
        return f"the collection takes {', '.join(spec.types)} objects only"
    if spec.ids and obj.get("id") not in spec.ids:
        return "the collection does not list this id"
    if spec.tlp_ceiling is not None and object_tlp_rank(obj, importer, custom) > spec.tlp_ceiling:
        ceiling = next(level for level in LEVELS.values() if level.rank == spec.tlp_ceiling)
        return f"marked above the collection's ceiling {ceiling.label}"
    return None
