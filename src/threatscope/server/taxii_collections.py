"""The TAXII collections the server offers: the whole knowledge base, one per importer (the
objects it brought), one per TLP level (the objects marked at exactly that level), and the
user-defined ones (an admin's filter, threatscope.user_collections). A principal sees only the
collections that hold objects it may see: a level above its clearance is no collection of its;
a user-defined collection is everyone's, and shows each principal what its clearance allows.
Ids are stable: a uuid5 of the collection's key in a fixed namespace (user-defined ones keep
the uuid4 they were given)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from threatscope.report.marking import LEVELS
from threatscope.store.taxii_queries import TaxiiQueries, TaxiiScope
from threatscope.user_collections import UserCollection

__all__ = [
    "STIX_MEDIA_TYPE",
    "WRITABLE",
    "Collection",
    "collection_id",
    "find_collection",
    "visible_collections",
]

STIX_MEDIA_TYPE = "application/stix+json;version=2.1"
# Fixed forever: collection ids derive from it, and clients keep those.
_NAMESPACE = uuid.UUID("6f1c8d0e-4a7b-5b52-9c1e-54534b427461")


def collection_id(key: str) -> str:
    """The id of the collection `key`: "all", "source:NAME" or "tlp:LEVEL"."""
    return str(uuid.uuid5(_NAMESPACE, key))


WRITABLE = collection_id("all")  # objects are added to the knowledge base, never to a view of it


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    scope: TaxiiScope

    def resource(self, can_write: bool = False) -> dict[str, Any]:
        """The collection resource (TAXII 2.1 section 5.2.1)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "can_read": True,
            "can_write": can_write,
            "media_types": [STIX_MEDIA_TYPE],
        }


def visible_collections(store: TaxiiQueries, clearance: int) -> list[Collection]:
    """The collections a principal of `clearance` (a TLP rank) sees, in a stable order."""
    found = [
        Collection(
            collection_id("all"),
            "ThreatScope knowledge base",
            "Every object in the knowledge base you may see.",
            TaxiiScope("all", clearance),
        )
    ]
    for source in store.taxii_sources(clearance):
        found.append(
            Collection(
                collection_id(f"source:{source}"),
                f"Source: {source}",
                f"The objects the {source} importer brought.",
                TaxiiScope("source", clearance, source),
            )
        )
    for level in LEVELS.values():
        if level.rank <= clearance:
            found.append(
                Collection(
                    collection_id(f"tlp:{level.key}"),
                    level.label,
                    f"The objects marked {level.label} (unmarked ones of a public source are "
                    "TLP:CLEAR, of any other TLP:AMBER).",
                    TaxiiScope("tlp", clearance, level.rank),
                )
            )
    for row in store.taxii_user_collections():  # type: ignore[attr-defined]
        defined = UserCollection.from_row(row)
        found.append(
            Collection(
                defined.id,
                defined.title,
                defined.description or "A user-defined collection.",
                TaxiiScope("user", clearance, defined.filter),
            )
        )
    return found


def find_collection(store: TaxiiQueries, clearance: int, wanted: str) -> Collection | None:
    for collection in visible_collections(store, clearance):
        if collection.id == wanted:
            return collection
    return None
