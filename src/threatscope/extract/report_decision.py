"""Which techniques a whole report describes, decided from its sentences' classifier scores.

A sentence classifier (one-vs-rest linear, with a "none" class) scores every sentence against
every technique. Taking each sentence's best label, as the plain baseline does, throws away
what the report as a whole says: a technique two sentences point at is likelier than one a
single borderline sentence does, and some techniques are in most labelled reports while others
are in none. A `ReportDecider` is a small logistic regression over a handful of such report-level
features per candidate technique, learned from labelled reports scored out-of-fold (models that
never saw them), so it learns how much the classifier's scores on *unseen* text are worth.

Two levels, because datasets label at different levels and a report's reader wants both:
`exact` ids (as TRAM2 labels: `T1059.003`) and `parent` techniques (as AnnoCTR labels: 1,899 of
its 1,915 train links are parent techniques), where a parent's evidence pools its sub-techniques.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "LEVELS",
    "ReportDecider",
    "ScoredReport",
    "candidate_features",
    "fit_decider",
    "label_prior",
]

LEVELS = ("exact", "parent")
# A technique whose best sentence scores below this is not a candidate: nothing points at it.
_CANDIDATE_FLOOR = -0.6
_THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.1, 0.8, 0.05))
_PRIOR_FLOOR = 1e-3


@dataclass(frozen=True, slots=True)
class ScoredReport:
    """A labelled report scored by a sentence model that never saw it."""

    group: str  # e.g. "annoctr:<name>" or a TRAM2 title
    source: str  # "annoctr", "tram2"
    scores: np.ndarray  # (sentences x classes) decision values
    gold: frozenset[str]


def _parent(attack_id: str) -> str:
    return attack_id.split(".")[0]


def label_prior(golds: Sequence[frozenset[str] | set[str]], level: str) -> dict[str, float]:
    """Share of labelled reports that hold each technique (at `level`)."""
    counts: Counter[str] = Counter()
    for gold in golds:
        counts.update({_parent(i) for i in gold} if level == "parent" else set(gold))
    return {k: v / len(golds) for k, v in counts.items()} if golds else {}


def candidate_features(
    scores: np.ndarray, classes: np.ndarray, level: str, prior: dict[str, float]
) -> tuple[list[str], np.ndarray, list[np.ndarray]]:
    """Candidate ids, their feature rows and, per candidate, the score columns it pools.

    Features: log(1 + sentences voting for it), its best score, its best margin over the
    sentence's other labels, log(1 + its summed positive scores), log(1 + sentences where it is
    among the top three), log of its prior and whether labelled reports ever hold it.
    """
    keep = classes != "none"
    if not len(scores):
        return [], np.zeros((0, 7)), []
    # Padded so that a model of two classes (one technique and "none") has a second and third.
    ordered = np.sort(np.pad(scores, ((0, 0), (2, 0)), constant_values=-np.inf), axis=1)
    best, second, third = ordered[:, -1:], ordered[:, -2:-1], ordered[:, -3:-2]
    votes = np.bincount(scores.argmax(axis=1), minlength=len(classes)).astype(float)
    margin = (scores - np.where(scores >= best, second, best)).max(axis=0)
    top_score = scores.max(axis=0)
    positive = np.clip(scores, 0, None).sum(axis=0)
    top3 = (scores >= third).sum(axis=0).astype(float)
    columns = [np.array([j]) for j in np.flatnonzero(keep)]
    ids = [str(classes[c[0]]) for c in columns]
    if level == "parent":
        families: dict[str, list[int]] = {}
        for c in columns:
            families.setdefault(_parent(str(classes[c[0]])), []).append(int(c[0]))
        ids = sorted(families)
        columns = [np.array(families[i]) for i in ids]
    rows = np.array(
        [
            [
                votes[c].sum(),
                top_score[c].max(),
                margin[c].max(),
                positive[c].sum(),
                top3[c].sum(),
            ]
            for c in columns
        ]
    )
    pr = np.array([prior.get(i, 0.0) for i in ids])
    features = np.column_stack(
        [
            np.log1p(rows[:, 0]),
            rows[:, 1],
            rows[:, 2],
            np.log1p(rows[:, 3]),
            np.log1p(rows[:, 4]),
            np.log(pr + _PRIOR_FLOOR),
            (pr > 0).astype(float),
        ]
    )
    chosen = np.flatnonzero(rows[:, 1] > _CANDIDATE_FLOOR)
    return [ids[i] for i in chosen], features[chosen], [columns[i] for i in chosen]


@dataclass(slots=True)
class ReportDecider:
    """P(technique in report | report features), and the cut chosen on the training reports."""

    level: str
    classifier: Any  # a fitted sklearn LogisticRegression
    prior: dict[str, float]
    threshold: float
    reports: int  # labelled reports it learned from

    def decide(
        self, scores: np.ndarray, classes: np.ndarray, threshold: float | None = None
    ) -> list[tuple[str, float, np.ndarray]]:
        """(id, probability, pooled columns) of every candidate at or over the threshold."""
        ids, features, columns = candidate_features(scores, classes, self.level, self.prior)
        if not ids:
            return []
        cut = self.threshold if threshold is None else threshold
        probabilities = self.classifier.predict_proba(features)[:, 1]
        return [
            (i, float(p), c)
            for i, p, c in zip(ids, probabilities, columns, strict=True)
            if p >= cut
        ]

    def predict(self, scores: np.ndarray, classes: np.ndarray) -> set[str]:
        return {i for i, _, _ in self.decide(scores, classes)}


def fit_decider(
    reports: Sequence[ScoredReport], classes: np.ndarray, level: str, seed: int = 0
) -> ReportDecider | None:
    """Learn the decider from out-of-fold scored reports; its cut maximises the mean
    per-report F1 on them. None when they cannot teach it: no candidate was ever right, or
    every one was."""
    from sklearn.linear_model import LogisticRegression

    prior = label_prior([r.gold for r in reports], level)
    golds = [{_parent(i) for i in r.gold} if level == "parent" else set(r.gold) for r in reports]
    blocks, targets = [], []
    for report, gold in zip(reports, golds, strict=True):
        ids, features, _ = candidate_features(report.scores, classes, level, prior)
        blocks.append(features)
        targets += [i in gold for i in ids]
    if len(set(targets)) < 2:
        return None
    classifier = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    classifier.fit(np.vstack(blocks), np.array(targets))
    decider = ReportDecider(level, classifier, prior, 0.5, len(reports))
    # Every candidate's probability once, then each cut is a comparison.
    scored = [decider.decide(r.scores, classes, threshold=0.0) for r in reports]

    def mean_f1(cut: float) -> float:
        total = 0.0
        for found, gold in zip(scored, golds, strict=True):
            predicted = {i for i, p, _ in found if p >= cut}
            hit = len(predicted & gold)
            total += 2 * hit / (len(predicted) + len(gold)) if hit else 0.0
        return total / len(golds)

    decider.threshold = max(_THRESHOLDS, key=lambda t: (mean_f1(t), -t))
    return decider
