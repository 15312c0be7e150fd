"""TLP clearance for the REST API.

The landscape, the report, actors, stats, attribution and extraction are computed by the library
from the whole knowledge base: it has no clearance filter for them (TAXII's queries have one,
store/taxii_queries.py). So such an answer is given only to a principal whose clearance covers
every object stored; anyone else (anonymous readers included, who are TLP:CLEAR) is refused
with 403 naming the level needed. A knowledge base of public data only (ATT&CK, MISP, KEV,
EuRepoC: TLP:CLEAR) is thus open to every reader, and one holding an AMBER report only to
principals cleared for AMBER.
"""

from __future__ import annotations

from typing import cast

from fastapi import HTTPException, Request

from threatscope.knowledge_base import KnowledgeBase
from threatscope.report.marking import LEVELS
from threatscope.server.deps import principal, reader
from threatscope.server.principal import Principal
from threatscope.store.taxii_queries import TaxiiFilter, TaxiiQueries, TaxiiScope

__all__ = ["highest_level", "whole_base_reader"]

_BY_RANK = {level.rank: level for level in LEVELS.values()}


def highest_level(kb: KnowledgeBase) -> int | None:
    """The strictest TLP rank of any stored object (None: nothing stored), by one indexed probe
    per level from the strictest down."""
    queries = cast(TaxiiQueries, kb.store)
    for rank in sorted(_BY_RANK, reverse=True):
        if queries.taxii_page(TaxiiScope("tlp", rank, rank), TaxiiFilter(), None, 1, False):
            return rank
    return None


def whole_base_reader(request: Request) -> tuple[Principal, KnowledgeBase]:
    """The principal and this thread's knowledge base, if the principal may see all of it
    (403 if not). Called in the endpoint's body, as deps.reader must be."""
    who = principal(request)
    kb = reader(request)
    highest = highest_level(kb)
    if highest is not None and not who.sees(highest):
        needed = _BY_RANK[highest].label
        raise HTTPException(
            403,
            f"this answer is computed from the whole knowledge base, which holds {needed} "
            f"objects; it needs clearance {needed} (yours: {who.clearance.label})",
        )
    return who, kb
