"""A technique model beside the plain TF-IDF + LinearSVC baseline, on the same documents.

`compare_with_baseline` fits the baseline (`plain_baseline`) on the same training sentences the
model learnt from, scores both on one dataset of `evaluate` and gives, per view, both models'
per-document and micro F1 and the paired bootstrap 95% interval of the per-document F1
difference (model - baseline). For the CV datasets the baseline is refitted on the same report
folds the report-level model was cross-validated on (every example but the fold's reports).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from threatscope.errors import ConfigError
from threatscope.extract.evaluate import annoctr_dev_predictions, evaluate_techniques, views_of
from threatscope.extract.plain_baseline import fit_plain_baseline
from threatscope.extract.report_training import FOLDS, labelled_reports, report_folds
from threatscope.extract.technique_scores import VIEWS, paired_bootstrap
from threatscope.extract.techniques import TechniqueModel
from threatscope.extract.training import build_training_set
from threatscope.extract.training_data import AnnoctrDocument, Example

__all__ = ["baseline_cv_predictions", "compare_views", "compare_with_baseline"]

_RESAMPLES = 10_000


def compare_with_baseline(
    model: TechniqueModel, dataset: str, data_dir: Path, store: Any, seed: int = 0
) -> dict[str, Any]:
    """The model's evaluation on `dataset` and, per view, the baseline beside it."""
    if dataset not in ("annoctr-dev", "annoctr-train-cv", "tram2-cv"):
        raise ConfigError(f"no baseline comparison for dataset {dataset!r}")
    if dataset != "annoctr-dev" and not model.deciders:
        raise ConfigError(
            "the baseline is compared on CV folds only for a report-level model;"
            " run `threatscope train` with the shared data"
        )
    ours = evaluate_techniques(model, dataset, data_dir, store)
    _, examples, docs = build_training_set(store, data_dir)
    if dataset == "annoctr-dev":
        baseline = fit_plain_baseline(examples)
        _, predicted, gold, space = annoctr_dev_predictions(baseline.predict, data_dir)
        theirs = views_of(predicted, gold, space)
    else:
        cv = baseline_cv_predictions(examples, docs)
        rows = ours["per_document"]
        gold = [set(r["gold"]) for r in rows]
        theirs = views_of([cv[r["document"]] for r in rows], gold, set().union(*gold))
    return {**ours, "baseline": compare_views(ours, theirs, seed)}


def baseline_cv_predictions(
    examples: list[Example], docs: list[AnnoctrDocument]
) -> dict[str, set[str]]:
    """Every labelled report predicted by a baseline fitted without its fold."""
    reports = labelled_reports(examples, docs)
    folds = report_folds(reports)
    predicted: dict[str, set[str]] = {}
    for fold in range(FOLDS):
        held = {g for g, f in folds.items() if f == fold}
        baseline = fit_plain_baseline([e for e in examples if e.group not in held])
        for report in reports:
            if report.group in held:
                predicted[report.group] = baseline.predict(report.text)
    return predicted


def compare_views(ours: dict[str, Any], theirs: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """Per view: both models' per-document and micro F1, and the interval of the difference."""
    table: dict[str, Any] = {"label_level": ours["label_level"], "documents": 0}
    for view in VIEWS:
        a, b = ours["views"][view], theirs["views"][view]
        table["documents"] = a["documents"]
        interval = paired_bootstrap(
            a["per_document_f1"], b["per_document_f1"], resamples=_RESAMPLES, seed=seed
        )
        table[view] = {
            "shipped": {"per_doc_f1": _r(a["macro"]["f1"]), "micro_f1": _r(a["micro"]["f1"])},
            "baseline": {"per_doc_f1": _r(b["macro"]["f1"]), "micro_f1": _r(b["micro"]["f1"])},
            "per_doc_f1_difference": {
                k: _r(interval[k]) for k in ("mean_difference", "low", "high")
            },
        }
    return table


def _r(value: float) -> float:
    return round(float(value), 3)
