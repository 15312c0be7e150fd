"""Score predicted technique sets against gold ones the way the field reports them.

Four views of the same predictions, each with per-document mean ("macro") and pooled ("micro")
precision, recall and F1:

- `exact`: ids as predicted and as labelled (`T1059.001` != `T1059`);
- `parent`: every id cut to its technique (`T1059.001` -> `T1059`) on both sides, the level
  AnnoCTR labels at (1,899 of its 1,915 train links are parent techniques);
- `closed_exact` / `closed_parent`: predictions restricted to the dataset's label space first,
  as the published anchors (SciBERT on TRAM2 0.666, CySecBERT on AnnoCTR 0.628) are scored: a
  closed-set classifier cannot predict a technique the dataset never labels.

`paired_bootstrap` gives the interval of the per-document F1 difference of two models scored
on the same documents: AnnoCTR dev has 16 reports, so small differences are noise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from threatscope.extract.training import micro_macro

__all__ = [
    "VIEWS",
    "label_level",
    "paired_bootstrap",
    "parents",
    "per_document_f1",
    "score_views",
]

VIEWS = ("exact", "parent", "closed_exact", "closed_parent")
# A dataset whose gold ids are at least this share parent techniques "labels at parent level".
_PARENT_SHARE = 0.9


def parents(ids: Iterable[str]) -> set[str]:
    """`{"T1059.001", "T1566"}` -> `{"T1059", "T1566"}`."""
    return {i.split(".")[0] for i in ids}


def label_level(gold: Sequence[set[str]]) -> str:
    """ "parent" when the gold ids are (nearly) all parent techniques, else "exact"."""
    ids = [i for g in gold for i in g]
    if not ids:
        return "exact"
    share = sum("." not in i for i in ids) / len(ids)
    return "parent" if share >= _PARENT_SHARE else "exact"


def per_document_f1(predicted: Sequence[set[str]], gold: Sequence[set[str]]) -> list[float]:
    """F1 of each document (0 when both sets are empty: nothing was there to find)."""
    scores = []
    for p, g in zip(predicted, gold, strict=True):
        hit = len(p & g)
        scores.append(2 * hit / (len(p) + len(g)) if hit else 0.0)
    return scores


def score_views(
    predicted: Sequence[set[str]], gold: Sequence[set[str]], label_space: Iterable[str]
) -> dict[str, Any]:
    """Every view of VIEWS: micro, macro, documents and each document's F1."""
    space = set(label_space)
    parent_space = parents(space)
    pairs = {
        "exact": (list(predicted), list(gold)),
        "parent": ([parents(p) for p in predicted], [parents(g) for g in gold]),
        "closed_exact": ([p & space for p in predicted], list(gold)),
        "closed_parent": (
            [parents(p) & parent_space for p in predicted],
            [parents(g) for g in gold],
        ),
    }
    views: dict[str, Any] = {}
    for view, (p, g) in pairs.items():
        views[view] = {**micro_macro(p, g), "per_document_f1": per_document_f1(p, g)}
    return views


def paired_bootstrap(
    ours: Sequence[float], theirs: Sequence[float], resamples: int = 10_000, seed: int = 0
) -> dict[str, Any]:
    """Mean of `ours - theirs` over documents and its 95% percentile bootstrap interval,
    documents resampled with replacement (the same draw for both models: paired)."""
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"paired scores of the same documents needed, got {a.shape}, {b.shape}")
    difference = a - b
    draws = np.random.default_rng(seed).integers(0, len(a), size=(resamples, len(a)))
    means = difference[draws].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {
        "mean_difference": float(difference.mean()),
        "low": float(low),
        "high": float(high),
        "documents": len(a),
        "resamples": resamples,
        "seed": seed,
    }
