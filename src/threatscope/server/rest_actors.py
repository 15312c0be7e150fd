"""Actors over REST: search and list (`actor list --json`), one actor (`actor show --json`), and
the analyst's split and join (`actor split` / `actor join`), each write in the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from threatscope.actors import join_member, split_member
from threatscope.server.deps import audited, requires
from threatscope.server.principal import Principal
from threatscope.server.rest_clearance import whole_base_reader
from threatscope.server.rest_output import as_cli_prints, errors, query_names

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/actors", tags=["actors"])


@router.get("", responses=errors(400, 401, 403, 422, 503))
def list_actors(
    request: Request,
    q: Annotated[
        str | None, Query(description="Name, alias or ATT&CK id contains this (any case)")
    ] = None,
    nexus: Annotated[str | None, Query(description="China, CN, CHN, … or 'unknown'")] = None,
    limit: Annotated[int | None, Query(ge=1, description="At most this many, by name")] = None,
) -> Response:
    """Resolved actors by name, as `threatscope actor list --json` prints them."""
    _, kb = whole_base_reader(request)
    with query_names():
        actors = kb.actors(search=q, nexus=nexus).as_list()
    return as_cli_prints(actors[:limit] if limit is not None else actors)


@router.get("/{name}", responses=errors(401, 403, 404, 503))
def show_actor(request: Request, name: str) -> Response:
    """One actor by any name, alias, ATT&CK id or STIX id: `threatscope actor show --json`."""
    _, kb = whole_base_reader(request)
    return as_cli_prints(kb.actor(name).as_dict())


class SplitRequest(BaseModel):
    member: str = Field(min_length=1, description="Member to take out: object id, source or name")


class SplitAnswer(BaseModel):
    split: str = Field(description="The object id taken out")
    from_: str = Field(alias="from", description="The actor as named in the request")


@router.post(
    "/{name}/split",
    response_model=SplitAnswer,
    responses=errors(400, 401, 403, 404, 422, 503),
)
def split_actor(
    request: Request,
    name: str,
    body: SplitRequest,
    who: Annotated[Principal, Depends(requires("analyst"))],
) -> Response:
    """Undo a merge (`threatscope actor split ACTOR MEMBER --json`): the member becomes an actor
    of its own and stays so across imports."""
    whole_base_reader(request)
    with request.app.state.knowledge.writer() as kb:
        moved = split_member(kb.store, name, body.member)
    audited(request, "actor.split", moved["id"], {"actor": name, "member": body.member})
    return as_cli_prints({"split": moved["id"], "from": name})


class JoinAnswer(BaseModel):
    joined: str = Field(description="The object id resolution may merge again")


@router.post(
    "/{object_id}/join", response_model=JoinAnswer, responses=errors(401, 403, 404, 503)
)
def join_actor(
    request: Request, object_id: str, who: Annotated[Principal, Depends(requires("analyst"))]
) -> Response:
    """Undo a split (`threatscope actor join OBJECT_ID`): resolution may merge it again."""
    whole_base_reader(request)
    with request.app.state.knowledge.writer() as kb:
        join_member(kb.store, object_id)
    audited(request, "actor.join", object_id)
    return as_cli_prints({"joined": object_id})
