"""`attribute(store, evidence)`: ranked candidate actors, nexus shares and a worded verdict."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from threatscope.attribution.calibrate import Calibration, load_calibration, posterior
from threatscope.attribution.evidence import Evidence, ResolvedEvidence, resolve
from threatscope.attribution.named import NAMED_LLR, STATED_NEXUS_LLR
from threatscope.attribution.profiles import Profiles, build_profiles
from threatscope.attribution.score import (
    Matrices,
    Params,
    Scores,
    actor_rows,
    build_matrices,
    score,
    unprofiled,
)
from threatscope.countries import country_name
from threatscope.nexus import nexus_label

__all__ = ["attribute", "estimative", "matrices_for", "rank"]

# ICD-203 expressions of likelihood, upper bounds of each band.
_ESTIMATIVE = (
    (0.05, "almost no chance"),
    (0.20, "very unlikely"),
    (0.45, "unlikely"),
    (0.55, "roughly even chance"),
    (0.80, "likely"),
    (0.95, "very likely"),
    (1.01, "almost certain"),
)
_CONFIDENT = 0.55  # a verdict names an actor or a nexus only from "likely" upwards
_LEANING = 0.3
_MAX_REASONS = 8
_PLURAL = {
    "technique": "techniques and software",
    "software": "techniques and software",
    "sector": "victim sectors",
    "country": "victim countries",
    "cve": "CVEs",
    "ioc": "indicators",
}
_MATRICES: dict[int, tuple[Profiles, Matrices]] = {}
_SOURCES: dict[int, tuple[Profiles, dict[str, bool]]] = {}


def estimative(probability: float) -> str:
    for bound, term in _ESTIMATIVE:
        if probability < bound:
            return term
    return _ESTIMATIVE[-1][1]


def matrices_for(store: Any, params: Params | None = None) -> Matrices:
    """The matrices `store`'s profiles score with under `params` (default: the tuned
    `Params()`). Only the default ones are kept between calls: a tuning run tries many
    settings, and none of them may leak into the answers given afterwards."""
    profiles = build_profiles(store)
    if params is not None and params != Params():
        return build_matrices(profiles, params)
    held = _MATRICES.get(id(profiles))
    if held is None or held[0] is not profiles:
        _MATRICES.clear()
        held = (profiles, build_matrices(profiles))
        _MATRICES[id(profiles)] = held
    return held[1]


def rank(scores: Scores, calibration: Calibration) -> tuple[np.ndarray, np.ndarray, float]:
    """Assessable actor indices, their probabilities (same order) and P(unknown/other)."""
    index = np.flatnonzero(scores.assessable)
    prescaled = scores.prescaled[index] if scores.prescaled is not None else None
    probs, unknown = posterior(scores.total[index], calibration, scores.items, prescaled)
    return index, probs, unknown


def attribute(
    store: Any,
    evidence: Evidence,
    top: int = 10,
    calibration: Calibration | None = None,
    matrices: Matrices | None = None,
    params: Params | None = None,
) -> dict[str, Any]:
    """`matrices`: profiles to score against instead of the whole knowledge base's (a
    leave-out evaluation takes a report's own relationships out first). `params`: the model
    constants to score the knowledge base's profiles with (default: the tuned `Params()`);
    matrices already carry theirs, so give one or the other."""
    if matrices is not None and params is not None:
        raise ValueError("attribute() takes matrices or params, not both")
    mats = matrices if matrices is not None else matrices_for(store, params)
    resolved = resolve(evidence, mats.profiles)
    scores = score(resolved, mats)
    _add_named(scores, resolved)
    _add_stated_nexus(scores, resolved, mats.profiles)
    index, probs, unknown = rank(scores, calibration or load_calibration())
    order = np.argsort(-probs, kind="stable")
    actors = mats.profiles.actors
    candidates = []
    for position in order[:top]:
        actor_index = int(index[position])
        actor = actors[actor_index]
        candidates.append(
            {
                "actor_id": actor.id,
                "name": actor.name,
                "nexus": actor.nexus,
                "probability": round(float(probs[position]), 4),
                "evidence": _reasons(actor_index, scores, mats, resolved),
            }
        )
    shares: dict[str, float] = defaultdict(float)
    for position, actor_index in enumerate(index):
        actor_nexus = actors[int(actor_index)].nexus
        if actor_nexus:
            shares[actor_nexus] += float(probs[position])
    nexus = [
        {"nexus": code, "probability": round(p, 4)}
        for code, p in sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
        if p >= 0.0005
    ]
    verdict, probability = _verdict(candidates, nexus)
    return {
        "candidates": candidates,
        "nexus": nexus,
        "unknown": round(unknown, 4),
        "verdict": verdict,
        "estimative": estimative(probability),
        "evidence_used": _used(resolved, scores, len(index), mats.profiles),
        "named_actors": [
            {"actor_id": actors[i].id, "name": actors[i].name, "as_written": written}
            for i, written in resolved.named.items()
        ],
        "knowledge_base": _sources(store, mats.profiles),
    }


def _add_named(scores: Scores, resolved: ResolvedEvidence) -> None:
    """The report's own attribution: a likelihood ratio set a priori (named.py), untempered."""
    for actor_index in resolved.named:
        scores.total[actor_index] += NAMED_LLR
        if scores.prescaled is None:
            scores.prescaled = np.zeros_like(scores.total)
        scores.prescaled[actor_index] += NAMED_LLR
        scores.assessable[actor_index] = True


def _add_stated_nexus(scores: Scores, resolved: ResolvedEvidence, profiles: Profiles) -> None:
    """The nexus the report states: a likelihood ratio set a priori for every actor of that
    nexus (named.py), shared between the nexuses a report states by how often it states each."""
    if not resolved.nexus:
        return
    if scores.prescaled is None:
        scores.prescaled = np.zeros_like(scores.total)
    nexus = np.array([a.nexus or "" for a in profiles.actors])
    for code, share in resolved.nexus.items():
        members = nexus == code
        scores.total[members] += share * STATED_NEXUS_LLR
        scores.prescaled[members] += share * STATED_NEXUS_LLR


def _sources(store: Any, profiles: Profiles) -> dict[str, bool]:
    """Whether the knowledge base holds ATT&CK and the MISP galaxy at all: without them no
    actor can be assessed, and the user should be told to `threatscope sync`. Asked once per
    knowledge-base state (profiles are rebuilt when it changes): inferred nexus calls often."""
    held = _SOURCES.get(id(profiles))
    if held is not None and held[0] is profiles:
        return dict(held[1])
    found = {
        "attack": store.holds_source("attack"),
        "misp_galaxy": store.holds_source("misp-galaxy"),
    }
    _SOURCES.clear()
    _SOURCES[id(profiles)] = (profiles, found)
    return dict(found)


def _verdict(candidates: list[dict[str, Any]], nexus: list[dict[str, Any]]) -> tuple[str, float]:
    best = candidates[0] if candidates else None
    if best and best["probability"] >= _CONFIDENT:
        term = estimative(best["probability"])
        where = f" ({nexus_label(best['nexus'])})" if best["nexus"] else ""
        return f"{term} {best['name']}{where}", best["probability"]
    if nexus and nexus[0]["probability"] >= _CONFIDENT:
        term = estimative(nexus[0]["probability"])
        return f"{nexus_label(nexus[0]['nexus'])} {term}, actor undetermined", nexus[0][
            "probability"
        ]
    top = max([best["probability"] if best else 0.0, nexus[0]["probability"] if nexus else 0.0])
    runner_up = nexus[1]["probability"] if len(nexus) > 1 else 0.0
    if nexus and nexus[0]["probability"] >= _LEANING and nexus[0]["probability"] >= 3 * runner_up:
        # Not "likely" yet, but no other state comes close: say where the evidence leans.
        lead = nexus[0]
        return (
            f"insufficient evidence; leans {nexus_label(lead['nexus'])}"
            f" ({100 * lead['probability']:.0f}%, {lead['probability'] / max(runner_up, 1e-9):.0f}x"
            " the next nexus)",
            top,
        )
    return "insufficient evidence", top


def _reasons(
    actor_index: int, scores: Scores, mats: Matrices, resolved: ResolvedEvidence
) -> list[dict[str, Any]]:
    """Why the actor scored as it did, strongest first. `given`: the item is evidence the user
    gave (or the report stated), not one implied by it (a parent technique, the techniques of
    named software)."""
    actor = mats.profiles.actors[actor_index]
    items = {kind: set(values) for kind, values in actor.items.items()}
    rows = actor_rows(items, mats.profiles, mats.params, mats.vocab, mats.children)
    found: list[dict[str, Any]] = []
    for kind, item, weight, llr in scores.parts:
        value = float(llr[actor_index])
        if abs(value) < 0.05:
            continue
        col = mats.vocab[kind].get(item)
        strength, how = rows[kind].get(col, (0.0, "")) if col is not None else (0.0, "")
        sources = ", ".join(sorted(actor.items[kind].get(item, ())))
        shown = _show(kind, item, mats.profiles)
        if strength >= 1.0:
            why = f"{shown} in the actor's profile ({sources})" if sources else shown
        elif strength > 0:
            why = f"{shown}: near match, {how}"
        elif actor.nexus and unprofiled(mats, kind)[actor_index]:
            more = "more" if value > 0 else "less"
            why = (
                f"{shown}: {more} common among {nexus_label(actor.nexus)} actors than among all;"
                f" nothing is known of this actor's own {_PLURAL.get(kind, kind)}"
            )
        else:
            why = f"{shown} not in the actor's profile"
        given = not (weight < 1.0 and kind == "technique")
        if not given:
            why += " (implied by other evidence)"
        if kind == "cve" and item in mats.profiles.ransomware_cves:
            why += "; CISA KEV: known ransomware campaign use (not scored)"
        found.append(
            {"kind": kind, "value": shown, "weight": round(value, 3), "why": why, "given": given}
        )
    if scores.time is not None and abs(float(scores.time[actor_index])) >= 0.05:
        first, last = mats.span[actor_index]
        value = float(scores.time[actor_index])
        where = "within" if value > 0 else "outside"
        found.append(
            {
                "kind": "first_seen",
                "value": f"{first:.0f}-{last:.0f}",
                "weight": round(value, 3),
                "why": f"date {where} the actor's known activity ({first:.0f}-{last:.0f})",
                "given": True,
            }
        )
    if actor_index in resolved.named:
        written = resolved.named[actor_index]
        found.append(
            {
                "kind": "named",
                "value": written,
                "weight": round(NAMED_LLR, 3),
                "why": f"the report attributes this to {written}",
                "given": True,
            }
        )
    share = resolved.nexus.get(actor.nexus or "")
    if share:
        found.append(
            {
                "kind": "stated_nexus",
                "value": country_name(actor.nexus or ""),
                "weight": round(share * STATED_NEXUS_LLR, 3),
                "why": f"the report ties the activity to {country_name(actor.nexus or '')}",
                "given": True,
            }
        )
    # Ties broken by kind and value: evidence arrives in set order, which varies between runs.
    found.sort(key=lambda r: (-abs(r["weight"]), r["kind"], r["value"]))
    return found[:_MAX_REASONS]


def _show(kind: str, item: str, profiles: Profiles) -> str:
    if kind == "technique":
        return f"{item} {profiles.technique_names.get(item, '')}".strip()
    if kind == "software":
        return profiles.software_names.get(item, item)
    return item


def _used(
    resolved: ResolvedEvidence, scores: Scores, assessable: int, profiles: Profiles
) -> dict[str, Any]:
    return {
        "techniques": sorted(resolved.items["technique"]),
        "software": sorted(profiles.software_names.get(s, s) for s in resolved.items["software"]),
        "cves": sorted(resolved.items["cve"]),
        "iocs": sorted(resolved.items["ioc"]),
        "sectors": sorted(resolved.items["sector"]),
        "victim_countries": sorted(resolved.items["country"]),
        "first_seen": resolved.year is not None,
        "named_actors": sorted(resolved.named.values()),
        "stated_nexus": sorted(resolved.nexus),
        "unresolved": resolved.unresolved,
        "actors_assessed": assessable,
    }
