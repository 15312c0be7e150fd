"""How well a technique model finds the techniques of whole reports.

Datasets (under the shared data directory):

- `annoctr-dev`: the 16 AnnoCTR dev reports; gold = the ATT&CK techniques linked in each
  report's `links.jsonl` (entity_type TECHNIQUE). Only for reporting: nothing is tuned on it.
- `annoctr-train-cv`: the cross-validation figures recorded when the model was trained.
- `tram2-cv`: TRAM2's training reports, each rebuilt from its sentences; 5-fold cross-validation
  grouped by report (`doc_title`), retraining on everything else each time (needs the store).

Scores are per document: micro (pooled over documents) and macro (mean of per-document
precision, recall and F1). Published anchors: SciBERT on TRAM 0.666 per-document F1,
CySecBERT on AnnoCTR 0.628.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from threatscope.config import shared_data_dir
from threatscope.errors import ConfigError
from threatscope.extract.techniques import TechniqueModel, extract_techniques
from threatscope.extract.training import build_training_set, fit_model, micro_macro
from threatscope.extract.training_data import Example, annoctr_documents

__all__ = ["DATASETS", "evaluate_techniques"]

DATASETS = ("annoctr-dev", "annoctr-train-cv", "tram2-cv")
_TRAM2_FOLDS = 5


def evaluate_techniques(
    model: TechniqueModel,
    dataset: str = "annoctr-dev",
    data_dir: Path | None = None,
    store: Any = None,
) -> dict[str, Any]:
    """Per-document precision, recall and F1 of `model` on `dataset` (see module docstring)."""
    data_dir = data_dir or shared_data_dir()
    if dataset == "annoctr-dev":
        docs = annoctr_documents(data_dir, "dev")
        if not docs:
            raise ConfigError(f"no AnnoCTR dev split under {data_dir / 'text' / 'annoctr'}")
        predicted = [_predicted(model, d.text) for d in docs]
        gold = [set(d.techniques) for d in docs]
        result = micro_macro(predicted, gold)
        result["per_document"] = [
            {"document": d.name, "gold": sorted(g), "predicted": sorted(p)}
            for d, p, g in zip(docs, predicted, gold, strict=True)
        ]
    elif dataset == "annoctr-train-cv":
        cv = model.info.get("cross_validation")
        if not cv:
            raise ConfigError("this model was trained without AnnoCTR train: no CV figures")
        result = dict(cv)
    elif dataset == "tram2-cv":
        if store is None:
            raise ConfigError("tram2-cv retrains the model and needs the knowledge base")
        result = _tram2_cv(model, store, data_dir)
    else:
        raise ConfigError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}")
    return {"dataset": dataset, "threshold": float(model.threshold), **result}


def _predicted(model: TechniqueModel, text: str) -> set[str]:
    return {m.technique_id for m in extract_techniques(text, model)}


def _tram2_cv(model: TechniqueModel, store: Any, data_dir: Path) -> dict[str, Any]:
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
        fitted = fit_model(
            [e for e in examples if e.group not in held],
            names,
            model.threshold,
            model.info.get("seed", 0),
            model.info.get("method", "nearest"),
        )
        fitted.one_vote, fitted.add_parents = model.one_vote, model.add_parents
        for title in sorted(held):
            sentences = reports[title]
            # A report is rebuilt from its annotated sentences, one paragraph each.
            predicted.append(_predicted(fitted, "\n\n".join(e.text for e in sentences)))
            gold.append({e.label for e in sentences})
    return {"folds": _TRAM2_FOLDS, **micro_macro(predicted, gold)}
