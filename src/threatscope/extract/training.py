"""Train the ATT&CK technique model from the knowledge base (and the shared corpora if present).

`train_model(store)` needs only ATT&CK in the store. With `data_dir` holding TRAM2 and AnnoCTR
*train*, their sentences join the training set and the default method, "report", learns report
deciders from out-of-fold scores of those labelled reports (`report_training`), recording each
report's out-of-fold prediction as its cross-validation (never touching AnnoCTR dev). Without
labelled reports it falls back to the "linear" sentence model, whose threshold is the one
cross-validation chose when it was designed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from threatscope.errors import ConfigError
from threatscope.extract.report_training import FOLDS, fit_with_deciders
from threatscope.extract.techniques import TechniqueModel, extract_techniques
from threatscope.extract.training_data import (
    NONE_LABEL,
    AnnoctrDocument,
    Example,
    annoctr_documents,
    annoctr_examples,
    attack_examples,
    load_catalog,
    tram2_examples,
)

__all__ = [
    "DEFAULT_METHOD",
    "DEFAULT_THRESHOLD",
    "METHODS",
    "build_training_set",
    "fit_model",
    "micro_macro",
    "train_model",
]

METHODS = ("report", "nearest", "linear", "ensemble")
# "report" needs labelled reports (AnnoCTR train, TRAM2); without them it falls back to this.
DEFAULT_METHOD = "report"
_FALLBACK_METHOD = "linear"
# The thresholds 5-fold CV on AnnoCTR train chose for the full training set (every vote,
# parents added); used when there is nothing to cross-validate on (ATT&CK alone).
DEFAULT_THRESHOLDS = {"nearest": 0.275, "linear": 0.5, "ensemble": 0.3}
DEFAULT_THRESHOLD = DEFAULT_THRESHOLDS[_FALLBACK_METHOD]
_LINEAR_EPOCHS = 4
# Plain floats: a numpy threshold would leak into every confidence and the model's JSON info.
_THRESHOLDS = tuple(round(float(x), 2) for x in np.arange(0.05, 0.75, 0.025))
_CV_FOLDS = 5


def build_training_set(
    store: Any, data_dir: Path | None
) -> tuple[dict[str, str], list[Example], list[AnnoctrDocument]]:
    """Technique names, the training sentences and the AnnoCTR train reports (for CV)."""
    catalog = load_catalog(store)
    if not catalog.names:
        raise ConfigError(
            "the knowledge base holds no ATT&CK Enterprise techniques to learn;"
            " run `threatscope sync` or `threatscope import attack FILE` first"
        )
    examples = attack_examples(store, catalog)
    docs: list[AnnoctrDocument] = []
    if data_dir is not None:
        examples += tram2_examples(data_dir, catalog)
        docs = annoctr_documents(data_dir, "train")
        examples += annoctr_examples(docs, catalog)
    return catalog.names, examples, docs


def fit_model(
    examples: Sequence[Example],
    names: dict[str, str],
    threshold: float,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
) -> TechniqueModel:
    """Fit one of METHODS on `examples`: "nearest" (gated nearest example), "linear" (the
    TF-IDF + one-vs-rest linear baseline) or "ensemble" (the mean of both)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [e.text for e in examples]
    labels = np.array([e.label for e in examples])
    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        ngram_range=(1, 2),
        min_df=2,
        max_df=0.5,
        strip_accents="unicode",
        stop_words="english",
        dtype=np.float32,
    )
    matrix = vectorizer.fit_transform(texts)
    positive = labels != NONE_LABEL
    classes = np.unique(labels[positive])
    model = TechniqueModel(vectorizer=vectorizer, classes=classes, names=names, threshold=threshold)
    if method in ("nearest", "ensemble"):
        _fit_nearest(model, matrix, labels, positive, seed)
    if method in ("linear", "ensemble"):
        _fit_linear(model, matrix, labels, seed)
        model.linear_weight = 1.0 if method == "linear" else 0.5
    model.info["method"] = method
    return model


def _fit_nearest(
    model: TechniqueModel, matrix: Any, labels: np.ndarray, positive: np.ndarray, seed: int
) -> None:
    from sklearn.linear_model import LogisticRegression

    if positive.any() and not positive.all():
        gate = LogisticRegression(C=4.0, max_iter=1000, class_weight="balanced", random_state=seed)
        model.gate = gate.fit(matrix, positive)
    # Rows sorted by technique (stable, so ties keep input order) let reduceat take each
    # technique's best similarity in one pass.
    order = np.flatnonzero(positive)
    order = order[np.argsort(labels[order], kind="stable")]
    classes, starts = np.unique(labels[order], return_index=True)
    assert (classes == model.classes).all()
    model.examples = sp.csr_matrix(matrix[order])
    model.class_starts = starts


def _fit_linear(model: TechniqueModel, matrix: Any, labels: np.ndarray, seed: int) -> None:
    from sklearn.linear_model import SGDClassifier

    # Modified Huber loss gives probabilities; a fixed number of epochs (tol=None) keeps the
    # training time and the result independent of convergence noise.
    linear = SGDClassifier(
        loss="modified_huber", alpha=5e-5, max_iter=_LINEAR_EPOCHS, tol=None, random_state=seed
    )
    linear.fit(matrix, labels)
    column = {label: i for i, label in enumerate(linear.classes_)}
    model.linear = linear
    model.linear_columns = np.array([column[c] for c in model.classes])


def train_model(
    store: Any,
    data_dir: Path | None = None,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    one_vote: bool = False,
    add_parents: bool = True,
    threshold: float | None = None,
) -> TechniqueModel:
    """Train deterministically: the same store, data and seed give the same model.

    `threshold` given skips the cross-validation that would otherwise choose it.
    """
    started = time.perf_counter()
    if not 0 <= seed < 2**32:  # what scikit-learn's random_state accepts
        raise ConfigError(f"--seed must be between 0 and {2**32 - 1}, got {seed}")
    if method not in METHODS:
        raise ConfigError(f"unknown technique model {method!r}: use one of {', '.join(METHODS)}")
    names, examples, docs = build_training_set(store, data_dir)
    if method == "report":
        if len(docs) >= FOLDS:
            return _train_report_model(names, examples, docs, seed, started)
        method = _FALLBACK_METHOD
    cv = None
    if threshold is None:
        threshold = DEFAULT_THRESHOLDS[method]
        if len(docs) >= _CV_FOLDS:
            threshold, cv = _cv_threshold(
                examples, names, docs, seed, method, one_vote, add_parents
            )
    model = fit_model(examples, names, threshold, seed, method)
    model.one_vote, model.add_parents = one_vote, add_parents
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.source] = counts.get(example.source, 0) + 1
    model.info = {
        "method": method,
        "one_vote": one_vote,
        "add_parents": add_parents,
        "seed": seed,
        "examples": counts,
        "techniques": len(model.classes),
        "threshold": threshold,
        "cross_validation": cv,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return model


def _train_report_model(
    names: dict[str, str],
    examples: list[Example],
    docs: list[AnnoctrDocument],
    seed: int,
    started: float,
) -> TechniqueModel:
    classifier, deciders, cv = fit_with_deciders(examples, docs, seed)
    model = TechniqueModel(
        vectorizer=classifier.vectorizer,
        classes=np.array([c for c in classifier.classes if c != NONE_LABEL]),
        names=names,
        threshold=0.5,
        sentence_classifier=classifier,
        deciders=deciders,
    )
    model.info = {
        "method": "report",
        "seed": seed,
        "examples": _source_counts(examples),
        "techniques": len(model.classes),
        # A report-level model has one cut per level, chosen on out-of-fold training reports.
        "threshold": 0.5,
        "deciders": {
            level: {"threshold": d.threshold, "reports": d.reports}
            for level, d in deciders.items()
        },
        "cross_validation": cv,
        "seconds": round(time.perf_counter() - started, 2),
    }
    return model


def _source_counts(examples: Sequence[Example]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.source] = counts.get(example.source, 0) + 1
    return counts


def _cv_threshold(
    examples: list[Example],
    names: dict[str, str],
    docs: list[AnnoctrDocument],
    seed: int,
    method: str,
    one_vote: bool,
    add_parents: bool,
) -> tuple[float, dict[str, Any]]:
    """The threshold with the best micro F1 over held-out AnnoCTR train reports."""
    folds = [docs[i::_CV_FOLDS] for i in range(_CV_FOLDS)]
    predictions: dict[float, list[set[str]]] = {t: [] for t in _THRESHOLDS}
    gold: list[set[str]] = []
    for held_out in folds:
        held = {f"annoctr:{d.name}" for d in held_out}
        held_in = [e for e in examples if e.group not in held]
        model = fit_model(held_in, names, 0.0, seed, method)
        model.one_vote, model.add_parents = one_vote, add_parents
        for doc in held_out:
            gold.append(set(doc.techniques))
            matches = extract_techniques(doc.text, model, threshold=min(_THRESHOLDS))
            scored = [(m.technique_id, m.sentences[0].score) for m in matches]
            for t in _THRESHOLDS:
                predictions[t].append({tid for tid, score in scored if score >= t})
    table = {t: micro_macro(predictions[t], gold) for t in _THRESHOLDS}
    best = max(_THRESHOLDS, key=lambda t: (table[t]["micro"]["f1"], -t))
    return best, {"folds": _CV_FOLDS, "threshold": best, **table[best]}


def micro_macro(predicted: Sequence[set[str]], gold: Sequence[set[str]]) -> dict[str, Any]:
    """Per-document set scores: micro (pooled counts) and macro (mean over documents)."""
    tp = fp = fn = 0
    per_doc = []
    for p, g in zip(predicted, gold, strict=True):
        hit = len(p & g)
        tp, fp, fn = tp + hit, fp + len(p - g), fn + len(g - p)
        per_doc.append(_prf(hit, len(p), len(g)))
    micro = _prf(tp, tp + fp, tp + fn)
    macro = {k: float(np.mean([d[k] for d in per_doc])) if per_doc else 0.0 for k in micro}
    return {"micro": micro, "macro": macro, "documents": len(per_doc)}


def _prf(hit: int, predicted: int, gold: int) -> dict[str, float]:
    precision = hit / predicted if predicted else 0.0
    recall = hit / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}
