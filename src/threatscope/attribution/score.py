"""Evidence x profiles -> one log-likelihood-ratio score per actor.

For an evidence item e of some kind (technique, software, ...) and actor a with profile mass
n(a) = sum_e m(a, e) of that kind:

    q(e)      = (sum_a m(a, e) + 0.5) / (sum_a n(a) + 0.5 * items)     how common e is
    fit(a, e) = (1 - lam) * m(a, e) / n(a) + lam * translation(a, e)
    P(e|a)    = (n(a) * fit(a, e) + mu * prior(a, e)) / (n(a) + mu)    Dirichlet smoothing
    LLR       = weight(kind) * log(P(e|a) / q(e))

m(a, e) in [0, 1] is 1 when a's profile holds e and a fraction for near misses (a sibling or
parent technique, a technique a's software is known to use, a parent sector). translation is
P(e | a) through co-occurrence with what a holds. prior(a, e) is q(e), except for actors nothing
is known of for this kind that have a nexus: for them it is what the other actors of their nexus
hold (`_nexus_prior`). A match on a rare item earns about log(1/q) (its IDF); T1059 earns
little. IOCs are scored apart (`_ioc_llr`): an observable is no draw from a small vocabulary.
Items at least `common_share` of actors share (Cobalt Strike, Mimikatz, T1059) add at most
`common_cap` nats per kind between them, so shared tooling cannot carry an attribution on its
own. Kinds are weighted and summed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from threatscope.attribution.evidence import ResolvedEvidence
from threatscope.attribution.profiles import KINDS, Profiles
from threatscope.taxonomy import sectors

_MATRIX_KINDS = (*KINDS, "technique_own")
_VOCAB_OF = {kind: kind for kind in KINDS} | {"technique_own": "technique"}

__all__ = [
    "Matrices",
    "Params",
    "Scores",
    "actor_rows",
    "build_matrices",
    "score",
    "unprofiled",
]


@dataclass(frozen=True)
class Params:
    """Model constants. bench/tune_attribution.py chose mu (technique 150, software 10; grid
    software 2/5/10/25 x technique 60/150) and then the technique and software weights (0.7 and
    1.4: software says more per item than a technique; ten pairs tried) by the lowest
    multi-class Brier on the attack-reports protocol with tuning seeds, the calibration refitted
    per setting on the fitting seeds. bench/tune_victimology.py chose the sector and country
    weights and nexus_scale on the EuRepoC tuning half. The CVE mu and weight (3, 1.0) won
    mu 3/10 x weight 1.0/1.4 (`--grid cve`) once the attack-reports cases held out CVEs too. The
    rest are set a priori. KEV's ransomware flag is not a parameter: it names no actor, and a
    third of the KEV CVEs linked to state-nexus actors carry it (actors/cves.py)."""

    # Dirichlet smoothing mass per kind: how many background draws a profile is worth.
    mu: dict[str, float] = field(
        default_factory=lambda: {
            "technique": 150.0,
            "software": 10.0,
            "cve": 3.0,
            "ioc": 3.0,
            "sector": 5.0,
            "country": 5.0,
        }
    )
    weight: dict[str, float] = field(
        default_factory=lambda: {
            "technique": 0.7,
            "software": 1.4,
            "cve": 1.0,
            "ioc": 1.0,
            "sector": 0.5,
            "country": 0.5,
        }
    )
    parent_of_used: float = 0.7  # actor uses T1059.001 -> it uses T1059
    child_of_used: float = 0.3  # actor uses T1059 -> maybe T1059.001
    sibling_of_used: float = 0.15
    via_software: float = 0.35  # a technique one of the actor's tools is known to use
    evidence_parent: float = 0.3  # evidence T1059.001 weakly supports T1059
    evidence_via_software: float = 0.15  # evidence software -> the techniques it uses
    related_sector: float = 0.5
    translation: float = 0.5  # share of P(e|actor) that comes through co-occurrence
    # Actors known only by name, nexus and perhaps victims (most MISP clusters) are scored on
    # tradecraft as a typical actor of their nexus, smoothed with this many pseudo-actors of
    # the global background: ShadowPad then speaks for China-nexus actors ATT&CK does not
    # profile and against others. None: such actors stay neutral (LLR 0).
    nexus_scale: float | None = 1.0
    ioc_match: float = 50.0  # likelihood ratio of an exact infrastructure match (a priori)
    level_unheld: bool = True  # items no actor holds count the same for every actor
    common_share: float = 0.1
    common_cap: float = 1.0
    time_rho: float = 0.5


@dataclass
class Matrices:
    profiles: Profiles
    params: Params
    vocab: dict[str, dict[str, int]]
    m: dict[str, np.ndarray]  # kind -> actors x items soft membership
    n: dict[str, np.ndarray]  # kind -> actors: direct items held
    span: np.ndarray  # actors x 2: first and last year of known activity (nan: unknown)
    children: dict[str, list[str]]
    # Technique+software co-occurrence over actors (direct holdings), and the rows edited since
    # it was computed: (old row, new row) pairs it is corrected by, so a leave-out case never
    # learns from the very items it holds out.
    cooc: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    edits: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    nexus_onehot: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # codes x actors

    def holdings(self) -> np.ndarray:
        return np.hstack([self.m["technique"] >= 1.0, self.m["software"] >= 1.0]).astype(float)

    def copy_with(self, index: int, items: dict[str, set[str]], years: list[float]) -> Matrices:
        """These matrices with actor `index`'s profile replaced (leave-out evaluation)."""
        m = {k: v.copy() for k, v in self.m.items()}
        n = {k: v.copy() for k, v in self.n.items()}
        old = np.hstack([self.m["technique"][index] >= 1.0, self.m["software"][index] >= 1.0])
        span = self.span.copy()
        rows = actor_rows(items, self.profiles, self.params, self.vocab, self.children)
        for kind in _MATRIX_KINDS:
            m[kind][index] = 0.0
            for col, (strength, _) in rows[kind].items():
                m[kind][index, col] = strength
            n[kind][index] = len(items.get(_VOCAB_OF[kind], ()))
        span[index] = _span(years)
        new = np.hstack([m["technique"][index] >= 1.0, m["software"][index] >= 1.0])
        edits = (*self.edits, (old.astype(float), new.astype(float)))
        return Matrices(
            self.profiles,
            self.params,
            self.vocab,
            m,
            n,
            span,
            self.children,
            self.cooc,
            edits,
            self.nexus_onehot,
        )


def _span(years: list[float]) -> tuple[float, float]:
    return (min(years), max(years)) if years else (np.nan, np.nan)


def actor_rows(
    items: dict[str, set[str]],
    profiles: Profiles,
    params: Params,
    vocab: dict[str, dict[str, int]],
    children: dict[str, list[str]],
) -> dict[str, dict[int, tuple[float, str]]]:
    """Soft profile rows: column -> (strength, why) for each kind."""
    rows: dict[str, dict[int, tuple[float, str]]] = {kind: {} for kind in _MATRIX_KINDS}

    def put(kind: str, item: str, strength: float, why: str) -> None:
        col = vocab[kind].get(item)
        if col is not None and strength > rows[kind].get(col, (0.0, ""))[0]:
            rows[kind][col] = (strength, why)

    # Sorted: of equally strong reasons the first one wins, and set order varies between runs.
    techniques = sorted(items.get("technique", set()))
    for technique in techniques:
        put("technique", technique, 1.0, "used")
        if "." in technique:
            parent = technique.split(".")[0]
            put("technique", parent, params.parent_of_used, f"uses sub-technique {technique}")
            for sibling in children.get(parent, ()):
                put("technique", sibling, params.sibling_of_used, f"uses sibling {technique}")
        else:
            for child in children.get(technique, ()):
                put("technique", child, params.child_of_used, f"uses parent {technique}")
    # Evidence techniques implied by evidence software are scored against this copy, which
    # leaves out the actor's own software: otherwise one shared tool would count twice.
    rows["technique_own"] = dict(rows["technique"])
    for software in sorted(items.get("software", set())):
        put("software", software, 1.0, "used")
        name = profiles.software_names.get(software, software)
        for technique in sorted(profiles.software_techniques.get(software, ())):
            put("technique", technique, params.via_software, f"its software {name} uses it")
    taxonomy = sectors()
    for sector in sorted(items.get("sector", set())):
        put("sector", sector, 1.0, "targeted")
        if sector in taxonomy.by_id:
            for related in taxonomy.ancestors(sector)[1:]:
                put("sector", related, params.related_sector, f"targets {sector}")
            for related in sorted(taxonomy.within(sector) - {sector}):
                put("sector", related, params.related_sector, f"targets {sector}")
    for kind in ("cve", "ioc", "country"):
        for item in items.get(kind, set()):
            put(kind, item, 1.0, "known")
    return rows


def build_matrices(profiles: Profiles, params: Params | None = None) -> Matrices:
    params = params or Params()
    vocab: dict[str, dict[str, int]] = {kind: {} for kind in KINDS}
    vocab["technique"] = {t: i for i, t in enumerate(sorted(profiles.technique_names))}
    vocab["software"] = {s: i for i, s in enumerate(sorted(profiles.software_names))}
    taxonomy = sectors()
    vocab["sector"] = {s: i for i, s in enumerate(sorted(taxonomy.by_id))}
    for kind in ("cve", "ioc", "country"):
        values = sorted({item for a in profiles.actors for item in a.items[kind]})
        vocab[kind] = {v: i for i, v in enumerate(values)}
    children: dict[str, list[str]] = {}
    for technique in vocab["technique"]:
        if "." in technique:
            children.setdefault(technique.split(".")[0], []).append(technique)
    count = len(profiles.actors)
    m = {
        kind: np.zeros((count, max(len(vocab[_VOCAB_OF[kind]]), 1)), dtype=np.float64)
        for kind in _MATRIX_KINDS
    }
    n = {kind: np.zeros(count, dtype=np.float64) for kind in _MATRIX_KINDS}
    span = np.full((count, 2), np.nan)
    for index, actor in enumerate(profiles.actors):
        items = {kind: set(actor.items[kind]) for kind in KINDS}
        rows = actor_rows(items, profiles, params, vocab, children)
        for kind in _MATRIX_KINDS:
            for col, (strength, _) in rows[kind].items():
                m[kind][index, col] = strength
            n[kind][index] = len(items[_VOCAB_OF[kind]])
        span[index] = _span(actor.years)
    mats = Matrices(profiles, params, vocab, m, n, span, children)
    held = mats.holdings()
    mats.cooc = held.T @ held
    codes = sorted({a.nexus for a in profiles.actors if a.nexus})
    mats.nexus_onehot = np.array(
        [[a.nexus == code for a in profiles.actors] for code in codes], dtype=np.float64
    ).reshape(len(codes), count)
    return mats


@dataclass
class Scores:
    total: np.ndarray  # per actor
    assessable: np.ndarray  # bool per actor: some evidence kind says something about it
    parts: list[tuple[str, str, float, np.ndarray]]  # (kind, item, evidence weight, LLR/actor)
    time: np.ndarray | None
    used: dict[str, Any]
    items: int = 1  # how many evidence items (and a date) were given: the calibration's n
    # Part of `total` that is a likelihood ratio set a priori (IOCs): not rescaled by calibration.
    prescaled: np.ndarray | None = None


def _expand(evidence: ResolvedEvidence, mats: Matrices) -> dict[str, dict[str, float]]:
    """Evidence-side implications: parents of sub-techniques, techniques of named software."""
    params, profiles = mats.params, mats.profiles
    items = {kind: dict(values) for kind, values in evidence.items.items()}
    techniques = items.setdefault("technique", {})
    for technique in list(techniques):
        if "." in technique:
            parent = technique.split(".")[0]
            techniques[parent] = max(techniques.get(parent, 0.0), params.evidence_parent)
    implied: dict[str, float] = {}
    for software, weight in sorted(evidence.items.get("software", {}).items()):
        for technique in sorted(profiles.software_techniques.get(software, ())):
            if technique not in techniques:
                implied[technique] = max(
                    implied.get(technique, 0.0), params.evidence_via_software * weight
                )
    items["technique_own"] = implied
    return items


def score(evidence: ResolvedEvidence, mats: Matrices) -> Scores:
    params = mats.params
    count = len(mats.profiles.actors)
    total = np.zeros(count)
    assessable = np.zeros(count, dtype=bool)
    parts: list[tuple[str, str, float, np.ndarray]] = []
    used: dict[str, Any] = {}
    prescaled = np.zeros(count)
    for kind, values in _expand(evidence, mats).items():
        vocab = mats.vocab[_VOCAB_OF[kind]]
        cols = [(vocab[item], item, w) for item, w in values.items() if w > 0 and item in vocab]
        if not cols:
            continue
        idx = np.array([c[0] for c in cols])
        weights = np.array([c[2] for c in cols])
        base = _VOCAB_OF[kind]
        matrix = mats.m[kind]
        mass = matrix.sum(axis=1)
        profiled = mats.n[kind] > 0
        if base == "ioc":
            llr = _ioc_llr(matrix[:, idx], params) * weights * params.weight[base]
            total += llr.sum(axis=1)
            prescaled += llr.sum(axis=1)
            assessable |= profiled
            parts.extend((base, item, float(w), llr[:, j]) for j, (_, item, w) in enumerate(cols))
            continue
        column = matrix.sum(axis=0)
        # Background: the items' share of all profile mass (query likelihood, Dirichlet prior).
        q = (column[idx] + 0.5) / (column.sum() + 0.5 * matrix.shape[1])
        mu = params.mu[base]
        fit = matrix[:, idx] / np.maximum(mass, 1e-12)[:, None]
        if base in ("technique", "software") and params.translation > 0:
            lam = params.translation
            fit = (1 - lam) * fit + lam * _translation(mats, base, idx)
        prior = _nexus_prior(mats, matrix[:, idx], mass, unprofiled(mats, base), q)
        theta = (mass[:, None] * fit + mu * prior) / (mass[:, None] + mu)
        llr = np.log(theta / q) * weights * params.weight[base]
        # "Common" is judged by the share of profiled actors holding the item, not by q.
        share = (matrix[:, idx] >= 1.0).sum(axis=0) / max(int(profiled.sum()), 1)
        common = share >= params.common_share
        if common.any():
            # Shared tooling: between them, common items add at most common_cap per kind.
            positive = np.clip(llr[:, common], 0, None)
            excess = np.clip(positive.sum(axis=1) - params.common_cap, 0, None)
            scale = np.where(
                positive.sum(axis=1) > 0, 1 - excess / np.maximum(positive.sum(axis=1), 1e-12), 1
            )
            shared = llr[:, common]
            llr[:, common] = np.where(shared > 0, shared * scale[:, None], shared)
        unheld = matrix[:, idx].max(axis=0) <= 0
        if params.level_unheld and unheld.any() and profiled.any():
            # An item no actor is known to hold cannot tell known actors apart. Scored as it is,
            # its smoothing's length term only penalises large profiles: a campaign's new tools
            # would sink their own, well-documented author. It counts the same for every actor
            # (the median actor's miss), so it still speaks for unknown/other.
            llr[:, unheld] = np.median(llr[profiled][:, unheld], axis=0)
        total += llr.sum(axis=1)
        assessable |= profiled
        for j, (_, item, weight) in enumerate(cols):
            parts.append((base, item, float(weight), llr[:, j]))
    time = None
    if evidence.year is not None:
        time = _time_llr(evidence.year, mats)
        total += time
        used["first_seen"] = True
    scaled = {k: v for k, v in evidence.items.items() if k != "ioc"}
    items = sum(len(values) for values in scaled.values()) + (evidence.year is not None)
    return Scores(total, assessable, parts, time, used, max(items, 1), prescaled)


def _translation(mats: Matrices, kind: str, idx: np.ndarray) -> np.ndarray:
    """P(e | actor) through co-occurrence: the mean over the actor's techniques and software p
    of P(e | p), the share of p's co-holders' other `kind` items that are e. This is what lets
    evidence the profile does not hold verbatim still point at the actor."""
    offset = 0 if kind == "technique" else mats.m["technique"].shape[1]
    width = mats.m[kind].shape[1]
    block = slice(offset, offset + width)
    cols = idx + offset
    cooc_cols = mats.cooc[:, cols].copy()
    in_block = _in_block(offset, width, len(mats.cooc))
    row_total = mats.cooc[:, block].sum(axis=1) - mats.cooc.diagonal() * in_block
    for old, new in mats.edits:
        cooc_cols += new[:, None] * new[cols][None, :] - old[:, None] * old[cols][None, :]
        row_total += new * new[block].sum() - old * old[block].sum()
        row_total -= (new - old) * in_block
    diag = np.zeros_like(cooc_cols)
    diag[cols, np.arange(len(cols))] = 1.0
    cooc_cols = cooc_cols * (1 - diag)  # an item does not predict itself
    p_given = cooc_cols / np.maximum(row_total, 1.0)[:, None]
    held = mats.holdings()
    count = held.sum(axis=1)
    return (held @ p_given) / np.maximum(count, 1.0)[:, None]


def unprofiled(mats: Matrices, kind: str) -> np.ndarray:
    """Actors that nothing is known of for this kind of evidence. Techniques and software count
    together: a group ATT&CK documents without software is profiled, only not a tool user."""
    if kind in ("technique", "software"):
        return (mats.n["technique"] + mats.n["software"]) <= 0
    return mats.n[kind] <= 0


def _nexus_prior(
    mats: Matrices, columns: np.ndarray, mass: np.ndarray, unprofiled: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """actors x items: P(item | actor) for actors nothing is known of, as for a random known
    actor of their nexus (the mean of those actors' profiles, with nexus_scale pseudo-actors
    at the background q); q for everyone else, as for actors with no nexus. The mean, not the
    pooled mass: one prolific group's tools are not what every actor of its nexus uses."""
    scale = mats.params.nexus_scale
    onehot = mats.nexus_onehot
    prior = np.broadcast_to(q, columns.shape).copy()
    if scale is None or not onehot.size:
        return prior
    known = mass > 0
    fit = np.where(known[:, None], columns / np.maximum(mass, 1e-12)[:, None], 0.0)
    by_nexus = (onehot @ fit + scale * q) / (onehot @ known + scale)[:, None]
    members = (onehot.sum(axis=0) > 0) & unprofiled  # they hold nothing: not in their own mean
    prior[members] = (onehot.T @ by_nexus)[members]
    return prior


def _in_block(offset: int, width: int, size: int) -> np.ndarray:
    mask = np.zeros(size)
    mask[offset : offset + width] = 1.0
    return mask


def _ioc_llr(held: np.ndarray, params: Params) -> np.ndarray:
    """An observable is not drawn from a small vocabulary like techniques: the chance that an
    unrelated intrusion shows this exact IP, domain or hash is tiny, so a match is worth
    `ioc_match`:1, shared among the actors known to hold it. Infrastructure lists are never
    complete, so an actor without the value is not penalised."""
    holders = (held >= 1.0).sum(axis=0)
    return np.where(held >= 1.0, np.log1p(params.ioc_match / np.maximum(holders, 1)), 0.0)


def _time_llr(year: float, mats: Matrices) -> np.ndarray:
    """Inside an actor's known activity period (with a year's slack before and two after) the
    date is likelier than under the background spread of all actors; far outside, less likely."""
    first, last = mats.span[:, 0], mats.span[:, 1]
    known = ~np.isnan(first)
    if not known.any():  # no actor has dates (e.g. no ATT&CK): the date says nothing
        return np.zeros(len(first))
    lo_all, hi_all = np.nanmin(first), np.nanmax(last)
    background = max(hi_all - lo_all + 3, 1.0)
    width = np.where(known, (last - first) + 3, background)
    inside = known & (year >= first - 1) & (year <= last + 2)
    rho = mats.params.time_rho
    ratio = np.where(inside, rho * background / width + (1 - rho), (1 - rho) + rho * 0.1)
    llr = np.log(np.clip(ratio, 1e-6, None))
    return np.where(known, np.clip(llr, -1.5, 1.5), 0.0)
