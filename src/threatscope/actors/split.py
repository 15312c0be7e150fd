"""Undo a merge (split a member out of its actor) and undo the undo (rejoin it)."""

from __future__ import annotations

from typing import Any

from threatscope.actors.lookup import find_actor
from threatscope.actors.resolve import resolve_actors
from threatscope.errors import ConfigError, NotFoundError
from threatscope.names import normalise_name
from threatscope.store.base import Store

__all__ = ["join_member", "split_member"]


def split_member(store: Store, actor: str, member: str) -> dict[str, Any]:
    """Take `member` (an object id, source name or member name) out of `actor`.

    Returns the member as it stood. The split is remembered: later imports keep it apart.
    """
    doc = find_actor(store, actor)
    if len(doc["members"]) < 2:
        raise ConfigError(f"actor {doc['name']!r} has a single member: nothing to split")
    chosen = _pick_member(doc, member)
    with store.write() as writer:
        writer.add_split(chosen["id"], doc["id"])
        resolve_actors(writer)
    return chosen


def join_member(store: Store, object_id: str) -> None:
    """Forget a split so resolution may merge the object again."""
    with store.write() as writer:
        if not writer.remove_split(object_id):
            raise NotFoundError(f"no split recorded for {object_id}")
        resolve_actors(writer)


def _pick_member(doc: dict[str, Any], member: str) -> dict[str, Any]:
    members = doc["members"]
    exact = [m for m in members if m["id"] == member]
    by_source = [m for m in members if m["source"] == member]
    by_name = [m for m in members if normalise_name(m["name"]) == normalise_name(member)]
    for matches in (exact, by_source, by_name):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ids = ", ".join(m["id"] for m in matches)
            raise ConfigError(f"{member!r} matches several members of {doc['name']!r}: {ids}")
    listed = "; ".join(f"{m['id']} ({m['source']}: {m['name']})" for m in members)
    raise NotFoundError(f"{member!r} is not a member of {doc['name']!r}; members: {listed}")
