"""Search `/search?q=`: actors (any name, alias or ATT&CK id, as `actor list` matches them),
malware and tools, CVEs and IOCs (indicators, by the value they were extracted as), each
filtered to the reader's clearance in the store."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from threatscope.server.deps import reader
from threatscope.server.ui_render import render
from threatscope.server.ui_session import page_principal
from threatscope.server.ui_visibility import visible_actor_ids

__all__ = ["GROUPS", "router"]

router = APIRouter(include_in_schema=False)

SHOWN = 50  # per group; the page says when there are more
LONGEST_QUERY = 200
# (heading, STIX types) of the object groups after actors.
GROUPS = (
    ("Malware and tools", ("malware", "tool")),
    ("CVEs", ("vulnerability",)),
    ("IOCs", ("indicator",)),
)


@router.get("/search")
def search(request: Request, q: str = "") -> HTMLResponse:
    who = page_principal(request)
    query = q.strip()[:LONGEST_QUERY]
    groups: list[dict[str, Any]] = []
    if query:
        kb = reader(request)
        visible = visible_actor_ids(kb, who)
        actors = [a for a in kb.actors(search=query).actors if a.id in visible]
        groups.append(
            {
                "heading": "Actors",
                "rows": [
                    {"name": a.name, "href": f"/actors/{a.id}",
                     "detail": f"nexus {a.nexus or 'unknown'}; {', '.join(a.external_ids)}"}
                    for a in actors[:SHOWN]
                ],
                "more": max(0, len(actors) - SHOWN),
            }
        )
        for heading, types in GROUPS:
            rows = kb.store.search_objects(query, types, who.clearance.rank, SHOWN + 1)
            groups.append(
                {
                    "heading": heading,
                    "rows": [
                        {"name": name, "href": None, "detail": f"{kind} {object_id}"}
                        for object_id, kind, name in rows[:SHOWN]
                    ],
                    "more": max(0, len(rows) - SHOWN),
                }
            )
    return render(request, "search.html.j2", title="Search", query=query, groups=groups)
