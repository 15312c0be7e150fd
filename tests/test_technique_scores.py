"""Issue 12 item 1: the technique metrics in every view, the paired bootstrap, the plain baseline.

The toy case is computed by hand (see each view's comment); the bootstrap must give the same
interval for the same seed, since the bench's conclusions are quoted from it.
"""

from __future__ import annotations

import pytest
from sklearn.svm import LinearSVC

from threatscope.extract.plain_baseline import fit_plain_baseline
from threatscope.extract.technique_scores import (
    VIEWS,
    label_level,
    paired_bootstrap,
    parents,
    per_document_f1,
    score_views,
)
from threatscope.extract.training_data import NONE_LABEL, Example

PREDICTED = [{"T1059.001", "T1566", "T9999"}, {"T1486"}]
GOLD = [{"T1059", "T1566"}, {"T1486", "T1003.001"}]
SPACE = {"T1059", "T1566", "T1486", "T1003.001"}


def _f1(view: dict, scope: str) -> float:
    return view[scope]["f1"]


def test_views_on_a_hand_computed_toy_case() -> None:
    views = score_views(PREDICTED, GOLD, SPACE)
    assert tuple(views) == VIEWS
    # exact: doc 1 hits T1566 only (P 1/3, R 1/2, F1 0.4); doc 2 hits T1486 (P 1, R 1/2, F1 2/3);
    # pooled: 2 hits, 4 predicted, 4 gold.
    exact = views["exact"]
    assert exact["per_document_f1"] == pytest.approx([0.4, 2 / 3])
    assert exact["macro"] == pytest.approx({"precision": 2 / 3, "recall": 0.5, "f1": 8 / 15})
    assert exact["micro"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5})
    assert exact["documents"] == 2
    # parent: T1059.001 -> T1059 now hits (doc 1: P 2/3, R 1, F1 0.8); T1003.001 -> T1003 is
    # still missed (doc 2: F1 2/3); pooled 3 hits of 4 predicted, 4 gold.
    parent = views["parent"]
    assert parent["per_document_f1"] == pytest.approx([0.8, 2 / 3])
    assert _f1(parent, "macro") == pytest.approx(11 / 15)
    assert parent["micro"] == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 0.75})
    # closed exact: T1059.001 and T9999 are outside the label space, so doc 1 predicts T1566
    # only (P 1, R 1/2); pooled 2 hits of 2 predicted, 4 gold.
    closed = views["closed_exact"]
    assert closed["per_document_f1"] == pytest.approx([2 / 3, 2 / 3])
    assert closed["micro"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3})
    # closed parent: doc 1 predicts {T1059, T1566} = its gold; pooled 3 of 3 predicted, 4 gold.
    closed_parent = views["closed_parent"]
    assert closed_parent["per_document_f1"] == pytest.approx([1.0, 2 / 3])
    assert _f1(closed_parent, "macro") == pytest.approx(5 / 6)
    assert closed_parent["micro"] == pytest.approx({"precision": 1.0, "recall": 0.75, "f1": 6 / 7})


def test_per_document_f1_of_empty_sets_is_zero_like_micro_macro() -> None:
    assert per_document_f1([set(), {"T1"}], [set(), set()]) == [0.0, 0.0]
    assert score_views([set()], [set()], set())["exact"]["macro"]["f1"] == 0.0


def test_parents_and_label_level() -> None:
    assert parents({"T1059.001", "T1059", "T1566"}) == {"T1059", "T1566"}
    # AnnoCTR-like: 19 of 20 links are parents (95% >= 90%); TRAM2-like: half are sub-techniques.
    assert label_level([{f"T1{i:03d}" for i in range(19)} | {"T1059.001"}]) == "parent"
    assert label_level([{"T1059", "T1059.001"}]) == "exact"
    assert label_level([set()]) == "exact"


def test_paired_bootstrap_is_reproducible_with_a_seed() -> None:
    ours = [0.5, 0.7, 0.2, 0.9, 0.4, 0.6, 0.3, 0.8]
    theirs = [0.4, 0.5, 0.3, 0.6, 0.4, 0.5, 0.1, 0.6]
    first = paired_bootstrap(ours, theirs, resamples=2000, seed=7)
    assert first == paired_bootstrap(ours, theirs, resamples=2000, seed=7)
    assert first != paired_bootstrap(ours, theirs, resamples=2000, seed=8)
    assert first["mean_difference"] == pytest.approx(0.125)
    assert first["low"] < 0.125 < first["high"]
    assert first["low"] > -0.1 and first["high"] < 0.3
    assert (first["documents"], first["resamples"], first["seed"]) == (8, 2000, 7)


def test_paired_bootstrap_of_a_constant_difference_is_a_point() -> None:
    result = paired_bootstrap([0.5, 0.6, 0.7], [0.4, 0.5, 0.6], resamples=500)
    assert result["low"] == pytest.approx(0.1)
    assert result["high"] == pytest.approx(0.1)


def test_paired_bootstrap_needs_paired_scores() -> None:
    with pytest.raises(ValueError, match="paired scores"):
        paired_bootstrap([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="paired scores"):
        paired_bootstrap([], [])


def test_plain_baseline_is_a_linear_svc_and_never_predicts_none() -> None:
    texts = {
        "T1566.001": "the attackers sent spearphishing emails with a malicious attachment",
        "T1486": "the ransomware encrypts files and drops a ransom note",
        NONE_LABEL: "the company reported quarterly revenue growth to shareholders",
    }
    examples = [
        Example(f"{text} {n}", label, f"doc{n}", "toy")
        for label, text in texts.items()
        for n in range(3)
    ]
    baseline = fit_plain_baseline(examples)
    assert isinstance(baseline.classifier, LinearSVC)
    report = (
        "Spearphishing emails with a malicious attachment were sent. "
        "Quarterly revenue growth was reported to shareholders. "
        "The ransomware encrypts files and drops a ransom note."
    )
    assert baseline.predict(report) == {"T1566.001", "T1486"}
    assert baseline.predict("") == set()
