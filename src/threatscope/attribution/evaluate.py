"""How good is attribution, measured on ATT&CK itself, and the fit of its calibration.

Protocols (each case's own knowledge is taken out of the profiles before it is attributed):

groups     every ATT&CK group whose actor has >= 10 techniques: a random half of its techniques
           and a random half of its software (seeded per group) become the evidence and leave its
           profile; the profile keeps the other half, its victimology and dates. Evidence and
           profile are therefore disjoint: only near matches (sibling/parent techniques,
           techniques of the actor's remaining software, shared software) can find the group.
reports    the realistic variant, and what calibration is fitted on: a random half of the
           *sources* a group's `uses` cite is the new intrusion (its techniques, software and the
           CVEs its relationships name are the evidence); an item stays in the profile when a
           kept source also supports it, as it would in life.
campaigns  every ATT&CK campaign attributed to a group: the campaign's techniques, software and
           CVEs are the evidence; out of the profiles go the campaign's own `uses`, its dates, and
           every group `uses` ATT&CK derived from it. ATT&CK rarely says so in the description
           (one link in 5,466), so a group relationship counts as derived when its description
           names or links the campaign, or when it cites a source any of the campaign's
           relationships cite (same report, same finding). mode="strict" also removes every
           group `uses` of an item the campaign uses (a pessimistic bound: the group's
           independent record of those items goes too).

Metrics: top-1 / top-3 (a truth actor among the first 1 / 3 candidates), nexus accuracy (the most
probable nexus is the truth actor's; cases whose truth has a nexus), ECE over 10 bins and Brier
score, both of the top-1 candidate one-vs-rest (confidence = its probability, outcome = it is
right); also the multi-class Brier over all candidates plus unknown/other. The baseline ranks
actors by Jaccard overlap of technique+software sets (no weights, no calibration); the nexus
baseline always answers the nexus most common among the cases' truths.
"""

from __future__ import annotations

import random
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from threatscope.attribution.calibrate import (
    FIT_SEEDS,
    OPEN_SET_EVERY,
    Calibration,
    brier_top1,
    expected_calibration_error,
    fit_temperature,
    load_calibration,
    save_calibration,
)
from threatscope.attribution.engine import matrices_for, rank
from threatscope.attribution.evidence import ResolvedEvidence
from threatscope.attribution.profiles import KINDS, ActorProfile, Profiles, Use
from threatscope.attribution.score import Matrices, Params, score
from threatscope.errors import ConfigError

__all__ = ["Case", "evaluate_attribution", "fit_calibration", "items_from", "iter_cases"]

_MIN_TECHNIQUES = 10


@dataclass
class Case:
    label: str
    truth: set[int]  # actor indices; empty: the truth is unknown/other
    evidence: ResolvedEvidence
    mats: Matrices


def _items(actor: ActorProfile) -> dict[str, set[str]]:
    return {kind: set(actor.items[kind]) for kind in KINDS}


_NOT_USES = frozenset({"incidents", "reports"})  # profile labels of items no `Use` carries


def items_from(actor: ActorProfile, kept_uses: list[Use]) -> dict[str, set[str]]:
    """The actor's profile items when only `kept_uses` of its `uses` remain (incidents, reports
    and victimology are not `uses` and stay)."""
    items = _items(actor)
    for kind in ("technique", "software", "cve"):
        from_uses = {u.item for u in kept_uses if u.kind == kind}
        others = {i for i, src in actor.items[kind].items() if src & _NOT_USES}
        items[kind] = from_uses | others
    return items


def _evidence(
    techniques: set[str], software: set[str], cves: set[str] | None = None
) -> ResolvedEvidence:
    items: dict[str, dict[str, float]] = {kind: {} for kind in KINDS}
    items["technique"] = dict.fromkeys(sorted(techniques), 1.0)
    items["software"] = dict.fromkeys(sorted(software), 1.0)
    items["cve"] = dict.fromkeys(sorted(cves or ()), 1.0)
    return ResolvedEvidence(items, None, {})


def _group_cases(mats: Matrices, seed: int, open_set: bool) -> Iterator[Case]:
    profiles = mats.profiles
    number = 0
    for index, actor in enumerate(profiles.actors):
        items = _items(actor)
        if len(items["technique"]) < _MIN_TECHNIQUES:
            continue
        if not any(m in profiles.group_attack_ids for m in _members(profiles, actor.id)):
            continue
        rng = random.Random(seed * 1_000_003 + zlib.crc32(actor.id.encode()))
        held: dict[str, set[str]] = {}
        for kind in ("technique", "software"):
            values = sorted(items[kind])
            rng.shuffle(values)
            held[kind] = set(values[: (len(values) + 1) // 2])
        number += 1
        if open_set and number % OPEN_SET_EVERY == 0:
            # The group is not in the knowledge base at all: unknown/other is the right answer.
            empty: dict[str, set[str]] = {kind: set() for kind in KINDS}
            yield Case(
                f"{actor.name} (absent)",
                set(),
                _evidence(held["technique"], held["software"]),
                mats.copy_with(index, empty, []),
            )
            continue
        kept = {kind: items[kind] - held.get(kind, set()) for kind in KINDS}
        yield Case(
            actor.name,
            {index},
            _evidence(held["technique"], held["software"]),
            mats.copy_with(index, kept, actor.years),
        )


def _report_cases(mats: Matrices, seed: int, open_set: bool) -> Iterator[Case]:
    """Like groups, but split by *source*: a random half of the reports a group's `uses` cite
    are the new intrusion; an item stays in the profile when a kept report also supports it."""
    profiles = mats.profiles
    number = 0
    for index, actor in enumerate(profiles.actors):
        items = _items(actor)
        sources = sorted({c for u in actor.uses for c in u.citations})
        if len(items["technique"]) < _MIN_TECHNIQUES or len(sources) < 2:
            continue
        rng = random.Random(seed * 1_000_003 + zlib.crc32(actor.id.encode()))
        rng.shuffle(sources)
        new = set(sources[: (len(sources) + 1) // 2])
        # CVEs the new intrusion's sources name are its evidence too ("exploited CVE-...").
        held: dict[str, set[str]] = {"technique": set(), "software": set(), "cve": set()}
        kept: dict[str, set[str]] = {kind: set() for kind in KINDS}
        for use in actor.uses:
            if use.kind not in held:
                kept[use.kind].add(use.item)
            elif use.citations & new:
                held[use.kind].add(use.item)
            if use.citations - new or not use.citations:
                kept[use.kind].add(use.item)
        if not held["technique"] and not held["software"]:
            continue
        for kind in ("sector", "country", "ioc"):
            kept[kind] |= items[kind]
        kept["cve"] |= {i for i, src in actor.items["cve"].items() if src & _NOT_USES}
        number += 1
        evidence = _evidence(held["technique"], held["software"], held["cve"])
        if open_set and number % OPEN_SET_EVERY == 0:
            empty: dict[str, set[str]] = {kind: set() for kind in KINDS}
            yield Case(f"{actor.name} (absent)", set(), evidence, mats.copy_with(index, empty, []))
            continue
        yield Case(actor.name, {index}, evidence, mats.copy_with(index, kept, actor.years))


def _members(profiles: Profiles, actor_id: str) -> list[str]:
    return [m for m, a in profiles.member_actor.items() if a == actor_id]


def _campaign_cases(mats: Matrices, mode: str) -> Iterator[Case]:
    profiles = mats.profiles
    index_of = profiles.actor_index()
    for campaign_id, campaign in sorted(profiles.campaigns.items()):
        if not campaign["actors"]:
            continue
        owners = sorted(index_of[a] for a in campaign["actors"])
        own = [u for u in profiles.actors[owners[0]].uses if u.via == campaign_id]
        techniques = {u.item for u in own if u.kind == "technique"}
        software = {u.item for u in own if u.kind == "software"}
        cves = {u.item for u in own if u.kind == "cve"}
        if not techniques and not software:
            continue
        citations = frozenset().union(*(u.citations for u in own))
        marks = {campaign["name"].casefold()}
        if campaign["attack_id"]:
            marks |= {f"campaigns/{campaign['attack_id']}".casefold()}
        case_mats = mats
        for owner in owners:
            actor = profiles.actors[owner]
            kept_uses = [
                u
                for u in actor.uses
                if u.via != campaign_id
                and not (u.citations & citations)
                and not any(mark in u.description.casefold() for mark in marks)
                and not (mode == "strict" and u.item in techniques | software | cves)
            ]
            items = items_from(actor, kept_uses)
            years = list(actor.years)
            for year in campaign["years"]:
                if year in years:
                    years.remove(year)
            case_mats = case_mats.copy_with(owner, items, years)
        name = f"{campaign['attack_id'] or ''} {campaign['name']}".strip()
        yield Case(name, set(owners), _evidence(techniques, software, cves), case_mats)


def iter_cases(
    mats: Matrices, dataset: str, seed: int = 0, open_set: bool = False, mode: str = "citation"
) -> Iterator[Case]:
    if dataset == "attack-groups":
        yield from _group_cases(mats, seed, open_set)
    elif dataset == "attack-reports":
        yield from _report_cases(mats, seed, open_set)
    elif dataset == "attack-campaigns":
        yield from _campaign_cases(mats, mode)
    else:
        raise ConfigError(
            f"unknown dataset {dataset!r}; use attack-groups, attack-reports or attack-campaigns"
        )


def _jaccard_rank(case: Case) -> np.ndarray:
    mats = case.mats
    overlap = np.zeros(len(mats.profiles.actors))
    union = np.zeros(len(mats.profiles.actors))
    for kind in ("technique", "software"):
        cols = [mats.vocab[kind][i] for i in case.evidence.items[kind] if i in mats.vocab[kind]]
        direct = mats.m[kind] >= 1.0
        evidence = np.zeros(direct.shape[1], dtype=bool)
        evidence[cols] = True
        overlap += (direct & evidence).sum(axis=1)
        union += (direct | evidence).sum(axis=1)
    return overlap / np.maximum(union, 1)


def _nexus_top(actors: list[ActorProfile], index: np.ndarray, probs: np.ndarray) -> str | None:
    shares: dict[str, float] = defaultdict(float)
    for position, actor_index in enumerate(index):
        nexus = actors[int(actor_index)].nexus
        if nexus:
            shares[nexus] += float(probs[position])
    return max(shares, key=lambda k: (shares[k], k)) if shares else None


def _summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    with_nexus = [r for r in rows if r["truth_nexus"]]
    confidence = [r["p_top"] for r in rows]
    correct = [r["top1"] for r in rows]
    base_nexus = [r for r in with_nexus if r["baseline_nexus"] is not None]
    truths = Counter(r["truth_nexus"] for r in with_nexus)
    majority = truths.most_common(1)[0] if truths else (None, 0)
    return {
        "n": n,
        "top1": float(np.mean(correct)) if n else 0.0,
        "top3": float(np.mean([r["top3"] for r in rows])) if n else 0.0,
        "nexus_accuracy": float(np.mean([r["nexus_ok"] for r in with_nexus]))
        if with_nexus
        else 0.0,
        "ece": expected_calibration_error(confidence, correct),
        "brier": brier_top1(confidence, correct),
        "brier_multiclass": float(np.mean([r["brier_mc"] for r in rows])) if n else 0.0,
        # Always answering the nexus most common among these cases' truths.
        "baseline_majority_nexus": {
            "nexus": majority[0],
            "nexus_accuracy": majority[1] / len(with_nexus) if with_nexus else 0.0,
        },
        "mean_confidence": float(np.mean(confidence)) if n else 0.0,
        "baseline_jaccard": {
            "top1": float(np.mean([r["baseline_top1"] for r in rows])) if n else 0.0,
            "top3": float(np.mean([r["baseline_top3"] for r in rows])) if n else 0.0,
            "nexus_accuracy": float(
                np.mean([r["baseline_nexus"] == r["truth_nexus"] for r in base_nexus])
            )
            if base_nexus
            else 0.0,
        },
    }


def _run_case(case: Case, calibration: Calibration) -> dict[str, Any]:
    actors = case.mats.profiles.actors
    scores = score(case.evidence, case.mats)
    index, probs, unknown = rank(scores, calibration)
    order = index[np.argsort(-probs, kind="stable")]
    p_sorted = np.sort(probs)[::-1]
    truth_nexus = next((actors[t].nexus for t in sorted(case.truth) if actors[t].nexus), None)
    p_truth = sum(float(probs[i]) for i, a in enumerate(index) if int(a) in case.truth)
    jaccard = _jaccard_rank(case)
    base_order = np.argsort(-jaccard, kind="stable")
    top1 = bool(order.size and int(order[0]) in case.truth)
    top3 = bool(case.truth & {int(a) for a in order[:3]})
    p_top = float(p_sorted[0]) if p_sorted.size else 0.0
    if not case.truth:
        # The group is absent from the knowledge base: the right answer is unknown/other, and
        # the answer given is whichever of it and the actors is most probable.
        p_truth = unknown
        top1 = unknown >= p_top
        top3 = int((p_sorted[:3] > unknown).sum()) < 3
        p_top = max(p_top, unknown)
    return {
        "case": case.label,
        "top1": top1,
        "top3": top3,
        "p_top": p_top,
        "p_truth": p_truth,
        "predicted": "unknown/other"
        if unknown >= p_top or not order.size
        else actors[int(order[0])].name,
        "truth_nexus": truth_nexus,
        "nexus_ok": _nexus_top(actors, index, probs) == truth_nexus,
        "brier_mc": float((probs**2).sum() + unknown**2 - 2 * p_truth + 1),
        "baseline_top1": int(base_order[0]) in case.truth,
        "baseline_top3": bool(case.truth & {int(a) for a in base_order[:3]}),
        "baseline_nexus": actors[int(base_order[0])].nexus,
    }


def evaluate_attribution(
    store: Any,
    dataset: str = "attack-groups",
    seeds: tuple[int, ...] = (0, 1, 2),
    mode: str = "citation",
    calibration: Calibration | None = None,
    details: bool = False,
    open_set: bool = False,
    params: Params | None = None,
) -> dict[str, Any]:
    """Metrics of `dataset` (attack-groups | attack-campaigns) with the shipped calibration.

    Campaigns are deterministic, so `seeds` only matters for groups. Reporting seeds must differ
    from calibration.FIT_SEEDS (checked). `open_set` takes every OPEN_SET_EVERY-th group out of
    the knowledge base, as the calibration's fitting cases do (right answer: unknown/other).
    `params`: the model constants to score with (default: the tuned `Params()`)."""
    if dataset != "attack-campaigns":
        if not seeds:
            raise ConfigError("--seeds must be at least 1")
        fitting = sorted(set(seeds) & set(FIT_SEEDS))
        if fitting:
            # Scoring on the cases the calibration was fitted on would flatter it.
            raise ConfigError(
                f"seeds {', '.join(map(str, fitting))} fitted the calibration; report on others"
                f" (--seeds N runs seeds 0..N-1: at most {min(FIT_SEEDS)})"
            )
    started = time.perf_counter()
    calibration = calibration or load_calibration()
    mats = matrices_for(store, params)
    runs = seeds if dataset != "attack-campaigns" else (0,)
    per_seed, everything = [], []
    for seed in runs:
        cases = iter_cases(mats, dataset, seed, open_set=open_set, mode=mode)
        rows = [_run_case(c, calibration) for c in cases]
        everything.extend(rows)
        summary = {"seed": seed, **_summarise(rows)}
        if details:
            summary["cases"] = rows
        per_seed.append(summary)
    return {
        "dataset": dataset,
        "mode": mode if dataset == "attack-campaigns" else None,
        "seeds": list(runs),
        **_summarise(everything),
        "per_seed": per_seed,
        "calibration": {
            "temperature": calibration.temperature,
            "unknown_logit": calibration.unknown_logit,
            "size_exponent": calibration.size_exponent,
        },
        "seconds": round(time.perf_counter() - started, 2),
    }


def fit_calibration(
    store: Any,
    seeds: tuple[int, ...] = FIT_SEEDS,
    write: bool = True,
    params: Params | None = None,
) -> dict:
    """Fit (T, b, g) on the attack-reports protocol with `seeds` and open-set cases, scored
    with `params` (default: the tuned `Params()`); write calibration.json.

    Deterministic: the cases depend only on the knowledge base and the seeds, and Nelder-Mead
    starts from (T=1, b=0, g=0)."""
    mats = matrices_for(store, params)
    cases: list[tuple[np.ndarray, int | None, int]] = []
    for seed in seeds:
        for case in iter_cases(mats, "attack-reports", seed, open_set=True):
            scores = score(case.evidence, case.mats)
            index = np.flatnonzero(scores.assessable)
            truth = next((i for i, a in enumerate(index) if int(a) in case.truth), None)
            if case.truth and truth is None:
                continue
            cases.append((scores.total[index], truth, scores.items))
    temperature, bias, exponent = fit_temperature(cases)
    meta = {
        "fitted": True,
        "procedure": (
            "NLL of the truth minimised (Nelder-Mead from T=1, b=0, g=0) over the attack-reports "
            f"protocol with seeds {list(seeds)}; every {OPEN_SET_EVERY}th group removed from "
            "the knowledge base (truth = unknown/other). Reporting uses other seeds and the "
            "campaigns protocol."
        ),
        "seeds": list(seeds),
        "cases": len(cases),
        "open_set_cases": sum(1 for _, t, _ in cases if t is None),
        "knowledge_base": "ATT&CK Enterprise 18.1 + MISP threat-actor galaxy",
    }
    calibration = Calibration(temperature, bias, meta, exponent)
    if write:
        save_calibration(calibration)
    return {"temperature": temperature, "unknown_logit": bias, "size_exponent": exponent, **meta}
