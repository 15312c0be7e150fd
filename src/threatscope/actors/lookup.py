"""Find one actor by any of its names, ids or member ids."""

from __future__ import annotations

from typing import Any

from threatscope.actors.candidates import SOURCE_PRIORITY
from threatscope.errors import NotFoundError
from threatscope.names import normalise_name
from threatscope.store.base import Store

__all__ = ["find_actor"]


def find_actor(store: Store, query: str) -> dict[str, Any]:
    """The actor `query` names. Several matches: the one whose own name matches wins, then the
    one with most members, then the one anchored in the most authoritative source; the others
    are listed in the result's `other_matches`."""
    found = store.find_actors(query)
    if not found:
        close = store.suggest_actors(query)
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        raise NotFoundError(f"no actor named {query!r}{hint}")
    norm = normalise_name(query)
    found.sort(
        key=lambda d: (
            d["id"] != query and normalise_name(d["name"]) != norm,
            -len(d["members"]),
            SOURCE_PRIORITY.get(d["members"][0]["source"], 9),
            d["id"],
        )
    )
    best = dict(found[0])
    if len(found) > 1:
        best["other_matches"] = [{"id": d["id"], "name": d["name"]} for d in found[1:]]
    return best
