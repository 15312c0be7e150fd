"""How well a technique model finds the techniques of whole reports.

Datasets (under the shared data directory):

- `annoctr-dev`: the 16 AnnoCTR dev reports; gold = the ATT&CK techniques linked in each
  report's `links.jsonl` (entity_type TECHNIQUE). Only for reporting: nothing is tuned on it.
  Its label space (for the closed-set views) is the techniques linked in AnnoCTR *train*, so
  dev's own labels never shape the predictions.
- `annoctr-train-cv`: the cross-validation figures recorded when the model was trained.
- `tram2-cv`: TRAM2's training reports, each rebuilt from its sentences; 5-fold cross-validation
  grouped by report (`doc_title`), retraining on everything else each time (needs the store).
  Its label space is TRAM2's 50 techniques.

Scores are per document: micro (pooled over documents) and macro (mean of per-document
precision, recall and F1), in the exact, parent and closed-set views of
`threatscope.extract.technique_scores`; `label_level` says which level the dataset labels at
(AnnoCTR: parent), the view to read first. Published anchors: SciBERT on TRAM 0.666
per-document F1, CySecBERT on AnnoCTR 0.628, both closed-set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from threatscope.config import shared_data_dir
from threatscope.errors import ConfigError
from threatscope.extract.technique_scores import label_level, score_views
from threatscope.extract.techniques import TechniqueModel, extract_techniques
from threatscope.extract.training import build_training_set, fit_model, micro_macro
from threatscope.extract.training_data import Example, annoctr_documents

__all__ = [
    "DATASETS",
    "Predictor",
    "annoctr_dev_predictions",
    "evaluate_techniques",
    "tram2_cv_predictions",
    "views_of",
]

DATASETS = ("annoctr-dev", "annoctr-train-cv", "tram2-cv")
_CV_SOURCE = {"annoctr-train-cv": "annoctr", "tram2-cv": "tram2"}
_TRAM2_FOLDS = 5

# Report text -> the technique ids found in it.
Predictor = Callable[[str], set[str]]


def evaluate_techniques(
    model: TechniqueModel,
    dataset: str = "annoctr-dev",
    data_dir: Path | None = None,
    store: Any = None,
) -> dict[str, Any]:
    """Per-document precision, recall and F1 of `model` on `dataset` (see module docstring)."""
    data_dir = data_dir or shared_data_dir()
    if dataset == "annoctr-dev":
        # Predicted at the level AnnoCTR labels at (its train split says which).
        level = label_level([set(d.techniques) for d in annoctr_documents(data_dir, "train")])
        names, predicted, gold, space = annoctr_dev_predictions(
            lambda text: _predicted(model, text, level), data_dir
        )
        result = micro_macro(predicted, gold)
        result["per_document"] = [
            {"document": name, "gold": sorted(g), "predicted": sorted(p)}
            for name, p, g in zip(names, predicted, gold, strict=True)
        ]
        result |= views_of(predicted, gold, space)
    elif model.deciders and dataset in _CV_SOURCE:
        result = _report_model_cv(model, dataset)
    elif dataset == "annoctr-train-cv":
        cv = model.info.get("cross_validation")
        if not cv:
            raise ConfigError("this model was trained without AnnoCTR train: no CV figures")
        result = dict(cv)
    elif dataset == "tram2-cv":
        if store is None:
            raise ConfigError("tram2-cv retrains the model and needs the knowledge base")
        predicted, gold, space = tram2_cv_predictions(_refit(model), store, data_dir)
        result = {"folds": _TRAM2_FOLDS, **micro_macro(predicted, gold)}
        result |= views_of(predicted, gold, space)
    else:
        raise ConfigError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    return {"dataset": dataset, "threshold": float(model.threshold), **result}


def views_of(
    predicted: Sequence[set[str]], gold: Sequence[set[str]], label_space: set[str]
) -> dict[str, Any]:
    """The level the dataset labels at, the size of its label space and every view."""
    return {
        "label_level": label_level(gold),
        "label_space": len(label_space),
        "views": score_views(predicted, gold, label_space),
    }


def annoctr_dev_predictions(
    predict: Predictor, data_dir: Path
) -> tuple[list[str], list[set[str]], list[set[str]], set[str]]:
    """Report names, predicted and gold ids of AnnoCTR dev, and the train split's label space."""
    docs = annoctr_documents(data_dir, "dev")
    if not docs:
        raise ConfigError(f"no AnnoCTR dev split under {data_dir / 'text' / 'annoctr'}")
    space: set[str] = set()
    for doc in annoctr_documents(data_dir, "train"):
        space |= doc.techniques
    predicted = [predict(d.text) for d in docs]
    return [d.name for d in docs], predicted, [set(d.techniques) for d in docs], space


def tram2_cv_predictions(
    fit: Callable[[list[Example], dict[str, str]], Predictor], store: Any, data_dir: Path
) -> tuple[list[set[str]], list[set[str]], set[str]]:
    """Predicted and gold ids of every TRAM2 report, each predicted by a model `fit` on the
    other folds' reports (and all non-TRAM2 examples), and TRAM2's label space."""
    names, examples, _ = build_training_set(store, data_dir)
    reports: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        if example.source == "tram2":
            reports[example.group].append(example)
    if not reports:
        raise ConfigError(f"no TRAM2 training data under {data_dir / 'text' / 'tram2'}")
    titles = sorted(reports)
    predicted: list[set[str]] = []
    gold: list[set[str]] = []
    for fold in range(_TRAM2_FOLDS):
        held = set(titles[fold::_TRAM2_FOLDS])
        predict = fit([e for e in examples if e.group not in held], names)
        for title in sorted(held):
            sentences = reports[title]
            # A report is rebuilt from its annotated sentences, one paragraph each.
            predicted.append(predict("\n\n".join(e.text for e in sentences)))
            gold.append({e.label for e in sentences})
    space = {e.label for sentences in reports.values() for e in sentences}
    return predicted, gold, space


def _predicted(model: TechniqueModel, text: str, level: str = "both") -> set[str]:
    return {m.technique_id for m in extract_techniques(text, model, level=level)}


def _report_model_cv(model: TechniqueModel, dataset: str) -> dict[str, Any]:
    """The out-of-fold predictions a report-level model recorded when it was trained: each
    report predicted by a sentence classifier and a decider that never saw it."""
    source = _CV_SOURCE[dataset]
    cv = (model.info.get("cross_validation") or {}).get(source)
    if not cv:
        raise ConfigError(f"this model was trained without {source} reports: no CV figures")
    rows = cv["per_document"]
    predicted = [set(r["predicted"]) for r in rows]
    gold = [set(r["gold"]) for r in rows]
    space = set().union(*gold) if gold else set()
    return {
        "folds": cv["folds"],
        "level": cv["level"],
        **micro_macro(predicted, gold),
        "per_document": rows,
        **views_of(predicted, gold, space),
    }


def _refit(model: TechniqueModel) -> Callable[[list[Example], dict[str, str]], Predictor]:
    """Fit `model`'s kind of model (method, threshold, seed, aggregation) on other examples."""

    def fit(examples: list[Example], names: dict[str, str]) -> Predictor:
        fitted = fit_model(
            examples,
            names,
            model.threshold,
            model.info.get("seed", 0),
            model.info.get("method", "nearest"),
        )
        fitted.one_vote, fitted.add_parents = model.one_vote, model.add_parents
        return lambda text: _predicted(fitted, text)

    return fit
