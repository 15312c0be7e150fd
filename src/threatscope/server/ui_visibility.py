"""What a reader may see of actors: an actor is resolved from several objects, and its names,
nexus and conflicts come from all of them, so it is shown only to readers cleared for every one
of its members (the strictest TLP among them). Objects linked to it are filtered one by one in
the store."""

from __future__ import annotations

from typing import Any

from threatscope.knowledge_base import KnowledgeBase
from threatscope.server.principal import Principal

__all__ = ["visible_actor_ids", "visible_cves"]


def visible_actor_ids(kb: KnowledgeBase, who: Principal) -> set[str]:
    return {
        actor for actor, rank in kb.store.actor_tlp_ranks().items() if who.sees(rank)
    }


def visible_cves(kb: KnowledgeBase, who: Principal, cves: list[dict[str, Any]]) -> list[dict]:
    """The actor's CVE links whose evidence (the linking object and the holder) the reader may
    see; a CVE left with no visible evidence is dropped."""
    ids = {
        s[key] for row in cves for s in row["sources"] for key in ("via", "holder") if s.get(key)
    }
    ranks = kb.store.object_tlp_ranks(sorted(ids))
    shown = []
    for row in cves:
        sources = [
            s for s in row["sources"]
            if all(who.sees(ranks.get(s[key], 0)) for key in ("via", "holder") if s.get(key))
        ]
        if sources:
            shown.append({**row, "sources": sources})
    return shown
