"""Train the report-level technique model: a sentence classifier and report deciders.

The sentence classifier is a linear SVM over word uni- and bigram TF-IDF with a "none" class,
the same family as the plain baseline. What makes the difference is what comes after it (see
`threatscope.extract.report_decision`): the labelled reports (AnnoCTR train, TRAM2) are split
into five folds by report; each fold is scored by a sentence classifier trained without it,
and the deciders learn from those out-of-fold scores. Every labelled report is thereby also
predicted once by a model that never saw it (sentence classifier and decider both), which is
the cross-validation `eval techniques --dataset tram2-cv` and `annoctr-train-cv` report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from threatscope.extract.report_decision import LEVELS, ReportDecider, ScoredReport, fit_decider
from threatscope.extract.techniques_text import split_sentences
from threatscope.extract.training_data import AnnoctrDocument, Example

__all__ = [
    "FOLDS",
    "LabelledReport",
    "SentenceClassifier",
    "fit_sentence_classifier",
    "fit_with_deciders",
    "labelled_reports",
    "report_folds",
]

FOLDS = 5
# Weights under this are dropped: the dense model is ~350 MB, the pruned one fits the 50 MB
# budget, and the decisions it changes are measured in `bench/bench_techniques.py`.
_PRUNE_BELOW = 3e-3


@dataclass(frozen=True, slots=True)
class LabelledReport:
    group: str  # the examples' group: "annoctr:<name>", "tram2:<title>"
    source: str
    text: str
    gold: frozenset[str]


@dataclass(slots=True)
class SentenceClassifier:
    """Linear scores of sentences against every class (techniques and "none")."""

    vectorizer: Any  # a fitted sklearn TfidfVectorizer
    weights: Any  # scipy CSR (classes x features), float32
    bias: np.ndarray  # (classes,)
    classes: np.ndarray  # str labels, "none" among them

    def decisions(self, sentences: Sequence[str]) -> np.ndarray:
        if not sentences:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        query = self.vectorizer.transform(sentences)
        return np.asarray((query @ self.weights.T).toarray() + self.bias, dtype=np.float32)


def fit_sentence_classifier(examples: Sequence[Example], seed: int = 0) -> SentenceClassifier:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, dtype=np.float32)
    matrix = vectorizer.fit_transform([e.text for e in examples])
    # tol 1e-3 instead of 1e-4: a third less time, decisions measured the same.
    svm = LinearSVC(random_state=seed, tol=1e-3)
    svm.fit(matrix, [e.label for e in examples])
    dense, bias = svm.coef_, svm.intercept_
    if len(svm.classes_) == 2:  # scikit-learn keeps one row, for the second class
        dense, bias = np.vstack([-dense, dense]), np.concatenate([-bias, bias])
    weights = sp.csr_matrix(np.where(np.abs(dense) >= _PRUNE_BELOW, dense, 0).astype(np.float32))
    return SentenceClassifier(
        vectorizer, weights, bias.astype(np.float32), np.array([str(c) for c in svm.classes_])
    )


def labelled_reports(
    examples: Sequence[Example], docs: Sequence[AnnoctrDocument]
) -> list[LabelledReport]:
    """AnnoCTR train reports as written, TRAM2 reports rebuilt from their annotated sentences
    (one paragraph each, as `tram2_cv_predictions` does)."""
    reports = [
        LabelledReport(f"annoctr:{d.name}", "annoctr", d.text, frozenset(d.techniques))
        for d in docs
    ]
    tram: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        if example.source == "tram2":
            tram[example.group].append(example)
    for group in sorted(tram):
        sentences = tram[group]
        reports.append(
            LabelledReport(
                group,
                "tram2",
                "\n\n".join(e.text for e in sentences),
                frozenset(e.label for e in sentences),
            )
        )
    return reports


def report_folds(reports: Sequence[LabelledReport]) -> dict[str, int]:
    """Report group -> fold: each source's reports in sorted order, dealt round-robin (TRAM2's
    titles fall as `tram2_cv_predictions` deals them)."""
    folds: dict[str, int] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    for report in reports:
        by_source[report.source].append(report.group)
    for groups in by_source.values():
        for i, group in enumerate(sorted(groups)):
            folds[group] = i % FOLDS
    return folds


def _score(classifier: SentenceClassifier, report: LabelledReport) -> ScoredReport:
    sentences = [s for _, _, s in split_sentences(report.text)]
    return ScoredReport(report.group, report.source, classifier.decisions(sentences), report.gold)


def _level_of(reports: Sequence[ScoredReport]) -> str:
    from threatscope.extract.technique_scores import label_level

    return label_level([set(r.gold) for r in reports])


def fit_with_deciders(
    examples: Sequence[Example], docs: Sequence[AnnoctrDocument], seed: int = 0
) -> tuple[SentenceClassifier, dict[str, ReportDecider], dict[str, Any]]:
    """The sentence classifier on every example, a decider per level the labelled reports
    label at, and every labelled report's out-of-fold prediction at its source's level."""
    reports = labelled_reports(examples, docs)
    folds = report_folds(reports)
    scored: list[ScoredReport] = []
    classes: np.ndarray | None = None
    for fold in range(FOLDS):
        held = {g for g, f in folds.items() if f == fold}
        fold_model = fit_sentence_classifier([e for e in examples if e.group not in held], seed)
        if classes is not None and not np.array_equal(classes, fold_model.classes):
            raise ValueError("a CV fold lost a class: every technique needs ATT&CK examples")
        classes = fold_model.classes
        scored += [_score(fold_model, r) for r in reports if r.group in held]
    assert classes is not None
    by_level: dict[str, list[ScoredReport]] = defaultdict(list)
    level_of_source: dict[str, str] = {}
    for source in sorted({r.source for r in scored}):
        of_source = [r for r in scored if r.source == source]
        level_of_source[source] = _level_of(of_source)
        by_level[level_of_source[source]] += of_source
    deciders = {
        level: decider
        for level in LEVELS
        if by_level[level]
        and (decider := fit_decider(by_level[level], classes, level, seed)) is not None
    }
    cross_validation = _cross_validate(scored, folds, classes, level_of_source, by_level, seed)
    return fit_sentence_classifier(examples, seed), deciders, cross_validation


def _cross_validate(
    scored: Sequence[ScoredReport],
    folds: dict[str, int],
    classes: np.ndarray,
    level_of_source: dict[str, str],
    by_level: dict[str, list[ScoredReport]],
    seed: int,
) -> dict[str, Any]:
    """Each report predicted by a decider fitted without its fold, at its source's level."""
    result: dict[str, Any] = {}
    for source, level in level_of_source.items():
        rows: list[dict[str, Any]] = []
        for fold in range(FOLDS):
            train = [r for r in by_level[level] if folds[r.group] != fold]
            decider = fit_decider(train, classes, level, seed) if train else None
            for report in scored:
                if report.source == source and folds[report.group] == fold:
                    found = decider.predict(report.scores, classes) if decider else set()
                    rows.append(
                        {
                            "document": report.group,
                            "gold": sorted(report.gold),
                            "predicted": sorted(found),
                        }
                    )
        rows.sort(key=lambda row: row["document"])
        result[source] = {"level": level, "folds": FOLDS, "per_document": rows}
    return result
