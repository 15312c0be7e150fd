"""Find one actor by any of its names, ids or member ids."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from threatscope.actors.candidates import SOURCE_PRIORITY, core_name, own_identifiers
from threatscope.errors import NotFoundError
from threatscope.names import normalise_name
from threatscope.store.base import Store

__all__ = ["Match", "find_actor", "match_of"]


class Match(IntEnum):
    """How an actor matched a query, strongest first."""

    STIX_ID = 0  # the actor's id or one of its members' object ids
    OWN_ID = 1  # an identifier a member carries in its own external references (ATT&CK's G0044)
    NAME = 2  # the actor's or a member's own name
    CORE_NAME = 3  # a member's name without its generic last word ("Winnti" for Winnti Group)
    ALIAS = 4  # an alias, or an id some source lists among its synonyms (MISP's APT41: G0044)


def find_actor(store: Store, query: str) -> dict[str, Any]:
    """The actor `query` names. Several matches: the strongest match wins (the source that owns
    an identifier over sources citing it as an alias; a member's own name over an alias), then
    the one with most members, then the one anchored in the most authoritative source; the
    others are listed in the result's `other_matches`."""
    found = store.find_actors(query)
    if not found:
        close = store.suggest_actors(query)
        hint = f"; did you mean: {', '.join(close)}?" if close else ""
        raise NotFoundError(f"no actor named {query!r}{hint}")
    strength = {d["id"]: match_of(store, d, query) for d in found}
    found.sort(
        key=lambda d: (
            strength[d["id"]],
            -len(d["members"]),
            SOURCE_PRIORITY.get(d["members"][0]["source"], 9),
            d["id"],
        )
    )
    best = dict(found[0])
    if len(found) > 1:
        best["other_matches"] = [{"id": d["id"], "name": d["name"]} for d in found[1:]]
    return best


def match_of(store: Store, doc: dict[str, Any], query: str) -> tuple[Match, int]:
    """How `doc` matches `query`, and the source priority of the member that gives the match
    (two sources owning one identifier: ATT&CK's word over a bundle that copies its reference)."""
    norm = normalise_name(query)
    members = doc["members"]
    if query in (doc["id"], *(m["id"] for m in members)):
        return Match.STIX_ID, 0
    best: tuple[Match, int] = (Match.ALIAS, 9)
    for member in members:
        priority = SOURCE_PRIORITY.get(member["source"], 9)
        if norm and _owns(store, member["id"], norm):
            best = min(best, (Match.OWN_ID, priority))
        elif norm and norm in (normalise_name(member["name"]), normalise_name(doc["name"])):
            best = min(best, (Match.NAME, priority))
        elif norm and norm == normalise_name(core_name(member["name"]) or ""):
            best = min(best, (Match.CORE_NAME, priority))
    return best


def _owns(store: Store, object_id: str, norm: str) -> bool:
    obj = store.get_object(object_id)
    return obj is not None and any(normalise_name(i) == norm for i in own_identifiers(obj))
