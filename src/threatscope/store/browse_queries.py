"""The questions the web UI asks of a store (server/ui_*.py): objects by name, what an actor's
members link to, and TLP ranks, so that every page filters by the reader's clearance in the
database. Both backends answer them (sqlite_browse.py, postgres_browse.py) with the same rows in
the same order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["BrowseQueries", "like_pattern"]


def like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own % and _ taken literally (escaped
    with backslash: the queries say ESCAPE '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class BrowseQueries(Protocol):
    def search_objects(
        self, text: str, types: Sequence[str], clearance: int, limit: int
    ) -> list[tuple[str, str, str]]:
        """(id, type, name) of current objects of `types` whose name contains `text` (any
        case), marked at or below `clearance` (a TLP rank), by name then id, at most `limit`."""
        ...

    def linked_objects(
        self, ids: Sequence[str], clearance: int
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(direction, relationship type, other object id, other object) for every current
        relationship from ("out") or to ("in") one of `ids`, where the relationship and the other
        object are both marked at or below `clearance`; by direction, type, other id."""
        ...

    def initiated_incidents(
        self, actor_refs: Sequence[str], clearance: int, limit: int
    ) -> list[dict[str, Any]]:
        """Current incidents whose initiator resolved to one of `actor_refs`, marked at or below
        `clearance`, newest first (undated last, then by id), at most `limit`."""
        ...

    def object_tlp_ranks(self, ids: Sequence[str]) -> dict[str, int]:
        """The TLP rank of each stored object of `ids` (absent ids are left out), by id."""
        ...

    def recorded_splits(self) -> dict[str, str]:
        """Objects an analyst split out of their actor: object id -> the actor it left."""
        ...

    def actor_tlp_ranks(self) -> dict[str, int]:
        """Per actor id, the strictest TLP rank among its members: a reader sees an actor only
        when they may see every object it was resolved from."""
        ...
