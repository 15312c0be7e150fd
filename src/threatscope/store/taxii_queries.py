"""What the TAXII server asks the knowledge base: pages of objects of one collection, filtered and
ordered in the database, never more than a principal's clearance lets through.

A page is ordered by (date_added, id): the key of the next page is the last row's, so paging
costs one index range scan however deep it goes (keyset pagination), and objects added while a
client pages come after what it has seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["CollectionFilter", "TaxiiFilter", "TaxiiQueries", "TaxiiRow", "TaxiiScope"]


@dataclass(frozen=True)
class CollectionFilter:
    """The objects a user-defined collection holds: brought by one of `sources`, of one of
    `types`, marked at most `tlp_ceiling` (a rank), and among `ids`; an empty part admits all."""

    sources: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    tlp_ceiling: int | None = None
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class TaxiiScope:
    """Which objects a collection holds, seen by whom: `kind` "all" (the knowledge base), "source"
    (the objects an importer brought, `value` its name), "tlp" (marked exactly at rank
    `value`) or "user" (a user-defined collection, `value` its CollectionFilter); `clearance`:
    the highest TLP rank the principal may see."""

    kind: Literal["all", "source", "tlp", "user"]
    clearance: int
    value: str | int | CollectionFilter | None = None


@dataclass(frozen=True)
class TaxiiFilter:
    """The `match[…]` and `added_after` parameters (empty: no filter). `versions`: timestamps,
    normalised as the store keeps `modified` (stix.validate.normalise_timestamp); the store holds
    one version of an object, so `last`/`first`/`all` filter nothing and are not passed.
    `added_after`: normalised the same way."""

    ids: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    spec_versions: tuple[str, ...] = ()
    added_after: str | None = None


@dataclass(frozen=True)
class TaxiiRow:
    """One object of a page: its id, when its version was added, its `modified` (normalised; ''
    for an object without one), and its STIX JSON as stored (text, served without parsing)."""

    id: str
    date_added: str
    modified: str
    created: str | None
    json: str


class TaxiiQueries(Protocol):
    def taxii_sources(self, clearance: int) -> list[str]:
        """The importers that brought an object visible at `clearance`, in name order."""
        ...

    def taxii_page(
        self,
        scope: TaxiiScope,
        match: TaxiiFilter,
        after: tuple[str, str] | None,
        limit: int,
        with_json: bool = True,
    ) -> list[TaxiiRow]:
        """Up to `limit` objects of `scope` passing `match`, after the key (date_added, id)
        `after`, in key order. Without `with_json`, rows carry '' as their JSON (manifests)."""
        ...
