"""The store interface: everything above `store/` talks to these protocols, never to SQL.

A PostgreSQL backend implements the same two protocols; importers and analysis do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from threatscope.store.access import AccessQueries
from threatscope.store.browse_queries import BrowseQueries
from threatscope.store.queries import Analytics

__all__ = [
    "ActorRow",
    "ImportReport",
    "IncidentFacts",
    "Progress",
    "SchemaUpgrade",
    "Store",
    "StoredObject",
    "Writer",
]

Progress = Callable[[int, int], None]
"""Called as `progress(done, total)` while a long write proceeds."""


@dataclass(frozen=True)
class ImportReport:
    """What one import did. `older` counts objects skipped because the store had a newer version;
    `foreign` the updates (counted in `updated` too) from another producer than the stored
    version's, which replace it only when the user allows foreign versions."""

    import_id: int
    source: str
    path: str
    received: int
    added: int
    updated: int
    unchanged: int
    older: int
    foreign: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "source": self.source,
            "path": self.path,
            "received": self.received,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "older": self.older,
            "foreign": self.foreign,
        }


@dataclass(frozen=True)
class StoredObject:
    """A current object with the importer that brought its current version."""

    data: dict[str, Any]
    source: str


@dataclass
class ActorRow:
    """One resolved actor as the resolver hands it to the store.

    `doc` is the full public view (the `actor show --json` document); `lookup` holds the
    normalised names it can be found by; `members` the (object id, source) pairs merged into it.
    """

    id: str
    name: str
    nexus: str | None
    doc: dict[str, Any]
    lookup: list[str] = field(default_factory=list)
    members: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class IncidentFacts:
    """The flat rows one incident contributes to landscape analytics."""

    incident_id: str
    day: int | None
    source: str
    initiators: list[tuple[str, str | None, str | None]]  # category, country, actor_ref
    victims: list[tuple[int, str | None, str | None]]  # victim number, country, sector
    labels: list[tuple[str, str]]  # kind, value


@dataclass(frozen=True)
class SchemaUpgrade:
    """What opening a knowledge base did to its schema: the versions and the steps applied."""

    from_version: int
    to_version: int
    steps: list[tuple[int, str]] = field(default_factory=list)  # (version, description)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "migrations": [{"version": v, "description": d} for v, d in self.steps],
        }


class Writer(Analytics, Protocol):
    """Operations inside one write transaction; its reads (`Analytics`) see the transaction."""

    def upsert(
        self,
        objects: Sequence[dict[str, Any]],
        source: str,
        path: str,
        progress: Progress | None = None,
        allow_foreign: bool = False,
    ) -> ImportReport:
        """Store each object unless the store holds the same or a newer version. A timestamp in
        the future, or (without `allow_foreign`) a newer version from another producer than the
        stored one's, is an InputError and nothing is written (store/versions.py)."""
        ...

    def actor_objects(self) -> list[StoredObject]:
        """Current, non-revoked intrusion-set and threat-actor objects."""
        ...

    def splits(self) -> dict[str, str]:
        """Objects the analyst split out of an actor: object id -> the actor it left."""
        ...

    def add_split(self, object_id: str, from_actor: str) -> None: ...

    def remove_split(self, object_id: str) -> bool: ...

    def replace_actors(self, actors: Iterable[ActorRow]) -> None: ...

    def incident_objects(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Current incident objects with the source that brought each."""
        ...

    def technique_ids(self) -> dict[str, str]:
        """ATT&CK technique names and ids, casefolded, -> the technique id."""
        ...

    def replace_incident_facts(self, facts: Iterable[IncidentFacts]) -> int: ...

    def replace_actor_cves(self, rows: Iterable[Sequence[str]]) -> int:
        """Replace the derived actor -> CVE links (see actors/cves.py)."""
        ...


class Store(Analytics, AccessQueries, BrowseQueries, Protocol):
    """A knowledge base. Reads (its own and `Analytics`) may happen at any time; writes happen
    inside `write()`."""

    location: str
    upgrade: SchemaUpgrade
    """Set on opening: the schema migrations that brought an older file up to date, if any."""

    def write(self) -> AbstractContextManager[Writer]:
        """One transaction: all of it lands, or none of it does."""
        ...

    def get_object(self, object_id: str) -> dict[str, Any] | None: ...

    def iter_objects(
        self, types: Sequence[str] | None = None, include_revoked: bool = False
    ) -> Iterator[dict[str, Any]]: ...

    def iter_stored(
        self, types: Sequence[str] | None = None, include_revoked: bool = False
    ) -> Iterator[StoredObject]:
        """As iter_objects, with the importer that brought each object's current version."""
        ...

    def stats(self) -> dict[str, Any]: ...

    def imports(self) -> list[dict[str, Any]]: ...

    def find_actors(self, query: str) -> list[dict[str, Any]]:
        """Actor documents whose id or member id is `query`, one of whose members carries it as
        an external id, or any of whose names matches it."""
        ...

    def suggest_actors(self, query: str, limit: int = 5) -> list[str]:
        """Names of actors one of whose names contains `query` (normalised)."""
        ...

    def list_actors(self, nexus: str | None = None) -> list[dict[str, Any]]:
        """All actors, or those of one nexus (`"unknown"`: those with none)."""
        ...

    def close(self) -> None: ...
