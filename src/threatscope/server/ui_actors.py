"""Actor pages `/actors/{id}`: aliases with the sources asserting them, nexus and its claims,
techniques as an ATT&CK matrix (a column per tactic), software, CVEs, incidents and conflicts;
for analysts and admins the split and join forms, which do what `threatscope actor split/join`
do, and are audited."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from threatscope.actors import join_member, split_member
from threatscope.errors import ConfigError, NotFoundError
from threatscope.server.deps import audited, reader
from threatscope.server.principal import Principal
from threatscope.server.ui_render import message_page, render
from threatscope.server.ui_session import csrf_ok, page_principal
from threatscope.server.ui_visibility import visible_actor_ids, visible_cves

__all__ = ["TACTICS", "router"]

router = APIRouter(include_in_schema=False)

# The Enterprise matrix's tactics, left to right (ATT&CK's x-mitre-matrix order).
TACTICS = (
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "credential-access", "discovery",
    "lateral-movement", "collection", "command-and-control", "exfiltration", "impact",
)
INCIDENTS_SHOWN = 50
NOT_SHOWN = "No actor by that name, or it is marked above your clearance."


def _attack_id(doc: dict[str, Any]) -> str | None:
    for ref in doc.get("external_references") or ():
        if ref.get("source_name") in ("mitre-attack", "mitre-ics-attack") and ref.get(
            "external_id"
        ):
            return str(ref["external_id"])
    return None


def _matrix(techniques: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Columns (tactic, techniques) in matrix order; tactics outside it after, by name."""
    columns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in techniques:
        row = {"id": _attack_id(doc) or "", "name": doc.get("name") or doc["id"]}
        phases = [
            p["phase_name"] for p in doc.get("kill_chain_phases") or ()
            if str(p.get("kill_chain_name", "")).startswith("mitre")
        ]
        for phase in phases or ["(no tactic)"]:
            columns[phase].append(row)
    order = [t for t in TACTICS if t in columns] + sorted(set(columns) - set(TACTICS))
    return [
        {"tactic": t.replace("-", " ").title(), "techniques": sorted(columns[t], key=_by_id)}
        for t in order
    ]


def _by_id(row: dict[str, Any]) -> tuple[str, str]:
    return row["id"], row["name"]


def actor_view(request: Request, who: Principal, name_or_id: str) -> dict[str, Any] | None:
    """Everything the actor page shows, filtered to `who`'s clearance; None if hidden."""
    kb = reader(request)
    doc = kb.actor(name_or_id).as_dict()
    if doc["id"] not in visible_actor_ids(kb, who):
        return None
    members = [m["id"] for m in doc["members"]]
    linked = kb.store.linked_objects(members, who.clearance.rank)
    uses = [other for direction, kind, _, other in linked if direction == "out" and kind == "uses"]
    techniques = [o for o in uses if o["type"] == "attack-pattern"]
    software = sorted(
        ({"type": o["type"], "name": o.get("name") or o["id"], "id": _attack_id(o) or ""}
         for o in uses if o["type"] in ("malware", "tool")),
        key=lambda s: s["name"].casefold(),
    )
    attributed = [
        {"type": o["type"], "name": o.get("name") or o["id"], "id": o["id"]}
        for direction, _, _, o in linked
        if direction == "in" and o["type"] in ("campaign", "incident", "report")
    ]
    initiated = [
        {"type": o["type"], "name": o.get("name") or o["id"], "id": o["id"],
         "date": str(o.get("first_seen") or o.get("created") or "")[:10]}
        for o in kb.store.initiated_incidents(members, who.clearance.rank, INCIDENTS_SHOWN)
    ]
    splits = kb.store.recorded_splits()
    return {
        "actor": doc,
        "matrix": _matrix(techniques),
        "technique_count": len({t["id"] for t in techniques}),
        "software": software,
        "cves": visible_cves(kb, who, doc.get("cves") or []),
        "attributed": attributed,
        "initiated": initiated,
        "split_from": splits.get(doc["id"]),
    }


@router.get("/actors/{name_or_id}")
def actor_page(request: Request, name_or_id: str) -> HTMLResponse:
    who = page_principal(request)
    try:
        view = actor_view(request, who, name_or_id)
    except NotFoundError:
        view = None
    if view is None:
        return message_page(request, 404, "Actor not found", NOT_SHOWN)
    return render(
        request, "actor.html.j2", title=view["actor"]["name"],
        may_edit=who.may("analyst"), **view,
    )


async def _checked_write(request: Request) -> tuple[Principal, Any] | Response:
    """The form of an analyst's POST, or the refusal: CSRF first, then the role."""
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return message_page(request, 403, "Refused", "The form's CSRF token is missing or wrong.")
    who = page_principal(request)
    if not who.may("analyst"):
        return message_page(
            request, 403, "Refused", f"{who.name} is a {who.role}; this needs an analyst."
        )
    return who, form


@router.post("/actors/{name_or_id}/split")
async def actor_split(request: Request, name_or_id: str) -> Response:
    checked = await _checked_write(request)
    if isinstance(checked, Response):
        return checked
    who, form = checked
    member = str(form.get("member") or "")
    visible = await run_in_threadpool(actor_view, request, who, name_or_id)
    if visible is None:
        return message_page(request, 404, "Actor not found", NOT_SHOWN)

    def split() -> dict[str, Any]:
        with request.app.state.knowledge.writer() as kb:
            return split_member(kb.store, name_or_id, member)

    try:
        moved = await run_in_threadpool(split)
    except (ConfigError, NotFoundError) as exc:
        return message_page(request, 400, "Not split", str(exc))
    await run_in_threadpool(
        audited, request, "actor split", moved["id"], {"from": visible["actor"]["id"]}
    )
    return RedirectResponse(f"/actors/{moved['id']}", status_code=303)


@router.post("/actors/{name_or_id}/join")
async def actor_join(request: Request, name_or_id: str) -> Response:
    checked = await _checked_write(request)
    if isinstance(checked, Response):
        return checked
    who, _ = checked
    visible = await run_in_threadpool(actor_view, request, who, name_or_id)
    if visible is None:
        return message_page(request, 404, "Actor not found", NOT_SHOWN)
    object_id = visible["actor"]["id"]

    def join() -> None:
        with request.app.state.knowledge.writer() as kb:
            join_member(kb.store, object_id)

    try:
        await run_in_threadpool(join)
    except NotFoundError as exc:
        return message_page(request, 400, "Not joined", str(exc))
    await run_in_threadpool(audited, request, "actor join", object_id)
    return RedirectResponse(f"/actors/{object_id}", status_code=303)
