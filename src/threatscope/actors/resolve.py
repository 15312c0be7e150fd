"""One canonical actor per real-world group, across sources and vendor names.

Objects from different sources are linked by evidence, strongest first: a shared ATT&CK group id,
the same primary name, one's name among the other's aliases, shared aliases. Linking is greedy in
that order with one rule: an actor never holds two objects from the same asserting party, because
that party says they are different groups. A link that rule blocks, and every name two actors
both claim, is recorded as a conflict on both. Nexus claims that disagree are conflicts too.
Analyst splits (objects told to stand alone) are honoured on every run, which makes them durable
across later imports and reversible.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from threatscope.actors.candidates import Candidate, candidate_from
from threatscope.names import normalise_name
from threatscope.store.base import ActorRow, Writer

__all__ = ["resolve_actors"]

_WEIGHT_ATTACK_ID = 100
_WEIGHT_SAME_NAME = 50
_WEIGHT_NAME_AS_ALIAS = 20
_WEIGHT_SHARED_ALIAS = 5


@dataclass(frozen=True)
class _Link:
    score: int
    a: int
    b: int
    evidence: tuple[str, ...]


def resolve_actors(writer: Writer) -> int:
    """Rebuild the actor tables from the objects in the store; returns how many actors exist."""
    candidates = [candidate_from(stored) for stored in writer.actor_objects()]
    splits = writer.splits()
    clusters, evidence = _cluster(candidates, splits)
    rows = _build_rows(candidates, clusters, evidence, splits)
    writer.replace_actors(rows)
    return len(rows)


def _links(candidates: list[Candidate]) -> list[_Link]:
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, cand in enumerate(candidates):
        for key in cand.alias_norms:
            by_key[f"n:{key}"].append(index)
        for attack_id in cand.attack_ids:
            by_key[f"g:{attack_id}"].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in by_key.values():
        pairs.update(combinations(sorted(set(members)), 2))
    links = []
    for a, b in pairs:
        ca, cb = candidates[a], candidates[b]
        if ca.party == cb.party:
            continue
        score, why = 0, []
        for attack_id in sorted(ca.attack_ids & cb.attack_ids):
            score += _WEIGHT_ATTACK_ID
            why.append(f"ATT&CK id {attack_id}")
        if ca.name_norm == cb.name_norm:
            score += _WEIGHT_SAME_NAME
            why.append(f"same name {cb.name!r}")
        else:
            if ca.name_norm in cb.alias_norms:
                score += _WEIGHT_NAME_AS_ALIAS
                why.append(f"{ca.name!r} is an alias of {cb.name!r}")
            if cb.name_norm in ca.alias_norms:
                score += _WEIGHT_NAME_AS_ALIAS
                why.append(f"{cb.name!r} is an alias of {ca.name!r}")
        shared = (ca.alias_norms & cb.alias_norms) - {ca.name_norm, cb.name_norm}
        if shared:
            score += _WEIGHT_SHARED_ALIAS * len(shared)
            why.append(f"{len(shared)} shared aliases")
        if score:
            links.append(_Link(score, a, b, tuple(why)))
    links.sort(key=lambda link: (-link.score, candidates[link.a].id, candidates[link.b].id))
    return links


def _cluster(
    candidates: list[Candidate], splits: dict[str, str]
) -> tuple[list[list[int]], dict[str, list[str]]]:
    parent = list(range(len(candidates)))
    parties = [{c.party} for c in candidates]
    evidence: dict[str, list[str]] = defaultdict(list)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for link in _links(candidates):
        if candidates[link.a].id in splits or candidates[link.b].id in splits:
            continue
        ra, rb = find(link.a), find(link.b)
        if ra == rb or parties[ra] & parties[rb]:
            continue
        parent[rb] = ra
        parties[ra] |= parties[rb]
        detail = f"{candidates[link.b].name} ({candidates[link.b].source}) ~ "
        detail += f"{candidates[link.a].name} ({candidates[link.a].source}): "
        evidence[candidates[link.a].id].append(detail + ", ".join(link.evidence))
        evidence[candidates[link.b].id].append(detail + ", ".join(link.evidence))
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(candidates)):
        groups[find(index)].append(index)
    return list(groups.values()), evidence


def _build_rows(
    candidates: list[Candidate],
    clusters: list[list[int]],
    evidence: dict[str, list[str]],
    splits: dict[str, str],
) -> list[ActorRow]:
    rows: list[ActorRow] = []
    claimed: dict[str, set[int]] = defaultdict(set)
    for number, cluster in enumerate(clusters):
        for index in cluster:
            for norm in _claims(candidates[index]):
                claimed[norm].add(number)
    anchors = [
        min((candidates[i] for i in cluster), key=lambda c: c.priority) for cluster in clusters
    ]
    for number, cluster in enumerate(clusters):
        members = sorted((candidates[i] for i in cluster), key=lambda c: c.priority)
        anchor = anchors[number]
        claims = [
            {"nexus": c.nexus, "basis": c.basis, "source": m.source, "object": m.id}
            for m in members
            for c in m.nexus_claims
        ]
        nexus = _nexus(members)
        conflicts: list[dict[str, Any]] = []
        if len({c["nexus"] for c in claims}) > 1:
            conflicts.append({"type": "nexus", "claims": claims})
        shared_names: dict[str, list[str]] = {}
        for index in cluster:
            for alias in [*candidates[index].aliases, *sorted(candidates[index].attack_ids)]:
                others = sorted(claimed[normalise_name(alias)] - {number})
                if others and alias not in shared_names:
                    shared_names[alias] = [anchors[o].name for o in others]
        for alias, claimants in sorted(shared_names.items()):
            conflicts.append({"type": "alias", "alias": alias, "also_claimed_by": claimants})
        doc = {
            "id": anchor.id,
            "name": anchor.name,
            "nexus": nexus,
            # Vendors cite ATT&CK ids ATT&CK gives to other groups (MISP's APT41 lists G0044,
            # ATT&CK's Winnti Group): when the anchor source assigns ids, its word is final.
            "external_ids": sorted(
                {ref for m in members if m.source == anchor.source for ref in m.attack_ids}
                or {ref for m in members for ref in m.attack_ids}
            ),
            "aliases": _aliases(members),
            "motivations": sorted({mot for m in members for mot in m.motivations}),
            "nexus_claims": claims,
            "conflicts": conflicts,
            "members": [
                {
                    "id": m.id,
                    "name": m.name,
                    "source": m.source,
                    "matched_by": evidence.get(m.id, []),
                    **({"split_from": splits[m.id]} if m.id in splits else {}),
                }
                for m in members
            ],
        }
        # Core names find an actor too (`find_actor` ranks them below its own names).
        cores = {m.core_norm for m in members if m.core_norm}
        lookup = {norm for m in members for norm in _claims(m)} | cores
        rows.append(
            ActorRow(
                id=anchor.id,
                name=anchor.name,
                nexus=nexus,
                doc=doc,
                lookup=sorted(lookup),
                members=[(m.id, m.source) for m in members],
            )
        )
    return rows


def _claims(candidate: Candidate) -> set[str]:
    """Every normalised name and ATT&CK id an object lays claim to."""
    return candidate.alias_norms | {normalise_name(ref) for ref in candidate.attack_ids}


def _aliases(members: list[Candidate]) -> list[dict[str, Any]]:
    spelled: dict[str, str] = {}
    sources: dict[str, set[str]] = defaultdict(set)
    for member in members:
        for alias in member.aliases:
            norm = normalise_name(alias)
            spelled.setdefault(norm, alias)
            sources[norm].add(member.source)
    return [{"alias": spelled[n], "sources": sorted(sources[n])} for n in spelled]


def _nexus(members: list[Candidate]) -> str | None:
    """The nexus most members claim; None when nobody claims one or the top claims tie."""
    votes: Counter[str] = Counter()
    for member in members:
        for nexus in {claim.nexus for claim in member.nexus_claims}:
            votes[nexus] += 1
    ranked = votes.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]
